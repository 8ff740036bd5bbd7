/*
 * hiredis_ping — a hiredis (libhiredis-dev) client that keeps one connection
 * to redis and PINGs it ROUNDS times, GAP_MS apart.
 *
 *   hiredis_ping HOST PORT ROUNDS GAP_MS
 *   hiredis_ping --version            prints "hiredis MAJOR.MINOR.PATCH"
 *
 * stdout: "round N: PONG" per round, then "ok"; exit 0.  On the first failed
 * command one line on stderr, "hiredis_ping: round N: ERRSTR" with hiredis'
 * own error string (a closed connection is "Server closed the connection"),
 * exit 1.  Usage and connect errors exit 2.
 */
#include "../../clients/client.h"

#include <hiredis/hiredis.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("hiredis %d.%d.%d\n", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
        return 0;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: hiredis_ping HOST PORT ROUNDS GAP_MS | --version\n");
        return 2;
    }
    int port = (int)parse_num("hiredis_ping", argv[2], "port");
    long rounds = parse_num("hiredis_ping", argv[3], "rounds");
    long gap_ms = parse_num("hiredis_ping", argv[4], "gap");

    redisContext *c = redisConnect(argv[1], port);
    if (c == NULL || c->err) {
        fprintf(stderr, "hiredis_ping: connect %s:%d: %s\n", argv[1], port,
                c ? c->errstr : "out of memory");
        return 2;
    }
    for (long n = 1; n <= rounds; n++) {
        if (n > 1)
            sleep_ms(gap_ms);
        redisReply *r = redisCommand(c, "PING");
        if (r == NULL) {
            fprintf(stderr, "hiredis_ping: round %ld: %s\n", n, c->errstr);
            redisFree(c);
            return 1;
        }
        int pong = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (pong)
            printf("round %ld: PONG\n", n);
        else
            fprintf(stderr, "hiredis_ping: round %ld: unexpected reply type %d\n", n, r->type);
        fflush(stdout);
        freeReplyObject(r);
        if (!pong) {
            redisFree(c);
            return 1;
        }
    }
    redisFree(c);
    puts("ok");
    return 0;
}
