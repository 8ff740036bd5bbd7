#!/usr/bin/env bash
# row_redis.sh - redis-benchmark against a private redis-server, the library preloaded into the
# benchmark client only:
#   counts (deterministic; lib.sh: added_syscalls, added_ir): -c 1 -P 1 -t get -n 20000, one
#     connection always busy: system calls the library adds per request, goal 0; user instructions
#     it adds per request (callgrind, at 2000 and 4000 requests), info
#   timed: -c 50 -P 1 (PING_INLINE, PING_MBULK, SET, GET), interleaved pairs, the median of the
#     pairs' shim/plain ratios, goal >= 0.98x
. "$(dirname "$0")/lib.sh"

RUNS=${HC_QUICK:+3}
RUNS=${RUNS:-7}
N=30000 # 4 tests x 30 000 requests: ~1.5 s per run here
redis_start

# --- counts ------------------------------------------------------------------------------------

# With strace every call of the client is a trip through the tracer: fewer requests then.
R=20000
[ "$(counter)" = perf ] || R=2000
get1() { syscalls_c "$1" "$2" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -P 1 -t get -n "$3" --csv; }
log "system calls per request, redis-benchmark -c 1 -P 1 -t get: $(counted_by) at -n $R and $((2 * R))"
added_syscalls $R get1 || die "redis-benchmark, counted, failed"
log "  added $ADDED ($ADDED_LIST); plain makes $PLAIN_PER per request"
row "redis-benchmark -c 1 -P 1 -t get -n $R, busy connection" "system calls added/request ($(counted_by))" \
    "$PLAIN_PER" "$SHIM_PER" "$ADDED ($ADDED_LIST)" "0" "$(zero "$ADDED")"
if command -v valgrind >/dev/null; then
    ir() { callgrind_ir "$1" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -P 1 -t get -n "$2" --csv; }
    log "user instructions per request: callgrind at -n 2000 and 4000"
    added_ir 2000 ir || die "redis-benchmark under callgrind failed"
    row "redis-benchmark -c 1 -P 1 -t get, busy connection" "user instructions added/request (callgrind)" \
        "$PLAIN_IR" "$((PLAIN_IR + ADDED_IR))" "+$ADDED_IR" "-" info
fi

# --- timed -------------------------------------------------------------------------------------

timed_rows || exit 0
redis_pairs "$RUNS" c50 4 -P 1 -c 50 -n "$N" -t ping,set,get
[ "$(stat_get "$T/c50.stats" reconnects)" = 0 ] || log "WARNING: the shim reconnected during the benchmark"
redis_rows c50 "redis-benchmark -P 1 -c 50" 0.98 PING_INLINE PING_MBULK SET GET
