#!/usr/bin/env bash
# 10 000 swaps in one process, and nothing grows.  Server: oneshot_server.py
# answers one line per connection ("ok:LINE") and closes it at once.  Client:
# swap_leak.c, 10 001 requests on one fd; after each reply it waits for the
# server's FIN with poll(POLLRDHUP) without reading it, so every request
# after the first is written to a connection the server has closed (never
# one whose FIN is still in flight).  It measures its fds (/proc/self/fd),
# heap (mallinfo2 uordblks + hblkhd; under a preloaded sanitizer runtime, which
# replaces malloc, the runtime's allocated-bytes count) and VmRSS after 1 000
# and 10 000 swaps.
#   plain: request 2 is written into the closed connection; its read returns
#          EOF; the server never receives it.
#   shim (HALFCLOSE_MIN_IDLE_MS=0: requests follow each other within
#          microseconds): every request answered, each over a new connection
#          at the same fd (reconnects >= 10 000, reconnect_failures=0); from
#          swap 1 000 to swap 10 000 the fd count is unchanged, the heap grows
#          by less than 64 KiB and VmRSS by less than 1 MiB.
# Why those bounds: glibc's smallest malloc chunk is 32 bytes, so one leaked
# allocation per swap adds at least 9 000 x 32 = 288 000 bytes between the
# checkpoints, and one leaked page per swap 35 MiB of RSS; the slack is for
# one-off growth (a buffer, a page of stack), measured as 0 here.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SERVER=$HC_TESTS/integration/oneshot_server.py
SWAPS=10000 CHECKPOINT=1000
HEAP_LIMIT=65536 RSS_LIMIT_KB=1024

hc_pick_port P
LOG=$T/srv_oneshot.log
hc_start srv_oneshot "$PY" "$SERVER" "$P" "$LOG"
hc_wait_port "$P"

# checkpoint_get SWAPS KEY: KEY's value in the client's "checkpoint swaps=SWAPS" line (in $OUT).
checkpoint_get() {
    awk -v s="swaps=$1" -v k="$2" '$1 == "checkpoint" && $2 == s { for (i = 3; i <= NF; i++) {
                       n = index($i, "="); if (substr($i, 1, n - 1) == k) v = substr($i, n + 1) } }
                   END { if (v == "") exit 1; print v }' "$OUT"
}

# assert_growth KEY LIMIT: KEY grew by less than LIMIT from the first checkpoint to the last.
assert_growth() {
    local a b
    if ! a=$(checkpoint_get "$CHECKPOINT" "$1") || ! b=$(checkpoint_get "$SWAPS" "$1"); then
        hc_fail "$1 grew by less than $2 from swap $CHECKPOINT to swap $SWAPS (no checkpoint lines)"
    elif [ $((b - a)) -lt "$2" ]; then
        hc_pass "$1 grew by less than $2 from swap $CHECKPOINT to swap $SWAPS ($a -> $b)"
    else
        hc_fail "$1 grew by less than $2 from swap $CHECKPOINT to swap $SWAPS (got $a -> $b)"
    fi
}

hc_section "plain: swap_leak, requests on one fd, server closing after every answer"
hc_run_plain swap_plain "$HC_CLIENTS/swap_leak" "$HOST" "$P" "$SWAPS" "$CHECKPOINT"
hc_assert_rc 1 swap_leak
hc_assert_contains "$OUT" "request 1: ok" "swap_leak stdout"
hc_assert_contains "$ERR" "swap_leak: request 2: read: EOF" "swap_leak stderr"
sleep 0.2 # let the server log
hc_assert_lacks "$LOG" "recv req 2" "server log (request 2 was lost)"
hc_assert_count "$LOG" " accepted" 1 "server log (one connection)"

hc_require_shim
hc_section "shim, HALFCLOSE_MIN_IDLE_MS=0: the same client, $SWAPS swaps"
hc_run_shim swap_shim HALFCLOSE_MIN_IDLE_MS=0 "$HC_CLIENTS/swap_leak" "$HOST" "$P" "$SWAPS" "$CHECKPOINT"
hc_assert_rc 0 swap_leak
hc_check "swap_leak printed 'ok' as its last line" [ "$(tail -n1 "$OUT")" = ok ]
hc_check "swap_leak printed nothing on stderr" [ ! -s "$ERR" ]
hc_assert_contains "$OUT" "summary requests=$((SWAPS + 1)) new_connections=$SWAPS" "swap_leak stdout"
FDS_A=$(checkpoint_get "$CHECKPOINT" fds) FDS_B=$(checkpoint_get "$SWAPS" fds)
hc_check "fds unchanged from swap $CHECKPOINT to swap $SWAPS (${FDS_A:-?} -> ${FDS_B:-?})" \
    [ "${FDS_A:-none}" = "${FDS_B:-missing}" ]
assert_growth heap_bytes "$HEAP_LIMIT"
assert_growth rss_kb "$RSS_LIMIT_KB"
sleep 0.2 # let the server log
hc_check "the server answered requests 1 to $((SWAPS + 1)) ($((SWAPS + 1)) distinct replies)" \
    [ "$(grep -o ' replied ok:req [0-9]*$' "$LOG" | sort -u | wc -l)" -eq $((SWAPS + 1)) ]
hc_assert_count "$LOG" " replied ok:req " $((SWAPS + 2)) "server log (the plain run's request 1, then each request once)"
hc_assert_count "$LOG" " accepted" $((SWAPS + 2)) "server log (the plain run's connection, then one per request)"
hc_assert_stat "$STATS" managed -eq 1
hc_assert_stat "$STATS" reconnects -ge "$SWAPS"
hc_assert_stat "$STATS" reconnect_failures -eq 0

hc_finish
