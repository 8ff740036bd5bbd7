#!/usr/bin/env bash
# TLS is left alone: the TLS session lives in the application, so a new TCP
# connection under it would be garbage.  tls_client.py (Python ssl) talks to a
# socat TLS echo server that closes connections idle for 2 s; after 3 s idle
# its second request fails.
#   plain: fails with some reason R (observed: "round 2 recv EOF", the
#          server's close_notify).
#   shim:  fails with the very same R; the socket was recognised by its first
#          bytes (a TLS record) and counted as tls_skipped; no reconnect.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_log "generating a self-signed certificate"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 ||
    { cat "$T/openssl.log"; hc_fail "openssl req generated a certificate"; hc_finish; }

hc_pick_port P
hc_start srv_socat_tls socat -T 2 \
    "OPENSSL-LISTEN:$P,bind=$HOST,reuseaddr,fork,cert=$T/cert.pem,key=$T/key.pem,verify=0" EXEC:cat
hc_wait_port "$P"

hc_section "plain: tls_client.py, 2 requests 3 s apart, server idle timeout 2 s"
hc_run_plain tls_plain "$PY" "$HC_TESTS/clients/tls_client.py" "$HOST" "$P" 3
hc_assert_rc 1 tls_client.py
hc_assert_contains "$OUT" "round 1: ok" "tls_client.py stdout"
R_PLAIN=$(grep '^result: FAIL' "$OUT")
hc_check "plain failure reason recorded: '$R_PLAIN'" [ -n "$R_PLAIN" ]
hc_check "the failure is in round 2 (after the idle close)" grep -q '^result: FAIL round 2 ' "$OUT"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
hc_run_shim tls_shim "$PY" "$HC_TESTS/clients/tls_client.py" "$HOST" "$P" 3
hc_assert_rc 1 tls_client.py
R_SHIM=$(grep '^result: FAIL' "$OUT")
hc_check "same failure as without the shim: '$R_SHIM' = '$R_PLAIN'" [ "${R_SHIM:-none}" = "${R_PLAIN:-missing}" ]
hc_assert_stat "$STATS" tls_skipped -eq 1
hc_assert_stat "$STATS" reconnects -eq 0

hc_finish
