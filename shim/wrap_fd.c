/* wrap_fd.c - interposed fd lifecycle calls: close, close_range, closefrom,
 * dup, dup2, dup3, accept, accept4. The table forgets an fd before its number
 * can be given out again, and whatever was left at a number given out anew. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <linux/close_range.h>
#include <unistd.h>

#include "wrap.h"

HC_EXPORT int close(int fd)
{
	/* Forget first: once closed, another thread may get this number back. */
	hc_forget_fd(fd);
	return HC_REAL(close)(fd);
}

HC_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		hc_on_close_range(first, last);
	return HC_REAL(close_range)(first, last, flags);
}

HC_EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0)
		hc_on_close_range((unsigned)lowfd, UINT_MAX);
	HC_REAL(closefrom)(lowfd);
}

HC_EXPORT int dup(int fd)
{
	int ret = HC_REAL(dup)(fd);
	if (ret >= 0)
		hc_on_dup(fd, ret);
	return ret;
}

HC_EXPORT int dup2(int oldfd, int newfd)
{
	hc_before_replace(newfd);
	int ret = HC_REAL(dup2)(oldfd, newfd);
	if (ret >= 0)
		hc_on_dup(oldfd, newfd);
	return ret;
}

HC_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	hc_before_replace(newfd);
	int ret = HC_REAL(dup3)(oldfd, newfd, flags);
	if (ret >= 0)
		hc_on_dup(oldfd, newfd);
	return ret;
}

HC_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int ret = HC_REAL(accept)(fd, addr, len);
	if (ret >= 0)
		hc_forget_fd(ret);
	return ret;
}

HC_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int ret = HC_REAL(accept4)(fd, addr, len, flags);
	if (ret >= 0)
		hc_forget_fd(ret);
	return ret;
}
