#!/usr/bin/env bash
# errno transparency: a successful call leaves errno as it was (a libc
# system-call wrapper does not touch errno on success), so the shim must not
# change it either, on any path: managed socket calls, the write that heals,
# and the "not mine" path for other fds.  errno_check sets errno to 12345
# before each call and reports any call after which it is different:
# pipe/open/write/read/dup/close on unmanaged fds; socket, setsockopt x3,
# connect, fcntl, write/read on a managed socket; 3 s idle against a socat
# echo server that closes connections idle for 2 s; the write of round 2
# (healed under the shim), its read; round 3 with send/recv; close.
#   plain: errno is kept by every call; round 2 reads EOF (exit 3, see
#          errno_check.c).
#   shim:  errno is kept by every call; round 2 heals (reconnects >= 1) and
#          every echo matches: exit 0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: errno_check, 3000 ms idle before round 2, server idle timeout 2 s"
hc_run_plain errno_plain "$HC_CLIENTS/errno_check" "$HOST" "$P" 3000
hc_assert_rc 3 "errno_check (errno always kept, round 2 lost without the shim)"
hc_assert_contains "$OUT" ", 0 changed" "errno_check summary"
hc_assert_lacks "$OUT" "BAD" "errno_check stdout"
hc_assert_contains "$OUT" "round 2: EOF" "errno_check stdout"
PLAIN_CALLS=$(sed -n 's/^errno: \([0-9]*\) calls.*/\1/p' "$OUT")

hc_require_shim
hc_section "shim: the same client under LD_PRELOAD"
hc_run_shim errno_shim "$HC_CLIENTS/errno_check" "$HOST" "$P" 3000
hc_assert_rc 0 errno_check
hc_assert_contains "$OUT" ", 0 changed" "errno_check summary"
hc_assert_lacks "$OUT" "BAD" "errno_check stdout"
hc_assert_contains "$OUT" 'ok   write(sock, "req 2") after the idle close' "errno_check stdout (the healing write)"
hc_assert_contains "$OUT" "round 2: ok" "errno_check stdout"
hc_assert_contains "$OUT" "round 3: ok" "errno_check stdout"
SHIM_CALLS=$(sed -n 's/^errno: \([0-9]*\) calls.*/\1/p' "$OUT")
hc_check "every call was checked (shim $SHIM_CALLS calls > plain $PLAIN_CALLS, which skipped round 3)" \
    [ "${SHIM_CALLS:-0}" -gt "${PLAIN_CALLS:-0}" ]
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" managed -eq 1

hc_finish
