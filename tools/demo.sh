#!/usr/bin/env bash
# tools/demo.sh — the seed document's experiment, without and with halfclose
# (run by `make demo`; HC_BUILD = the build directory).
#
# Server: nmap's `ncat -l 127.0.0.1 PORT -i 2`, which closes a connection
# idle for 2 s (its idle timer ends the whole process, so a loop restarts it).
# Client: build/clients/seed_client, the C twin of the seed's client.go:
# connect, sleep 6 s, write "Halo", sleep 3 s, write "Halo2".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HC_BUILD=${HC_BUILD:-$ROOT/build}
LAUNCHER=$HC_BUILD/halfclose
CLIENT=$HC_BUILD/clients/seed_client
PY=/usr/bin/python3

for f in "$LAUNCHER" "$CLIENT"; do
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

if ! P1=$(pick_port) || ! P2=$(pick_port); then
    echo "demo: no free port" >&2
    exit 1
fi

echo "Server: ncat -l 127.0.0.1 PORT -i 2   (closes a connection idle for 2 s; restarted when it exits)"
echo "Client: seed_client HOST PORT         (connect, sleep 6 s, write \"Halo\", sleep 3 s, write \"Halo2\")"
echo

echo "=== 1. without halfclose: $CLIENT 127.0.0.1 $P1"
start_ncat plain "$P1"
"$CLIENT" 127.0.0.1 "$P1" 2>&1 | sed -u 's/^/  client| /'
rc1=${PIPESTATUS[0]}
sleep 0.2
echo "  client: $(describe_rc "$rc1")"
show_server plain
echo

echo "=== 2. with halfclose: $LAUNCHER --stats FILE --log info -- $CLIENT 127.0.0.1 $P2"
start_ncat shim "$P2"
"$LAUNCHER" --stats "$W/stats" --log info -- "$CLIENT" 127.0.0.1 "$P2" 2>&1 | sed -u 's/^/  client| /'
rc2=${PIPESTATUS[0]}
sleep 0.2
echo "  client: $(describe_rc "$rc2")"
show_server shim
if [ -s "$W/stats" ]; then
    echo "  stats:  $(tail -n1 "$W/stats")"
else
    echo "  stats:  (no stats line was written)"
fi
echo

reconnects=$(awk '/^halfclose / { for (i = 2; i <= NF; i++) if ($i ~ /^reconnects=/) v = substr($i, 12) } END { print v + 0 }' "$W/stats" 2>/dev/null)
reconnects=${reconnects:-0}
out1=$(cat "$W/plain.out" 2>/dev/null)
out2=$(cat "$W/shim.out" 2>/dev/null)
if [ "$rc1" -ne 0 ] && [[ $out1 != *Halo* ]] && [ "$rc2" -eq 0 ] && [ "$out2" = HaloHalo2 ] && [ "$reconnects" -ge 2 ]; then
    if [ "$rc1" -eq 141 ]; then how="died of SIGPIPE"; else how="failed ($(describe_rc "$rc1"))"; fi
    echo "Without halfclose the first write vanished and the second $how; with it, both reached the server over $reconnects fresh connections at the same fd."
    exit 0
fi
echo "Unexpected outcome: without halfclose the client ended with $(describe_rc "$rc1") and the server got \"$out1\"; with it, $(describe_rc "$rc2"), the server got \"$out2\", reconnects=$reconnects."
exit 1
