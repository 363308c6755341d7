/* SPDX-License-Identifier: MIT */
#include "rt/poll.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BATCH 1024

int cio__poll_init(struct cio__poll *p)
{
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    return p->epfd < 0 ? -errno : 0;
}

void cio__poll_fini(struct cio__poll *p)
{
    if (p->epfd >= 0)
        close(p->epfd);
    p->epfd = -1;
}

int cio__poll_add(struct cio__poll *p, int fd, void *ptr)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = ptr,
    };
    return epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int cio__poll_del(struct cio__poll *p, int fd)
{
    return epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int cio__poll_wait(struct cio__poll *p, int timeout_ms,
                   void (*dispatch)(void *ptr, unsigned ev, void *ctx),
                   void *ctx)
{
    struct epoll_event evs[BATCH];
    int n = epoll_wait(p->epfd, evs, BATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        unsigned ev = 0;
        if (e & (EPOLLIN | EPOLLRDHUP))
            ev |= CIO__EV_IN;
        if (e & EPOLLRDHUP)
            ev |= CIO__EV_RDHUP;
        if (e & EPOLLOUT)
            ev |= CIO__EV_OUT;
        if (e & (EPOLLERR | EPOLLHUP))
            ev |= CIO__EV_ERR;
        dispatch(evs[i].data.ptr, ev, ctx);
    }
    return n;
}
