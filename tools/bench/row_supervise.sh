#!/usr/bin/env bash
# row_supervise.sh - what the supervisor (`halfclose --supervise`, for static and Go binaries) costs.
# The "SHIM" column is the same program run under the supervisor instead of LD_PRELOAD:
#   * writes to fds it does not manage (/dev/null, a pipe): the filter lets them through in the
#     kernel, no notification; wall time of the write loop, alternated, median: target <= 1.02x
#   * writes on a managed TCP socket inside a request (tcp_write_loop: no read, no quiet gap): each
#     is a seccomp notification and a boundary check (pidfd_getfd, TCP_INFO, FIONREAD); ns/write,
#     reported (info: this is the price of supervision, paid only on the managed sockets)
#   * request/response ping-pong, 64 B, against the C echo server: one notification and one probe
#     per request; requests/s, reported (info)
. "$(dirname "$0")/lib.sh"

RUNS=7
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
WL=$HC_BENCH/write_loop TW=$HC_BENCH/tcp_write_loop PP=$HC_BENCH/pingpong ES=$HC_BENCH/echo_server
HC=$HC_BUILD/halfclose
for b in "$WL" "$TW" "$PP" "$ES" "$HC"; do [ -x "$b" ] || die "missing $b"; done
SV="$HC --supervise"

for target in /dev/null pipe; do
    N=1000000
    name="supervised: write 64 B to ${target/pipe/a pipe}"
    log "$name: $RUNS x 2 timed runs of $N writes"
    alternate $RUNS "${HC_ENV_CLEAN[*]} $WL $target $N 64" "${HC_ENV_CLEAN[*]} $SV $WL $target $N 64" ||
        die "write_loop failed ($target)"
    p_ns=$(median $ALT_PLAIN) s_ns=$(median $ALT_SHIM)
    p=$(awk -v t="$p_ns" -v n=$N 'BEGIN { printf "%.1f", t / n }')
    s=$(awk -v t="$s_ns" -v n=$N 'BEGIN { printf "%.1f", t / n }')
    r=$(ratio "$p_ns" "$s_ns")
    row "$name" "ns/write median (spread)" "$p ($(spread $ALT_PLAIN))" "$s ($(spread $ALT_SHIM))" \
        "${r}x" "<= 1.02x" "$(le "$r" 1.02)"
done

N=100000
name="supervised: write 64 B on a managed TCP socket"
log "$name: $RUNS x 2 timed runs of $N writes"
alternate $RUNS "${HC_ENV_CLEAN[*]} $TW $N 64" "${HC_ENV_CLEAN[*]} $SV $TW $N 64" || die "tcp_write_loop failed"
p_ns=$(median $ALT_PLAIN) s_ns=$(median $ALT_SHIM)
p=$(awk -v t="$p_ns" -v n=$N 'BEGIN { printf "%.0f", t / n }')
s=$(awk -v t="$s_ns" -v n=$N 'BEGIN { printf "%.0f", t / n }')
row "$name" "ns/write median (spread)" "$p ($(spread $ALT_PLAIN))" "$s ($(spread $ALT_SHIM))" \
    "+$((s - p)) ns/write" "-" info

pick_port PORT
start_server SRV echo "$ES" "$PORT"
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"
R=20000
name="supervised: ping-pong 64 B (1 probe/request)"
log "$name: $RUNS x 2 runs of $R rounds"
alternate $RUNS "${HC_ENV_CLEAN[*]} $PP $PORT $R 64" "${HC_ENV_CLEAN[*]} $SV $PP $PORT $R 64" || die "pingpong failed"
p=$(median $ALT_PLAIN) s=$(median $ALT_SHIM)
row "$name" "requests/s median (spread)" "$(printf %.0f "$p") ($(spread $ALT_PLAIN))" \
    "$(printf %.0f "$s") ($(spread $ALT_SHIM))" "$(ratio "$p" "$s")x" "-" info
