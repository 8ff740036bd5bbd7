# shellcheck shell=bash
# shellcheck disable=SC2034 # the counts' results are globals, used by the row scripts
# tools/bench/counts.sh - the deterministic counts of the benchmark rows; sourced by lib.sh, whose
# log, die, median, T and HC_ENV_CLEAN it uses.
#
# Counts (deterministic: what the runs do, not how long they take):
#   counter                        prints how system calls are counted here: perf (perf stat of
#                                  the raw_syscalls:sys_enter tracepoint and syscalls:sys_enter_*
#                                  of HC_SYSCALL_NAMES: no tracing, so a long run costs little)
#                                  where it works, else strace -c; HC_COUNTER=strace|perf forces
#   counted_by                     "perf stat" or "strace -c", for a row's METRIC
#   syscalls_c OUT PRELOAD CMD...  run CMD, counting its system calls (and those of its threads and
#                                  children; HC_COUNT_CHILDREN=0: the process alone); PRELOAD
#                                  (empty: none) given to CMD only, never to the counter; writes
#                                  "syscall calls" lines, sorted, to OUT (perf: the calls not in
#                                  HC_SYSCALL_NAMES as one line "other N").  Other variables for
#                                  CMD: write CMD as env VAR=VAL PROG ... (its execve cancels, below)
#   added_syscalls R FN            the system calls per request the library adds: FN OUT PRELOAD
#                                  ROUNDS must run ROUNDS requests of the workload through
#                                  syscalls_c OUT PRELOAD ...; it is called for R and 2R rounds,
#                                  plain and with $HC_LIB, so that start-up and exit cancel:
#                                  ((S_lib(2R) - S_lib(R)) - (S_plain(2R) - S_plain(R))) / R.
#                                  Sets ADDED (the total per request, 3 decimals), ADDED_LIST
#                                  ("poll +1", "none", or "madvise +3/20000" for a count that is
#                                  not a whole number per request), PLAIN_PER (the plain run's
#                                  system calls per request), SHIM_PER (PLAIN_PER + ADDED).  HC_COUNT_IGNORE="read ..." leaves
#                                  those names out of ADDED (a program's own calls whose number
#                                  varies with TCP segmentation).
#   per_op_syscalls N1 N2 FN       the system calls per operation of one run's process: FN OUT N
#                                  runs N operations through syscalls_c; sets PER_OP (total, 3
#                                  decimals) and PER_OP_LIST ("ioctl 3, poll 1, ...") from
#                                  (S(N2) - S(N1)) / (N2 - N1)
#   added_ir R FN                  the user instructions per request the library adds, from
#                                  callgrind: FN PRELOAD ROUNDS prints the Ir of one run
#                                  (callgrind_ir); sets ADDED_IR and PLAIN_IR (per request)
#   zero X / one_poll              verdicts for the counts: "met" if |X| < 0.01 (nothing per
#                                  request: what is left over is not a call per request but a
#                                  program's timer or allocator, listed in ADDED_LIST); one_poll:
#                                  ADDED_LIST is exactly "poll +1"

# callgrind_ir PRELOAD CMD...: the user-space instructions of one run of CMD
# (PRELOAD empty: without the shim), from callgrind; deterministic.
callgrind_ir() {
    local pre=$1 out=$T/cg.$RANDOM
    shift
    "${HC_ENV_CLEAN[@]}" ${pre:+LD_PRELOAD="$pre"} valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$@" >/dev/null 2>"$T/cg.err" || { cat "$T/cg.err" >&2; return 1; }
    awk '/^summary:/ { print $2 }' "$out"
}

# --- counts ------------------------------------------------------------------------------------
# The results are globals for the row scripts: ADDED ADDED_LIST PLAIN_PER SHIM_PER PER_OP
# PER_OP_LIST ADDED_IR PLAIN_IR.

# The system calls a count names (perf); any other lands in "other" (the raw total less these).
HC_SYSCALL_NAMES="read write recvfrom sendto recvmsg sendmsg readv writev epoll_wait epoll_pwait epoll_ctl
    poll ppoll select pselect6 ioctl fcntl getsockopt setsockopt getpeername getsockname newfstatat newfstat
    statx socket connect dup dup2 dup3 close futex nanosleep clock_nanosleep clock_gettime madvise mmap munmap
    brk mprotect rt_sigprocmask pidfd_getfd pidfd_open faccessat faccessat2 process_vm_readv openat gettid
    getpid"

# counter: perf if it can count system call tracepoints here, else strace (HC_COUNTER forces one)
counter() {
    if [ -z "${HC_COUNTER:-}" ]; then
        HC_COUNTER=strace
        perf stat -x, -o /dev/null -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 && HC_COUNTER=perf
    fi
    echo "$HC_COUNTER"
}
counted_by() { [ "$(counter)" = perf ] && echo "perf stat" || echo "strace -c"; }

syscalls_c() {
    local out=$1 pre=$2 raw=$T/count.$RANDOM ev=() n
    shift 2
    if [ "$(counter)" = perf ]; then
        for n in $HC_SYSCALL_NAMES; do
            [ -d /sys/kernel/tracing/events/syscalls/sys_enter_$n ] && ev+=(-e "syscalls:sys_enter_$n")
        done
        [ "${HC_COUNT_CHILDREN:-1}" = 0 ] && ev+=(--no-inherit)
        # env sets the preload for the program only, not for perf (whose exit would write a stats line)
        "${HC_ENV_CLEAN[@]}" perf stat -x, -o "$raw" -e raw_syscalls:sys_enter "${ev[@]}" -- \
            env ${pre:+LD_PRELOAD="$pre"} "$@" >/dev/null || { log "syscalls_c: failed: $*"; return 1; }
        awk -F, '$3 ~ /^(raw_)?syscalls:sys_enter/ {
                if ($1 !~ /^[0-9]+$/) { bad = 1; next }
                if ($3 == "raw_syscalls:sys_enter") raw = $1
                else { n = $3; sub(/^syscalls:sys_enter_/, "", n); if ($1 > 0) print n, $1; named += $1 } }
            END { if (bad) exit 1; if (raw - named != 0) print "other", raw - named }' "$raw" | sort >"$out" ||
            { log "syscalls_c: perf counted nothing: $(head -c 300 "$raw")"; return 1; }
    else
        local follow=(-f)
        [ "${HC_COUNT_CHILDREN:-1}" = 0 ] && follow=()
        "${HC_ENV_CLEAN[@]}" strace "${follow[@]}" -c -o "$raw" ${pre:+-E LD_PRELOAD="$pre"} "$@" >/dev/null ||
            { log "syscalls_c: failed: $*"; return 1; }
        # data lines: % seconds usecs/call calls [errors] syscall
        awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF, $4 }' "$raw" | sort >"$out"
    fi
}

# _hc_delta FILE_A FILE_B [FILE_C FILE_D]: per syscall B - A, or (D - C) - (B - A), as "name count"
# lines; the names in HC_COUNT_IGNORE are left out
_hc_delta() {
    awk -v nf=$# -v ign=" ${HC_COUNT_IGNORE:-} " '
        FNR == 1 { f++ }
        { c[f, $1] = $2; names[$1] = 1 }
        END { for (n in names) {
            if (index(ign, " " n " ")) continue
            d = c[2, n] - c[1, n]
            if (nf == 4) d = (c[4, n] - c[3, n]) - d
            if (d != 0) print n, d } }' "$@" | sort
}

# _hc_per N: "name count" lines -> the total per N (3 decimals) TAB the list
_hc_per() {
    awk -v r="$1" '
        { tot += $2; v = $2 / r
          list = list sprintf("%s%s %s", list == "" ? "" : ", ", $1,
                 ($2 % r == 0) ? sprintf("%+d", v) : sprintf("%+d/%d", $2, r)) }
        END { t = sprintf("%.3f", tot / r); if (t == "-0.000") t = "0.000"
              printf "%s\t%s\n", t, list == "" ? "none" : list }'
}

added_syscalls() {
    local r=$1 fn=$2 k res
    for k in "p1 '' $r" "p2 '' $((2 * r))" "s1 $HC_LIB $r" "s2 $HC_LIB $((2 * r))"; do
        eval "set -- $k"
        "$fn" "$T/sc.$1" "$2" "$3" || { log "added_syscalls: $fn $2 $3 failed"; return 1; }
    done
    res=$(_hc_delta "$T/sc.p1" "$T/sc.p2" "$T/sc.s1" "$T/sc.s2" | _hc_per "$r")
    IFS=$'\t' read -r ADDED ADDED_LIST <<<"$res"
    PLAIN_PER=$(HC_COUNT_IGNORE='' _hc_delta "$T/sc.p1" "$T/sc.p2" | awk -v r="$r" '{ t += $2 } END { printf "%.3f\n", t / r }')
    SHIM_PER=$(awk -v a="$PLAIN_PER" -v b="$ADDED" 'BEGIN { printf "%.3f\n", a + b }')
}

per_op_syscalls() {
    local n1=$1 n2=$2 fn=$3 res
    "$fn" "$T/op.1" "$n1" && "$fn" "$T/op.2" "$n2" || { log "per_op_syscalls: $fn failed"; return 1; }
    res=$(_hc_delta "$T/op.1" "$T/op.2" | sort -k2,2nr -k1,1 | _hc_per $((n2 - n1)))
    IFS=$'\t' read -r PER_OP PER_OP_LIST <<<"$res"
    PER_OP_LIST=${PER_OP_LIST//+/}
}

added_ir() {
    local r=$1 fn=$2 p1 p2 s1 s2
    p1=$("$fn" "" "$r") && p2=$("$fn" "" $((2 * r))) && s1=$("$fn" "$HC_LIB" "$r") &&
        s2=$("$fn" "$HC_LIB" $((2 * r))) || { log "added_ir: $fn failed"; return 1; }
    PLAIN_IR=$(awk -v a="$p1" -v b="$p2" -v r="$r" 'BEGIN { printf "%.0f\n", (b - a) / r }')
    ADDED_IR=$(awk -v a="$p1" -v b="$p2" -v c="$s1" -v d="$s2" -v r="$r" 'BEGIN { printf "%.0f\n", ((d - c) - (b - a)) / r }')
}

zero() { awk -v x="$1" 'BEGIN { print (x < 0.01 && x > -0.01) ? "met" : "MISSED" }'; }
one_poll() { [ "$ADDED_LIST" = "poll +1" ] && echo met || echo MISSED; }
