/* wrap_write.c - interposed write family: write, writev, send, sendto, sendmsg,
 * sendmmsg. An fd that is not managed costs one bitmap test and a tail call; a
 * managed one is probed (and healed) at request boundaries before its bytes go out.
 * What is written is handed to the core as an iovec, read only at boundaries. */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>

#include "wrap.h"

static HC_COLD ssize_t managed_write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	enum hc_write_action act = hc_before_write(fd, &v, 1);

	if (act == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ssize_t ret = HC_REAL(write)(fd, buf, n);
	hc_after_write(fd, act, &v, 1, ret);
	return ret;
}

HC_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (hc_fd_managed(fd))
		return managed_write(fd, buf, n);
	return HC_REAL(write)(fd, buf, n);
}

static HC_COLD ssize_t managed_writev(int fd, const struct iovec *iov, int cnt)
{
	size_t n = cnt > 0 ? (size_t)cnt : 0;
	enum hc_write_action act = hc_before_write(fd, iov, n);

	if (act == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ssize_t ret = HC_REAL(writev)(fd, iov, cnt);
	hc_after_write(fd, act, iov, n, ret);
	return ret;
}

HC_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (hc_fd_managed(fd))
		return managed_writev(fd, iov, cnt);
	return HC_REAL(writev)(fd, iov, cnt);
}

static HC_COLD ssize_t managed_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
				   socklen_t tolen)
{
	struct iovec v = { (void *)buf, n };
	enum hc_write_action act = hc_before_write(fd, &v, 1);

	if (act == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ssize_t ret = HC_REAL(sendto)(fd, buf, n, flags, to, tolen);
	hc_after_write(fd, act, &v, 1, ret);
	return ret;
}

HC_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_sendto(fd, buf, n, flags, NULL, 0);
	return HC_REAL(send)(fd, buf, n, flags);
}

HC_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
	if (hc_fd_managed(fd))
		return managed_sendto(fd, buf, n, flags, to, tolen);
	return HC_REAL(sendto)(fd, buf, n, flags, to, tolen);
}

static HC_COLD ssize_t managed_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	/* A NULL msg is the kernel's EFAULT to report. */
	const struct iovec *iov = msg ? msg->msg_iov : NULL;
	size_t n = msg ? msg->msg_iovlen : 0;
	enum hc_write_action act = hc_before_write(fd, iov, n);

	if (act == HC_WRITE_FAIL)
		return hc_fail_epipe();
	ssize_t ret = HC_REAL(sendmsg)(fd, msg, flags);
	hc_after_write(fd, act, iov, n, ret);
	return ret;
}

HC_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (hc_fd_managed(fd))
		return managed_sendmsg(fd, msg, flags);
	return HC_REAL(sendmsg)(fd, msg, flags);
}

static HC_COLD int managed_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	const struct msghdr *first = msgs != NULL && n > 0 ? &msgs[0].msg_hdr : NULL;

	enum hc_write_action act = hc_before_write(fd, first ? first->msg_iov : NULL, first ? first->msg_iovlen : 0);

	if (act == HC_WRITE_FAIL)
		return (int)hc_fail_epipe();
	int ret = HC_REAL(sendmmsg)(fd, msgs, n, flags);
	/* ret counts messages: the bytes are not kept (no replay after sendmmsg). */
	hc_after_write(fd, act, NULL, 0, ret);
	return ret;
}

HC_EXPORT int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n, int flags)
{
	if (hc_fd_managed(fd))
		return managed_sendmmsg(fd, msgs, n, flags);
	return HC_REAL(sendmmsg)(fd, msgs, n, flags);
}
