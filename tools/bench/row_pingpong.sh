#!/usr/bin/env bash
# row_pingpong.sh - request/response ping-pong on one loopback connection against a C epoll echo
# server (the server never runs under the library):
#   counts (deterministic; perf stat or strace -f -c (lib.sh: counter) at R and 2R rounds so that
#   start-up cancels, shim minus plain, per request, listed per system call; callgrind the same way
#   for instructions):
#     * a busy connection, 64 B, 1 write per request: goal 0 system calls added (a connection
#       quiet for less than HALFCLOSE_PROBE_AFTER_MS, = HALFCLOSE_MIN_IDLE_MS, is not probed)
#     * the same request in 2 writes: goal 0 (nothing inside a request either; the program's own
#       reads left out, their number varies with segmentation)
#     * a request after an idle gap (300 ms > HALFCLOSE_MIN_IDLE_MS 250 ms): goal exactly 1, the
#       probe's poll
#     * a request after an idle gap on a connection the server closed (echo_server closes after
#       100 ms): what a heal costs in system calls, shim (healed) minus plain (the same request on
#       a live connection); info
#     * user instructions added per request on the busy connection (callgrind); info
#   timed (median of the shim/plain ratios of interleaved pairs): 64 B and 16 KiB, goal >= 0.98x;
#   64 B with HALFCLOSE_PROBE_AFTER_MS=0 (a probe at every request: what one poll costs), info.
. "$(dirname "$0")/lib.sh"

RUNS=11
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
PP=$HC_BENCH/pingpong ES=$HC_BENCH/echo_server
for b in "$PP" "$ES"; do [ -x "$b" ] || die "missing $b"; done
[ -f "$HC_LIB" ] || die "missing $HC_LIB"
[ "$(counter)" = perf ] || command -v strace >/dev/null || die "neither perf nor strace can count system calls"

pick_port PORT
start_server SRV echo "$ES" "$PORT"
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"
log "echo_server on 127.0.0.1:$PORT (pid $SRV)"

# --- counts ------------------------------------------------------------------------------------

R=2000
busy1() { syscalls_c "$1" "$2" "$PP" "$PORT" "$3" 64 1; }
busy2() { syscalls_c "$1" "$2" "$PP" "$PORT" "$3" 64 2; }
log "system calls per request, busy connection: $(counted_by) at $R and $((2 * R)) rounds"
added_syscalls $R busy1 || die "pingpong, counted, failed"
log "  1 write/request: added $ADDED ($ADDED_LIST); plain makes $PLAIN_PER per request"
row "ping-pong 64 B, busy connection" "system calls added/request ($(counted_by))" "$PLAIN_PER" "$SHIM_PER" \
    "$ADDED ($ADDED_LIST)" "0" "$(zero "$ADDED")"
# The program's reads are left out here: the echo of the first half sometimes comes on its own, in
# plain and shim runs alike, so their number varies by a few per thousand.
HC_COUNT_IGNORE="read" added_syscalls $R busy2 || die "pingpong, counted, failed"
log "  2 writes/request: added $ADDED ($ADDED_LIST), the program's reads left out"
row "ping-pong 64 B in 2 writes, busy connection" "system calls added/request ($(counted_by); reads left out)" \
    "$PLAIN_PER" "$SHIM_PER" "$ADDED ($ADDED_LIST)" "0 (none inside a request)" "$(zero "$ADDED")"

GAP=300 RG=3
idle() { syscalls_c "$1" "$2" "$PP" "$PORT" "$3" 64 1 $GAP; }
log "system calls per request after a ${GAP} ms idle gap: $RG and $((2 * RG)) rounds"
added_syscalls $RG idle || die "pingpong, counted, failed"
log "  added $ADDED ($ADDED_LIST)"
row "ping-pong 64 B, each request after a ${GAP} ms idle gap" "system calls added/request ($(counted_by))" \
    "$PLAIN_PER" "$SHIM_PER" "$ADDED ($ADDED_LIST)" "1 (the probe's poll)" "$(one_poll)"

# The heal: a second echo server closes connections idle for 100 ms; the library's runs go there
# (every request heals), the plain runs to the live server (a plain run there would fail).
pick_port PORT_IDLE
start_server SRV_IDLE echo_idle "$ES" "$PORT_IDLE" 100
wait_port "$PORT_IDLE" 5 "$SRV_IDLE" || die "echo_server (idle close) did not start"
healed() {
    local port=$PORT
    [ -n "$2" ] && port=$PORT_IDLE
    syscalls_c "$1" "$2" env HALFCLOSE_STATS="$T/heal.stats" "$PP" "$port" "$3" 64 1 $GAP
}
log "system calls per healed request (server closed after 100 ms, ${GAP} ms gap): $RG and $((2 * RG)) rounds"
added_syscalls $RG healed || die "pingpong, counted, failed"
heals=$(grep '^halfclose ' "$T/heal.stats" | tail -n 1 | sed -n 's/.* reconnects=\([0-9]*\).*/\1/p')
log "  added $ADDED ($ADDED_LIST); the last run healed ${heals:-?} of $((2 * RG)) requests"
verdict=info
[ "${heals:-0}" = $((2 * RG)) ] || { verdict=MISSED; log "WARNING: not every request was healed"; }
row "ping-pong 64 B after a ${GAP} ms gap, server closed it (every request healed)" \
    "system calls added/heal ($(counted_by))" "$PLAIN_PER" "$SHIM_PER" "$ADDED ($ADDED_LIST)" \
    "probe poll + FIONREAD + the reconnect" "$verdict"
stop_server "$SRV_IDLE"

if command -v valgrind >/dev/null; then
    ir() { callgrind_ir "$1" "$PP" "$PORT" "$2" 64 1; }
    log "user instructions per request, busy connection: callgrind at 2000 and 4000 rounds"
    added_ir 2000 ir || die "pingpong under callgrind failed"
    row "ping-pong 64 B, busy connection" "user instructions added/request (callgrind)" "$PLAIN_IR" \
        "$((PLAIN_IR + ADDED_IR))" "+$ADDED_IR" "-" info
else
    log "valgrind not installed: no instruction counts"
fi

# --- timed -------------------------------------------------------------------------------------

timed_rows || exit 0
pp_row() { # LABEL ROUNDS SIZE GOAL SHIM_ENV...
    local label=$1 rounds=$2 size=$3 goal=$4 p s r cost
    shift 4
    log "$label: $RUNS interleaved pairs of $rounds rounds"
    alternate $RUNS "${HC_ENV_CLEAN[*]} $PP $PORT $rounds $size" \
        "${HC_ENV_CLEAN[*]} $* LD_PRELOAD=$HC_LIB $PP $PORT $rounds $size" || die "pingpong failed"
    p=$(median $ALT_PLAIN) s=$(median $ALT_SHIM) r=$(paired_ratio "$ALT_PLAIN" "$ALT_SHIM")
    log "  plain: $ALT_PLAIN; shim: $ALT_SHIM; ratio of medians $(ratio "$p" "$s")"
    cost=$(awk -v p="$p" -v s="$s" 'BEGIN { printf "%+.0f ns/req", 1e9 / s - 1e9 / p }')
    if [ "$goal" = info ]; then
        row "$label" "req/s median (spread); ratio: median of pairs" "$p ($(spread $ALT_PLAIN))" \
            "$s ($(spread $ALT_SHIM))" "${r}x ($cost)" "-" info
    else
        row "$label" "req/s median (spread); ratio: median of pairs" "$p ($(spread $ALT_PLAIN))" \
            "$s ($(spread $ALT_SHIM))" "${r}x ($cost)" ">= ${goal}x" "$(ge "$r" "$goal")"
    fi
}
pp_row "ping-pong 64 B" 20000 64 0.98
pp_row "ping-pong 16 KiB" 8000 16384 0.98
# What a probe costs: the same runs probing every request (the default probes only after a gap).
pp_row "ping-pong 64 B, HALFCLOSE_PROBE_AFTER_MS=0 (a probe every request)" 20000 64 info HALFCLOSE_PROBE_AFTER_MS=0
stop_server "$SRV"
