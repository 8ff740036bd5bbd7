/*
 * dup_onto_range — a program that puts a file of its own at the number its
 * TCP socket has, with dup2 or dup3 (issue 15, item 8).  Under the launcher's
 * supervisor that number is in 512-1023, where the supervisor places the
 * sockets it manages; without it, the socket is at 3 or so.  Either way the
 * program replaces its own socket and then uses the number as the new file.
 *
 *   dup_onto_range seq HOST PORT IDLE_MS
 *       One thread, against an echo server that closes idle connections:
 *       connects (prints "socket at fd N"), round 1, dup2(N, N) (a no-op),
 *       sleeps IDLE_MS, round 2 (its result is printed, not fatal: without a
 *       heal it reads EOF), then dup3(PIPE_W, N, O_CLOEXEC), writes a line to
 *       N and reads it back from the pipe.  Then a second socket, closed with
 *       close_range() (the supervisor does not see that) and whose number is
 *       taken by dup2(PIPE_W, M): nothing of the program's is replaced there.
 *   dup_onto_range race
 *       Three threads and a listener of the program's own (127.0.0.1, port
 *       0): round 1 on the client socket at fd N, then the listener and the
 *       server side close, so the client connection is stale; after 400 ms
 *       of quiet the main thread writes "req 2" on N (under the supervisor:
 *       a heal, whose reconnect is refused until a second listener listens
 *       on the same port 500 ms later; with HALFCLOSE_RETRIES=5 the attempt
 *       at 750 ms gets through), while a second thread, 150 ms into that
 *       write, does dup2(PIPE_W, N), writes "log line" on N and reads the
 *       pipe.  The server thread prints what the second connection carried
 *       ("server: no second connection" without a heal).
 *
 * stdout: what happened, line by line; the last line is "ok" if fd N ended up
 * as the pipe and the line written on it came out of the pipe.  Exit 0 then,
 * 1 if not, 2 on a usage or setup error.
 */
#include "client.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>

#define LOG_LINE "log line\n"

/* What is at fd now: "pipe", "socket", "closed", "other". */
static const char *kind_of(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return "closed";
    if (S_ISFIFO(st.st_mode))
        return "pipe";
    return S_ISSOCK(st.st_mode) ? "socket" : "other";
}

/* Reads from fd for up to ms into buf (NUL-terminated, at most size - 1 bytes),
 * until EOF or until want bytes came (0: until EOF or the time is up).
 * Returns the count. */
static size_t read_for(int fd, char *buf, size_t size, long ms, size_t want)
{
    size_t got = 0;

    while (got < size - 1 && (want == 0 || got < want)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (poll(&p, 1, (int)ms) <= 0)
            break;
        n = read(fd, buf + got, size - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* Writes line on fd and reads one line back; prints "round R: ok" or why not. */
static bool round_trip(int fd, int r)
{
    char req[32], resp[64];
    const char *why;
    size_t len, got;
    int rc;

    len = (size_t)snprintf(req, sizeof req, "req %d\n", r);
    why = write_reason(fd, req, len);
    if (why) {
        printf("round %d: write: %s\n", r, why);
        return false;
    }
    rc = read_line(fd, resp, sizeof resp, &got);
    if (rc <= 0) {
        printf("round %d: read: %s\n", r, rc < 0 ? errname(errno) : "EOF");
        return false;
    }
    if (got != len || memcmp(resp, req, len) != 0) {
        printf("round %d: read: mismatch\n", r);
        return false;
    }
    printf("round %d: ok\n", r);
    return true;
}

/* Writes LOG_LINE on fd (which should now be the pipe's write end) and
 * reads the pipe for up to ms; prints what fd is and what came out. True if
 * fd is the pipe and the line came out of it. */
static bool use_as_pipe(int fd, int rd, long ms)
{
    char buf[128];
    const char *why = write_reason(fd, LOG_LINE, strlen(LOG_LINE));
    const char *kind = kind_of(fd);
    bool back;

    printf("write '%.8s' on fd %d: %s\n", LOG_LINE, fd, why ? why : "ok");
    read_for(rd, buf, sizeof buf, ms, strlen(LOG_LINE));
    back = strstr(buf, LOG_LINE) != NULL;
    printf("fd %d after the dup: %s\n", fd, kind);
    printf("line read back from the pipe: %s\n", back ? "yes" : "no");
    return back && strcmp(kind, "pipe") == 0;
}

static int run_seq(const char *host, const char *port, long idle_ms)
{
    int fd, fd2, p[2];
    bool ok;

    fd = dial("dup_onto_range", host, port);
    if (fd < 0 || pipe(p) != 0)
        return 2;
    printf("socket at fd %d\n", fd);
    round_trip(fd, 1);
    printf("dup2(%d, %d): %d\n", fd, fd, dup2(fd, fd));
    sleep_ms(idle_ms);
    round_trip(fd, 2);
    printf("dup3(%d, %d, O_CLOEXEC): %d\n", p[1], fd, dup3(p[1], fd, O_CLOEXEC));
    ok = use_as_pipe(fd, p[0], 2000);

    /* A number the program closed itself, by a call the supervisor does not
     * see, then took again: nothing of the program's is replaced there. */
    fd2 = dial("dup_onto_range", host, port);
    if (fd2 < 0)
        return 2;
    printf("second socket at fd %d\n", fd2);
    printf("close_range(%d, %d, 0): %d\n", fd2, fd2, close_range((unsigned)fd2, (unsigned)fd2, 0));
    printf("dup2(%d, %d): %d\n", p[1], fd2, dup2(p[1], fd2));
    ok = use_as_pipe(fd2, p[0], 2000) && ok;
    printf("%s\n", ok ? "ok" : "not ok");
    return ok ? 0 : 1;
}

/* ---- race ------------------------------------------------------------------ */

static struct {
    int lsn, lsn2;    /* the listener, and the one that replaces it (below the range) */
    struct sockaddr_in addr; /* where they listen */
    int fd;           /* the client socket */
    int pipe_r, pipe_w;
    struct timespec t0; /* when the main thread writes "req 2" */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool go;
    bool ok;
} race;

/* Sleeps until ms after race.t0. */
static void sleep_until(long ms)
{
    struct timespec t = race.t0;

    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

static void wait_go(void)
{
    pthread_mutex_lock(&race.mu);
    while (!race.go)
        pthread_cond_wait(&race.cv, &race.mu);
    pthread_mutex_unlock(&race.mu);
}

/* The program's other thread: puts its pipe at the socket's number. */
static void *replacer(void *arg)
{
    (void)arg;
    wait_go();
    sleep_until(150);
    printf("dup2(%d, %d): %d\n", race.pipe_w, race.fd, dup2(race.pipe_w, race.fd));
    race.ok = use_as_pipe(race.fd, race.pipe_r, 2000);
    return NULL;
}

/* The server: listens again 500 ms into the write, then prints what the
 * second connection carried (in 2.5 s at most). */
static void *server(void *arg)
{
    char buf[256];
    struct pollfd pl = { .fd = race.lsn2, .events = POLLIN };
    int c;

    (void)arg;
    wait_go();
    sleep_until(500);
    if (bind(race.lsn2, (struct sockaddr *)&race.addr, sizeof race.addr) != 0 || listen(race.lsn2, 8) != 0) {
        printf("server: listen again: %s\n", errname(errno));
        return NULL;
    }
    if (poll(&pl, 1, 2500) <= 0 || (c = accept(race.lsn2, NULL, NULL)) < 0) {
        printf("server: no second connection\n");
        return NULL;
    }
    read_for(c, buf, sizeof buf, 500, 0);
    buf[strcspn(buf, "\n")] = '|';
    buf[strcspn(buf, "\n")] = '|';
    printf("server: the second connection carried '%s'\n", buf);
    close(c);
    return NULL;
}

/* A TCP socket below the range with SO_REUSEADDR, or -1: made there (F_DUPFD
 * from 3, then the original closed), its bind and listen do not wait for the
 * supervisor while it heals. */
static int socket_below_range(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, d;

    if (s < 0)
        return -1;
    d = fcntl(s, F_DUPFD_CLOEXEC, 3);
    close(s);
    if (d >= 0 && setsockopt(d, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        close(d);
        d = -1;
    }
    return d;
}

static int run_race(void)
{
    socklen_t alen = sizeof race.addr;
    pthread_t rt, st;
    char port[16], buf[64];
    int p[2], c;
    ssize_t n;

    pthread_mutex_init(&race.mu, NULL);
    pthread_cond_init(&race.cv, NULL);
    race.addr.sin_family = AF_INET;
    race.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((race.lsn = socket_below_range()) < 0 || (race.lsn2 = socket_below_range()) < 0 ||
        bind(race.lsn, (struct sockaddr *)&race.addr, sizeof race.addr) != 0 || listen(race.lsn, 8) != 0 ||
        getsockname(race.lsn, (struct sockaddr *)&race.addr, &alen) != 0 || pipe(p) != 0) {
        perror("dup_onto_range: setup");
        return 2;
    }
    race.pipe_r = p[0];
    race.pipe_w = p[1];
    snprintf(port, sizeof port, "%u", ntohs(race.addr.sin_port));
    race.fd = dial("dup_onto_range", "127.0.0.1", port);
    if (race.fd < 0 || (c = accept(race.lsn, NULL, NULL)) < 0)
        return 2;
    printf("socket at fd %d\n", race.fd);
    if (write_all(race.fd, "req 1\n") != 0 || (n = read(c, buf, sizeof buf)) <= 0 || write(c, buf, (size_t)n) != n)
        return 2;
    read_for(race.fd, buf, sizeof buf, 2000, (size_t)n);
    printf("round 1: %s\n", strcmp(buf, "req 1\n") == 0 ? "ok" : "mismatch");
    /* The server stops listening (a reconnect is refused) and closes. */
    if (close(race.lsn) != 0 || close(c) != 0) {
        perror("dup_onto_range: stop listening");
        return 2;
    }
    sleep_ms(400);
    if (pthread_create(&rt, NULL, replacer, NULL) != 0 || pthread_create(&st, NULL, server, NULL) != 0)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &race.t0);
    pthread_mutex_lock(&race.mu);
    race.go = true;
    pthread_cond_broadcast(&race.cv);
    pthread_mutex_unlock(&race.mu);
    n = write(race.fd, "req 2\n", 6);
    printf("write 'req 2' on fd %d: %s\n", race.fd, n == 6 ? "ok" : n < 0 ? errname(errno) : "short");
    pthread_join(rt, NULL);
    pthread_join(st, NULL);
    printf("%s\n", race.ok ? "ok" : "not ok");
    return race.ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 5 && strcmp(argv[1], "seq") == 0)
        return run_seq(argv[2], argv[3], parse_num("dup_onto_range", argv[4], "IDLE_MS"));
    if (argc == 2 && strcmp(argv[1], "race") == 0)
        return run_race();
    fprintf(stderr, "usage: %s seq HOST PORT IDLE_MS | %s race\n", argv[0], argv[0]);
    return 2;
}
