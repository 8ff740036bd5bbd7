#!/usr/bin/env bash
# A program's own dup2/dup3 onto the number its TCP socket has (issue 15,
# item 8; tests/clients/dup_onto_range.c, static).  The supervisor puts the
# sockets it manages at 512-1023; a program that picks a number there for a
# file of its own replaces its socket without knowing (without the
# supervisor the socket would be at 3 or so).  The supervisor must see that
# (the filter notifies dup2/dup3 whose newfd is in the range), forget the
# socket and say which fd it was, and never heal over the program's file.
#   seq:   one thread: round 1, dup2(N, N) (a no-op, not even a "sharing":
#          round 2 after the server's idle close is still healed), then
#          dup3(PIPE_W, N) and a line written on N comes out of the pipe.
#          The log names fd N and the dup3, once: a second socket that the
#          program closed itself (close_range, which the supervisor does not
#          see) and whose number it then took with dup2 gets no warning.
#   race:  a heal is under way on N (its reconnect refused for 500 ms) when
#          another thread does dup2(PIPE_W, N) and writes a line on N.
#          Before the fix the heal installed its new socket over the pipe:
#          the line went to the server, the pipe stayed empty, fstat said
#          "socket".  Now the dup2 waits for the heal, then replaces it.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

PROG=$HC_STATIC/dup_onto_range
hc_pick_port P
hc_start srv_socat socat -T 1 "TCP-LISTEN:$P,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$P"

# field N of the stdout line matching REGEX (sed -E), or empty
out_field() { sed -nE "s/$1/\\1/p" "$OUT" | head -n1; }

hc_section "plain, seq: dup2(N, N), the server's idle close, dup3(PIPE_W, N)"
hc_check "$PROG has no program interpreter (static)" hc_is_static "$PROG"
hc_run_plain seq_plain "$PROG" seq "$HOST" "$P" 2000
hc_assert_rc 0 "dup_onto_range seq"
hc_assert_contains "$OUT" "round 2: read: EOF" "dup_onto_range stdout (no heal without the supervisor)"
hc_assert_count "$OUT" "line read back from the pipe: yes" 2 "dup_onto_range stdout"

hc_require_launcher
hc_section "halfclose, seq: the socket lands in the range; its replacement is named in the log"
hc_run_hc seq_hc "$PROG" seq "$HOST" "$P" 2000
hc_assert_rc 0 "halfclose dup_onto_range seq"
N=$(out_field '^socket at fd ([0-9]+)$')
M=$(out_field '^dup3\(([0-9]+), [0-9]+, O_CLOEXEC\): .*')
N2=$(out_field '^second socket at fd ([0-9]+)$')
hc_log "    socket at fd ${N:-?}, replaced by fd ${M:-?}; second socket at fd ${N2:-?}"
hc_check "the socket is at a number of the range 512-1023 (fd ${N:-?})" \
    test "${N:-0}" -ge 512 -a "${N:-0}" -le 1023
hc_assert_contains "$OUT" "round 2: ok" "dup_onto_range stdout (healed: dup2(N, N) left it managed)"
hc_assert_contains "$OUT" "fd $N after the dup: pipe" "dup_onto_range stdout"
hc_assert_count "$OUT" "line read back from the pipe: yes" 2 "dup_onto_range stdout"
hc_assert_contains "$ERR" \
    "fd $N $HOST:$P was replaced by the program's dup3 of fd $M; it is no longer managed" "halfclose stderr"
hc_assert_count "$ERR" "was replaced by the program's" 1 "halfclose stderr (nothing said of fd $N2, closed by the program)"
hc_assert_stat "$STATS" reconnects -eq 1
hc_assert_stat "$STATS" passthrough -eq 1

hc_section "plain, race: another thread's dup2(PIPE_W, N) while a write on N is under way"
hc_run_plain race_plain "$PROG" race
hc_assert_rc 0 "dup_onto_range race"
hc_assert_contains "$OUT" "server: no second connection" "dup_onto_range stdout"
hc_assert_contains "$OUT" "line read back from the pipe: yes" "dup_onto_range stdout"

hc_section "halfclose, race: the dup2 lands during a heal of N (HALFCLOSE_RETRIES=5)"
hc_run_hc race_hc HALFCLOSE_RETRIES=5 "$PROG" race
hc_assert_rc 0 "halfclose dup_onto_range race"
N=$(out_field '^socket at fd ([0-9]+)$')
M=$(out_field '^dup2\(([0-9]+), [0-9]+\): .*')
hc_check "the socket is at a number of the range 512-1023 (fd ${N:-?})" \
    test "${N:-0}" -ge 512 -a "${N:-0}" -le 1023
hc_assert_contains "$OUT" "fd $N after the dup: pipe" "dup_onto_range stdout (no heal installed over the pipe)"
hc_assert_contains "$OUT" "line read back from the pipe: yes" "dup_onto_range stdout"
hc_assert_lacks "$OUT" "log line|'" "dup_onto_range stdout (the program's line never reached the server)"
hc_check "halfclose stderr names fd $N and the dup2 of fd $M" \
    grep -qE "pid [0-9]+ fd $N $HOST:[0-9]+ was replaced by the program's dup2 of fd $M; it is no longer managed" "$ERR"
hc_assert_stat "$STATS" passthrough -eq 1

hc_finish
