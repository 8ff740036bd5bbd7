#!/usr/bin/env bash
# Calls that arrive before the library is initialised, and fd hygiene.
# (a) early.so, a small library built here, does socket + connect + write +
#     read against a socat echo server from its constructor (EARLY_PORT names
#     the port).  Preloaded after the shim (LD_PRELOAD=libhalfclose.so:early.so)
#     its constructor runs before the shim's (checked with LD_DEBUG=files), so
#     the shim sees those calls before its own initialisation; preloaded before
#     the shim it runs after it.  Program: /bin/true.  Each way: exit 0, the
#     echo works, the socket was managed (managed=1), nothing else on stderr.
# (b) fd_leak against a socat echo server that closes connections idle for
#     2 s: round 1, 2.5 s idle, round 2 (healed under the shim), then fork +
#     exec `ls -l /proc/self/fd`.  The child's fd list (normalised: inode
#     numbers, pids and the test's own file names) is the same with and
#     without the shim; the inherited connected socket sits at the same fd
#     number in both; the parent holds as many fds after the heal as before it,
#     and as many as without the shim.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

hc_pick_port PE
hc_start srv_socat_echo socat "TCP-LISTEN:$PE,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$PE"
hc_pick_port PI
hc_start srv_socat_idle socat -T 2 "TCP-LISTEN:$PI,bind=$HOST,reuseaddr,fork" EXEC:cat
hc_wait_port "$PI"

# --- (a) early.so --------------------------------------------------------------

cat >"$T/early.c" <<'CEOF'
/* early.so: talks to an echo server from its constructor. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(const char *what)
{
    fprintf(stderr, "early: FAIL %s: %s\n", what, strerror(errno));
    _exit(3);
}

__attribute__((constructor)) static void early(void)
{
    const char *port = getenv("EARLY_PORT");
    struct sockaddr_in sin;
    char buf[64];
    size_t got = 0;
    int fd;

    if (port == NULL)
        return;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)atoi(port));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fail("socket");
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        fail("connect");
    if (write(fd, "early\n", 6) != 6)
        fail("write");
    while (got < 6) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            fail("read");
        }
        got += (size_t)n;
    }
    if (got != 6 || memcmp(buf, "early\n", 6) != 0) {
        fprintf(stderr, "early: FAIL echo mismatch\n");
        _exit(3);
    }
    if (close(fd) != 0)
        fail("close");
    fprintf(stderr, "early: echo ok\n");
}
CEOF
EARLY=$T/early.so
if ! gcc -shared -fPIC -O2 -Wall -o "$EARLY" "$T/early.c" 2>"$T/gcc.err"; then
    cat "$T/gcc.err"
    hc_fail "gcc built early.so"
    hc_finish
fi

hc_section "plain: LD_PRELOAD=early.so /bin/true (baseline)"
hc_run_plain early_plain "EARLY_PORT=$PE" "LD_PRELOAD=$EARLY" /bin/true
hc_assert_rc 0 /bin/true
hc_check "stderr is exactly 'early: echo ok'" [ "$(cat "$ERR")" = "early: echo ok" ]

hc_require_shim

# init_order PRELOAD: the "calling init" lines of the loader for the two libraries.
init_order() {
    env LD_DEBUG=files "LD_PRELOAD=$1" /bin/true 2>&1 |
        sed -n 's/.*calling init: //p' | grep -E 'early\.so|libhalfclose\.so' |
        sed 's|.*/||' | tr '\n' ' '
}

early_case() { # NAME PRELOAD EXPECTED_INIT_ORDER
    local order
    order=$(init_order "$2")
    hc_log "    loader's init order: $order"
    hc_check "constructors run in the order '$3'" [ "$order" = "$3" ]
    hc_run_shim "$1" "EARLY_PORT=$PE" "LD_PRELOAD=$2" /bin/true
    hc_assert_rc 0 /bin/true
    hc_check "stderr is exactly 'early: echo ok' (no crash, no message from the shim)" \
        [ "$(cat "$ERR")" = "early: echo ok" ]
    hc_assert_stat "$STATS" managed -eq 1
    hc_assert_stat "$STATS" reconnects -eq 0
}

hc_section "shim first: LD_PRELOAD=libhalfclose.so:early.so (early's calls come before the shim's init)"
early_case early_after "$HC_LIB:$EARLY" "early.so libhalfclose.so "

hc_section "shim second: LD_PRELOAD=early.so:libhalfclose.so (early's calls come after the shim's init)"
early_case early_before "$EARLY:$HC_LIB" "libhalfclose.so early.so "

# --- (b) fd hygiene ----------------------------------------------------------------

# child_fds NAME: the child's `ls -l /proc/self/fd` lines of the last run as
# "FD -> TARGET", normalised, into $T/NAME.fds.
child_fds() {
    sed -n '/^--- child fds/,/^--- end child fds/p' "$OUT" |
        awk '/ -> / { print $(NF - 2), $(NF - 1), $NF }' |
        sed -E -e 's/\[[0-9]+\]/[N]/' -e 's|^([0-9]+ -> )/proc/[0-9]+/|\1/proc/PID/|' \
            -e "s|$T/[^ ]*\\.out\$|(stdout file)|" -e "s|$T/[^ ]*\\.err\$|(stderr file)|" \
            >"$T/$1.fds"
    sed 's/^/    child fd| /' "$T/$1.fds"
}

out_value() { # PREFIX: the rest of the last run's stdout line starting with PREFIX
    sed -n "s/^$1//p" "$OUT" | head -n1
}

hc_section "plain: fd_leak, 2500 ms idle against socat -T 2, then fork + exec ls -l /proc/self/fd"
hc_run_plain fdleak_plain "$HC_CLIENTS/fd_leak" "$HOST" "$PI" 2500
hc_assert_rc 0 fd_leak
hc_assert_contains "$OUT" "round 2: EOF" "fd_leak stdout (no heal without the shim)"
hc_assert_contains "$OUT" "child exit 0" "fd_leak stdout"
child_fds plain
PLAIN_BEFORE=$(out_value "fds before idle: ")
SOCKFD=$(sed -n 's/^fd \([0-9]*\) local port.*/\1/p' "$OUT" | head -n1)
hc_check "the child inherited the connected socket at fd $SOCKFD" \
    grep -qx "$SOCKFD -> socket:\[N\]" "$T/plain.fds"

hc_section "shim: the same, round 2 healed"
hc_run_shim fdleak_shim "$HC_CLIENTS/fd_leak" "$HOST" "$PI" 2500
hc_assert_rc 0 fd_leak
hc_assert_contains "$OUT" "round 2: ok" "fd_leak stdout (healed)"
hc_assert_contains "$OUT" "(changed)" "fd_leak stdout (same fd, new connection)"
hc_assert_contains "$OUT" "child exit 0" "fd_leak stdout"
child_fds shim
hc_check "the child's fds with the shim equal those without it" cmp -s "$T/plain.fds" "$T/shim.fds"
if ! cmp -s "$T/plain.fds" "$T/shim.fds"; then
    diff "$T/plain.fds" "$T/shim.fds" | sed 's/^/    diff| /'
fi
BEFORE=$(out_value "fds before idle: ")
AFTER=$(out_value "fds after round 2: ")
hc_check "parent's fd count after the heal ($AFTER) equals the count before it ($BEFORE)" \
    [ "${BEFORE:-none}" = "${AFTER:-missing}" ]
hc_check "parent's fd count ($BEFORE) equals the count without the shim ($PLAIN_BEFORE)" \
    [ "${BEFORE:-none}" = "${PLAIN_BEFORE:-missing}" ]
PARENT=$(out_value "pid ")
grep "^halfclose pid=$PARENT " "$STATS" >"$T/parent.stats"
grep -v "^halfclose pid=$PARENT " "$STATS" >"$T/child.stats"
hc_assert_stat "$T/parent.stats" reconnects -eq 1
hc_assert_stat "$T/child.stats" managed -eq 0

hc_finish
