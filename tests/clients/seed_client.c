/*
 * seed_client — the C twin of the seed document's client.go.
 *
 *   seed_client HOST PORT
 *
 * Connects, prints "connection established", sleeps 6 s (long enough for an
 * idle-closing server such as `ncat -l -i 2` to close the connection), writes
 * "Halo" (no newline), prints "writen to server = Halo", sleeps 3 s, writes
 * "Halo2", prints, closes and exits 0.  It never reads.
 *
 * SIGPIPE is explicitly reset to its default disposition (an ignored signal
 * would otherwise be inherited across exec from whatever started us), so
 * without halfclose the second write kills the process with SIGPIPE.  If a
 * write nevertheless fails with an error (SIGPIPE blocked by a parent, or a
 * reset), the error is printed and the exit status is 1, like client.go.
 *
 * Output is on stdout, flushed after every line, so that it survives a death
 * by signal.
 */
#include "client.h"

#include <signal.h>

static int send_word(int fd, const char *word)
{
    if (write_all(fd, word) < 0) {
        int e = errno;
        printf("Write to server failed: %s (%s)\n", strerror(e), strerrorname_np(e));
        fflush(stdout);
        return -1;
    }
    printf("writen to server = %s\n", word);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    int fd, gai_err;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_DFL);

    fd = dial_tcp(argv[1], argv[2], &gai_err);
    if (fd < 0 && gai_err != 0) {
        fprintf(stderr, "seed_client: resolve %s:%s failed: %s\n", argv[1], argv[2], gai_strerror(gai_err));
        return 1;
    }
    if (fd < 0) {
        fprintf(stderr, "seed_client: dial %s:%s failed: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    printf("connection established\n");
    fflush(stdout);

    /* sleep until the server has closed the idle connection */
    sleep_ms(6000);
    if (send_word(fd, "Halo") < 0)
        return 1;

    sleep_ms(3000);
    if (send_word(fd, "Halo2") < 0)
        return 1;

    close(fd);
    return 0;
}
