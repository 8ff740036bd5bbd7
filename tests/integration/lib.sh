# shellcheck shell=bash
# tests/integration/lib.sh — the integration tests' library: tests/lib.sh,
# which is everything they use (nothing is theirs alone).
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
