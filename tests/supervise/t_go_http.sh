#!/usr/bin/env bash
# Go's net/http client (tests/go/http_client.go) against nginx with
# `keepalive_timeout 1s` (tests/matrix/servers.sh), 4 requests 1.5 s apart.
# Go's Transport copes by itself: its background read loop sees the server's
# FIN and drops the pooled connection, so the next request dials anew.  Under
# halfclose (auto-detected: static Go binary) it must keep working exactly the
# same: every request answered, and a stats line written.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../matrix/servers.sh
. "$HC_TESTS/matrix/servers.sh"

if ! srv_nginx; then
    hc_fail "nginx listens on ${PORT[nginx]}"
    hc_finish
fi
URL=http://$HOST:${PORT[nginx]}/

hc_section "plain: http_client, 4 requests 1.5 s apart, keepalive_timeout 1s"
hc_run_plain http_plain "$HC_GO/http_client" "$URL" 4 1500
hc_assert_rc 0 "http_client"
hc_assert_count "$OUT" ": 200, 17 bytes" 4 "http_client stdout"
hc_assert_contains "$OUT" "ok" "http_client stdout"

hc_require_launcher
hc_section "halfclose (auto-detected): same client, same server"
hc_run_hc http_hc "$HC_GO/http_client" "$URL" 4 1500
hc_assert_rc 0 "halfclose http_client"
hc_assert_count "$OUT" ": 200, 17 bytes" 4 "http_client stdout"
hc_check "the same lines as without halfclose" cmp -s "$T/http_plain.out" "$T/http_hc.out"
for k in managed probes stale reconnects; do
    hc_assert_stat_present "$STATS" "$k"
done

hc_finish
