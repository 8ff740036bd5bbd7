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
# Functions (interface is stable; the counts are in counts.sh and redis in redis.sh, sourced at the
# end of this file, each with its own list):
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
#   write_row RUNS NAME TARGET N SIZE PREFIX
#                                  the write loop ($HC_BENCH/write_loop TARGET N SIZE: /dev/null,
#                                  pipe, file) plain and with PREFIX before it (LD_PRELOAD=..., or
#                                  the launcher and its flags), RUNS interleaved pairs; a row
#                                  "ns/write median (spread)", the median of the pairs' ratios,
#                                  goal <= 1.02x
#
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

# shellcheck source-path=SCRIPTDIR source=counts.sh
. "$HC_ROOT/tools/bench/counts.sh"
# shellcheck source-path=SCRIPTDIR source=redis.sh
. "$HC_ROOT/tools/bench/redis.sh"
