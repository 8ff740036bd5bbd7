#!/usr/bin/env bash
# A running daemon's heals, live, through node_exporter: a client under the
# library with HALFCLOSE_STATS_DIR (reqresp against a socat echo server that
# closes connections idle for 1 s: one heal per round) while
# prometheus-node-exporter (the Debian package) runs with
# --collector.textfile.directory; `halfclose stats --prometheus`, written as
# a timer would (a temporary file renamed), shows up in /metrics with the
# client's pid and comm, and a later write shows the count grown.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

hc_require_shim
hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_pick_port NE
mkdir -m 0700 "$T/pages" "$T/textfile"
hc_start srv_node_exporter prometheus-node-exporter --web.listen-address="$HOST:$NE" \
    --collector.disable-defaults --collector.textfile --collector.textfile.directory="$T/textfile"
hc_wait_port "$P"
hc_wait_port "$NE" 10

env LD_PRELOAD="$HC_PRELOAD" HALFCLOSE_STATS_DIR="$T/pages" "$HC_CLIENTS/reqresp" "$HOST" "$P" 5 1500 \
    </dev/null >"$T/client.out" 2>"$T/client.err" &
CLIENT=$!

# reconnects_in_page: the client's reconnects as its page shows them.
reconnects_in_page() {
    "$HC_LAUNCHER" stats --json "$T/pages" 2>/dev/null | "$PY" -c 'import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["pid"] == int(sys.argv[1]):
        print(p["counters"]["reconnects"])' "$CLIENT"
}
# publish: what a timer does: the textfile written aside, then renamed in.
publish() {
    "$HC_LAUNCHER" stats --prometheus "$T/pages" >"$T/textfile/halfclose.prom.tmp" &&
        mv "$T/textfile/halfclose.prom.tmp" "$T/textfile/halfclose.prom"
}
# scraped: the client's halfclose_reconnects_total as node_exporter serves it.
scraped() {
    curl -s "http://$HOST:$NE/metrics" >"$T/metrics" &&
        sed -n "s/^halfclose_reconnects_total{comm=\"reqresp\",pid=\"$CLIENT\",via=\"preload\"} \([0-9]*\)$/\1/p" \
            "$T/metrics"
}

page_has_reconnect() { local n; n=$(reconnects_in_page) && [ "${n:-0}" -ge 1 ]; }

hc_section "the client heals; its page says so"
hc_check "reconnects >= 1 in the page of pid $CLIENT" hc_wait_for 8 page_has_reconnect
first=$(reconnects_in_page)

hc_section "node_exporter serves it"
publish
hc_check "written" [ -s "$T/textfile/halfclose.prom" ]
hc_show_file "$T/textfile/halfclose.prom" textfile
seen=$(scraped)
hc_check "/metrics has halfclose_reconnects_total{comm=\"reqresp\",pid=\"$CLIENT\",via=\"preload\"} ${seen:-?} (>= $first)" \
    [ -n "$seen" ] && [ "$seen" -ge "$first" ]
hc_assert_contains "$T/metrics" "# TYPE halfclose_reconnects_total counter"
hc_assert_contains "$T/metrics" 'node_textfile_scrape_error 0'
hc_assert_contains "$T/metrics" "halfclose_processes 1"

hc_section "a later write: the count has grown"
sleep 3.2 # two more rounds, each a heal
publish
later=$(scraped)
hc_check "/metrics now says ${later:-?} (> ${seen:-?})" [ -n "$later" ] && [ -n "$seen" ] && [ "$later" -gt "$seen" ]
grep '^halfclose_' "$T/metrics" | sed 's/^/    metrics| /' | head -n 20

wait "$CLIENT"
RC=$?
hc_assert_rc 0 "reqresp (5 rounds, 1.5 s apart)"
hc_finish
