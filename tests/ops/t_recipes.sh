#!/usr/bin/env bash
# The README's recipes, as far as this machine can try them (no systemd as
# PID 1, no container engine, no cluster): the systemd drop-in, the timer's
# service and the timer pass `systemd-analyze verify` with nothing to say;
# every LD_PRELOAD path in the recipes is where the package puts the
# library; every HALFCLOSE_* name in them is a variable the launcher knows;
# the Kubernetes pod spec is valid YAML with the settings in the app's env.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

VERSION=$(sed -n 's/^VERSION *:= *//p' "$HC_ROOT/Makefile")
PKG=$HC_BUILD/halfclose_${VERSION}_$(dpkg --print-architecture).deb
mkdir -p "$T/units" "$T/blocks"

# The Recipes section's indented blocks, one file each ($T/blocks/N).
"$PY" - "$HC_ROOT/README.md" "$T/blocks" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
sec = text[text.index("### Recipes"):]
sec = sec[:sec.index("\n## ")]
blocks, cur = [], []
for line in sec.splitlines() + [""]:
    if line.startswith("    ") or (cur and line == ""):
        cur.append(line[4:])
    elif cur:
        blocks.append("\n".join(cur).strip("\n") + "\n")
        cur = []
    if line and not line.startswith("    ") and cur:
        blocks.append("\n".join(cur).strip("\n") + "\n")
        cur = []
for i, b in enumerate(blocks):
    open(f"{sys.argv[2]}/{i}", "w").write(b)
PY
nblocks=$(ls "$T/blocks" | wc -l)
hc_check "the Recipes section has its code blocks ($nblocks)" [ "$nblocks" -ge 4 ]

# block STARTING: the block whose first line is STARTING.
block() { grep -lx -m1 -F -- "$1" "$T"/blocks/* | head -n 1; }

hc_section "systemd: the drop-in, the textfile service and its timer"
dropin=$(grep -l '^Environment=LD_PRELOAD=' "$T"/blocks/* | head -n 1)
svc=$(grep -l '^# /etc/systemd/system/halfclose-textfile.service' "$T"/blocks/* | head -n 1)
hc_check "found the drop-in and the textfile units" [ -n "$dropin" ] && [ -n "$svc" ]
printf '[Unit]\nDescription=an app\n[Service]\nExecStart=/bin/true\nUser=myapp\n' >"$T/units/myapp.service"
mkdir -p "$T/units/myapp.service.d"
cp "$dropin" "$T/units/myapp.service.d/halfclose.conf"
# the block holds the service, then "# /etc/.../halfclose-textfile.timer" and the timer
awk -v d="$T/units" '/^# \/etc\/systemd\/system\// { f = d "/" substr($0, 23); next } f { print > f }' "$svc"
hc_check "the service and the timer came out of the block" \
    [ -s "$T/units/halfclose-textfile.service" ] && [ -s "$T/units/halfclose-textfile.timer" ]
for u in myapp.service halfclose-textfile.service halfclose-textfile.timer; do
    (cd "$T/units" && SYSTEMD_UNIT_PATH="$T/units:" systemd-analyze verify "$T/units/$u") >"$T/verify.out" 2>&1
    RC=$?
    hc_show_file "$T/verify.out" verify
    hc_assert_rc 0 "systemd-analyze verify $u"
    hc_check "it has nothing to say about $u or the drop-in" \
        sh -c "! grep -E 'myapp|halfclose' '$T/verify.out'"
done

hc_section "paths and names: the package's, the launcher's"
lib=$(dpkg-deb -c "$PKG" | awk '{ print substr($6, 2) }' | grep '/libhalfclose\.so$')
hc_check "the package's library: $lib" [ -n "$lib" ]
sec=$("$PY" -c 'import sys; t = open(sys.argv[1]).read(); s = t[t.index("### Recipes"):]; print(s[:s.index("\n## ")])' \
    "$HC_ROOT/README.md")
for p in $(grep -oE 'LD_PRELOAD=/[^ "`]*' <<<"$sec" | sort -u); do
    case $p in
    LD_PRELOAD=/usr/local/lib/libhalfclose.so | LD_PRELOAD=/halfclose/libhalfclose.so) ;; # copied there by the recipe
    *) hc_check "$p is the package's" [ "${p#LD_PRELOAD=}" = "$lib" ] ;;
    esac
done
hc_assert_contains <(echo "$sec") "cp $lib /halfclose/" "the init container's copy"
"$HC_LAUNCHER" --help >"$T/help.out"
for v in $(grep -oE 'HALFCLOSE_[A-Z_]*[A-Z]' <<<"$sec" | sort -u); do
    hc_check "$v is a variable halfclose --help names" grep -qw "$v" "$T/help.out"
done

hc_section "Kubernetes: the pod spec"
pod=$(grep -l '^spec:' "$T"/blocks/* | head -n 1)
hc_run_plain yaml "$PY" -c 'import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))["spec"]
assert spec["shareProcessNamespace"] is True
app = [c for c in spec["containers"] if c["name"] == "app"][0]
env = {e["name"]: e["value"] for e in app["env"]}
assert env["HALFCLOSE_STATS_DIR"].startswith("/halfclose/"), env
assert env["LD_PRELOAD"] == "/halfclose/libhalfclose.so", env
print("ok", sorted(env))' "$pod"
hc_assert_rc 0 "the pod spec parses, shares the process namespace, sets the app's env"

hc_finish
