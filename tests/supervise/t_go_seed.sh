#!/usr/bin/env bash
# The seed document's own client.go (tests/go/seed_client.go: connect, sleep
# 6 s, write "Halo", sleep 3 s, write "Halo2"), a static Go binary, against
# `ncat -l -i 2` in a respawn loop, as in the seed.
#   plain:              "Halo" vanishes into the dead connection (RST), the
#                       second write fails with EPIPE ("broken pipe": Go
#                       ignores SIGPIPE on sockets), exit 1; the server never
#                       sees Halo.
#   halfclose (auto):   the launcher sees a static binary and supervises it;
#                       both words reach the server, over fresh connections.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "plain: Go seed_client against ncat -i 2 (respawning)"
hc_pick_port P1
hc_start_ncat_loop srv_ncat_plain "$P1"
hc_run_plain seed_plain "$HC_GO/seed_client" "$HOST" "$P1"
hc_assert_rc 1 "Go seed_client"
hc_assert_contains "$ERR" "connection established" "seed_client stderr"
hc_assert_contains "$ERR" "writen to server =  Halo" "seed_client stderr"
hc_assert_contains "$ERR" "Write to server failed:" "seed_client stderr"
hc_assert_contains "$ERR" "broken pipe" "seed_client stderr"
hc_assert_lacks "$T/srv_ncat_plain.out" "Halo" "server output"
hc_assert_contains "$T/srv_ncat_plain.err" "Idle timeout expired" "ncat messages"

hc_require_launcher
hc_section "halfclose (auto-detected: static Go binary): same client, same server"
hc_pick_port P2
hc_start_ncat_loop srv_ncat_hc "$P2"
hc_run_hc seed_hc "$HC_GO/seed_client" "$HOST" "$P2"
hc_assert_rc 0 "halfclose seed_client"
hc_assert_contains "$ERR" "writen to server =  Halo2" "seed_client stderr"
hc_assert_lacks "$ERR" "Write to server failed" "seed_client stderr"
hc_assert_server_got srv_ncat_hc HaloHalo2
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" stale -ge 2

hc_finish
