/*
 * swap_leak — many swaps in one process: the fd table and the memory of the
 * process must not grow with them.
 *
 *   swap_leak HOST PORT SWAPS CHECKPOINT
 *
 * For a server that answers one line per connection and then closes it
 * (oneshot_server.py: "ok:LINE").  Connects once, then makes SWAPS + 1
 * requests "req N\n" on that one fd, each written in one write(); after
 * reading a reply (which must be "ok:req N\n") it waits, at most 1000 ms,
 * for the server's FIN with poll(POLLRDHUP), without reading it, so that the
 * next request is always written to a connection the peer has closed (no
 * FIN still in flight): every request after the first needs a fresh
 * connection at the same fd.  getsockname() after each request tells whether
 * it went over a new connection (its local port changed).
 *
 * stdout, after the first request and after CHECKPOINT and SWAPS requests
 * beyond it (the "swaps"; CHECKPOINT < SWAPS):
 *     request 1: ok
 *     checkpoint swaps=N fds=N heap_bytes=N rss_kb=N heap_from=mallinfo2|sanitizer
 *     checkpoint swaps=N fds=N heap_bytes=N rss_kb=N heap_from=mallinfo2|sanitizer
 *     summary requests=N new_connections=N
 *     ok
 * fds = entries in /proc/self/fd (not counting the one used to list them),
 * heap_bytes = mallinfo2() uordblks + hblkhd (all arenas), or, when a sanitizer runtime
 * is preloaded (it replaces malloc), its __sanitizer_get_current_allocated_bytes(); rss_kb = VmRSS.
 * Exit 0 when every reply matched.  On a failure: one line on stderr
 * "swap_leak: request N: OP: REASON" (REASON: EOF, an errno name, mismatch,
 * "no FIN within 1000 ms"), exit 1.  Usage and connect errors exit 2.
 * SIGPIPE is ignored.
 */
#include "client.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>

#define FIN_WAIT_MS 1000

/* VmRSS of this process in kB, read without stdio (no allocation); -1 on error. */
static long rss_kb(void)
{
    char buf[4096], *p;
    ssize_t n;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strstr(buf, "\nVmRSS:");
    return p ? strtol(p + 7, NULL, 10) : -1;
}

/* A sanitizer runtime's count of the bytes malloc has handed out, if one is loaded (it replaces
 * malloc, and mallinfo2 then sees nothing); NULL otherwise.  Looked up once, before measuring. */
static size_t (*sanitizer_allocated)(void);

/* Bytes the program holds from malloc: the sanitizer's count, or mallinfo2()'s bytes in use in the
 * arenas plus mmap()ed blocks. */
static size_t heap_bytes(void)
{
    struct mallinfo2 mi;

    if (sanitizer_allocated)
        return sanitizer_allocated();
    mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Request N on FD: write "req N", read "ok:req N", wait for the server's FIN without reading it.
 * NULL when all went well, else "OP: REASON" (a static buffer). */
static const char *request(int fd, long n)
{
    static char why[128];
    char req[64], want[80], resp[128];
    const char *err;
    size_t len, got;
    struct pollfd p = { .fd = fd, .events = POLLRDHUP };
    int rc;

    len = (size_t)snprintf(req, sizeof req, "req %ld\n", n);
    snprintf(want, sizeof want, "ok:%s", req);
    err = write_reason(fd, req, len);
    if (err) {
        snprintf(why, sizeof why, "write: %s", err);
        return why;
    }
    rc = read_line(fd, resp, sizeof resp, &got);
    if (rc <= 0) {
        snprintf(why, sizeof why, "read: %s", rc < 0 ? errname(errno) : "EOF");
        return why;
    }
    if (strcmp(resp, want) != 0) {
        resp[strcspn(resp, "\n")] = '\0';
        snprintf(why, sizeof why, "read: mismatch (got '%.60s')", resp);
        return why;
    }
    do
        rc = poll(&p, 1, FIN_WAIT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        snprintf(why, sizeof why, "poll: %s", errname(errno));
        return why;
    }
    if (rc == 0 || !(p.revents & POLLRDHUP)) {
        snprintf(why, sizeof why, "poll: no FIN within %d ms", FIN_WAIT_MS);
        return why;
    }
    return NULL;
}

/* Prints the checkpoint line after SWAPS swaps. */
static void checkpoint(long swaps)
{
    size_t heap = heap_bytes(); /* first: the other two allocate and free */
    int fds = count_fds();
    long rss = rss_kb();

    printf("checkpoint swaps=%ld fds=%d heap_bytes=%zu rss_kb=%ld heap_from=%s\n", swaps, fds, heap, rss,
           sanitizer_allocated ? "sanitizer" : "mallinfo2");
}

int main(int argc, char **argv)
{
    long swaps, check_at, changed = 0;
    int fd, port, prev_port;

    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST PORT SWAPS CHECKPOINT\n", argv[0]);
        return 2;
    }
    swaps = parse_num("swap_leak", argv[3], "SWAPS");
    check_at = parse_num("swap_leak", argv[4], "CHECKPOINT");
    if (check_at < 1 || check_at >= swaps) {
        fprintf(stderr, "swap_leak: CHECKPOINT must be in 1..SWAPS-1\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    *(void **)&sanitizer_allocated = dlsym(RTLD_DEFAULT, "__sanitizer_get_current_allocated_bytes");

    fd = dial("swap_leak", argv[1], argv[2]);
    if (fd < 0)
        return 2;
    prev_port = local_port(fd);
    for (long n = 1; n <= swaps + 1; n++) {
        const char *why = request(fd, n);
        if (why) {
            fprintf(stderr, "swap_leak: request %ld: %s\n", n, why);
            return 1;
        }
        port = local_port(fd);
        if (port != prev_port)
            changed++;
        prev_port = port;
        if (n == 1)
            printf("request 1: ok\n");
        if (n - 1 == check_at || n - 1 == swaps)
            checkpoint(n - 1);
    }
    printf("summary requests=%ld new_connections=%ld\n", swaps + 1, changed);
    close(fd);
    printf("ok\n");
    return 0;
}
