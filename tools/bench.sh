#!/usr/bin/env bash
# tools/bench.sh - the driver of `make bench`: runs the row scripts tools/bench/row_*.sh that exist,
# in the order writes, pingpong, heal, redis, session, wrk, scale, supervise; each prints result lines
#     WORKLOAD<TAB>METRIC<TAB>PLAIN<TAB>SHIM<TAB>RESULT<TAB>TARGET<TAB>VERDICT
# on stdout (progress on stderr, passed through).  Prints the machine, the command, an aligned table,
# and "N targets met, M missed"; saves the report to $HC_BUILD/bench.txt.  Exits 0 when targets are
# missed (a benchmark reports), non-zero if a row script failed (crash, server that did not start)
# or printed a malformed line.  Needs: HC_BUILD (absolute), the library and build/bench/* built.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HC_BUILD=${HC_BUILD:-$ROOT/build}
HC_LIB=$HC_BUILD/libhalfclose.so
export HC_BUILD HC_LIB
[ -f "$HC_LIB" ] || { echo "bench.sh: $HC_LIB not built (run make bench)" >&2; exit 2; }

OUT=$HC_BUILD/bench.txt
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hc-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

start=$(date +%s)
status=0
: >"$TMP/rows.tsv"
for name in writes pingpong heal redis session wrk scale supervise; do
    script=$ROOT/tools/bench/row_$name.sh
    [ -f "$script" ] || continue
    echo "== row_$name.sh" >&2
    t0=$(date +%s)
    bash "$script" >"$TMP/$name.tsv"
    rc=$?
    cat "$TMP/$name.tsv" >>"$TMP/rows.tsv"
    if [ $rc -ne 0 ]; then
        echo "bench.sh: row_$name.sh failed (exit $rc)" >&2
        printf '%s\t%s\t-\t-\t-\t-\tFAILED\n' "row_$name.sh" "exit status $rc" >>"$TMP/rows.tsv"
        status=1
    fi
    echo "== row_$name.sh: $(($(date +%s) - t0)) s" >&2
done
secs=$(($(date +%s) - start))

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
{
    echo "halfclose benchmark: the same workload without and with LD_PRELOAD=libhalfclose.so"
    echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command: HC_BUILD=$HC_BUILD tools/bench.sh (make bench); $secs s"
    echo "spread = half the inter-quartile range / median; runs alternate plain, shim, plain, shim, ..."
    echo
    /usr/bin/python3 - "$TMP/rows.tsv" <<'PY' || status=1
import sys
hdr = ["WORKLOAD", "METRIC", "PLAIN", "SHIM", "RESULT", "TARGET", "VERDICT"]
rows, bad = [], 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line.strip():
        continue
    f = line.split("\t")
    if len(f) != 7 or f[6] not in ("met", "MISSED", "info", "FAILED"):
        print("bench.sh: malformed row: %r" % line, file=sys.stderr)
        bad += 1
        continue
    rows.append(f)
w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(hdr)]
fmt = lambda r: "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
print(fmt(hdr))
print("  ".join("-" * x for x in w))
for r in rows:
    print(fmt(r))
met = sum(r[6] == "met" for r in rows)
missed = sum(r[6] == "MISSED" for r in rows)
failed = sum(r[6] == "FAILED" for r in rows)
print()
print("%d targets met, %d missed" % (met, missed) + (", %d row scripts FAILED" % failed if failed else ""))
sys.exit(1 if bad else 0)
PY
} >"$TMP/report.txt"
cp "$TMP/report.txt" "$OUT"
echo
cat "$OUT"
echo "(saved to $OUT)"
exit $status
