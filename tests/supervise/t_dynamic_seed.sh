#!/usr/bin/env bash
# A dynamically linked client still gets the library by auto-detection:
# `halfclose build/clients/seed_client` (the C twin of the seed's client,
# linked against libc.so) against `ncat -l -i 2` in a respawn loop.
#   plain:      killed by SIGPIPE on its second write; the server never sees Halo.
#   halfclose (no option): LD_PRELOAD; both words arrive, the library's stats
#               line counts the reconnects.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "plain: dynamic seed_client against ncat -i 2 (respawning)"
if hc_is_static "$HC_CLIENTS/seed_client"; then
    hc_fail "build/clients/seed_client has a program interpreter (dynamic)"
else
    hc_pass "build/clients/seed_client has a program interpreter (dynamic)"
fi
hc_pick_port P1
hc_start_ncat_loop srv_ncat_plain "$P1"
hc_run_plain seed_plain "$HC_CLIENTS/seed_client" "$HOST" "$P1"
hc_assert_rc 141 "seed_client (killed by SIGPIPE)"
hc_assert_lacks "$T/srv_ncat_plain.out" "Halo" "server output"

hc_require_launcher
hc_section "halfclose (auto-detected: dynamic, so LD_PRELOAD)"
hc_pick_port P2
hc_start_ncat_loop srv_ncat_hc "$P2"
hc_run_hc seed_hc "$HC_CLIENTS/seed_client" "$HOST" "$P2"
hc_assert_rc 0 "halfclose seed_client"
hc_assert_contains "$OUT" "writen to server = Halo2" "seed_client output"
hc_assert_server_got srv_ncat_hc HaloHalo2
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" stale -ge 2
hc_check "one stats line, the library's own (pid= the client's)" \
    [ "$(hc_stats lines "" "$STATS")" -eq 1 ]

hc_finish
