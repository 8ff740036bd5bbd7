/* loopback.h - real TCP connections on 127.0.0.1 for the unit suites.
 * Every helper fails the running test (ck_abort) rather than returning an error. */
#ifndef HC_TEST_LOOPBACK_H
#define HC_TEST_LOOPBACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Generous bound for anything we wait on: never timing luck, only a safety net. */
#define WAIT_MS 10000

/* A client/server pair over loopback: client is connect()ed to the listener,
 * server is the socket the listener accepted for it. */
struct tcp_pair {
	int client;
	int server;
};

/* A listening socket on 127.0.0.1, an ephemeral port; its address in *addr. */
int listen_loopback(struct sockaddr_in *addr);
/* Same with the given backlog (0: a queue that fills after one connection). */
int listen_loopback_backlog(struct sockaddr_in *addr, int backlog);
/* A listener on 127.0.0.1:port (SO_REUSEADDR), its address in *addr. */
int listen_at(struct sockaddr_in *addr, unsigned short port, int backlog);
/* A blocking TCP client connected to addr. */
int connect_to(const struct sockaddr_in *addr);
/* The next connection on listener, waiting at most WAIT_MS. */
int accept_within(int listener);
/* A connected pair through a temporary listener (closed before returning). */
struct tcp_pair tcp_pair_open(void);
/* Closes what is still open (skipping -1). */
void tcp_pair_close(struct tcp_pair *p);

/* Closes *fd ahead of the test's cleanup and leaves -1 there, for the cleanup to skip. */
void close_early(int *fd);

/* Polls fd until one of events is reported or WAIT_MS passes; returns revents
 * (0 on timeout). Consumes nothing. */
short wait_for_events(int fd, short events);

/* One read() of fd once it is readable, failing the test if it is not within WAIT_MS. */
ssize_t read_within(int fd, void *buf, size_t n);

/* The one thing written on fd (want), read whole, once it is readable. */
void assert_received(int fd, const char *want);

/* Makes close() send RST: SO_LINGER {1, 0}. */
void set_linger_zero(int fd);

/* Number of open fds of this process (entries of /proc/self/fd). */
int count_open_fds(void);

/* struct sockaddr_in for 127.0.0.x:port (port in host order). */
struct sockaddr_in loopback_addr(unsigned char last_octet, unsigned short port);

/* True if a and b are the same IPv4 address and port. */
bool same_inet(const struct sockaddr_in *a, const struct sockaddr_in *b);

struct sockaddr_in local_of(int fd);
struct sockaddr_in peer_of(int fd);

#endif
