#!/usr/bin/env bash
# The Debian package (make deb): its version is the one place's (the
# Makefile's VERSION) and the launcher's --version; lintian reports no error
# and no warning; dpkg installs it into a scratch root (dpkg --root), where
# the installed launcher preloads the installed library, both man pages
# render without a warning, and the seed's demo (tools/demo.sh: the C client
# preloaded, the Go client supervised, against ncat -i 2) passes with the
# installed launcher; dpkg -r removes every file again.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$HC_ROOT/Makefile")
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
PKG=$HC_BUILD/halfclose_${VERSION}_$ARCH.deb
R=$T/root

hc_check "make deb built $PKG" [ -s "$PKG" ]
[ -s "$PKG" ] || hc_finish
lintian --fail-on error,warning "$PKG" >"$T/lintian.out" 2>&1 &
LINTIAN=$!

hc_section "the package's version is the Makefile's ($VERSION), and the launcher's"
hc_check "Version: $VERSION" [ "$(dpkg-deb -f "$PKG" Version)" = "$VERSION" ]
hc_check "Architecture: $ARCH" [ "$(dpkg-deb -f "$PKG" Architecture)" = "$ARCH" ]
hc_check "Depends names libc6 ($(dpkg-deb -f "$PKG" Depends))" grep -q 'libc6 (>= ' <<<"$(dpkg-deb -f "$PKG" Depends)"
hc_run_plain version "$HC_LAUNCHER" --version
hc_check "the build's launcher says 'halfclose $VERSION'" [ "$(cat "$OUT")" = "halfclose $VERSION" ]

hc_section "dpkg --root: install into a scratch root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
# --force-depends: libc6 is the host's, not the scratch root's database's
hc_run_plain install dpkg --root="$R" --log=/dev/null --force-depends -i "$PKG"
hc_assert_rc 0 "dpkg -i"
for f in usr/bin/halfclose "usr/lib/$MULTIARCH/halfclose/libhalfclose.so" usr/share/man/man1/halfclose.1.gz \
    usr/share/man/man7/libhalfclose.7.gz usr/share/doc/halfclose/README.md usr/share/doc/halfclose/copyright \
    usr/share/doc/halfclose/changelog.gz; do
    hc_check "installed /$f" [ -f "$R/$f" ]
done
hc_run_plain installed_version "$R/usr/bin/halfclose" --version
hc_check "the installed launcher says 'halfclose $VERSION'" [ "$(cat "$OUT")" = "halfclose $VERSION" ]
# shellcheck disable=SC2016 # for the child shell
hc_run_plain preload "$R/usr/bin/halfclose" -- /bin/sh -c 'echo "$LD_PRELOAD"'
hc_check "it preloads the installed library" [ "$(cat "$OUT")" = "$R/usr/lib/$MULTIARCH/halfclose/libhalfclose.so" ]
for page in man1/halfclose.1.gz man7/libhalfclose.7.gz; do
    MANWIDTH=80 man --warnings -l "$R/usr/share/man/$page" >"$T/man.out" 2>"$T/man.err"
    hc_check "man -l $page renders ($(wc -l <"$T/man.out") lines) without a warning" \
        [ -s "$T/man.out" ] && [ ! -s "$T/man.err" ]
    hc_show_file "$T/man.err" man
done

hc_section "the seed's demo with the installed launcher"
HC_LAUNCHER=$R/usr/bin/halfclose "$HC_ROOT/tools/demo.sh" >"$T/demo.out" 2>&1
RC=$?
hc_show_file "$T/demo.out" demo
hc_assert_rc 0 "tools/demo.sh (HC_LAUNCHER=$R/usr/bin/halfclose)"
hc_assert_contains "$T/demo.out" "=== with halfclose: $R/usr/bin/halfclose"
hc_assert_count "$T/demo.out" "with it, both reached" 2 "demo output (the C and the Go client)"

hc_section "lintian"
wait "$LINTIAN"
RC=$?
hc_show_file "$T/lintian.out" lintian
hc_assert_rc 0 "lintian --fail-on error,warning"
hc_check "no E: or W: tag" sh -c "! grep -q '^[EW]: ' '$T/lintian.out'"

hc_section "dpkg -r removes it"
hc_run_plain remove dpkg --root="$R" --log=/dev/null -r halfclose
hc_assert_rc 0 "dpkg -r"
hc_check "nothing of the package is left" [ -z "$(find "$R/usr" -type f 2>/dev/null)" ]

hc_finish
