#!/usr/bin/env bash
# A bad HALFCLOSE_* setting never breaks the host program: the shim prints one
# line on stderr naming the variable and the value, then passes everything
# through.  Cases: a bad number (HALFCLOSE_MIN_IDLE_MS=abc), an unknown name
# (HALFCLOSE_BOGUS=1, a typo) and a bad address (HALFCLOSE_TARGETS=300.1.2.3).
# Client: reqresp (2 rounds, 50 ms apart) against a healthy socat echo server
# (no idle timeout).  Then, to show the pass-through: with the bad number
# against an idle-closing server the client fails exactly as without the shim.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat_echo socat "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: reqresp against a healthy echo server"
hc_run_plain ok_plain "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 50
hc_assert_rc 0 reqresp
hc_check "reqresp printed nothing on stderr" [ ! -s "$ERR" ]

hc_require_shim

hc_section "shim with a valid setting (control): HALFCLOSE_MIN_IDLE_MS=250"
hc_run_shim good "HALFCLOSE_MIN_IDLE_MS=250" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 50
hc_assert_rc 0 reqresp
hc_check "stderr is empty" [ ! -s "$ERR" ]

# shellcheck disable=SC2317 # called through hc_check
line_has_both() { # FILE A B: some line of FILE contains both A and B
    grep -F -- "$2" "$1" | grep -qF -- "$3"
}

bad_case() { # NAME VAR VALUE
    local name=$1 var=$2 val=$3 lines mention
    hc_section "shim with $var=$val"
    hc_run_shim "$name" "$var=$val" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 50
    hc_assert_rc 0 "reqresp (unaffected)"
    hc_check "reqresp printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
    lines=$(wc -l <"$ERR")
    hc_check "stderr has exactly one line (got $lines)" [ "$lines" -eq 1 ]
    mention=$(grep -cF -- "$var" "$ERR")
    hc_check "exactly one stderr line names $var (got $mention)" [ "$mention" -eq 1 ]
    hc_check "that line also shows the value '$val'" line_has_both "$ERR" "$var" "$val"
    if [ -s "$STATS" ]; then
        hc_assert_stat "$STATS" reconnects -eq 0
    fi
}
bad_case bad_number HALFCLOSE_MIN_IDLE_MS abc
bad_case bad_name HALFCLOSE_BOGUS 1
bad_case bad_target HALFCLOSE_TARGETS 300.1.2.3

hc_section "pass-through: HALFCLOSE_MIN_IDLE_MS=abc against an idle-closing server"
hc_pick_port P2
hc_start srv_socat_idle socat -T 2 "TCP-LISTEN:$P2,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P2"
hc_run_shim passthrough "HALFCLOSE_MIN_IDLE_MS=abc" "$HC_CLIENTS/reqresp" "$HOST" "$P2" 2 3000
hc_assert_rc 1 "reqresp (no healing: the shim stays out of the way)"
hc_assert_contains "$ERR" "round 2: read: EOF" "reqresp stderr"
if [ -s "$STATS" ]; then
    hc_assert_stat "$STATS" reconnects -eq 0
fi

hc_finish
