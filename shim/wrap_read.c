/* wrap_read.c - interposed read family, fortified variants included: a read
 * marks a request boundary; EOF or a reset seen by the program ends management,
 * unless the request was replayed on a new connection: then the read is made
 * again there. While a RESP session command's reply is awaited, the core
 * looks at the bytes read (hc_after_read), only those the kernel filled.
 * Each read of a managed fd is counted while it runs and until what it returned
 * is recorded (hc_read_begin/end): a swap never happens under it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wrap.h"

/* One read-family call, as the program made it. */
struct read_call {
	enum { R_READ, R_READ_CHK, R_READV, R_RECVFROM, R_RECV_CHK, R_RECVFROM_CHK, R_RECVMSG, R_RECVMMSG } kind;
	int fd, flags, cnt;
	void *buf;
	size_t n, buflen;
	struct sockaddr *from;
	socklen_t *fromlen;
	const struct iovec *iov;
	struct msghdr *msg;
	struct mmsghdr *mmsg;
	struct timespec *timeout;
};

static ssize_t real_read(const struct read_call *r)
{
	switch (r->kind) {
	case R_READ: return HC_REAL(read)(r->fd, r->buf, r->n);
	case R_READ_CHK: return HC_REAL(read_chk)(r->fd, r->buf, r->n, r->buflen);
	case R_READV: return HC_REAL(readv)(r->fd, r->iov, r->cnt);
	case R_RECVFROM: return HC_REAL(recvfrom)(r->fd, r->buf, r->n, r->flags, r->from, r->fromlen);
	case R_RECV_CHK: return HC_REAL(recv_chk)(r->fd, r->buf, r->n, r->buflen, r->flags);
	case R_RECVFROM_CHK:
		return HC_REAL(recvfrom_chk)(r->fd, r->buf, r->n, r->buflen, r->flags, r->from, r->fromlen);
	case R_RECVMSG: return HC_REAL(recvmsg)(r->fd, r->msg, r->flags);
	case R_RECVMMSG: return HC_REAL(recvmmsg)(r->fd, r->mmsg, (unsigned)r->cnt, r->flags, r->timeout);
	}
	return -1;
}

/* What recvmmsg filled, as one run of iovecs (each message's cut to its
 * msg_len) in out (cap entries). Returns the bytes, in *cnt the iovecs;
 * *cnt = SIZE_MAX if they do not fit (the bytes cannot be shown). */
static size_t mmsg_iovecs(const struct mmsghdr *m, int n, struct iovec *out, size_t cap, size_t *cnt)
{
	size_t bytes = 0, k = 0;

	for (int i = 0; i < n; i++) {
		size_t left = m[i].msg_len;
		bytes += left;
		for (size_t j = 0; j < m[i].msg_hdr.msg_iovlen && left > 0; j++) {
			size_t take = m[i].msg_hdr.msg_iov[j].iov_len < left ? m[i].msg_hdr.msg_iov[j].iov_len : left;
			if (k == cap) {
				*cnt = SIZE_MAX;
				return bytes;
			}
			out[k].iov_base = m[i].msg_hdr.msg_iov[j].iov_base;
			out[k++].iov_len = take;
			left -= take;
		}
	}
	*cnt = k;
	return bytes;
}

/* Ends the count of a managed read however the read ends: by returning, or by
 * the thread being cancelled inside it (the library is built with
 * -fexceptions, so cancellation runs cleanups). Runs after hc_after_read. */
static void read_end(const int *fd)
{
	if (*fd >= 0)
		hc_read_end(*fd);
}

/* The read r on a managed fd: counted, told to the core, made again after a
 * replay with the errno it started with. */
static HC_COLD ssize_t managed_read(const struct read_call *r)
{
	int counted __attribute__((cleanup(read_end))) = r->fd;
	int entry_errno = errno;
	struct hc_iovecs v;
	enum hc_read_action act;
	ssize_t ret;

	if (hc_reentered())
		return real_read(r); /* from a signal handler inside the library */
	hc_read_begin(r->fd);
	do {
		errno = entry_errno; /* a read made again after a replay starts as the first did */
		ret = real_read(r);
		if (r->kind == R_RECVMMSG && ret >= 0) {
			/* ret counts messages: EOF is every one of them empty. */
			struct iovec all[64];
			size_t bytes = mmsg_iovecs(r->mmsg, (int)ret, all, 64, &v.cnt);
			act = bytes == 0 || v.cnt == SIZE_MAX ? hc_after_read_unseen(r->fd, 1, (ssize_t)bytes)
							      : hc_after_read(r->fd, all, v.cnt, r->flags, (ssize_t)bytes);
		} else {
			hc_call_iovecs(&v, r->buf, r->n, r->iov, r->cnt, r->msg, ret);
			act = hc_after_read(r->fd, v.iov, v.cnt, r->flags, ret);
		}
	} while (act == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_READ, .fd = fd, .buf = buf, .n = n });
	return HC_REAL(read)(fd, buf, n);
}

HC_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (hc_fd_managed(fd))
		return managed_read(
			&(struct read_call){ .kind = R_READ_CHK, .fd = fd, .buf = buf, .n = n, .buflen = buflen });
	return HC_REAL(read_chk)(fd, buf, n, buflen);
}

HC_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_READV, .fd = fd, .iov = iov, .cnt = cnt });
	return HC_REAL(readv)(fd, iov, cnt);
}

/* recv is recvfrom without an address. */
HC_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_read(
			&(struct read_call){ .kind = R_RECVFROM, .fd = fd, .buf = buf, .n = n, .flags = flags });
	return HC_REAL(recv)(fd, buf, n, flags);
}

HC_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_RECVFROM, .fd = fd, .buf = buf, .n = n,
							 .flags = flags, .from = from, .fromlen = fromlen });
	return HC_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
}

HC_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_RECV_CHK, .fd = fd, .buf = buf, .n = n,
							 .buflen = buflen, .flags = flags });
	return HC_REAL(recv_chk)(fd, buf, n, buflen, flags);
}

HC_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
				 socklen_t *fromlen)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_RECVFROM_CHK, .fd = fd, .buf = buf, .n = n,
							 .buflen = buflen, .flags = flags, .from = from,
							 .fromlen = fromlen });
	return HC_REAL(recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
}

HC_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (hc_fd_managed(fd))
		return managed_read(&(struct read_call){ .kind = R_RECVMSG, .fd = fd, .msg = msg, .flags = flags });
	return HC_REAL(recvmsg)(fd, msg, flags);
}

HC_EXPORT int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags, struct timespec *timeout)
{
	if (hc_fd_managed(fd))
		return (int)managed_read(&(struct read_call){ .kind = R_RECVMMSG, .fd = fd, .mmsg = msgs,
							       .cnt = (int)n, .flags = flags, .timeout = timeout });
	return HC_REAL(recvmmsg)(fd, msgs, n, flags, timeout);
}

/* splice moves bytes between a pipe and a socket without the program (or the
 * library) seeing them: from a managed socket it is a read, to one a write. */
static HC_COLD ssize_t managed_splice(int in, off_t *oin, int out, off_t *oout, size_t n, unsigned int flags)
{
	int counted __attribute__((cleanup(read_end))) = -1;
	int entry_errno = errno;
	struct hc_write d;
	ssize_t ret;

	if (hc_reentered() || (!hc_fd_managed(in) && !hc_fd_managed(out)))
		return HC_REAL(splice)(in, oin, out, oout, n, flags);
	if (hc_fd_managed(out) && hc_before_write(out, &d) == HC_WRITE_FAIL)
		return hc_fail_epipe();
	if (hc_fd_managed(in)) {
		counted = in;
		hc_read_begin(in);
	}
	do {
		errno = entry_errno;
		ret = HC_REAL(splice)(in, oin, out, oout, n, flags);
		if (hc_fd_managed(out))
			hc_after_write(out, &d, NULL, 0, ret);
	} while (counted >= 0 && hc_after_read_unseen(in, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t splice(int in, off_t *oin, int out, off_t *oout, size_t n, unsigned int flags)
{
	if (hc_fd_managed(in) || hc_fd_managed(out))
		return managed_splice(in, oin, out, oout, n, flags);
	return HC_REAL(splice)(in, oin, out, oout, n, flags);
}
