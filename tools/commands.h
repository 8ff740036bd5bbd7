/* commands.h - the launcher's subcommands: `halfclose stats` (stats.c) and
 * `halfclose measure` (measure.c). Each takes its own argv (argv[0] is the
 * subcommand's name) and returns the exit status. */
#ifndef HC_COMMANDS_H
#define HC_COMMANDS_H

#include <stdio.h>

int hc_cmd_stats(int argc, char **argv);
int hc_cmd_measure(int argc, char **argv);

/* The end of a subcommand's getopt loop on c, 'h' or any other: the usage
 * on stdout and 0 for help, on stderr and 2 otherwise. */
static inline int hc_cmd_usage(void (*usage)(FILE *out), int c)
{
	usage(c == 'h' ? stdout : stderr);
	return c == 'h' ? 0 : 2;
}

#endif
