#!/usr/bin/env bash
# row_supervise_calls.sh - what one notification for a managed write costs the supervisor (`halfclose
# --supervise`), counted in system calls with strace -c on the launcher alone (not -f: the program's own
# calls are not counted), at N and 2N writes so that start-up cancels: (S(2N) - S(N)) / N, listed per
# system call.
#   * tcp_write_loop: 64 B writes inside one request (no read, no gap). The floor is the notification's
#     own calls (poll, SECCOMP_IOCTL_NOTIF_RECV and _SEND: "ioctl 2") plus TCP_INFO of the socket kept
#     from the last write: target <= 4 per write, no pidfd_getfd, no /proc (faccessat, openat), no fstat.
#   * pingpong: every write a boundary after a read (no probe: the connection is never quiet for
#     HALFCLOSE_MIN_IDLE_MS); FIONREAD and the head of the bytes (process_vm_readv, NOTIF_ID_VALID) on
#     top, for the class of an unrecognised protocol: target <= 7 per write.
#   * ns per managed write, plain vs supervised, alternated, median (info; see row_supervise.sh).
. "$(dirname "$0")/lib.sh"

TW=$HC_BENCH/tcp_write_loop PP=$HC_BENCH/pingpong ES=$HC_BENCH/echo_server HC=$HC_BUILD/halfclose
for b in "$TW" "$PP" "$ES" "$HC"; do [ -x "$b" ] || die "missing $b"; done
command -v strace >/dev/null || die "strace not installed"

# counts OUT CMD...: "syscall calls" lines of strace -c on the launcher running CMD under --supervise
counts() {
    local out=$1 raw=$T/strace.$RANDOM
    shift
    "${HC_ENV_CLEAN[@]}" strace -c -o "$raw" "$HC" --supervise "$@" >/dev/null || return 1
    awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$raw" | sort >"$out"
}

# per_write N CMD_N CMD_2N: sets PER (calls per write), LIST ("ioctl 2.000, poll 1.000, ..."), NOGO
# (pidfd_getfd, faccessat2, openat, newfstatat per write: what the kept state must spare)
per_write() {
    local n=$1 res
    eval "counts $T/c1 $2" || die "strace run failed: $2"
    eval "counts $T/c2 $3" || die "strace run failed: $3"
    res=$(awk -v n="$n" '
        FILENAME ~ /c1$/ { a[$1] = $2; names[$1] = 1; next }
        { b[$1] = $2; names[$1] = 1 }
        END {
            tot = 0; nogo = 0; list = ""
            for (k in names) {
                d = (b[k] - a[k]) / n
                if (d < 0.01 && d > -0.01) continue
                tot += d
                if (k == "pidfd_getfd" || k == "faccessat2" || k == "faccessat" || k == "openat" || k == "newfstatat")
                    nogo += d
                list = list sprintf("%s%s %.3f", list == "" ? "" : ", ", k, d)
            }
            printf "%.3f\t%.3f\t%s\n", tot, nogo, list == "" ? "none" : list
        }' "$T/c1" "$T/c2")
    IFS=$'\t' read -r PER NOGO LIST <<<"$res"
}

N=20000
log "tcp_write_loop under strace -c: $N and $((2 * N)) writes"
per_write $N "$TW $N 64" "$TW $((2 * N)) 64"
log "  per write: $PER ($LIST)"
ok=$(awk -v p="$PER" -v g="$NOGO" 'BEGIN { print (p <= 4.05 && g < 0.01) ? "met" : "MISSED" }')
row "supervised: write 64 B inside a request" "supervisor syscalls/write (strace -c)" "-" "-" \
    "$PER ($LIST)" "<= 4, no getfd//proc/fstat" "$ok"

pick_port PORT
start_server SRV echo "$ES" "$PORT"
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"
R=5000
log "pingpong under strace -c: $R and $((2 * R)) rounds"
per_write $R "$PP $PORT $R 64" "$PP $PORT $((2 * R)) 64"
log "  per write: $PER ($LIST)"
ok=$(awk -v p="$PER" -v g="$NOGO" 'BEGIN { print (p <= 7.05 && g < 0.01) ? "met" : "MISSED" }')
row "supervised: ping-pong 64 B, a boundary write" "supervisor syscalls/write (strace -c)" "-" "-" \
    "$PER ($LIST)" "<= 7, no getfd//proc/fstat" "$ok"

RUNS=7
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
N=100000
log "tcp_write_loop: $RUNS x 2 timed runs of $N writes"
alternate $RUNS "${HC_ENV_CLEAN[*]} $TW $N 64" "${HC_ENV_CLEAN[*]} $HC --supervise $TW $N 64" ||
    die "tcp_write_loop failed"
p=$(awk -v t="$(median $ALT_PLAIN)" -v n=$N 'BEGIN { printf "%.0f", t / n }')
s=$(awk -v t="$(median $ALT_SHIM)" -v n=$N 'BEGIN { printf "%.0f", t / n }')
row "supervised: write 64 B inside a request" "ns/write median (spread)" "$p ($(spread $ALT_PLAIN))" \
    "$s ($(spread $ALT_SHIM))" "+$((s - p)) ns/write" "-" info
stop_server "$SRV"
