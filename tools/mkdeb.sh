#!/usr/bin/env bash
# tools/mkdeb.sh — builds the Debian package from what `make deb` built
# (run by `make deb`; the Makefile passes every value):
#
#   tools/mkdeb.sh OUT.deb VERSION ARCH LIBDIR LAUNCHER LIBRARY
#
# LIBDIR is where the library goes (/usr/lib/<multiarch>/halfclose: a
# preloaded library without a SONAME is no shared library for others to link,
# so it has a directory of its own). LAUNCHER was built for that LIBDIR. The
# package: the launcher in /usr/bin, the library, both man pages, README.md,
# a copyright file and a changelog; stripped, root-owned, md5sums, Depends
# from dpkg-shlibdeps. The changelog's date is the last commit's, so the same
# tree gives the same package.
set -eu
[ $# -eq 6 ] || { echo "usage: $0 OUT.deb VERSION ARCH LIBDIR LAUNCHER LIBRARY" >&2; exit 2; }
out=$1 version=$2 arch=$3 libdir=$4 launcher=$5 library=$6
root=$(cd "$(dirname "$0")/.." && pwd)
maintainer="Seed 3777596e maintainers <maintainers@users.noreply.r-seed-3777596e.example>"
date=$(git -C "$root" log -1 --format=%aD 2>/dev/null || date -R)

stage=$(mktemp -d "${TMPDIR:-/tmp}/halfclose-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg doc=$stage/pkg/usr/share/doc/halfclose
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg$libdir" "$pkg/usr/share/man/man1" "$pkg/usr/share/man/man7" "$doc"
install -m 0755 "$launcher" "$pkg/usr/bin/halfclose"
install -m 0644 "$library" "$pkg$libdir/libhalfclose.so"
strip --remove-section=.comment --remove-section=.note "$pkg/usr/bin/halfclose"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$pkg$libdir/libhalfclose.so"
gzip -9n <"$root/man/halfclose.1" >"$pkg/usr/share/man/man1/halfclose.1.gz"
gzip -9n <"$root/man/libhalfclose.7" >"$pkg/usr/share/man/man7/libhalfclose.7.gz"
install -m 0644 "$root/README.md" "$doc/README.md"
cat >"$doc/copyright" <<EOF
halfclose: heals pooled TCP connections that an idle server closed.

Copyright: 2026 $maintainer

The upstream sources state no license. Until they do, this package grants no
permission beyond what copyright law allows without one.
EOF
printf 'halfclose (%s) unstable; urgency=medium\n\n  * Version %s.\n\n -- %s  %s\n' \
    "$version" "$version" "$maintainer" "$date" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$pkg"/usr/share/man/man*/*.gz "$doc"/*

# Depends: what dpkg-shlibdeps finds the two binaries need (it wants a
# debian/control to read, even an empty one).
mkdir -p "$stage/debian"
printf 'Source: halfclose\n\nPackage: halfclose\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O "pkg/usr/bin/halfclose" "pkg$libdir/libhalfclose.so" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "mkdeb: dpkg-shlibdeps found no dependency" >&2; exit 1; }

cat >"$pkg/DEBIAN/control" <<EOF
Package: halfclose
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: heal pooled TCP connections that an idle server closed
 Servers close pooled keep-alive connections that sit idle, and the client's
 next write succeeds locally although the request is lost. halfclose finds
 such a connection dead when the program reuses it and swaps in a fresh
 connection to the same address, at the same file descriptor, before the
 request goes out: a preloaded library for dynamically linked programs, and a
 seccomp supervisor for static and Go binaries. It keeps live counters that
 halfclose stats prints (also for Prometheus), and halfclose measure finds out
 how a server ends idle connections.
EOF
(cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"
find "$pkg" -type d -exec chmod 0755 {} +
SOURCE_DATE_EPOCH=$(date -d "$date" +%s) dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
echo "built $out"
