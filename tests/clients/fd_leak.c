/*
 * fd_leak — fd hygiene around a heal: the program's fd table must look the
 * same with and without the library, in the process and in an exec'd child.
 *
 *   fd_leak HOST PORT IDLE_MS
 *
 * Connects (a plain socket(): no SOCK_CLOEXEC, so children inherit it) to an
 * echo server, does one round ("one\n"), counts its open fds, sleeps IDLE_MS
 * (the server closes the idle connection meanwhile), does a second round
 * ("two\n": the write that the library heals), counts its fds again, then
 * forks and execs `ls -l /proc/self/fd`, whose listing (the child's fds)
 * goes to stdout between two marker lines.  stdout:
 *     pid PID
 *     fd N local port P1
 *     round 1: ok
 *     fds before idle: N1
 *     round 2: ok | round 2: EOF | round 2: ERRNAME | round 2: mismatch
 *     fd N local port P2 (changed | unchanged)
 *     fds after round 2: N2
 *     --- child fds (ls -l /proc/self/fd)
 *     ...ls output...
 *     --- end child fds
 *     child exit 0
 * Exit 0 when it ran through, whatever round 2 did; 2 on usage, connect or
 * fork errors.  SIGPIPE is ignored.
 */
#include "client.h"

#include <signal.h>
#include <sys/wait.h>

/* One request/response round; prints "round N: RESULT". */
static void round_trip(int fd, int r, const char *line)
{
    char buf[256];
    size_t len = strlen(line), got;
    int rc;

    if (write_once(fd, line, len) < 0) {
        printf("round %d: write %s\n", r, errname(errno));
        return;
    }
    rc = read_line(fd, buf, sizeof buf, &got);
    if (rc < 0)
        printf("round %d: %s\n", r, errname(errno));
    else if (rc == 0)
        printf("round %d: EOF\n", r);
    else
        printf("round %d: %s\n", r, got == len && memcmp(buf, line, len) == 0 ? "ok" : "mismatch");
}

int main(int argc, char **argv)
{
    struct sockaddr_in sin;
    int fd, p1, p2, before, after, status;
    pid_t pid;

    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT IDLE_MS\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("pid %d\n", (int)getpid());

    if (ipv4_addr(&sin, argv[1], argv[2]) != 0) {
        fprintf(stderr, "fd_leak: bad address %s\n", argv[1]);
        return 2;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        fprintf(stderr, "fd_leak: connect %s:%s: %s\n", argv[1], argv[2], errname(errno));
        return 2;
    }
    p1 = local_port(fd);
    printf("fd %d local port %d\n", fd, p1);
    round_trip(fd, 1, "one\n");
    before = count_fds();
    printf("fds before idle: %d\n", before);

    sleep_ms(strtol(argv[3], NULL, 10));
    round_trip(fd, 2, "two\n");
    p2 = local_port(fd);
    printf("fd %d local port %d (%s)\n", fd, p2, p2 == p1 ? "unchanged" : "changed");
    after = count_fds();
    printf("fds after round 2: %d\n", after);

    printf("--- child fds (ls -l /proc/self/fd)\n");
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fd_leak: fork: %s\n", errname(errno));
        return 2;
    }
    if (pid == 0) {
        execl("/bin/ls", "ls", "-l", "/proc/self/fd", (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    printf("--- end child fds\n");
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    close(fd);
    return 0;
}
