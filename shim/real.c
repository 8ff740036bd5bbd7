/* real.c - binds the real libc functions behind the wrappers: dlsym(RTLD_NEXT)
 * under pthread_once, never from a constructor, with a syscall fallback. */
#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct hc_real_fns hc_real;
atomic_int hc_real_ready;

/* Fallbacks: used if dlsym finds nothing, finds our own wrapper, or is itself
 * calling back into a wrapper while we bind (a thread-local flag says so). */
static int sys_socket(int d, int t, int p) { return (int)syscall(SYS_socket, d, t, p); }
static int sys_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)syscall(SYS_connect, fd, a, l); }
static int sys_setsockopt(int fd, int lv, int n, const void *v, socklen_t l)
{
	return (int)syscall(SYS_setsockopt, fd, lv, n, v, l);
}
static int sys_bind(int fd, const struct sockaddr *a, socklen_t l) { return (int)syscall(SYS_bind, fd, a, l); }
static int sys_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
static int sys_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)syscall(SYS_ioctl, fd, req, arg);
}
static int sys_shutdown(int fd, int how) { return (int)syscall(SYS_shutdown, fd, how); }
static int sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static int sys_close_range(unsigned a, unsigned b, int f) { return (int)syscall(SYS_close_range, a, b, f); }
static void sys_closefrom(int low) { syscall(SYS_close_range, (unsigned)low, ~0u, 0); }
static int sys_accept4(int fd, struct sockaddr *a, socklen_t *l, int f) { return (int)syscall(SYS_accept4, fd, a, l, f); }
static int sys_accept(int fd, struct sockaddr *a, socklen_t *l) { return sys_accept4(fd, a, l, 0); }
static int sys_dup(int fd) { return (int)syscall(SYS_dup, fd); }
static int sys_dup2(int a, int b) { return (int)syscall(SYS_dup2, a, b); }
static int sys_dup3(int a, int b, int f) { return (int)syscall(SYS_dup3, a, b, f); }
static int sys_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev) { return (int)syscall(SYS_epoll_ctl, ep, op, fd, ev); }
static int sys_epoll_create1(int flags) { return (int)syscall(SYS_epoll_create1, flags); }
/* epoll_create's size is only checked, as the kernel does (not every arch has the old call). */
static int sys_epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return sys_epoll_create1(0);
}
static ssize_t sys_write(int fd, const void *b, size_t n) { return syscall(SYS_write, fd, b, n); }
static ssize_t sys_writev(int fd, const struct iovec *v, int n) { return syscall(SYS_writev, fd, v, n); }
static ssize_t sys_sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l)
{
	return syscall(SYS_sendto, fd, b, n, fl, a, l);
}
static ssize_t sys_send(int fd, const void *b, size_t n, int fl) { return sys_sendto(fd, b, n, fl, NULL, 0); }
static ssize_t sys_sendmsg(int fd, const struct msghdr *m, int fl) { return syscall(SYS_sendmsg, fd, m, fl); }
static int sys_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int fl) { return (int)syscall(SYS_sendmmsg, fd, m, n, fl); }
static ssize_t sys_read(int fd, void *b, size_t n) { return syscall(SYS_read, fd, b, n); }
static ssize_t sys_readv(int fd, const struct iovec *v, int n) { return syscall(SYS_readv, fd, v, n); }
static ssize_t sys_recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
	return syscall(SYS_recvfrom, fd, b, n, fl, a, l);
}
static ssize_t sys_recv(int fd, void *b, size_t n, int fl) { return sys_recvfrom(fd, b, n, fl, NULL, NULL); }
static ssize_t sys_recvmsg(int fd, struct msghdr *m, int fl) { return syscall(SYS_recvmsg, fd, m, fl); }
static int sys_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int fl, struct timespec *t)
{
	return (int)syscall(SYS_recvmmsg, fd, m, n, fl, t);
}
static ssize_t sys_splice(int in, off_t *oin, int out, off_t *oout, size_t n, unsigned fl)
{
	return syscall(SYS_splice, in, oin, out, oout, n, fl);
}
static ssize_t sys_sendfile(int out, int in, off_t *off, size_t n) { return syscall(SYS_sendfile, out, in, off, n); }
/* The fortified checks, as glibc makes them: a read larger than the buffer aborts. */
static ssize_t sys_read_chk(int fd, void *b, size_t n, size_t bl)
{
	if (n > bl)
		abort();
	return sys_read(fd, b, n);
}
static ssize_t sys_recv_chk(int fd, void *b, size_t n, size_t bl, int fl)
{
	if (n > bl)
		abort();
	return sys_recv(fd, b, n, fl);
}
static ssize_t sys_recvfrom_chk(int fd, void *b, size_t n, size_t bl, int fl, struct sockaddr *a, socklen_t *l)
{
	if (n > bl)
		abort();
	return sys_recvfrom(fd, b, n, fl, a, l);
}

static const struct hc_real_fns fallback = {
	.socket = sys_socket, .connect = sys_connect, .setsockopt = sys_setsockopt, .bind = sys_bind,
	.fcntl = sys_fcntl, .fcntl64 = sys_fcntl, .ioctl = sys_ioctl, .shutdown = sys_shutdown,
	.close = sys_close, .close_range = sys_close_range, .dup = sys_dup, .dup2 = sys_dup2,
	.dup3 = sys_dup3, .closefrom = sys_closefrom, .epoll_ctl = sys_epoll_ctl,
	.epoll_create = sys_epoll_create, .epoll_create1 = sys_epoll_create1, .accept = sys_accept,
	.accept4 = sys_accept4, .write = sys_write, .writev = sys_writev, .send = sys_send,
	.sendto = sys_sendto, .sendmsg = sys_sendmsg, .sendmmsg = sys_sendmmsg, .read = sys_read,
	.readv = sys_readv, .recv = sys_recv, .recvfrom = sys_recvfrom, .recvmsg = sys_recvmsg,
	.read_chk = sys_read_chk, .recv_chk = sys_recv_chk, .recvfrom_chk = sys_recvfrom_chk,
	.recvmmsg = sys_recvmmsg, .splice = sys_splice, .sendfile = sys_sendfile, .sendfile64 = sys_sendfile,
};

static pthread_once_t bind_once = PTHREAD_ONCE_INIT;
static __thread int binding; /* this thread is inside bind_all() */

/* This library's own image, from its ELF header to the end of its data (the
 * linker defines both for every object; hidden, so they are ours). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

/* The address dlsym found for name after us, or NULL if there is none or it is
 * inside this very library (a broken chain that leads back to our wrapper).
 * (A dladdr per symbol cost ~48 000 instructions each, twice, at every
 * process start.) */
static void *find_next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	if (p == NULL || ((const char *)p >= __ehdr_start && (const char *)p < _end))
		return NULL;
	return p;
}

#define BIND(field, sym)                                  \
	do {                                              \
		void *p_ = find_next(sym);                \
		if (p_ != NULL)                           \
			*(void **)&hc_real.field = p_;    \
	} while (0)

static void bind_all(void)
{
	binding = 1;
	hc_real = fallback;
	BIND(socket, "socket");
	BIND(connect, "connect");
	BIND(setsockopt, "setsockopt");
	BIND(bind, "bind");
	BIND(fcntl, "fcntl");
	BIND(fcntl64, "fcntl64");
	BIND(ioctl, "ioctl");
	BIND(shutdown, "shutdown");
	BIND(close, "close");
	BIND(close_range, "close_range");
	BIND(closefrom, "closefrom");
	BIND(accept, "accept");
	BIND(accept4, "accept4");
	BIND(epoll_ctl, "epoll_ctl");
	BIND(epoll_create, "epoll_create");
	BIND(epoll_create1, "epoll_create1");
	BIND(dup, "dup");
	BIND(dup2, "dup2");
	BIND(dup3, "dup3");
	BIND(write, "write");
	BIND(writev, "writev");
	BIND(send, "send");
	BIND(sendto, "sendto");
	BIND(sendmsg, "sendmsg");
	BIND(sendmmsg, "sendmmsg");
	BIND(read, "read");
	BIND(readv, "readv");
	BIND(recv, "recv");
	BIND(recvfrom, "recvfrom");
	BIND(recvmsg, "recvmsg");
	BIND(read_chk, "__read_chk");
	BIND(recv_chk, "__recv_chk");
	BIND(recvfrom_chk, "__recvfrom_chk");
	BIND(recvmmsg, "recvmmsg");
	BIND(splice, "splice");
	BIND(sendfile, "sendfile");
	BIND(sendfile64, "sendfile64");
	/* Publish: HC_REAL's acquire load sees a complete table or goes slow. */
	atomic_store_explicit(&hc_real_ready, 1, memory_order_release);
	binding = 0;
}

const struct hc_real_fns *hc_real_slow(void)
{
	int saved = errno;

	if (binding)
		return &fallback; /* dlsym re-entered a wrapper: answer with system calls */
	pthread_once(&bind_once, bind_all);
	errno = saved;
	return &hc_real;
}

void hc_real_bind(void)
{
	(void)hc_real_slow();
}
