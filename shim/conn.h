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

void hc_on_socket(int fd, int domain, int type, int protocol);
/* Before the real close of fd, or just after a call other than a TCP
 * socket() created it (accept, accept4, epoll_create[1], a socket we do not
 * manage): forget whatever the table has at that number, socket entry or
 * epoll fd (after a create: what a close we never saw left behind). Other new
 * fds (files, pipes) are not hooked: before acting on a socket the library
 * checks that the fd is still that socket (its inode). */
void hc_forget_fd(int fd);
void hc_on_bind(int fd, const struct sockaddr *sa, socklen_t len);
/* ret/err: what the real connect returned. */
void hc_on_connect(int fd, const struct sockaddr *sa, socklen_t len, int ret, int err);
/* setsockopt, shutdown, and the setters of fcntl (F_SETFL, F_SETOWN,
 * F_SETOWN_EX, F_SETSIG) and ioctl (FIONBIO, FIOASYNC, FIOSETOWN, SIOCSPGRP)
 * on an fd the table knows: the real call, made with the table locked once
 * no heal of fd is under way, so that what it sets reaches the socket that
 * stays (a heal copies the old socket's flags, owner and signal to the new
 * one under the same lock); setsockopt is recorded for a heal to replay,
 * shutdown ends management. Returns what the call returned, with its errno. */
int hc_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int hc_shutdown(int fd, int how);
int hc_fcntl_set(int (*real)(int, int, ...), int fd, int cmd, long arg);
int hc_ioctl_set(int fd, unsigned long req, void *arg);
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

/* What hc_before_write decided for one write-family call, for hc_after_write. */
struct hc_write {
	enum hc_write_action act;
	bool look;      /* the bytes written are to be seen (the class, a session, a request head) */
	bool boundary;  /* the write starts a request */
	uint32_t reads; /* the connection's count of reads when the write was decided */
};

/* Called before a write-family call on a managed fd. Decides boundary,
 * probes, heals (rebuilding a session), starts keeping a replayable request.
 * Looks at none of the bytes about to be written: they are the kernel's to
 * check first (EFAULT), and hc_after_write sees what it took. Fills *w;
 * returns w->act. */
enum hc_write_action hc_before_write(int fd, struct hc_write *w);

/* After that write-family call returned ret (errno = its error), with what
 * hc_before_write decided and the bytes it was given (iov may be NULL where
 * the bytes cannot be seen: the request is then not replayable, and a
 * connection whose class or session depends on them is left alone). Only
 * the ret bytes the kernel took are looked at. */
void hc_after_write(int fd, const struct hc_write *w, const struct iovec *iov, size_t iovcnt, ssize_t ret);

enum hc_read_action {
	HC_READ_DONE,  /* return what the read returned */
	HC_READ_AGAIN, /* the request was replayed on a new connection: read again */
};

/* After a read-family call on a managed fd: the buffers it was given (iov,
 * iovcnt; NULL where they cannot be seen), its recv flags, the result
 * (errno = its error). Only the ret bytes the kernel filled are looked at,
 * and only while a session reply is awaited. An EOF or reset before any
 * reply to a request the peer provably never received resends it on a new
 * connection at fd, and says to read again (once per request). */
enum hc_read_action hc_after_read(int fd, const struct iovec *iov, size_t iovcnt, int flags, ssize_t ret);

/* The same after a read whose bytes the library cannot see (splice from the
 * socket into a pipe): asked bytes were asked for. A session that was
 * watching its replies loses sight of them. */
enum hc_read_action hc_after_read_unseen(int fd, size_t asked, ssize_t ret);

#endif
