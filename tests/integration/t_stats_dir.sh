#!/usr/bin/env bash
# Live counters (HALFCLOSE_STATS_DIR): a running client's heals are visible in
# its page, read by `halfclose stats` without touching the process; the stats
# line at exit stays; the page goes at exit, a killed process's page is shown
# as gone and --prune removes it; a forked child counts in its own page; a
# program exec'd without using the library leaves a page nobody maps, shown as
# gone; a directory others can write is refused with one warning, and the
# client heals all the same.  Server: socat echo closing connections idle 1 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"
hc_require_shim

PAGES=$T/pages
mkdir -m 0700 "$PAGES"

# page_get DIR PID KEY: KEY of process PID as `halfclose stats --json` shows
# it ("comm", "via", "alive" or a counter); fails if PID has no live page.
page_get() {
    "$HC_LAUNCHER" stats --json "$1" 2>/dev/null | "$PY" -c '
import json, sys
doc = json.load(sys.stdin)
for p in doc["processes"]:
    if p["pid"] == int(sys.argv[1]):
        v = p.get(sys.argv[2], p["counters"].get(sys.argv[2]))
        print(str(v).lower() if isinstance(v, bool) else v)
        sys.exit(0 if v is not None else 1)
sys.exit(1)' "$2" "$3"
}
page_at_least() { local v; v=$(page_get "$1" "$2" "$3") && [ "$v" -ge "$4" ]; }

# bg_shim NAME VAR=VAL... CMD...: the client under the library in the
# background; its pid in BG, its stats line in $T/NAME.stats.
bg_shim() {
    local name=$1
    shift
    env LD_PRELOAD="$HC_PRELOAD" HALFCLOSE_STATS="$T/$name.stats" "$@" \
        </dev/null >"$T/$name.out" 2>"$T/$name.err" &
    BG=$!
}

hc_section "a running client: its heals are in its page while it runs"
bg_shim live HALFCLOSE_STATS_DIR="$PAGES" "$HC_CLIENTS/reqresp" "$HOST" "$P" 4 1500
LIVE=$BG
hc_check "the page of pid $LIVE shows a reconnect while it runs" \
    hc_wait_for 8 page_at_least "$PAGES" "$LIVE" reconnects 1
hc_check "it is alive, comm reqresp, preloaded" \
    [ "$(page_get "$PAGES" "$LIVE" alive)/$(page_get "$PAGES" "$LIVE" comm)/$(page_get "$PAGES" "$LIVE" via)" \
    = true/reqresp/preload ]
hc_check "managed is 1 (one connection)" [ "$(page_get "$PAGES" "$LIVE" managed)" = 1 ]
mode=$(stat -c %a "$PAGES/halfclose.$LIVE")
hc_check "the page is mode 0600 (got $mode)" [ "$mode" = 600 ]
"$HC_LAUNCHER" stats "$PAGES" >"$T/table.out" 2>&1
hc_show_file "$T/table.out" table
hc_check "the table has a row for pid $LIVE and a total" \
    sh -c "grep -q '^$LIVE  *reqresp  *preload' '$T/table.out' && grep -q '^total  *1 process' '$T/table.out'"
"$HC_LAUNCHER" stats --prometheus "$PAGES" >"$T/prom.out" 2>&1
hc_assert_contains "$T/prom.out" "# TYPE halfclose_reconnects_total counter"
hc_check "prometheus: halfclose_reconnects_total of pid $LIVE is >= 1" \
    grep -qE "^halfclose_reconnects_total\{pid=\"$LIVE\",comm=\"reqresp\",via=\"preload\"\} [1-9]" "$T/prom.out"
wait "$LIVE"
RC=$?
hc_assert_rc 0 "reqresp (4 rounds, 1.5 s apart)"
hc_assert_stat "$T/live.stats" reconnects -ge 3
hc_check "after a normal exit the page is gone" [ ! -e "$PAGES/halfclose.$LIVE" ]

hc_section "a killed process: its page is shown as gone, --prune removes it"
bg_shim killed HALFCLOSE_STATS_DIR="$PAGES" "$HC_CLIENTS/reqresp" "$HOST" "$P" 20 200
KILLED=$BG
hc_check "it has a page" hc_wait_for 5 page_get "$PAGES" "$KILLED" managed
kill -KILL "$KILLED"
wait "$KILLED" 2>/dev/null
hc_check "the page file stays" [ -e "$PAGES/halfclose.$KILLED" ]
hc_check "stats shows no live process" [ "$("$HC_LAUNCHER" stats --json "$PAGES" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total"]["processes"])')" = 0 ]
"$HC_LAUNCHER" stats "$PAGES" >"$T/gone.out" 2>&1
hc_assert_contains "$T/gone.out" "1 page of processes that are gone not shown"
"$HC_LAUNCHER" stats --prune "$PAGES" >"$T/prune.out" 2>&1
hc_assert_contains "$T/prune.out" "removed 1 page of processes that are gone"
hc_check "--prune removed it" [ ! -e "$PAGES/halfclose.$KILLED" ]

hc_section "fork: the child counts in its own page, the parent's is untouched by it"
bg_shim fork HALFCLOSE_STATS_DIR="$PAGES" "$HC_CLIENTS/fork_client" "$HOST" "$P" 1600 4000
FORK=$BG
hc_check "the parent's page shows its own reconnect" hc_wait_for 8 page_at_least "$PAGES" "$FORK" reconnects 1
"$HC_LAUNCHER" stats --json "$PAGES" >"$T/fork.json" 2>&1
hc_show_file "$T/fork.json" json
kids=$("$PY" -c 'import json,sys
doc = json.load(open(sys.argv[1]))
print(" ".join(str(p["pid"]) for p in doc["processes"] if p["pid"] != int(sys.argv[2])))' "$T/fork.json" "$FORK")
hc_check "a second page, the child's (pids: $kids)" [ -n "$kids" ] && [ "$(wc -w <<<"$kids")" -eq 1 ]
hc_check "the child has healed nothing yet (reconnects 0)" [ "$(page_get "$PAGES" "$kids" reconnects)" = 0 ]
hc_check "the parent's page has exactly 1 reconnect" [ "$(page_get "$PAGES" "$FORK" reconnects)" = 1 ]
wait "$FORK"
RC=$?
hc_assert_rc 0 fork_client
hc_assert_count "$T/fork.stats" "reconnects=1 reconnect_failures=0" 2 "stats (one line per process)"

hc_section "exec: a program run without the library leaves a page nobody maps, shown as gone"
bg_shim exec HALFCLOSE_STATS_DIR="$PAGES" "$PY" -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
time.sleep(1)
os.execve("/bin/sleep", ["sleep", "2"], {})' "$HOST" "$P"
EXEC=$BG
hc_check "python, which made a TCP connection, has a live page" hc_wait_for 5 page_get "$PAGES" "$EXEC" managed
hc_wait_for 5 grep -q sleep "/proc/$EXEC/comm" 2>/dev/null
hc_check "after its exec to sleep (no LD_PRELOAD) pid $EXEC lives" grep -q sleep "/proc/$EXEC/comm"
hc_check "... and its page is still there" [ -e "$PAGES/halfclose.$EXEC" ]
hc_check "... but it is not shown as live" sh -c "! '$HC_LAUNCHER' stats --json '$PAGES' | grep -q '\"pid\":$EXEC,'"
wait "$EXEC"
rm -f "$PAGES/halfclose.$EXEC"

hc_section "a directory others can write is refused: one warning, the client heals"
mkdir -m 0777 "$T/open"
chmod 0777 "$T/open" # whatever the umask
hc_run_shim refused HALFCLOSE_STATS_DIR="$T/open" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 1500
hc_assert_rc 0 reqresp
hc_assert_healed 1
hc_assert_count "$ERR" "HALFCLOSE_STATS_DIR=\"$T/open\": refused: writable by others" 1 "stderr"
hc_check "no page was created" [ -z "$(ls -A "$T/open")" ]
mkdir -m 1777 "$T/sticky"
chmod 1777 "$T/sticky"
bg_shim sticky HALFCLOSE_STATS_DIR="$T/sticky" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 1500
hc_check "a sticky directory of the user's own is accepted" hc_wait_for 5 page_get "$T/sticky" "$BG" managed
wait "$BG"
mkdir -m 0755 "$T/other"
chown nobody "$T/other"
hc_run_shim other HALFCLOSE_STATS_DIR="$T/other" "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 50
hc_assert_rc 0 reqresp
hc_assert_count "$ERR" "refused: owned by another user" 1 "stderr"

hc_section "the directory systemd makes (RuntimeDirectory=halfclose/myapp, User=nobody) is accepted"
chmod 0711 "$T" # let nobody pass, as /run does
mkdir -p -m 0755 "$T/run/halfclose/myapp"
chown nobody "$T/run/halfclose/myapp"
setpriv --reuid=nobody --regid=nogroup --clear-groups env LD_PRELOAD="$HC_PRELOAD" HALFCLOSE_STATS_DIR="$T/run/halfclose/myapp" \
    "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 1500 </dev/null >"$T/nobody.out" 2>"$T/nobody.err" &
BG=$!
hc_check "nobody's client has a live page there" hc_wait_for 5 page_get "$T/run/halfclose/myapp" "$BG" managed
hc_check "owned by nobody" [ "$(stat -c %U "$T/run/halfclose/myapp/halfclose.$BG" 2>/dev/null)" = nobody ]
wait "$BG"
RC=$?
hc_assert_rc 0 "reqresp as nobody"
hc_check "nothing on its stderr" [ ! -s "$T/nobody.err" ]

hc_finish
