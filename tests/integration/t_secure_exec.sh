#!/usr/bin/env bash
# Secure execution (AT_SECURE: setuid, setgid, file capabilities; issue 15,
# item 12): the library ignores every HALFCLOSE_* variable and runs with its
# defaults (shim/conn.c reads no environment when getauxval(AT_SECURE)).
#
# glibc's ld.so preloads into such a program only a name without a slash,
# found in a trusted system directory (here the one libc.so.6 comes from,
# /usr/lib/x86_64-linux-gnu on Debian), and only if that file is set-user-ID.
# So each run below gets a private mount namespace (unshare -m) in which a
# read-only overlayfs adds two files to that directory: libhalfclose.so, mode
# 4755, and reqresp_suid, a setuid-root copy of build/clients/reqresp.  Run
# as nobody (setpriv), reqresp_suid gets AT_SECURE=1.  Nothing changes
# outside the namespaces: checked before, during (from outside, while the
# client runs) and after.  Needs root and mount namespaces: without them the
# test fails, saying so (it is not skipped).
#
# Against socat -T 2 (an echo server closing connections idle for 2 s),
# reqresp 3 rounds 3 s apart, the variables set to what would show if read:
#   HALFCLOSE_STATS=FILE (must not be written), HALFCLOSE_DISABLE=1 (must not
#   disable: the library still heals), HALFCLOSE_MIN_IDLE_MS=abc (must print
#   no "expected milliseconds" line).
#   secure, no LD_PRELOAD:    round 2 reads EOF (nothing heals by itself)
#   secure, LD_PRELOAD=libhalfclose.so:  every round answered; the library
#                             is in the process's maps and AT_SECURE is 1 in
#                             its auxv; no stats file, nothing on stderr; the
#                             same with HALFCLOSE_STATS and DISABLE alone
#   secure, LD_PRELOAD with a slash, or the library without its setuid bit:
#                             not loaded (ld.so's rules), round 2 reads EOF
#   root, not setuid (no secure execution), the same preload: the variables
#                             are read: with all three, the line about
#                             HALFCLOSE_MIN_IDLE_MS and no heal; with the
#                             stats file and DISABLE only, a stats line is
#                             written and nothing heals (disabled).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

CLIENT=$HC_CLIENTS/reqresp
# The trusted directory: where ld.so finds libc for the client.
LIBC=$(ldd "$CLIENT" 2>/dev/null | awk '$1 == "libc.so.6" { print $3 }')
TRUSTED=$(dirname "$(readlink -f "${LIBC:-/nonexistent/libc.so.6}")")
ADD=$T/add          # what the overlay adds to $TRUSTED: the setuid library
ADD_PLAIN=$T/add755 # the same library without its setuid bit
SUID_NAME=reqresp_suid
SUID=$TRUSTED/$SUID_NAME
VARS=("HALFCLOSE_STATS=$T/secure.stats" HALFCLOSE_DISABLE=1 HALFCLOSE_MIN_IDLE_MS=abc)
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# $IN_NS ADD_DIR CMD...: CMD in a private mount namespace (unshare -m) where
# TRUSTED shows the files of ADD_DIR as well: a read-only overlayfs, whose
# source is named hc_secure_exec.  Scripts, so that hc_run's timeout can
# start them; mount fails with 125.
cat >"$T/ns_run" <<'EOF'
#!/bin/bash
mount -t overlay hc_secure_exec -o "lowerdir=$2:$1" "$1" || exit 125
shift 2
exec "$@"
EOF
printf '#!/bin/bash\nexec unshare -m --propagation private %q %q "$@"\n' "$T/ns_run" "$TRUSTED" >"$T/in_ns"
chmod 755 "$T/ns_run" "$T/in_ns"
IN_NS=$T/in_ns

# outside_clean WHEN: nothing of the namespaces is visible from here.
outside_clean() {
    hc_check "$WHEN: $TRUSTED/libhalfclose.so and $SUID_NAME do not exist outside the namespace" \
        test ! -e "$TRUSTED/libhalfclose.so" -a ! -e "$SUID"
    hc_check "$WHEN: no overlay mounted on $TRUSTED outside the namespace" \
        eval "! grep -qE ' $TRUSTED | hc_secure_exec ' /proc/self/mountinfo"
}

# watch_client FILE: in the background, from outside the namespace, wait for
# the running reqresp_suid and write to FILE its maps lines of the library,
# its Uid line, its AT_SECURE (auxv type 23) and whether the library is
# visible here meanwhile.
watch_client() {
    local out=$1
    (
        for ((i = 0; i < 200; i++)); do
            for p in /proc/[0-9]*; do
                comm=
                read -r comm 2>/dev/null <"$p/comm"
                [ "$comm" = "$SUID_NAME" ] || continue
                sleep 0.2 # past ld.so and the library's start
                {
                    grep -F libhalfclose.so "$p/maps"
                    grep '^Uid:' "$p/status"
                    od -An -t u8 -v "$p/auxv" | tr -s ' ' '\n' | grep -v '^$' | paste - - |
                        awk '$1 == 23 { print "AT_SECURE=" $2 }'
                    if [ -e "$TRUSTED/libhalfclose.so" ]; then echo "outside: library visible"; else
                        echo "outside: no library"; fi
                } >"$out" 2>&1
                exit 0
            done
            sleep 0.05
        done
    ) &
    WATCHER=$!
}

hc_section "setup: root, a private mount namespace, the library setuid in $TRUSTED"
WHEN=before
if [ "$(id -u)" != 0 ]; then
    hc_fail "runs as root (a private mount namespace, setuid-root files; got uid $(id -u))"
    hc_finish
fi
hc_check "found the trusted directory of libc.so.6 ($TRUSTED)" test -n "$LIBC" -a -d "$TRUSTED"
hc_require_shim
outside_clean
mkdir -p "$ADD" "$ADD_PLAIN"
install -m 4755 "$HC_LIB" "$ADD/libhalfclose.so"
install -m 0755 "$HC_LIB" "$ADD_PLAIN/libhalfclose.so"
install -m 4755 "$CLIENT" "$ADD/$SUID_NAME"
install -m 4755 "$CLIENT" "$ADD_PLAIN/$SUID_NAME"
if ! "$IN_NS" "$ADD" test -u "$TRUSTED/libhalfclose.so" -a -u "$SUID" 2>"$T/ns.err"; then
    hc_fail "unshare -m and an overlayfs on $TRUSTED work here (needed; $(tr '\n' ' ' <"$T/ns.err"))"
    hc_finish
fi
hc_pass "inside a private mount namespace, $TRUSTED has libhalfclose.so and $SUID_NAME, both setuid"

hc_pick_port P
hc_start srv_socat socat -T 2 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

hc_section "secure (setuid root, run as nobody), no LD_PRELOAD: the idle close is not healed"
hc_run_plain secure_plain "$IN_NS" "$ADD" "${AS_NOBODY[@]}" env "${VARS[@]}" "$SUID" "$HOST" "$P" 3 3000
hc_assert_rc 1 "reqresp_suid"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp_suid stderr"

hc_section "secure, LD_PRELOAD=libhalfclose.so: loaded, healing, every HALFCLOSE_* ignored"
WHEN=during
watch_client "$T/watch.out"
hc_run_plain secure_shim "$IN_NS" "$ADD" "${AS_NOBODY[@]}" env LD_PRELOAD=libhalfclose.so "${VARS[@]}" \
    "$SUID" "$HOST" "$P" 3 3000
wait "$WATCHER"
hc_show_file "$T/watch.out" "running client"
hc_assert_rc 0 "reqresp_suid under the library (HALFCLOSE_DISABLE=1 ignored: healed)"
hc_assert_contains "$OUT" "round 3: ok" "reqresp_suid stdout"
hc_check "reqresp_suid printed nothing on stderr (no line about HALFCLOSE_MIN_IDLE_MS=abc)" test ! -s "$ERR"
hc_check "HALFCLOSE_STATS was not written ($T/secure.stats does not exist)" test ! -e "$T/secure.stats"
hc_assert_contains "$T/watch.out" "$TRUSTED/libhalfclose.so" "the running client's maps"
hc_check "the running client ran as nobody, set-user-ID root (Uid: 65534 0 0 0)" \
    grep -qE '^Uid:\s+65534\s+0\s+0\s+0$' "$T/watch.out"
hc_assert_contains "$T/watch.out" "AT_SECURE=1" "the running client's auxv"
hc_assert_contains "$T/watch.out" "outside: no library" "a look from outside the namespace meanwhile"
# Without HALFCLOSE_MIN_IDLE_MS=abc, which alone would make a library that
# read it pass everything through and write no stats.
hc_run_plain secure_disabled "$IN_NS" "$ADD" "${AS_NOBODY[@]}" env LD_PRELOAD=libhalfclose.so \
    "HALFCLOSE_STATS=$T/secure_disabled.stats" HALFCLOSE_DISABLE=1 "$SUID" "$HOST" "$P" 3 3000
hc_assert_rc 0 "reqresp_suid under the library, HALFCLOSE_DISABLE=1 alone (ignored: healed)"
hc_check "HALFCLOSE_STATS was not written ($T/secure_disabled.stats does not exist)" \
    test ! -e "$T/secure_disabled.stats"

hc_section "secure: what ld.so refuses (a path with a slash; the library without its setuid bit)"
hc_run_plain secure_slash "$IN_NS" "$ADD" "${AS_NOBODY[@]}" env "LD_PRELOAD=$TRUSTED/libhalfclose.so" "${VARS[@]}" \
    "$SUID" "$HOST" "$P" 2 3000
hc_assert_rc 1 "reqresp_suid with LD_PRELOAD=$TRUSTED/libhalfclose.so (ignored)"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp_suid stderr"
hc_run_plain secure_nosuid "$IN_NS" "$ADD_PLAIN" "${AS_NOBODY[@]}" env LD_PRELOAD=libhalfclose.so "${VARS[@]}" \
    "$SUID" "$HOST" "$P" 2 3000
hc_assert_rc 1 "reqresp_suid with a library of mode 0755 (not preloaded)"
hc_assert_contains "$ERR" "cannot be preloaded" "reqresp_suid stderr (ld.so)"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp_suid stderr"

hc_section "not secure (root, not setuid), the same preload and variables: they are read"
hc_run_plain root_all "$IN_NS" "$ADD" env LD_PRELOAD=libhalfclose.so "${VARS[@]}" "$CLIENT" "$HOST" "$P" 3 3000
hc_assert_rc 1 "reqresp as root (passing everything through)"
hc_assert_contains "$ERR" 'HALFCLOSE_MIN_IDLE_MS="abc": expected milliseconds' "reqresp stderr"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"
hc_run_plain root_disabled "$IN_NS" "$ADD" env LD_PRELOAD=libhalfclose.so "HALFCLOSE_STATS=$T/root.stats" \
    HALFCLOSE_DISABLE=1 "$CLIENT" "$HOST" "$P" 3 3000
hc_show_file "$T/root.stats" stats
hc_assert_rc 1 "reqresp as root with HALFCLOSE_DISABLE=1 (disabled)"
hc_assert_contains "$ERR" "reqresp: round 2: read: EOF" "reqresp stderr"
hc_assert_stat "$T/root.stats" managed -eq 0
hc_assert_stat "$T/root.stats" reconnects -eq 0

hc_section "after: nothing changed outside the namespaces"
WHEN=after
outside_clean

hc_finish
