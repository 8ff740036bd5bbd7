#!/usr/bin/env bash
# row_session.sh - RESP ping-pong on a connection that did AUTH and SELECT
# (redis-benchmark -a PW --dbnum 2 -c 1 -P 1: one connection, one request at a
# time) against a private redis-server with requirepass, plain vs with the
# shim preloaded into the benchmark client, runs alternated; requests/s median,
# and the median of the shim/plain ratios of adjacent runs. Target >= 0.98x:
# keeping the session (classification at the first write, the commands of
# every write parsed) costs nothing measurable on a busy connection.
. "$(dirname "$0")/lib.sh"

RUNS=${HC_QUICK:+3}
RUNS=${RUNS:-9}
N=20000
for c in redis-server redis-benchmark; do command -v $c >/dev/null || die "$c not installed (make deps)"; done

pick_port srv_port; port=$srv_port
start_server rpid redis "$(command -v redis-server)" --port "$port" --bind 127.0.0.1 --save '' \
    --appendonly no --timeout 0 --daemonize no --logfile '' --requirepass benchpw
wait_port "$port" 5 "$rpid" || { cat "$T/redis.out" "$T/redis.err" >&2; die "redis-server did not start"; }

bench() { # MODE: appends "TEST rps" lines to $T/MODE.rps
    local mode=$1 out pre=()
    [ "$mode" = shim ] && pre=(LD_PRELOAD="$HC_LIB" HALFCLOSE_STATS="$T/stats")
    if ! out=$("${HC_ENV_CLEAN[@]}" "${pre[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -a benchpw --dbnum 2 \
        -P 1 -c 1 -n "$N" -t ping_mbulk,get -q --csv 2>"$T/bench.err"); then
        cat "$T/bench.err" >&2
        die "redis-benchmark ($mode) failed"
    fi
    printf '%s\n' "$out" | awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2 }' >>"$T/$mode.rps"
    [ "$(printf '%s\n' "$out" | grep -c '^"[A-Z_]*","[0-9.]*"')" = 2 ] || { printf '%s\n' "$out" >&2; die "redis-benchmark ($mode): unexpected output"; }
}
log "redis-server (requirepass) on 127.0.0.1:$port; $RUNS runs each of -n $N, alternating plain/shim"
for ((i = 0; i < RUNS; i++)); do bench plain; bench shim; done
log "shim stats (last run): $(grep '^halfclose' "$T/stats" | tail -n 1)"
# The benchmark's connections must have stayed managed, with their session.
[ "$(stat_get "$T/stats" stateful_skipped)" = 0 ] || log "WARNING: a connection was left alone (stateful_skipped)"
[ "$(stat_get "$T/stats" managed)" -ge 1 ] 2>/dev/null || log "WARNING: no connection was managed"

paired() {
    local a=() b=() i
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do ratio "${a[i]}" "${b[i]}"; done | median | xargs printf '%.3f'
}
for t in PING_MBULK GET; do
    p=$(awk -v t=$t '$1 == t { print $2 }' "$T/plain.rps") s=$(awk -v t=$t '$1 == t { print $2 }' "$T/shim.rps")
    pm=$(median $p) sm=$(median $s) r=$(paired $p -- $s)
    log "$t plain: $(echo $p); shim: $(echo $s); ratio of medians $(ratio "$pm" "$sm")"
    row "redis-benchmark -a --dbnum 2 -c 1 -P 1 ($t)" "req/s median (spread); ratio: median of run pairs" \
        "$(printf '%.0f' "$pm") ($(spread $p))" "$(printf '%.0f' "$sm") ($(spread $s))" "${r}x" ">= 0.98x" "$(ge "$r" 0.98)"
done
