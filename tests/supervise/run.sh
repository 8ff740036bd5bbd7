#!/usr/bin/env bash
# tests/supervise/run.sh — run the supervisor tests (make supervise, part of make check).
#
#   tests/supervise/run.sh [NAME...]       NAME: t_foo or t_foo.sh; default all
#
# tests/integration/run.sh on this directory (same output, same environment),
# 12 tests at once by default: they mostly sleep through idle timeouts. The
# tests source tests/supervise/lib.sh, which builds on tests/lib.sh.
cd "$(dirname "$0")/../.." || exit 1
HC_TEST_DIR=tests/supervise HC_JOBS=${HC_JOBS:-12} HC_TEST_TIMEOUT=${HC_TEST_TIMEOUT:-80} \
    exec tests/integration/run.sh "$@"
