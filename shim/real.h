/* real.h - the libc functions halfclose wraps, bound lazily with dlsym(RTLD_NEXT).
 * The core calls these, never the plain names, which would re-enter the wrappers. */
#ifndef HC_REAL_H
#define HC_REAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct hc_real_fns {
	int (*socket)(int, int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*shutdown)(int, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	void (*closefrom)(int);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
	ssize_t (*splice)(int, off_t *, int, off_t *, size_t, unsigned int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*sendfile64)(int, int, off_t *, size_t);
};

/* Complete once hc_real_ready is set (release); never written after that. */
extern struct hc_real_fns hc_real;
extern atomic_int hc_real_ready;

/* Binds every entry of hc_real exactly once (pthread_once). Never leaves a NULL
 * entry behind: a symbol that cannot be found, or that resolves back into this
 * library, is replaced by a direct system call. Preserves errno. */
void hc_real_bind(void);

/* The table to call through before hc_real is ready: hc_real once bound, or the
 * system-call fallbacks while this very thread is binding (dlsym re-entered a
 * wrapper). Preserves errno. */
const struct hc_real_fns *hc_real_slow(void) __attribute__((cold));

/* The real function NAME, binding all of them first if this is the first call.
 * On the hot path: two loads and a predictable branch (a plain mov on x86). */
#define HC_REAL(name)                                                                        \
	(__builtin_expect(atomic_load_explicit(&hc_real_ready, memory_order_acquire), 1) ? hc_real.name \
											   : hc_real_slow()->name)

#endif
