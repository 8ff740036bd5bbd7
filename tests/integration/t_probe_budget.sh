#!/usr/bin/env bash
# The probe budget, counted with strace (a count, not a timing).
# split_request.c sends 10 requests of 3 back-to-back writes each to a live
# socat echo server (no idle close, so nothing is healed).
#   defaults: the connection is busy (never quiet for HALFCLOSE_PROBE_AFTER_MS,
#             which follows HALFCLOSE_MIN_IDLE_MS): no probe at all, no
#             system call added.
#   HALFCLOSE_PROBE_AFTER_MS=0: exactly one probe, poll(POLLIN|POLLRDHUP, 0),
#             per request, at the request's first write, and none at the
#             writes inside a request.
#   HALFCLOSE_STATS_DIR: the live page costs a fixed number of system calls
#             (creating it, removing it at exit), the same for 10 requests
#             as for 20: none per request.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=10
hc_pick_port P
hc_start srv_echo socat "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

# probes TRACE: the shim's probes (the client itself never polls).
probes() { grep -c 'poll(\[{fd=[0-9]*, events=POLLIN|POLLRDHUP}\], 1, 0)' "$1"; }
# writes TRACE: the request's write() calls on the socket ("req", " ", "N\n"),
# whatever its number (an fd the caller left open, flock's lock say, takes 3).
writes() { grep -cE '^[0-9]+ +write\([0-9]+, "(req| |[0-9]+\\n)", [0-9]+\)' "$1"; }

hc_section "plain: $ROUNDS requests, 3 writes each, under strace"
hc_run_plain split_plain strace -f -o "$T/plain.trace" -e trace=poll,write \
    "$HC_CLIENTS/split_request" "$HOST" "$P" "$ROUNDS"
hc_assert_rc 0 split_request
hc_check "plain: $((ROUNDS * 3)) writes on the socket (got $(writes "$T/plain.trace"))" \
    [ "$(writes "$T/plain.trace")" -eq $((ROUNDS * 3)) ]
hc_check "plain: no probe polls (got $(probes "$T/plain.trace"))" [ "$(probes "$T/plain.trace")" -eq 0 ]

hc_require_shim
hc_section "shim, defaults: a busy connection is never probed"
hc_run_plain split_busy strace -f -o "$T/busy.trace" -e trace=poll,write \
    -E "LD_PRELOAD=$HC_LIB" -E "HALFCLOSE_STATS=$T/busy.stats" \
    "$HC_CLIENTS/split_request" "$HOST" "$P" "$ROUNDS"
hc_assert_rc 0 split_request
hc_check "busy: still $((ROUNDS * 3)) writes (got $(writes "$T/busy.trace"))" \
    [ "$(writes "$T/busy.trace")" -eq $((ROUNDS * 3)) ]
hc_check "busy: no probe polls (got $(probes "$T/busy.trace"))" [ "$(probes "$T/busy.trace")" -eq 0 ]
hc_assert_stat "$T/busy.stats" probes -eq 0
hc_assert_stat "$T/busy.stats" managed -eq 1

hc_section "shim, HALFCLOSE_PROBE_AFTER_MS=0, strace -E LD_PRELOAD (the shim is in the client, not in strace)"
hc_run_plain split_shim strace -f -o "$T/shim.trace" -e trace=poll,write \
    -E "LD_PRELOAD=$HC_LIB" -E "HALFCLOSE_STATS=$T/shim.stats" -E HALFCLOSE_PROBE_AFTER_MS=0 \
    "$HC_CLIENTS/split_request" "$HOST" "$P" "$ROUNDS"
hc_assert_rc 0 split_request
hc_check "shim: still $((ROUNDS * 3)) writes (got $(writes "$T/shim.trace"))" \
    [ "$(writes "$T/shim.trace")" -eq $((ROUNDS * 3)) ]
hc_check "shim: exactly $ROUNDS probes, one per request (got $(probes "$T/shim.trace"))" \
    [ "$(probes "$T/shim.trace")" -eq "$ROUNDS" ]
hc_assert_stat "$T/shim.stats" probes -eq "$ROUNDS"
hc_assert_stat "$T/shim.stats" managed -eq 1
hc_assert_stat "$T/shim.stats" reconnects -eq 0

hc_section "shim with HALFCLOSE_STATS_DIR: the live page adds system calls once, never per request"
mkdir -m 0700 "$T/pages"
# syscalls ROUNDS [VAR=VAL]: the client's system calls, all of them, for ROUNDS requests.
syscalls() {
    local rounds=$1
    shift
    strace -f -o "$T/all.trace" -E "LD_PRELOAD=$HC_LIB" ${1:+-E "$1"} \
        "$HC_CLIENTS/split_request" "$HOST" "$P" "$rounds" >/dev/null 2>&1 || return 1
    grep -cvE ' (\+\+\+|---) ' "$T/all.trace"
}
for rounds in 10 20; do
    plain=$(syscalls "$rounds") && live=$(syscalls "$rounds" "HALFCLOSE_STATS_DIR=$T/pages")
    extra[rounds]=$((live - plain))
    hc_log "    $rounds requests: $plain system calls without the page, $live with it"
done
hc_check "the page costs the same ${extra[10]} system calls for 10 requests as for 20 (${extra[20]})" \
    [ "${extra[10]}" -eq "${extra[20]}" ] && [ "${extra[10]}" -gt 0 ]
hc_check "and no page is left behind" [ -z "$(ls -A "$T/pages")" ]

hc_finish
