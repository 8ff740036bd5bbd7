/*
 * hiredis_session — a hiredis (libhiredis-dev) client that logs in and selects a
 * database once, the way an application's connection setup does, then reads
 * one key on the same connection ROUNDS times, GAP_MS apart.
 *
 *   hiredis_session HOST PORT USER PASS DB ROUNDS GAP_MS KEY
 *
 * USER "-": `AUTH PASS` (requirepass); else `AUTH USER PASS` (an ACL user).
 * PASS "-": no AUTH at all.  DB 0: no SELECT.
 *
 * stdout: "auth: OK" or "auth: ERROR-TEXT", "select: OK" or the error, then
 * per round "round N: VALUE", "round N: (nil)" or "round N: error
 * ERROR-TEXT" (a reply that is a redis error, e.g. NOAUTH: the connection
 * still works), then "ok"; exit 0.  The password is never printed.  On the
 * first command whose connection fails, one line on stderr,
 * "hiredis_session: STEP: ERRSTR" with hiredis' own error string (a closed
 * connection is "Server closed the connection"), exit 1.  Usage and connect
 * errors exit 2.
 */
#include "../../clients/client.h"

#include <hiredis/hiredis.h>

static redisContext *c;

/* Prints "WHAT: " and REPLY's text; on a failed connection (REPLY NULL) prints
 * hiredis' error on stderr and exits 1. */
static void show(const char *what, redisReply *r)
{
    if (r == NULL) {
        fprintf(stderr, "hiredis_session: %s: %s\n", what, c->errstr);
        redisFree(c);
        exit(1);
    }
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        printf("%s: %s\n", what, r->str);
        break;
    case REDIS_REPLY_ERROR:
        printf("%s: error %s\n", what, r->str);
        break;
    case REDIS_REPLY_NIL:
        printf("%s: (nil)\n", what);
        break;
    case REDIS_REPLY_INTEGER:
        printf("%s: %lld\n", what, r->integer);
        break;
    default:
        printf("%s: reply of type %d\n", what, r->type);
    }
    fflush(stdout);
    freeReplyObject(r);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: hiredis_session HOST PORT USER PASS DB ROUNDS GAP_MS KEY\n");
        return 2;
    }
    int port = (int)parse_num("hiredis_session", argv[2], "port");
    const char *user = argv[3], *pass = argv[4], *key = argv[8];
    long db = parse_num("hiredis_session", argv[5], "db");
    long rounds = parse_num("hiredis_session", argv[6], "rounds");
    long gap_ms = parse_num("hiredis_session", argv[7], "gap");

    c = redisConnect(argv[1], port);
    if (c == NULL || c->err) {
        fprintf(stderr, "hiredis_session: connect %s:%d: %s\n", argv[1], port,
                c ? c->errstr : "out of memory");
        return 2;
    }
    if (strcmp(pass, "-") != 0) {
        if (strcmp(user, "-") == 0)
            show("auth", redisCommand(c, "AUTH %s", pass));
        else
            show("auth", redisCommand(c, "AUTH %s %s", user, pass));
    }
    if (db != 0)
        show("select", redisCommand(c, "SELECT %ld", db));
    for (long n = 1; n <= rounds; n++) {
        char what[32];
        if (n > 1)
            sleep_ms(gap_ms);
        snprintf(what, sizeof what, "round %ld", n);
        show(what, redisCommand(c, "GET %s", key));
    }
    redisFree(c);
    puts("ok");
    return 0;
}
