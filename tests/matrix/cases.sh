# shellcheck shell=bash disable=SC2016
# tests/matrix/cases.sh — the cases of the real-server matrix: which client,
# against which server, and what it must do.  Sourced by run.sh.
#
# A case is registered with one of
#   m_heal NAME SERVER RECONNECTS REASON
#       fails without the shim, and REASON shows in its output or exit status;
#       succeeds under the shim, whose stats line shows >= RECONNECTS
#       reconnects and no failed one
#   m_cope NAME SERVER
#       succeeds both ways (the client already copes on its own)
#   m_passthrough NAME SERVER [KEY OP VALUE]
#       prints the same thing both ways (times and ports normalised), exits
#       the same, and the shim's stats line satisfies KEY OP VALUE
# and runs through c_NAME MODE (MODE: plain or shim), which names the client
# (m_client), runs it once (m_run MODE CMD...) and says whether that run did
# its job (m_ok_count, m_ok_done, m_ok; see run.sh).  Gaps between requests come from
# what closewatch measured: GAP_MS[SERVER] is longer than the slowest close.

# --- redis --timeout 1: FIN only ------------------------------------------------

m_heal redis-cli redis 2 "Server closed the connection"
c_redis-cli() {
    m_client "redis-cli $(redis-cli --version | awk '{ print $2 }')"
    m_run "$1" redis-cli -h "$HOST" -p "${PORT[redis]}" -r 3 -i "$(m_gap_s redis)" PING
    m_ok_count PONG 3
}

m_heal hiredis redis 2 "Server closed the connection"
c_hiredis() {
    m_client "$("$M_BIN/hiredis_ping" --version) (C)"
    m_run "$1" "$M_BIN/hiredis_ping" "$HOST" "${PORT[redis]}" 3 "${GAP_MS[redis]}"
    m_ok_done
}

m_heal redis-socket redis 2 "round 2: read: EOF"
c_redis-socket() {
    m_pyclient "$1" socket-redis redis
}

m_cope redis-py redis
c_redis-py() {
    m_pyclient "$1" redis-py redis
}

# --- memcached -o idle_timeout=1: FIN only, 1 to 4 s late ------------------------

m_heal memcached-socket memcached 2 "round 2: read: EOF"
c_memcached-socket() {
    m_pyclient "$1" socket-memcached memcached
}

m_heal pymemcache memcached 2 "MemcacheUnexpectedCloseError"
c_pymemcache() {
    m_pyclient "$1" pymemcache memcached
}

# --- nginx keepalive_timeout 1s: FIN only -----------------------------------------

m_heal http.client nginx 2 "RemoteDisconnected"
c_http.client() {
    m_pyclient "$1" http.client nginx
}

m_cope urllib3 nginx
c_urllib3() {
    m_pyclient "$1" urllib3 nginx
}

# curl checks a pooled connection before it reuses it (and opens a new one).
m_cope curl nginx
c_curl() {
    local url="http://$HOST:${PORT[nginx]}/"
    m_client "$(curl --version | awk 'NR == 1 { print $1, $2 }') --rate"
    m_run "$1" curl -sS --rate "$((60000 / GAP_MS[nginx]))/m" "$url" "$url" "$url"
    m_ok_count "hello from nginx" 3
}

# --- socat -T 1 echo: FIN only ------------------------------------------------------

m_heal socat-socket socat 2 "round 2: read: EOF"
c_socat-socket() {
    m_client "python $("$PY" -c 'import platform; print(platform.python_version())') socket (reqresp.py)"
    m_run "$1" "$PY" "$HC_TESTS/clients/reqresp.py" "$HOST" "${PORT[socat]}" 3 "${GAP_MS[socat]}"
    m_ok_done
}

# --- ncat -l -i 2: the whole process exits ------------------------------------------

# The seed's experiment: connect, 6 s idle, "Halo", 3 s idle, "Halo2", never
# read.  ncat serves one connection and exits, so each run gets its own loop;
# the server's output says what arrived.  (t_seed_ncat.sh asserts more about
# the same experiment; here it is the ncat row of the table.)
m_heal seed-ncat ncat 2 "SIGPIPE"
c_seed-ncat() {
    local ncat_port got
    m_client "seed_client (C twin of the seed's client.go)"
    hc_pick_port ncat_port
    hc_start_ncat_loop "srv_ncat_$1" "$ncat_port" 2
    m_run "$1" "$HC_CLIENTS/seed_client" "$HOST" "$ncat_port"
    # ncat may still be writing what it got when the client exits
    hc_wait_for 2 grep -qx HaloHalo2 "$T/srv_ncat_$1.out"
    got=$(cat "$T/srv_ncat_$1.out")
    m_ok "server got '$got'" test "$RC" -eq 0 -a "$got" = HaloHalo2
}

# --- PostgreSQL idle_session_timeout=1s: FATAL, then FIN ----------------------------

# The server says why it closes; the shim must leave that connection alone,
# so that psql prints the same FATAL either way. A PostgreSQL connection is a
# session the library cannot rebuild: it is left alone from its startup
# message on (stateful_skipped), before the FATAL could matter.
m_passthrough psql postgres stateful_skipped -ge 1
c_psql() {
    m_client "$(psql --version | awk '{ print $1, $3 }') (queries from a pipe)"
    HC_STDIN=<(printf 'select 1 as first;\n'; sleep "$(m_gap_s postgres)"; printf 'select 2 as second;\n') \
        m_run "$1" psql -X -h "$HOST" -p "${PORT[postgres]}" -U hc -d postgres
    m_ok_count "FATAL:  terminating connection due to idle-session timeout" 1 2
}
