/* supervise.h - `halfclose --supervise`: run a program under a seccomp
 * user-notification supervisor that heals its pooled TCP connections without
 * LD_PRELOAD (static and Go binaries). The interface is described at the top of
 * supervise.c. */
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
