/* SPDX-License-Identifier: MIT */
#ifndef CIO_RT_POLL_H
#define CIO_RT_POLL_H

/*
 * The poller backend interface (Redis ae's aeApi*). Exactly one backend is
 * built: poll_epoll.c now; io_uring can implement the same functions later.
 * Registration is edge-triggered for both directions and never modified.
 */

#define CIO__EV_IN 1u
#define CIO__EV_OUT 2u
#define CIO__EV_ERR 4u   /* error or hang-up: wakes both directions */
#define CIO__EV_RDHUP 8u /* the peer ended its sending side (with EV_IN) */

struct cio__poll {
    int epfd;
};

int cio__poll_init(struct cio__poll *p);
void cio__poll_fini(struct cio__poll *p);
int cio__poll_add(struct cio__poll *p, int fd, void *ptr);
int cio__poll_del(struct cio__poll *p, int fd);

/*
 * Waits up to timeout_ms (-1 = forever, 0 = poll) and calls
 * dispatch(ptr, events, ctx) for each ready registration.
 * Returns the number of events, or -errno (EINTR is returned as 0).
 */
int cio__poll_wait(struct cio__poll *p, int timeout_ms,
                   void (*dispatch)(void *ptr, unsigned ev, void *ctx),
                   void *ctx);

#endif
