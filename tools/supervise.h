/* supervise.h - `halfclose --supervise`: run a program under a seccomp
 * user-notification supervisor that heals its pooled TCP connections without
 * LD_PRELOAD (static and Go binaries). The supervisor's rooms are in
 * tools/supervise/ (supervise_int.h lists them).
 *
 * INTERFACE (agreed with the tests in tests/supervise/):
 *
 *   halfclose [OPTIONS] [--] CMD ARGS...
 *       chooses the mechanism from CMD's ELF file: a program with a Go build
 *       ID (static or not: Go makes raw system calls) or without PT_INTERP
 *       (statically linked) is supervised; anything else (dynamic ELF, a
 *       script) gets LD_PRELOAD=libhalfclose.so as before.
 *   --supervise           force the supervisor
 *   --preload             force LD_PRELOAD
 *   --test-no-epoll-rearm TEST HOOK ONLY: supervised; a healed socket is not
 *                         re-added to the program's epoll sets (a Go client
 *                         then waits for its read deadline). Implies --supervise.
 *                         Racy by nature: Go reads once before it parks in
 *                         epoll, so a reply that is already there when that
 *                         read() runs is read without epoll (about 1 run in 4
 *                         against redis on loopback, more under load). A
 *                         test that wants the timeout every time needs a
 *                         server that answers a few ms late (e.g. 50 ms).
 *   All other options and every HALFCLOSE_* variable mean what they mean for
 *   the library, read once by the supervisor at start; a bad value or an
 *   unknown HALFCLOSE_* name prints the library's line
 *   ("halfclose[PID]: HALFCLOSE_X="v": expected ...; halfclose is passing
 *   everything through") and runs CMD unsupervised; HALFCLOSE_DISABLE=1 runs
 *   it unsupervised, silently. HALFCLOSE_REPLAY_* are accepted and ignored:
 *   the supervisor does no replay.
 *   HALFCLOSE_STATS: one stats line per supervised process, same keys as the
 *   library's, pid= that process's pid (not the supervisor's); the lines of
 *   other processes (forked children) are written when they are reaped, the
 *   main program's line last, when it has exited.
 *   HALFCLOSE_STATS_DIR: the supervisor keeps a live page for each process it
 *   supervises (DIR/halfclose.PID, that process's pid; writer = the
 *   supervisor, flag HC_PAGE_SUPERVISED), created at the process's first
 *   supervised call, removed when its stats line is written.
 *   HALFCLOSE_LOG / HALFCLOSE_LOG_FILE: same levels and file; a line is
 *   "halfclose[SUPERVISOR_PID]: pid PROGRAM_PID fd N ADDR stale (peer FIN)
 *   after M ms idle; reconnected in X ms" (SUPERVISOR_PID is the launcher's
 *   pid, i.e. $! of `halfclose CMD &`).
 *   Exit status: CMD's; 128+N if it died of signal N (as a shell reports it);
 *   125/126/127 as before. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 *   SIGUSR2 sent to the supervisor (the launcher's pid) are forwarded to CMD
 *   (not those a terminal sent to the whole process group, which CMD got
 *   itself). The supervisor holds no stdin/stdout of CMD. */
#ifndef HC_SUPERVISE_H
#define HC_SUPERVISE_H

#include <stdbool.h>

struct hc_sv_options {
	/* Test hook (--test-no-epoll-rearm): heal, but leave the program's epoll
	 * sets without the new socket, to show the re-arm step is needed. */
	bool no_epoll_rearm;
};

/* Runs the program at path with argv (argv[0] its name) under the supervisor,
 * with the configuration of the HALFCLOSE_* environment. Returns the exit
 * status for the launcher: the program's, 128+N if signal N killed it, 126/127
 * if it could not be run. If the configuration is bad or disables halfclose,
 * or the kernel refuses the filter, it execs the program unsupervised instead
 * (a line on stderr says why) and returns only if that exec failed. */
int hc_supervise(const char *path, char *const argv[], const struct hc_sv_options *opt);

#endif
