/* SPDX-License-Identifier: MIT */
/*
 * The in-memory pipe: two connected streams on one loop. Each end owns the
 * ring of bytes travelling towards it (its peer writes into it). Each end
 * also embeds a descriptor-less struct cio__fd, so parking, readiness and
 * the one-shot readable callback with its deadline are the loop's own, as
 * for sockets: the ring code only reports edges with cio__fd_signal
 * (IN on the reader when bytes or EOF arrive, OUT on the writer when space
 * is freed).
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "net/stream.h"

#define DEFAULT_BUFSIZE (64u * 1024u)

struct end {
    struct cio_stream base;
    struct cio__fd f;        /* virtual (fd == -1) */
    struct cio__list guards; /* tasks inside a wait on this end */
    struct end *peer;        /* NULL once the peer has closed */
    cio_readable_cb user_cb; /* while on_readable is armed */
    size_t cap, head, len;   /* inbound ring: head < cap, len <= cap */
    uint8_t eof;             /* peer shut down or closed: len is all */
    uint8_t shut;            /* this end's sending side is shut down */
    char buf[];              /* cap bytes */
};

static const struct cio__stream_vt pipe_vt;

static int readable(const struct end *e)
{
    return e->len > 0 || e->eof;
}

static int writable(const struct end *e)
{
    /* "may make progress": also when the write would fail at once */
    return e->shut || e->peer == NULL || e->peer->len < e->peer->cap;
}

static ptrdiff_t pipe_try_read(cio_stream *s, void *buf, size_t len)
{
    struct end *e = (struct end *)s;
    size_t n, first;

    if (e->len == 0)
        return e->eof ? 0 : CIO_EAGAIN;
    n = len < e->len ? len : e->len;
    first = e->cap - e->head < n ? e->cap - e->head : n;
    memcpy(buf, e->buf + e->head, first);
    memcpy((char *)buf + first, e->buf, n - first);
    e->head = (e->head + n) % e->cap;
    e->len -= n;
    if (e->peer != NULL)
        cio__fd_signal(&e->peer->f, CIO__EV_OUT);
    return (ptrdiff_t)n;
}

static ptrdiff_t pipe_try_writev(cio_stream *s, const struct iovec *iov,
                                 int iovcnt)
{
    struct end *e = (struct end *)s, *p = e->peer;
    size_t done = 0;

    if (e->shut || p == NULL)
        return CIO_EPIPE;
    if (p->len == p->cap)
        return CIO_EAGAIN;
    for (int i = 0; i < iovcnt && p->len < p->cap; i++) {
        const char *src = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left > 0 && p->len < p->cap) {
            size_t tail = (p->head + p->len) % p->cap;
            size_t room = tail >= p->head ? p->cap - tail : p->head - tail;
            size_t k = left < room ? left : room;
            memcpy(p->buf + tail, src, k);
            p->len += k;
            src += k;
            left -= k;
            done += k;
        }
    }
    if (done > 0)
        cio__fd_signal(&p->f, CIO__EV_IN);
    return (ptrdiff_t)done;
}

static int pipe_wait(cio_stream *s, unsigned dir, cio_time deadline)
{
    struct end *e = (struct end *)s;
    struct cio__close_guard g;

    /* A layer may call this without a failed try first: never park on a
     * condition that already holds (no edge would come for it). */
    if (dir == CIO__IN ? readable(e) : writable(e))
        return cio_canceled() ? CIO_ECANCELED : 0;
    cio__guard_enter(&e->guards, &g);
    return cio__guard_leave(&g, cio__fd_wait(&e->f, dir, deadline));
}

static int pipe_wait_readable(cio_stream *s, cio_time deadline)
{
    struct end *e = (struct end *)s;
    struct cio__close_guard g;

    e->f.rready = (uint8_t)readable(e);
    cio__guard_enter(&e->guards, &g);
    return cio__guard_leave(&g, cio__fd_wait_readable(&e->f, deadline));
}

static void pipe_readable_cb(struct cio__fd *f, int status, void *ud)
{
    struct end *e = CIO_CONTAINER_OF(f, struct end, f);
    cio_readable_cb cb = e->user_cb;

    e->user_cb = NULL;
    cb(&e->base, status, ud);
}

static int pipe_on_readable(cio_stream *s, cio_time deadline,
                            cio_readable_cb cb, void *ud)
{
    struct end *e = (struct end *)s;
    int rc;

    if (cb == NULL || !cio__list_empty(&e->guards))
        return CIO_EINVAL; /* a task is blocked on s */
    e->f.rready = (uint8_t)readable(e);
    rc = cio__fd_on_readable(&e->f, deadline, pipe_readable_cb, ud);
    if (rc == 0)
        e->user_cb = cb;
    return rc;
}

static int pipe_shutdown(cio_stream *s, cio_time deadline)
{
    struct end *e = (struct end *)s;

    (void)deadline;
    if (e->shut)
        return 0;
    e->shut = 1;
    if (e->peer != NULL) {
        e->peer->eof = 1;
        cio__fd_signal(&e->peer->f, CIO__EV_IN);
    }
    /* a writer parked on this end now fails with CIO_EPIPE */
    cio__fd_signal(&e->f, CIO__EV_OUT);
    return 0;
}

static void pipe_close(cio_stream *s)
{
    struct end *e = (struct end *)s, *p = e->peer;

    if (p != NULL) {
        /* The peer's reader drains what is buffered, then sees EOF; its
         * writer gets CIO_EPIPE. */
        p->peer = NULL;
        p->eof = 1;
        cio__fd_signal(&p->f, CIO__EV_IN | CIO__EV_OUT);
    }
    cio__guard_close_all(&e->guards);
    cio__fd_close(&e->f);
    cio__free(e);
}

static int pipe_fd(const cio_stream *s)
{
    (void)s;
    return -1;
}

static const char *pipe_peer(cio_stream *s)
{
    (void)s;
    return "pipe";
}

static const struct cio__stream_vt pipe_vt = {
    .kind = "pipe",
    .try_read = pipe_try_read,
    .try_writev = pipe_try_writev,
    .wait = pipe_wait,
    .wait_readable = pipe_wait_readable,
    .on_readable = pipe_on_readable,
    .sendfile = NULL,
    .shutdown = pipe_shutdown,
    .close = pipe_close,
    .fd = pipe_fd,
    .peer = pipe_peer,
};

static struct end *end_new(size_t cap)
{
    struct end *e = cio__malloc(sizeof(*e) + cap);

    if (e == NULL)
        return NULL;
    if (cio__fd_open_virtual(&e->f) < 0) {
        cio__free(e);
        return NULL;
    }
    e->base.vt = &pipe_vt;
    cio__list_init(&e->guards);
    e->peer = NULL;
    e->user_cb = NULL;
    e->cap = cap;
    e->head = e->len = 0;
    e->eof = e->shut = 0;
    return e;
}

static void end_free(struct end *e)
{
    cio__fd_close(&e->f);
    cio__free(e);
}

int cio_pipe_new(cio_stream **a, cio_stream **b, size_t bufsize)
{
    struct end *x, *y;

    if (a == NULL || b == NULL)
        return CIO_EINVAL;
    if (cio_loop_current() == NULL)
        return CIO_EINVAL;
    if (bufsize == 0)
        bufsize = DEFAULT_BUFSIZE;
    if (bufsize > PTRDIFF_MAX - sizeof(struct end))
        return CIO_EINVAL;
    x = end_new(bufsize);
    if (x == NULL)
        return CIO_ENOMEM;
    y = end_new(bufsize);
    if (y == NULL) {
        end_free(x);
        return CIO_ENOMEM;
    }
    x->peer = y;
    y->peer = x;
    *a = &x->base;
    *b = &y->base;
    return 0;
}
