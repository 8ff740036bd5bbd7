/*
 * chaos_fork.c — the fork mode of chaos_client: a thread that forks a child
 * every fork_min_ms..fork_max_ms while the pool's workers (chaos_pool.c) are
 * busy; the child reports any FD_CLOEXEC socket it inherited, closes half of
 * the pool's sockets, makes child_requests requests of its own and exits; the
 * parent reaps it or, after child_timeout_ms, logs it as hung and kills it.
 */
#include "chaos_client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

/* In a forked child: an anomaly for every FD_CLOEXEC socket it inherited (the
 * program makes none in fork mode: a socket the library was making when the
 * parent forked, still open in the child). */
static void report_library_sockets(long k)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name), type, fl;
        socklen_t tl = sizeof type;
        if (e->d_name[0] == '.' || fd == dirfd(d) || fd == log_fd)
            continue;
        fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && (fl & FD_CLOEXEC) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0) {
            say("V %s inherited-library-socket child=f%ld fd=%d lp=%d", client_name, k, fd, local_port(fd));
            atomic_fetch_add(&n_anomalies, 1);
        }
    }
    closedir(d);
}

/* In the child: close half of the sockets inherited from the pool, then a few
 * requests on a connection of its own; exits (atexit handlers run: the
 * library's stats line). */
static void __attribute__((noreturn)) child_main(long k, const int *inherited, int ninherited)
{
    uint64_t s = seed_for(1000 + k);
    char wname[24];
    int fd = -1, before, after;
    struct settings set;

    atomic_store(&n_requests, 0);
    atomic_store(&n_ok, 0);
    atomic_store(&n_failed, 0);
    atomic_store(&n_hung, 0);
    atomic_store(&n_mismatched, 0);
    atomic_store(&n_anomalies, 0);
    atomic_store(&n_sigpipe, 0);
    atomic_store(&max_write_ms, 0);
    start_ms = mono_ms();
    for (int i = 0; i < ninherited; i++) {
        int type;
        socklen_t tl = sizeof type;
        if (inherited[i] >= 0 && inherited[i] != log_fd && chance_pct(&s, 50) &&
            getsockopt(inherited[i], SOL_SOCKET, SO_TYPE, &type, &tl) == 0)
            close(inherited[i]);
    }
    report_library_sockets(k);
    before = count_fds();
    snprintf(wname, sizeof wname, "f%ld", k);
    for (long seq = 1; seq <= opt("child_requests"); seq++) {
        blocking_request(&s, &fd, &set, wname, seq);
        if (seq < opt("child_requests"))
            sleep_ms(draw_gap(&s));
    }
    if (fd >= 0)
        close(fd);
    after = count_fds();
    {
        char cname[64];
        snprintf(cname, sizeof cname, "%s.f%ld", client_name, k);
        client_name = cname;
        summary("fork-child", before, after);
    }
    exit(0);
}

/* Waits for child PID at most child_timeout_ms; a child that does not end is
 * logged (with where it sits) and killed.  Logs a child that failed. */
static void reap(pid_t pid, long k)
{
    long long deadline = mono_ms() + opt("child_timeout_ms");
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0)
            return;
        if (mono_ms() > deadline) {
            char path[64], wchan[64] = "?", sc[128] = "?";
            FILE *f;
            snprintf(path, sizeof path, "/proc/%d/wchan", pid);
            if ((f = fopen(path, "r"))) {
                if (!fgets(wchan, sizeof wchan, f))
                    strcpy(wchan, "?");
                fclose(f);
            }
            snprintf(path, sizeof path, "/proc/%d/syscall", pid);
            if ((f = fopen(path, "r"))) {
                if (!fgets(sc, sizeof sc, f))
                    strcpy(sc, "?");
                sc[strcspn(sc, "\n")] = '\0';
                fclose(f);
            }
            say("V %s child-hang child=f%ld pid=%d wchan=%s syscall=%s", client_name, k, pid, wchan, sc);
            atomic_fetch_add(&n_anomalies, 1);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return;
        }
        sleep_ms(5);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        say("V %s child-exit child=f%ld pid=%d status=0x%x", client_name, k, pid, st);
        atomic_fetch_add(&n_anomalies, 1);
    }
}

/* The forking thread of the fork mode: while the workers run, a child now and then. */
void *forker_main(void *arg)
{
    uint64_t s = seed_for(999);
    long k = 0;

    (void)arg;
    while (atomic_load(&workers_left) > 0) {
        int inherited[MAX_POOL + MAX_THREADS], n = 0;
        pid_t pid;

        sleep_ms(rnd_between(&s, opt("fork_min_ms"), opt("fork_max_ms")));
        if (atomic_load(&workers_left) == 0)
            break;
        for (int i = 0; i < pool_n; i++)
            inherited[n++] = __atomic_load_n(&pool[i].fd, __ATOMIC_RELAXED);
        for (int i = 0; i < opt("own"); i++)
            inherited[n++] = __atomic_load_n(&owned[i].fd, __ATOMIC_RELAXED);
        k++;
        pid = fork();
        if (pid == 0)
            child_main(k, inherited, n);
        if (pid < 0) {
            say("V %s fork-failed %s", client_name, errname(errno));
            atomic_fetch_add(&n_anomalies, 1);
            continue;
        }
        reap(pid, k);
    }
    return NULL;
}
