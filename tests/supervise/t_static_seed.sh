#!/usr/bin/env bash
# tests/clients/seed_client.c (the C twin of the seed's client.go) linked with
# -static, against `ncat -l -i 2` in a respawn loop: a write-only client,
# whose request boundaries are the quiet gaps between writes.
#   plain:      "Halo" vanishes, the second write dies of SIGPIPE (exit 141).
#   halfclose (auto-detected: static ELF): both words reach the server.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_section "plain: static seed_client against ncat -i 2 (respawning)"
hc_pick_port P1
hc_start_ncat_loop srv_ncat_plain "$P1"
hc_run_plain seed_plain "$HC_STATIC/seed_client" "$HOST" "$P1"
hc_assert_rc 141 "static seed_client (killed by SIGPIPE)"
hc_assert_contains "$OUT" "writen to server = Halo" "seed_client output"
hc_assert_lacks "$T/srv_ncat_plain.out" "Halo" "server output"

hc_require_launcher
hc_section "halfclose (auto-detected): same client, same server"
hc_pick_port P2
hc_start_ncat_loop srv_ncat_hc "$P2"
hc_run_hc seed_hc "$HC_STATIC/seed_client" "$HOST" "$P2"
hc_assert_rc 0 "halfclose static seed_client"
hc_assert_contains "$OUT" "writen to server = Halo2" "seed_client output"
hc_assert_server_got srv_ncat_hc HaloHalo2
hc_assert_stat "$STATS" reconnects -ge 2

hc_finish
