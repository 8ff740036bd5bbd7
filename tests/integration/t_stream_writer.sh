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

hc_section "plain: stream_writer 3 lines, 3000 ms gaps, sink idle timeout 2 s"
hc_pick_port P1
SINK1=$T/sink_plain.txt
hc_start srv_sink_plain socat -T 2 -u "TCP-LISTEN:$P1,bind=$HOST,reuseaddr,fork" "OPEN:$SINK1,creat,append"
hc_wait_port "$P1"
hc_run_plain stream_plain "$HC_CLIENTS/stream_writer" "$HOST" "$P1" 3 3000
sleep 0.3 # let the sink's child flush and exit
hc_log "    sink file:"; hc_show_file "$SINK1" sink
hc_assert_rc_nonzero stream_writer
hc_assert_contains "$ERR" "line 3: write: EPIPE" "stream_writer stderr"
hc_assert_count "$SINK1" "line 1" 1 "sink file"
hc_assert_lacks "$SINK1" "line 2" "sink file (line 2 was lost)"
hc_assert_lacks "$SINK1" "line 3" "sink file"

hc_require_shim
hc_section "shim: same client under LD_PRELOAD, fresh sink"
hc_pick_port P2
SINK2=$T/sink_shim.txt
hc_start srv_sink_shim socat -T 2 -u "TCP-LISTEN:$P2,bind=$HOST,reuseaddr,fork" "OPEN:$SINK2,creat,append"
hc_wait_port "$P2"
hc_run_shim stream_shim "$HC_CLIENTS/stream_writer" "$HOST" "$P2" 3 3000
sleep 0.3
hc_log "    sink file:"; hc_show_file "$SINK2" sink
hc_assert_rc 0 stream_writer
hc_check "sink file is exactly 'line 1..3', each once, in order" \
    [ "$(cat "$SINK2" 2>/dev/null)" = "$(printf 'line 1\nline 2\nline 3')" ]
hc_assert_stat "$STATS" stale -ge 2
hc_assert_stat "$STATS" reconnects -ge 2
hc_assert_stat "$STATS" reconnect_failures -eq 0

hc_finish
