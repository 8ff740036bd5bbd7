#!/usr/bin/env bash
# row_supervise.sh - what the supervisor (`halfclose --supervise`, for static and Go binaries)
# costs.  The "SHIM" column is the same program run under the supervisor instead of LD_PRELOAD.
#   counts (deterministic): the system calls the supervisor process makes (lib.sh: syscalls_c on
#     the launcher alone, HC_COUNT_CHILDREN=0; at N and 2N so that start-up cancels)
#       * per managed write inside a request (tcp_write_loop: no read, no quiet gap): each write
#         is a seccomp notification: poll, SECCOMP_IOCTL_NOTIF_RECV and _SEND ("ioctl 2"), a copy
#         of the socket taken and closed (pidfd_getfd, fstat for its inode, close: no copy is kept
#         between writes, for a kept one would hold the connection open after an exec or a close
#         the filter does not see) and its TCP_INFO: goal <= 7, and no /proc (faccessat, openat):
#         a known thread is checked with tgkill
#       * per ping-pong request (64 B, a busy connection: every write a boundary after a read, never
#         quiet for HALFCLOSE_MIN_IDLE_MS, so no probe): FIONREAD and the head of the bytes
#         (process_vm_readv, NOTIF_ID_VALID) on top, for the class of an unrecognised protocol:
#         goal <= 10, no /proc either
#   timed (interleaved pairs, medians of the pairs):
#     * writes to fds it does not manage (/dev/null, a pipe): the filter lets them through in the
#       kernel, no notification (lib.sh: write_row): goal <= 1.02x
#     * a write on a managed TCP socket inside a request: us added per write, goal <= 5 us
#     * request/response ping-pong, 64 B, against the C echo server: goal >= 0.85x
. "$(dirname "$0")/lib.sh"

RUNS=7
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
TW=$HC_BENCH/tcp_write_loop PP=$HC_BENCH/pingpong ES=$HC_BENCH/echo_server
HC=$HC_BUILD/halfclose
for b in "$TW" "$PP" "$ES" "$HC"; do [ -x "$b" ] || die "missing $b"; done
SV="$HC --supervise"

pick_port PORT
start_server SRV echo "$ES" "$PORT"
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"

# --- counts ------------------------------------------------------------------------------------

# spared MAX: met if PER_OP <= MAX and PER_OP_LIST names no /proc lookup
spared() {
    case " $PER_OP_LIST" in
    *" faccessat"* | *" openat "*) echo MISSED ;;
    *) le "$PER_OP" "$1" ;;
    esac
}

tw_counts() { HC_COUNT_CHILDREN=0 syscalls_c "$1" "" $SV "$TW" "$2" 64; }
log "supervisor system calls per managed write: $(counted_by) of the launcher at 5000 and 10000 writes"
per_op_syscalls 5000 10000 tw_counts || die "tcp_write_loop, counted, failed"
log "  $PER_OP per write: $PER_OP_LIST"
row "supervised: write 64 B on a managed TCP socket, inside a request" \
    "supervisor system calls/write ($(counted_by))" "0" "$PER_OP" "$PER_OP ($PER_OP_LIST)" "<= 7, no /proc" "$(spared 7)"

pp_counts() { HC_COUNT_CHILDREN=0 syscalls_c "$1" "" $SV "$PP" "$PORT" "$2" 64; }
log "supervisor system calls per ping-pong request: 2000 and 4000 rounds"
per_op_syscalls 2000 4000 pp_counts || die "pingpong, counted, failed"
log "  $PER_OP per request: $PER_OP_LIST"
row "supervised: ping-pong 64 B, busy connection" "supervisor system calls/request ($(counted_by))" \
    "0" "$PER_OP" "$PER_OP ($PER_OP_LIST)" "<= 10, no /proc" "$(spared 10)"

# --- timed -------------------------------------------------------------------------------------

timed_rows || exit 0
write_row $RUNS "supervised: write 64 B to /dev/null" /dev/null 1000000 64 "$SV"
write_row $RUNS "supervised: write 64 B to a pipe" pipe 1000000 64 "$SV"

N=100000
name="supervised: write 64 B on a managed TCP socket, inside a request"
log "$name: $RUNS interleaved pairs of $N writes"
alternate $RUNS "${HC_ENV_CLEAN[*]} $TW $N 64" "${HC_ENV_CLEAN[*]} $SV $TW $N 64" || die "tcp_write_loop failed"
p=$(awk -v t="$(median $ALT_PLAIN)" -v n=$N 'BEGIN { printf "%.2f", t / n / 1000 }')
s=$(awk -v t="$(median $ALT_SHIM)" -v n=$N 'BEGIN { printf "%.2f", t / n / 1000 }')
d=$(paired_diff "$ALT_PLAIN" "$ALT_SHIM" "$(awk -v n=$N 'BEGIN { print 1 / n / 1000 }')" | xargs printf '%.2f')
row "$name" "us/write median (spread); added: median of pairs" "$p ($(spread $ALT_PLAIN))" \
    "$s ($(spread $ALT_SHIM))" "+$d us/write" "<= 5 us added" "$(le "$d" 5)"

R=20000
name="supervised: ping-pong 64 B, busy connection"
log "$name: $RUNS interleaved pairs of $R rounds"
alternate $RUNS "${HC_ENV_CLEAN[*]} $PP $PORT $R 64" "${HC_ENV_CLEAN[*]} $SV $PP $PORT $R 64" || die "pingpong failed"
p=$(median $ALT_PLAIN) s=$(median $ALT_SHIM) r=$(paired_ratio "$ALT_PLAIN" "$ALT_SHIM")
row "$name" "req/s median (spread); ratio: median of pairs" "$(printf %.0f "$p") ($(spread $ALT_PLAIN))" \
    "$(printf %.0f "$s") ($(spread $ALT_SHIM))" "${r}x" ">= 0.85x" "$(ge "$r" 0.85)"
stop_server "$SRV"
