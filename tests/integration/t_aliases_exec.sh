#!/usr/bin/env bash
# fd aliases and exec, against a socat echo server that closes connections
# idle for 1 s.
# 1. alias_client.py duplicates its pooled socket (dup, dup2, fcntl
#    F_DUPFD_CLOEXEC), keeps the copy, idles 1.6 s and uses the original fd.
#    Swapping one of two numbers would leave the other on the dead
#    connection, so a duplicated socket is no longer managed: the shim run
#    prints exactly what the plain run prints (round 2: EOF) and its stats
#    count it as passthrough, with no reconnect.
# 2. A shell under the shim forks and execs reqresp.py (3 rounds, 1.6 s
#    apart): the exec'ed program inherits LD_PRELOAD, starts with a fresh
#    library and heals its own connection (its own stats line: managed=1,
#    reconnects=2; the shell's line: managed=0).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

for how in dup dup2 fdup; do
    hc_section "alias_client $how: plain"
    hc_run_plain "alias_${how}_plain" "$PY" "$HC_TESTS/clients/alias_client.py" "$how" "$HOST" "$P" 1600
    hc_assert_rc 0 alias_client
    hc_assert_contains "$OUT" "round 2: EOF" "alias_client stdout"
    plain_out=$(cat "$OUT")
    hc_require_shim
    hc_section "alias_client $how: shim"
    hc_run_shim "alias_${how}_shim" "$PY" "$HC_TESTS/clients/alias_client.py" "$how" "$HOST" "$P" 1600
    hc_assert_rc 0 alias_client
    hc_check "the shim run prints what the plain run printed" [ "$(cat "$OUT")" = "$plain_out" ]
    hc_assert_stat "$STATS" passthrough -eq 1
    hc_assert_stat "$STATS" reconnects -eq 0
done

hc_section "exec: a shell forks and execs reqresp.py under the shim"
# shellcheck disable=SC2016 # expanded by the inner shell
hc_run_shim exec_shim bash -c '"$0" "$@"; exit $?' "$PY" "$HC_TESTS/clients/reqresp.py" "$HOST" "$P" 3 1600
hc_assert_rc 0 "bash + reqresp.py"
hc_check "reqresp.py printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_count "$STATS" "managed=1 probes=2 stale=2 reconnects=2 reconnect_failures=0" 1 "stats (reqresp.py's line: rounds 2 and 3 probed; round 1 was too soon after the connect)"
hc_assert_count "$STATS" "managed=0 " 1 "stats (the shell's line)"

hc_finish
