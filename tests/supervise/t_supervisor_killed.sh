#!/usr/bin/env bash
# The supervisor dies (SIGKILL) while the program runs: the program's filtered
# calls then fail with ENOSYS, and it must survive that like any other error.
# redis_ping (static Go) against redis without an idle timeout: round 1 goes
# through the supervisor, which is killed during the 3 s idle; round 2's write
# on the managed socket fails with ENOSYS ("function not implemented"), which
# the program reports and exits on by itself: no crash, no signal, no hang.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_require_launcher
hc_pick_port P
hc_start_redis "$P" 0

hc_section "halfclose redis_ping; the supervisor is killed during the idle"
"$HC_LAUNCHER" "$HC_GO/redis_ping" "$HOST" "$P" 2 3000 3000 >"$T/ping.out" 2>"$T/ping.err" </dev/null &
sup=$!
hc_wait_for 5 grep -q "round 1: PONG" "$T/ping.out"
hc_assert_contains "$T/ping.out" "round 1: PONG" "redis_ping stdout"
prog=
read -r prog _ <"/proc/$sup/task/$sup/children"
hc_check "the supervisor ($sup) has the program as its child (${prog:-none})" [ -n "$prog" ]
kill -KILL "$sup"
wait "$sup" 2>/dev/null
# The program is no child of ours: wait for it to go by its pid.
hc_wait_for 10 sh -c "! kill -0 ${prog:-0} 2>/dev/null"
hc_check "the program ($prog) has exited within 10 s" sh -c "! kill -0 ${prog:-0} 2>/dev/null"
hc_show_file "$T/ping.err" "redis_ping stderr"
# Its last words are its own error message, printed just before os.Exit: it
# was not killed, it handled the error.
hc_assert_contains "$T/ping.err" "redis_ping: round 2: write:" "redis_ping stderr"
hc_assert_contains "$T/ping.err" "function not implemented" "redis_ping stderr"
for word in panic SIGSYS "fatal error"; do
    hc_assert_lacks "$T/ping.err" "$word" "redis_ping stderr"
done
[ -n "$prog" ] && kill -KILL "$prog" 2>/dev/null # only if it hung

hc_finish
