/* wrap_write.c - interposed write family: write, writev, send, sendto, sendmsg,
 * sendmmsg. An fd that is not managed costs one bitmap test and a tail call; a
 * managed one is probed (and healed) at request boundaries before its bytes go
 * out, and the core sees what the kernel took afterwards (hc_after_write). */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>

#include "wrap.h"

/* One write-family call, as the program made it. */
struct write_call {
	enum { W_WRITE, W_WRITEV, W_SENDTO, W_SENDMSG } kind;
	int fd, flags, cnt;
	const void *buf;
	size_t n;
	const struct sockaddr *to;
	socklen_t tolen;
	const struct iovec *iov;
	const struct msghdr *msg;
};

static ssize_t real_write(const struct write_call *w)
{
	switch (w->kind) {
	case W_WRITE: return HC_REAL(write)(w->fd, w->buf, w->n);
	case W_WRITEV: return HC_REAL(writev)(w->fd, w->iov, w->cnt);
	case W_SENDTO: return HC_REAL(sendto)(w->fd, w->buf, w->n, w->flags, w->to, w->tolen);
	case W_SENDMSG: return HC_REAL(sendmsg)(w->fd, w->msg, w->flags);
	}
	return -1;
}

/* The write w on a managed fd: decided before (perhaps failed or healed),
 * told to the core after, with the bytes it was given. */
static HC_COLD ssize_t managed_write(const struct write_call *w)
{
	struct hc_iovecs v;
	struct hc_write d;
	ssize_t ret;

	if (hc_reentered())
		return real_write(w); /* from a signal handler inside the library */
	if (hc_before_write(w->fd, &d) == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ret = real_write(w);
	hc_call_iovecs(&v, w->buf, w->n, w->iov, w->cnt, w->msg, ret);
	hc_after_write(w->fd, &d, v.iov, v.cnt, ret);
	return ret;
}

HC_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (hc_fd_managed(fd))
		return managed_write(&(struct write_call){ .kind = W_WRITE, .fd = fd, .buf = buf, .n = n });
	return HC_REAL(write)(fd, buf, n);
}

HC_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (hc_fd_managed(fd))
		return managed_write(&(struct write_call){ .kind = W_WRITEV, .fd = fd, .iov = iov, .cnt = cnt });
	return HC_REAL(writev)(fd, iov, cnt);
}

HC_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_write(
			&(struct write_call){ .kind = W_SENDTO, .fd = fd, .buf = buf, .n = n, .flags = flags });
	return HC_REAL(send)(fd, buf, n, flags);
}

HC_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
	if (hc_fd_managed(fd))
		return managed_write(&(struct write_call){ .kind = W_SENDTO, .fd = fd, .buf = buf, .n = n,
							   .flags = flags, .to = to, .tolen = tolen });
	return HC_REAL(sendto)(fd, buf, n, flags, to, tolen);
}

HC_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (hc_fd_managed(fd))
		return managed_write(&(struct write_call){ .kind = W_SENDMSG, .fd = fd, .msg = msg, .flags = flags });
	return HC_REAL(sendmsg)(fd, msg, flags);
}

/* sendmmsg returns a count of messages, not of bytes: its bytes are never
 * kept (no replay), and a connection whose class or session depends on them
 * is left alone. */
static HC_COLD int managed_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	struct hc_write d;
	int ret;

	if (hc_reentered())
		return HC_REAL(sendmmsg)(fd, msgs, n, flags);
	if (hc_before_write(fd, &d) == HC_WRITE_FAIL)
		return (int)hc_fail_epipe();
	ret = HC_REAL(sendmmsg)(fd, msgs, n, flags);
	hc_after_write(fd, &d, NULL, 0, ret);
	return ret;
}

/* sendfile's bytes come from a file, unseen by the library: like sendmmsg's. */
static HC_COLD ssize_t managed_sendfile(ssize_t (*real)(int, int, off_t *, size_t), int out, int in, off_t *off,
					size_t n)
{
	struct hc_write d;
	ssize_t ret;

	if (hc_reentered())
		return real(out, in, off, n);
	if (hc_before_write(out, &d) == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ret = real(out, in, off, n);
	hc_after_write(out, &d, NULL, 0, ret);
	return ret;
}

HC_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	if (hc_fd_managed(out))
		return managed_sendfile(HC_REAL(sendfile), out, in, off, n);
	return HC_REAL(sendfile)(out, in, off, n);
}

HC_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t n)
{
	if (hc_fd_managed(out))
		return managed_sendfile(HC_REAL(sendfile64), out, in, off, n);
	return HC_REAL(sendfile64)(out, in, off, n);
}

HC_EXPORT int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_sendmmsg(fd, msgs, n, flags);
	return HC_REAL(sendmmsg)(fd, msgs, n, flags);
}
