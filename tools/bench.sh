#!/usr/bin/env bash
# tools/bench.sh [ROW...] - the driver of `make bench`: runs the row scripts tools/bench/row_*.sh
# (the ROWs named, e.g. `pingpong redis`, or all of them in the order writes, pingpong, heal, redis,
# session, wrk, scale, supervise); each prints result lines
#     WORKLOAD<TAB>METRIC<TAB>PLAIN<TAB>SHIM<TAB>RESULT<TAB>TARGET<TAB>VERDICT
# on stdout (progress on stderr, passed through).  Prints the machine, the command, an aligned table,
# and "N goals met, M missed"; saves the report to $HC_BUILD/bench.txt and the same as markdown to
# $HC_BUILD/bench.md (what tools/bench/readme.py puts into README.md's Cost section).
# HC_BENCH_PART=counts (make bench-counts): only the deterministic rows (system calls, instructions),
# saved as bench-counts.txt/.md.  HC_BENCH_COMMAND: the command to name in the report.
# Exits 0 when goals are missed (a benchmark reports), non-zero if a row script failed (crash, server
# that did not start) or printed a malformed line.  Needs: HC_BUILD (absolute), the library and
# build/bench/* built.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HC_BUILD=${HC_BUILD:-$ROOT/build}
HC_LIB=$HC_BUILD/libhalfclose.so
export HC_BUILD HC_LIB
[ -f "$HC_LIB" ] || { echo "bench.sh: $HC_LIB not built (run make bench)" >&2; exit 2; }

ALL="writes pingpong heal redis session wrk scale supervise"
ROWS=${*:-$ALL}
for name in $ROWS; do
    [ -f "$ROOT/tools/bench/row_$name.sh" ] || { echo "bench.sh: no row '$name' (rows: $ALL)" >&2; exit 2; }
done
PART=${HC_BENCH_PART:-all}
case $PART in all) OUT=$HC_BUILD/bench ;; counts) OUT=$HC_BUILD/bench-counts ;;
    *) echo "bench.sh: HC_BENCH_PART=$PART: expected all or counts" >&2; exit 2 ;; esac
CMD=${HC_BENCH_COMMAND:-tools/bench.sh $*}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hc-bench.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT

# How system calls are counted (lib.sh: counter), once for all rows.
HC_COUNTER=$(cd "$TMP" && bash -c '. "$1/tools/bench/lib.sh"; counter' _ "$ROOT")
export HC_COUNTER

load() { cut -d' ' -f1-3 /proc/loadavg; }
load0=$(load)
start=$(date +%s)
status=0
: >"$TMP/rows.tsv"
: >"$TMP/times"
for name in $ROWS; do
    script=$ROOT/tools/bench/row_$name.sh
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
    echo "row_$name.sh $(($(date +%s) - t0))" >>"$TMP/times"
    echo "== row_$name.sh: $(($(date +%s) - t0)) s" >&2
done
secs=$(($(date +%s) - start))

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
distro=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
counted=$([ "$HC_COUNTER" = perf ] && echo "perf stat (raw_syscalls:sys_enter, syscalls:sys_enter_*)" || echo "strace -f -c")
{
    echo "part=$PART"
    echo "machine=$(nproc) cores, ${cpu:-unknown CPU}, $mem, ${distro:+$distro, }Linux $(uname -r)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command=$CMD"
    echo "seconds=$secs"
    echo "load=$load0 at the start, $(load) at the end (1, 5, 15 min)"
    echo "counted=$counted"
    echo "rows=$(tr '\n' ' ' <"$TMP/times" | sed 's/ $//')"
} >"$TMP/meta"

/usr/bin/python3 - "$TMP/rows.tsv" "$TMP/meta" "$OUT.txt" "$OUT.md" <<'PY' || status=1
import sys
import textwrap
rows_file, meta_file, txt_out, md_out = sys.argv[1:]
meta = dict(l.rstrip("\n").split("=", 1) for l in open(meta_file, encoding="utf-8") if "=" in l)
hdr = ["WORKLOAD", "METRIC", "PLAIN", "SHIM", "RESULT", "GOAL", "VERDICT"]
rows, bad = [], 0
for line in open(rows_file, encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if not line.strip():
        continue
    f = line.split("\t")
    if len(f) != 7 or f[6] not in ("met", "MISSED", "info", "FAILED"):
        print("bench.sh: malformed row: %r" % line, file=sys.stderr)
        bad += 1
        continue
    rows.append(f)
met = sum(r[6] == "met" for r in rows)
missed = [r for r in rows if r[6] == "MISSED"]
failed = sum(r[6] == "FAILED" for r in rows)
summary = "%d goals met, %d missed" % (met, len(missed)) + (", %d row scripts FAILED" % failed if failed else "")
parts = meta["rows"].split()
times = ", ".join("%s %s s" % (parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2))

# The plain text report.
w = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(hdr)]
fmt = lambda r: "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
with open(txt_out, "w", encoding="utf-8") as t:
    t.write("halfclose benchmark: the same workload without and with LD_PRELOAD=libhalfclose.so"
            " (or the supervisor)%s\n" % (" - counts only" if meta["part"] == "counts" else ""))
    t.write("machine: %s, %s\n" % (meta["machine"], meta["date"]))
    t.write("command: %s; %s s (%s)\n" % (meta["command"], meta["seconds"], times))
    t.write("load average: %s\n" % meta["load"])
    t.write("system calls counted with %s; a count is shim minus plain at N and 2N requests\n" % meta["counted"])
    t.write("timed: interleaved plain/shim pairs in one invocation; ratio = the median of the pairs' ratios;"
            " spread = half the inter-quartile range / median\n\n")
    t.write(fmt(hdr) + "\n" + "  ".join("-" * x for x in w) + "\n")
    for r in rows:
        t.write(fmt(r) + "\n")
    t.write("\n" + summary + "\n")

# The same as markdown, for README.md's Cost section (tools/bench/readme.py).
cell = lambda s: s.replace("|", "\\|")
def goal(r):
    g, v = r[5], r[6]
    if v == "met":
        return "%s: met" % g
    if v == "MISSED":
        return "%s: **missed**" % g
    if v == "FAILED":
        return "**FAILED**"
    return "(info)" if g in ("-", "") else "%s (info)" % g
para = lambda text: textwrap.fill(text, width=115, break_long_words=False, break_on_hyphens=False) + "\n"
with open(md_out, "w", encoding="utf-8") as m:
    m.write(para("From one run of `%s` (%s s) on %s, %s; load average %s. System calls counted with %s,"
                 " shim minus plain at N and 2N requests so that start-up cancels; timed rows are the medians"
                 " of interleaved plain/shim pairs in one invocation, the ratio the median of the pairs'"
                 " ratios, spread half the inter-quartile range. %s."
                 % (meta["command"], meta["seconds"], meta["machine"], meta["date"], meta["load"],
                    meta["counted"], summary[0].upper() + summary[1:])) + "\n")
    m.write("| workload | measure | without | with | result | goal |\n|---|---|---|---|---|---|\n")
    for r in rows:
        m.write("| %s |\n" % " | ".join(cell(c) for c in r[:5] + [goal(r)]))
    if missed:
        names = list(dict.fromkeys(r[0] for r in missed))
        m.write("\n" + para("Missed: %s." % "; ".join(names)))

print(open(txt_out, encoding="utf-8").read(), end="")
sys.exit(1 if bad else 0)
PY
echo "(saved to $OUT.txt and $OUT.md)"
exit $status
