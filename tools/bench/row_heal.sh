#!/usr/bin/env bash
# row_heal.sh - the healing cost: the latency of a request on a connection the server closed while
# idle (stale), under the shim (probe + reconnect + the request on the new connection), against the
# same request on a fresh connection without the shim (socket + connect + the request).  Server:
# tools/bench/echo_server with a 1 s idle close.  Target: healed <= 1.5x fresh, i.e. one connect +
# 1 RTT plus at most 50 % for what a fresh connection does not do (the probe poll, the option replay,
# dup3 onto the fd, the close of the dead socket).  Also: every stale request healed (HALFCLOSE_STATS
# reconnects), and without the shim the same requests fail (shown as info).  Timed: skipped by
# make bench-counts (row_pingpong.sh counts the system calls of a heal).
. "$(dirname "$0")/lib.sh"
timed_rows || exit 0

ROUNDS=3 PER=20 IDLE_MS=1000 SLEEP_MS=1500
[ "${HC_QUICK:-0}" = 1 ] && ROUNDS=1
HL=$HC_BENCH/heal_latency ES=$HC_BENCH/echo_server
for b in "$HL" "$ES"; do [ -x "$b" ] || die "missing $b"; done
[ -f "$HC_LIB" ] || die "missing $HC_LIB"

pick_port PORT
start_server SRV echo_idle "$ES" "$PORT" $IDLE_MS
wait_port "$PORT" 5 "$SRV" || die "echo_server did not start"
log "echo_server on 127.0.0.1:$PORT, idle close after $IDLE_MS ms (pid $SRV)"

FRESH='' HEALED='' LIVE='' fails=0 total=0
STATS=$T/heal.stats
for ((i = 1; i <= ROUNDS; i++)); do
    log "round $i/$ROUNDS: $PER fresh (plain), $PER stale (shim, ${SLEEP_MS} ms idle), $PER live (plain)"
    out=$("${HC_ENV_CLEAN[@]}" "$HL" fresh "$PORT" $PER) || die "heal_latency fresh failed"
    grep -q FAIL <<<"$out" && die "fresh request failed: $(grep FAIL <<<"$out" | head -1)"
    FRESH+=" $(tr '\n' ' ' <<<"$out")"
    out=$("${HC_ENV_CLEAN[@]}" HALFCLOSE_STATS="$STATS" LD_PRELOAD="$HC_LIB" "$HL" stale "$PORT" $PER $SLEEP_MS) ||
        die "heal_latency stale (shim) failed"
    total=$((total + PER))
    fails=$((fails + $(grep -c FAIL <<<"$out")))
    HEALED+=" $(grep -v FAIL <<<"$out" | tr '\n' ' ')"
    out=$("${HC_ENV_CLEAN[@]}" "$HL" live "$PORT" $PER) || die "heal_latency live failed"
    LIVE+=" $(tr '\n' ' ' <<<"$out")"
done
# shellcheck disable=SC2086 # word splitting wanted
{
    f=$(median $FRESH) h=$(median $HEALED) l=$(median $LIVE)
    [ -n "${HEALED// /}" ] || h=nan
    r=$(ratio "$f" "$h")
    extra=$(awk -v f="$f" -v h="$h" 'BEGIN { printf "%+.0f", h - f }')
    row "stale connection -> response, 64 B" "latency us median (spread)" \
        "fresh conn: $f ($(spread $FRESH))" "healed: $h ($(spread $HEALED))" "${r}x (${extra} us)" \
        "<= 1.5x fresh (1 connect + 1 RTT + probe/dup3/close)" "$(le "$r" 1.5)"
    hc=$(awk -v h="$h" -v l="$l" 'BEGIN { printf "%.0f", h - l }')
    cc=$(awk -v f="$f" -v l="$l" 'BEGIN { printf "%.0f", f - l }')
    row "stale connection -> response, 64 B" "heal cost vs a live request (us)" \
        "live request: $l ($(spread $LIVE))" "healed - live: $hc" "connect (fresh - live): $cc" \
        "heal cost ~ one connect" info
}

m=0 s=0 rc=0 rf=0
while read -r line; do
    m=$((m + $(sed -n 's/.* managed=\([0-9]*\).*/\1/p' <<<"$line")))
    s=$((s + $(sed -n 's/.* stale=\([0-9]*\).*/\1/p' <<<"$line")))
    rc=$((rc + $(sed -n 's/.* reconnects=\([0-9]*\).*/\1/p' <<<"$line")))
    rf=$((rf + $(sed -n 's/.* reconnect_failures=\([0-9]*\).*/\1/p' <<<"$line")))
done < <(grep '^halfclose ' "$STATS" 2>/dev/null)
log "shim stats (summed over $ROUNDS runs): managed=$m stale=$s reconnects=$rc reconnect_failures=$rf"

# The same stale requests without the shim, once: they fail (that is what the shim is for).
log "plain stale run: $PER connections, ${SLEEP_MS} ms idle"
out=$("${HC_ENV_CLEAN[@]}" "$HL" stale "$PORT" $PER $SLEEP_MS) || die "heal_latency stale (plain) failed"
pf=$(grep -c FAIL <<<"$out")
why=$(grep FAIL <<<"$out" | sed 's/^FAIL //' | sort | uniq -c | awk '{ c = $1; $1 = ""; printf "%s%s x%d", (NR > 1 ? "," : ""), $0, c }')
ok=$([ "$rc" -eq "$total" ] && [ "$s" -eq "$total" ] && [ "$fails" -eq 0 ] && [ "$rf" -eq 0 ] && echo met || echo MISSED)
row "stale connection -> response, 64 B" "requests that succeed (HALFCLOSE_STATS)" \
    "$((PER - pf))/$PER ok (failed:${why:- none})" "$((total - fails))/$total ok" \
    "stale=$s reconnects=$rc reconnect_failures=$rf" "every stale request healed" "$ok"
stop_server "$SRV"
