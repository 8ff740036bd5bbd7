#!/usr/bin/env bash
# The documents agree with the code: tools/check_docs.py checks the README's
# configuration table, `halfclose --help` and libhalfclose(7) against the
# parser's table (shim/config.c), the flags of halfclose(1) against every
# --help, the counters of libhalfclose(7) against HC_STATS_KEYS; both man
# pages lint clean (mandoc -T lint, man --warnings).  And the check can fail:
# on a copy of the tree with a variable added to the parser, a default
# changed in the README, or a counter added, it names each disagreement.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"

hc_section "man pages lint clean"
for page in "$HC_ROOT/man/halfclose.1" "$HC_ROOT/man/libhalfclose.7"; do
    hc_run_plain mandoc mandoc -T lint -W warning "$page"
    hc_check "mandoc -T lint -W warning $(basename "$page"): rc 0, nothing said" [ "$RC" = 0 ] && [ ! -s "$OUT" ] &&
        [ ! -s "$ERR" ]
    MANWIDTH=80 man --warnings -l "$page" >"$T/man.out" 2>"$T/man.err"
    hc_check "man --warnings -l $(basename "$page"): no warning" [ -s "$T/man.out" ] && [ ! -s "$T/man.err" ]
    hc_show_file "$T/man.err" man
done

hc_section "check_docs.py on the tree"
hc_run_plain docs "$PY" "$HC_ROOT/tools/check_docs.py" "$HC_LAUNCHER"
hc_assert_rc 0 check_docs.py
hc_assert_contains "$OUT" "agree"

# copy_tree: the files check_docs.py reads, into $T/tree (fresh).
copy_tree() {
    rm -rf "$T/tree"
    mkdir -p "$T/tree/shim" "$T/tree/man" "$T/tree/tools"
    cp "$HC_ROOT"/shim/config.c "$HC_ROOT"/shim/config.h "$HC_ROOT"/shim/proto.h "$HC_ROOT"/shim/log.h "$T/tree/shim/"
    cp "$HC_ROOT"/man/* "$T/tree/man/"
    cp "$HC_ROOT/README.md" "$T/tree/"
    cp "$HC_ROOT/tools/check_docs.py" "$T/tree/tools/"
}

hc_section "... and it fails where they disagree"
copy_tree
sed -i 's|{ "HALFCLOSE_STATS_DIR",|{ "HALFCLOSE_NEW_ONE", "0 or 1", parse_disable, 0, 0, 0 },\n\t&|' "$T/tree/shim/config.c"
hc_run_plain added "$PY" "$T/tree/tools/check_docs.py" "$HC_LAUNCHER"
hc_assert_rc 1 "check_docs.py with a new parser variable"
hc_assert_contains "$OUT" "README.md's Configuration table: HALFCLOSE_NEW_ONE (a variable of shim/config.c) is missing"
hc_assert_contains "$OUT" "man/libhalfclose.7 ENVIRONMENT: HALFCLOSE_NEW_ONE (a variable of shim/config.c) is missing"
hc_assert_contains "$OUT" "halfclose --help: HALFCLOSE_NEW_ONE (a variable of shim/config.c) is missing"
copy_tree
sed -i 's/^\(| `HALFCLOSE_MIN_IDLE_MS` .*| \)`250` |$/\1`200` |/' "$T/tree/README.md"
sed -i 's/^Accepted: milliseconds, 1 to 600000\.$/Accepted: milliseconds./' "$T/tree/man/libhalfclose.7"
hc_run_plain changed "$PY" "$T/tree/tools/check_docs.py" "$HC_LAUNCHER"
hc_assert_rc 1 "check_docs.py with a wrong default and a wrong range"
hc_assert_contains "$OUT" "README.md: HALFCLOSE_MIN_IDLE_MS's default is '200'; hc_config_defaults says '250'"
hc_assert_contains "$OUT" "HALFCLOSE_CONNECT_TIMEOUT_MS lacks \"Accepted: milliseconds, 1 to 600000.\""
copy_tree
sed -i 's/X(stateful_skipped) X(unknown_skipped)/X(stateful_skipped) X(unknown_skipped) X(new_counter)/' \
    "$T/tree/shim/log.h"
sed -i 's/^\.It Fl \\-prune$/.It Fl \\-prunes/' "$T/tree/man/halfclose.1"
hc_run_plain counter "$PY" "$T/tree/tools/check_docs.py" "$HC_LAUNCHER"
hc_assert_rc 1 "check_docs.py with a new counter and a misspelt flag"
hc_assert_contains "$OUT" "HC_STATS_KEYS is ["
hc_assert_contains "$OUT" "man/halfclose.1: no item for --prune (in --help)"
hc_assert_contains "$OUT" "man/halfclose.1: --prunes is not a flag any --help shows"

hc_finish
