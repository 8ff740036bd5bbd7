/* wrap_socket.c - interposed socket setup calls: socket, connect, setsockopt,
 * bind, fcntl, ioctl(FIONBIO), shutdown. Each records what a swap must replay. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>

#include "wrap.h"

/* Read the configuration at load time, so a bad value is reported when the
 * program starts, not at its first socket. Symbols are bound later, lazily. */
__attribute__((constructor)) static void hc_load(void)
{
	hc_init();
}

HC_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = HC_REAL(socket)(domain, type, protocol);
	if (fd >= 0)
		hc_on_socket(fd, domain, type, protocol);
	return fd;
}

HC_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int ret = HC_REAL(connect)(fd, addr, len);
	if (hc_fd_known(fd))
		hc_on_connect(fd, addr, len, ret, ret == 0 ? 0 : errno);
	return ret;
}

HC_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (hc_fd_known(fd))
		return hc_setsockopt(fd, level, name, val, len);
	return HC_REAL(setsockopt)(fd, level, name, val, len);
}

HC_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int ret = HC_REAL(bind)(fd, addr, len);
	if (ret == 0)
		hc_on_bind(fd, addr, len);
	return ret;
}

/* The fcntl commands that set what a heal copies to the new socket. */
static bool sets_what_a_heal_copies(int cmd)
{
	return cmd == F_SETFL || cmd == F_SETOWN || cmd == F_SETOWN_EX || cmd == F_SETSIG;
}

/* fcntl's third argument is an int or a pointer; passing it on as a long is
 * what glibc's own fcntl does with it. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	int ret;

	if (hc_fd_known(fd) && sets_what_a_heal_copies(cmd))
		return hc_fcntl_set(real, fd, cmd, arg);
	ret = real(fd, cmd, arg);
	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		hc_on_dup(fd, ret);
	return ret;
}

/* The one optional argument of a variadic call, after last, as a type. */
#define OPTIONAL_ARG(type, last)               \
	({                                     \
		va_list ap_;                   \
		va_start(ap_, last);           \
		type arg_ = va_arg(ap_, type); \
		va_end(ap_);                   \
		arg_;                          \
	})

HC_EXPORT int fcntl(int fd, int cmd, ...)
{
	return do_fcntl(HC_REAL(fcntl), fd, cmd, OPTIONAL_ARG(long, cmd));
}

HC_EXPORT int fcntl64(int fd, int cmd, ...)
{
	return do_fcntl(HC_REAL(fcntl64), fd, cmd, OPTIONAL_ARG(long, cmd));
}

HC_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	void *arg = OPTIONAL_ARG(void *, req);

	/* O_NONBLOCK, O_ASYNC and the owner, which a heal copies. */
	if (hc_fd_known(fd) && (req == FIONBIO || req == FIOASYNC || req == FIOSETOWN || req == SIOCSPGRP))
		return hc_ioctl_set(fd, req, arg);
	return HC_REAL(ioctl)(fd, req, arg);
}

HC_EXPORT int shutdown(int fd, int how)
{
	if (hc_fd_known(fd))
		return hc_shutdown(fd, how);
	return HC_REAL(shutdown)(fd, how);
}
