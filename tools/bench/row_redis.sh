#!/usr/bin/env bash
# row_redis.sh - redis-benchmark (-P 1, 50 clients, PING/SET/GET) against a
# private redis-server, plain vs with the shim preloaded into the benchmark
# client only, runs alternated; requests/s median and spread per test.
. "$(dirname "$0")/lib.sh"

RUNS=${HC_QUICK:+3}
RUNS=${RUNS:-7}
N=30000 # 4 tests x 30 000 requests: ~1.5 s per run here
for c in redis-server redis-benchmark; do command -v $c >/dev/null || die "$c not installed (make deps)"; done

pick_port srv_port; port=$srv_port # (pick_port has a local named "port")
start_server rpid redis "$(command -v redis-server)" --port "$port" --bind 127.0.0.1 --save '' \
    --appendonly no --timeout 0 --daemonize no --logfile ''
wait_port "$port" 5 "$rpid" || { cat "$T/redis.out" "$T/redis.err" >&2; die "redis-server did not start"; }

bench() { # MODE RUN: appends "TEST rps" lines to $T/MODE.rps
    local mode=$1 out pre=()
    [ "$mode" = shim ] && pre=(LD_PRELOAD="$HC_LIB" HALFCLOSE_STATS="$T/stats")
    if ! out=$("${HC_ENV_CLEAN[@]}" "${pre[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -P 1 -c 50 -n "$N" \
        -t ping,set,get -q --csv 2>"$T/bench.err"); then
        cat "$T/bench.err" >&2
        kill -0 "$rpid" 2>/dev/null || cat "$T/redis.out" "$T/redis.err" >&2
        die "redis-benchmark ($mode) failed"
    fi
    printf '%s\n' "$out" | awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2 }' >>"$T/$mode.rps"
    [ "$(printf '%s\n' "$out" | grep -c '^"[A-Z_]*","[0-9.]*"')" = 4 ] || { printf '%s\n' "$out" >&2; die "redis-benchmark ($mode): unexpected output"; }
}
log "redis-server on 127.0.0.1:$port; $RUNS runs each of -n $N, alternating plain/shim"
for ((i = 0; i < RUNS; i++)); do bench plain; bench shim; done
log "shim stats (last run): $(grep '^halfclose' "$T/stats" | tail -n 1)"
[ "$(stat_get "$T/stats" reconnects)" = 0 ] || log "WARNING: the shim reconnected during the benchmark"

# shim/plain of each adjacent pair of runs, median of those: robust against a
# machine whose speed drifts during the row (the ratio of medians is logged).
paired() {
    local a=() b=() i
    while [ "$1" != -- ]; do a+=("$1"); shift; done
    shift
    b=("$@")
    for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do ratio "${a[i]}" "${b[i]}"; done | median | xargs printf '%.3f'
}
for t in PING_INLINE PING_MBULK SET GET; do
    p=$(awk -v t=$t '$1 == t { print $2 }' "$T/plain.rps") s=$(awk -v t=$t '$1 == t { print $2 }' "$T/shim.rps")
    pm=$(median $p) sm=$(median $s) r=$(paired $p -- $s)
    log "$t plain: $(echo $p); shim: $(echo $s); ratio of medians $(ratio "$pm" "$sm")"
    row "redis-benchmark -P 1 -c 50 ($t)" "req/s median (spread); ratio: median of run pairs" "$(printf '%.0f' "$pm") ($(spread $p))" \
        "$(printf '%.0f' "$sm") ($(spread $s))" "${r}x" ">= 0.97x" "$(ge "$r" 0.97)"
done
