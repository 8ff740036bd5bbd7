#!/usr/bin/env bash
# Which mechanism `halfclose CMD` picks, seen from inside the program: under
# the supervisor the program runs with one seccomp filter more than without
# it (/proc/self/status: Seccomp_filters); under the library LD_PRELOAD names
# libhalfclose.so.
#   dynamic program, no option:   the library (LD_PRELOAD), no extra filter;
#   static Go program, no option: the supervisor (an extra filter), no library;
#   --supervise on a dynamic program: the supervisor, and not the library too;
#   --preload on a static program: LD_PRELOAD set (and ignored by the static
#                                  program: see t_preload_static), no filter;
#   a bad HALFCLOSE_* value:      one line naming it, and the static program
#                                  runs unsupervised (as the library passes
#                                  everything through);
#   HALFCLOSE_DISABLE=1:          unsupervised, silently.
# The program that reports is /bin/grep, run by /bin/sh or by the static Go
# program behave (os/exec): a child inherits its parent's seccomp filters.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

B=$HC_GO/behave
# the report: "Seccomp_filters: N" and "LD_PRELOAD=..."
# shellcheck disable=SC2016 # for the child shell
REPORT='grep ^Seccomp_filters: /proc/self/status; echo "LD_PRELOAD=$LD_PRELOAD"'
SH_REPORT=(/bin/sh -c "$REPORT")
GO_REPORT=("$B" exec /bin/sh -c "$REPORT")

filters() { awk '$1 == "Seccomp_filters:" { print $2; exit }' "$1"; }
# added_filter FILE / no_added_filter FILE: compared with the plain run's $base
# shellcheck disable=SC2317 # called through hc_check
added_filter() { local n; n=$(filters "$1"); [ -n "$n" ] && [ "$n" -gt "$base" ]; }
# shellcheck disable=SC2317 # called through hc_check
no_added_filter() { [ "$(filters "$1")" = "$base" ]; }

hc_section "plain: the baseline"
hc_run_plain sh_plain "${SH_REPORT[@]}"
hc_assert_rc 0 "sh report"
base=$(filters "$OUT")
hc_check "Seccomp_filters is a number (${base:-none})" [ -n "$base" ]
base=${base:-0}
hc_run_plain go_plain "${GO_REPORT[@]}"
hc_assert_rc 0 "behave exec sh report"
hc_check "the same number of filters under the Go program" no_added_filter "$OUT"

hc_require_launcher

hc_section "halfclose, dynamic program: the library"
hc_run_hc sh_auto "${SH_REPORT[@]}"
hc_assert_rc 0 "halfclose sh report"
hc_check "no seccomp filter added (filters $(filters "$OUT"), plain $base)" no_added_filter "$OUT"
hc_assert_contains "$OUT" "libhalfclose.so" "LD_PRELOAD"

hc_section "halfclose, static Go program: the supervisor"
hc_run_hc go_auto "${GO_REPORT[@]}"
hc_assert_rc 0 "halfclose behave exec sh report"
hc_check "a seccomp filter added (filters $(filters "$OUT"), plain $base)" added_filter "$OUT"
hc_assert_lacks "$OUT" "libhalfclose.so" "LD_PRELOAD"

hc_section "halfclose --supervise, dynamic program: the supervisor, not the library"
hc_run_hc sh_supervise --supervise "${SH_REPORT[@]}"
hc_assert_rc 0 "halfclose --supervise sh report"
hc_check "a seccomp filter added (filters $(filters "$OUT"), plain $base)" added_filter "$OUT"
hc_assert_lacks "$OUT" "libhalfclose.so" "LD_PRELOAD"

hc_section "halfclose --preload, static Go program: LD_PRELOAD only"
hc_run_hc go_preload --preload "${GO_REPORT[@]}"
hc_assert_rc 0 "halfclose --preload behave exec sh report"
hc_check "no seccomp filter added (filters $(filters "$OUT"), plain $base)" no_added_filter "$OUT"
hc_assert_contains "$OUT" "libhalfclose.so" "LD_PRELOAD"

hc_section "halfclose, static Go program, HALFCLOSE_MIN_IDLE_MS=abc: one line, then unsupervised"
hc_run_hc go_badcfg HALFCLOSE_MIN_IDLE_MS=abc "${GO_REPORT[@]}"
hc_assert_rc 0 "halfclose behave exec sh report"
hc_assert_contains "$ERR" 'HALFCLOSE_MIN_IDLE_MS="abc"' "halfclose stderr"
hc_assert_contains "$ERR" "passing everything through" "halfclose stderr"
hc_check "no seccomp filter added (filters $(filters "$OUT"), plain $base)" no_added_filter "$OUT"

hc_section "halfclose, static Go program, HALFCLOSE_DISABLE=1: unsupervised, silently"
hc_run_hc go_disabled HALFCLOSE_DISABLE=1 "${GO_REPORT[@]}"
hc_assert_rc 0 "halfclose behave exec sh report"
hc_check "nothing on stderr" [ ! -s "$ERR" ]
hc_check "no seccomp filter added (filters $(filters "$OUT"), plain $base)" no_added_filter "$OUT"

hc_finish
