#!/usr/bin/env bash
# redis with an ACL user (`AUTH alice PASS`, redis-cli --user/--pass) and
# `--timeout 1`: redis-cli logs in as that user, selects db 2 (-n 2) and
# repeats one command every 3.5 s on its one connection.
#   plain: the second command goes into the closed connection: "Error: Server
#          closed the connection", exit 1.
#   shim:  each repeat heals into the same user and db: `GET k` reads db 2's
#          value every time, `ACL WHOAMI` answers alice every time (a heal
#          that forgot the two-argument AUTH would answer NOAUTH, one that
#          logged in as the default user "default"); reconnects and
#          session_rebuilds >= 1 per heal; no password in the log.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
cli=(redis-cli -h "$HOST" -p "$P" --user "$S_USER" --pass "$S_USER_PW" --no-auth-warning)

hc_section "plain: redis-cli --user alice --pass PW -n 2 -r 2 -i 3.5 GET k"
hc_run_plain acl_plain "${cli[@]}" -n 2 -r 2 -i 3.5 GET k
hc_assert_rc 1 "redis-cli"
hc_check "the first GET read db 2's value as alice" [ "$(cat "$OUT")" = db2-value ]
hc_assert_contains "$ERR" "Error: Server closed the connection" "redis-cli stderr"

hc_require_shim
hc_section "shim: redis-cli --user alice --pass PW -n 2 -r 3 -i 3.5 GET k"
hc_run_shim acl_get HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/acl_get.log" \
    "${cli[@]}" -n 2 -r 3 -i 3.5 GET k
hc_show_file "$T/acl_get.log" log
hc_assert_rc 0 "redis-cli"
hc_check "stdout is db2-value three times, nothing else" \
    [ "$(tr '\n' ' ' <"$OUT")" = "db2-value db2-value db2-value " ]
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" session_rebuilds -ge 2
hc_assert_stat "$STATS" session_failures -eq 0
s_assert_no_secret "$T/acl_get.log" "$STATS" "$ERR"

hc_section "shim: redis-cli --user alice --pass PW -r 2 -i 3.5 ACL WHOAMI"
hc_run_shim acl_whoami HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/acl_whoami.log" \
    "${cli[@]}" -r 2 -i 3.5 ACL WHOAMI
hc_show_file "$T/acl_whoami.log" log
hc_assert_rc 0 "redis-cli"
hc_check "stdout is alice twice, nothing else" [ "$(tr '\n' ' ' <"$OUT")" = "alice alice " ]
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" session_rebuilds -ge 1
s_assert_no_secret "$T/acl_whoami.log" "$STATS" "$ERR"
s_assert_no_null "$T/acl_get.log" "$T/acl_whoami.log"

hc_finish
