/*
 * chaos_common.c — what chaos_client and chaos_server share (chaos_common.h):
 * options, the clock, the log, and the request line (built by the client,
 * parsed by the server) and its reply.
 */
#include "chaos_common.h"

#include <fcntl.h>
#include <stdarg.h>

/* --- options -------------------------------------------------------------------------------- */

long opt_value(const struct opt *opts, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].name, key) == 0)
            return opts[i].value;
    abort(); /* a name in the program that is not in its opts */
}

void opts_parse(const char *prog, struct opt *opts, size_t n, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        char *eq = strchr(argv[i], '='), *end;
        size_t k;
        long v = -1;

        for (k = 0; eq && k < n; k++)
            if (strlen(opts[k].name) == (size_t)(eq - argv[i]) &&
                memcmp(opts[k].name, argv[i], (size_t)(eq - argv[i])) == 0)
                break;
        if (eq && k < n && eq[1] != '\0') {
            errno = 0;
            v = strtol(eq + 1, &end, 10);
            if (errno || *end)
                v = -1;
        }
        if (v < 0) {
            fprintf(stderr, "%s: bad option %s (KEY=NUMBER; keys:", prog, argv[i]);
            for (k = 0; k < n; k++)
                fprintf(stderr, " %s", opts[k].name);
            fprintf(stderr, ")\n");
            exit(2);
        }
        opts[k].value = v;
    }
}

/* --- time and the log --------------------------------------------------------------------- */

long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int log_fd = -1;
static const char *log_who = "chaos";
static bool log_stamped;

void log_open(const char *who, const char *path, bool stamped)
{
    log_who = who;
    log_stamped = stamped;
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "%s: open %s: %s\n", who, path, strerror(errno));
        exit(1);
    }
}

void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n = 0, e = errno;

    if (log_stamped) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        n = snprintf(line, sizeof line, "%lld.%03ld ", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                     (ts.tv_nsec / 1000) % 1000);
    }
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(log_fd, line, (size_t)n) != n) {
        fprintf(stderr, "%s: write to the log: %s\n", log_who, strerror(errno));
        exit(1);
    }
    errno = e;
}

/* --- the request line and its reply ----------------------------------------------------------- */

size_t format_request(uint64_t *s, char *req, const char *id, long pad)
{
    size_t len = (size_t)snprintf(req, REQ_MAX, "id=%s n=%ld pad=", id, pad);

    for (long i = 0; i < pad && len < REQ_MAX - 2; i++)
        req[len++] = (char)('a' + xorshift(s) % 26);
    req[len++] = '\n';
    return len;
}

size_t format_reply(char *reply, size_t size, const char *id)
{
    return (size_t)snprintf(reply, size, "ok %s\n", id);
}

static bool id_char(char c)
{
    return c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

size_t parse_request(const char *line, size_t len, char *id)
{
    size_t i = 3, j, idlen;
    long n = 0;

    if (len < 4 || memcmp(line, "id=", 3) != 0)
        return 0;
    while (i < len && id_char(line[i]))
        i++;
    idlen = i - 3;
    if (idlen == 0 || idlen > ID_MAX || i >= len || line[i] != ' ')
        return 0;
    memcpy(id, line + 3, idlen);
    id[idlen] = '\0';
    if (len - i < 4 || memcmp(line + i, " n=", 3) != 0)
        return 0;
    j = i + 3;
    if (j >= len || line[j] < '0' || line[j] > '9')
        return 0;
    while (j < len && line[j] >= '0' && line[j] <= '9' && n < 100000)
        n = n * 10 + (line[j++] - '0');
    if (len - j < 5 || memcmp(line + j, " pad=", 5) != 0)
        return 0;
    j += 5;
    if ((long)(len - 1 - j) != n)
        return 0;
    for (; j < len - 1; j++)
        if (line[j] < 'a' || line[j] > 'z')
            return 0;
    return i + 1;
}
