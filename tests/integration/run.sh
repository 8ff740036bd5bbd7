#!/usr/bin/env bash
# tests/integration/run.sh — run the integration tests (make check), or those
# of another directory (tests/supervise/run.sh).
#
#   tests/integration/run.sh [NAME...]     NAME: t_foo or t_foo.sh; default all
#
# Environment: HC_BUILD (absolute build dir, default <repo>/build),
# HC_TEST_DIR (where the t_*.sh are, from the repository root, default
# tests/integration),
# HC_JOBS (tests run at once, default 4), HC_TEST_TIMEOUT (seconds per test,
# default 100).  Prints "PASS name" / "FAIL name" per test as each finishes
# (a failing test's output follows its line), then "N passed, M failed";
# exits 1 if any test failed or none ran.
set -u
cd "$(dirname "$0")/../.." || exit 1
HC_BUILD=${HC_BUILD:-$PWD/build}
export HC_BUILD
jobs_max=${HC_JOBS:-4}
per_test_timeout=${HC_TEST_TIMEOUT:-100}
dir=${HC_TEST_DIR:-tests/integration}

tests=()
if [ $# -gt 0 ]; then
    for n in "$@"; do
        n=${n%.sh}
        n=${n##*/}
        tests+=("$dir/$n.sh")
    done
else
    for t in "$dir"/t_*.sh; do
        [ -f "$t" ] && tests+=("$t")
    done
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/hc-check.XXXXXX") || exit 1
declare -A name_of start_of
running=0 passed=0 failed=0
started=$(date +%s%N)

cleanup() {
    local p
    for p in "${!name_of[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    rm -rf "$logdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

reap_one() {
    local pid rc name secs
    wait -n -p pid
    rc=$?
    [ -n "${pid:-}" ] || return 0
    name=${name_of[$pid]}
    secs=$((($(date +%s%N) - ${start_of[$pid]}) / 100000000))
    secs="$((secs / 10)).$((secs % 10))"
    unset "name_of[$pid]" "start_of[$pid]"
    running=$((running - 1))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name (${secs}s)"
    else
        failed=$((failed + 1))
        [ "$rc" -eq 124 ] && echo "(timed out after ${per_test_timeout}s)" >>"$logdir/$name.log"
        echo "FAIL $name (${secs}s, exit $rc)"
        sed 's/^/    /' "$logdir/$name.log"
    fi
}

for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    if [ ! -f "$t" ]; then
        failed=$((failed + 1))
        echo "FAIL $name (no such test: $t)"
        continue
    fi
    while [ "$running" -ge "$jobs_max" ]; do reap_one; done
    timeout -k 5 "$per_test_timeout" bash "$t" </dev/null >"$logdir/$name.log" 2>&1 &
    name_of[$!]=$name
    start_of[$!]=$(date +%s%N)
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap_one; done

total=$((($(date +%s%N) - started) / 1000000000))
echo "(${dir##*/} tests took ${total}s, HC_BUILD=$HC_BUILD)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
