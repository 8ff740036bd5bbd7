#!/usr/bin/env bash
# row_pingpong.sh - request/response ping-pong on one loopback connection (64 B and 16 KiB) against
# a C epoll echo server (the server never runs under the shim):
#   * throughput, plain vs LD_PRELOAD, alternated runs, median (spread): target >= 0.98x
#   * syscalls the shim adds per request, counted with strace -f -c at R and 2R rounds so that
#     startup cancels: ((S_shim(2R) - S_shim(R)) - (S_plain(2R) - S_plain(R))) / R, listed per
#     syscall.  Target: <= 1 per request, and 0 inside a request: the variant that sends each
#     request in 2 write()s must add exactly as many as the 1-write variant.
. "$(dirname "$0")/lib.sh"

RUNS=11
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
PP=$HC_BENCH/pingpong ES=$HC_BENCH/echo_server
for b in "$PP" "$ES"; do [ -x "$b" ] || die "missing $b"; done
[ -f "$HC_LIB" ] || die "missing $HC_LIB"
command -v strace >/dev/null || die "strace not installed"

pick_port PORT
start_server SRV echo "$ES" "$PORT"
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"
log "echo_server on 127.0.0.1:$PORT (pid $SRV)"

# strace_counts OUTFILE PRELOAD ROUNDS SIZE WRITES: "syscall calls" lines of one pingpong run
strace_counts() {
    local out=$1 pre=$2 rounds=$3 size=$4 writes=$5 raw=$T/strace.$RANDOM
    if [ -n "$pre" ]; then
        "${HC_ENV_CLEAN[@]}" strace -f -c -o "$raw" -E LD_PRELOAD="$pre" "$PP" "$PORT" "$rounds" "$size" "$writes" \
            >/dev/null || return 1
    else
        "${HC_ENV_CLEAN[@]}" strace -f -c -o "$raw" "$PP" "$PORT" "$rounds" "$size" "$writes" >/dev/null || return 1
    fi
    # data lines: % seconds usecs/call calls [errors] syscall
    awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$raw" | sort >"$out"
}

# added_syscalls SIZE WRITES ROUNDS: sets ADDED (total per request), ADDED_OTHER (the part that is not
# read/write, the program's own calls, whose count can vary with TCP segmentation) and ADDED_LIST
# ("poll +1.000, ...")
added_syscalls() {
    local size=$1 writes=$2 r=$3 k
    for k in "p1 '' $r" "p2 '' $((2 * r))" "s1 $HC_LIB $r" "s2 $HC_LIB $((2 * r))"; do
        eval "set -- $k"
        strace_counts "$T/sc.$1" "$2" "$3" "$size" "$writes" || die "pingpong under strace failed"
    done
    local res
    res=$(awk -v r="$r" '
        FILENAME ~ /p1$/ { p1[$1] = $2; names[$1] = 1; next }
        FILENAME ~ /p2$/ { p2[$1] = $2; names[$1] = 1; next }
        FILENAME ~ /s1$/ { s1[$1] = $2; names[$1] = 1; next }
        FILENAME ~ /s2$/ { s2[$1] = $2; names[$1] = 1; next }
        END {
            tot = 0; rw = 0; list = ""
            for (n in names) {
                d = ((s2[n] - s1[n]) - (p2[n] - p1[n])) / r
                tot += d
                if (n == "read" || n == "write") rw += d
                if (d != 0) list = list sprintf("%s%s %+.3f", list == "" ? "" : ", ", n, d)
            }
            if (list == "") list = "none"
            printf "%.3f\t%.6f\t%s\n", tot, tot - rw, list
        }' "$T/sc.p1" "$T/sc.p2" "$T/sc.s1" "$T/sc.s2")
    IFS=$'\t' read -r ADDED ADDED_OTHER ADDED_LIST <<<"$res"
}

for size in 64 16384; do
    if [ $size = 64 ]; then label="ping-pong 64 B" rounds=20000; else label="ping-pong 16 KiB" rounds=8000; fi
    log "$label: $RUNS x 2 runs of $rounds rounds"
    alternate $RUNS "${HC_ENV_CLEAN[*]} $PP $PORT $rounds $size" \
        "${HC_ENV_CLEAN[*]} LD_PRELOAD=$HC_LIB $PP $PORT $rounds $size" || die "pingpong failed"
    p=$(median $ALT_PLAIN) s=$(median $ALT_SHIM) r=$(ratio "$p" "$s")
    cost=$(awk -v p="$p" -v s="$s" 'BEGIN { printf "%+.0f ns/req", 1e9 / s - 1e9 / p }')
    row "$label" "req/s median (spread)" "$p ($(spread $ALT_PLAIN))" "$s ($(spread $ALT_SHIM))" \
        "${r}x ($cost)" ">= 0.98x" "$(ge "$r" 0.98)"
    if [ $size = 64 ]; then
        # Where the time goes: the same runs with probing held off (a busy connection is never idle
        # for 60 s), so the difference to the row above is the per-request poll() probe.
        log "$label: $RUNS x 2 runs with HALFCLOSE_PROBE_AFTER_MS=60000 (no probes)"
        alternate $RUNS "${HC_ENV_CLEAN[*]} $PP $PORT $rounds $size" \
            "${HC_ENV_CLEAN[*]} HALFCLOSE_PROBE_AFTER_MS=60000 LD_PRELOAD=$HC_LIB $PP $PORT $rounds $size" ||
            die "pingpong failed"
        p=$(median $ALT_PLAIN) s=$(median $ALT_SHIM) r=$(ratio "$p" "$s")
        cost=$(awk -v p="$p" -v s="$s" 'BEGIN { printf "%+.0f ns/req", 1e9 / s - 1e9 / p }')
        row "$label, probes off (PROBE_AFTER_MS=60000)" "req/s median (spread)" "$p ($(spread $ALT_PLAIN))" \
            "$s ($(spread $ALT_SHIM))" "${r}x ($cost)" "diagnostic: cost without the poll" info
    fi
done

# Syscalls per request.  64 B: the counts of read/write are exact (one segment per message).
R=2000
log "syscalls per request: strace -f -c at $R and $((2 * R)) rounds, 1 write/request"
added_syscalls 64 1 $R
a1=$ADDED o1=$ADDED_OTHER l1=$ADDED_LIST
log "  added per request: $a1 ($l1)"
row "ping-pong 64 B" "syscalls added/request (strace -c)" "-" "-" "$a1 ($l1)" "<= 1" "$(le "$a1" 1)"
# Inside a request: the same request sent in 2 write()s.  The shim's own calls (everything but
# read/write) must not grow; the program's reads can vary by a few per thousand because the echo
# of the first half sometimes arrives on its own, in plain and shim runs alike.
log "syscalls per request: 2 writes/request"
added_syscalls 64 2 $R
a2=$ADDED o2=$ADDED_OTHER l2=$ADDED_LIST
log "  added per request: $a2 ($l2)"
inside=$(awk -v a="$o1" -v b="$o2" 'BEGIN { printf "%+.3f", b - a }')
row "ping-pong 64 B in 2 writes" "shim syscalls added inside a request" "-" "-" \
    "$inside (2 writes/req: $l2)" "0 (read/write excluded)" \
    "$(awk -v x="$inside" 'BEGIN { print (x + 0 == 0) ? "met" : "MISSED" }')"
stop_server "$SRV"
