/* halfclose.c - the launcher: runs a program with libhalfclose.so preloaded,
 * or under the supervisor (supervise/) if LD_PRELOAD cannot reach it (a
 * static or Go binary), mapping its flags to HALFCLOSE_* variables. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "procfs.h"
#include "supervise.h"

/* Both from the Makefile: VERSION is the one place the version is written;
 * LIBDIR is where the library is installed, HC_LIBDIR_REL the same below the
 * prefix ("lib", "lib/x86_64-linux-gnu/halfclose"), found from the
 * launcher's own directory so that a tree installed elsewhere (DESTDIR, a
 * package unpacked into a scratch root) finds its own library. */
#ifndef HC_VERSION
#error "HC_VERSION comes from the Makefile's VERSION"
#endif
#ifndef HC_LIBDIR
#define HC_LIBDIR "/usr/local/lib"
#endif
#ifndef HC_LIBDIR_REL
#define HC_LIBDIR_REL "lib"
#endif
#define LIBNAME "libhalfclose.so"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: halfclose [OPTIONS] [--] COMMAND [ARGS...]\n"
		"       halfclose stats [DIR...] [--prune] [--json | --prometheus]\n"
		"       halfclose measure HOST:PORT [--send BYTES | --http] [--for SECONDS]\n"
		"Runs COMMAND so that pooled TCP connections that the server closed while idle\n"
		"are reconnected before the next request goes out: with libhalfclose.so\n"
		"preloaded, or, for a statically linked program or a Go binary (which make\n"
		"raw system calls), under a supervisor (seccomp user notification).\n"
		"`halfclose stats` prints the live counters of the processes that keep a page\n"
		"in DIR (HALFCLOSE_STATS_DIR); `halfclose measure` finds out how a server ends\n"
		"idle connections. `halfclose stats --help` and `halfclose measure --help` say more;\n"
		"to run a program named stats or measure, write `halfclose -- stats`.\n"
		"\n"
		"  --supervise             use the supervisor whatever COMMAND is\n"
		"  --preload               use LD_PRELOAD whatever COMMAND is\n"
		"  --stats FILE            append a stats line at exit (- = stderr)   HALFCLOSE_STATS\n"
		"  --stats-dir DIR         live counters in DIR/halfclose.PID          HALFCLOSE_STATS_DIR\n"
		"  --log LEVEL             off, error, warn, info, debug               HALFCLOSE_LOG\n"
		"  --log-file FILE         log here instead of stderr                  HALFCLOSE_LOG_FILE\n"
		"  --targets LIST          only these ADDR[/PREFIX][:PORT]             HALFCLOSE_TARGETS\n"
		"  --exclude LIST          never these                                 HALFCLOSE_EXCLUDE\n"
		"  --probe-after MS        probe only after this much quiet            HALFCLOSE_PROBE_AFTER_MS\n"
		"  --min-idle MS           quiet needed before a swap                  HALFCLOSE_MIN_IDLE_MS\n"
		"  --write-gap MS          quiet gap that makes a write a boundary     HALFCLOSE_WRITE_GAP_MS\n"
		"  --max-idle MS           replace connections quiet this long         HALFCLOSE_MAX_IDLE_MS\n"
		"  --connect-timeout MS    bound on one reconnect attempt              HALFCLOSE_CONNECT_TIMEOUT_MS\n"
		"  --nonblock-connect MS   bound on a non-blocking socket's reconnect  HALFCLOSE_NONBLOCK_CONNECT_MS\n"
		"  --retries N             extra reconnect attempts                    HALFCLOSE_RETRIES\n"
		"  --replay safe|all|off   which requests never delivered are resent:  HALFCLOSE_REPLAY\n"
		"                          the safe ones (GET, redis reads), any, none\n"
		"  --replay-max BYTES      longest request kept for a replay; 0 = off  HALFCLOSE_REPLAY_MAX\n"
		"  --replay-wait MS        bound on the wait for a replay's proof      HALFCLOSE_REPLAY_WAIT_MS\n"
		"  --unread keep|discard   stale sockets with unread bytes             HALFCLOSE_UNREAD\n"
		"  --heal all|known        heal every kind of connection that can be   HALFCLOSE_HEAL\n"
		"                          (all), or only HTTP/1.x, redis, memcached\n"
		"  --session-max BYTES     longest redis session kept for a heal       HALFCLOSE_SESSION_MAX\n"
		"  --disable               load the library but pass everything through HALFCLOSE_DISABLE\n"
		"  --test-no-epoll-rearm   for tests only: supervise, but leave a healed\n"
		"                          socket out of the program's epoll sets\n"
		"  -h, --help              this text\n"
		"  -V, --version           the version\n"
		"\n"
		"Values are checked by the library (or the supervisor) when COMMAND starts.\n"
		"The supervisor does not replay requests (HALFCLOSE_REPLAY_* are ignored).\n"
		"Exit status: COMMAND's (128+N if signal N killed it, under the supervisor);\n"
		"125 if the library cannot be found or the supervisor cannot start, 126 if\n"
		"COMMAND cannot be run (or is setuid/setgid), 127 if it is not found.\n");
}

/* The library: beside this executable (the build tree), in ../HC_LIBDIR_REL
 * (an install), or where it was installed at build time. Returns a static
 * buffer or NULL. */
static const char *find_library(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX], up[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		const char *dir = dirname(exe); /* points into exe */
		snprintf(path, sizeof(path), "%s/%s", dir, LIBNAME);
		if (access(path, R_OK) == 0)
			return path;
		snprintf(up, sizeof(up), "%s/../%s/%s", dir, HC_LIBDIR_REL, LIBNAME);
		if (access(up, R_OK) == 0 && realpath(up, path) != NULL)
			return path;
	}
	snprintf(path, sizeof(path), "%s/%s", HC_LIBDIR, LIBNAME);
	return access(path, R_OK) == 0 ? path : NULL;
}

/* Puts lib first in LD_PRELOAD, keeping the other entries in their order and
 * dropping another copy of lib. Entries are separated by ':' or spaces, as
 * ld.so reads them. Returns 0, or -1 with errno. */
static int prepend_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD"), *p = old ? old : "";
	size_t cap = strlen(lib) + strlen(p) + 2, len;
	char *val = malloc(cap);
	int ret;

	if (val == NULL)
		return -1;
	len = (size_t)snprintf(val, cap, "%s", lib);
	while (*p != '\0') {
		size_t n = strcspn(p, ": ");
		if (n > 0 && !(n == strlen(lib) && strncmp(p, lib, n) == 0))
			len += (size_t)snprintf(val + len, cap - len, ":%.*s", (int)n, p);
		p += n + (p[n] != '\0');
	}
	ret = setenv("LD_PRELOAD", val, 1);
	free(val);
	return ret;
}

/* Finds cmd the way execvp will (an empty PATH entry is the current directory;
 * only executable regular files count); fills path. Returns 0 or -1. */
static int resolve_command(const char *cmd, char *path, size_t len)
{
	const char *p = getenv("PATH");
	struct stat st;

	if (strchr(cmd, '/') != NULL) {
		snprintf(path, len, "%s", cmd);
		return 0;
	}
	if (p == NULL)
		p = "/usr/local/bin:/usr/bin:/bin";
	for (;;) {
		size_t n = strcspn(p, ":");
		if (n > 0)
			snprintf(path, len, "%.*s/%s", (int)n, p, cmd);
		else
			snprintf(path, len, "./%s", cmd);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0)
			return 0;
		if (p[n] == '\0')
			return -1;
		p += n + 1;
	}
}

/* True if the program at path makes its own system calls, out of LD_PRELOAD's
 * reach: a Go binary (static or not) or a statically linked ELF. A script,
 * a dynamic ELF or a file we cannot read gets the library. */
static bool needs_supervisor(const char *path)
{
	static unsigned char head[64 * 1024];
	enum hc_exe_kind kind;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n <= 0)
		return false;
	kind = hc_exe_classify(head, (size_t)n);
	return kind == HC_EXE_STATIC || kind == HC_EXE_GO;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stats", required_argument, NULL, 's' },
		{ "stats-dir", required_argument, NULL, 'D' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-file", required_argument, NULL, 'L' },
		{ "targets", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "probe-after", required_argument, NULL, 'p' },
		{ "min-idle", required_argument, NULL, 'm' },
		{ "write-gap", required_argument, NULL, 'g' },
		{ "max-idle", required_argument, NULL, 'M' },
		{ "connect-timeout", required_argument, NULL, 'c' },
		{ "retries", required_argument, NULL, 'r' },
		{ "unread", required_argument, NULL, 'u' },
		{ "replay", required_argument, NULL, 'Y' },
		{ "replay-max", required_argument, NULL, 'R' },
		{ "replay-wait", required_argument, NULL, 'W' },
		{ "heal", required_argument, NULL, 'H' },
		{ "nonblock-connect", required_argument, NULL, 'N' },
		{ "session-max", required_argument, NULL, 'X' },
		{ "disable", no_argument, NULL, 'd' },
		{ "supervise", no_argument, NULL, 'S' },
		{ "preload", no_argument, NULL, 'P' },
		{ "test-no-epoll-rearm", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { int opt; const char *var; } map[] = {
		{ 's', "HALFCLOSE_STATS" }, { 'l', "HALFCLOSE_LOG" }, { 'L', "HALFCLOSE_LOG_FILE" },
		{ 't', "HALFCLOSE_TARGETS" }, { 'x', "HALFCLOSE_EXCLUDE" }, { 'p', "HALFCLOSE_PROBE_AFTER_MS" },
		{ 'm', "HALFCLOSE_MIN_IDLE_MS" }, { 'g', "HALFCLOSE_WRITE_GAP_MS" }, { 'M', "HALFCLOSE_MAX_IDLE_MS" },
		{ 'c', "HALFCLOSE_CONNECT_TIMEOUT_MS" }, { 'r', "HALFCLOSE_RETRIES" }, { 'u', "HALFCLOSE_UNREAD" },
		{ 'Y', "HALFCLOSE_REPLAY" }, { 'R', "HALFCLOSE_REPLAY_MAX" }, { 'W', "HALFCLOSE_REPLAY_WAIT_MS" }, { 'H', "HALFCLOSE_HEAL" },
		{ 'X', "HALFCLOSE_SESSION_MAX" }, { 'N', "HALFCLOSE_NONBLOCK_CONNECT_MS" }, { 'D', "HALFCLOSE_STATS_DIR" },
	};
	char path[PATH_MAX];
	const char *lib;
	struct stat st;
	struct hc_sv_options sv_opt = { .no_epoll_rearm = false };
	enum { AUTO, SUPERVISE, PRELOAD } mode = AUTO;
	int c;

	/* A subcommand only as the very first argument: `halfclose -- stats`
	 * and `halfclose --log info stats` run a program of that name. */
	if (argc > 1 && strcmp(argv[1], "stats") == 0)
		return hc_cmd_stats(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "measure") == 0)
		return hc_cmd_measure(argc - 1, argv + 1);
	/* '+': stop at the first non-option, so COMMAND's own flags stay its own. */
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("halfclose %s\n", HC_VERSION);
			return 0;
		case 'd':
			setenv("HALFCLOSE_DISABLE", "1", 1);
			break;
		case 'S':
			mode = SUPERVISE;
			break;
		case 'P':
			mode = PRELOAD;
			break;
		case 'E':
			mode = SUPERVISE;
			sv_opt.no_epoll_rearm = true;
			break;
		case '?':
			usage(stderr);
			return 2;
		default:
			for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
				if (map[i].opt == c)
					setenv(map[i].var, optarg, 1);
			}
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (resolve_command(argv[optind], path, sizeof(path)) != 0 || stat(path, &st) != 0) {
		fprintf(stderr, "halfclose: %s: command not found\n", argv[optind]);
		return 127;
	}
	/* Set-group-ID without group execute is the mandatory-locking mark, not setgid. */
	if ((st.st_mode & S_ISUID) || ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP))) {
		fprintf(stderr,
			"halfclose: refusing to run %s: it is setuid/setgid, so the loader would ignore "
			"LD_PRELOAD (and halfclose must not run with privileges)\n",
			path);
		return 126;
	}
	if (mode == SUPERVISE || (mode == AUTO && needs_supervisor(path)))
		return hc_supervise(path, argv + optind, &sv_opt);
	lib = find_library();
	if (lib == NULL) {
		fprintf(stderr, "halfclose: cannot find %s next to %s, in ../lib, or in %s\n", LIBNAME, argv[0],
			HC_LIBDIR);
		return 125;
	}
	if (strpbrk(lib, ": ") != NULL) {
		fprintf(stderr, "halfclose: %s: LD_PRELOAD cannot hold a path with ':' or a space\n", lib);
		return 125;
	}
	if (prepend_preload(lib) != 0) {
		fprintf(stderr, "halfclose: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return 125;
	}
	execv(path, argv + optind);
	fprintf(stderr, "halfclose: cannot run %s: %s\n", path, strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
