#!/usr/bin/env bash
# tools/demo.sh — the seed document's experiment, without and with halfclose
# (run by `make demo`; HC_BUILD = the build directory).
#
# Server: nmap's `ncat -l 127.0.0.1 PORT -i 2`, which closes a connection
# idle for 2 s (its idle timer ends the whole process, so a loop restarts it).
# Clients: build/clients/seed_client, the C twin of the seed's client.go
# (connect, sleep 6 s, write "Halo", sleep 3 s, write "Halo2"), under
# LD_PRELOAD; then the seed's Go client itself (build/go/seed_client, static),
# which the launcher runs under its supervisor.  HC_LAUNCHER: another launcher
# than the build's (an installed one: the package test runs the demo so).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HC_BUILD=${HC_BUILD:-$ROOT/build}
LAUNCHER=${HC_LAUNCHER:-$HC_BUILD/halfclose}
CLIENT=$HC_BUILD/clients/seed_client
GO_CLIENT=$HC_BUILD/go/seed_client
PY=/usr/bin/python3

for f in "$LAUNCHER" "$CLIENT" "$GO_CLIENT"; do
    [ -x "$f" ] || { echo "demo: $f is missing (run make first)" >&2; exit 1; }
done
command -v ncat >/dev/null || { echo "demo: ncat is not installed (make deps)" >&2; exit 1; }
unset LD_PRELOAD

W=$(mktemp -d "${TMPDIR:-/tmp}/halfclose-demo.XXXXXX") || exit 1
PGIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local pg
    trap - EXIT INT TERM
    for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
    sleep 0.2
    for pg in "${PGIDS[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pick_port() { # a free port below the ephemeral range
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if "$PY" -c 'import socket,sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$p" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

listening() {
    awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
                                        END { exit !f }' /proc/net/tcp
}

# start_ncat NAME PORT: ncat in a respawn loop, in its own process group;
# what clients send goes to $W/NAME.out.  Its stdin is a FIFO opened
# read-write: it never reaches EOF (at EOF ncat would half-close every
# connection at once).
start_ncat() {
    local name=$1 port=$2 i
    mkfifo "$W/$name.fifo"
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'echo $$ >"$0.pgid.tmp" && mv "$0.pgid.tmp" "$0.pgid"
        while :; do ncat -l 127.0.0.1 "$1" -i 2 <>"$0.fifo" || sleep 0.05; done' \
        "$W/$name" "$port" </dev/null >"$W/$name.out" 2>"$W/$name.err" &
    for ((i = 0; i < 250; i++)); do
        [ -s "$W/$name.pgid" ] && listening "$port" && break
        sleep 0.02
    done
    [ -s "$W/$name.pgid" ] || { echo "demo: could not start ncat" >&2; exit 1; }
    PGIDS+=("$(cat "$W/$name.pgid")")
    listening "$port" || { echo "demo: ncat does not listen on $port" >&2; exit 1; }
}

describe_rc() {
    if [ "$1" -gt 128 ]; then echo "killed by SIG$(kill -l "$(($1 - 128))")"; else echo "exit status $1"; fi
}

show_server() { # NAME
    if [ -s "$W/$1.out" ]; then
        printf '  server printed: "%s"\n' "$(cat "$W/$1.out")"
    else
        echo "  server printed: nothing"
    fi
}

# demo_pair NAME CLIENT: CLIENT against its own ncat, without then with
# halfclose; prints both runs and a verdict; returns 0 if the run without
# lost the first write and the run with got both words through, healed.
demo_pair() {
    local name=$1 client=$2 p1 p2 rc1 rc2 reconnects out1 out2 how
    if ! p1=$(pick_port) || ! p2=$(pick_port); then
        echo "demo: no free port" >&2
        return 1
    fi
    echo "=== without halfclose: $client 127.0.0.1 $p1"
    start_ncat "$name.plain" "$p1"
    "$client" 127.0.0.1 "$p1" 2>&1 | sed -u 's/^/  client| /'
    rc1=${PIPESTATUS[0]}
    sleep 0.2
    echo "  client: $(describe_rc "$rc1")"
    show_server "$name.plain"
    echo

    echo "=== with halfclose: $LAUNCHER --stats FILE --log info -- $client 127.0.0.1 $p2"
    start_ncat "$name.shim" "$p2"
    "$LAUNCHER" --stats "$W/$name.stats" --log info -- "$client" 127.0.0.1 "$p2" 2>&1 | sed -u 's/^/  client| /'
    rc2=${PIPESTATUS[0]}
    sleep 0.2
    echo "  client: $(describe_rc "$rc2")"
    show_server "$name.shim"
    if [ -s "$W/$name.stats" ]; then
        echo "  stats:  $(tail -n1 "$W/$name.stats")"
    else
        echo "  stats:  (no stats line was written)"
    fi

    reconnects=$(awk '/^halfclose / { for (i = 2; i <= NF; i++) if ($i ~ /^reconnects=/) v = substr($i, 12) }
                      END { print v + 0 }' "$W/$name.stats" 2>/dev/null)
    reconnects=${reconnects:-0}
    out1=$(cat "$W/$name.plain.out" 2>/dev/null)
    out2=$(cat "$W/$name.shim.out" 2>/dev/null)
    if [ "$rc1" -ne 0 ] && [[ $out1 != *Halo* ]] && [ "$rc2" -eq 0 ] && [ "$out2" = HaloHalo2 ] &&
        [ "$reconnects" -ge 2 ]; then
        if [ "$rc1" -eq 141 ]; then how="died of SIGPIPE"; else how="failed ($(describe_rc "$rc1"))"; fi
        echo "  => without halfclose the first write vanished and the second $how; with it, both reached"
        echo "     the server over $reconnects fresh connections at the same fd."
        echo
        return 0
    fi
    echo "  => unexpected: without halfclose the client ended with $(describe_rc "$rc1") and the server got"
    echo "     \"$out1\"; with it, $(describe_rc "$rc2"), the server got \"$out2\", reconnects=$reconnects."
    echo
    return 1
}

echo "Server: ncat -l 127.0.0.1 PORT -i 2   (closes a connection idle for 2 s; restarted when it exits)"
echo "Client: connect, sleep 6 s, write \"Halo\", sleep 3 s, write \"Halo2\""
echo
echo "### 1. seed_client (C, dynamically linked): halfclose preloads its library"
echo
demo_pair c "$CLIENT"
c_ok=$?
echo "### 2. the seed's own Go client (static Go binary): halfclose supervises it"
echo
demo_pair go "$GO_CLIENT"
go_ok=$?
[ "$c_ok" -eq 0 ] && [ "$go_ok" -eq 0 ]
