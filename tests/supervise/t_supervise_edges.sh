#!/usr/bin/env bash
# Where the supervisor could break what the program does by itself:
#   fd numbers:   fd_crowd fills its fd table up to 511 and has one thread
#                 create TCP sockets while another opens /dev/null; ADDFD
#                 replaces whatever holds a number, so the supervisor must
#                 leave such a crowded process's sockets alone: no fd may
#                 change type (it did, about 50 times in 2 s, before).
#   namespaces:   `unshare -n` gives the program a network namespace of its
#                 own; a socket made by the supervisor would still reach the
#                 host's 127.0.0.1.  The connect must fail as it does plain.
#   pipes:        a program that leaves a daemon behind (stdio redirected)
#                 and exits: `halfclose PROG | cat` must end when PROG does,
#                 not when the daemon does (the background supervisor that
#                 serves the daemon must not hold the pipe).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "fd numbers: a crowded fd table, sockets and files opened at once"
hc_run_plain crowd_plain "$HC_STATIC/fd_crowd" 1500
hc_assert_rc 0 "fd_crowd"
hc_require_launcher
hc_run_hc crowd_hc "$HC_STATIC/fd_crowd" 1500
hc_assert_rc 0 "halfclose fd_crowd (no fd changed type)"
hc_assert_contains "$ERR" "its new TCP sockets are not managed" "halfclose stderr"

hc_section "namespaces: unshare -n, then connect to the host's 127.0.0.1"
hc_pick_port P
hc_start srv_socat socat -T 5 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"
hc_run_plain netns_plain unshare -n "$HC_STATIC/reqresp" "$HOST" "$P" 1 10
hc_assert_rc_nonzero "unshare -n reqresp"
hc_assert_contains "$ERR" "ENETUNREACH" "reqresp stderr"
hc_run_hc netns_hc --supervise unshare -n "$HC_STATIC/reqresp" "$HOST" "$P" 1 10
hc_assert_rc_nonzero "halfclose --supervise unshare -n reqresp"
hc_assert_contains "$ERR" "ENETUNREACH" "reqresp stderr"
hc_assert_lacks "$OUT" "round 1: ok" "reqresp stdout"

hc_section "pipes: a program that leaves a daemon behind, piped into cat"
daemon='sleep 6 </dev/null >/dev/null 2>&1 & echo started'
t0=$(date +%s%N)
out=$(timeout 20 "$HC_LAUNCHER" --supervise sh -c "$daemon" 2>&1 | cat)
secs=$((($(date +%s%N) - t0) / 1000000000))
hc_log "    output: $out (after ${secs}s)"
hc_check "halfclose PROG | cat printed what PROG printed" [ "$out" = started ]
hc_check "halfclose PROG | cat ended with PROG, well before the daemon's 6 s (${secs}s)" [ "$secs" -lt 4 ]

hc_finish
