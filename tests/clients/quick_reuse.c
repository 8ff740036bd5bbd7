/*
 * quick_reuse — reuses a connection right after its reply: the connection
 * dies while in active use, not while pooled.
 *
 *   quick_reuse HOST PORT [PAUSE_MS]
 *
 * Connects, writes "a\n", reads the reply line, sleeps PAUSE_MS (default
 * 100), writes "b\n" in one write(), then reads until a full line, EOF or an
 * error.  It reports every step on stdout (line-buffered), so that a test can
 * assert what happened:
 *     write a: 2
 *     read a: 5 "ok:a"
 *     write b: 2              |  write b: -1 EPIPE
 *     read b: 5 "ok:b"        |  read b: EOF  |  read b: -1 ECONNRESET
 *     done
 * Exit 0 when it ran through, whatever the results; 2 on usage or connect
 * errors.
 *
 * SIGPIPE is deliberately left at its default disposition: a write that
 * raised it would kill the process (exit status 128+13), which the test
 * would see.
 */
#include "client.h"

static void do_write(int fd, const char *what, const char *line)
{
    ssize_t n = write_once(fd, line, strlen(line));
    if (n < 0)
        printf("write %s: -1 %s\n", what, errname(errno));
    else
        printf("write %s: %zd\n", what, n);
}

/* Reads until a newline, EOF or an error; prints one line about it. */
static void do_read(int fd, const char *what)
{
    char buf[256];
    size_t got;
    int rc = read_line(fd, buf, sizeof buf, &got);

    if (rc < 0) {
        printf("read %s: -1 %s%s\n", what, errname(errno), got ? " (after partial data)" : "");
        return;
    }
    if (rc == 0) {
        printf("read %s: EOF%s\n", what, got ? " (after partial data)" : "");
        return;
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("read %s: %zu \"%s\"\n", what, got, buf);
}

int main(int argc, char **argv)
{
    long pause_ms = 100;
    int fd;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT [PAUSE_MS]\n", argv[0]);
        return 2;
    }
    if (argc == 4)
        pause_ms = strtol(argv[3], NULL, 10);
    setvbuf(stdout, NULL, _IOLBF, 0);

    fd = dial("quick_reuse", argv[1], argv[2]);
    if (fd < 0)
        return 2;
    do_write(fd, "a", "a\n");
    do_read(fd, "a");
    sleep_ms(pause_ms);
    do_write(fd, "b", "b\n");
    do_read(fd, "b");
    close(fd);
    printf("done\n");
    return 0;
}
