# shellcheck shell=bash disable=SC2034 # the variables are for the tests that source this file
# tests/lib.sh — the one library of the shell tests (integration, supervise,
# session, matrix, ops, race); a directory's own lib.sh sources it and adds
# what only its tests use.
#
# Source it first thing:   . "$(dirname "$0")/lib.sh"   (the directory's), or
#                          . "$(dirname "$0")/../lib.sh"
#
# Environment:
#   HC_BUILD        build directory (absolute); default: <repo>/build
#   HC_PLAIN_ONLY=1 developer knob: run only the halves without the shim and
#                   stop (passing) where the shim half would start
#   HC_KEEP=1       keep the test's temp directory (its path is printed)
#   HC_PRELOAD      what a shim run preloads; default $HC_LIB.  The sanitized
#                   runs (make integration-asan) set the sanitizer runtime,
#                   which must come first, and a sanitized build of the library
#
# What it gives a test:
#   $HOST $PY $HC_ROOT $HC_TESTS $HC_CLIENTS $HC_LIB $HC_LAUNCHER $T (private temp dir)
#   hc_pick_port VAR          free TCP port, locked against parallel runs
#   hc_start NAME CMD...      start a server in its own process group;
#                             stdout -> $T/NAME.out, stderr -> $T/NAME.err
#   hc_start_ncat_loop NAME PORT [IDLE]
#                             `ncat -l 127.0.0.1 PORT -i IDLE` in a respawn loop
#                             (hc_spawn_ncat_loop: the same, without waiting)
#   hc_start_postgres PORT SETTING...
#                             a private PostgreSQL (srv_postgres) with -c SETTING
#                             each; $HC_PG_BIN its server directory
#   hc_wait_port PORT [SECS]  wait until something listens on PORT (or fail)
#   hc_listens_within PORT [SECS]   the same, returning false instead
#   hc_wait_for SECS CMD...   wait until CMD succeeds
#   hc_stop_servers [FROM]    stop the servers started so far (from the FROM-th)
#   hc_run_plain NAME [VAR=VAL...] CMD...   run a client without the shim
#   hc_run_shim  NAME [VAR=VAL...] CMD...   same with LD_PRELOAD=$HC_PRELOAD
#                             and HALFCLOSE_STATS=$T/NAME.stats
#   hc_run_hc    NAME [VAR=VAL...] ARG...   `$HC_LAUNCHER ARG...` (options, `--`,
#                             the program) with HALFCLOSE_STATS=$T/NAME.stats;
#                             nothing preloaded by the test: which mechanism
#                             reaches the program is the launcher's choice
#       all set RC, OUT ($T/NAME.out), ERR ($T/NAME.err), STATS;
#       stdin is /dev/null, or the file or pipe named by HC_STDIN
#   hc_take_vars ARG...       the leading VAR=VAL arguments into HC_VARS
#   the stats lines ("halfclose pid=... KEY=N ..."), one parser, hc_kv:
#     hc_stats_get FILE KEY     value of KEY in the (last) stats line
#     hc_stats_sum FILE KEY     KEY summed over every stats line in FILE (the
#                               supervisor writes one per supervised process)
#     hc_stats HOW KEY FILE...  the same over several files (HOW: last, sum,
#                               nonzero, lines; see hc_kv)
#     hc_kv HOW KEY REGEX FILE...   the same for any KEY=VALUE lines
#   hc_require_shim           stop with a failure if the library is missing
#   hc_require_launcher       stop with a failure if build/halfclose is missing
#   assertions: hc_check, hc_assert_rc, hc_assert_rc_nonzero,
#       hc_assert_contains, hc_assert_lacks, hc_assert_count,
#       hc_assert_server_got, hc_assert_stat,
#       hc_assert_stat_sum, hc_assert_stat_present, hc_assert_no_stats,
#       hc_assert_healed
#   hc_finish                 print the verdict, exit 0 (pass) or 1 (fail)
# Servers are killed (whole process group: respawn loop and children) and
# the temp directory removed when the test exits, however it exits.

set -u

HC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HC_BUILD=${HC_BUILD:-$HC_ROOT/build}
HC_CLIENTS=$HC_BUILD/clients
HC_LIB=$HC_BUILD/libhalfclose.so
HC_PRELOAD=${HC_PRELOAD:-$HC_LIB}
HC_LAUNCHER=$HC_BUILD/halfclose
HC_TESTS=$HC_ROOT/tests
PY=/usr/bin/python3
HOST=127.0.0.1
HC_TEST_NAME=$(basename "$0" .sh)
HC_LOCKDIR=${TMPDIR:-/tmp}/halfclose-test-ports-$(id -u) # per user: lock files are 0644
T=$(mktemp -d "${TMPDIR:-/tmp}/hc-$HC_TEST_NAME.XXXXXX") || exit 1

HC_FAILED=0
HC_CHECKS=0
HC_PGIDS=()
HC_CLIENT=
RC=0 OUT='' ERR='' STATS=''
HC_VARS=()

# Never let the caller's environment leak a preload or a HALFCLOSE_* setting
# into a client, a server or a tool: nothing this shell starts gets them
# unless a run helper sets them.
unset LD_PRELOAD
for _v in $(compgen -e); do
    case $_v in HALFCLOSE_*) unset "$_v" ;; esac
done
unset _v

hc_log() { printf '%s\n' "$*"; }

# hc_stop_servers [FROM]: kill the process groups of the servers hc_start
# started (from the FROM-th on, default all) and of a client still running:
# TERM, then KILL 0.2 s later.
hc_stop_servers() {
    local -a pgids=("${HC_PGIDS[@]:${1:-0}}" ${HC_CLIENT:+"$HC_CLIENT"})
    local pg
    ((${#pgids[@]})) || return 0
    for pg in "${pgids[@]}"; do
        kill -TERM -- "-$pg" 2>/dev/null
    done
    sleep 0.2
    for pg in "${pgids[@]}"; do
        kill -KILL -- "-$pg" 2>/dev/null
    done
    return 0
}

hc_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    hc_stop_servers 0
    if [ "${HC_KEEP:-0}" = 1 ]; then
        echo "(kept $T)"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap hc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports -----------------------------------------------------------------

# hc_listening PORT: true if a socket listens on PORT (any local address).
# Reads /proc/net/tcp{,6} so that it never connects (a probe connection would
# use up a one-shot server such as `ncat -l`).
hc_listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
                     END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# hc_port_in_use PORT: true if any TCP socket (listening or not) uses PORT
# as its local port.
hc_port_in_use() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 }
                     END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# hc_pick_port VAR: store a free port in VAR.  Ports come from 20000-31999,
# below the kernel's ephemeral range (32768-60999 by default), so no client's
# outgoing connection takes them; a flock on $HC_LOCKDIR/PORT.lock, held by
# this test (and inherited by its servers) until it exits, keeps parallel
# tests and parallel runs apart; a bind test catches any other user.
hc_pick_port() {
    local __var=$1 port fd tries=0
    mkdir -p "$HC_LOCKDIR" 2>/dev/null
    while ((tries++ < 200)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        exec {fd}>>"$HC_LOCKDIR/$port.lock" || continue
        if flock -n "$fd" && ! hc_port_in_use "$port" &&
            "$PY" -c 'import socket,sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
            printf -v "$__var" '%s' "$port"
            return 0
        fi
        exec {fd}>&-
    done
    hc_log "lib.sh: could not find a free port"
    exit 1
}

# --- servers ---------------------------------------------------------------

# hc_start NAME CMD...: run CMD in the background as the leader of a new
# session/process group (so that cleanup can kill it with everything it
# spawned), stdin from /dev/null, stdout to $T/NAME.out, stderr to $T/NAME.err.
hc_start() {
    local name=$1 pidf i
    shift
    pidf=$T/$name.pgid
    # shellcheck disable=SC2016 # expanded by the inner shell
    setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" \
        </dev/null >"$T/$name.out" 2>"$T/$name.err" &
    disown $! # stopped by pgid, never waited for (and no "Killed" notice)
    for ((i = 0; i < 200; i++)); do
        [ -s "$pidf" ] && break
        sleep 0.01
    done
    if [ ! -s "$pidf" ]; then
        hc_log "lib.sh: server $name did not start"
        exit 1
    fi
    HC_PGIDS+=("$(cat "$pidf")")
}

# hc_start_ncat_loop NAME PORT [IDLE_S]: nmap's ncat closing each connection
# after IDLE_S (default 2) idle seconds, restarted whenever it exits (its idle
# timer ends the whole process).  Its stdin is a FIFO opened read-write, which
# never reaches EOF: with stdin at EOF ncat would shutdown(SHUT_WR) every
# connection at once.  Everything the clients sent is in $T/NAME.out, ncat's
# messages ("Idle timeout expired") in $T/NAME.err.
hc_start_ncat_loop() {
    hc_spawn_ncat_loop "$@"
    hc_wait_port "$2"
}

# hc_spawn_ncat_loop NAME PORT [IDLE_S]: the same loop, without waiting.
hc_spawn_ncat_loop() {
    local name=$1 port=$2 idle=${3:-2}
    mkfifo "$T/$name.stdin"
    # shellcheck disable=SC2016 # expanded by the inner shell
    hc_start "$name" bash -c \
        'while :; do ncat -l 127.0.0.1 "$1" -i "$2" <>"$3" || sleep 0.05; done' \
        _ "$port" "$idle" "$T/$name.stdin"
}

# hc_wait_port PORT [SECS]: wait (default at most 5 s) until PORT listens;
# if nothing does, say so and end the test (failed).
hc_wait_port() {
    hc_listens_within "$@" && return 0
    hc_log "lib.sh: nothing listens on port $1 after ${2:-5}s"
    exit 1
}

# hc_start_postgres PORT SETTING...: a private PostgreSQL as server srv_postgres,
# the newest Debian installed (its bin directory in HC_PG_BIN): initdb into
# $T/postgres (trust authentication for user "hc", no locale: the caller's LANG
# may name one this machine lacks; output in $T/srv_postgres.initdb), then
# postgres on $HOST:PORT, TCP only, with -c SETTING for each SETTING. It refuses
# to run as root: as root it runs as the `postgres` user the Debian package
# creates (every directory above $T must let it pass, as /tmp does). Returns 1,
# with a line saying why, if there is no server or initdb fails; does not wait
# for the port.
hc_start_postgres() {
    local port=$1 d=$T/postgres s
    local -a as=() opts=() dirs=(/usr/lib/postgresql/*/bin)
    shift
    [ -d "${dirs[0]}" ] || { hc_log "lib.sh: no /usr/lib/postgresql/*/bin (make deps)"; return 1; }
    HC_PG_BIN=$(printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1)
    mkdir -p "$d"
    if [ "$(id -u)" = 0 ]; then
        as=(runuser -u postgres --)
        chmod 711 "$T"
        chown postgres "$d" || return 1
    fi
    "${as[@]}" "$HC_PG_BIN/initdb" -D "$d/data" -U hc --auth=trust --no-sync --no-locale -E UTF8 \
        >"$T/srv_postgres.initdb" 2>&1 || { hc_log "lib.sh: initdb failed"; return 1; }
    for s; do opts+=(-c "$s"); done
    hc_start srv_postgres "${as[@]}" "$HC_PG_BIN/postgres" -D "$d/data" -p "$port" \
        -c listen_addresses="$HOST" -c unix_socket_directories= -c fsync=off "${opts[@]}"
}

# hc_listens_within PORT [SECS]: true as soon as PORT listens, false if it
# still does not after SECS (default 5).
hc_listens_within() {
    local i
    for ((i = 0; i < ${2:-5} * 50; i++)); do
        hc_listening "$1" && return 0
        sleep 0.02
    done
    return 1
}

# hc_wait_for SECS CMD...: true as soon as CMD succeeds (tried every 50 ms),
# false if it still fails after SECS.
hc_wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 20; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    "$@"
}

# --- running clients ---------------------------------------------------------

hc_show_file() { # FILE PREFIX
    [ -s "$1" ] || return 0
    sed -e "s/^/    $2| /" "$1"
    [ -n "$(tail -c1 "$1")" ] && echo
    return 0
}

hc_describe_rc() {
    local rc=$1
    if [ "$rc" -eq 124 ]; then
        echo "$rc (timed out)"
    elif [ "$rc" -gt 128 ]; then
        echo "$rc (killed by SIG$(kill -l "$((rc - 128))" 2>/dev/null))"
    else
        echo "$rc"
    fi
}

# hc_take_vars ARG...: the leading VAR=VAL arguments into the array HC_VARS;
# the caller then drops them with shift "${#HC_VARS[@]}".
hc_take_vars() {
    HC_VARS=()
    while [ $# -gt 0 ] && [[ $1 == [A-Za-z_]*=* ]]; do
        HC_VARS+=("$1")
        shift
    done
}

# hc_show_stats: the stats file of the last run (STATS), if it has one.
hc_show_stats() {
    [ -n "$STATS" ] || return 0
    if [ -s "$STATS" ]; then hc_show_file "$STATS" stats; else hc_log "    (no stats line written)"; fi
}

# hc_show_run T0: what the last run left: its stdout, stderr, exit status,
# the time since T0 (date +%s%N) and its stats file.
hc_show_run() {
    local t1
    t1=$(date +%s%N)
    hc_show_file "$OUT" stdout
    hc_show_file "$ERR" stderr
    hc_log "    exit status $(hc_describe_rc "$RC") after $(((t1 - $1) / 1000000)) ms"
    hc_show_stats
}

# hc_run MODE NAME [VAR=VAL...] CMD...: MODE plain (as it is), shim (the
# library preloaded) or halfclose (CMD is the launcher's arguments); shim and
# halfclose write the stats line to STATS=$T/NAME.stats.
hc_run() {
    local mode=$1 name=$2 t0
    shift 2
    hc_take_vars "$@"
    shift "${#HC_VARS[@]}"
    local -a envv=(env) cmd=("$@")
    OUT=$T/$name.out ERR=$T/$name.err STATS=
    if [ "$mode" != plain ]; then
        STATS=$T/$name.stats
        : >"$STATS"
        envv+=("HALFCLOSE_STATS=$STATS")
    fi
    [ "$mode" = shim ] && envv+=("LD_PRELOAD=$HC_PRELOAD")
    [ "$mode" = halfclose ] && cmd=("$HC_LAUNCHER" "$@")
    envv+=(${HC_VARS[@]+"${HC_VARS[@]}"})
    hc_log "+ [$mode] ${HC_VARS[*]}${HC_VARS[*]:+ }${cmd[*]}"
    t0=$(date +%s%N)
    # In the background and waited for, so that a signal to this shell is
    # handled at once (hc_cleanup then stops the client: timeout leads its
    # own process group).
    timeout -k 2 "${HC_RUN_TIMEOUT:-40}" "${envv[@]}" "${cmd[@]}" <"${HC_STDIN:-/dev/null}" >"$OUT" 2>"$ERR" &
    HC_CLIENT=$!
    wait "$HC_CLIENT"
    RC=$?
    HC_CLIENT=
    hc_show_run "$t0"
    return 0
}
hc_run_plain() { hc_run plain "$@"; }
hc_run_shim() { hc_run shim "$@"; }
hc_run_hc() { hc_run halfclose "$@"; }

# --- the stats lines -----------------------------------------------------------

# hc_kv HOW KEY REGEX FILE...: from the KEY=VALUE fields of the lines of the
# FILEs that match the awk regular expression REGEX, print per HOW:
#   last     KEY's value on the last line that has it
#   sum      KEY summed over the lines
#   nonzero  how many lines have KEY missing or other than 0
#   lines    how many lines there are (KEY unused)
# Fails (last, sum: printing nothing) if no line has KEY, or (nonzero, lines:
# printing 0) if no line matches.  A FILE that does not exist holds no line.
hc_kv() {
    local how=$1 key=$2 re=$3
    shift 3
    cat -- "$@" 2>/dev/null | awk -v how="$how" -v k="$key" -v re="$re" '
        $0 ~ re { n++; v = ""
                  for (i = 1; i <= NF; i++) { e = index($i, "="); if (e && substr($i, 1, e - 1) == k) v = substr($i, e + 1) }
                  if (v != "") { found = 1; last = v; sum += v }
                  if (v != "0") nonzero++ }
        END { if (how == "lines" || how == "nonzero") { print (how == "lines" ? n : nonzero) + 0; exit !n }
              if (!found) exit 1
              print (how == "sum" ? sum : last) }'
}

# hc_stats HOW KEY FILE...: hc_kv on the library's stats lines ("halfclose pid=...").
hc_stats() {
    local how=$1 key=$2
    shift 2
    hc_kv "$how" "$key" '^halfclose ' "$@"
}
hc_stats_get() { [ -f "$1" ] && hc_stats last "$2" "$1"; }
hc_stats_sum() { [ -f "$1" ] && hc_stats sum "$2" "$1"; }

# hc_require_shim, hc_require_launcher: where the half with the library
# starts; it ends the test there under HC_PLAIN_ONLY=1, or with a failure if
# the library (the launcher) is missing.
hc_require_shim() { hc_require "shim" -f "$HC_LIB" "library exists at $HC_LIB"; }
hc_require_launcher() { hc_require "halfclose" -x "$HC_LAUNCHER" "launcher exists at $HC_LAUNCHER"; }
hc_require() {
    if [ "${HC_PLAIN_ONLY:-0}" = 1 ]; then
        hc_log "(HC_PLAIN_ONLY=1: $1 half skipped)"
        hc_finish
    fi
    if ! test "$2" "$3"; then
        hc_fail "$4"
        hc_finish
    fi
}

# --- assertions ----------------------------------------------------------------
# Each prints "  ok: WHAT" or "  FAILED: WHAT"; a failure marks the test
# failed but the test goes on, so that one run shows everything.

hc_pass() { HC_CHECKS=$((HC_CHECKS + 1)); hc_log "  ok: $*"; }
hc_fail() { HC_CHECKS=$((HC_CHECKS + 1)); HC_FAILED=1; hc_log "  FAILED: $*"; }

# hc_check DESCRIPTION CMD...: passes if CMD succeeds.
hc_check() {
    local what=$1
    shift
    if "$@"; then hc_pass "$what"; else hc_fail "$what"; fi
}

# hc_assert_rc EXPECTED [WHAT]: the last run's exit status.
hc_assert_rc() {
    local what=${2:-client}
    if [ "$RC" -eq "$1" ]; then
        hc_pass "$what exits $1"
    else
        hc_fail "$what exits $1 (got $(hc_describe_rc "$RC"))"
    fi
}

hc_assert_rc_nonzero() {
    local what=${1:-client}
    if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
        hc_pass "$what fails (exit status $(hc_describe_rc "$RC"))"
    else
        hc_fail "$what fails (got exit status $(hc_describe_rc "$RC"))"
    fi
}

# hc_assert_contains FILE STRING [WHAT]: fixed-string match.
hc_assert_contains() {
    local what=${3:-$(basename "$1")}
    if grep -qF -- "$2" "$1" 2>/dev/null; then
        hc_pass "$what contains '$2'"
    else
        hc_fail "$what contains '$2' (it has: $(head -c 300 "$1" 2>/dev/null | tr '\n' '|'))"
    fi
}

hc_assert_lacks() {
    local what=${3:-$(basename "$1")}
    if ! grep -qF -- "$2" "$1" 2>/dev/null; then
        hc_pass "$what does not contain '$2'"
    else
        hc_fail "$what does not contain '$2' (it has: $(head -c 300 "$1" | tr '\n' '|'))"
    fi
}

# hc_assert_server_got NAME TEXT: server NAME's stdout ($T/NAME.out) is
# exactly TEXT, once it came (within 2 s: a server may still be writing what
# it got when the client exits).
hc_assert_server_got() {
    local f=$T/$1.out
    hc_wait_for 2 grep -qxF -- "$2" "$f"
    hc_check "server output is exactly '$2' (got '$(cat "$f")')" [ "$(cat "$f")" = "$2" ]
}

# hc_assert_count FILE STRING N [WHAT]: STRING occurs exactly N times.
hc_assert_count() {
    local what=${4:-$(basename "$1")} n
    n=$(grep -oF -- "$2" "$1" 2>/dev/null | wc -l)
    if [ "$n" -eq "$3" ]; then
        hc_pass "$what contains '$2' exactly $3 time(s)"
    else
        hc_fail "$what contains '$2' exactly $3 time(s) (found $n)"
    fi
}

# hc_assert_stat FILE KEY OP VALUE   (OP: -eq -ge -gt -le ...): KEY of the
# last stats line; hc_assert_stat_sum: KEY summed over all of them.
hc_assert_stat() { hc_assert_stat_by last "$@"; }
hc_assert_stat_sum() { hc_assert_stat_by sum "$@"; }
hc_assert_stat_by() {
    local v what="stats $3" all=
    [ "$1" = sum ] && what="stats $3 (all lines)" all=", all lines"
    if ! v=$(hc_stats "$1" "$3" "$2"); then
        hc_fail "$what $4 $5 (no stats line with key $3 in $(basename "$2"))"
        return
    fi
    if test "$v" "$4" "$5" 2>/dev/null; then
        hc_pass "stats $3=$v$all ($4 $5)"
    else
        hc_fail "$what $4 $5 (got $3=$v)"
    fi
}

# hc_assert_stat_present FILE KEY: the stats line has KEY with a number.
hc_assert_stat_present() {
    local v
    if v=$(hc_stats_get "$1" "$2") && [[ $v =~ ^[0-9]+$ ]]; then
        hc_pass "stats line has $2=$v"
    else
        hc_fail "stats line has $2=<number> (in $(basename "$1"): $(head -c 300 "$1" 2>/dev/null | tr '\n' '|'))"
    fi
}

# hc_assert_no_stats [WHAT]: the last run wrote no stats line.
hc_assert_no_stats() {
    if hc_stats lines "" "$STATS" >/dev/null; then
        hc_fail "${1:-the program} wrote no stats line (got: $(tr '\n' '|' <"$STATS"))"
    else
        hc_pass "${1:-the program} wrote no stats line"
    fi
}

# hc_assert_healed N: the last shim run's stats say stale >= N,
# reconnects >= N and reconnect_failures = 0.
hc_assert_healed() {
    hc_assert_stat "$STATS" stale -ge "$1"
    hc_assert_stat "$STATS" reconnects -ge "$1"
    hc_assert_stat "$STATS" reconnect_failures -eq 0
}

hc_section() { hc_log ""; hc_log "== $*"; }

# hc_finish: verdict and exit.  On failure, dump every server log.
hc_finish() {
    local f
    if [ "$HC_FAILED" -ne 0 ] || [ "$HC_CHECKS" -eq 0 ]; then
        [ "$HC_CHECKS" -eq 0 ] && hc_log "  FAILED: no assertion was made"
        hc_log ""
        hc_log "-- server logs ($T):"
        for f in "$T"/*.out "$T"/*.err "$T"/*.log; do
            [ -s "$f" ] || continue
            case $(basename "$f") in srv_*) ;; *) continue ;; esac
            hc_log "  $(basename "$f"):"
            hc_show_file "$f" ""
        done
        hc_log "RESULT: $HC_TEST_NAME FAILED"
        exit 1
    fi
    hc_log "RESULT: $HC_TEST_NAME passed ($HC_CHECKS checks)"
    exit 0
}
