# shellcheck shell=bash
# tools/bench/redis.sh - redis-server and redis-benchmark for the benchmark rows; sourced by
# lib.sh, whose pick_port, start_server, wait_port, alternate, median, spread and row it uses.
#
# redis (row_redis.sh, row_session.sh):
#   redis_start [ARG...]           a private redis-server on a free port (no persistence, no idle
#                                  timeout, ARGs added: --requirepass PW); sets REDIS_PORT and
#                                  REDIS_PID; dies if it does not start
#   redis_pairs RUNS NAME NTESTS ARG...
#                                  RUNS interleaved pairs of redis-benchmark -h 127.0.0.1 -p
#                                  $REDIS_PORT ARG... -q --csv, plain then with the library
#                                  (HALFCLOSE_STATS=$T/NAME.stats); "TEST req/s" lines appended to
#                                  $T/NAME.plain and $T/NAME.shim; dies unless every run printed
#                                  NTESTS results
#   redis_rows NAME WORKLOAD GOAL TEST...
#                                  a row per TEST of redis_pairs NAME: req/s median (spread) and
#                                  the median of the pairs' ratios, ">= GOAL"

# --- redis -------------------------------------------------------------------------------------

redis_start() {
    local c
    for c in redis-server redis-benchmark; do command -v $c >/dev/null || die "$c not installed (make deps)"; done
    pick_port REDIS_PORT
    start_server REDIS_PID redis "$(command -v redis-server)" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
        --appendonly no --timeout 0 --daemonize no --logfile '' "$@"
    wait_port "$REDIS_PORT" 5 "$REDIS_PID" || { cat "$T/redis.out" "$T/redis.err" >&2; die "redis-server did not start"; }
    log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
}

# _hc_redis_run NAME MODE NTESTS ARG...: one redis-benchmark run, its results appended to $T/NAME.MODE
_hc_redis_run() {
    local name=$1 mode=$2 ntests=$3 out pre=()
    shift 3
    [ "$mode" = shim ] && pre=(LD_PRELOAD="$HC_LIB" HALFCLOSE_STATS="$T/$name.stats")
    if ! out=$("${HC_ENV_CLEAN[@]}" "${pre[@]}" redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" "$@" -q --csv \
        2>"$T/bench.err"); then
        cat "$T/bench.err" >&2
        kill -0 "$REDIS_PID" 2>/dev/null || cat "$T/redis.out" "$T/redis.err" >&2
        die "redis-benchmark ($mode) failed"
    fi
    [ "$(printf '%s\n' "$out" | grep -c '^"[A-Z_]*","[0-9.]*"')" = "$ntests" ] ||
        { printf '%s\n' "$out" >&2; die "redis-benchmark ($mode): unexpected output"; }
    printf '%s\n' "$out" | awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2 }' >>"$T/$name.$mode"
}

redis_pairs() {
    local runs=$1 name=$2 ntests=$3 i
    shift 3
    log "$name: $runs interleaved pairs of redis-benchmark $*"
    for ((i = 0; i < runs; i++)); do
        _hc_redis_run "$name" plain "$ntests" "$@"
        _hc_redis_run "$name" shim "$ntests" "$@"
    done
    log "$name: shim stats (last run): $(grep '^halfclose' "$T/$name.stats" | tail -n 1)"
}

redis_rows() {
    local name=$1 workload=$2 goal=$3 t p s pm sm r
    shift 3
    for t in "$@"; do
        p=$(awk -v t="$t" '$1 == t { print $2 }' "$T/$name.plain") s=$(awk -v t="$t" '$1 == t { print $2 }' "$T/$name.shim")
        # shellcheck disable=SC2086 # word splitting wanted
        pm=$(median $p) sm=$(median $s) r=$(paired_ratio "$(echo $p)" "$(echo $s)")
        log "$t plain: $(echo $p); shim: $(echo $s); ratio of medians $(ratio "$pm" "$sm")"
        # shellcheck disable=SC2086
        row "$workload ($t)" "req/s median (spread); ratio: median of pairs" "$(printf '%.0f' "$pm") ($(spread $p))" \
            "$(printf '%.0f' "$sm") ($(spread $s))" "${r}x" ">= ${goal}x" "$(ge "$r" "$goal")"
    done
}
