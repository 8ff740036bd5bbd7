#!/usr/bin/env bash
# A many-threaded request/response client (thread_client.c) against a socat
# echo server that closes connections idle for 1 s: 12 threads on their own
# connection, 12 sharing a pool of 4 (a mutex per connection, held for the
# whole request/response), 150 requests each, every one unique (thread id +
# sequence number) and checked against its reply.  Between requests 0-50 ms,
# and after every 30th request 1.3-1.8 s, clearly past the server's timeout
# (the pooled threads wait for each other first, so the whole pool goes
# quiet): 4 long gaps per thread, each leaving connections the server closed.
#   plain: every request made after a long gap is written into a closed
#          connection and its read returns EOF (the thread redials and goes
#          on): lost = long_idle_uses (12 x 4 own + up to 4 x 4 pooled),
#          nothing else lost, no reply for another request.
#   shim:  3 600 requests, 3 600 replies, each the request's own; one heal
#          per long-idle use and none elsewhere (reconnects = stale =
#          long_idle_uses), reconnect_failures=0, 16 connections managed.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

OWN=12 POOLED=12 POOL_CONNS=4 ROUNDS=150 LONG_EVERY=30
SHORT_MAX_MS=50 LONG_MIN_MS=1300 LONG_MAX_MS=1800
LONG_GAPS=$(((ROUNDS - 1) / LONG_EVERY))
REQUESTS=$(((OWN + POOLED) * ROUNDS))
# A request this long after its connection's last one could race the
# server's FIN (1 s); no short gap may come near it.
SHORT_IDLE_LIMIT_MS=800

hc_pick_port P
# backlog=64: 16 connects at once overflow socat's default backlog (5), and a
# dropped SYN costs 1 s, the server's idle timeout.
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork,backlog=64" EXEC:cat
hc_wait_port "$P"

# summary_get KEY: KEY's value in the client's summary line (in $OUT).
summary_get() {
    awk -v k="$1" '/^summary / { for (i = 2; i <= NF; i++) { n = index($i, "=");
                       if (substr($i, 1, n - 1) == k) v = substr($i, n + 1) } }
                   END { if (v == "") exit 1; print v }' "$OUT"
}

# assert_summary KEY OP VALUE   (OP: -eq -ge -lt ...): like hc_assert_stat,
# for the client's summary line.
assert_summary() {
    local v
    if ! v=$(summary_get "$1"); then
        hc_fail "summary $1 $2 $3 (no summary line with key $1)"
    elif test "$v" "$2" "$3" 2>/dev/null; then
        hc_pass "summary $1=$v ($2 $3)"
    else
        hc_fail "summary $1 $2 $3 (got $1=$v)"
    fi
}

run_client() { # hc_run_plain|hc_run_shim NAME
    "$1" "$2" "$HC_CLIENTS/thread_client" "$HOST" "$P" "$OWN" "$POOLED" "$POOL_CONNS" "$ROUNDS" \
        "$LONG_EVERY" "$SHORT_MAX_MS" "$LONG_MIN_MS" "$LONG_MAX_MS"
}

hc_section "plain: thread_client, $OWN own + $POOLED pooled threads on $POOL_CONNS connections," \
    "$ROUNDS requests each, gaps 0-$SHORT_MAX_MS ms and every $LONG_EVERY ${LONG_MIN_MS}-$LONG_MAX_MS ms," \
    "server idle timeout 1 s"
run_client hc_run_plain threads_plain
hc_assert_rc 1 thread_client
LONG_IDLE=$(summary_get long_idle_uses) || LONG_IDLE=-1
assert_summary requests -eq "$REQUESTS"
assert_summary long_idle_uses -ge $((OWN * LONG_GAPS + LONG_GAPS))
assert_summary max_short_idle_ms -lt "$SHORT_IDLE_LIMIT_MS"
assert_summary mismatched -eq 0
assert_summary lost -eq "$LONG_IDLE"
assert_summary eof -eq "$LONG_IDLE"
hc_assert_contains "$ERR" "ms idle: read: EOF" "thread_client stderr"
hc_check "every failure on stderr is a read that returned EOF after a long gap" \
    [ "$(grep -c . "$ERR")" -eq "$(grep -cE " after (1[3-9][0-9]{2}|[2-9][0-9]{3}) ms idle: read: EOF\$" "$ERR")" ]

hc_require_shim
hc_section "shim: same client under LD_PRELOAD"
run_client hc_run_shim threads_shim
hc_assert_rc 0 thread_client
hc_check "thread_client printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
hc_check "thread_client printed nothing on stderr" [ ! -s "$ERR" ]
LONG_IDLE=$(summary_get long_idle_uses) || LONG_IDLE=-1
assert_summary matched -eq "$REQUESTS"
assert_summary mismatched -eq 0
assert_summary lost -eq 0
assert_summary max_short_idle_ms -lt "$SHORT_IDLE_LIMIT_MS"
# Each own thread's long gaps leave its connection closed; each of the pool's
# leaves at least the first pooled connection used after it closed.
assert_summary long_idle_uses -ge $((OWN * LONG_GAPS + LONG_GAPS))
hc_assert_stat "$STATS" managed -eq $((OWN + POOL_CONNS))
hc_assert_stat "$STATS" stale -eq "$LONG_IDLE"
hc_assert_stat "$STATS" reconnects -eq "$LONG_IDLE"
hc_assert_stat "$STATS" reconnect_failures -eq 0

hc_finish
