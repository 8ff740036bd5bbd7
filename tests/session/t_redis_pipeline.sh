#!/usr/bin/env bash
# Session commands inside a pipeline: a raw RESP client (clients/resp_steps.py)
# sends `AUTH PASS` + `SELECT 2` + `GET k` in ONE write, then `SELECT 99`
# (out of range: an error, the connection stays in db 2) + `GET k` in one
# write, idles 3.5 s (redis `--timeout 1` closes the connection), then
# `GET k`.  k is "db0-value" in db 0, "db2-value" in db 2.
#   plain: the last GET finds the connection closed: "connection lost", exit 1.
#   shim:  the library read the pipelined replies (+OK +OK, then an error for
#          SELECT 99) and recorded AUTH and SELECT 2 only: the heal rebuilds
#          db 2 and the last GET reads "db2-value" (not db 0's value, not
#          NOAUTH, not the error of a replayed SELECT 99); reconnects >= 1,
#          session_rebuilds >= 1.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
s_start_redis "$P" 1
steps=("send:AUTH $S_PW;SELECT 2;GET k" "send:SELECT 99;GET k" "sleep:3500" "send:GET k")

hc_section "plain: [AUTH + SELECT 2 + GET k] [SELECT 99 + GET k]; 3.5 s idle; GET k"
hc_run_plain pipe_plain "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps[@]}"
hc_assert_rc 1 resp_steps
hc_check "the pipelined replies: +OK +OK db2-value, then an error and db2-value" \
    [ "$(grep '^< ' "$OUT" | cut -c1-6 | tr '\n' ' ')" = '< +OK < +OK < "db2 < -ERR < "db2 ' ]
hc_assert_contains "$ERR" "resp_steps: step 4 (GET k): connection lost" "resp_steps stderr"

hc_require_shim
hc_section "shim: the same"
hc_run_shim pipe_shim HALFCLOSE_LOG=info "HALFCLOSE_LOG_FILE=$T/pipe_shim.log" \
    "$PY" "$S_CLIENTS/resp_steps.py" "$HOST" "$P" "${steps[@]}"
hc_show_file "$T/pipe_shim.log" log
hc_assert_rc 0 resp_steps
# shellcheck disable=SC2016 # a sed script: the reply after the last "> GET k"
last=$(sed -n '/^> GET k$/h; /^> GET k$/!H; ${x;p}' "$OUT" | sed -n 2p)
hc_check "the GET after the heal read db 2's value (got: ${last:-nothing})" [ "$last" = '< "db2-value"' ]
hc_assert_count "$OUT" '< "db2-value"' 3 "resp_steps stdout"
hc_assert_lacks "$OUT" db0-value "resp_steps stdout"
hc_assert_lacks "$OUT" NOAUTH "resp_steps stdout"
hc_assert_stat "$STATS" reconnects -ge 1
hc_assert_stat "$STATS" session_rebuilds -ge 1
hc_assert_stat "$STATS" session_failures -eq 0
s_assert_no_secret "$T/pipe_shim.log" "$STATS" "$ERR"

hc_finish
