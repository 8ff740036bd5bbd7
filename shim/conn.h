/* conn.h - the life of a managed connection: what each family of wrapped calls
 * tells the table, and the decision taken at a write (pass, probe, heal, fail).
 * Every function preserves errno and is safe to call before hc_init(). */
#ifndef HC_CONN_H
#define HC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Reads the configuration once; after a bad value the shim stays passive. */
void hc_init(void);

/* True once hc_init() found a valid configuration that does not disable us. */
bool hc_active(void);

/* Monotonic clock in nanoseconds (vDSO: no system call). */
uint64_t hc_now_ns(void);

void hc_on_socket(int fd, int domain, int type, int protocol);
/* fd was just created by a call other than a TCP socket() (accept, accept4,
 * epoll_create[1], a socket we do not manage): forget whatever a close we
 * never saw left at that number, socket entry or epoll fd. Other new fds
 * (files, pipes) are not hooked: before acting on a socket the library checks
 * that the fd is still that socket (its inode). */
void hc_on_fd_created(int fd);
void hc_on_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
void hc_on_bind(int fd, const struct sockaddr *sa, socklen_t len);
/* ret/err: what the real connect returned. */
void hc_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err);
void hc_on_status_flags(int fd, int flags);
void hc_on_nonblock(int fd, bool on);
void hc_on_shutdown(int fd);
/* Before the real close of fd: forget it (as a socket or as an epoll fd). */
void hc_on_close(int fd);
void hc_on_close_range(unsigned first, unsigned last);
/* Before dup2/dup3 onto fd: waits until no heal of fd is under way, so that a
 * heal never installs its socket over the program's new fd. */
void hc_before_replace(int fd);
/* epoll_ctl for an fd the table knows: the real call and its record under the
 * table lock. Returns what the call returned, with its errno. */
int hc_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
/* newfd became a copy of oldfd (dup*, F_DUPFD): a shared socket is no longer swappable. */
void hc_on_dup(int oldfd, int newfd);

enum hc_write_action {
	HC_WRITE_PROCEED, /* write, then tell hc_after_write */
	HC_WRITE_RECORD,  /* the same; what the write takes is kept for a replay */
	HC_WRITE_FAIL,    /* return -1 with errno EPIPE, send nothing */
};

/* Called before a write-family call on a managed fd, with what is about to be
 * written (read only at boundaries, for TLS detection; NULL bases tolerated).
 * Decides boundary, probes, heals, starts keeping a replayable request. */
enum hc_write_action hc_before_write(int fd, const struct iovec *iov, size_t iovcnt);

/* After that write-family call returned ret (errno = its error), with the
 * action hc_before_write gave and the bytes it was given (iov may be NULL
 * where the bytes cannot be kept: the request is then not replayable). */
void hc_after_write(int fd, enum hc_write_action act, const struct iovec *iov, size_t iovcnt, ssize_t ret);

enum hc_read_action {
	HC_READ_DONE,  /* return what the read returned */
	HC_READ_AGAIN, /* the request was replayed on a new connection: read again */
};

/* After a read-family call on a managed fd: requested bytes, the result
 * (errno = its error). An EOF or reset before any reply to a request the peer
 * provably never received resends it on a new connection at fd, and says to
 * read again (once per request). */
enum hc_read_action hc_after_read(int fd, size_t requested, ssize_t ret);

#endif
