/*
 * fd_crowd.c — a process whose fd table is nearly full below 512, one thread
 * creating TCP sockets while another opens /dev/null: does every fd stay
 * what it was created as?  (The supervisor installs sockets at numbers from
 * 512 up with ADDFD, which replaces whatever holds the number by then; the
 * kernel gives open() the lowest free number.)
 *
 *   fd_crowd MS      run both threads for MS milliseconds
 *
 * Prints "sockets N changed A, files M changed B" and exits 0 if nothing
 * changed, 1 if something did, 2 on a usage or setup error.
 */
#include "client.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>

static atomic_int stop;
static long sockets, sockets_changed, files, files_changed;

/* True if fd is (still) of the type mode names, after a moment for another
 * thread's call to land on it. */
static bool still(int fd, mode_t type)
{
    struct stat st;
    for (volatile int i = 0; i < 2000; i++)
        ;
    return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type;
}

static void *make_sockets(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            continue;
        sockets++;
        sockets_changed += !still(s, S_IFSOCK);
        close(s);
    }
    return NULL;
}

static void *open_files(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (f < 0)
            continue;
        files++;
        files_changed += !still(f, S_IFCHR);
        close(f);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t a, b;
    long ms;

    if (argc != 2) {
        fprintf(stderr, "usage: %s MS\n", argv[0]);
        return 2;
    }
    ms = parse_num(argv[0], argv[1], "MS");
    /* Fill the table up to 511: the lowest free number is then 512. */
    for (;;) {
        int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (f < 0) {
            perror("fd_crowd: open");
            return 2;
        }
        if (f >= 511)
            break;
    }
    if (pthread_create(&a, NULL, make_sockets, NULL) != 0 || pthread_create(&b, NULL, open_files, NULL) != 0)
        return 2;
    sleep_ms(ms);
    atomic_store(&stop, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("sockets %ld changed %ld, files %ld changed %ld\n", sockets, sockets_changed, files, files_changed);
    return sockets_changed || files_changed ? 1 : 0;
}
