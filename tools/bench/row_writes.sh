#!/usr/bin/env bash
# row_writes.sh - writes to fds the shim does not manage (/dev/null, a pipe, a file):
#   * wall time of the write loop, plain vs LD_PRELOAD, alternated, median (spread): target <= 1.02x
#   * user-space instructions the shim adds per write, exactly, from callgrind at N and 2N writes
#     (the startup cost cancels): ((I_shim(2N) - I_shim(N)) - (I_plain(2N) - I_plain(N))) / N,
#     target <= 25.  This is the deterministic figure; wall time here is noisy by about +-10 %.
. "$(dirname "$0")/lib.sh"

RUNS=11
SIZE=64
[ "${HC_QUICK:-0}" = 1 ] && RUNS=3
WL=$HC_BENCH/write_loop
[ -x "$WL" ] || die "missing $WL"
[ -f "$HC_LIB" ] || die "missing $HC_LIB"
command -v valgrind >/dev/null || die "valgrind not installed"


for target in /dev/null pipe file; do
    case $target in
        /dev/null) name="write $SIZE B to /dev/null" N=1000000 ;;
        pipe) name="write $SIZE B to a pipe" N=1000000 ;;
        file) name="write $SIZE B to a file" N=400000 ;;
    esac
    log "$name: $RUNS x 2 timed runs of $N writes"
    alternate $RUNS "${HC_ENV_CLEAN[*]} $WL $target $N $SIZE" \
        "${HC_ENV_CLEAN[*]} LD_PRELOAD=$HC_LIB $WL $target $N $SIZE" || die "write_loop failed ($target)"
    # the programs print the loop's time in ns: report ns per write
    p_ns=$(median $ALT_PLAIN) s_ns=$(median $ALT_SHIM)
    p=$(awk -v t="$p_ns" -v n=$N 'BEGIN { printf "%.1f", t / n }')
    s=$(awk -v t="$s_ns" -v n=$N 'BEGIN { printf "%.1f", t / n }')
    r=$(ratio "$p_ns" "$s_ns")
    row "$name" "ns/write median (spread)" "$p ($(spread $ALT_PLAIN))" "$s ($(spread $ALT_SHIM))" \
        "${r}x" "<= 1.02x" "$(le "$r" 1.02)"

    n1=100000 n2=200000
    log "$name: callgrind at $n1 and $n2 writes, plain and shim"
    ip1=$(callgrind_ir "" "$WL" $target $n1 $SIZE) && ip2=$(callgrind_ir "" "$WL" $target $n2 $SIZE) &&
        is1=$(callgrind_ir "$HC_LIB" "$WL" $target $n1 $SIZE) && is2=$(callgrind_ir "$HC_LIB" "$WL" $target $n2 $SIZE) ||
        die "callgrind failed ($target)"
    log "  Ir plain $ip1 $ip2, shim $is1 $is2"
    read -r pw sw added < <(awk -v a="$ip1" -v b="$ip2" -v c="$is1" -v d="$is2" -v n=$n1 'BEGIN {
        pw = (b - a) / n; sw = (d - c) / n; x = sw - pw
        f = (x == int(x) && pw == int(pw) && sw == int(sw)) ? "%d %d %+d\n" : "%.2f %.2f %+.2f\n"
        printf f, pw, sw, x }')
    row "$name" "user instructions/write (callgrind)" "$pw" "$sw" "$added" "<= 25 added" "$(le "$added" 25)"
done
