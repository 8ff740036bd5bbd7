#!/usr/bin/env bash
# Live counters under the supervisor: with HALFCLOSE_STATS_DIR the supervisor
# keeps a page for the Go program it supervises (tests/go/redis_ping.go
# against `redis-server --timeout 1`, 4 PINGs 2.5 s apart: redis closes an idle
# client 1 to 2.1 s after its last command, by whole seconds of its clock and a
# 10 Hz cron, so a 2 s gap raced its close), under the
# program's pid, written by the supervisor; `halfclose stats` shows its heals
# while it runs, the stats line at exit agrees, and the page goes at exit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start_redis "$P" 1
hc_require_launcher
PAGES=$T/pages
mkdir -m 0700 "$PAGES"

# live_json: `halfclose stats --json` of the one live page in $PAGES, or fail.
live_json() {
    "$HC_LAUNCHER" stats --json "$PAGES" >"$T/live.json" 2>/dev/null &&
        "$PY" -c 'import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if len(doc["processes"]) == 1 and doc["processes"][0]["counters"]["reconnects"] >= 1 else 1)' \
            "$T/live.json"
}

hc_section "halfclose redis_ping (supervised), HALFCLOSE_STATS_DIR=$PAGES"
env HALFCLOSE_STATS_DIR="$PAGES" HALFCLOSE_STATS="$T/hc.stats" \
    "$HC_LAUNCHER" "$HC_GO/redis_ping" "$HOST" "$P" 4 2500 3000 </dev/null >"$T/hc.out" 2>"$T/hc.err" &
LAUNCHER=$!
hc_check "a live page shows a reconnect while the program runs" hc_wait_for 9 live_json
hc_show_file "$T/live.json" json
read -r pid via comm < <("$PY" -c 'import json, sys
p = json.load(open(sys.argv[1]))["processes"][0]
print(p["pid"], p["via"], p["comm"])' "$T/live.json")
hc_check "the page is the program's (pid $pid, comm $comm), not the launcher's ($LAUNCHER)" \
    [ "$pid" != "$LAUNCHER" ] && [ "$comm" = redis_ping ] && [ -e "/proc/$pid" ]
hc_check "it says the supervisor writes it (via=$via)" [ "$via" = supervisor ]
wait "$LAUNCHER"
RC=$?
STATS=$T/hc.stats
hc_show_file "$T/hc.out" stdout
hc_show_file "$T/hc.err" stderr
hc_assert_rc 0 "halfclose redis_ping"
hc_assert_stat "$STATS" reconnects -ge 3
hc_check "the stats line is the same pid's" [ "$(hc_stats_get "$STATS" pid)" = "$pid" ]
hc_check "the page is gone after the exit" [ -z "$(ls -A "$PAGES")" ]

hc_finish
