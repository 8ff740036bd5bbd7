/* wrap_read.c - interposed read family, fortified variants included: a read
 * marks a request boundary; EOF or a reset seen by the program ends management,
 * unless the request was replayed on a new connection: then the read is made
 * again there.
 * The size asked for matters only when 0 came back (EOF or an empty read), so
 * the program's iovecs are only walked then, after the kernel accepted them.
 * Each read of a managed fd is counted while it runs and until what it returned
 * is recorded (hc_read_begin/end): a swap never happens under it. */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>

#include "wrap.h"

/* Ends the count of a managed read however the read ends: by returning, or by
 * the thread being cancelled inside it (the library is built with
 * -fexceptions, so cancellation runs cleanups). Runs after hc_after_read. */
static void read_end(const int *fd)
{
	hc_read_end(*fd);
}

static size_t iov_total(const struct iovec *iov, size_t cnt)
{
	size_t total = 0;
	for (size_t i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	return total;
}

static HC_COLD ssize_t managed_read(int fd, void *buf, size_t n)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno; /* a read made again after a replay starts as the first did */
		ret = HC_REAL(read)(fd, buf, n);
	} while (hc_after_read(fd, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (hc_fd_managed(fd))
		return managed_read(fd, buf, n);
	return HC_REAL(read)(fd, buf, n);
}

static HC_COLD ssize_t managed_read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(read_chk)(fd, buf, n, buflen);
	} while (hc_after_read(fd, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (hc_fd_managed(fd))
		return managed_read_chk(fd, buf, n, buflen);
	return HC_REAL(read_chk)(fd, buf, n, buflen);
}

static HC_COLD ssize_t managed_readv(int fd, const struct iovec *iov, int cnt)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(readv)(fd, iov, cnt);
	} while (hc_after_read(fd, ret == 0 && cnt > 0 ? iov_total(iov, (size_t)cnt) : 0, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (hc_fd_managed(fd))
		return managed_readv(fd, iov, cnt);
	return HC_REAL(readv)(fd, iov, cnt);
}

/* recv and __recv_chk share this: recv is recvfrom without an address. */
static HC_COLD ssize_t managed_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
				     socklen_t *fromlen)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
	} while (hc_after_read(fd, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_recvfrom(fd, buf, n, flags, NULL, NULL);
	return HC_REAL(recv)(fd, buf, n, flags);
}

HC_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	if (hc_fd_managed(fd))
		return managed_recvfrom(fd, buf, n, flags, from, fromlen);
	return HC_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
}

static HC_COLD ssize_t managed_recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(recv_chk)(fd, buf, n, buflen, flags);
	} while (hc_after_read(fd, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (hc_fd_managed(fd))
		return managed_recv_chk(fd, buf, n, buflen, flags);
	return HC_REAL(recv_chk)(fd, buf, n, buflen, flags);
}

static HC_COLD ssize_t managed_recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
					 struct sockaddr *from, socklen_t *fromlen)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
	} while (hc_after_read(fd, n, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
				 socklen_t *fromlen)
{
	if (hc_fd_managed(fd))
		return managed_recvfrom_chk(fd, buf, n, buflen, flags, from, fromlen);
	return HC_REAL(recvfrom_chk)(fd, buf, n, buflen, flags, from, fromlen);
}

static HC_COLD ssize_t managed_recvmsg(int fd, struct msghdr *msg, int flags)
{
	int counted __attribute__((cleanup(read_end))) = fd;
	int entry_errno = errno;
	ssize_t ret;

	hc_read_begin(fd);
	do {
		errno = entry_errno;
		ret = HC_REAL(recvmsg)(fd, msg, flags);
	} while (hc_after_read(fd, ret == 0 ? iov_total(msg->msg_iov, msg->msg_iovlen) : 0, ret) == HC_READ_AGAIN);
	return ret;
}

HC_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (hc_fd_managed(fd))
		return managed_recvmsg(fd, msg, flags);
	return HC_REAL(recvmsg)(fd, msg, flags);
}
