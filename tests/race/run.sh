#!/usr/bin/env bash
# tests/race/run.sh — the FIN-in-flight race, made to happen on every request,
# and the shim's replay that closes it (make race; part of make check).
#
#   tests/race/run.sh            as root (or with unprivileged user namespaces)
#
# A probe before a write cannot see a FIN that is still on the wire.  Here the
# FIN always is: in a private network namespace (unshare -n; the iptables rule
# dies with it), every segment with FIN (or RST, which must stay behind the
# FIN) set that the test server sends is queued (iptables NFQUEUE) to
# fin_delay, which holds it FIN_DELAY_MS.  The
# server (idle_server.py) ends a connection IDLE_MS after its last request;
# each client (race_client) sleeps GAP_MS, IDLE_MS < GAP_MS < IDLE_MS +
# FIN_DELAY_MS, before every request, so each request is written after the
# server's close and before its FIN arrives.  Five runs, each of N clients x
# M requests (CLIENTS x CYCLES; the epoll runs EPOLL_CLIENTS x EPOLL_CYCLES):
#   close, plain       the server close()d: the request is answered with RST
#                      (never read by the server), behind the FIN: the
#                      client's read gets EOF and the cycle is lost: at least
#                      90 % of them, nearly all with read:EOF and, looked at
#                      again a FIN delay later, state CLOSE, SIOCOUTQ = the
#                      request (this is what proves the harness creates the race)
#   close, plain,      the same from an event loop (race_client --epoll: the
#     epoll            socket non-blocking, registered edge-triggered,
#                      EPOLLIN|EPOLLRDHUP|EPOLLET, its data checked on every
#                      event): at least 90 % lost to the reset; no read ever
#                      returns EAGAIN right after a wake, and no cycle times
#                      out (5 s without an event)
#   close, shim        the shim sees the reset before any reply byte, proves
#                      the bytes were never delivered, reconnects and resends:
#                      no cycle lost, the server got every request exactly
#                      once, and the stats count the replays (>= 90 %)
#   close, shim,       the same from the event loop: the read woken by the
#     epoll            reset returns EAGAIN while the replay is in flight
#                      (counted: the path must be taken at least once), and
#                      the fd, the same number now naming the new socket with
#                      its epoll registration re-added, is reported readable
#                      when the reply comes: no cycle lost, none timed out
#                      (what a registration left behind on the old socket
#                      would give), every request received exactly once,
#                      replays >= 90 %
#   halfclose, shim    the server shut its write side only and read the
#                      request (the ACK reached the client): it was delivered,
#                      so the shim must not resend it: replays=0 in every
#                      stats line, every request in the server log exactly
#                      once, and the client sees the EOF (lost, correctly)
# Prints "ok:"/"FAILED:" per check, then "N passed, M failed"; exit 0 only if
# every check passed.
#
# Environment (defaults in brackets): HC_BUILD [<repo>/build];
# HC_RACE_CLIENTS [20], HC_RACE_CYCLES [50], HC_RACE_EPOLL_CLIENTS [10],
# HC_RACE_EPOLL_CYCLES [30], HC_RACE_IDLE_MS [60],
# HC_RACE_FIN_DELAY_MS [200], HC_RACE_GAP_MS [150], HC_RACE_MIN_IDLE_MS [75]
# (the shim's HALFCLOSE_MIN_IDLE_MS, below GAP_MS); HC_RACE_SHIM_ENV [HALFCLOSE_REPLAY=all]: more
# VAR=VAL words for the shim runs, e.g. "HALFCLOSE_REPLAY_MAX=0" (replay off:
# the close/shim runs must then fail); HC_PLAIN_ONLY=1: the plain runs only.

# Into a private network namespace first: lo there is ours alone, and the
# iptables rules vanish with it however the test ends.
# shellcheck source-path=SCRIPTDIR source=../netns.sh
. "$(dirname "$0")/../netns.sh"
hc_enter_netns race "$0" "$@"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$HERE/../lib.sh"
# shellcheck disable=SC2034 # lib.sh's verdict line names the test
HC_TEST_NAME=race

BLOCKING_CLIENTS=${HC_RACE_CLIENTS:-20}
BLOCKING_CYCLES=${HC_RACE_CYCLES:-50}
EPOLL_CLIENTS=${HC_RACE_EPOLL_CLIENTS:-10}
EPOLL_CYCLES=${HC_RACE_EPOLL_CYCLES:-30}
IDLE_MS=${HC_RACE_IDLE_MS:-60}
FIN_DELAY_MS=${HC_RACE_FIN_DELAY_MS:-200}
GAP_MS=${HC_RACE_GAP_MS:-150}
MIN_IDLE_MS=${HC_RACE_MIN_IDLE_MS:-75}
# The line protocol of these runs is one the library does not know, so its
# requests are never known to be safe: HALFCLOSE_REPLAY=all, to test the
# kernel's proof itself (the default, safe, is tested by the unit suite "safe").
read -r -a SHIM_ENV <<<"${HC_RACE_SHIM_ENV-HALFCLOSE_REPLAY=all}"
RACE_BIN=$HC_BUILD/race
QUEUE=7

# client_mode blocking|epoll: the size of the next runs (CLIENTS, CYCLES,
# TOTAL, NINETY = 90 % of TOTAL rounded up) and race_client's options (CLIENT_OPTS).
client_mode() {
    if [ "$1" = epoll ]; then
        CLIENTS=$EPOLL_CLIENTS CYCLES=$EPOLL_CYCLES CLIENT_OPTS=(--epoll)
    else
        CLIENTS=$BLOCKING_CLIENTS CYCLES=$BLOCKING_CYCLES CLIENT_OPTS=()
    fi
    TOTAL=$((CLIENTS * CYCLES))
    NINETY=$(((TOTAL * 9 + 9) / 10))
}
client_mode blocking

# "N passed, M failed" at the end needs the failures counted, not just flagged.
RACE_NFAIL=0
eval "$(declare -f hc_fail | sed '1s/^hc_fail/hc_fail_lib/')"
hc_fail() { RACE_NFAIL=$((RACE_NFAIL + 1)); hc_fail_lib "$@"; }

race_finish() {
    hc_log ""
    hc_log "race: $((HC_CHECKS - RACE_NFAIL)) passed, $RACE_NFAIL failed"
    hc_finish
}

# --- the FIN delay -------------------------------------------------------------

IPT=
RULES=()
for cand in iptables iptables-legacy iptables-nft; do
    if command -v "$cand" >/dev/null && "$cand" -w -L OUTPUT -n >/dev/null 2>&1; then
        IPT=$cand
        break
    fi
done

# Explicitly, although the namespace takes them along: a rule left behind
# would hold FINs for ever if the namespace outlived us.
# shellcheck disable=SC2317 # called by the trap
race_cleanup() {
    local rc=$? r
    for r in "${RULES[@]}"; do
        # shellcheck disable=SC2086 # a rule is a word list
        "$IPT" -w -D OUTPUT $r 2>/dev/null
    done
    (exit "$rc")
    hc_cleanup
}
trap race_cleanup EXIT

# delay_fins PORT: queue every FIN the server on PORT sends to fin_delay, and
# every RST: a reset the server sends after its FIN (in answer to a request
# that came after its close) travels behind that FIN on a real path, never
# ahead of it, and fin_delay lets them go in the order they came. (Held FINs
# alone would let the RST overtake the FIN: a reordering that makes a
# closed server look like one that aborted while established.)
delay_fins() {
    local r flags
    for flags in "FIN FIN" "RST RST"; do
        r="-o lo -p tcp --sport $1 --tcp-flags $flags -j NFQUEUE --queue-num $QUEUE"
        # shellcheck disable=SC2086
        if ! "$IPT" -w -A OUTPUT $r; then
            hc_fail "iptables accepts the NFQUEUE rule for port $1 ($flags)"
            race_finish
        fi
        RULES+=("$r")
    done
}

# --- one run --------------------------------------------------------------------

# run_clients PHASE MODE plain|shim: a fresh idle_server.py in MODE on a new
# port, its FINs delayed, then CLIENTS race_clients (with CLIENT_OPTS) at once
# (c01, c02, ...), each CYCLES requests; waits for them all.  Leaves, per client i,
# $T/PHASE.cI.out/.err/.rc (and .stats for shim), the server's request log
# $T/reqlog_PHASE.log, and prints a summary of the run.
run_clients() {
    local phase=$1 mode=$2 kind=$3 srv_port i name t0 t1 pid srv_from diag=0
    local -a pids=() envv
    hc_pick_port srv_port # (not "port": hc_pick_port has a local of that name)
    delay_fins "$srv_port"
    srv_from=${#HC_PGIDS[@]}
    hc_start "srv_$phase" "$PY" "$HERE/idle_server.py" "$srv_port" "$T/reqlog_$phase.log" "$mode" "$IDLE_MS"
    hc_wait_port "$srv_port"
    # Without the shim, a lost cycle's socket is looked at again a FIN delay
    # later: the reset that follows the FIN has come by then.
    [ "$kind" = plain ] && [ "$mode" = close ] && diag=$FIN_DELAY_MS
    hc_log "+ [$kind] $CLIENTS x race_client ${CLIENT_OPTS[*]}${CLIENT_OPTS[*]:+ }$HOST $srv_port cNN $CYCLES" \
        "$GAP_MS $diag (server: $mode after $IDLE_MS ms)"
    t0=$(date +%s%N)
    for ((i = 1; i <= CLIENTS; i++)); do
        printf -v name 'c%02d' "$i"
        envv=(env)
        if [ "$kind" = shim ]; then
            : >"$T/$phase.$name.stats"
            envv+=("LD_PRELOAD=$HC_PRELOAD" "HALFCLOSE_STATS=$T/$phase.$name.stats"
                "HALFCLOSE_MIN_IDLE_MS=$MIN_IDLE_MS" "${SHIM_ENV[@]}")
        fi
        # timeout leads its own process group: hc_cleanup can stop it and the client
        timeout -k 2 "$((CYCLES * (GAP_MS + IDLE_MS + FIN_DELAY_MS) / 1000 + 30))" \
            "${envv[@]}" "$RACE_BIN/race_client" "${CLIENT_OPTS[@]}" "$HOST" "$srv_port" "$name" "$CYCLES" "$GAP_MS" "$diag" \
            </dev/null >"$T/$phase.$name.out" 2>"$T/$phase.$name.err" &
        pids+=("$!")
        HC_PGIDS+=("$!")
    done
    for ((i = 1; i <= CLIENTS; i++)); do
        pid=${pids[i - 1]}
        printf -v name 'c%02d' "$i"
        wait "$pid"
        echo "$?" >"$T/$phase.$name.rc"
    done
    t1=$(date +%s%N)
    # Every request reached the server's kernel before its client exited; the
    # server has logged them all once it has seen every connection end.
    hc_wait_for 3 all_conns_ended "$T/reqlog_$phase.log" ||
        hc_log "    (the server still had open connections after 3 s)"
    hc_stop_servers "$srv_from"
    hc_log "    took $(((t1 - t0) / 1000000)) ms; $(phase_summary "$phase")"
    if [ "${CLIENT_OPTS[0]:-}" = --epoll ]; then
        hc_log "    event loop: $(line_total "$phase" wakes) wakes, $(line_total "$phase" eagain_after_wake)" \
            "reads EAGAIN right after a wake, $(count_out "$phase" '^LOST .* timeout:') timeouts"
    fi
    hc_log "    lost cycles by reason: $(cat "$T"/"$phase".c*.out | awk '/^LOST /{print $4}' | sort | uniq -c |
        awk '{printf "%s%s=%s", s, $2, $1; s=" "} END{if (!NR) printf "none"}')"
    grep -h '^LOST ' "$T"/"$phase".c*.out | head -n 2 | sed 's/^/    e.g. /'
    grep -h '^OK .* eagain_after_wake=[1-9]' "$T"/"$phase".c*.out | head -n 2 | sed 's/^/    e.g. /'
    if [ "$kind" = shim ]; then
        hc_log "    stats, summed over $(stats_lines "$phase") lines: $(stats_sum "$phase" stale) stale," \
            "$(stats_sum "$phase" reconnects) reconnects, $(stats_sum "$phase" replays) replays," \
            "$(stats_sum "$phase" reconnect_failures) reconnect_failures"
        grep -h '^halfclose' "$T"/"$phase".c01.stats 2>/dev/null | sed 's/^/    e.g. /'
    fi
    grep -h . "$T"/"$phase".c*.err 2>/dev/null | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    stderr: /'
    return 0
}

# all_conns_ended LOG: true if every connection the server accepted has ended
# (closed by its idle timer or by the client).
# shellcheck disable=SC2317 # called through hc_wait_for
all_conns_ended() {
    awk '$4 == "accepted" { a++ } $4 == "idle-close" || $4 == "EOF" || $4 == "recv-error" { e++ }
         END { exit !(a == e) }' "$1"
}

# phase_summary PHASE: "ok=X lost=Y slowest reply Z ms" summed over the clients' summary lines.
phase_summary() {
    cat "$T"/"$1".c*.out | awk '/^summary /{ for (i = 3; i <= NF; i++) { split($i, kv, "=");
        v[kv[1]] += kv[2]; if (kv[1] == "max_ms" && kv[2] > m) m = kv[2] } n++ }
        END { printf "%d summary lines: ok=%d lost=%d, slowest reply %d ms", n, v["ok"], v["lost"], m }'
}

# count_out PHASE REGEX: lines of all clients' stdout matching REGEX.
count_out() { cat "$T"/"$1".c*.out | grep -cE -- "$2"; }

# summary_total PHASE KEY: KEY summed over the clients' summary lines.
summary_total() { hc_kv sum "$2" '^summary ' "$T"/"$1".c*.out || echo 0; }

# line_total PHASE KEY: KEY=N summed over the clients' OK and LOST lines (--epoll's
# per-cycle counts: there even for a client that was stopped before its summary).
line_total() { hc_kv sum "$2" '^(OK|LOST) ' "$T"/"$1".c*.out || echo 0; }

# stats_sum PHASE KEY: KEY summed over the shim's stats lines of PHASE.
stats_sum() { hc_stats sum "$2" "$T"/"$1".c*.stats || echo 0; }

stats_lines() { hc_stats lines "" "$T"/"$1".c*.stats; }

# stats_nonzero PHASE KEY: stats lines of PHASE whose KEY is not 0 (or missing).
stats_nonzero() { hc_stats nonzero "$2" "$T"/"$1".c*.stats; }

# received PHASE: "CLIENT SEQ" for every request line in the server's log, once per time received.
received() { awk '$4 == "recv" && $5 == "REQ" { print $6, $7 }' "$T/reqlog_$1.log"; }

# sent PHASE: "CLIENT SEQ" for every request a client wrote (a failed write sent nothing).
# shellcheck disable=SC2317 # called by name (assert_log_exactly_once)
sent() {
    cat "$T"/"$1".c*.out | awk '/^OK / { print $2, $3 } /^LOST / && $4 ~ /^(read|timeout):/ { print $2, $3 }'
}

# every PHASE: "CLIENT SEQ" for every cycle of the run.
# shellcheck disable=SC2317 # called by name (assert_log_exactly_once)
every() {
    local i s
    for ((i = 1; i <= CLIENTS; i++)); do
        for ((s = 1; s <= CYCLES; s++)); do printf 'c%02d %d\n' "$i" "$s"; done
    done
}

# assert_clients_ran PHASE: every client exited 0 and printed its summary.
assert_clients_ran() {
    local bad
    bad=$(grep -Lx 0 "$T"/"$1".c*.rc | wc -l)
    hc_check "all $CLIENTS clients ran their $CYCLES cycles and exited 0 ($bad did not)" [ "$bad" -eq 0 ]
    hc_check "no client got an answer to another request (BAD lines: $(count_out "$1" '^BAD '))" \
        [ "$(count_out "$1" '^BAD ')" -eq 0 ]
}

# assert_race_lost PHASE: at least 90 % of the cycles lost, and as many to the
# race's mark: the FIN, then the RST that answered the request, which is still
# unacknowledged: the very state the replay takes for "never delivered".
assert_race_lost() {
    local lost raced
    lost=$(summary_total "$1" lost)
    hc_check "at least 90 % of the cycles lost ($lost of $TOTAL, need $NINETY)" [ "$lost" -ge "$NINETY" ]
    raced=$(count_out "$1" '^LOST .* read:EOF .*later: state=CLOSE outq=[1-9]')
    hc_check "at least 90 % lost to the FIN and the RST behind it: read EOF, then state CLOSE, SIOCOUTQ > 0 ($raced)" \
        [ "$raced" -ge "$NINETY" ]
}

# assert_replayed PHASE: no cycle lost, each request received once, one stats
# line per client, replays >= 90 % of the cycles (the race happened and the
# replay cured it), no reconnect failure.  Sets replays.
assert_replayed() {
    local lost ok
    lost=$(summary_total "$1" lost) ok=$(summary_total "$1" ok)
    hc_check "no cycle lost ($lost lost, $ok ok)" test "$lost" -eq 0 -a "$ok" -eq "$TOTAL"
    assert_log_exactly_once "$1" every
    hc_check "one stats line per client ($(stats_lines "$1"))" [ "$(stats_lines "$1")" -eq "$CLIENTS" ]
    replays=$(stats_sum "$1" replays)
    hc_check "replays >= 90 % of the cycles: the race happened and the replay cured it ($replays, need $NINETY)" \
        [ "$replays" -ge "$NINETY" ]
    hc_check "reconnect_failures = 0 ($(stats_sum "$1" reconnect_failures))" \
        [ "$(stats_sum "$1" reconnect_failures)" -eq 0 ]
}

# assert_log_exactly_once PHASE WHICH: the server received each request of
# WHICH (every|sent) exactly once: none twice, none missing.
assert_log_exactly_once() {
    local phase=$1 which=$2 dups missing extra
    dups=$(received "$phase" | sort | uniq -d | wc -l)
    missing=$(comm -23 <("$which" "$phase" | sort -u) <(received "$phase" | sort -u) | wc -l)
    extra=$(comm -13 <("$which" "$phase" | sort -u) <(received "$phase" | sort -u) | wc -l)
    hc_check "server log: no request received twice ($dups duplicated)" [ "$dups" -eq 0 ]
    hc_check "server log: every request ($("$which" "$phase" | sort -u | wc -l), '$which') received ($missing missing)" \
        [ "$missing" -eq 0 ]
    hc_check "server log: nothing received that was not sent ($extra)" [ "$extra" -eq 0 ]
    if [ "$dups" -gt 0 ]; then
        received "$phase" | sort | uniq -d | head -n 3 | while read -r c s; do
            grep -E " REQ $c $s( |$)" "$T/reqlog_$phase.log" | sed 's/^/    duplicate: /'
        done
    fi
    if [ "$missing" -gt 0 ]; then
        comm -23 <("$which" "$phase" | sort -u) <(received "$phase" | sort -u) | head -n 3 | sed 's/^/    missing: /'
    fi
}

# --- setup ------------------------------------------------------------------------

hc_section "setup: FINs from the server held ${FIN_DELAY_MS} ms; server idle ${IDLE_MS} ms; client gap ${GAP_MS} ms"
hc_check "gap between the server's idle timer and its FIN's arrival ($IDLE_MS < $GAP_MS < $IDLE_MS + $FIN_DELAY_MS)" \
    test "$IDLE_MS" -lt "$GAP_MS" -a "$GAP_MS" -lt "$((IDLE_MS + FIN_DELAY_MS))"
for b in fin_delay race_client; do
    [ -x "$RACE_BIN/$b" ] || { hc_fail "$RACE_BIN/$b is built (make race)"; race_finish; }
done
[ -n "$IPT" ] || { hc_fail "an iptables that works here (iptables, iptables-legacy, iptables-nft)"; race_finish; }
hc_log "    $IPT, queue $QUEUE, $CLIENTS clients x $CYCLES cycles = $TOTAL requests per run"
FIN_DELAY_PGID_AT=${#HC_PGIDS[@]}
hc_start fin_delay "$RACE_BIN/fin_delay" "$QUEUE" "$FIN_DELAY_MS" "$T/fin_delay.ready"
hc_wait_for 5 [ -e "$T/fin_delay.ready" ] || { hc_fail "fin_delay bound queue $QUEUE"; hc_show_file "$T/fin_delay.err" fin_delay; race_finish; }

# --- full close, no shim: the race happens --------------------------------------------

hc_section "close, plain: every request written while the server's FIN is held"
run_clients close_plain close plain
assert_clients_ran close_plain
assert_race_lost close_plain
hc_check "the server never read a request it answered with RST ($(received close_plain | wc -l) read, $(summary_total close_plain ok) answered)" \
    [ "$(received close_plain | wc -l)" -eq "$(summary_total close_plain ok)" ]

# --- full close, no shim, event loop: the same race -----------------------------------

client_mode epoll
hc_section "close, plain, epoll: the same race from an edge-triggered event loop (non-blocking socket)"
run_clients close_plain_epoll close plain
assert_clients_ran close_plain_epoll
assert_race_lost close_plain_epoll
timeouts=$(count_out close_plain_epoll '^LOST .* timeout:')
hc_check "no cycle timed out waiting for an event ($timeouts)" [ "$timeouts" -eq 0 ]
eagain=$(line_total close_plain_epoll eagain_after_wake)
hc_check "without the shim no read returns EAGAIN right after a wake (the reset is reported) ($eagain)" \
    [ "$eagain" -eq 0 ]
client_mode blocking

hc_require_shim_race() {
    if [ "${HC_PLAIN_ONLY:-0}" = 1 ]; then
        hc_log "(HC_PLAIN_ONLY=1: shim runs skipped)"
        race_finish
    fi
    [ -f "$HC_LIB" ] || { hc_fail "library exists at $HC_LIB"; race_finish; }
}
hc_require_shim_race

# --- full close, shim: every raced request replayed --------------------------------------

hc_section "close, shim: the reset request resent on a new connection${SHIM_ENV[*]:+ (${SHIM_ENV[*]})}"
run_clients close_shim close shim
assert_clients_ran close_shim
assert_replayed close_shim

# --- full close, shim, event loop: EAGAIN while the replay is in flight, then the reply as an event ---

client_mode epoll
hc_section "close, shim, epoll: the replay under an edge-triggered event loop${SHIM_ENV[*]:+ (${SHIM_ENV[*]})}"
run_clients close_shim_epoll close shim
assert_clients_ran close_shim_epoll
assert_replayed close_shim_epoll
timeouts=$(count_out close_shim_epoll '^LOST .* timeout:')
hc_check "no cycle timed out waiting for an event: the new socket's registration is in place ($timeouts)" \
    [ "$timeouts" -eq 0 ]
eagain=$(line_total close_shim_epoll eagain_after_wake)
hc_check "reads that returned EAGAIN right after a wake, no more than the replays ($eagain, $replays replays)" \
    [ "$eagain" -le "$replays" ]
answered=$(count_out close_shim_epoll '^OK .* eagain_after_wake=[1-9]')
hc_check "cycles whose wake read EAGAIN at once and whose reply came as a later event: at least one ($answered)" \
    [ "$answered" -gt 0 ]
client_mode blocking

# --- half close, shim: delivered requests are never resent -------------------------------

hc_section "halfclose, shim: the request was delivered (ACKed, read by the server): no replay"
run_clients halfclose_shim halfclose shim
assert_clients_ran halfclose_shim
hc_check "one stats line per client ($(stats_lines halfclose_shim))" [ "$(stats_lines halfclose_shim)" -eq "$CLIENTS" ]
hc_check "replays=0 in every stats line ($(stats_nonzero halfclose_shim replays) lines other)" \
    [ "$(stats_nonzero halfclose_shim replays)" -eq 0 ]
assert_log_exactly_once halfclose_shim sent
lost=$(count_out halfclose_shim '^LOST .* read:EOF ')
hc_check "at least 90 % raced: read EOF after the server read the request ($lost, need $NINETY)" \
    [ "$lost" -ge "$NINETY" ]

# --- fin_delay's account ---------------------------------------------------------------------

hc_section "fin_delay"
kill -TERM -- "-${HC_PGIDS[FIN_DELAY_PGID_AT]}" 2>/dev/null
hc_wait_for 3 grep -q '^fin_delay: held' "$T/fin_delay.out"
hc_show_file "$T/fin_delay.out" fin_delay
hc_show_file "$T/fin_delay.err" fin_delay
hc_check "fin_delay lost no packet (no verdict lost)" grep -q 'lost 0 verdicts' "$T/fin_delay.out"

race_finish
