#!/usr/bin/env bash
# A static Go program writing 200 000 lines, one write(2) each, to a file, to
# a pipe, and through an os.Pipe inside itself (tests/go/behave.go `lines`,
# `pipe`): under halfclose (auto-detected, supervised: the supervisor may see
# every write) the output is byte for byte the same and the exit status 0.
# What it costs is measured by `make bench`, not here.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=200000

# big NAME CMD...: run CMD with stdout to $T/NAME.out (not shown: 5 MB) and
# to a pipe whose sha256 goes to $T/NAME.sum; RC is the status of the run to
# the file, PRC of the run into the pipe.
big() {
    local name=$1 t0 t1 t2
    shift
    hc_log "+ $* >FILE; $* | sha256sum"
    t0=$(date +%s%N)
    timeout -k 2 40 "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    t1=$(date +%s%N)
    timeout -k 2 40 "$@" </dev/null 2>>"$T/$name.err" | sha256sum >"$T/$name.sum"
    PRC=${PIPESTATUS[0]}
    t2=$(date +%s%N)
    hc_show_file "$T/$name.err" stderr
    hc_log "    to a file: exit status $(hc_describe_rc "$RC") after $(((t1 - t0) / 1000000)) ms," \
        "$(wc -l <"$T/$name.out") lines, $(wc -c <"$T/$name.out") bytes"
    hc_log "    to a pipe: exit status $(hc_describe_rc "$PRC") after $(((t2 - t1) / 1000000)) ms"
}

hc_section "plain: behave lines $N, behave pipe $N"
big lines_plain "$HC_GO/behave" lines "$N"
hc_assert_rc 0 "behave lines >FILE"
hc_check "behave lines | sha256sum exits 0" [ "$PRC" -eq 0 ]
hc_check "$N lines written" [ "$(wc -l <"$T/lines_plain.out")" -eq "$N" ]
hc_check "the same bytes through the pipe" \
    [ "$(cut -d' ' -f1 "$T/lines_plain.sum")" = "$(sha256sum <"$T/lines_plain.out" | cut -d' ' -f1)" ]
hc_run_plain ospipe_plain "$HC_GO/behave" pipe "$N"
hc_assert_rc 0 "behave pipe"
hc_assert_contains "$OUT" "pipe: $N lines" "behave pipe stdout"

hc_require_launcher
hc_section "halfclose (auto-detected): the same"
: >"$T/lines_hc.stats"
big lines_hc env "HALFCLOSE_STATS=$T/lines_hc.stats" "$HC_LAUNCHER" "$HC_GO/behave" lines "$N"
hc_show_file "$T/lines_hc.stats" stats
hc_assert_rc 0 "halfclose behave lines >FILE"
hc_check "halfclose behave lines | sha256sum exits 0" [ "$PRC" -eq 0 ]
hc_check "identical output to a file" cmp -s "$T/lines_plain.out" "$T/lines_hc.out"
hc_check "identical output through a pipe" cmp -s "$T/lines_plain.sum" "$T/lines_hc.sum"
hc_assert_stat_present "$T/lines_hc.stats" managed
hc_run_hc ospipe_hc "$HC_GO/behave" pipe "$N"
hc_assert_rc 0 "halfclose behave pipe"
hc_check "identical output through an os.Pipe" cmp -s "$T/ospipe_plain.out" "$OUT"
hc_assert_stat_present "$STATS" managed

hc_finish
