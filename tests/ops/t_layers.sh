#!/usr/bin/env bash
# The house rules of the include graph (README, "Layout"): tools/check_layers.py
# finds no include that goes up a layer, no circle, no call from the core to a
# symbol the wrappers export, no shim/ room without a layer.  And the check
# can fail: on a copy of the tree with each rule broken once, it names each.
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

hc_section "check_layers.py on the tree"
hc_run_plain layers "$PY" "$HC_ROOT/tools/check_layers.py" "$HC_ROOT"
hc_assert_rc 0 check_layers.py
hc_assert_contains "$OUT" "none goes up a layer, no circle"

hc_section "... and it fails where a rule is broken"
rm -rf "$T/tree" && mkdir -p "$T/tree" && cp -r "$HC_ROOT/shim" "$HC_ROOT/tools" "$T/tree/"
# the core calling our own close (what table.c once did), a header of the
# rules including the books (and so a circle), a tool reaching the library's
# paths, a new room nobody placed
sed -i 's/HC_REAL(close)(c->heal_fd);/close(c->heal_fd);/' "$T/tree/shim/table.c"
sed -i 's/^#include "buf.h"$/#include "buf.h"\n#include "table.h"/' "$T/tree/shim/request.h"
echo '#include "../shim/conn.h"' >>"$T/tree/tools/stats.c"
: >"$T/tree/shim/newroom.c"
hc_run_plain broken "$PY" "$HC_ROOT/tools/check_layers.py" "$T/tree"
hc_assert_rc 1 "check_layers.py on the broken copy"
hc_assert_contains "$OUT" "shim/table.c:"
hc_assert_contains "$OUT" "calls close(), which the wrappers export"
hc_assert_contains "$OUT" "shim/request.h (rules) includes shim/table.h (books): a layer above its own"
hc_assert_contains "$OUT" "a circle: shim/table -> shim/request -> shim/table"
hc_assert_contains "$OUT" "tools/stats.c (tools) includes shim/conn.h (paths)"
hc_assert_contains "$OUT" "shim/newroom.c: a shim/ room without a layer"

hc_finish
