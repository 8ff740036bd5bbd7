#!/usr/bin/env bash
# tests/matrix/run.sh — the real-server regression matrix (make check).
#
#   tests/matrix/run.sh [--update-readme] [CASE...]      default: every case
#
# Starts redis, memcached, nginx, socat, ncat and PostgreSQL on 127.0.0.1,
# each closing idle connections after 1-2 s (servers.sh), and measures how
# each one closes an idle connection (closewatch.py): the gap every client
# leaves between its requests is the slowest close seen plus 1.5 s.  Then runs
# each case's client (cases.sh) twice, without and with
# LD_PRELOAD=$HC_BUILD/libhalfclose.so, HC_MATRIX_JOBS (default 8) cases at a
# time, and judges it by its kind: heal, cope or passthrough.
#
# Prints the log of every failed case, a table (case, server, kind, plain,
# shim, verdict) and "N passed, M failed"; exits 1 if any verdict is wrong.
# A server that does not start or does not close idle connections fails
# every case that needs it, and its log is shown.  Writes
# $HC_BUILD/matrix/tested-against.md; --update-readme also puts it into
# README.md, between the "tested-against" markers (only after a full run in
# which every case passed).
#
# Environment: HC_BUILD (absolute build dir, default <repo>/build; the
# clients are in $HC_BUILD/clients and $HC_BUILD/matrix), HC_KEEP=1 keeps
# the temp dir.
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
export LC_ALL=C # the servers' and clients' messages are compared as text
M_DIR=$HC_TESTS/matrix
M_BIN=$HC_BUILD/matrix
M_REPORT=$M_BIN/tested-against.md

update_readme=0
if [ "${1:-}" = --update-readme ]; then
    update_readme=1
    shift
fi

# --- registry (cases.sh calls these) --------------------------------------------

M_CASES=()
declare -A M_KIND M_SERVER M_ARG M_REASON
m_register() { # KIND NAME SERVER [ARG...]
    M_CASES+=("$2")
    M_KIND[$2]=$1 M_SERVER[$2]=$3
}
m_heal() { m_register heal "$1" "$2"; M_ARG[$1]=$3 M_REASON[$1]=$4; }
m_cope() { m_register cope "$1" "$2"; }
m_passthrough() { m_register passthrough "$1" "$2"; M_ARG[$1]="${*:3}"; }

# --- what a case function calls ----------------------------------------------------

m_client() { M_CLIENT=$1; }

# m_run MODE CMD...: runs CMD once without (plain) or with (shim) the
# library; sets RC, OUT, ERR, STATS (tests/lib.sh: hc_run).
m_run() {
    local mode=$1
    shift
    hc_run "$mode" "${M_CASE}_$mode" "$@"
}

# m_gap_s SERVER: the measured gap for SERVER in seconds ("2.300").
m_gap_s() { printf '%d.%03d' $((GAP_MS[$1] / 1000)) $((GAP_MS[$1] % 1000)); }

# m_ok WHY CMD...: the run did its job if CMD succeeds; WHY describes it.
m_ok() {
    local why=$1
    shift
    if "$@"; then M_OK=1; else M_OK=0; fi
    M_WHY=$why
}

# m_ok_count STRING N [RC]: it did its job if it exited RC (default 0) and
# STRING is on exactly N lines of what it printed (stdout and stderr).
m_ok_count() {
    local n
    n=$(cat "$OUT" "$ERR" | grep -cF -- "$1")
    m_ok "$n x '$1'" test "$RC" -eq "${3:-0}" -a "$n" -eq "$2"
}

# m_ok_done: it did its job if it exited 0, said "ok" last and nothing on stderr.
m_ok_done() {
    m_ok "" test "$RC" -eq 0 -a "$(tail -n 1 "$OUT")" = ok -a ! -s "$ERR"
}

# m_pyclient MODE KIND SERVER: pyclient.py KIND, 3 rounds, SERVER's gap apart.
m_pyclient() {
    local py=$M_DIR/clients/pyclient.py
    m_client "$("$PY" "$py" --version "$2")"
    m_run "$1" "$PY" "$py" "$2" "$HOST" "${PORT[$3]}" 3 "${GAP_MS[$3]}"
    m_ok_done
}

# shellcheck source=servers.sh
. "$M_DIR/servers.sh"
# shellcheck source=cases.sh
. "$M_DIR/cases.sh"

# --- running one case ----------------------------------------------------------------

# m_summary: one line for the table about the last run: "ok" or "fail",
# and unless it did its job with exit status 0, that status and the first
# thing it said on stderr (else the last on stdout).
m_summary() {
    local said
    if [ "$M_OK" = 1 ]; then printf 'ok'; else printf 'fail'; fi
    if [ "$M_OK" != 1 ] || [ "$RC" != 0 ]; then
        said=$(grep -m1 -v '^[[:space:]]*$' "$ERR" 2>/dev/null ||
            grep -v '^[[:space:]]*$' "$OUT" 2>/dev/null | tail -n 1)
        said=${said//$'\t'/ } # the row is tab-separated
        printf ': exit %s' "$(hc_describe_rc "$RC")"
        [ -n "$said" ] && printf ': %s' "${said:0:90}"
    fi
    [ -n "$M_WHY" ] && [ "$M_OK" != 1 ] && printf '; %s' "$M_WHY"
    if [ -n "$STATS" ]; then
        printf ' (reconnects=%s unread_kept=%s stateful_skipped=%s)' "$(hc_stats_get "$STATS" reconnects || echo ?)" \
            "$(hc_stats_get "$STATS" unread_kept || echo ?)" "$(hc_stats_get "$STATS" stateful_skipped || echo ?)"
    fi
}

# m_normalise FILE...: their text with ports, times and pids replaced.
m_normalise() {
    cat "$@" | sed -E -e "s/\b${PORT[${M_SERVER[$M_CASE]}]}\b/PORT/g" \
        -e 's/[0-9]+(\.[0-9]+)? ?(ms|s)\b/TIME/g' -e 's/pid[ =][0-9]+/pid N/g'
}

# run_case NAME: both runs and the verdict; the log goes to stdout and the
# table row to $T/rows/NAME (tab-separated: name server kind client plain
# shim verdict).
run_case() {
    local name=$1 kind=${M_KIND[$1]} server=${M_SERVER[$1]} base=${#HC_PGIDS[@]}
    local p_ok p_rc p_sum p_text s_ok s_rc s_sum verdict
    # shellcheck disable=SC2064 # base is fixed now
    trap "hc_stop_servers $base" EXIT
    trap 'exit 143' TERM
    M_CASE=$name M_CLIENT=$name
    if [ -z "${GAP_MS[$server]:-}" ]; then
        hc_fail "server $server is running and closes idle connections"
    else
        hc_section "$name: $kind, against $server, without the shim"
        M_OK=0 M_WHY=
        "c_$name" plain
        p_ok=$M_OK p_rc=$RC p_sum=$(m_summary)
        p_text=$(m_normalise "$OUT" "$ERR")
        cat "$OUT" "$ERR" "$STATS" >"$T/${name}_plain.all" 2>/dev/null
        hc_section "$name: with the shim"
        M_OK=0 M_WHY=
        "c_$name" shim
        s_ok=$M_OK s_rc=$RC s_sum=$(m_summary)
        hc_section "$name: verdict ($kind)"
        case $kind in
        heal)
            hc_check "without the shim it fails ($p_sum)" [ "$p_ok" = 0 ]
            hc_check "... and the failure says '${M_REASON[$name]}'" \
                grep -qF -- "${M_REASON[$name]}" <(echo "$p_sum") "$T/${name}_plain.all"
            hc_check "with the shim it succeeds ($s_sum)" [ "$s_ok" = 1 ]
            hc_assert_healed "${M_ARG[$name]}"
            ;;
        cope)
            hc_check "without the shim it succeeds ($p_sum)" [ "$p_ok" = 1 ]
            hc_check "with the shim it succeeds ($s_sum)" [ "$s_ok" = 1 ]
            hc_assert_stat "$STATS" reconnect_failures -eq 0
            ;;
        passthrough)
            hc_check "without the shim it does what it does ($p_sum)" [ "$p_ok" = 1 ]
            hc_check "with the shim too ($s_sum)" [ "$s_ok" = 1 ]
            hc_check "same exit status ($p_rc, $s_rc)" [ "$p_rc" = "$s_rc" ]
            if diff <(echo "$p_text") <(m_normalise "$OUT" "$ERR") >"$T/$name.diff"; then
                hc_pass "same output, times and ports normalised"
            else
                hc_fail "same output, times and ports normalised:"
                hc_show_file "$T/$name.diff" diff
            fi
            # shellcheck disable=SC2086 # KEY OP VALUE
            hc_assert_stat "$STATS" ${M_ARG[$name]}
            ;;
        esac
    fi
    verdict=pass
    [ "$HC_FAILED" = 0 ] || verdict=FAIL
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$server" "$kind" "$M_CLIENT" \
        "${p_sum:--}" "${s_sum:--}" "$verdict" | tr -d '\r' >"$T/rows/$name"
    [ "$verdict" = pass ]
}

# --- servers ---------------------------------------------------------------------------

# measure SERVER: closewatch against it (its line in $T/close_SERVER); prints
# the gap for its clients (the slowest close + 1.5 s, in ms), or returns 1.
# Its 12 connections start 300 ms apart, spread over more than a whole period
# of the slowest idle timer (memcached's thread comes round every 3 s or so).
measure() {
    local s=$1 conns=12 line max
    [ "$s" = ncat ] && conns=1 # one connection at a time
    "$PY" "$M_DIR/closewatch.py" "${PROTO[$s]}" "$HOST" "${PORT[$s]}" "$conns" 300 15 \
        >"$T/close_$s" 2>&1 || return 1
    line=$(head -n 1 "$T/close_$s")
    max=$(sed -n 's/.* after_ms=[0-9]*\.\.\([0-9]*\).*/\1/p' <<<"$line")
    [ -n "$max" ] || return 1
    echo $(((max + 1500 + 99) / 100 * 100))
}

if [ ! -f "$HC_LIB" ]; then
    echo "matrix: $HC_LIB is missing (run make)"
    exit 1
fi
mkdir -p "$T/rows" "$T/logs" "$M_BIN"

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${M_CASES[@]}")
declare -A needed UP
declare -A GAP_MS
for c in "${selected[@]}"; do
    if [ -z "${M_KIND[$c]:-}" ]; then
        echo "matrix: no such case: $c (cases: ${M_CASES[*]})"
        exit 2
    fi
    needed[${M_SERVER[$c]}]=1
done

server_failures=()
for s in redis memcached nginx socat ncat postgres; do
    [ -n "${needed[$s]:-}" ] || continue
    if srv_"$s"; then
        UP[$s]=1
    else
        server_failures+=("$s: did not start")
    fi
done
measuring=()
for s in "${!UP[@]}"; do
    measure "$s" >"$T/gap_$s" &
    measuring+=($!)
done
# (not a bare `wait`: the servers are background jobs of this shell too)
wait "${measuring[@]}"
for s in "${!UP[@]}"; do
    if [ -s "$T/gap_$s" ]; then
        GAP_MS[$s]=$(cat "$T/gap_$s")
    else
        server_failures+=("$s: closewatch could not measure an idle close")
    fi
done
for f in "${server_failures[@]}"; do
    s=${f%%:*}
    echo "SERVER $f"
    for log in "$T/close_$s" "$T/srv_$s.out" "$T/srv_$s.err" "$T/srv_$s.initdb"; do
        [ -s "$log" ] && { echo "  $(basename "$log"):"; hc_show_file "$log" ""; }
    done
done

# --- cases, HC_MATRIX_JOBS at a time ------------------------------------------------------

declare -A case_of
running=0
# An interrupted run stops its cases first (each stops its own servers).
m_cleanup() {
    local rc=$? pid
    for pid in "${!case_of[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${!case_of[@]}"; do wait "$pid"; done
    (exit "$rc")
    hc_cleanup
}
trap m_cleanup EXIT
reap_one() {
    local pid
    wait -n -p pid "${!case_of[@]}"
    [ -n "${pid:-}" ] || return 0
    unset "case_of[$pid]"
    running=$((running - 1))
}
for c in "${selected[@]}"; do
    while [ "$running" -ge "${HC_MATRIX_JOBS:-8}" ]; do reap_one; done
    (run_case "$c") >"$T/logs/$c.log" 2>&1 &
    case_of[$!]=$c
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do reap_one; done

# --- report ----------------------------------------------------------------------------------

passed=0 failed=0
for c in "${selected[@]}"; do
    if [ -s "$T/rows/$c" ] && [ "$(cut -f7 "$T/rows/$c")" = pass ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $c"
        sed 's/^/    /' "$T/logs/$c.log"
        [ -s "$T/rows/$c" ] || printf '%s\t%s\t%s\t%s\t-\t-\tFAIL\n' "$c" "${M_SERVER[$c]}" \
            "${M_KIND[$c]}" "(the case died)" >"$T/rows/$c"
    fi
done

echo
for c in "${selected[@]}"; do cat "$T/rows/$c"; done |
    awk -F'\t' 'BEGIN { OFS = "  " }
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        END {
            split("case server kind plain shim verdict", h, " "); col[1] = 1; col[2] = 2
            col[3] = 3; col[4] = 5; col[5] = 6; col[6] = 7
            for (j = 1; j <= 6; j++) if (length(h[j]) > w[col[j]]) w[col[j]] = length(h[j])
            for (j = 1; j <= 6; j++) printf "%-*s%s", (j < 6 ? w[col[j]] : 0), h[j], (j < 6 ? OFS : "\n")
            for (r = 1; r <= NR; r++)
                for (j = 1; j <= 6; j++)
                    printf "%-*s%s", (j < 6 ? w[col[j]] : 0), cell[r, col[j]], (j < 6 ? OFS : "\n")
        }'

# shellcheck source=report.sh
. "$M_DIR/report.sh"
m_write_report "${selected[@]}" >"$M_REPORT"
echo
echo "(report: $M_REPORT)"
if [ "$update_readme" = 1 ]; then
    if [ $# -gt 0 ] || [ "$failed" -ne 0 ]; then
        echo "(README.md not updated: only a full run in which every case passed may write it)"
    else
        m_update_readme "$HC_ROOT/README.md" "$M_REPORT" && echo "(README.md updated)"
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
