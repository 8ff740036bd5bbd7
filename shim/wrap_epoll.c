/* wrap_epoll.c - interposed epoll calls: the registrations of managed sockets
 * are recorded so that a swap can carry them over, and a new epoll instance
 * forgets what an unseen close of its number left behind. */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "wrap.h"

HC_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (hc_fd_known(fd))
		return hc_epoll_ctl(epfd, op, fd, ev);
	return HC_REAL(epoll_ctl)(epfd, op, fd, ev);
}

/* A registration recorded for an epoll fd closed behind our back must never
 * be re-added to the instance that now has its number. */
HC_EXPORT int epoll_create(int size)
{
	int ret = HC_REAL(epoll_create)(size);
	if (ret >= 0)
		hc_forget_fd(ret);
	return ret;
}

HC_EXPORT int epoll_create1(int flags)
{
	int ret = HC_REAL(epoll_create1)(flags);
	if (ret >= 0)
		hc_forget_fd(ret);
	return ret;
}
