#!/usr/bin/env bash
# tests/chaos/run.sh — many clients against a server that misbehaves at random,
# without the library and then with it; check.py says whether anything broke
# (make chaos; a short run is part of make check).
#
#   tests/chaos/run.sh            as root (or with unprivileged user namespaces)
#
# In a private network namespace (unshare -n: lo is ours alone, the iptables
# rules die with it), two runs of the same workload, with the same seeds: plain
# (no library), then shim (LD_PRELOAD, HALFCLOSE_MIN_IDLE_MS=$MIN_IDLE_MS, log
# at info, stats).  Each run:
#   - a port of its own; iptables drops SYN_DROP of the SYNs to it (statistic
#     random), and delays what the server sends in two ways, with two fin_delay
#     delay lines: INORDER_P of the connections (marked at their SYN-ACK,
#     CONNMARK) have every packet from the server held INORDER_MS, in order: a FIN
#     still travels ahead of the reset that answers a request written after it,
#     so the client reads EOF and then the reset (the FIN-in-flight race as a
#     network makes it); of the other connections, FIN_DELAY_P of the server's FINs
#     alone are held FIN_DELAY_MS: the reset overtakes the FIN and the client's
#     read fails with ECONNRESET first;
#   - restarter.sh keeps chaos_server on it, restarting it (or its listener) every
#     RESTART_MIN_MS..RESTART_MAX_MS; the server draws its misbehaviours from the seed
#     (idle close, half-close, reset, reset or close after executing, replies then
#     closing, delayed replies: see chaos_server.c);
#   - the client processes of $CLIENT_MIX at once, REQUESTS requests split over them
#     by weight: threads (a blocking pool), epoll (non-blocking connections in four
#     registration styles), fork (a pool and children forked while it is busy);
#   - a deadline after which the clients start no new request: 60 s + 10 ms per
#     request for the plain run, 3 x the plain run's time + 20 s for the shim run
#     (reaching it fails the check);
#   - a watchdog: if no client logged anything for STALL_S seconds, the clients left
#     are described (/proc: each thread's wchan and system call) and killed;
#   - what iptables and fin_delay counted.
# Then check.py reads both runs and prints the report and the verdict (its
# docstring lists the invariants).  Exit 0 only if every check passed.
#
# Environment (defaults in brackets): HC_BUILD [<repo>/build];
# HC_CHAOS_REQUESTS [20000] requests per run; HC_CHAOS_PLAIN_REQUESTS [the same];
# HC_CHAOS_SEED [1]; HC_CHAOS_SYN_DROP [0.05]; HC_CHAOS_FIN_DELAY_P [0.3];
# HC_CHAOS_FIN_DELAY_MS [80]; HC_CHAOS_INORDER_P [0.25]; HC_CHAOS_INORDER_MS [40];
# HC_CHAOS_RESTART_MS ["500 2000"]; HC_CHAOS_MIN_IDLE_MS [30];
# HC_CHAOS_STALL_S [60]; HC_CHAOS_SHIM_ENV: more VAR=VAL words for the shim run;
# HC_CHAOS_CLIENT_OPTS: more KEY=VALUE words for every client; HC_CHAOS_SERVER_OPTS:
# KEY=VALUE words for the server; HC_PLAIN_ONLY=1 runs the plain half only (no
# verdict).  The logs of both runs are left in $HC_BUILD/chaos/last/{plain,shim}.

# shellcheck source-path=SCRIPTDIR source=../netns.sh
. "$(dirname "$0")/../netns.sh"
hc_enter_netns chaos "$0" "$@"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$HERE/../integration/lib.sh"
# shellcheck disable=SC2034 # lib.sh's verdict line names the test
HC_TEST_NAME=chaos

REQUESTS=${HC_CHAOS_REQUESTS:-20000}
PLAIN_REQUESTS=${HC_CHAOS_PLAIN_REQUESTS:-$REQUESTS}
SEED=${HC_CHAOS_SEED:-1}
SYN_DROP=${HC_CHAOS_SYN_DROP:-0.05}
FIN_DELAY_P=${HC_CHAOS_FIN_DELAY_P:-0.3}
FIN_DELAY_MS=${HC_CHAOS_FIN_DELAY_MS:-80}
INORDER_P=${HC_CHAOS_INORDER_P:-0.25}
INORDER_MS=${HC_CHAOS_INORDER_MS:-40}
read -r RESTART_MIN_MS RESTART_MAX_MS <<<"${HC_CHAOS_RESTART_MS:-500 2000}"
MIN_IDLE_MS=${HC_CHAOS_MIN_IDLE_MS:-30}
STALL_S=${HC_CHAOS_STALL_S:-60}
read -r -a SHIM_ENV <<<"${HC_CHAOS_SHIM_ENV:-}"
read -r -a CLIENT_OPTS <<<"${HC_CHAOS_CLIENT_OPTS:-}"
read -r -a SERVER_OPTS <<<"${HC_CHAOS_SERVER_OPTS:-}"
CHAOS_BIN=$HC_BUILD/chaos
QUEUE=8         # the FINs alone
INORDER_QUEUE=9 # every packet of the marked connections
# connect_ms below the first SYN retransmission (1 s): a program's connect whose
# SYN is dropped times out, so both runs see connect timeouts (the library's own
# reconnects wait HALFCLOSE_CONNECT_TIMEOUT_MS).
# Long gaps (long_*) around the server's idle timeouts (idle_*_ms): a pooled
# connection is often stale at the next request, or its FIN is still on the way
# (on an in-order connection: a gap up to INORDER_MS below the timeout).
BASE_CLIENT_OPTS=(connect_ms=900 hang_ms=20000 long_pct=10 long_min_ms=60 long_max_ms=260)
BASE_SERVER_OPTS=(idle_min_ms=100 idle_max_ms=250 idle_halfclose=200 idle_abort=200)

# NAME MODE WEIGHT(% of REQUESTS) OPTIONS...
# Weights chosen so that the processes end at about the same time (pooled
# threads wait for their pool's connections).
CLIENT_MIX=(
    "thrA threads 18 threads=16 own=4 conns=6"
    "thrB threads 8 threads=8 own=0 conns=3"
    "epA epoll 45 conns=48"
    "epB epoll 22 conns=24"
    "frk fork 7 threads=6 own=2 conns=2"
)

IPT=
for cand in iptables iptables-legacy iptables-nft; do
    if command -v "$cand" >/dev/null && "$cand" -w -L OUTPUT -n >/dev/null 2>&1; then
        IPT=$cand
        break
    fi
done
RULES=() # "CHAIN RULE..." to delete at the end

# shellcheck disable=SC2317 # called by the trap
chaos_cleanup() {
    local rc=$? r
    for r in "${RULES[@]}"; do
        # shellcheck disable=SC2086 # a rule is a word list
        "$IPT" -w -D $r 2>/dev/null
    done
    (exit "$rc")
    hc_cleanup
}
trap chaos_cleanup EXIT

fail_setup() {
    echo "chaos: $*" >&2
    exit 1
}

add_rule() { # CHAIN RULE...
    # shellcheck disable=SC2068
    "$IPT" -w -A "$@" || fail_setup "iptables refuses: -A $*"
    RULES+=("$*")
}

# rule_packets CHAIN PATTERN: the packet count of the rule in CHAIN whose line matches PATTERN.
rule_packets() {
    "$IPT" -w -L "$1" -v -x -n | awk -v p="$2" '$0 ~ p { print $1; f = 1; exit } END { if (!f) print 0 }'
}

# one_run LABEL REQUESTS plain|shim DEADLINE_S: the whole run, into $T/LABEL; no
# client starts a request after DEADLINE_S.  Sets RUN_MS to how long it took.
one_run() {
    local label=$1 requests=$2 kind=$3 deadline_s=$4 dir=$T/$1 srv_port spec name mode weight n i t0 t1 from
    local -a pids=() names=() envv opts
    mkdir -p "$dir"
    : >"$dir/server.log"
    : >"$dir/clients.log"
    : >"$dir/expected"
    : >"$dir/rc"
    echo "$deadline_s" >"$dir/deadline"
    hc_pick_port srv_port
    from=${#HC_PGIDS[@]}
    add_rule INPUT -i lo -p tcp --dport "$srv_port" --syn -m statistic --mode random --probability "$SYN_DROP" -j DROP
    # The first NFQUEUE rule that matches takes the packet: the marked connections' FINs go in order.
    add_rule OUTPUT -o lo -p tcp --sport "$srv_port" --tcp-flags SYN,ACK SYN,ACK -m statistic --mode random \
        --probability "$INORDER_P" -j CONNMARK --set-mark 1
    add_rule OUTPUT -o lo -p tcp --sport "$srv_port" -m connmark --mark 1 -j NFQUEUE --queue-num "$INORDER_QUEUE"
    add_rule OUTPUT -o lo -p tcp --sport "$srv_port" --tcp-flags FIN FIN -m statistic --mode random \
        --probability "$FIN_DELAY_P" -j NFQUEUE --queue-num "$QUEUE"
    hc_start "fin_delay_$label" "$HC_BUILD/race/fin_delay" "$QUEUE" "$FIN_DELAY_MS" "$dir/fin_delay.ready"
    hc_start "inorder_delay_$label" "$HC_BUILD/race/fin_delay" "$INORDER_QUEUE" "$INORDER_MS" "$dir/inorder.ready"
    hc_wait_for 5 [ -e "$dir/fin_delay.ready" ] || fail_setup "fin_delay did not bind queue $QUEUE"
    hc_wait_for 5 [ -e "$dir/inorder.ready" ] || fail_setup "fin_delay did not bind queue $INORDER_QUEUE"
    hc_start "srv_$label" "$HERE/restarter.sh" "$CHAOS_BIN/chaos_server" "$srv_port" "$dir/server.log" "$SEED" \
        "$RESTART_MIN_MS" "$RESTART_MAX_MS" "${BASE_SERVER_OPTS[@]}" "${SERVER_OPTS[@]}"
    hc_wait_port "$srv_port"

    envv=(env)
    if [ "$kind" = shim ]; then
        : >"$dir/stats"
        envv+=("LD_PRELOAD=$HC_PRELOAD" "HALFCLOSE_STATS=$dir/stats" "HALFCLOSE_MIN_IDLE_MS=$MIN_IDLE_MS"
            "HALFCLOSE_LOG=info" "HALFCLOSE_LOG_FILE=$dir/halfclose.log" "${SHIM_ENV[@]}")
    fi
    hc_section "$label: $requests requests, $kind, server port $srv_port, deadline ${deadline_s}s"
    t0=$(date +%s%N)
    for spec in "${CLIENT_MIX[@]}"; do
        read -r name mode weight rest <<<"$spec"
        read -r -a opts <<<"$rest"
        n=$((requests * weight / 100))
        echo "$name $n" >>"$dir/expected"
        hc_log "    $name: chaos_client $mode ... $n ${opts[*]}"
        # timeout leads its own process group: hc_cleanup can stop it and the client.
        timeout -k 5 $((deadline_s + 120)) "${envv[@]}" "$CHAOS_BIN/chaos_client" "$mode" "$HOST" "$srv_port" \
            "$name" "$dir/clients.log" "$n" "seed=$SEED" "deadline_ms=$((deadline_s * 1000))" \
            "${BASE_CLIENT_OPTS[@]}" "${opts[@]}" \
            "${CLIENT_OPTS[@]}" </dev/null >"$dir/$name.out" 2>"$dir/$name.err" &
        pids+=("$!")
        names+=("$name")
        HC_PGIDS+=("$!")
    done
    watchdog "$dir" "${pids[@]}"
    for i in "${!pids[@]}"; do
        wait "${pids[i]}"
        echo "${names[i]} $?" >>"$dir/rc"
    done
    t1=$(date +%s%N)
    RUN_MS=$(((t1 - t0) / 1000000))
    echo "syn_dropped=$(rule_packets INPUT "dpt:$srv_port")" \
        "fin_delayed=$(rule_packets OUTPUT "spt:$srv_port flags:0x01/0x01")" \
        "inorder_conns=$(rule_packets OUTPUT "spt:$srv_port flags:0x12/0x12")" \
        "inorder_packets=$(rule_packets OUTPUT "spt:$srv_port connmark")" >"$dir/net"
    hc_stop_servers "$from"
    hc_log "    took $(((t1 - t0) / 1000000)) ms; $(cat "$dir/net")"
    hc_show_file "$T/fin_delay_$label.out" fin_delay
    hc_show_file "$T/inorder_delay_$label.out" "in order"
    grep -h . "$dir"/*.err 2>/dev/null | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    stderr: /'
    for r in "${RULES[@]}"; do
        # shellcheck disable=SC2086
        "$IPT" -w -D $r 2>/dev/null
    done
    RULES=()
}

# watchdog DIR PID...: returns when every PID has ended; if the clients' log
# does not grow for STALL_S seconds meanwhile, describes the clients still
# running into DIR/hang.txt and kills them (their exit status then says so).
watchdog() {
    local dir=$1 size last_size=-1 still=0 p t
    shift
    while :; do
        local alive=()
        for p in "$@"; do
            kill -0 "$p" 2>/dev/null && alive+=("$p")
        done
        ((${#alive[@]})) || return 0
        size=$(stat -c %s "$dir/clients.log")
        if [ "$size" = "$last_size" ]; then
            still=$((still + 1))
        else
            still=0 last_size=$size
        fi
        if ((still >= STALL_S)); then
            hc_log "    watchdog: no client logged anything for ${STALL_S}s; killing what is left"
            for p in "${alive[@]}"; do
                for c in $(pgrep -P "$p") $(pgrep -g "$p"); do
                    echo "process $c: $(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)"
                    for t in /proc/"$c"/task/*; do
                        echo "  thread ${t##*/}: wchan=$(cat "$t/wchan" 2>/dev/null) syscall=$(cat "$t/syscall" 2>/dev/null)"
                    done
                done
            done | sort -u >>"$dir/hang.txt"
            sed 's/^/    /' "$dir/hang.txt"
            for p in "${alive[@]}"; do
                kill -KILL -- "-$p" 2>/dev/null
            done
        fi
        sleep 1
    done
}

# --- setup ---------------------------------------------------------------------------

hc_section "setup"
for b in "$CHAOS_BIN/chaos_server" "$CHAOS_BIN/chaos_client" "$HC_BUILD/race/fin_delay"; do
    [ -x "$b" ] || fail_setup "$b is not built (make chaos)"
done
[ -n "$IPT" ] || fail_setup "no iptables that works here (iptables, iptables-legacy, iptables-nft)"
hc_log "    seed $SEED; SYNs dropped: $SYN_DROP; connections delayed in order: $INORDER_P for $INORDER_MS ms;" \
    "FINs alone delayed: $FIN_DELAY_P for $FIN_DELAY_MS ms;" \
    "server restarts every $RESTART_MIN_MS-$RESTART_MAX_MS ms; HALFCLOSE_MIN_IDLE_MS=$MIN_IDLE_MS"

# keep_logs: the runs' directories to $HC_BUILD/chaos/last, replacing the last ones.
keep_logs() {
    rm -rf "$CHAOS_BIN/last" && mkdir -p "$CHAOS_BIN/last" && cp -r "$T"/plain "$T"/shim "$CHAOS_BIN/last/" 2>/dev/null
    hc_log "    the runs' logs: $CHAOS_BIN/last/"
}

# The plain run's deadline is generous (a broken harness still ends); the shim
# run's is 3 x what the plain run took, + 20 s: a library that makes the program
# that much slower fails the run, and a run ends in bounded time either way.
one_run plain "$PLAIN_REQUESTS" plain $((60 + PLAIN_REQUESTS / 100))
if [ "${HC_PLAIN_ONLY:-0}" = 1 ]; then
    hc_log "(HC_PLAIN_ONLY=1: shim run skipped)"
    keep_logs
    exit 0
fi
[ -f "$HC_LIB" ] || fail_setup "no library at $HC_LIB"
one_run shim "$REQUESTS" shim $((RUN_MS * 3 * REQUESTS / PLAIN_REQUESTS / 1000 + 20))

hc_section "report (left: without the library; right: with it)"
"$PY" "$HERE/check.py" "$T/plain" "$T/shim"
rc=$?
keep_logs
exit "$rc"
