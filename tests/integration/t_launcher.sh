#!/usr/bin/env bash
# The launcher, build/halfclose [--stats FILE] [--log LEVEL] -- PROGRAM ARGS:
#   --help exits 0 with a usage text; --version prints a version;
#   it heals a stale connection exactly like LD_PRELOAD (the same client
#   fails without it); the program's exit status comes back unchanged;
#   it refuses a setuid program (the loader would drop LD_PRELOAD) with a
#   message and a non-zero exit; an LD_PRELOAD already set is kept; an
#   installed launcher ($PREFIX/bin) finds the library in $PREFIX/lib.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# check_installed_and_finish: the last section, then the verdict.
check_installed_and_finish() {
    hc_section "an installed launcher finds the library in ../lib (make install layout)"
    mkdir -p "$T/prefix/bin" "$T/prefix/lib"
    cp "$HC_LAUNCHER" "$T/prefix/bin/halfclose"
    cp "$HC_BUILD/libhalfclose.so" "$T/prefix/lib/libhalfclose.so"
    # shellcheck disable=SC2016 # $LD_PRELOAD is for the child shell
    hc_run_plain installed "$T/prefix/bin/halfclose" -- /bin/sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"'
    hc_assert_rc 0 "installed halfclose -- sh"
    hc_assert_contains "$OUT" "LD_PRELOAD=$T/prefix/lib/libhalfclose.so" "child's LD_PRELOAD"
    hc_finish
}

hc_require_launcher() {
    if [ "${HC_PLAIN_ONLY:-0}" != 1 ] && [ ! -x "$HC_LAUNCHER" ]; then
        hc_fail "launcher exists at $HC_LAUNCHER"
        hc_finish
    fi
}

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "plain: reqresp, 2 rounds 3 s apart, server idle timeout 2 s"
hc_run_plain launch_plain "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 3000
hc_assert_rc 1 reqresp
hc_assert_contains "$ERR" "round 2: read: EOF" "reqresp stderr"

hc_section "plain: a setuid copy of /bin/true runs (exit 0) by itself"
cp /bin/true "$T/true_suid" && chmod u+s "$T/true_suid"
hc_check "$T/true_suid is setuid" [ -u "$T/true_suid" ]
hc_run_plain suid_plain "$T/true_suid"
hc_assert_rc 0 "setuid true"

hc_require_shim
hc_require_launcher

hc_section "launcher --help / --version"
hc_run_plain help "$HC_LAUNCHER" --help
hc_assert_rc 0 "halfclose --help"
hc_check "--help prints a usage text" grep -qi usage "$OUT" "$ERR"
hc_run_plain version "$HC_LAUNCHER" --version
hc_assert_rc 0 "halfclose --version"
hc_check "--version prints a version number" grep -qE '[0-9]+\.[0-9]+' "$OUT" "$ERR"

hc_section "launcher heals like LD_PRELOAD"
LSTATS=$T/launcher.stats
hc_run_plain launch_shim "$HC_LAUNCHER" --stats "$LSTATS" -- "$HC_CLIENTS/reqresp" "$HOST" "$P" 2 3000
hc_show_file "$LSTATS" stats
hc_assert_rc 0 "reqresp under halfclose"
hc_check "reqresp printed 'ok'" [ "$(tail -n1 "$OUT")" = ok ]
hc_assert_stat "$LSTATS" stale -ge 1
hc_assert_stat "$LSTATS" reconnects -ge 1

hc_section "launcher passes the exit status through"
hc_run_plain exit7 "$HC_LAUNCHER" -- /bin/sh -c 'exit 7'
hc_assert_rc 7 "halfclose -- sh -c 'exit 7'"

hc_section "launcher refuses a setuid program"
hc_run_plain suid "$HC_LAUNCHER" -- "$T/true_suid"
hc_assert_rc_nonzero "halfclose -- setuid-program"
hc_check "it says why (non-empty message)" [ -s "$OUT" -o -s "$ERR" ]

hc_section "launcher keeps an existing LD_PRELOAD"
printf 'int hc_dummy_preload_marker;\n' >"$T/dummy.c"
gcc -shared -fPIC -o "$T/libdummy.so" "$T/dummy.c"
# shellcheck disable=SC2016 # $LD_PRELOAD is for the child shell
hc_run_plain keep "LD_PRELOAD=$T/libdummy.so" "$HC_LAUNCHER" -- /bin/sh -c 'echo "LD_PRELOAD=$LD_PRELOAD"'
hc_assert_rc 0 "halfclose -- sh"
hc_assert_contains "$OUT" "$T/libdummy.so" "child's LD_PRELOAD"
hc_assert_contains "$OUT" "libhalfclose.so" "child's LD_PRELOAD"
hc_assert_lacks "$ERR" "cannot be preloaded" "stderr (ld.so found every preloaded object)"

check_installed_and_finish
