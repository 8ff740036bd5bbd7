/*
 * close_paths — lets a connection go by one of the ways a program can, and
 * then stays alive: the server must see the close at once, as it does
 * without halfclose (the supervisor keeps a copy of a managed socket between
 * writes, which must not hold the connection open).
 *
 *   close_paths MODE HOST PORT HOLD_MS
 *
 * Connects to an echo server, sends "hi\n" twice (reading each echo: the
 * socket is managed, and written to again), then by MODE:
 *   close        close(fd)
 *   close_range  close_range(fd, fd, 0)
 *   exec         the socket is close-on-exec; the program execs itself as
 *                `close_paths held - - HOLD_MS`
 *   exec_busy    the same while two other threads write to the socket (an
 *                exec closes close-on-exec fds only after the other threads
 *                are gone: their writes still reach the supervisor meanwhile)
 * and prints "let go", then sleeps HOLD_MS ms and prints "done" (MODE held:
 * just that). Exit 0; 1 if an echo did not come; 2 on usage and connect errors.
 */
#include "client.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>

static int busy_fd;

/* Writes to busy_fd until a write fails (or the exec ends the thread). */
static void *writer(void *arg)
{
    (void)arg;
    while (write(busy_fd, "x\n", 2) > 0)
        ;
    return NULL;
}

/* Sends "hi\n" and reads its echo: 0, or -1 if it did not come back. */
static int echo(int fd)
{
    char buf[64];
    size_t got = 0;

    if (write_all(fd, "hi\n") != 0 || read_line(fd, buf, sizeof buf, &got) != 1)
        return -1;
    return strcmp(buf, "hi\n") == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int fd;
    long hold;

    if (argc != 5) {
        fprintf(stderr, "usage: close_paths close|close_range|exec|exec_busy HOST PORT HOLD_MS\n");
        return 2;
    }
    hold = parse_num("close_paths", argv[4], "HOLD_MS");
    if (strcmp(argv[1], "held") != 0) {
        fd = dial("close_paths", argv[2], argv[3]);
        if (fd < 0)
            return 2;
        if (echo(fd) != 0 || echo(fd) != 0) {
            fprintf(stderr, "close_paths: no echo\n");
            return 1;
        }
        if (strcmp(argv[1], "close") == 0) {
            close(fd);
        } else if (strcmp(argv[1], "close_range") == 0) {
            syscall(SYS_close_range, (unsigned)fd, (unsigned)fd, 0);
        } else if (strcmp(argv[1], "exec") == 0 || strcmp(argv[1], "exec_busy") == 0) {
            char *args[] = { argv[0], "held", "-", "-", argv[4], NULL };
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            busy_fd = fd;
            for (int i = 0; strcmp(argv[1], "exec_busy") == 0 && i < 2; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, writer, NULL) != 0) {
                    fprintf(stderr, "close_paths: pthread_create failed\n");
                    return 2;
                }
            }
            sleep_ms(50);
            printf("let go\n");
            fflush(stdout);
            execv("/proc/self/exe", args);
            perror("close_paths: exec");
            return 2;
        } else {
            fprintf(stderr, "close_paths: unknown mode %s\n", argv[1]);
            return 2;
        }
        printf("let go\n");
        fflush(stdout);
    }
    sleep_ms(hold);
    printf("done\n");
    return 0;
}
