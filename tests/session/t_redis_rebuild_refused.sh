#!/usr/bin/env bash
# A rebuild the server refuses takes the failure path: the password of the
# ACL user alice is changed (from another connection) while the client's
# connection sits idle, so the recorded `AUTH alice OLD` fails on the new
# connection.  A raw RESP client (clients/resp_steps.py): AUTH alice OLD,
# SELECT 2, GET k; then, from another connection, ACL SETUSER alice
# resetpass >NEW; 3.5 s idle (redis `--timeout 1`); GET k.
#   plain: the last GET finds the connection closed: "connection lost", exit 1.
#   shim:  the heal is refused: the new connection is closed, the write fails
#          with nothing sent (EPIPE: the same class, connection lost), exit 1;
#          the program never gets a reply on an unauthenticated connection
#          (no NOAUTH, no WRONGPASS, no value) after the gap; stats
#          session_failures >= 1, session_rebuilds=0; the log says so and
#          names neither password.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
new_pw=rotated-Pass-4c8e
S_SECRETS+=("$new_pw")

# run MODE NAME: the client; the user's password is set back to
# $S_USER_PW first (each run rotates it).
run() {
    local mode=$1 name=$2
    local -a vars=()
    [ "$mode" = shim ] && vars=(HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/$name.log")
    s_redis "$P" ACL SETUSER "$S_USER" resetpass ">$S_USER_PW" >/dev/null
    "hc_run_$mode" "$name" ${vars[@]+"${vars[@]}"} "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" \
        "send:AUTH $S_USER $S_USER_PW" "send:SELECT 2" "send:GET k" \
        "other:AUTH $S_PW;ACL SETUSER $S_USER resetpass >$new_pw" "sleep:3500" "send:GET k"
}

hc_section "plain: AUTH alice, SELECT 2, GET k; alice's password changes; 3.5 s idle; GET k"
run plain rot_plain
hc_assert_rc 1 resp_steps
hc_assert_count "$OUT" '< "db2-value"' 1 "resp_steps stdout"
hc_assert_contains "$OUT" "other< +OK" "resp_steps stdout (the password was changed)"
hc_assert_contains "$ERR" "resp_steps: step 6 (GET k): connection lost" "resp_steps stderr"

hc_require_shim
hc_section "shim: the same"
run shim rot_shim
hc_show_file "$T/rot_shim.log" log
hc_assert_rc 1 resp_steps
s_assert_class_same "$T/rot_plain.err" "$T/rot_shim.err" "resp_steps' failure"
s_assert_same "$T/rot_plain.out" "$T/rot_shim.out" "resp_steps stdout (nothing after the gap)"
hc_assert_stat "$STATS" session_failures -ge 1
hc_assert_stat "$STATS" session_rebuilds -eq 0
s_assert_no_secret "$T/rot_shim.log" "$STATS"
s_assert_no_null "$T/rot_shim.log"

hc_finish
