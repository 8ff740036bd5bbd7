#!/usr/bin/env bash
# tests/session/run.sh — run the session tests (make session, part of make check):
# real servers whose connections carry state (redis AUTH/SELECT/HELLO, MariaDB,
# SMTP, PostgreSQL, HTTP/2), real unmodified clients, each without and with
# the library (issue 13).
#
#   tests/session/run.sh [NAME...]         NAME: t_foo or t_foo.sh; default all
#
# tests/integration/run.sh on this directory (same output, same environment),
# 4 tests at once by default. The tests source tests/session/lib.sh, which
# builds on tests/supervise/lib.sh and tests/lib.sh.
cd "$(dirname "$0")/../.." || exit 1
HC_TEST_DIR=tests/session HC_JOBS=${HC_JOBS:-4} HC_TEST_TIMEOUT=${HC_TEST_TIMEOUT:-80} \
    exec tests/integration/run.sh "$@"
