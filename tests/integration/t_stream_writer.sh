#!/usr/bin/env bash
# A write-only stream client (syslog over TCP style: stream_writer writes
# "line N\n" 3 times, 3 s apart, never reads) against a socat sink that
# appends what it receives to a file and closes connections idle for 2 s.
#   plain: line 2 is written into the closed connection and lost (RST), the
#          write of line 3 fails with EPIPE.
#   shim:  lines 2 and 3 are boundary writes after a quiet gap; each goes over
#          a fresh connection; the file holds all 3 lines exactly once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SINK=''
# run_against_sink MODE: a fresh socat sink ($T/sink_MODE.txt, idle timeout
# 2 s), then stream_writer 3 lines 3000 ms apart into it, run with
# hc_run_MODE (plain|shim); sets SINK and shows the file.
run_against_sink() {
    local mode=$1 sink_port
    hc_pick_port sink_port
    SINK=$T/sink_$mode.txt
    hc_start "srv_sink_$mode" socat -T 2 -u "TCP-LISTEN:$sink_port,bind=$HOST,reuseaddr,fork" "OPEN:$SINK,creat,append"
    hc_wait_port "$sink_port"
    "hc_run_$mode" "stream_$mode" "$HC_CLIENTS/stream_writer" "$HOST" "$sink_port" 3 3000
    sleep 0.3 # let the sink's child flush and exit
    hc_log "    sink file:"; hc_show_file "$SINK" sink
}

hc_section "plain: stream_writer 3 lines, 3000 ms gaps, sink idle timeout 2 s"
run_against_sink plain
hc_assert_rc_nonzero stream_writer
hc_assert_contains "$ERR" "line 3: write: EPIPE" "stream_writer stderr"
hc_assert_count "$SINK" "line 1" 1 "sink file"
hc_assert_lacks "$SINK" "line 2" "sink file (line 2 was lost)"
hc_assert_lacks "$SINK" "line 3" "sink file"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD, fresh sink"
run_against_sink shim
hc_assert_rc 0 stream_writer
hc_check "sink file is exactly 'line 1..3', each once, in order" \
    [ "$(cat "$SINK" 2>/dev/null)" = "$(printf 'line 1\nline 2\nline 3')" ]
hc_assert_healed 2

hc_finish
