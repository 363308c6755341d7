/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 connections. docs/internals/server.md draws the state machine:
 *
 *   accept -> IDLE (on_readable armed: no task, no buffer)
 *   IDLE --bytes--> ACTIVE (a pooled task + a pooled ctx) --all answered,
 *   nothing buffered--> IDLE;  ACTIVE --close/error/limit--> closed.
 *
 * Responses to pipelined requests are queued in the ctx's write buffer and
 * sent with one write when the read buffer holds no further complete
 * request (or max_pipeline responses are queued), always before the
 * connection blocks on a read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "base/iov.h"
#include "http/h1_write.h"
#include "http/headers_int.h"
#include "net/stream.h"
#include "server/coldfile.h"
#include "server/path.h"
#include "server/proxy_proto.h"
#include "rt/rt_int.h"
#include "server/server_int.h"

enum { CONN_IDLE = 0, CONN_ACTIVE = 1 };

struct cio__conn {
    struct cio__list node;   /* worker->all */
    struct cio__conn *qnext; /* worker's ready queue (w->qhead) */
    cio_stream *s;
    struct cio__worker *w;
    const struct cio__lsn_conf *lc;
    uint32_t nreq;
    uint8_t state;
    uint8_t tls_done;
    char *peer; /* from the PROXY header, or NULL: the socket's */
};

struct cio__hctx {
    struct cio__list node; /* worker->pool */
    struct cio__conn *c;
    struct cio__buf rb; /* read buffer: [rpos, len) unconsumed */
    size_t rpos;
    size_t head_end;    /* during a request: first byte after its head */
    struct cio__buf wb; /* queued output */
    unsigned npending;  /* responses queued in wb */
    uint8_t broken;     /* a write failed: close */
    cio_time deadline;  /* head deadline of the current request */
    struct cio__h1_head head;
    struct cio__h1_framing fr;
    cio_req req;
    cio_resp res;
    struct cio__arena arena;
    struct cio__h1_header fields[]; /* srv->lim.max_fields */
};

#define WB_FLUSH (64u * 1024u)
#define SMALL_BODY 16384u
#define CTX_POOL_MAX 64u
#define DRAIN_MAX (64u * 1024u)

static void conn_task(void *arg);
static void serve_queue(void *arg);

/* ------------------------------------------------------------ conns */

static void conn_close(struct cio__conn *c)
{
    struct cio__worker *w = c->w;
    cio__list_remove(&c->node);
    atomic_fetch_sub(&w->nconns, 1);
    if (c->state == CONN_IDLE)
        atomic_fetch_sub(&w->nidle, 1);
    cio_stream_close(c->s);
    cio__free(c->peer);
    cio__free(c);
}

/*
 * One task per turn, not one per connection (docs/internals/server.md):
 * readable connections join the worker's ready queue and one serving task
 * takes them in turn, on one warm stack with one warm context, while
 * none blocks. The queue is never left without a taker: a callback starts
 * a task when none is starting, and a serving task that is about to park
 * (its handler blocked) starts one for the rest (handoff()).
 */
static int start_server_task(struct cio__worker *w)
{
    int rc = cio_go(w->conns, serve_queue, w);
    if (rc == 0)
        w->nstarting++;
    return rc;
}

static void handoff(void *ud)
{
    struct cio__worker *w = ud;
    if (w->qhead != NULL && w->nstarting == 0)
        (void)start_server_task(w); /* on failure the parked task goes on */
}

static struct cio__conn *queue_pop(struct cio__worker *w)
{
    struct cio__conn *c = w->qhead;
    if (c != NULL) {
        w->qhead = c->qnext;
        if (w->qhead == NULL)
            w->qtail = NULL;
        c->qnext = NULL;
    }
    return c;
}

static void conn_readable(cio_stream *s, int status, void *ud)
{
    struct cio__conn *c = ud;
    struct cio__worker *w = c->w;
    (void)s;
    if (status < 0 || w->stopping) {
        conn_close(c);
        return;
    }
    /* ACTIVE from now on, not when a task takes it: a stop in between
     * closes idle connections and must not free this one under its task */
    c->state = CONN_ACTIVE;
    atomic_fetch_sub(&w->nidle, 1);
    c->qnext = NULL;
    if (w->qtail != NULL)
        w->qtail->qnext = c;
    else
        w->qhead = c;
    w->qtail = c;
    /* alone in the queue with no task starting: nobody else would take it */
    if (w->nstarting == 0 && start_server_task(w) < 0 && w->qhead == c)
        conn_close(queue_pop(w));
}

/* Parks the connection with no task and no buffer. */
static void conn_idle(struct cio__conn *c, uint32_t ms)
{
    c->state = CONN_IDLE;
    atomic_fetch_add(&c->w->nidle, 1);
    if (cio_stream_on_readable(c->s, cio_after(ms), conn_readable, c) < 0)
        conn_close(c);
}

int cio__h1_accept(struct cio__worker *w, const struct cio__lsn_conf *lc,
                   cio_stream *s)
{
    struct cio_server *srv = w->srv;
    struct cio__conn *c;

    atomic_fetch_add(&w->accepted, 1);
    if (atomic_load(&w->nconns) >= srv->lim.max_conns || w->stopping) {
        atomic_fetch_add(&w->shed, 1);
        cio_stream_close(s); /* overload: shed at once, the peer sees FIN */
        return CIO_EBUSY;
    }
    c = cio__calloc(1, sizeof(*c));
    if (c == NULL) {
        cio_stream_close(s);
        return CIO_ENOMEM;
    }
    c->s = s;
    c->w = w;
    c->lc = lc;
    cio__list_push_back(&w->all, &c->node);
    atomic_fetch_add(&w->nconns, 1);
    if (lc->tls != NULL) {
        /* the handshake needs a task */
        c->state = CONN_ACTIVE;
        if (cio_go(w->conns, conn_task, c) < 0)
            conn_close(c);
        return 0;
    }
    conn_idle(c, srv->to.head_ms);
    return 0;
}

void cio__worker_close_idle(struct cio__worker *w)
{
    struct cio__list *n = w->all.next;
    while (n != &w->all) {
        struct cio__list *next = n->next;
        struct cio__conn *c = CIO_CONTAINER_OF(n, struct cio__conn, node);
        if (c->state == CONN_IDLE)
            conn_close(c);
        n = next;
    }
}

/* ------------------------------------------------------------ ctx pool */

static struct cio__hctx *ctx_get(struct cio__worker *w)
{
    struct cio_server *srv = w->srv;
    struct cio__list *n = cio__list_pop_front(&w->pool);
    struct cio__hctx *x;

    if (n != NULL) {
        w->npool--;
        return CIO_CONTAINER_OF(n, struct cio__hctx, node);
    }
    x = cio__calloc(1, sizeof(*x) + srv->lim.max_fields * sizeof(x->fields[0]));
    if (x == NULL)
        return NULL;
    struct cio_headers_opts ho = {0};
    if (cio_headers_new(&x->res.headers, &ho) < 0) {
        cio__free(x);
        return NULL;
    }
    cio__buf_init(&x->rb,
                  (size_t)srv->h1lim.max_line + srv->h1lim.max_head + 8192);
    cio__buf_init(&x->wb, 1u << 20);
    cio__buf_init(&x->res.body, (size_t)64 << 20);
    cio__h1_head_init(&x->head, x->fields, srv->lim.max_fields, &srv->h1lim);
    x->req.arena = &x->arena;
    x->req.srv = srv;
    x->req.res = &x->res;
    x->res.req = &x->req;
    return x;
}

static void ctx_free(struct cio__hctx *x)
{
    cio__buf_fini(&x->rb);
    cio__buf_fini(&x->wb);
    cio__buf_fini(&x->res.body);
    cio_headers_free(x->res.headers);
    cio__free(x);
}

static void ctx_put(struct cio__worker *w, struct cio__hctx *x)
{
    x->rb.len = x->rpos = 0;
    x->wb.len = 0;
    x->npending = 0;
    x->broken = 0;
    x->c = NULL;
    if (w->npool >= CTX_POOL_MAX || w->stopping) {
        ctx_free(x);
        return;
    }
    /* keep pooled memory bounded: big buffers go back to the heap */
    if (x->rb.cap > 8192)
        cio__buf_fini(&x->rb);
    if (x->wb.cap > WB_FLUSH)
        cio__buf_fini(&x->wb);
    if (x->res.body.cap > 65536)
        cio__buf_fini(&x->res.body);
    cio__list_push_front(&w->pool, &x->node);
    w->npool++;
}

void cio__worker_pool_free(struct cio__worker *w)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(&w->pool)) != NULL)
        ctx_free(CIO_CONTAINER_OF(n, struct cio__hctx, node));
    w->npool = 0;
}

/* ------------------------------------------------------------ output */

/*
 * write_ms is a progress timeout: a write fails only when the peer took no
 * byte for write_ms, however long the whole write takes (a slow reader
 * that keeps reading is served; one that stops is cut off). So these
 * writers drive the stream's non-blocking primitives themselves and move
 * the deadline forward after every partial write, instead of giving the
 * blocking calls one deadline for everything.
 */
#define PW_WINDOW 64

/* From the real clock, not the loop's (read once per turn): a handler
 * that computed for a while before writing must not start with a
 * deadline already in the past. */
static cio_time progress_deadline(uint32_t ms)
{
    return cio__clock_ms() + (cio_time)ms;
}

/* Bytes the kernel still holds unsent for the connection's socket, or -1. */
static int outq(cio_stream *s)
{
    int fd = cio_stream_fd(s), v;
    if (fd < 0 || ioctl(fd, SIOCOUTQ, &v) < 0)
        return -1;
    return v;
}

/*
 * Waits until the socket takes more bytes, with the progress deadline *dl.
 * The kernel wakes a writer only when a third of the send buffer is free
 * (up to 1.3 MiB of a 4 MiB buffer): a slow reader can drain less than that
 * in write_ms while reading steadily. So at the deadline the kernel's send
 * queue is compared with the last look: if the peer took bytes meanwhile,
 * that is progress and the deadline moves on.
 */
static int pw_wait(struct cio__hctx *x, cio_time *dl)
{
    cio_stream *s = x->c->s;
    int q0 = outq(s);
    for (;;) {
        int rc = s->vt->wait(s, CIO__OUT, *dl);
        if (rc != CIO_ETIMEDOUT)
            return rc;
        int q = outq(s);
        if (q < 0 || q0 < 0 || q >= q0)
            return rc; /* no byte taken for write_ms */
        q0 = q;
        *dl = progress_deadline(x->req.srv->to.write_ms);
        if (cio_canceled())
            return CIO_ECANCELED;
    }
}

static ptrdiff_t pw_window(struct cio__hctx *x, const struct iovec *iov,
                           int cnt, size_t total)
{
    cio_stream *s = x->c->s;
    uint32_t ms = x->req.srv->to.write_ms;
    struct iovec local[PW_WINDOW];
    struct iovec *v = local;
    size_t left = total;
    ptrdiff_t n;

    n = s->vt->try_writev(s, iov, cnt);
    if (n == (ptrdiff_t)total)
        return n;
    if (n < 0 && n != CIO_EAGAIN)
        return n;
    memcpy(local, iov, (size_t)cnt * sizeof(*iov));
    cio_time dl = progress_deadline(ms);
    for (;;) {
        size_t k = n > 0 ? (size_t)n : 0;
        left -= k;
        if (left == 0)
            return (ptrdiff_t)total;
        cio__iov_skip(&v, &cnt, k);
        if (n > 0) {
            dl = progress_deadline(ms); /* progress */
        } else {
            int rc = pw_wait(x, &dl);
            if (rc < 0)
                return rc;
        }
        if (cio_canceled())
            return CIO_ECANCELED;
        n = s->vt->try_writev(s, v, cnt);
        if (n < 0 && n != CIO_EAGAIN)
            return n;
    }
}

/* Like cio_stream_writev, with the progress deadline. */
static ptrdiff_t pw_writev(struct cio__hctx *x, const struct iovec *iov,
                           int cnt)
{
    size_t total = 0;
    if (cio_canceled())
        return CIO_ECANCELED;
    for (int i = 0; i < cnt; i += PW_WINDOW) {
        int k = cnt - i < PW_WINDOW ? cnt - i : PW_WINDOW;
        size_t part = 0;
        for (int j = 0; j < k; j++)
            part += iov[i + j].iov_len;
        if (part == 0)
            continue;
        ptrdiff_t r = pw_window(x, iov + i, k, part);
        if (r < 0)
            return r;
        total += part;
    }
    return (ptrdiff_t)total;
}

static ptrdiff_t pw_write(struct cio__hctx *x, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};
    return pw_writev(x, &v, 1);
}

/*
 * sendfile(2) of one chunk on a plain socket, with the progress deadline.
 * Returns the bytes sent (fewer than len only if the file ended early), an
 * error, or CIO__SF_COPY when the file cannot be sent this way (nothing
 * sent, may_copy set): the caller copies instead.
 */
#define CIO__SF_COPY PTRDIFF_MIN

static ptrdiff_t sf_chunk(struct cio__hctx *x, int fd, off_t off, size_t len,
                          bool may_copy)
{
    uint32_t ms = x->req.srv->to.write_ms;
    int sfd = cio_stream_fd(x->c->s);
    cio_time dl = progress_deadline(ms);
    size_t done = 0;
    while (done < len) {
        ssize_t n = sendfile(sfd, fd, &off, len - done);
        if (n > 0) {
            done += (size_t)n;
            dl = progress_deadline(ms);
            continue;
        }
        if (n == 0)
            break; /* the file ended early */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = pw_wait(x, &dl);
            if (rc < 0)
                return rc;
            if (cio_canceled())
                return CIO_ECANCELED;
            continue;
        }
        if ((errno == EINVAL || errno == ENOSYS) && done == 0 && may_copy)
            return CIO__SF_COPY; /* not mappable: copy */
        return -errno;
    }
    return (ptrdiff_t)done;
}

/* pread + write of one chunk through buf (cap bytes). */
static ptrdiff_t copy_chunk(struct cio__hctx *x, int fd, off_t off, size_t len,
                            char *buf, size_t cap)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < cap ? len - done : cap;
        ssize_t r = pread(fd, buf, want, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        ptrdiff_t w = pw_write(x, buf, (size_t)r);
        if (w < 0)
            return w;
        done += (size_t)r;
    }
    return (ptrdiff_t)done;
}

/*
 * Like cio_stream_sendfile, with the progress deadline: sendfile(2) on a
 * plain socket, else pread + pwritev. Returns the bytes sent (fewer than
 * len only if the file ended early) or an error. Chunk by chunk (at most
 * CIO__FILE_CHUNK), each made ready first by cio__file_warm: a chunk not
 * in the page cache is read ahead on the executor, so neither sendfile nor
 * pread waits for the disk on the loop (docs/server-files.md).
 */
static ptrdiff_t pw_sendfile(struct cio__hctx *x, int fd, off_t off, size_t len)
{
    bool copy = x->c->s->vt->sendfile == NULL;
    size_t cap = len < 65536 ? len : 65536;
    char *buf = NULL;
    size_t done = 0;
    ptrdiff_t rc = 0;

    if (cio_canceled())
        return CIO_ECANCELED;
    while (done < len) {
        size_t n = len - done < CIO__FILE_CHUNK ? len - done : CIO__FILE_CHUNK;
        off_t at = off + (off_t)done;
        rc = cio__file_warm(fd, at, n,
                            progress_deadline(x->req.srv->to.write_ms));
        if (rc < 0)
            break;
        rc = copy ? CIO__SF_COPY : sf_chunk(x, fd, at, n, done == 0);
        if (rc == CIO__SF_COPY) {
            copy = true;
            if (buf == NULL && (buf = cio__malloc(cap)) == NULL) {
                rc = CIO_ENOMEM;
                break;
            }
            rc = copy_chunk(x, fd, at, n, buf, cap);
        }
        if (rc < 0)
            break;
        done += (size_t)rc;
        if ((size_t)rc < n)
            break; /* the file ended early */
    }
    cio__free(buf);
    return rc < 0 ? rc : (ptrdiff_t)done;
}

static int flush_wb(struct cio__hctx *x)
{
    if (x->wb.len == 0)
        return 0;
    /* the queued responses in one buffer: straight to the progress writer
     * (pw_writev's windowing is for callers' iovec arrays) */
    struct iovec v = {x->wb.base, x->wb.len};
    ptrdiff_t n =
        cio_canceled() ? CIO_ECANCELED : pw_window(x, &v, 1, x->wb.len);
    x->wb.len = 0;
    x->npending = 0;
    if (n < 0) {
        x->broken = 1;
        return (int)n;
    }
    return 0;
}

/* Writes wb plus iov[0..n) in one writev. */
static int write_with_wb(struct cio__hctx *x, const struct iovec *iov, int n)
{
    struct iovec v[66];
    int k = 0;
    if (n > 64)
        return CIO_EINVAL;
    if (x->wb.len > 0)
        v[k++] = (struct iovec){x->wb.base, x->wb.len};
    for (int i = 0; i < n; i++)
        if (iov[i].iov_len > 0)
            v[k++] = iov[i];
    if (k == 0)
        return 0;
    ptrdiff_t r = pw_writev(x, v, k);
    x->wb.len = 0;
    x->npending = 0;
    if (r < 0) {
        x->broken = 1;
        return (int)r;
    }
    return 0;
}

static int final_status(int status)
{
    return status >= 200 && status <= 599;
}

static int no_body_status(int status)
{
    return status < 200 || status == 204 || status == 304;
}

/* The Date line, read from the wall clock at most once per loop turn
 * (the loop's clock moves once per turn): a turn that answers 60
 * requests asks time() once. Stale by at most a second plus the turn's
 * length (a handler that holds the loop for 3 s makes the rest of its
 * turn answer with a Date 3 s old), as nginx's cached time is. */
static const char *turn_date(struct cio__worker *w)
{
    cio_time now = cio_now();
    if (w->date_line == NULL || now != w->date_at) {
        w->date_line = cio__h1_date_line();
        w->date_at = now;
    }
    return w->date_line;
}

/* Appends the response head to wb. cl < 0: no Content-Length. */
static int put_head(struct cio__hctx *x, int64_t cl, int chunked)
{
    cio_resp *res = &x->res;
    struct cio_server *srv = x->req.srv;
    size_t need = 0;

    /* a stop began while the request ran: this is the connection's last
     * answer (docs/server.md "Graceful stop") */
    if (x->c->w->stopping)
        res->close = 1;
    struct cio__h1_response r = {
        .status = res->status,
        .minor = 1,
        .headers = res->headers,
        .add_date = 1,
        /* the map validated every field when it was set; the rest is ours
         * (digits, constants, server_name checked by cio_server_new) */
        .checked = 1,
        .has_length = cl >= 0,
        .length = cl >= 0 ? (uint64_t)cl : 0,
        .chunked = chunked != 0,
        .connection = res->close             ? "close"
                      : x->req.version == 10 ? "keep-alive"
                                             : NULL,
        .server = {srv->server_name, srv->server_name_len},
        .date_line = turn_date(x->c->w),
    };
    if (cio__buf_room(&x->wb) < 512 && cio__buf_reserve(&x->wb, 512) < 0)
        return CIO_ENOMEM;
    ptrdiff_t n = cio__h1_write_response(cio__buf_tail(&x->wb),
                                         cio__buf_room(&x->wb), &r, &need);
    if (n == CIO_ETOOBIG && need > 0) {
        int rc = cio__buf_reserve(&x->wb, need);
        if (rc < 0)
            return rc;
        n = cio__h1_write_response(cio__buf_tail(&x->wb), cio__buf_room(&x->wb),
                                   &r, &need);
    }
    if (n < 0)
        return (int)n;
    cio__buf_commit(&x->wb, (size_t)n);
    return 0;
}

/* Removes fields the server writes itself. */
static void strip_framing(cio_headers *h)
{
    unsigned k = cio__headers_known(h);
    if (k & CIO__HK_CONTENT_LENGTH)
        cio_headers_remove(h, "Content-Length");
    if (k & CIO__HK_TRANSFER_ENCODING)
        cio_headers_remove(h, "Transfer-Encoding");
    if (k & CIO__HK_CONNECTION)
        cio_headers_remove(h, "Connection");
}

/* Sends (queues) the buffered response. */
static int send_buffered(struct cio__hctx *x)
{
    cio_resp *res = &x->res;
    int nobody = no_body_status(res->status);
    int64_t cl = nobody ? -1 : (int64_t)res->body.len;
    int rc;

    /* HEAD: Content-Length is the size GET would send (RFC 9110 §8.6); a
     * handler that answers HEAD itself states it without a body */
    if (res->head_only && !nobody && res->body.len == 0) {
        const char *v = cio_headers_get(res->headers, "Content-Length");
        if (v != NULL && *v != '\0' && strspn(v, "0123456789") == strlen(v) &&
            strlen(v) <= 19) {
            cio_headers_remove(res->headers, "Transfer-Encoding");
            cio_headers_remove(res->headers, "Connection");
            cl = -1; /* the map carries it */
        } else {
            strip_framing(res->headers);
        }
    } else {
        strip_framing(res->headers);
    }
    rc = put_head(x, cl, 0);
    if (rc < 0)
        return rc;
    res->prepared = res->finished = 1;
    x->npending++;
    if (nobody || res->head_only || res->body.len == 0)
        return 0;
    if (res->body.len <= SMALL_BODY)
        return cio__buf_append(&x->wb, res->body.base, res->body.len);
    struct iovec v = {res->body.base, res->body.len};
    return write_with_wb(x, &v, 1);
}

/* ------------------------------------------------------------ ops */

static int h1_prepare(cio_resp *res)
{
    struct cio__hctx *x = CIO_CONTAINER_OF(res, struct cio__hctx, res);
    const char *cl = cio_headers_get(res->headers, "Content-Length");
    int rc;

    cio_headers_remove(res->headers, "Transfer-Encoding");
    cio_headers_remove(res->headers, "Connection");
    res->chunked = res->sized = res->until_close = 0;
    /* a 1xx is interim: the client would wait for another head and take
     * the next response as this one's (desync) */
    if (!final_status(res->status))
        return cio__err(CIO_EINVAL, "status %d is not a final status",
                        res->status);
    if (no_body_status(res->status)) {
        cio_headers_remove(res->headers, "Content-Length");
        rc = put_head(x, -1, 0);
        res->head_only = 1;
    } else if (cl != NULL) {
        char *end;
        unsigned long long v = strtoull(cl, &end, 10);
        if (*cl < '0' || *cl > '9' || *end != '\0')
            return cio__err(CIO_EINVAL,
                            "Content-Length \"%.30s\" is not a number", cl);
        res->sized = 1;
        res->length = v;
        rc = put_head(x, -1, 0); /* the map carries it */
    } else if (x->req.version >= 11) {
        res->chunked = !res->head_only;
        rc = put_head(x, -1, res->chunked);
    } else {
        res->until_close = 1;
        res->close = 1;
        rc = put_head(x, -1, 0);
    }
    if (rc < 0)
        return rc;
    res->prepared = 1;
    res->sent = 0;
    return flush_wb(x);
}

static int h1_writev(cio_resp *res, const struct iovec *iov, int iovcnt)
{
    struct cio__hctx *x = CIO_CONTAINER_OF(res, struct cio__hctx, res);
    uint64_t total = 0;

    if (x->broken)
        return CIO_EPIPE;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (res->sized && res->sent + total > res->length)
        return cio__err(CIO_EPROTO, "more bytes than Content-Length %llu",
                        (unsigned long long)res->length);
    res->sent += total;
    if (res->head_only || total == 0)
        return 0;
    ptrdiff_t r;
    if (res->chunked) {
        char head[CIO__H1_CHUNK_HEAD_MAX];
        struct iovec v[64];
        if (iovcnt > 62)
            return CIO_EINVAL;
        size_t hl = cio__h1_chunk_head(head, total);
        v[0] = (struct iovec){head, hl};
        memcpy(v + 1, iov, (size_t)iovcnt * sizeof(*iov));
        v[iovcnt + 1] = (struct iovec){(void *)"\r\n", 2};
        r = pw_writev(x, v, iovcnt + 2);
    } else {
        r = pw_writev(x, iov, iovcnt);
    }
    if (r < 0) {
        x->broken = 1;
        return (int)r;
    }
    return 0;
}

static int h1_sendfile(cio_resp *res, int fd, off_t off, uint64_t len)
{
    struct cio__hctx *x = CIO_CONTAINER_OF(res, struct cio__hctx, res);
    ptrdiff_t r;

    if (x->broken)
        return CIO_EPIPE;
    if (res->sized && res->sent + len > res->length)
        return cio__err(CIO_EPROTO, "more bytes than Content-Length");
    if (res->head_only || len == 0) {
        res->sent += len;
        return 0;
    }
    if (res->chunked) {
        char head[CIO__H1_CHUNK_HEAD_MAX];
        size_t hl = cio__h1_chunk_head(head, len);
        if (pw_write(x, head, hl) < 0)
            goto broken;
    }
    r = pw_sendfile(x, fd, off, (size_t)len);
    if (r < 0 || (uint64_t)r != len)
        goto broken; /* a short file would break the framing */
    if (res->chunked && pw_write(x, "\r\n", 2) < 0)
        goto broken;
    res->sent += len;
    return 0;
broken:
    x->broken = 1;
    return CIO_EPIPE;
}

static int h1_flush(cio_resp *res)
{
    (void)res;
    return 0; /* streaming writes go out at once */
}

static int h1_finish(cio_resp *res)
{
    struct cio__hctx *x = CIO_CONTAINER_OF(res, struct cio__hctx, res);
    res->finished = 1;
    if (x->broken)
        return CIO_EPIPE;
    if (res->chunked) {
        if (pw_write(x, "0\r\n\r\n", 5) < 0) {
            x->broken = 1;
            return CIO_EPIPE;
        }
    } else if (res->sized && res->sent != res->length && !res->head_only) {
        x->broken = 1; /* the peer would wait for the rest */
        return cio__err(CIO_EPROTO, "response ended %llu bytes short",
                        (unsigned long long)(res->length - res->sent));
    }
    return 0;
}

static cio_time body_deadline(cio_req *req)
{
    struct cio_server *srv = req->srv;
    if (req->body_start == 0)
        req->body_start = cio_now();
    return req->body_start + 5000 +
           (cio_time)(req->received * 1000 / srv->to.body_min_rate);
}

static int send_continue(struct cio__hctx *x)
{
    x->req.expect_continue = 0;
    if (cio__buf_append(&x->wb, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
        return CIO_ENOMEM;
    return flush_wb(x);
}

static ptrdiff_t body_fail(cio_req *req, int rc)
{
    req->body_err = rc;
    return rc;
}

static ptrdiff_t h1_read(cio_req *req, void *buf, size_t cap)
{
    struct cio__hctx *x = CIO_CONTAINER_OF(req, struct cio__hctx, req);
    ptrdiff_t n;

    if (req->expect_continue) {
        /* once the final head is out, an interim 100 would land inside
         * the response body: the client sends the body on a final 2xx */
        if (x->rpos == x->rb.len && !x->res.prepared && send_continue(x) < 0)
            return body_fail(req, CIO_EPIPE);
        req->expect_continue = 0;
    }
    if (x->wb.len > 0 && flush_wb(x) < 0)
        return body_fail(req, CIO_EPIPE);
    if (req->body == CIO__BODY_LENGTH) {
        size_t want = cap < req->remaining ? cap : (size_t)req->remaining;
        if (x->rpos < x->rb.len) {
            n = (ptrdiff_t)(x->rb.len - x->rpos);
            if ((size_t)n > want)
                n = (ptrdiff_t)want;
            memcpy(buf, x->rb.base + x->rpos, (size_t)n);
            x->rpos += (size_t)n;
        } else {
            n = cio_stream_read(x->c->s, buf, want, body_deadline(req));
            if (n == 0)
                return body_fail(
                    req, cio__err(CIO_EPROTO, "client closed mid-body"));
            if (n < 0)
                return body_fail(req, (int)n);
        }
        req->remaining -= (uint64_t)n;
        req->received += (uint64_t)n;
        if (req->remaining == 0)
            req->body_done = 1;
        return n;
    }
    /* chunked: raw bytes go through rb after the head */
    for (;;) {
        size_t used;
        struct cio_str data = {0};
        int rc;

        if (x->rpos == x->rb.len) {
            x->rb.len = x->rpos = x->head_end;
            n = cio_stream_read(x->c->s, cio__buf_tail(&x->rb),
                                cio__buf_room(&x->rb), body_deadline(req));
            if (n == 0)
                return body_fail(
                    req, cio__err(CIO_EPROTO, "client closed mid-body"));
            if (n < 0)
                return body_fail(req, (int)n);
            cio__buf_commit(&x->rb, (size_t)n);
        }
        size_t avail = x->rb.len - x->rpos;
        rc = cio__chunked_feed(&req->chunked, x->rb.base + x->rpos,
                               avail < cap ? avail : cap, &used, &data);
        if (rc < 0)
            return body_fail(req, rc);
        x->rpos += used;
        if (data.len > 0)
            memcpy(buf, data.ptr, data.len);
        req->received += data.len;
        if (rc == CIO__CHUNKED_DONE)
            req->body_done = 1;
        if (data.len > 0 || req->body_done)
            return (ptrdiff_t)data.len;
    }
}

static const char *h1_peer(cio_req *req)
{
    struct cio__conn *c = req->conn;
    return c->peer != NULL ? c->peer : cio_stream_peer(c->s);
}

static const struct cio__req_ops h1_ops = {
    .peer = h1_peer,
    .read = h1_read,
    .prepare = h1_prepare,
    .writev = h1_writev,
    .sendfile = h1_sendfile,
    .flush = h1_flush,
    .finish = h1_finish,
};

/* ------------------------------------------------------------ requests */

/* Sends a short error response with Connection: close (no request object
 * needed: parse errors), then closes gently so the client reads it. */
static void error_and_close(struct cio__hctx *x, int status, const char *msg)
{
    char body[512];
    int n = cio__resp_error_body(body, sizeof(body), status, msg, 0);
    cio_headers_clear(x->res.headers);
    x->res.status = status;
    x->res.close = 1;
    x->req.version = 11;
    (void)cio_headers_set(x->res.headers, "Content-Type",
                          "text/plain; charset=utf-8");
    if (put_head(x, n, 0) == 0 && cio__buf_append(&x->wb, body, (size_t)n) == 0)
        (void)flush_wb(x);
    /* lingering close: stop sending, read what the client still sends for
     * a moment, so our response is not destroyed by a reset */
    if (!x->broken && cio_stream_shutdown(x->c->s, cio_after(100)) == 0) {
        char sink[512];
        size_t total = 0;
        cio_time dl = cio_after(1000);
        while (total < DRAIN_MAX) {
            ptrdiff_t r = cio_stream_read(x->c->s, sink, sizeof(sink), dl);
            if (r <= 0)
                break;
            total += (size_t)r;
        }
    }
}

/* Rebases the views of the head after rb moved by delta. */
static void rebase(struct cio__hctx *x, ptrdiff_t delta)
{
    struct cio__h1_head *h = &x->head;
    h->method.ptr += delta;
    h->target.ptr += delta;
    for (size_t i = 0; i < h->nheaders; i++) {
        h->headers[i].name.ptr += delta;
        h->headers[i].value.ptr += delta;
    }
    if (x->fr.authority.ptr != NULL)
        x->fr.authority.ptr += delta;
    if (x->fr.upgrade_proto.ptr != NULL)
        x->fr.upgrade_proto.ptr += delta;
}

/* Reads until a complete head is parsed. Returns its length, 0 for a quiet
 * close (EOF or idle timeout before any byte), or -1 after an error
 * response was sent. */
static ptrdiff_t read_head(struct cio__hctx *x)
{
    struct cio__conn *c = x->c;
    ptrdiff_t n;

    cio__h1_head_reset(&x->head);
    for (;;) {
        if (x->rpos < x->rb.len) {
            n = cio__h1_parse_request(x->rb.base + x->rpos, x->rb.len - x->rpos,
                                      &x->head);
            if (n > 0)
                return n;
            if (n != CIO_EMORE) {
                error_and_close(x,
                                x->head.err_status ? x->head.err_status : 400,
                                x->head.err_msg);
                return -1;
            }
        }
        if (x->wb.len > 0 && flush_wb(x) < 0)
            return 0;
        if (x->rpos > 0) {
            memmove(x->rb.base, x->rb.base + x->rpos, x->rb.len - x->rpos);
            x->rb.len -= x->rpos;
            x->rpos = 0;
        }
        if (cio__buf_room(&x->rb) < 1024) {
            int rc = cio__buf_reserve(&x->rb, x->rb.cap ? x->rb.cap : 4096);
            if (rc == CIO_ETOOBIG)
                rc = cio__buf_reserve(&x->rb, 1);
            if (rc < 0) {
                error_and_close(x, rc == CIO_ETOOBIG ? 431 : 503,
                                "request head too large");
                return -1;
            }
        }
        n = cio_stream_read(c->s, cio__buf_tail(&x->rb), cio__buf_room(&x->rb),
                            x->deadline);
        if (n > 0) {
            cio__buf_commit(&x->rb, (size_t)n);
            continue;
        }
        if (n == CIO_ETIMEDOUT && x->rb.len > 0) {
            error_and_close(x, 408, "request head not received in time");
            return -1;
        }
        return 0; /* EOF, reset, timeout before any byte, cancel */
    }
}

/* The routed path (server/path.h): decoded once, %2F and %25 kept
 * encoded, dot segments removed. Returns NULL when invalid (*why says). */
static const char *decode_path(cio_req *req, const char *p, size_t len,
                               size_t *out_len, const char **why)
{
    char *d = cio__arena_alloc(req->arena, len + 1);
    if (d == NULL) {
        *why = "out of memory";
        return NULL;
    }
    if (cio__path_normalize(d, len + 1, p, len, out_len, why) < 0)
        return NULL;
    return d;
}

static const char *const method_names[] = {
    [CIO__H1_M_GET] = "GET",         [CIO__H1_M_HEAD] = "HEAD",
    [CIO__H1_M_POST] = "POST",       [CIO__H1_M_PUT] = "PUT",
    [CIO__H1_M_DELETE] = "DELETE",   [CIO__H1_M_CONNECT] = "CONNECT",
    [CIO__H1_M_OPTIONS] = "OPTIONS", [CIO__H1_M_TRACE] = "TRACE",
    [CIO__H1_M_PATCH] = "PATCH",
};

/* Synthetic handlers for answers the router gives. */
static int h_not_found(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_error(res, 404, NULL);
}

static int h_no_method(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    cio_resp_error(res, 405, NULL);
    return cio_resp_set_header(res, "Allow", req->m.allow);
}

static int h_options(cio_req *req, cio_resp *res, void *ud)
{
    char allow[160];
    (void)ud;
    snprintf(allow, sizeof(allow), "%s, OPTIONS", req->m.allow);
    cio_resp_set_status(res, 204);
    return cio_resp_set_header(res, "Allow", allow);
}

static int h_options_star(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_resp_set_status(res, 204);
    return 0;
}

/* Drains an unread request body (bounded) so the connection can be
 * reused. Returns 0 if the body is fully consumed. */
static int drain_body(cio_req *req)
{
    char sink[2048];
    size_t total = 0;
    if (req->body_err < 0)
        return -1;
    if (req->body == CIO__BODY_LENGTH && req->remaining > DRAIN_MAX)
        return -1;
    req->expect_continue = 0; /* never invite a body nobody reads */
    while (!req->body_done && total < DRAIN_MAX) {
        ptrdiff_t r = cio_req_read(req, sink, sizeof(sink));
        if (r < 0)
            return -1;
        if (r == 0 && !req->body_done)
            return -1;
        total += (size_t)r;
    }
    return req->body_done ? 0 : -1;
}

/* Handles one parsed request. Returns 1 to keep the connection, 0 to
 * close it. */
static int handle(struct cio__hctx *x, size_t hlen)
{
    struct cio_server *srv = x->req.srv;
    struct cio__conn *c = x->c;
    struct cio__worker *w = c->w;
    cio_req *req = &x->req;
    cio_resp *res = &x->res;
    struct cio__h1_head *h = &x->head;
    int rc, keep;

    rc = cio__h1_request_framing(h, &x->fr);
    if (rc < 0) {
        error_and_close(x, x->fr.err_status ? x->fr.err_status : 400,
                        x->fr.err_msg);
        return 0;
    }
    x->head_end = x->rpos + hlen;
    /* body bytes are read into rb after the head: keep room for them */
    if (x->fr.body == CIO__H1_BODY_CHUNKED && cio__buf_room(&x->rb) < 2048) {
        char *old = x->rb.base;
        if (cio__buf_reserve(&x->rb, 4096) < 0) {
            error_and_close(x, 503, "out of memory");
            return 0;
        }
        rebase(x, x->rb.base - old);
    }
    /* NUL-terminate the views in place: each is followed by a delimiter
     * (SP, ':', OWS or CR) that is no longer needed */
    ((char *)h->method.ptr)[h->method.len] = '\0';
    ((char *)h->target.ptr)[h->target.len] = '\0';
    for (size_t i = 0; i < h->nheaders; i++) {
        ((char *)h->headers[i].name.ptr)[h->headers[i].name.len] = '\0';
        ((char *)h->headers[i].value.ptr)[h->headers[i].value.len] = '\0';
    }
    x->rpos += hlen;

    /* the request */
    req->ops = &h1_ops;
    req->conn = c;
    req->mid = x->fr.method;
    req->method = x->fr.method != CIO__H1_M_OTHER ? method_names[x->fr.method]
                                                  : h->method.ptr;
    req->target = h->target.ptr;
    req->version = h->minor == 0 ? 10 : 11;
    req->fields = h->headers;
    req->nfields = h->nheaders;
    req->peer = NULL;
    req->secure = c->lc->tls != NULL;
    req->tgt = NULL;
    req->state = NULL;
    req->body_err = 0;
    req->body_done = 0;
    req->body_start = 0;
    req->received = 0;
    req->max_body = srv->lim.max_body;
    req->expect_continue = x->fr.expect_continue;
    req->m.nparams = 0;
    switch (x->fr.body) {
    case CIO__H1_BODY_LENGTH:
        req->body = CIO__BODY_LENGTH;
        req->remaining = x->fr.length;
        req->body_done = x->fr.length == 0;
        break;
    case CIO__H1_BODY_CHUNKED: {
        struct cio__chunked_opts co = {
            .max_body = srv->lim.max_body == UINT64_MAX ? 0 : srv->lim.max_body,
            .max_trailer_bytes = srv->h1lim.max_head,
            .max_trailers = srv->lim.max_fields,
        };
        req->body = CIO__BODY_CHUNKED;
        cio__chunked_init(&req->chunked, &co);
        break;
    }
    default:
        req->body = CIO__BODY_NONE;
        req->body_done = 1;
        break;
    }
    if (req->body == CIO__BODY_NONE || req->body_done)
        req->expect_continue = 0;

    res->status = 200;
    res->body.len = 0;
    cio_headers_clear(res->headers);
    res->prepared = res->finished = res->chunked = res->sized = 0;
    res->failed = 0;
    res->until_close = 0;
    res->head_only = x->fr.method == CIO__H1_M_HEAD;
    res->close = !x->fr.keep_alive || w->stopping ||
                 (srv->lim.max_requests_per_conn != 0 &&
                  c->nreq + 1 >= srv->lim.max_requests_per_conn);
    c->nreq++;
    atomic_fetch_add(&w->inflight, 1);

    /* the path: origin-form, absolute-form ("http://a/p") or "*" */
    const char *t = req->target, *q = NULL;
    size_t plen;
    int no_path = 0;
    if (t[0] != '/' && t[0] != '*') {
        /* the authority ends at the first '/' or '?' (RFC 3986 §3.2):
         * "http://a?x/y" has no path (so "/") and the query "x/y" */
        const char *s = strstr(t, "://");
        const char *a = s != NULL ? s + 3 : t + strlen(t);
        a += strcspn(a, "/?");
        if (*a == '/') {
            t = a;
        } else {
            q = *a == '?' ? a : NULL;
            t = x->fr.method == CIO__H1_M_CONNECT ? "" : "/";
            no_path = 1;
        }
    }
    if (!no_path)
        q = strchr(t, '?');
    size_t tlen = q != NULL && !no_path ? (size_t)(q - t) : strlen(t);
    req->query = q != NULL ? q + 1 : "";
    const char *why = "";
    req->path = decode_path(req, t, tlen, &plen, &why);
    req->path_len = plen;
    if (req->path == NULL) {
        atomic_fetch_sub(&w->inflight, 1);
        cio__req_reset(req);
        error_and_close(x, 400,
                        strcmp(why, "above") == 0
                            ? "the path climbs above the root"
                            : "malformed percent-encoding in the path");
        return 0;
    }
    /* a method token with lower case is not one we could route (B.23) */
    if (x->fr.method == CIO__H1_M_OTHER) {
        for (const char *m = req->method; *m; m++)
            if (*m >= 'a' && *m <= 'z') {
                atomic_fetch_sub(&w->inflight, 1);
                cio__req_reset(req);
                error_and_close(x, 501, "unknown method");
                return 0;
            }
    }

    /* route */
    rc = cio__router_match(srv->d.router, h->method,
                           (struct cio_str){req->path, plen}, &req->m);
    if (rc == CIO__ROUTE_FOUND) {
        const struct cio__target *tg = req->m.target;
        req->tgt = tg;
        req->app = tg->app;
        req->chain = tg->chain;
        req->nchain = tg->nchain;
        req->fn = tg->fn;
        req->fn_ud = tg->ud;
    } else {
        req->app = srv->app;
        req->chain = srv->d.root_chain;
        req->nchain = srv->d.nroot;
        /* under a sub-app's prefix, its middleware answers */
        for (size_t i = 0; i < srv->d.nmounts; i++) {
            const struct cio__mount_chain *mc = &srv->d.mounts[i];
            if (plen >= mc->plen &&
                memcmp(req->path, mc->prefix, mc->plen) == 0 &&
                (req->path[mc->plen] == '/' || req->path[mc->plen] == '\0')) {
                req->app = mc->app;
                req->chain = mc->chain;
                req->nchain = mc->nchain;
                break;
            }
        }
        req->fn_ud = NULL;
        req->fn = rc == CIO__ROUTE_NOT_FOUND          ? h_not_found
                  : x->fr.method == CIO__H1_M_OPTIONS ? h_options
                                                      : h_no_method;
        /* "OPTIONS *" asks about the server itself (RFC 9110 §9.3.7) */
        if (x->fr.method == CIO__H1_M_OPTIONS && strcmp(req->path, "*") == 0)
            req->fn = h_options_star;
    }

    rc = cio__req_run(req, res);
    if (rc >= 0 && !res->prepared && !final_status(res->status))
        rc = cio__err(CIO_EINVAL, "status %d is not a final status",
                      res->status);
    if (rc < 0 || req->body_err < 0) {
        cio__resp_fail(req, res);
        if (req->body_err < 0 || res->prepared)
            res->close = 1;
    }
    /* a body never invited with 100 Continue is not read: answer and
     * close (the client may not send it at all) */
    if (req->expect_continue && x->rpos == x->rb.len)
        res->close = 1;
    /* the request body must be consumed before the next request */
    if (!req->body_done && !res->close && drain_body(req) < 0)
        res->close = 1;
    if (!req->body_done)
        res->close = 1;
    if (!res->prepared) {
        rc = send_buffered(x);
        if (rc < 0)
            x->broken = 1;
    } else if (!res->finished && rc >= 0) {
        (void)h1_finish(res);
    } else if (!res->finished) {
        /* the handler failed mid-stream: no last chunk, so the client
         * sees a truncated response, and the connection is not reused */
        res->finished = 1;
        res->close = 1;
    }
    if (res->prepared && res->until_close)
        res->close = 1;
    keep = !res->close && !x->broken;
    cio__req_reset(req);
    atomic_fetch_sub(&w->inflight, 1);
    atomic_fetch_add(&w->requests, 1);
    return keep;
}

/* Reads the PROXY header that starts the connection; the bytes after it
 * stay in rb for the first request. */
static int read_proxy(struct cio__hctx *x)
{
    struct cio__conn *c = x->c;
    struct cio__proxy_proto_info pi;
    cio_time dl = cio_after(x->req.srv->to.head_ms);

    if (cio__buf_reserve(&x->rb, 4096) < 0)
        return CIO_ENOMEM;
    for (;;) {
        ptrdiff_t n = cio__proxy_proto_parse(x->rb.base, x->rb.len, &pi);
        if (n > 0) {
            x->rpos = (size_t)n;
            if (!pi.local) {
                c->peer = cio__strdup(pi.src);
                if (c->peer == NULL)
                    return CIO_ENOMEM;
            } else {
                c->peer = cio__strdup(cio_stream_peer(c->s));
                if (c->peer == NULL)
                    return CIO_ENOMEM;
            }
            return 0;
        }
        if (n != CIO_EMORE)
            return (int)n; /* not a PROXY header: close without a word */
        if (cio__buf_room(&x->rb) == 0)
            return CIO_EPROTO;
        n = cio_stream_read(c->s, cio__buf_tail(&x->rb), cio__buf_room(&x->rb),
                            dl);
        if (n <= 0)
            return n < 0 ? (int)n : CIO_EPROTO;
        cio__buf_commit(&x->rb, (size_t)n);
    }
}

/* The PROXY header in front of a TLS handshake: read exactly its bytes
 * (the ClientHello after it belongs to TLS), v1 a byte at a time after its
 * first 8, v2 by its declared length. */
static int read_proxy_exact(struct cio__conn *c, cio_time dl)
{
    char buf[CIO__PROXY_V2_MAX];
    struct cio__proxy_proto_info pi;
    size_t len = 0, want = 8;

    for (;;) {
        while (len < want) {
            ptrdiff_t n = cio_stream_read(c->s, buf + len, want - len, dl);
            if (n <= 0)
                return n < 0 ? (int)n : CIO_EPROTO;
            len += (size_t)n;
        }
        ptrdiff_t n = cio__proxy_proto_parse(buf, len, &pi);
        if (n > 0) {
            c->peer = cio__strdup(pi.local ? cio_stream_peer(c->s) : pi.src);
            return c->peer != NULL ? 0 : CIO_ENOMEM;
        }
        if (n != CIO_EMORE)
            return (int)n;
        if (buf[0] == '\r') {
            /* v2: 16 fixed bytes, then the length they declare */
            size_t total = len < 16
                               ? 16
                               : 16 + (((size_t)(unsigned char)buf[14] << 8) |
                                       (unsigned char)buf[15]);
            if (total > sizeof(buf) || total <= len)
                return CIO_EPROTO;
            want = total;
        } else {
            if (len >= CIO__PROXY_V1_MAX)
                return CIO_EPROTO;
            want = len + 1;
        }
    }
}

/* Serves requests until the connection may go idle (1) or must close (0). */
static int serve(struct cio__hctx *x)
{
    struct cio_server *srv = x->req.srv;

    for (;;) {
        x->deadline = cio_after(srv->to.head_ms);
        ptrdiff_t n = read_head(x);
        if (n <= 0)
            return 0;
        if (!handle(x, (size_t)n)) {
            (void)flush_wb(x);
            return 0;
        }
        if (x->rpos == x->rb.len) {
            x->rpos = x->rb.len = 0;
            if (flush_wb(x) < 0)
                return 0;
            return x->c->w->stopping ? 0 : 1;
        }
        if ((x->npending >= srv->lim.max_pipeline || x->wb.len >= WB_FLUSH) &&
            flush_wb(x) < 0)
            return 0;
    }
}

/* Serves c until it goes idle or closes. */
static void conn_serve(struct cio__conn *c)
{
    struct cio__worker *w = c->w;
    struct cio_server *srv = w->srv;
    struct cio__hctx *x;
    int keep;

    if (c->lc->tls != NULL && !c->tls_done) {
        cio_stream *t;
        if (c->lc->proxy &&
            read_proxy_exact(c, cio_after(srv->to.head_ms)) < 0) {
            conn_close(c);
            return;
        }
        if (cio_tls_server(&t, c->s, c->lc->tls, cio_after(srv->to.head_ms)) <
            0) {
            conn_close(c);
            return;
        }
        c->s = t;
        c->tls_done = 1;
    }
    x = ctx_get(w);
    if (x == NULL) {
        conn_close(c);
        return;
    }
    x->c = c;
    if (c->lc->proxy && c->nreq == 0 && c->peer == NULL && read_proxy(x) < 0) {
        ctx_put(w, x);
        conn_close(c);
        return;
    }
    keep = serve(x);
    ctx_put(w, x);
    if (keep && !w->stopping)
        conn_idle(c, srv->to.idle_ms);
    else
        conn_close(c);
}

/* A fresh TLS connection: its handshake, then its requests. */
static void conn_task(void *arg)
{
    conn_serve(arg);
}

/* Yield to the loop's other tasks after this many connections in a row. */
#define SERVE_BATCH 256u

static void serve_queue(void *arg)
{
    struct cio__worker *w = arg;
    struct cio__conn *c;
    unsigned n = 0;

    w->nstarting--;
    cio__task_on_park(handoff, w);
    while ((c = queue_pop(w)) != NULL) {
        if (cio_canceled()) {
            conn_close(c); /* the stop's grace period is over */
            continue;
        }
        conn_serve(c);
        if (++n % SERVE_BATCH == 0 && w->qhead != NULL)
            (void)cio_yield();
    }
}
