/*
 * chaos_common.h — what chaos_client and chaos_server share: the request line
 * and its reply, the KEY=VALUE options, the xorshift draws, the clock and the
 * log (chaos_common.c).
 *
 * A request is one line "id=ID n=N pad=P\n": ID is 1..ID_MAX bytes of
 * [A-Za-z0-9._-], P exactly N bytes of [a-z], the whole line at most REQ_MAX
 * bytes; the reply to it is "ok ID\n".
 *
 * Include it first: it includes ../clients/client.h (which defines _GNU_SOURCE
 * and has errname(), sleep_ms(), local_port(), ...).
 */
#ifndef HC_CHAOS_COMMON_H
#define HC_CHAOS_COMMON_H

#include "../clients/client.h"

#include <stdbool.h>
#include <stdint.h>

#define REQ_MAX 8192  /* a request line, the '\n' included */
#define ID_MAX 80     /* bytes of a request's ID */
#define REPLY_MAX 128 /* room for "ok ID\n" and its NUL */

/* --- options: KEY=VALUE on the command line, VALUE a number >= 0 --------------------------- */

struct opt {
    const char *name;
    long value;
};

/* The value of option KEY in OPTS (N of them); aborts if KEY is not one (a bug in the program). */
long opt_value(const struct opt *opts, size_t n, const char *key);

/* Sets OPTS (N of them) from ARGV[FIRST..ARGC-1]; on a word that is not KEY=NUMBER with a KEY of
 * OPTS, prints "PROG: bad option WORD (KEY=NUMBER; keys: ...)" on stderr and exits 2. */
void opts_parse(const char *prog, struct opt *opts, size_t n, int argc, char **argv, int first);

/* --- random draws (xorshift64; a state is never 0) -------------------------------------------- */

static inline uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A number in [LO, HI] (LO if HI <= LO, without a draw). */
static inline long rnd_between(uint64_t *s, long lo, long hi)
{
    return hi <= lo ? lo : lo + (long)(xorshift(s) % (uint64_t)(hi - lo + 1));
}

/* True with probability PCT / 100. */
static inline bool chance_pct(uint64_t *s, long pct)
{
    return (long)(xorshift(s) % 100) < pct;
}

/* True with probability PERMILLE / 1000. */
static inline bool chance_permille(uint64_t *s, long permille)
{
    return (long)(xorshift(s) % 1000) < permille;
}

/* --- time and the log --------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ms. */
long long mono_ms(void);

/* LOG, opened by log_open(). */
extern int log_fd;

/* Opens PATH for appending as the log of WHO ("chaos_server", "chaos_client NAME": named in the
 * messages); with STAMPED, every line say() writes starts with "MS " (CLOCK_REALTIME ms, to the
 * microsecond).  Prints "WHO: open PATH: ERROR" and exits 1 if it cannot. */
void log_open(const char *who, const char *path, bool stamped);

/* One line to the log in one write(2) (several processes may append to one log), errno kept;
 * exits 1 on a failed write (the checks would be wrong). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- the request line and its reply ----------------------------------------------------------- */

/* The request line for ID with PAD letters drawn from S, into REQ (REQ_MAX bytes); its length. */
size_t format_request(uint64_t *s, char *req, const char *id, long pad);

/* "ok ID\n" into REPLY (SIZE bytes); its length. */
size_t format_reply(char *reply, size_t size, const char *id);

/* Checks LINE (LEN bytes, the '\n' included) against "id=ID n=N pad=P\n"; copies ID to ID
 * (ID_MAX + 1 bytes) and returns the length of "id=ID " (0 if the line is bad). */
size_t parse_request(const char *line, size_t len, char *id);

#endif /* HC_CHAOS_COMMON_H */
