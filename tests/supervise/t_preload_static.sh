#!/usr/bin/env bash
# The documented limit, and the control that the supervised heals are real:
# `halfclose --preload` on a static program sets LD_PRELOAD, which the static
# program never reads, so it fails exactly as without halfclose.
#   Go seed_client against ncat -i 2:  "broken pipe", exit 1, no Halo at the server;
#   static reqresp against socat -T 1: round 2: read EOF, exit 1;
# and no stats line (the library never ran).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "the programs are static (no program interpreter)"
for prog in "$HC_STATIC/reqresp" "$HC_GO/seed_client"; do
    hc_check "$(basename "$(dirname "$prog")")/$(basename "$prog") is static" \
        hc_is_static "$prog"
done

hc_require_launcher

hc_section "halfclose --preload: static reqresp against socat -T 1"
hc_pick_port P1
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P1,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P1"
hc_run_hc reqresp_preload --preload "$HC_STATIC/reqresp" "$HOST" "$P1" 3 2000
hc_assert_rc 1 "halfclose --preload static reqresp"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"
hc_assert_no_stats "static reqresp under --preload"

hc_section "halfclose --preload: Go seed_client against ncat -i 2"
hc_pick_port P2
hc_start_ncat_loop srv_ncat "$P2"
hc_run_hc seed_preload --preload "$HC_GO/seed_client" "$HOST" "$P2"
hc_assert_rc 1 "halfclose --preload Go seed_client"
hc_assert_contains "$ERR" "broken pipe" "seed_client stderr"
hc_assert_lacks "$T/srv_ncat.out" "Halo" "server output"
hc_assert_no_stats "Go seed_client under --preload"

hc_finish
