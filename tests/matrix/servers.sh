# shellcheck shell=bash disable=SC2034 # the variables are read by run.sh and cases.sh
# tests/matrix/servers.sh — the real servers of the matrix, each configured to
# close idle connections after 1-2 s.  Sourced by run.sh after
# tests/lib.sh (hc_pick_port, hc_start, $T, $HOST).
#
# srv_NAME starts server NAME on 127.0.0.1 in its own process group (stopped
# by pgid when the driver exits) and sets, for the driver and the cases:
#   PORT[NAME]     where it listens
#   VERSION[NAME]  its version, as the server reports it
#   SETTING[NAME]  the idle setting it runs with (for the report)
#   PROTO[NAME]    closewatch.py's hello for it
# It returns non-zero if the server does not listen within 10 s; its log is
# then in $T/srv_NAME.out and $T/srv_NAME.err.

declare -gA PORT VERSION SETTING PROTO

srv_redis() {
    hc_pick_port 'PORT[redis]'
    SETTING[redis]='--timeout 1'
    PROTO[redis]=redis
    VERSION[redis]=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
    mkdir -p "$T/redis"
    hc_start srv_redis redis-server --port "${PORT[redis]}" --bind "$HOST" --timeout 1 \
        --save '' --appendonly no --dir "$T/redis" --protected-mode no
    hc_listens_within "${PORT[redis]}" 10
}

# memcached's idle thread scans every connection (about 1 s), then sleeps up to
# idle_timeout + 1 s, and closes a connection idle for more than idle_timeout
# whole seconds: between 1 and about 4 s here (closewatch measures it; the gap
# follows the measurement).
srv_memcached() {
    hc_pick_port 'PORT[memcached]'
    SETTING[memcached]='-o idle_timeout=1'
    PROTO[memcached]=memcached
    VERSION[memcached]=$(memcached -V | awk '{ print $2 }')
    hc_start srv_memcached memcached -l "$HOST" -p "${PORT[memcached]}" -U 0 -m 16 \
        -u "$(id -un)" -o idle_timeout=1
    hc_listens_within "${PORT[memcached]}" 10
}

# One process (no master, no workers), so its pid is the server; a tiny page.
srv_nginx() {
    local d=$T/nginx
    hc_pick_port 'PORT[nginx]'
    SETTING[nginx]='keepalive_timeout 1s'
    PROTO[nginx]=http
    VERSION[nginx]=$(nginx -v 2>&1 | sed -n 's|.*nginx/||p')
    mkdir -p "$d/html" "$d/tmp"
    printf 'hello from nginx\n' >"$d/html/index.html"
    cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
    access_log off;
    keepalive_timeout 1s;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    server { listen $HOST:${PORT[nginx]}; root $d/html; }
}
EOF
    hc_start srv_nginx nginx -c "$d/nginx.conf" -p "$d" -e "$d/error.log"
    hc_listens_within "${PORT[nginx]}" 10
}

# An echo server (cat per connection) that closes a connection idle for 1 s.
srv_socat() {
    hc_pick_port 'PORT[socat]'
    SETTING[socat]='-T 1 ... EXEC:cat'
    PROTO[socat]='echo'
    VERSION[socat]=$(socat -V | sed -n 's/^socat version \([^ ]*\).*/\1/p')
    hc_start srv_socat socat -T 1 "TCP-LISTEN:${PORT[socat]},bind=$HOST,reuseaddr,fork" EXEC:cat
    hc_listens_within "${PORT[socat]}" 10
}

# The seed's server.  ncat serves one connection at a time and its idle timer
# ends the whole process, so every client run gets its own respawn loop
# (hc_start_ncat_loop); this one is for closewatch.
srv_ncat() {
    hc_pick_port 'PORT[ncat]'
    SETTING[ncat]='-l -i 2 (respawn loop)'
    PROTO[ncat]=silent
    VERSION[ncat]=$(ncat --version 2>&1 | sed -n 's/^Ncat: Version \([^ ]*\).*/\1/p')
    hc_spawn_ncat_loop srv_ncat "${PORT[ncat]}" 2
    hc_listens_within "${PORT[ncat]}" 10
}

# PostgreSQL (lib.sh's hc_start_postgres: initdb in the driver's temp dir,
# trust for user "hc", TCP only) that ends a session idle for 1 s.
srv_postgres() {
    hc_pick_port 'PORT[postgres]'
    SETTING[postgres]='idle_session_timeout=1s'
    PROTO[postgres]=postgres
    hc_start_postgres "${PORT[postgres]}" idle_session_timeout=1s || return 1
    VERSION[postgres]=$("$HC_PG_BIN/postgres" --version | awk '{ print $3 }')
    hc_listens_within "${PORT[postgres]}" 10
}
