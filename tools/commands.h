/* commands.h - the launcher's subcommands: `halfclose stats` (stats.c) and
 * `halfclose measure` (measure.c). Each takes its own argv (argv[0] is the
 * subcommand's name) and returns the exit status. */
#ifndef HC_COMMANDS_H
#define HC_COMMANDS_H

int hc_cmd_stats(int argc, char **argv);
int hc_cmd_measure(int argc, char **argv);

#endif
