# shellcheck shell=bash
# tests/netns.sh - sourced first by the tests that need a network namespace of
# their own (race/run.sh, chaos/run.sh): lo there is theirs alone, and their
# iptables rules vanish with it however the test ends. Only a function: the
# script re-runs itself before it sources anything else.
#
#   hc_enter_netns NAME "$0" "$@"
#
# Re-runs the script in a private network namespace (unshare -n as root; else
# an unprivileged user namespace, unshare -rn, in which we are uid 0, so the
# port locks of lib.sh, named by uid, get a TMPDIR of our own), unless it is
# already in one made for NAME; then sets lo up there and returns. One clear
# line and exit 1 if neither works.
hc_enter_netns() {
    local name=$1 dir
    shift
    if [ "${HC_IN_NETNS:-}" != "$name" ]; then
        if [ "$(id -u)" = 0 ]; then
            HC_IN_NETNS=$name exec unshare -n -- bash "$@"
        fi
        dir=${TMPDIR:-/tmp}/hc-$name-$(id -u)
        { [ -d "$dir" ] || mkdir -m 0700 "$dir"; } && TMPDIR=$dir HC_IN_NETNS=$name exec unshare -rn -- bash "$@"
        echo "$name: cannot enter a network namespace (unshare -n needs root; unshare -rn failed too)" >&2
        exit 1
    fi
    ip link set lo up || { echo "$name: ip link set lo up failed" >&2; exit 1; }
}
