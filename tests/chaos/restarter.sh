#!/usr/bin/env bash
# tests/chaos/restarter.sh — keeps a chaos_server running, and restarts it at random.
#
#   restarter.sh SERVER PORT LOG SEED MIN_MS MAX_MS [SERVER_OPTION...]
#
# Starts SERVER PORT LOG SEED*1000+N [SERVER_OPTION...] (N: how many servers it
# started before), then every MIN_MS..MAX_MS either restarts the server's
# listening socket (SIGUSR1, one time in three: the port refuses for a moment,
# the connections stay) or ends the server (SIGTERM: it closes or resets every
# connection) and starts the next one 0..299 ms later (the port refuses
# meanwhile).  Random numbers from bash's RANDOM, seeded with SEED.  Runs until
# it gets SIGTERM or SIGINT, which it passes to the server it has in hand.
set -u
if [ $# -lt 6 ]; then
    echo "usage: restarter.sh SERVER PORT LOG SEED MIN_MS MAX_MS [SERVER_OPTION...]" >&2
    exit 2
fi
server=$1 port=$2 log=$3 seed=$4 min_ms=$5 max_ms=$6
shift 6
RANDOM=$seed
n=0
pid=
trap 'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid"; fi; exit 0' TERM INT

# nap MS: sleep MS milliseconds, in the background so that a signal ends the wait at once.
nap() {
    sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" &
    wait $!
}

while :; do
    "$server" "$port" "$log" $((seed * 1000 + n)) "$@" &
    pid=$!
    n=$((n + 1))
    while :; do
        nap $((min_ms + RANDOM % (max_ms - min_ms + 1)))
        ((RANDOM % 3 == 0)) || break
        kill -USR1 "$pid" 2>/dev/null
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    pid=
    nap $((RANDOM % 300))
done
