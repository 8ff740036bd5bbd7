/* wrap_socket.c - interposed socket setup calls: socket, connect, setsockopt,
 * bind, fcntl, ioctl(FIONBIO), shutdown. Each records what a swap must replay. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
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
	int ret = HC_REAL(setsockopt)(fd, level, name, val, len);
	if (ret == 0)
		hc_on_setsockopt(fd, level, name, val, len);
	return ret;
}

HC_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int ret = HC_REAL(bind)(fd, addr, len);
	if (ret == 0)
		hc_on_bind(fd, addr, len);
	return ret;
}

/* fcntl's third argument is an int or a pointer; passing it on as a long is
 * what glibc's own fcntl does with it. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, long arg)
{
	int ret = real(fd, cmd, arg);
	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		hc_on_dup(fd, ret);
	else if (ret == 0 && cmd == F_SETFL)
		hc_on_status_flags(fd, (int)arg);
	return ret;
}

HC_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(HC_REAL(fcntl), fd, cmd, arg);
}

HC_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(HC_REAL(fcntl64), fd, cmd, arg);
}

HC_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int ret = HC_REAL(ioctl)(fd, req, arg);
	if (ret == 0 && req == FIONBIO && arg != NULL)
		hc_on_nonblock(fd, *(const int *)arg != 0);
	return ret;
}

HC_EXPORT int shutdown(int fd, int how)
{
	int ret = HC_REAL(shutdown)(fd, how);
	if (ret == 0)
		hc_on_shutdown(fd);
	return ret;
}
