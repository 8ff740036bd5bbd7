#!/usr/bin/env bash
# Where log lines and the stats line go (issue 15 item 9). reqresp.c heals
# twice against a socat echo server that closes idle connections after 2 s.
#   HALFCLOSE_LOG_FILE=/dev/stderr, HALFCLOSE_STATS=/proc/self/fd/2: both are
#      symlinks, which the O_NOFOLLOW open refuses; they name fds, and the
#      lines go there (they went nowhere, silently).
#   HALFCLOSE_LOG_FILE=/dev/fd/1: the log lines on stdout.
#   paths in a directory that does not exist: one warning line each at start,
#      naming the variable; the log lines then go to stderr.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"
heal_line='stale (peer FIN) after'

hc_require_shim
hc_section "log to /dev/stderr, stats to /proc/self/fd/2"
hc_run_shim to_stderr HALFCLOSE_LOG=info HALFCLOSE_LOG_FILE=/dev/stderr HALFCLOSE_STATS=/proc/self/fd/2 \
    "$HC_CLIENTS/reqresp" "$HOST" "$P" 3 3000
hc_assert_rc 0 reqresp
hc_assert_count "$ERR" "$heal_line" 2 "stderr (the heal lines)"
hc_assert_count "$ERR" "halfclose pid=" 1 "stderr (the stats line)"
hc_assert_stat "$ERR" reconnects -eq 2

hc_section "log to /dev/fd/1"
hc_run_shim to_stdout HALFCLOSE_LOG=info HALFCLOSE_LOG_FILE=/dev/fd/1 "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 3000
hc_assert_rc 0 reqresp
hc_assert_count "$OUT" "$heal_line" 1 "stdout"
hc_assert_lacks "$ERR" "$heal_line" "stderr"

hc_section "paths in a directory that does not exist"
hc_run_shim missing HALFCLOSE_LOG=info HALFCLOSE_LOG_FILE="$T/no/such/log" HALFCLOSE_STATS="$T/no/such/stats" \
    "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 3000
hc_assert_rc 0 reqresp
hc_assert_count "$ERR" 'HALFCLOSE_LOG_FILE="' 1 "stderr (one warning for the log)"
hc_assert_count "$ERR" 'HALFCLOSE_STATS="' 1 "stderr (one warning for the stats)"
hc_assert_contains "$ERR" "cannot be opened" "stderr"
hc_assert_count "$ERR" "$heal_line" 1 "stderr (the log went there instead)"
hc_check "the client's own output is as it would be" [ "$(tail -n1 "$OUT")" = ok ]

hc_finish
