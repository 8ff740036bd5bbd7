/* wrap_epoll.c - interposed epoll_ctl: the registrations of managed sockets are
 * recorded so that a swap can re-add them (dup3 drops them silently). */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "wrap.h"

HC_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int ret = HC_REAL(epoll_ctl)(epfd, op, fd, ev);
	if (ret == 0 && hc_fd_known(fd))
		hc_on_epoll_ctl(epfd, op, fd, ev);
	return ret;
}
