#!/usr/bin/env bash
# Exit statuses, signals, fork and exec of static programs under halfclose
# (auto-detected, supervised) are what they are without it:
#   - a Go program exiting 3 -> halfclose exits 3;
#   - a Go program with a SIGTERM handler, SIGTERM sent to the process the
#     caller started (the halfclose process): the program's handler runs
#     ("got SIGTERM"), it dies of SIGTERM, and the status is the plain run's;
#   - a Go program that forks and execs (os/exec) /bin/echo, a shell exiting 5,
#     and another static Go program exiting 3: the same output, the same status.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

B=$HC_GO/behave
# The cases: NAMES, and the arguments after $B of each in case_NAME.
NAMES=(exit3 echo sh5 goexit)
# shellcheck disable=SC2034 # read through the nameref args
{
    case_exit3=(exit 3)
    case_echo=(exec /bin/echo hello from echo)
    case_sh5=(exec /bin/sh -c 'echo from sh; echo to stderr >&2; exit 5')
    case_goexit=(exec "$B" exit 3)
}

hc_section "plain"
for name in "${NAMES[@]}"; do
    declare -n args=case_$name
    hc_run_plain "${name}_plain" "$B" "${args[@]}"
    echo "$RC" >"$T/${name}_plain.rc"
    unset -n args
done
hc_check "exit 3: status 3" [ "$(cat "$T/exit3_plain.rc")" -eq 3 ]
hc_check "exec echo: status 0" [ "$(cat "$T/echo_plain.rc")" -eq 0 ]
hc_assert_contains "$T/echo_plain.out" "hello from echo" "echo output"
hc_check "exec sh exit 5: status 5" [ "$(cat "$T/sh5_plain.rc")" -eq 5 ]
hc_check "exec behave exit 3: status 3" [ "$(cat "$T/goexit_plain.rc")" -eq 3 ]

# gone PID: no process PID any more (the program did not outlive the run)
# shellcheck disable=SC2317 # called through hc_check
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
# nopid FILE: FILE without the "pid N" line
nopid() { grep -v '^pid [0-9]*$' "$1"; }

hc_run_sigterm sigterm_plain "$B" sigterm
echo "$RC" >"$T/sigterm_plain.rc"
hc_check "sigterm: died of SIGTERM (status 143)" [ "$RC" -eq 143 ]
hc_assert_contains "$OUT" "got SIGTERM" "behave sigterm stdout"
nopid "$OUT" >"$T/sigterm_plain.nopid"

hc_require_launcher
hc_section "halfclose (auto-detected): the same, statuses and outputs compared"
for name in "${NAMES[@]}"; do
    declare -n args=case_$name
    hc_run_hc "${name}_hc" "$B" "${args[@]}"
    hc_assert_rc "$(cat "$T/${name}_plain.rc")" "halfclose behave ${args[*]}"
    hc_check "$name: stdout identical to the plain run" cmp -s "$T/${name}_plain.out" "$OUT"
    hc_check "$name: stderr identical to the plain run" cmp -s "$T/${name}_plain.err" "$ERR"
    hc_assert_stat_present "$STATS" managed
    unset -n args
done

hc_run_sigterm sigterm_hc "HALFCLOSE_STATS=$T/sigterm_hc.stats" "$HC_LAUNCHER" "$B" sigterm
hc_assert_rc "$(cat "$T/sigterm_plain.rc")" "halfclose behave sigterm, SIGTERM to halfclose,"
hc_assert_contains "$OUT" "got SIGTERM" "behave sigterm stdout (its handler ran)"
hc_check "sigterm: stdout identical to the plain run (but the pid)" \
    cmp -s "$T/sigterm_plain.nopid" <(nopid "$OUT")
pid=$(awk '$1 == "pid" { print $2 }' "$OUT")
hc_check "the program (pid ${pid:-?}) is gone when halfclose has exited" gone "$pid"

hc_finish
