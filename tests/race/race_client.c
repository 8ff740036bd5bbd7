/*
 * race_client — request/response cycles that each race a server's idle close.
 *
 *   race_client HOST PORT NAME CYCLES GAP_MS [DIAG_MS]
 *
 * Connects, then CYCLES times (SEQ = 1..CYCLES): sleeps GAP_MS, writes
 * "REQ NAME SEQ\n" in one write(), reads one line and expects "OK NAME SEQ".
 * The sleep comes first, so every request, the first on a connection too,
 * follows GAP_MS of quiet: tests/race/run.sh picks GAP_MS after the server's
 * idle timer but before the FIN that timer sent gets through (fin_delay), so
 * each request races a FIN still on the wire.
 *
 * A cycle whose write fails, or whose read ends (EOF or an error) before the
 * reply, is LOST: the client does what an application with a retry policy
 * does, closes the socket, connects again and goes on with the next SEQ (it
 * does not resend: whether the server got the request is what the test asks
 * the server's log).
 *
 * stdout, line-buffered:
 *   OK NAME SEQ MS                      the reply came, MS after the write
 *   LOST NAME SEQ OP:WHY ms=MS state=S outq=N err=E [later: state=S outq=N err=E]
 *       OP read or write, WHY EOF or an errno name, MS after the write; then
 *       what the socket looked like right after the failure (TCP_INFO state,
 *       SIOCOUTQ = bytes not acknowledged, SO_ERROR), and DIAG_MS later if
 *       DIAG_MS > 0
 *   summary NAME ok=X lost=Y bad=0 max_ms=M
 * Exit 0 when all cycles ran (lost ones included); 1 on a wrong reply
 * (BAD line: an answer to another request, the worst outcome) or a failed
 * reconnect; 2 on usage errors.  SIGPIPE is ignored (a write into a dead
 * connection is EPIPE, a LOST line).
 */
#include "../clients/client.h"

#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/ioctl.h>

static const char *const tcp_states[] = {
    "?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
};

/* Appends " state=S outq=N err=E" for socket FD to OUT (SIZE bytes).  Reading
 * SO_ERROR clears it; the socket is about to be closed anyway. */
static void describe_socket(int fd, char *out, size_t size)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int outq = -1, err = 0;
    socklen_t elen = sizeof err;
    const char *state = "?";
    size_t used = strlen(out);

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_state < sizeof tcp_states / sizeof tcp_states[0])
        state = tcp_states[ti.tcpi_state];
    if (ioctl(fd, SIOCOUTQ, &outq) != 0)
        outq = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
        err = -1;
    snprintf(out + used, size - used, " state=%s outq=%d err=%s", state, outq,
             err > 0 ? errname(err) : err == 0 ? "0" : "?");
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *host, *port, *name;
    long cycles, gap_ms, diag_ms = 0, seq, ok = 0, lost = 0;
    long long max_ms = 0;
    int fd;

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT NAME CYCLES GAP_MS [DIAG_MS]\n", argv[0]);
        return 2;
    }
    host = argv[1];
    port = argv[2];
    name = argv[3];
    cycles = parse_num("race_client", argv[4], "CYCLES");
    gap_ms = parse_num("race_client", argv[5], "GAP_MS");
    if (argc == 7)
        diag_ms = parse_num("race_client", argv[6], "DIAG_MS");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial("race_client", host, port);
    if (fd < 0)
        return 1;
    for (seq = 1; seq <= cycles; seq++) {
        char req[128], expect[128], resp[256], why[256] = "";
        size_t len, got;
        const char *werr;
        long long t0;
        int rc;

        sleep_ms(gap_ms);
        len = (size_t)snprintf(req, sizeof req, "REQ %s %ld\n", name, seq);
        snprintf(expect, sizeof expect, "OK %s %ld\n", name, seq);
        t0 = now_ms();
        werr = write_reason(fd, req, len);
        if (werr) {
            snprintf(why, sizeof why, "write:%s", werr);
        } else {
            rc = read_line(fd, resp, sizeof resp, &got);
            if (rc == 1 && strcmp(resp, expect) == 0) {
                long long ms = now_ms() - t0;
                if (ms > max_ms)
                    max_ms = ms;
                printf("OK %s %ld %lld\n", name, seq, ms);
                ok++;
                continue;
            }
            if (rc == 1 || got > 0) {
                printf("BAD %s %ld got '%.*s'\n", name, seq, (int)strcspn(resp, "\n"), resp);
                return 1;
            }
            snprintf(why, sizeof why, "read:%s", rc == 0 ? "EOF" : errname(errno));
        }
        snprintf(why + strlen(why), sizeof why - strlen(why), " ms=%lld", now_ms() - t0);
        describe_socket(fd, why, sizeof why);
        if (diag_ms > 0) {
            sleep_ms(diag_ms);
            snprintf(why + strlen(why), sizeof why - strlen(why), " later:");
            describe_socket(fd, why, sizeof why);
        }
        printf("LOST %s %ld %s\n", name, seq, why);
        lost++;
        close(fd);
        fd = dial("race_client", host, port);
        if (fd < 0)
            return 1;
    }
    close(fd);
    printf("summary %s ok=%ld lost=%ld bad=0 max_ms=%lld\n", name, ok, lost, max_ms);
    return 0;
}
