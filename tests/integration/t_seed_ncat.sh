#!/usr/bin/env bash
# The seed document's experiment: `ncat -l -i 2` closes the idle connection
# of seed_client (connect, sleep 6 s, write "Halo", sleep 3 s, write "Halo2").
# ncat's idle timer ends the whole process, so it runs in a respawn loop.
#   plain: "Halo" vanishes (the old connection answers with RST), the second
#          write dies of SIGPIPE (or fails with EPIPE); the server never sees Halo.
#   shim:  both words reach the server, over 2 fresh connections.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "plain: seed_client against ncat -i 2 (respawning)"
hc_pick_port P1
hc_start_ncat_loop srv_ncat_plain "$P1"
hc_run_plain seed_plain "$HC_CLIENTS/seed_client" "$HOST" "$P1"
hc_assert_rc_nonzero seed_client
if [ "$RC" -eq 141 ]; then
    hc_pass "seed_client was killed by SIGPIPE on its second write"
else
    hc_assert_contains "$OUT" "Broken pipe" "seed_client output"
fi
hc_assert_contains "$OUT" "connection established" "seed_client output"
hc_assert_lacks "$T/srv_ncat_plain.out" "Halo" "server output"
hc_assert_contains "$T/srv_ncat_plain.err" "Idle timeout expired" "ncat messages"

hc_require_shim
hc_section "shim: same client, same server, under LD_PRELOAD"
hc_pick_port P2
hc_start_ncat_loop srv_ncat_shim "$P2"
hc_run_shim seed_shim "$HC_CLIENTS/seed_client" "$HOST" "$P2"
hc_assert_rc 0 seed_client
hc_assert_contains "$OUT" "writen to server = Halo2" "seed_client output"
# ncat may still be writing what it got when the client exits
hc_wait_for 2 grep -qx HaloHalo2 "$T/srv_ncat_shim.out"
hc_assert_contains "$T/srv_ncat_shim.out" "Halo" "server output"
hc_assert_contains "$T/srv_ncat_shim.out" "Halo2" "server output"
hc_assert_count "$T/srv_ncat_shim.out" "Halo" 2 "server output"
hc_check "server output is exactly 'HaloHalo2'" [ "$(cat "$T/srv_ncat_shim.out")" = HaloHalo2 ]
hc_assert_healed 2

hc_finish
