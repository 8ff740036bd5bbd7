#!/usr/bin/env bash
# row_session.sh - RESP ping-pong on a connection that did AUTH and SELECT (redis-benchmark -a PW
# --dbnum 2 -c 1 -P 1: one connection, one request at a time) against a private redis-server with
# requirepass, the library preloaded into the benchmark client only:
#   counts: system calls the library adds per GET (lib.sh: added_syscalls), goal 0
#   timed: interleaved pairs, the median of the pairs' shim/plain ratios, goal >= 0.98x: keeping
#   the session (classification at the first write, the commands of every write parsed) costs
#   nothing measurable on a busy connection.
. "$(dirname "$0")/lib.sh"

RUNS=${HC_QUICK:+3}
RUNS=${RUNS:-9}
N=20000
redis_start --requirepass benchpw
AUTH=(-a benchpw --dbnum 2)

R=20000
[ "$(counter)" = perf ] || R=2000
get1() { syscalls_c "$1" "$2" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" "${AUTH[@]}" -c 1 -P 1 -t get -n "$3" --csv; }
log "system calls per request, AUTH and SELECT, -c 1 -P 1 -t get: $(counted_by) at -n $R and $((2 * R))"
added_syscalls $R get1 || die "redis-benchmark, counted, failed"
log "  added $ADDED ($ADDED_LIST); plain makes $PLAIN_PER per request"
row "redis-benchmark -a --dbnum 2 -c 1 -P 1 -t get -n $R, busy connection with a session" \
    "system calls added/request ($(counted_by))" "$PLAIN_PER" "$SHIM_PER" "$ADDED ($ADDED_LIST)" "0" "$(zero "$ADDED")"

timed_rows || exit 0
redis_pairs "$RUNS" session 2 "${AUTH[@]}" -P 1 -c 1 -n "$N" -t ping_mbulk,get
# The benchmark's connections must have stayed managed, with their session.
[ "$(stat_get "$T/session.stats" stateful_skipped)" = 0 ] || log "WARNING: a connection was left alone (stateful_skipped)"
[ "$(stat_get "$T/session.stats" managed)" -ge 1 ] 2>/dev/null || log "WARNING: no connection was managed"
redis_rows session "redis-benchmark -a --dbnum 2 -c 1 -P 1" 0.98 PING_MBULK GET
