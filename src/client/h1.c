/* SPDX-License-Identifier: MIT */
/*
 * One HTTP/1.1 exchange on a pooled connection: write the head and the
 * body, read the response head (skipping at most 10 interim responses) and
 * decide the body framing. The body itself is read by client.c through
 * cio__resp_read_raw, which is shared with the mock transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "base/iov.h"
#include "client/client_int.h"
#include "http/h1_write.h"
#include "http/multipart.h"
#include "net/stream.h"
#include "rt/rt_int.h"

static void h1_fini(struct cio__conn *cn)
{
    (void)cn;
}

const struct cio__conn_ops cio__h1_ops = {
    .proto = "http/1.1",
    .exchange = cio__h1_exchange,
    .read_body = cio__resp_read_raw,
    .fini = h1_fini,
};

static cio_time phase_deadline(uint32_t ms, cio_time total)
{
    cio_time d = ms == UINT32_MAX ? CIO_NEVER : cio_after(ms);
    if (total != CIO_NEVER && (d == CIO_NEVER || total < d))
        d = total;
    return d;
}

static int timeout_err(uint32_t ms, cio_time total, const char *what,
                       const char *phase, const char *peer)
{
    if (total != CIO_NEVER && cio_now() >= total)
        return cio__err(CIO_ETIMEDOUT,
                        "total timeout: the request ran out "
                        "of time while %s %s",
                        phase, peer);
    return cio__err(CIO_ETIMEDOUT, "%s timeout: %s for %u ms while %s %s", what,
                    strcmp(what, "write") == 0 ? "no progress" : "no byte", ms,
                    phase, peer);
}

ptrdiff_t cio__conn_read(struct cio__conn *cn, cio_response *r,
                         const char *phase)
{
    if (cn->s == NULL)
        return 0; /* mock: everything is in rbuf */
    struct cio__buf *b = &cn->rbuf;
    if (cio__buf_room(b) < 4096) {
        size_t want = b->max - b->len < 16384 ? b->max - b->len : 16384;
        if (want == 0)
            return cio__err(CIO_ETOOBIG, "response read buffer full");
        int rc = cio__buf_reserve(b, want);
        if (rc < 0)
            return rc;
    }
    if (cio_canceled())
        return CIO_ECANCELED;
    cio_time dl = phase_deadline(r->read_ms, r->total_deadline);
    for (;;) {
        ptrdiff_t n =
            cn->s->vt->try_read(cn->s, cio__buf_tail(b), cio__buf_room(b));
        if (n > 0) {
            cio__buf_commit(b, (size_t)n);
            return n;
        }
        if (n != CIO_EAGAIN)
            return n;
        int rc = cn->s->vt->wait(cn->s, CIO__IN, dl);
        if (rc == CIO_ETIMEDOUT)
            return timeout_err(r->read_ms, r->total_deadline, "read", phase,
                               cn->peer);
        if (rc < 0)
            return rc;
    }
}

/* Writes all of iov[0..cnt) (cnt <= 8); *sent counts bytes taken. */
static int write_all(struct cio__conn *cn, struct cio__send *st,
                     struct iovec *iov, int cnt, size_t *sent)
{
    uint32_t ms = st->req->to.write_ms;
    while (cnt > 0) {
        if (cio_canceled())
            return CIO_ECANCELED;
        ptrdiff_t n = cn->s->vt->try_writev(cn->s, iov, cnt);
        if (n == CIO_EAGAIN) {
            int rc = cn->s->vt->wait(cn->s, CIO__OUT,
                                     phase_deadline(ms, st->total_deadline));
            if (rc == CIO_ETIMEDOUT)
                return timeout_err(ms, st->total_deadline, "write",
                                   "sending the request to", cn->peer);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n < 0)
            return (int)n;
        *sent += (size_t)n;
        cio__iov_skip(&iov, &cnt, (size_t)n);
    }
    return 0;
}

/*
 * File parts of a multipart body are read without waiting for the disk:
 * bytes in the page cache are read on the loop (preadv2 RWF_NOWAIT); when
 * the next bytes are not there, a read-ahead runs on the executor and the
 * loop reads again. The read-ahead owns a duplicate of the descriptor and
 * its buffer, so a request canceled meanwhile leaves it nothing shared
 * (the job's dispose frees them whenever it ends).
 */
#define READ_AHEAD (1u << 20)
_Atomic unsigned long cio__client_read_aheads;

/* 0: read ahead (or nothing to do), 1: could not set one up (read on the
 * loop instead), < 0: the caller was canceled or timed out. */
static int read_ahead(cio_multipart *mp, cio_time deadline)
{
    int fd;
    int64_t off, left;
    if (cio__multipart_cold_spot(mp, &fd, &off, &left) < 0)
        return 1;
    size_t len =
        left >= 0 && (uint64_t)left < READ_AHEAD ? (size_t)left : READ_AHEAD;
    atomic_fetch_add(&cio__client_read_aheads, 1);
    return cio__read_ahead(fd, (off_t)off, len, deadline, NULL);
}

/* The wait for a read-ahead is bounded like a write that makes no
 * progress (write_ms, and the total timeout): a pool thread may not be
 * free for long, the application's own jobs share the executor. */
static ptrdiff_t multipart_next(struct cio__conn *cn, struct cio__send *st,
                                char *buf, size_t cap)
{
    cio_multipart *mp = st->req->multipart;
    uint32_t ms = st->req->to.write_ms;
    for (int tries = 0;; tries++) {
        bool cold;
        ptrdiff_t n = cio__multipart_read_nowait(mp, buf, cap, &cold);
        if (!cold || n > 0)
            return n;
        /* evicted again before we got to it (a machine short of memory):
         * after a few read-aheads, read here rather than loop */
        int rc = tries < 3
                     ? read_ahead(mp, phase_deadline(ms, st->total_deadline))
                     : 1;
        if (rc == CIO_ETIMEDOUT)
            return timeout_err(ms, st->total_deadline, "write",
                               "reading a file part for", cn->peer);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return cio_multipart_read(mp, buf, cap);
    }
}

/* Next piece of a streamed body into buf: > 0, 0 at the end, or < 0. */
static ptrdiff_t body_next(struct cio__conn *cn, struct cio__send *st,
                           char *buf, size_t cap)
{
    struct cio_request_info *q = st->req;
    if (q->body_kind == CIO__BODY_FN)
        return q->body_fn(buf, cap, q->body_ud);
    return multipart_next(cn, st, buf, cap);
}

static int send_body(struct cio__conn *cn, struct cio__send *st, size_t *sent)
{
    struct cio_request_info *q = st->req;
    if (q->body_kind == CIO__BODY_MEM) {
        struct iovec v = {q->body, q->body_len};
        return q->body_len > 0 ? write_all(cn, st, &v, 1, sent) : 0;
    }
    if (q->body_kind == CIO__BODY_NONE)
        return 0;
    int64_t len = q->body_kind == CIO__BODY_FN
                      ? q->body_fn_len
                      : cio_multipart_length(q->multipart);
    char *buf = cio__malloc(16384);
    if (buf == NULL)
        return CIO_ENOMEM;
    int64_t total = 0;
    int rc = 0;
    for (;;) {
        ptrdiff_t n = body_next(cn, st, buf, 16384);
        if (n < 0) {
            rc = n == CIO_EAGAIN ? cio__err(CIO_EINVAL, "request body source "
                                                        "would block")
                                 : (int)n;
            break;
        }
        if (n == 0) {
            if (len >= 0 && total != len)
                rc = cio__err(CIO_EINVAL,
                              "request body ended after %lld of "
                              "%lld bytes",
                              (long long)total, (long long)len);
            else if (len < 0) {
                struct iovec v = {(void *)"0\r\n\r\n", 5};
                rc = write_all(cn, st, &v, 1, sent);
            }
            break;
        }
        total += n;
        if (len >= 0 && total > len) {
            rc = cio__err(CIO_EINVAL,
                          "request body longer than its declared "
                          "%lld bytes",
                          (long long)len);
            break;
        }
        if (len >= 0) {
            struct iovec v = {buf, (size_t)n};
            rc = write_all(cn, st, &v, 1, sent);
        } else {
            char head[CIO__H1_CHUNK_HEAD_MAX];
            struct iovec v[3];
            int k = cio__h1_chunk_iov(v, head, buf, (size_t)n);
            rc = write_all(cn, st, v, k, sent);
        }
        if (rc < 0)
            break;
    }
    cio__free(buf);
    return rc;
}

static int build_head(struct cio__conn *cn, struct cio__send *st,
                      const struct cio_kv *extra)
{
    struct cio_request_info *q = st->req;
    struct cio__h1_request hr = {
        .method = cio_str_c(q->method),
        .target = st->absolute_form ? st->abs_target : cio_url_target(q->url),
        .minor = 1,
        .headers = q->headers,
        .extra = extra,
    };
    cn->wbuf.len = 0;
    size_t want = 1024;
    for (;;) {
        int rc = cio__buf_reserve(&cn->wbuf, want);
        if (rc < 0)
            return rc == CIO_ETOOBIG
                       ? cio__err(CIO_ETOOBIG, "request head over %zu bytes",
                                  cn->wbuf.max)
                       : rc;
        size_t need = 0;
        ptrdiff_t n =
            cio__h1_write_request(cn->wbuf.base, cn->wbuf.cap, &hr, &need);
        if (n >= 0) {
            cn->wbuf.len = (size_t)n;
            return 0;
        }
        if (n != CIO_ETOOBIG || need <= want)
            return (int)n;
        want = need;
    }
}

/* Reads and parses one response head into h; returns its length. */
static ptrdiff_t read_head(struct cio__conn *cn, cio_response *r,
                           struct cio__h1_head *h, bool *got_any)
{
    for (;;) {
        if (cn->rbuf.len > 0) {
            *got_any = true;
            ptrdiff_t n =
                cio__h1_parse_response(cn->rbuf.base, cn->rbuf.len, h);
            if (n != CIO_EMORE)
                return n; /* errors carry the parser's message */
        }
        ptrdiff_t n =
            cio__conn_read(cn, r, "waiting for the response head from");
        if (n == 0) {
            if (!*got_any)
                return cio__err(CIO_EUNSENT,
                                "%s closed the connection "
                                "before sending a response",
                                cn->peer);
            return cio__err(CIO_EPROTO,
                            "%s closed the connection inside "
                            "the response head",
                            cn->peer);
        }
        if (n < 0) {
            if (!*got_any && (n == CIO_ECONNRESET || n == CIO_EPIPE))
                return cio__err(CIO_EUNSENT,
                                "%s reset the connection before "
                                "sending a response",
                                cn->peer);
            return n;
        }
    }
}

int cio__h1_exchange(struct cio__send *st, struct cio__conn *cn,
                     const struct cio_kv *extra, cio_response *r,
                     bool *sent_any, bool *got_any)
{
    struct cio_request_info *q = st->req;
    size_t sent = 0;
    *sent_any = false;
    *got_any = false;
    int rc = build_head(cn, st, extra);
    if (rc < 0)
        return rc;

    cio__phase(st, CIO_PHASE_WRITE);
    bool inline_body = q->body_kind == CIO__BODY_MEM && !q->expect_continue &&
                       q->body_len <= CIO__CLIENT_INLINE_BODY;
    struct iovec v[2] = {{cn->wbuf.base, cn->wbuf.len}, {q->body, q->body_len}};
    rc = write_all(cn, st, v, inline_body && q->body_len > 0 ? 2 : 1, &sent);
    *sent_any = sent > 0;
    if (rc < 0)
        return rc == CIO_EPIPE || rc == CIO_ECONNRESET
                   ? cio__err(CIO_EUNSENT,
                              "%s closed the connection while "
                              "the request was written",
                              cn->peer)
                   : rc;

    struct cio__h1_header hdrs[CIO__H1_MAX_FIELDS];
    struct cio__h1_head h;
    cio__h1_head_init(&h, hdrs, CIO__H1_MAX_FIELDS, NULL);
    r->read_ms = q->to.read_ms;
    r->total_deadline = st->total_deadline;
    bool body_pending = !inline_body && q->body_kind != CIO__BODY_NONE;
    bool body_skipped = false;
    ptrdiff_t n = 0;
    unsigned interim = 0;

    if (body_pending && q->expect_continue) {
        /* Wait up to 1 s for 100 Continue or a final status; a server
         * that ignores Expect gets the body after the wait. The parser
         * keeps its state, so a head cut by the wait resumes below. */
        uint32_t saved = r->read_ms;
        r->read_ms = CIO__CLIENT_CONTINUE_MS;
        n = read_head(cn, r, &h, got_any);
        r->read_ms = saved;
        if (n == CIO_ETIMEDOUT && (st->total_deadline == CIO_NEVER ||
                                   cio_now() < st->total_deadline)) {
            n = 0; /* no answer: send the body */
        } else if (n < 0) {
            return (int)n;
        } else if (h.status >= 200) {
            body_skipped = true; /* the final answer came without it */
            goto parsed;
        } else {
            interim += h.status != 100; /* 100 (or another 1xx) */
            cio__buf_consume(&cn->rbuf, (size_t)n);
            cio__h1_head_reset(&h);
        }
    }
    if (body_pending) {
        rc = send_body(cn, st, &sent);
        *sent_any = sent > 0;
        if (rc < 0)
            return rc;
    }

    cio__phase(st, CIO_PHASE_FIRST_BYTE);
    for (;;) {
        n = read_head(cn, r, &h, got_any);
        if (n < 0)
            return (int)n;
    parsed:
        rc = cio__h1_response_framing(&h, q->mid, 0, &r->fr);
        if (rc < 0)
            return cio__err(rc, "malformed response from %s: %s", cn->peer,
                            r->fr.err_msg != NULL ? r->fr.err_msg : "framing");
        if (!r->fr.interim)
            break;
        if (++interim > CIO__CLIENT_MAX_INTERIM)
            return cio__err(CIO_EPROTO,
                            "more than %d interim (1xx) responses "
                            "from %s",
                            CIO__CLIENT_MAX_INTERIM, cn->peer);
        cio__buf_consume(&cn->rbuf, (size_t)n);
        cio__h1_head_reset(&h);
    }
    if (r->fr.te_other)
        return cio__err(CIO_EPROTO,
                        "response from %s uses a transfer coding "
                        "other than chunked",
                        cn->peer);

    r->status = h.status;
    r->version = h.minor == 0 ? 10 : 11;
    r->reason = h.reason.len < sizeof(r->reason_buf)
                    ? r->reason_buf
                    : cio__malloc(h.reason.len + 1);
    if (r->reason == NULL)
        return CIO_ENOMEM;
    memcpy(r->reason, h.reason.ptr, h.reason.len);
    r->reason[h.reason.len] = '\0';
    rc = cio_headers_new(&r->headers, NULL);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < h.nheaders; i++) {
        rc = cio_headers_add_str(r->headers, hdrs[i].name, hdrs[i].value);
        if (rc < 0)
            return rc;
    }
    cio__buf_consume(&cn->rbuf, (size_t)n);
    r->mid = q->mid;
    r->left = r->fr.length;
    r->reusable =
        r->fr.keep_alive && !body_skipped && !r->fr.upgrade && !r->fr.connect;
    if (r->fr.body == CIO__H1_BODY_NONE && cn->rbuf.len > 0) {
        /* Bytes after a body-less response (HEAD/204/304 with a body:
         * RELIABILITY C.32) are never a body and never the next response. */
        r->reusable = false;
        cn->rbuf.len = 0;
    }
    if (r->fr.body == CIO__H1_BODY_NONE)
        r->raw_eof = true;
    if (r->fr.body == CIO__H1_BODY_CHUNKED) {
        cio__chunked_init(&r->ch, NULL);
        r->chunked_init = true;
    }
    return 0;
}
