# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this file
# tests/supervise/lib.sh — helpers for the launcher's supervisor tests
# (static and Go binaries, issue 7), on top of tests/integration/lib.sh.
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# Everything tests/integration/lib.sh gives (hc_pick_port, hc_start,
# hc_start_ncat_loop, hc_run_plain, hc_stats_get, hc_assert_*, hc_finish, $T,
# $HOST, ...), and:
#   $HC_GO      the Go test programs (build/go: tests/go/*.go, CGO_ENABLED=0)
#   $HC_STATIC  C test clients linked with -static (build/static)
#   hc_run_hc NAME [VAR=VAL...] ARG...
#               run `$HC_LAUNCHER ARG...` (options, `--`, the program) with
#               HALFCLOSE_STATS=$T/NAME.stats; sets RC, OUT, ERR, STATS like
#               hc_run_shim.  Nothing is preloaded by the test itself: which
#               mechanism reaches the program is the launcher's choice.
#   hc_run_sigterm NAME [VAR=VAL...] CMD...
#               run CMD in its own session, wait until its stdout has a line
#               "ready", send SIGTERM to the process started (CMD itself, env
#               and setsid exec it: with CMD = the launcher, the launcher),
#               and wait for it; sets RC (128+N for a death by signal N), OUT,
#               ERR (STATS if VAR=VAL sets HALFCLOSE_STATS=$T/NAME.stats).
#   hc_start_redis PORT TIMEOUT
#               redis-server on $HOST:PORT, closing connections idle for
#               TIMEOUT s (0: never), no persistence, data in $T/redis;
#               waits until it listens
#   hc_require_launcher       stop with a failure if build/halfclose is missing
#   hc_assert_stat_present FILE KEY   the stats line has KEY with a number
#   hc_assert_no_stats [WHAT] the last run wrote no stats line
#   hc_stats_sum FILE KEY     KEY summed over every stats line in FILE (the
#                             supervisor writes one per supervised process)
#   hc_assert_stat_sum FILE KEY OP VALUE    the same, as an assertion
#   hc_is_static PROG         true if the ELF file PROG has no program
#                             interpreter (statically linked)
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

HC_GO=$HC_BUILD/go
HC_STATIC=$HC_BUILD/static

hc_start_redis() {
    mkdir -p "$T/redis"
    hc_start srv_redis redis-server --port "$1" --bind "$HOST" --timeout "$2" \
        --save '' --appendonly no --dir "$T/redis" --protected-mode no
    hc_wait_port "$1" 10
}

hc_require_launcher() {
    if [ "${HC_PLAIN_ONLY:-0}" = 1 ]; then
        hc_log "(HC_PLAIN_ONLY=1: halfclose half skipped)"
        hc_finish
    fi
    if [ ! -x "$HC_LAUNCHER" ]; then
        hc_fail "launcher exists at $HC_LAUNCHER"
        hc_finish
    fi
}

hc_run_hc() {
    local name=$1 st
    shift
    local -a vars=()
    while [ $# -gt 0 ] && [[ $1 == [A-Za-z_]*=* ]]; do
        vars+=("$1")
        shift
    done
    st=$T/$name.stats
    : >"$st"
    hc_run halfclose "$name" ${vars[@]+"${vars[@]}"} "HALFCLOSE_STATS=$st" "$HC_LAUNCHER" "$@"
    STATS=$st
    if [ -s "$STATS" ]; then hc_show_file "$STATS" stats; else hc_log "    (no stats line written)"; fi
    return 0
}

hc_run_sigterm() {
    local name=$1 pid i dog t0 t1
    shift
    local -a vars=()
    while [ $# -gt 0 ] && [[ $1 == [A-Za-z_]*=* ]]; do
        vars+=("$1")
        shift
    done
    OUT=$T/$name.out ERR=$T/$name.err STATS=
    for i in ${vars[@]+"${vars[@]}"}; do
        case $i in HALFCLOSE_STATS=*) STATS=${i#HALFCLOSE_STATS=}; : >"$STATS" ;; esac
    done
    hc_log "+ [sigterm] $*"
    t0=$(date +%s%N)
    # not a process group leader here, so setsid execs (the pid stays CMD's)
    setsid env ${vars[@]+"${vars[@]}"} "$@" </dev/null >"$OUT" 2>"$ERR" &
    pid=$!
    HC_CLIENT=$pid
    # a watchdog: whatever happens, the run ends within 30 s
    (sleep 30 && kill -KILL -- "-$pid" 2>/dev/null) &
    dog=$!
    for ((i = 0; i < 500; i++)); do
        grep -qx ready "$OUT" 2>/dev/null && break
        sleep 0.02
    done
    if grep -qx ready "$OUT"; then
        hc_log "    ready; SIGTERM to pid $pid"
        kill -TERM "$pid"
    else
        hc_log "    never said ready within 10 s; SIGTERM to pid $pid anyway"
        kill -TERM "$pid" 2>/dev/null
    fi
    wait "$pid"
    RC=$?
    kill "$dog" 2>/dev/null
    wait "$dog" 2>/dev/null
    HC_CLIENT=
    t1=$(date +%s%N)
    hc_show_file "$OUT" stdout
    hc_show_file "$ERR" stderr
    hc_log "    exit status $(hc_describe_rc "$RC") after $(((t1 - t0) / 1000000)) ms"
    if [ -n "$STATS" ]; then
        if [ -s "$STATS" ]; then hc_show_file "$STATS" stats; else hc_log "    (no stats line written)"; fi
    fi
    return 0
}

hc_assert_stat_present() {
    local v
    if v=$(hc_stats_get "$1" "$2") && [[ $v =~ ^[0-9]+$ ]]; then
        hc_pass "stats line has $2=$v"
    else
        hc_fail "stats line has $2=<number> (in $(basename "$1"): $(head -c 300 "$1" 2>/dev/null | tr '\n' '|'))"
    fi
}

hc_assert_no_stats() {
    if grep -q '^halfclose ' "$STATS" 2>/dev/null; then
        hc_fail "${1:-the program} wrote no stats line (got: $(tr '\n' '|' <"$STATS"))"
    else
        hc_pass "${1:-the program} wrote no stats line"
    fi
}

hc_stats_sum() {
    [ -f "$1" ] || return 1
    awk -v k="$2" '/^halfclose / { for (i = 2; i <= NF; i++) { n = index($i, "=");
                         if (substr($i, 1, n - 1) == k) { s += substr($i, n + 1); f = 1 } } }
                   END { if (!f) exit 1; print s }' "$1"
}

hc_assert_stat_sum() {
    local v
    if ! v=$(hc_stats_sum "$1" "$2"); then
        hc_fail "stats $2 (all lines) $3 $4 (no stats line with key $2 in $(basename "$1"))"
        return
    fi
    if test "$v" "$3" "$4" 2>/dev/null; then
        hc_pass "stats $2=$v, all lines ($3 $4)"
    else
        hc_fail "stats $2 (all lines) $3 $4 (got $2=$v)"
    fi
}

hc_is_static() {
    [ -f "$1" ] && ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q "Requesting program interpreter"
}
