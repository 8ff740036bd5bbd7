# shellcheck shell=bash
# shellcheck disable=SC2034 # the counts' results are globals, used by the row scripts
# tools/bench/lib.sh — helpers shared by the benchmark row scripts (tools/bench/row_*.sh).
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# A row script prints its result lines on stdout, each exactly 7 tab-separated fields
#     WORKLOAD  METRIC  PLAIN  SHIM  RESULT  TARGET  VERDICT        (VERDICT: met | MISSED | info)
# and everything else (progress, diagnostics) on stderr.  Exit non-zero only if something crashed
# or a server could not start; a missed target is a result, not an error.
#
# Environment (set by tools/bench.sh; defaults for running a row by hand):
#   HC_BUILD   absolute build directory            default <repo>/build
#   HC_LIB     absolute path of libhalfclose.so    default $HC_BUILD/libhalfclose.so
#   HC_BENCH   $HC_BUILD/bench (the bench binaries, set here)
#   HC_QUICK=1 developer knob: rows may use fewer runs (the driver never sets it)
#   T          a private temp directory, removed at exit (HC_KEEP=1 keeps it and prints its path)
#
# Functions (interface is stable):
#   log MSG...                     print "[row] MSG" on stderr
#   die MSG...                     log MSG, exit 2 (a crash / a server that would not start)
#   row WORKLOAD METRIC PLAIN SHIM RESULT TARGET VERDICT
#                                  print one result line (tabs inside fields become spaces);
#                                  dies if VERDICT is not met/MISSED/info
#   pick_port VAR                  store a free TCP port from 32000-32767 in VAR: flock on
#                                  /tmp/halfclose-bench-ports/PORT.lock (held until exit, keeps
#                                  parallel rows/runs apart), no socket uses it in /proc/net/tcp*,
#                                  and a test bind() to 127.0.0.1:PORT succeeds
#   start_server VAR NAME CMD...   run CMD in the background in its own session / process group
#                                  (stdin /dev/null, stdout $T/NAME.out, stderr $T/NAME.err);
#                                  stores its pid (= process group id) in VAR; registered for
#                                  cleanup (the whole group is killed at exit, however the row exits)
#   wait_port PORT [SECS] [PID]    wait until something listens on 127.0.0.1:PORT (read from
#                                  /proc/net/tcp, never connects); default 5 s; fails early if PID
#                                  died.  Returns 1 on timeout (callers usually `|| die ...`)
#   stop_server PID                TERM the process group PID, KILL after 1 s, reap it
#   median NUM...                  median of the numbers (also reads stdin if no args)
#   spread NUM...                  half the inter-quartile range relative to the median, as "±N%"
#                                  (e.g. "±3%"; "±0.4%" under 1 %), robust against one outlier run
#   ratio A B                      B / A with 3 decimals (e.g. ratio PLAIN SHIM -> "0.973")
#   walltime CMD...                run CMD (stdout to /dev/null), print its wall time in seconds
#                                  (9 decimals, CLOCK_MONOTONIC via date +%s%N); fails if CMD fails
#   alternate N CMD_PLAIN CMD_SHIM run the two command strings (each eval'ed) N times each,
#                                  interleaved plain, shim, plain, shim, ...; each run must print a
#                                  number as the last line of its stdout.  Sets the global
#                                  strings ALT_PLAIN and ALT_SHIM (space-separated values, in run
#                                  order).  Returns 1 (and logs the command) if a run fails or
#                                  prints no number.  Do not call it in $( ): the results would
#                                  stay in the subshell.
#       e.g.  alternate 11 "walltime $B/write_loop /dev/null 1000000 64" \
#                          "walltime env LD_PRELOAD=$HC_LIB $B/write_loop /dev/null 1000000 64" || die
#             row "..." "time median (spread)" "$(median $ALT_PLAIN)s ($(spread $ALT_PLAIN))" ...
#   paired_ratio "A..." "B..."     the median over i of B_i / A_i (3 decimals): the ratio of
#                                  each interleaved pair, robust against a machine whose speed
#                                  drifts during the row (use with ALT_PLAIN ALT_SHIM)
#   paired_diff "A..." "B..." [K]  the median over i of (B_i - A_i) * K (default K 1), %.6g
#   le X LIMIT / ge X LIMIT        print "met" if X <= LIMIT (X >= LIMIT), else "MISSED"
#   stat_get FILE KEY              value of KEY in the last halfclose stats line of FILE
#   timed_rows                     true unless HC_BENCH_PART=counts (make bench-counts): the
#                                  timed parts of a row script are skipped then, the counts run
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
#   write_row RUNS NAME TARGET N SIZE PREFIX
#                                  the write loop ($HC_BENCH/write_loop TARGET N SIZE: /dev/null,
#                                  pipe, file) plain and with PREFIX before it (LD_PRELOAD=..., or
#                                  the launcher and its flags), RUNS interleaved pairs; a row
#                                  "ns/write median (spread)", the median of the pairs' ratios,
#                                  goal <= 1.02x
#
# redis (row_redis.sh, row_session.sh):
#   redis_start [ARG...]           a private redis-server on a free port (no persistence, no idle
#                                  timeout, ARGs added: --requirepass PW); sets REDIS_PORT and
#                                  REDIS_PID; dies if it does not start
#   redis_pairs RUNS NAME NTESTS ARG...
#                                  RUNS interleaved pairs of redis-benchmark -h 127.0.0.1 -p
#                                  $REDIS_PORT ARG... -q --csv, plain then with the library
#                                  (HALFCLOSE_STATS=$T/NAME.stats); "TEST req/s" lines appended to
#                                  $T/NAME.plain and $T/NAME.shim; dies unless every run printed
#                                  NTESTS results
#   redis_rows NAME WORKLOAD GOAL TEST...
#                                  a row per TEST of redis_pairs NAME: req/s median (spread) and
#                                  the median of the pairs' ratios, ">= GOAL"
# HC_ENV_CLEAN is an array (env -u LD_PRELOAD -u HALFCLOSE_*...) to prefix runs with, so that the
# caller's environment never leaks a preload or a HALFCLOSE_* setting into a "plain" run.

set -u

HC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HC_BUILD=${HC_BUILD:-$HC_ROOT/build}
HC_LIB=${HC_LIB:-$HC_BUILD/libhalfclose.so}
HC_BENCH=$HC_BUILD/bench
HC_ROW=$(basename "$0" .sh)
HC_PORT_LOCKDIR=/tmp/halfclose-bench-ports
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-bench-$HC_ROW.XXXXXX") || exit 2
export HC_BUILD HC_LIB

HC_SERVER_PGIDS=()
ALT_PLAIN='' ALT_SHIM=''

HC_ENV_CLEAN=(env -u LD_PRELOAD)
for _v in $(compgen -e); do
    case $_v in HALFCLOSE_*) HC_ENV_CLEAN+=(-u "$_v") ;; esac
done
unset _v

log() { printf '[%s] %s\n' "$HC_ROW" "$*" >&2; }
die() { log "ERROR: $*"; exit 2; }

row() {
    (($# == 7)) || die "row: expected 7 fields, got $#: $*"
    case $7 in met | MISSED | info) ;; *) die "row: bad verdict '$7'" ;; esac
    local f out=() 
    for f in "$@"; do out+=("${f//$'\t'/ }"); done
    local IFS=$'\t'
    printf '%s\n' "${out[*]}"
}

_hc_cleanup() {
    local rc=$? pg
    trap - EXIT INT TERM
    for pg in "${HC_SERVER_PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
    if ((${#HC_SERVER_PGIDS[@]})); then
        sleep 0.2
        for pg in "${HC_SERVER_PGIDS[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
    fi
    if [ "${HC_KEEP:-0}" = 1 ]; then log "kept $T"; else rm -rf "$T"; fi
    exit "$rc"
}
trap _hc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports -------------------------------------------------------------------------------------

_hc_port_used() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_port() {
    # Locals are __-prefixed so that no caller's variable name is shadowed.
    local __var=$1 __port __fd __tries=0
    mkdir -p "$HC_PORT_LOCKDIR" 2>/dev/null
    while ((__tries++ < 300)); do
        __port=$((32000 + (RANDOM * 32768 + RANDOM) % 768))
        exec {__fd}>>"$HC_PORT_LOCKDIR/$__port.lock" || continue
        if flock -n "$__fd" && ! _hc_port_used "$__port" &&
            /usr/bin/python3 -c 'import socket,sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))' "$__port" 2>/dev/null; then
            printf -v "$__var" '%s' "$__port"
            return 0
        fi
        exec {__fd}>&-
    done
    die "pick_port: no free port in 32000-32767"
}

wait_port() {
    local port=$1 secs=${2:-5} pid=${3:-} hex i
    hex=$(printf ':%04X' "$port")
    for ((i = 0; i < secs * 50; i++)); do
        awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            log "wait_port: server pid $pid died before listening on $port"
            return 1
        fi
        sleep 0.02
    done
    log "wait_port: nothing listens on $port after ${secs}s"
    return 1
}

# --- servers -----------------------------------------------------------------------------------

start_server() {
    local __var=$1 name=$2 pid
    shift 2
    "${HC_ENV_CLEAN[@]}" setsid "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err" &
    pid=$!
    HC_SERVER_PGIDS+=("$pid")
    printf -v "$__var" '%s' "$pid"
}

stop_server() {
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# --- statistics --------------------------------------------------------------------------------

_hc_nums() { if (($#)); then printf '%s\n' "$@"; else cat; fi; }

median() {
    _hc_nums "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6g\n", m }'
}

spread() {
    _hc_nums "$@" | sort -g | awk '
        function q(p,   h, lo) { h = (NR - 1) * p + 1; lo = int(h); return v[lo] + (h - lo) * (v[lo + 1] - v[lo]) }
        { v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        v[NR + 1] = v[NR]
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (m == 0) { print "±0%"; exit }
        s = (q(0.75) - q(0.25)) / 2 / (m < 0 ? -m : m) * 100
        if (s < 1) printf "±%.1f%%\n", s; else printf "±%.0f%%\n", s }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "nan"; else printf "%.3f\n", b / a }'; }

le() { awk -v x="$1" -v l="$2" 'BEGIN { print (x + 0 <= l + 0) ? "met" : "MISSED" }'; }
ge() { awk -v x="$1" -v l="$2" 'BEGIN { print (x + 0 >= l + 0) ? "met" : "MISSED" }'; }

# callgrind_ir PRELOAD CMD...: the user-space instructions of one run of CMD
# (PRELOAD empty: without the shim), from callgrind; deterministic.
callgrind_ir() {
    local pre=$1 out=$T/cg.$RANDOM
    shift
    "${HC_ENV_CLEAN[@]}" ${pre:+LD_PRELOAD="$pre"} valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$@" >/dev/null 2>"$T/cg.err" || { cat "$T/cg.err" >&2; return 1; }
    awk '/^summary:/ { print $2 }' "$out"
}

walltime() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null || return 1
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.9f\n", (b - a) / 1e9 }'
}

_hc_run_num() {
    local out v
    out=$(eval "$1") || { log "alternate: failed: $1"; return 1; }
    v=$(printf '%s\n' "$out" | awk 'NF { l = $NF } END { print l }')
    [[ $v =~ ^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] || { log "alternate: no number from: $1"; return 1; }
    printf '%s' "$v"
}

alternate() {
    local n=$1 cp=$2 cs=$3 i v
    ALT_PLAIN='' ALT_SHIM=''
    for ((i = 0; i < n; i++)); do
        v=$(_hc_run_num "$cp") || return 1
        ALT_PLAIN+="${ALT_PLAIN:+ }$v"
        v=$(_hc_run_num "$cs") || return 1
        ALT_SHIM+="${ALT_SHIM:+ }$v"
    done
}

stat_get() {
    grep '^halfclose ' "$1" 2>/dev/null | tail -n 1 | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

paired_ratio() {
    local -a a b
    local i
    read -ra a <<<"$1"
    read -ra b <<<"$2"
    for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do ratio "${a[i]}" "${b[i]}"; done | median |
        xargs printf '%.3f\n'
}

paired_diff() {
    local -a a b
    local k=${3:-1} i
    read -ra a <<<"$1"
    read -ra b <<<"$2"
    for ((i = 0; i < ${#a[@]} && i < ${#b[@]}; i++)); do
        awk -v x="${a[i]}" -v y="${b[i]}" -v k="$k" 'BEGIN { printf "%.9g\n", (y - x) * k }'
    done | median
}

timed_rows() { [ "${HC_BENCH_PART:-all}" != counts ]; }

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

# --- redis -------------------------------------------------------------------------------------

redis_start() {
    local c
    for c in redis-server redis-benchmark; do command -v $c >/dev/null || die "$c not installed (make deps)"; done
    pick_port REDIS_PORT
    start_server REDIS_PID redis "$(command -v redis-server)" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
        --appendonly no --timeout 0 --daemonize no --logfile '' "$@"
    wait_port "$REDIS_PORT" 5 "$REDIS_PID" || { cat "$T/redis.out" "$T/redis.err" >&2; die "redis-server did not start"; }
    log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
}

# _hc_redis_run NAME MODE NTESTS ARG...: one redis-benchmark run, its results appended to $T/NAME.MODE
_hc_redis_run() {
    local name=$1 mode=$2 ntests=$3 out pre=()
    shift 3
    [ "$mode" = shim ] && pre=(LD_PRELOAD="$HC_LIB" HALFCLOSE_STATS="$T/$name.stats")
    if ! out=$("${HC_ENV_CLEAN[@]}" "${pre[@]}" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" "$@" -q --csv \
        2>"$T/bench.err"); then
        cat "$T/bench.err" >&2
        kill -0 "$REDIS_PID" 2>/dev/null || cat "$T/redis.out" "$T/redis.err" >&2
        die "redis-benchmark ($mode) failed"
    fi
    [ "$(printf '%s\n' "$out" | grep -c '^"[A-Z_]*","[0-9.]*"')" = "$ntests" ] ||
        { printf '%s\n' "$out" >&2; die "redis-benchmark ($mode): unexpected output"; }
    printf '%s\n' "$out" | awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2 }' >>"$T/$name.$mode"
}

redis_pairs() {
    local runs=$1 name=$2 ntests=$3 i
    shift 3
    log "$name: $runs interleaved pairs of redis-benchmark $*"
    for ((i = 0; i < runs; i++)); do
        _hc_redis_run "$name" plain "$ntests" "$@"
        _hc_redis_run "$name" shim "$ntests" "$@"
    done
    log "$name: shim stats (last run): $(grep '^halfclose' "$T/$name.stats" | tail -n 1)"
}

redis_rows() {
    local name=$1 workload=$2 goal=$3 t p s pm sm r
    shift 3
    for t in "$@"; do
        p=$(awk -v t="$t" '$1 == t { print $2 }' "$T/$name.plain") s=$(awk -v t="$t" '$1 == t { print $2 }' "$T/$name.shim")
        # shellcheck disable=SC2086 # word splitting wanted
        pm=$(median $p) sm=$(median $s) r=$(paired_ratio "$(echo $p)" "$(echo $s)")
        log "$t plain: $(echo $p); shim: $(echo $s); ratio of medians $(ratio "$pm" "$sm")"
        # shellcheck disable=SC2086
        row "$workload ($t)" "req/s median (spread); ratio: median of pairs" "$(printf '%.0f' "$pm") ($(spread $p))" \
            "$(printf '%.0f' "$sm") ($(spread $s))" "${r}x" ">= ${goal}x" "$(ge "$r" "$goal")"
    done
}

# --- the write loop (row_writes.sh, row_supervise.sh) ------------------------------------------

write_row() {
    local runs=$1 name=$2 target=$3 n=$4 size=$5 prefix=$6 wl=$HC_BENCH/write_loop p s r
    [ -x "$wl" ] || die "missing $wl"
    log "$name: $runs interleaved pairs of $n writes"
    alternate "$runs" "${HC_ENV_CLEAN[*]} $wl $target $n $size" "${HC_ENV_CLEAN[*]} $prefix $wl $target $n $size" ||
        die "write_loop failed ($target)"
    # the program prints the loop's time in ns: ns per write
    p=$(awk -v t="$(median $ALT_PLAIN)" -v n="$n" 'BEGIN { printf "%.1f", t / n }')
    s=$(awk -v t="$(median $ALT_SHIM)" -v n="$n" 'BEGIN { printf "%.1f", t / n }')
    r=$(paired_ratio "$ALT_PLAIN" "$ALT_SHIM")
    row "$name" "ns/write median (spread); ratio: median of pairs" "$p ($(spread $ALT_PLAIN))" \
        "$s ($(spread $ALT_SHIM))" "${r}x" "<= 1.02x" "$(le "$r" 1.02)"
}
