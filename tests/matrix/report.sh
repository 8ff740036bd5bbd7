# shellcheck shell=bash disable=SC2016 # backquotes are Markdown here
# tests/matrix/report.sh — the README's "Tested against" section, written
# from one matrix run.  Sourced by run.sh after the cases ran: reads
# VERSION/SETTING/PORT (servers.sh), $T/close_SERVER (closewatch.py's line)
# and $T/rows/CASE (run_case's table row).

# m_close_kind LINE: how the server closed, from closewatch's line.
m_close_kind() {
    local close message listener
    close=$(sed -n 's/^close=\([^ ]*\).*/\1/p' <<<"$1")
    message=$(sed -n 's/.* message="\{0,1\}\(.*\)"\{0,1\} after_ms=.*/\1/p' <<<"$1")
    message=${message%\"}
    listener=$(sed -n 's/.* listener=\([^ ]*\).*/\1/p' <<<"$1")
    if [ "$listener" = exited ]; then
        echo "process-exit $close"
    elif [ -n "$message" ] && [ "$message" != none ]; then
        echo "message $close $message"
    else
        echo "plain $close"
    fi
}

# m_server_row SERVER: one row of the servers table.
m_server_row() {
    local s=$1 line kind after how does close message
    line=$(head -n 1 "$T/close_$s" 2>/dev/null)
    after=$(sed -n 's/.* after_ms=\([0-9]*\)\.\.\([0-9]*\).*/\1–\2 ms/p' <<<"$line")
    kind=$(m_close_kind "$line")
    case $kind in
    process-exit*)
        how="${kind#* }, and the whole process exits (a loop restarts it)"
        does="reconnects at the next request, to the restarted process"
        ;;
    message*)
        read -r _ close message <<<"$kind"
        how="sends \"$message\", then $close"
        does="leaves the connection as it is: the program reads the message"
        ;;
    *)
        how="${kind#* } only, nothing sent before it"
        does="reconnects at the next request"
        ;;
    esac
    printf '| %s | %s | `%s` | %s | %s | %s |\n' "$s" "${VERSION[$s]}" "${SETTING[$s]}" \
        "${how:-not measured}" "${after:-?}" "$does"
}

# m_write_report CASE...: the section, in Markdown, on stdout.
m_write_report() {
    local s c
    echo "<!-- written by tests/matrix/run.sh --update-readme; edit that, not this -->"
    printf 'Measured by tests/matrix/run.sh (part of `make check`) on %s, %s, Linux %s.\n\n' "$(date -u +%Y-%m-%d)" \
        "$(. /etc/os-release && echo "$PRETTY_NAME")" "$(uname -r)"
    echo "Servers, started by the test on 127.0.0.1, and how each closed idle connections (closewatch.py):"
    echo
    echo "| server | version | idle setting | how it closes an idle connection | closed after | what halfclose does |"
    echo "|---|---|---|---|---|---|"
    for s in redis memcached nginx socat ncat postgres; do
        [ -n "${UP[$s]:-}" ] && m_server_row "$s"
    done
    echo
    echo "Clients, each run without and with the shim. *heal*: fails without it (the reason"
    echo "shown), succeeds with it, and its stats line counts the reconnects; *cope*: succeeds"
    echo "both ways; *passthrough*: prints exactly the same both ways."
    echo
    echo "| case | server | client | kind | without the shim | with the shim | verdict |"
    echo "|---|---|---|---|---|---|---|"
    for c in "$@"; do
        [ -s "$T/rows/$c" ] || continue
        awk -F'\t' '{ gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $4, $3, $5, $6, $7 }' \
            "$T/rows/$c"
    done
}

# m_update_readme README SECTION: replaces what stands between README's
# "<!-- tested-against:begin -->" and "<!-- tested-against:end -->" lines
# with the file SECTION; fails, changing nothing, if the markers are missing.
m_update_readme() {
    local readme=$1 section=$2
    if ! grep -q '^<!-- tested-against:begin -->$' "$readme" ||
        ! grep -q '^<!-- tested-against:end -->$' "$readme"; then
        echo "matrix: $readme has no tested-against markers"
        return 1
    fi
    awk -v f="$section" '
        /^<!-- tested-against:end -->$/ { skip = 0 }
        !skip { print }
        /^<!-- tested-against:begin -->$/ { while ((getline l < f) > 0) print l; skip = 1 }
    ' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
}
