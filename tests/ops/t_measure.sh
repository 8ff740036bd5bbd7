#!/usr/bin/env bash
# `halfclose measure` against the real servers of the matrix (the same
# servers, started by tests/matrix/servers.sh: redis --timeout 1, memcached -o
# idle_timeout=1, nginx keepalive_timeout 1s, PostgreSQL
# idle_session_timeout=1s, socat -T 1, ncat -i 2), each measured at the same
# time by closewatch.py, the matrix's own independent watcher.  For each:
# measure's verdict (FIN or RST) is closewatch's, what the server said first
# is what closewatch saw (nothing, or PostgreSQL's FATAL), the close came no
# sooner than the server's setting and no later than closewatch's slowest
# close plus 1 s, and the HALFCLOSE_MAX_IDLE_MS it suggests is below the
# close.  Then the errors: no listener, a bad target, --send and --http both.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=../matrix/servers.sh
. "$HC_TESTS/matrix/servers.sh"
export LC_ALL=C

PG_STARTUP='\x00\x00\x00\x23\x00\x03\x00\x00user\x00hc\x00database\x00postgres\x00\x00'
declare -A SEND=([redis]='PING\r\n' [memcached]='version\r\n' [socat]='hello\n' [postgres]="$PG_STARTUP")
declare -A SETTING_MS=([redis]=1000 [memcached]=1000 [nginx]=1000 [postgres]=1000 [socat]=1000 [ncat]=2000)
SERVERS=(redis memcached nginx postgres socat ncat)

for s in "${SERVERS[@]}"; do
    srv_"$s" || hc_fail "$s starts"
done

# run_measure SERVER: halfclose measure with that server's request.
run_measure() {
    local s=$1
    local -a req=()
    if [ "$s" = nginx ]; then req=(--http); elif [ -n "${SEND[$s]:-}" ]; then req=(--send "${SEND[$s]}"); fi
    "$HC_LAUNCHER" measure "$HOST:${PORT[$s]}" "${req[@]}" --for 15 >"$T/measure_$s" 2>&1
    echo "rc=$?" >>"$T/measure_$s"
}
# run_closewatch SERVER CONNS
run_closewatch() {
    "$PY" "$HC_TESTS/matrix/closewatch.py" "${PROTO[$1]}" "$HOST" "${PORT[$1]}" "$2" 300 15 >"$T/close_$1" 2>&1
}

jobs_=()
for s in "${SERVERS[@]}"; do
    [ "$s" = ncat ] && continue # one connection at a time: measured after closewatch, below
    run_measure "$s" &
    jobs_+=($!)
    run_closewatch "$s" 4 &
    jobs_+=($!)
done
(run_closewatch ncat 1 && hc_listens_within "${PORT[ncat]}" 5 && run_measure ncat) &
jobs_+=($!)
wait "${jobs_[@]}"

# field FILE KEY: KEY's value on the summary line of measure's output.
field() { hc_kv last "$2" '^halfclose measure ' "$1"; }

for s in "${SERVERS[@]}"; do
    m=$T/measure_$s c=$T/close_$s
    hc_section "$s (${SETTING[$s]})"
    hc_show_file "$c" closewatch
    hc_show_file "$m" measure
    close=$(field "$m" close) after=$(field "$m" after_ms) said=$(field "$m" said_bytes)
    suggest=$(field "$m" suggest_max_idle_ms)
    cw_close=$(sed -n 's/^close=\([^ ]*\) .*/\1/p' "$c")
    cw_max=$(sed -n 's/.* after_ms=[0-9]*\.\.\([0-9]*\) .*/\1/p' "$c")
    hc_check "measure exits 0" grep -qx 'rc=0' "$m"
    hc_check "it saw $cw_close, as closewatch did (measure: $close)" [ -n "$close" ] && [ "$close" = "$cw_close" ]
    hc_check "closed after ${after:-?} ms: no sooner than the setting (${SETTING_MS[$s]} ms), no later than closewatch's slowest (${cw_max:-?} ms) + 1000" \
        [ -n "$after" ] && [ -n "$cw_max" ] && [ "$after" -ge $((SETTING_MS[$s] - 20)) ] &&
        [ "$after" -le $((cw_max + 1000)) ]
    hc_check "suggests HALFCLOSE_MAX_IDLE_MS=${suggest:-?}, below the close" \
        [ -n "$suggest" ] && [ "$suggest" != none ] && [ "$suggest" -gt 0 ] && [ "$suggest" -lt "$after" ]
    hc_assert_contains "$m" "  HALFCLOSE_MAX_IDLE_MS=$suggest"
    if [ "$s" = postgres ]; then
        hc_check "it reports what PostgreSQL said first ($said bytes)" [ "${said:-0}" -gt 0 ]
        hc_assert_contains "$m" "terminating connection due to idle-session timeout"
        hc_assert_contains "$c" "message=\"FATAL: terminating connection due to idle-session timeout\""
    else
        hc_check "nothing said before the close (said_bytes=$said), as closewatch saw" [ "$said" = 0 ]
        hc_assert_contains "$c" "message=none"
    fi
done
hc_assert_contains "$T/measure_redis" 'reply: 7 bytes in'
hc_assert_contains "$T/measure_redis" '"+PONG\r\n"'
hc_assert_contains "$T/measure_nginx" '"HTTP/1.1 200 OK\r\n'

hc_section "errors: nothing listening, a bad target, a bad escape, --send and --http together"
hc_pick_port FREE
hc_run_plain nolisten "$HC_LAUNCHER" measure "$HOST:$FREE" --for 1
hc_assert_rc 2 "measure of a port nothing listens on"
hc_assert_contains "$ERR" "connect $HOST:$FREE: Connection refused"
hc_run_plain badtarget "$HC_LAUNCHER" measure "$HOST"
hc_assert_rc 2 "measure HOST without a port"
hc_assert_contains "$ERR" "expected HOST:PORT"
hc_run_plain badescape "$HC_LAUNCHER" measure "$HOST:${PORT[redis]}" --send 'PING\q'
hc_assert_rc 2 "measure --send with a bad escape"
hc_run_plain both "$HC_LAUNCHER" measure "$HOST:${PORT[redis]}" --send x --http
hc_assert_rc 2 "measure --send and --http"

hc_finish
