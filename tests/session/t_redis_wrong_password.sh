#!/usr/bin/env bash
# A wrong password is never healed into an authenticated session.  redis
# (`--timeout 1`, requirepass) holds k = "db0-value", which only an
# authenticated connection may read.
#   redis-cli -a WRONG -r N -i 3.5 GET k: AUTH fails (WRONGPASS), every GET
#       answers NOAUTH; plain: the GET after the gap finds the connection
#       closed ("Error: Server closed the connection", exit 1).
#   resp_steps (raw RESP): `AUTH alice WRONG`, `GET k`, 3.5 s idle, `GET k`
#       and `AUTH alice WRONG` + `GET k` in one write, 3.5 s idle, `GET k`.
#   shim: the program never receives the value: after the gap it gets
#       exactly what its connection gave it before (NOAUTH: the failed AUTH
#       was not recorded, so a heal has nothing to rebuild), or the failure
#       path (connection lost, nothing sent); never WRONGPASS of a replayed
#       AUTH as the reply to a GET; no password in the log (debug level).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
cli=(redis-cli -h "$HOST" -p "$P" -a "$S_WRONG_PW" --no-auth-warning)
steps_a=("send:AUTH $S_USER $S_WRONG_PW" "send:GET k" "sleep:3500" "send:GET k")
steps_b=("send:AUTH $S_USER $S_WRONG_PW;GET k" "sleep:3500" "send:GET k")

# after_gap_ok: every line of $OUT after the gap (from line $1 on) is a
# NOAUTH reply, or there are none and the run failed with "connection lost".
# shellcheck disable=SC2317 # called by hc_check
after_gap_ok() {
    local from=$1 pattern=$2 n_lines n_noauth
    n_lines=$(tail -n +"$from" "$OUT" | grep -cv '^$')
    n_noauth=$(tail -n +"$from" "$OUT" | grep -c "$pattern")
    if [ "$RC" -eq 0 ]; then
        [ "$n_lines" -eq "$n_noauth" ] && [ "$n_noauth" -ge 1 ]
    else
        [ "$n_lines" -eq "$n_noauth" ] && grep -q 'connection lost\|Server closed the connection\|Broken pipe\|Connection reset' "$ERR"
    fi
}

hc_section "plain: redis-cli -a WRONG -r 2 -i 3.5 GET k"
hc_run_plain cli_plain "${cli[@]}" -r 2 -i 3.5 GET k
hc_assert_rc 1 "redis-cli"
hc_assert_contains "$ERR" "AUTH failed: WRONGPASS" "redis-cli stderr"
hc_assert_count "$OUT" "NOAUTH Authentication required." 1 "redis-cli stdout"
hc_assert_contains "$ERR" "Error: Server closed the connection" "redis-cli stderr"

hc_section "plain: resp_steps AUTH alice WRONG; GET k; 3.5 s idle; GET k"
hc_run_plain steps_a_plain "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps_a[@]}"
hc_assert_rc 1 resp_steps
hc_assert_contains "$OUT" "< -WRONGPASS" "resp_steps stdout"
hc_assert_contains "$OUT" "< -NOAUTH" "resp_steps stdout"
hc_assert_contains "$ERR" "step 4 (GET k): connection lost" "resp_steps stderr"

hc_require_shim
hc_section "shim: redis-cli -a WRONG -r 2 -i 3.5 GET k"
hc_run_shim cli_shim HALFCLOSE_LOG=debug "HALFCLOSE_LOG_FILE=$T/cli_shim.log" \
    "${cli[@]}" -r 2 -i 3.5 GET k
hc_show_file "$T/cli_shim.log" log
hc_assert_lacks "$OUT" db0-value "redis-cli stdout"
hc_assert_lacks "$OUT" WRONGPASS "redis-cli stdout (no replayed AUTH's error as a GET's reply)"
hc_check "after the first GET: only NOAUTH, or the connection failed" \
    after_gap_ok 3 "NOAUTH Authentication required."
s_assert_no_secret "$T/cli_shim.log" "$STATS"

hc_section "shim: resp_steps AUTH alice WRONG; GET k; 3.5 s idle; GET k"
hc_run_shim steps_a_shim HALFCLOSE_LOG=debug "HALFCLOSE_LOG_FILE=$T/steps_a_shim.log" \
    "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps_a[@]}"
hc_show_file "$T/steps_a_shim.log" log
hc_assert_lacks "$OUT" db0-value "resp_steps stdout"
hc_assert_count "$OUT" "< -WRONGPASS" 1 "resp_steps stdout"
hc_check "after the gap: NOAUTH, or the connection failed" \
    after_gap_ok "$(($(grep -n -m1 '^< -NOAUTH' "$OUT" | cut -d: -f1) + 1))" '^< -NOAUTH\|^> GET k\|^ok$'
s_assert_no_secret "$T/steps_a_shim.log" "$STATS"

hc_section "shim: resp_steps [AUTH alice WRONG + GET k]; 3.5 s idle; GET k"
hc_run_shim steps_b_shim HALFCLOSE_LOG=debug "HALFCLOSE_LOG_FILE=$T/steps_b_shim.log" \
    "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps_b[@]}"
hc_show_file "$T/steps_b_shim.log" log
hc_assert_lacks "$OUT" db0-value "resp_steps stdout"
hc_assert_count "$OUT" "< -WRONGPASS" 1 "resp_steps stdout"
hc_check "after the gap: NOAUTH, or the connection failed" \
    after_gap_ok "$(($(grep -n -m1 '^< -NOAUTH' "$OUT" | cut -d: -f1) + 1))" '^< -NOAUTH\|^> GET k\|^ok$'
s_assert_no_secret "$T/steps_b_shim.log" "$STATS"
s_assert_no_null "$T/cli_shim.log" "$T/steps_a_shim.log" "$T/steps_b_shim.log"

hc_finish
