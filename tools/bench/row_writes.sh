#!/usr/bin/env bash
# row_writes.sh - writes to fds the library does not manage (/dev/null, a pipe, a file):
#   * user-space instructions the library adds per write, exactly, from callgrind at N and 2N
#     writes (the start-up cost cancels): ((I_shim(2N) - I_shim(N)) - (I_plain(2N) - I_plain(N))) / N,
#     goal <= 25.  The deterministic figure.
#   * wall time of the write loop, plain vs LD_PRELOAD, interleaved pairs, the median of the pairs'
#     ratios (lib.sh: write_row): goal <= 1.02x.  Noisy by a few per cent.
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
    ir() { callgrind_ir "$1" "$WL" $target "$2" $SIZE; }
    log "$name: callgrind at 100000 and 200000 writes, plain and shim"
    added_ir 100000 ir || die "callgrind failed ($target)"
    row "$name" "user instructions/write (callgrind)" "$PLAIN_IR" "$((PLAIN_IR + ADDED_IR))" \
        "$(printf '%+d' "$ADDED_IR")" "<= 25 added" "$(le "$ADDED_IR" 25)"
    if timed_rows; then write_row $RUNS "$name" $target $N $SIZE "LD_PRELOAD=$HC_LIB"; fi
done
