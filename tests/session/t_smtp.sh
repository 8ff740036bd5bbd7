#!/usr/bin/env bash
# SMTP: the server speaks first (220), so the connection is never swapped; a
# new connection's greeting read as the reply to MAIL FROM would be a 220
# where a 250 belongs (issue 13).  aiosmtpd (python3-aiosmtpd, smtp_server.py)
# closes a connection idle for 2 s (its own timeout: FIN, nothing said);
# smtplib (clients/smtp_client.py): EHLO, 3.5 s idle, MAIL FROM.
#   plain: MAIL FROM fails: "SMTPServerDisconnected: Connection unexpectedly
#          closed", exit 1.
#   shim:  the same stdout, stderr and exit status; the server saw one
#          connection and no MAIL FROM on any; no 220 was read as a reply;
#          stats stateful_skipped >= 1, reconnects=0.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_smtp "$PY" "$HC_TESTS/session/smtp_server.py" "$HOST" "$P" 2
hc_wait_port "$P" 10

# run MODE NAME: the client; SEEN: what the server logged meanwhile.
run() {
    local mode=$1 name=$2 from
    local -a vars=()
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    from=$(($(wc -l <"$T/srv_smtp.out") + 1))
    "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$PY" "$S_CLIENTS/smtp_client.py" "$HOST" "$P" 3500
    sleep 0.2 # the server logs the close
    tail -n +"$from" "$T/srv_smtp.out" >"$T/$name.seen"
    hc_show_file "$T/$name.seen" server
}

hc_section "plain: smtplib EHLO, 3.5 s idle, MAIL FROM (server timeout 2 s)"
run plain smtp_plain
hc_assert_rc 1 smtp_client
hc_assert_contains "$OUT" "greeting+ehlo: 250" "smtp_client stdout"
hc_assert_contains "$ERR" "smtp_client: mail: SMTPServerDisconnected: Connection unexpectedly closed" \
    "smtp_client stderr"
hc_assert_count "$T/smtp_plain.seen" ": connected from" 1 "the server's log"

hc_require_shim
hc_section "shim: the same"
run shim smtp_shim
hc_show_file "$T/smtp_shim.log" log
hc_assert_rc 1 smtp_client
s_assert_same "$T/smtp_plain.out" "$T/smtp_shim.out" "smtp_client stdout"
s_assert_same "$T/smtp_plain.err" "$T/smtp_shim.err" "smtp_client stderr"
hc_assert_lacks "$OUT" "mail: 220" "smtp_client stdout (no greeting read as a reply)"
hc_assert_count "$T/smtp_shim.seen" ": connected from" 1 "the server's log"
hc_assert_lacks "$T/smtp_shim.seen" "MAIL FROM" "the server's log"
hc_assert_stat "$STATS" stateful_skipped -ge 1
hc_assert_stat "$STATS" reconnects -eq 0
s_assert_no_null "$T/smtp_shim.log"

hc_finish
