# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this file
# tests/supervise/lib.sh — what only the launcher's supervisor tests (static
# and Go binaries, issue 7) add to tests/lib.sh.
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# Everything tests/lib.sh gives (hc_pick_port, hc_start, hc_start_ncat_loop,
# hc_run_plain, hc_run_hc, hc_stats_get, hc_assert_*, hc_finish, $T, $HOST,
# ...), and:
#   $HC_GO      the Go test programs (build/go: tests/go/*.go, CGO_ENABLED=0)
#   $HC_STATIC  C test clients linked with -static (build/static)
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
#   hc_is_static PROG         true if the ELF file PROG has no program
#                             interpreter (statically linked)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

HC_GO=$HC_BUILD/go
HC_STATIC=$HC_BUILD/static

hc_start_redis() {
    mkdir -p "$T/redis"
    hc_start srv_redis redis-server --port "$1" --bind "$HOST" --timeout "$2" \
        --save '' --appendonly no --dir "$T/redis" --protected-mode no
    hc_wait_port "$1" 10
}

hc_run_sigterm() {
    local name=$1 pid i dog t0
    shift
    hc_take_vars "$@"
    shift "${#HC_VARS[@]}"
    local -a vars=(${HC_VARS[@]+"${HC_VARS[@]}"})
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
    hc_show_run "$t0"
    return 0
}

hc_is_static() {
    [ -f "$1" ] && ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q "Requesting program interpreter"
}
