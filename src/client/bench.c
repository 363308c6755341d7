/* SPDX-License-Identifier: MIT */
/*
 * The bench engine (include/corio/bench.h). Not built on cio_request: a
 * load generator must spend less CPU per request than the server it
 * measures, so each connection is one task that writes pre-serialised
 * request bytes (k copies in one write when k requests are due) and parses
 * the responses in place with the strict HTTP/1.1 head parser, skipping
 * bodies by their framing. Per request that is one parse and a histogram
 * increment; per batch one read, one write and two clock reads. This is
 * wrk's design on corio's streams; docs/internals/bench.md has the state
 * machine and the coordinated-omission rule.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <corio/bench.h>
#include <corio/net.h>
#include <corio/rt.h>
#include <corio/tls.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/errmsg.h"
#include "http/chunked.h"
#include "http/h1_parse.h"
#include "net/stream.h"

#define RBUF_MAX (256u * 1024u) /* one response head must fit */
#define MAX_CODES 16
#define NHEADERS 64

struct err_code {
    int code;
    uint64_t count;
};

/* What one thread (and at the end the whole run) counted. */
struct tally {
    uint64_t responses, bytes_read, bytes_written;
    uint64_t status[600];
    uint64_t errors[CIO_BENCH_ERR_KINDS];
    struct err_code codes[MAX_CODES];
    cio_hist *lat;
};

struct cio_bench_result {
    struct tally t;
    double duration;
};

/* Shared, read-only while the workers run. */
struct plan {
    char host[256];
    unsigned port;
    bool tls;
    cio_tls_ctx *tls_ctx;
    char *reqs; /* the request, `inflight` times back to back */
    size_t reqlen;
    enum cio__h1_method method;
    uint32_t inflight, timeout_ms;
    uint64_t start_ns, end_ns; /* end_ns 0 = no duration limit */
};

struct worker {
    const struct plan *pl;
    pthread_t thread;
    uint32_t nconns;
    uint64_t quota; /* attempts this thread may start; UINT64_MAX = any */
    double rate;    /* this thread's share, req/s; 0 = closed loop */
    struct tally t;
    int rc; /* setup failure of the thread */
    /* Published for the progress callback (relaxed). */
    _Atomic uint64_t pub_responses, pub_errors, pub_bytes;
    _Atomic int done;
};

struct conn {
    struct worker *w;
    cio_stream *s;
    struct cio__buf rb;
    size_t pos;           /* parse position in rb */
    uint64_t *sent;       /* ring of send (or scheduled) times, ns */
    uint32_t head, n;     /* ring: oldest at head, n in flight */
    uint64_t interval_ns; /* open loop: time between two requests */
    uint64_t next_due_ns; /* open loop: the next scheduled send */
    /* Response being read: */
    int in_body;   /* 0 head, 1 length, 2 chunked, 3 until close */
    uint64_t left; /* BODY_LENGTH bytes still to skip */
    int status;
    bool close_after; /* the server will close after this response */
    struct cio__chunked ck;
    struct cio__h1_head h;
    struct cio__h1_header hdrs[NHEADERS];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns -> the loop's millisecond deadline (rounded up). */
static cio_time ms_deadline(uint64_t ns)
{
    return (cio_time)((ns + 999999u) / 1000000u);
}

/*
 * The loop's timers have millisecond resolution, so an open-loop send
 * wakes at the millisecond boundary before its schedule and counts as due
 * up to SLACK_NS early. A request sent early counts from when it was sent;
 * one sent late counts from its schedule. Without this, timer rounding
 * alone would add up to 2 ms to every corrected latency.
 */
#define SLACK_NS 1000000u

static cio_time ms_floor(uint64_t ns)
{
    return (cio_time)(ns / 1000000u);
}

static void count_code(struct tally *t, int code, uint64_t n)
{
    for (int i = 0; i < MAX_CODES; i++) {
        if (t->codes[i].count == 0 || t->codes[i].code == code) {
            t->codes[i].code = code;
            t->codes[i].count += n;
            return;
        }
    }
}

static void fail_requests(struct conn *c, enum cio_bench_err kind, int code,
                          uint32_t n)
{
    if (n == 0)
        return;
    struct worker *w = c->w;
    w->t.errors[kind] += n;
    count_code(&w->t, code, n);
    uint64_t all = 0;
    for (int i = 0; i < CIO_BENCH_ERR_KINDS; i++)
        all += w->t.errors[i];
    atomic_store_explicit(&w->pub_errors, all, memory_order_relaxed);
}

/* ------------------------------------------------------------ issuing */

/* Takes up to want attempts from the thread's quota. */
static uint32_t take(struct worker *w, uint32_t want)
{
    if (w->quota == UINT64_MAX)
        return want;
    if (w->quota < want)
        want = (uint32_t)w->quota;
    w->quota -= want;
    return want;
}

static bool stopping(const struct worker *w, uint64_t now)
{
    if (w->quota == 0)
        return true;
    return w->pl->end_ns != 0 && now >= w->pl->end_ns;
}

/* How many requests to send now, and the time each counts from. */
static uint32_t due(struct conn *c, uint64_t now, uint64_t *from)
{
    struct worker *w = c->w;
    uint32_t room = w->pl->inflight - c->n;
    if (room == 0 || stopping(w, now))
        return 0;
    if (c->interval_ns == 0) {
        *from = now;
        return take(w, room);
    }
    /* Open loop: every scheduled time that has passed; each request
     * counts from its schedule, not from when it could be sent. */
    uint32_t k = 0;
    *from = c->next_due_ns;
    while (k < room && c->next_due_ns <= now + SLACK_NS) {
        c->next_due_ns += c->interval_ns;
        k++;
    }
    uint32_t got = take(w, k);
    c->next_due_ns -= (uint64_t)(k - got) * c->interval_ns;
    return got;
}

static int send_batch(struct conn *c, uint32_t k, uint64_t from, uint64_t now)
{
    const struct plan *pl = c->w->pl;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t slot = (c->head + c->n + i) % pl->inflight;
        uint64_t t = from + (uint64_t)i * c->interval_ns;
        c->sent[slot] = t < now ? t : now;
    }
    c->n += k;
    ptrdiff_t r = cio_stream_write(c->s, pl->reqs, pl->reqlen * k,
                                   cio_after(pl->timeout_ms));
    if (r < 0)
        return (int)r;
    c->w->t.bytes_written += (uint64_t)r;
    return 0;
}

/* ------------------------------------------------------------ parsing */

static void complete(struct conn *c, uint64_t now)
{
    struct worker *w = c->w;
    uint64_t t0 = c->sent[c->head];
    c->head = (c->head + 1) % w->pl->inflight;
    c->n--;
    cio_hist_record(w->t.lat, now > t0 ? (now - t0) / 1000u : 0, 1);
    w->t.responses++;
    w->t.status[c->status]++;
    c->in_body = 0;
}

/*
 * Consumes whole responses from rb. Returns 0 (need more bytes), 1 (the
 * connection must be closed after the response just completed), or an
 * error (CIO_EPROTO, CIO_ETOOBIG).
 */
static int parse(struct conn *c, uint64_t now)
{
    for (;;) {
        char *p = c->rb.base + c->pos;
        size_t avail = c->rb.len - c->pos;
        if (c->in_body == 0) {
            if (avail == 0)
                return 0;
            if (c->n == 0)
                return cio__err(CIO_EPROTO, "response without a request");
            ptrdiff_t r = cio__h1_parse_response(p, avail, &c->h);
            if (r == CIO_EMORE) {
                /* Parse the head again from its start next time: heads
                 * are small and this keeps rb free to move. */
                cio__h1_head_reset(&c->h);
                return 0;
            }
            if (r < 0)
                return (int)r;
            struct cio__h1_framing f;
            int rc = cio__h1_response_framing(&c->h, c->w->pl->method, 0, &f);
            cio__h1_head_reset(&c->h);
            if (rc < 0)
                return rc;
            c->pos += (size_t)r;
            if (f.interim || f.upgrade)
                continue; /* 1xx: the final head follows */
            c->status = c->h.status;
            c->close_after = !f.keep_alive;
            switch (f.body) {
            case CIO__H1_BODY_NONE:
                break;
            case CIO__H1_BODY_LENGTH:
                c->left = f.length;
                c->in_body = 1;
                break;
            case CIO__H1_BODY_CHUNKED:
                cio__chunked_init(&c->ck, NULL);
                c->in_body = 2;
                break;
            case CIO__H1_BODY_CLOSE:
                c->in_body = 3;
                c->close_after = true;
                break;
            }
            if (c->in_body == 0) {
                complete(c, now);
                if (c->close_after)
                    return 1;
            }
            continue;
        }
        if (c->in_body == 1) {
            size_t k = avail < c->left ? avail : (size_t)c->left;
            c->pos += k;
            c->left -= k;
            if (c->left > 0)
                return 0;
            complete(c, now);
            if (c->close_after)
                return 1;
            continue;
        }
        if (c->in_body == 2) {
            if (avail == 0)
                return 0;
            size_t used;
            struct cio_str data;
            int rc = cio__chunked_feed(&c->ck, p, avail, &used, &data);
            if (rc < 0) {
                cio__chunked_fini(&c->ck);
                return rc;
            }
            c->pos += used;
            if (rc == CIO__CHUNKED_DONE) {
                cio__chunked_fini(&c->ck);
                complete(c, now);
                if (c->close_after)
                    return 1;
            }
            continue;
        }
        c->pos += avail; /* until close */
        return 0;
    }
}

/* ------------------------------------------------------------ one connection */

static void conn_close(struct conn *c)
{
    if (c->in_body == 2)
        cio__chunked_fini(&c->ck);
    c->in_body = 0;
    cio_stream_close(c->s);
    c->s = NULL;
    c->rb.len = 0;
    c->pos = 0;
    c->head = 0;
    c->n = 0;
    cio__h1_head_reset(&c->h);
}

/* Fails what is in flight and closes: the next turn reconnects. */
static void conn_fail(struct conn *c, enum cio_bench_err kind, int code)
{
    fail_requests(c, kind, code, c->n);
    conn_close(c);
}

static int conn_open(struct conn *c)
{
    const struct plan *pl = c->w->pl;
    cio_time dl = cio_after(pl->timeout_ms);
    cio_stream *s;
    int rc = cio_tcp_connect(&s, pl->host, pl->port, NULL, dl);
    if (rc < 0)
        return rc;
    if (pl->tls) {
        cio_stream *t;
        rc = cio_tls_client(&t, s, pl->tls_ctx, pl->host, dl);
        if (rc < 0) {
            cio_stream_close(s); /* still ours after a failed handshake */
            return rc;
        }
        s = t;
    }
    c->s = s;
    return 0;
}

static int read_some(struct conn *c, uint64_t now)
{
    struct cio__buf *b = &c->rb;
    if (c->pos == b->len) {
        b->len = 0;
        c->pos = 0;
    } else if (c->pos > 0 && cio__buf_room(b) < 4096) {
        cio__buf_consume(b, c->pos);
        c->pos = 0;
    }
    if (cio__buf_room(b) < 4096) {
        size_t want = b->cap ? b->cap : 16384;
        if (b->len + want > b->max)
            want = b->max - b->len;
        if (want == 0)
            return cio__err(CIO_ETOOBIG, "response head over %u bytes",
                            RBUF_MAX);
        int rc = cio__buf_reserve(b, want);
        if (rc < 0)
            return rc;
    }
    (void)now;
    return (int)c->s->vt->try_read(c->s, cio__buf_tail(b), cio__buf_room(b));
}

static void conn_task(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->w;
    const struct plan *pl = w->pl;
    uint64_t timeout_ns = (uint64_t)pl->timeout_ms * 1000000u;

    for (;;) {
        if (cio_canceled())
            break;
        uint64_t now = now_ns();
        if (c->s == NULL) {
            if (stopping(w, now))
                break;
            int rc = conn_open(c);
            if (rc < 0) {
                /* A failed connect uses up one attempt, so that -n ends
                 * even when nothing listens; back off a little. */
                if (take(w, 1) == 1)
                    fail_requests(c, CIO_BENCH_ERR_CONNECT, rc, 1);
                cio_sleep(cio_after(10));
                continue;
            }
            if (c->interval_ns && c->next_due_ns < now_ns() - timeout_ns)
                c->next_due_ns = now_ns(); /* do not replay a long outage */
            now = now_ns();
        }
        uint64_t from;
        uint32_t k = due(c, now, &from);
        if (k > 0) {
            int rc = send_batch(c, k, from, now);
            if (rc < 0) {
                conn_fail(c, CIO_BENCH_ERR_WRITE, rc);
                continue;
            }
        }
        if (c->n == 0) {
            if (stopping(w, now))
                break;
            if (c->interval_ns) {
                /* Until the next send, but not past the end of the run
                 * (a slow schedule must not stretch -d). */
                cio_time wake = ms_floor(c->next_due_ns);
                if (pl->end_ns != 0 && ms_deadline(pl->end_ns) < wake)
                    wake = ms_deadline(pl->end_ns);
                cio_sleep(wake);
                continue;
            }
            continue; /* closed loop: k was 0 only when stopping */
        }
        int rc = read_some(c, now);
        if (rc == CIO_EAGAIN) {
            uint64_t limit = c->sent[c->head] + timeout_ns;
            cio_time wake = ms_deadline(limit);
            if (c->interval_ns && c->n < pl->inflight && !stopping(w, now) &&
                ms_floor(c->next_due_ns) < wake)
                wake = ms_floor(c->next_due_ns);
            rc = c->s->vt->wait(c->s, CIO__IN, wake);
            if (rc == CIO_ETIMEDOUT) {
                if (now_ns() >= limit)
                    conn_fail(c, CIO_BENCH_ERR_TIMEOUT, CIO_ETIMEDOUT);
                continue;
            }
            if (rc < 0) {
                conn_fail(c, CIO_BENCH_ERR_READ, rc);
                if (rc == CIO_ECANCELED)
                    break;
            }
            continue;
        }
        if (rc == 0) {
            /* EOF: a close-delimited body ends here; else what was in
             * flight is lost. */
            if (c->in_body == 3) {
                complete(c, now_ns());
                c->close_after = false;
            }
            conn_fail(c, CIO_BENCH_ERR_READ, CIO_ECONNRESET);
            continue;
        }
        if (rc < 0) {
            conn_fail(c,
                      rc == CIO_ETOOBIG ? CIO_BENCH_ERR_PROTOCOL
                                        : CIO_BENCH_ERR_READ,
                      rc);
            continue;
        }
        w->t.bytes_read += (uint64_t)rc;
        cio__buf_commit(&c->rb, (size_t)rc);
        now = now_ns();
        rc = parse(c, now);
        atomic_store_explicit(&w->pub_responses, w->t.responses,
                              memory_order_relaxed);
        atomic_store_explicit(&w->pub_bytes, w->t.bytes_read,
                              memory_order_relaxed);
        if (rc < 0) {
            conn_fail(c, CIO_BENCH_ERR_PROTOCOL, rc);
            continue;
        }
        if (rc == 1) {
            /* The server closes: requests pipelined behind the last
             * response were never answered; give their attempts back. */
            if (w->quota != UINT64_MAX)
                w->quota += c->n;
            c->n = 0;
            conn_close(c);
        }
    }
    if (c->s != NULL)
        conn_fail(c, CIO_BENCH_ERR_READ, CIO_ECANCELED);
}

/* ------------------------------------------------------------ threads */

static int worker_main(void *arg)
{
    struct worker *w = arg;
    const struct plan *pl = w->pl;
    struct conn *cs = cio__calloc(w->nconns, sizeof *cs);
    uint64_t *ring =
        cio__calloc((size_t)w->nconns * pl->inflight, sizeof *ring);
    cio_group *g = NULL;
    int rc = CIO_ENOMEM;
    if (cs == NULL || ring == NULL)
        goto out_free;
    rc = cio_group_new(&g);
    if (rc < 0)
        goto out_free;
    uint64_t t0 = now_ns();
    for (uint32_t i = 0; i < w->nconns; i++) {
        struct conn *c = &cs[i];
        c->w = w;
        c->sent = ring + (size_t)i * pl->inflight;
        cio__buf_init(&c->rb, RBUF_MAX);
        cio__h1_head_init(&c->h, c->hdrs, NHEADERS, NULL);
        if (w->rate > 0) {
            /* Clamped to 1 ns .. ~31 years: a tiny rate must not overflow
             * the conversion (undefined) nor the schedule arithmetic. */
            double iv = 1e9 * w->nconns / w->rate;
            c->interval_ns = !(iv < 1e18) ? 1000000000000000000ull
                             : iv < 1     ? 1
                                          : (uint64_t)iv;
            /* Spread the connections' schedules over one interval. */
            c->next_due_ns =
                t0 + (uint64_t)((double)c->interval_ns * i / w->nconns);
        }
        rc = cio_go(g, conn_task, c);
        if (rc < 0) {
            cio__buf_fini(&c->rb);
            break;
        }
    }
    cio_group_wait(g, CIO_NEVER);
    cio_group_free(g);
    for (uint32_t i = 0; i < w->nconns; i++)
        cio__buf_fini(&cs[i].rb);
out_free:
    cio__free(ring);
    cio__free(cs);
    return rc;
}

static void *thread_main(void *arg)
{
    struct worker *w = arg;
    int rc = cio_run(worker_main, w);
    if (rc < 0)
        w->rc = rc;
    atomic_store(&w->done, 1);
    return NULL;
}

/* ------------------------------------------------------------ setup */

static bool has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int build_request(struct plan *pl, const struct cio_bench_opts *o,
                         const cio_url *u)
{
    struct cio__buf b;
    cio__buf_init(&b, 1u << 24);
    const char *method = o->method ? o->method : "GET";
    struct cio_str target = cio_url_target(u);
    struct cio_str hostport = cio_url_hostport(u);
    bool own_host = false;
    int rc = 0;
    if (has_crlf(method) || strchr(method, ' ') || method[0] == '\0') {
        rc = cio__err(CIO_EINVAL, "bad method");
        goto out_buf;
    }
    for (const struct cio_kv *h = o->headers; h && h->name; h++) {
        if (has_crlf(h->name) || has_crlf(h->value ? h->value : "") ||
            strchr(h->name, ':') || h->name[0] == '\0') {
            rc = cio__err(CIO_EINVAL, "bad header \"%.40s\"", h->name);
            goto out_buf;
        }
        if (strcasecmp(h->name, "host") == 0)
            own_host = true;
    }
    rc = cio__buf_printf(&b, "%s %.*s HTTP/1.1\r\n", method, (int)target.len,
                         target.ptr);
    if (rc == 0 && !own_host)
        rc = cio__buf_printf(&b, "Host: %.*s\r\n", (int)hostport.len,
                             hostport.ptr);
    for (const struct cio_kv *h = o->headers; rc == 0 && h && h->name; h++)
        rc = cio__buf_printf(&b, "%s: %s\r\n", h->name,
                             h->value ? h->value : "");
    if (rc == 0 && (o->body_len > 0 || (o->method && strcmp(o->method, "GET") &&
                                        strcmp(o->method, "HEAD"))))
        rc = cio__buf_printf(&b, "Content-Length: %zu\r\n", o->body_len);
    if (rc == 0)
        rc = cio__buf_append(&b, "\r\n", 2);
    if (rc == 0 && o->body_len > 0)
        rc = cio__buf_append(&b, o->body, o->body_len);
    if (rc < 0)
        goto out_buf;
    pl->reqlen = b.len;
    pl->reqs = cio__malloc(b.len * pl->inflight);
    if (pl->reqs == NULL) {
        rc = CIO_ENOMEM;
        goto out_buf;
    }
    for (uint32_t i = 0; i < pl->inflight; i++)
        memcpy(pl->reqs + (size_t)i * b.len, b.base, b.len);
    pl->method = cio__h1_method((struct cio_str){method, strlen(method)});
out_buf:
    cio__buf_fini(&b);
    return rc;
}

static int plan_init(struct plan *pl, const struct cio_bench_opts *o)
{
    memset(pl, 0, sizeof *pl);
    if (o->url == NULL)
        return cio__err(CIO_EINVAL, "no URL");
    if (o->rate < 0 || (o->body_len > 0 && o->body == NULL))
        return cio__err(CIO_EINVAL, "bad rate or body");
    cio_url *u;
    int rc = cio_url_parse(&u, o->url, strlen(o->url), NULL);
    if (rc < 0)
        return rc;
    enum cio_url_scheme_id sid = cio_url_scheme_id(u);
    if (sid != CIO_SCHEME_HTTP && sid != CIO_SCHEME_HTTPS) {
        rc = cio__err(CIO_ENOTSUP, "bench speaks http:// and https:// only");
        goto out_url;
    }
    struct cio_str host = cio_url_host(u);
    if (host.len >= sizeof pl->host) {
        rc = cio__err(CIO_EURL, "host name too long");
        goto out_url;
    }
    memcpy(pl->host, host.ptr, host.len);
    pl->port = (unsigned)cio_url_port(u);
    pl->tls = sid == CIO_SCHEME_HTTPS;
    pl->inflight = o->inflight ? o->inflight : 1;
    pl->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
    rc = build_request(pl, o, u);
    if (rc < 0)
        goto out_url;
    if (pl->tls) {
        struct cio_tls_opts to = {
            .insecure_skip_verify = o->insecure,
            .ca_file = o->ca_file,
            .alpn = (const char *[]){"http/1.1", NULL},
        };
        rc = cio_tls_ctx_new(&pl->tls_ctx, &to);
        if (rc < 0) {
            cio__free(pl->reqs);
            pl->reqs = NULL;
        }
    }
out_url:
    cio_url_free(u);
    return rc;
}

static void plan_fini(struct plan *pl)
{
    cio__free(pl->reqs);
    if (pl->tls_ctx)
        cio_tls_ctx_free(pl->tls_ctx);
}

static void tally_merge(struct tally *d, const struct tally *s)
{
    d->responses += s->responses;
    d->bytes_read += s->bytes_read;
    d->bytes_written += s->bytes_written;
    for (int i = 0; i < 600; i++)
        d->status[i] += s->status[i];
    for (int i = 0; i < CIO_BENCH_ERR_KINDS; i++)
        d->errors[i] += s->errors[i];
    for (int i = 0; i < MAX_CODES && s->codes[i].count; i++)
        count_code(d, s->codes[i].code, s->codes[i].count);
    cio_hist_merge(d->lat, s->lat);
}

static void progress_loop(const struct cio_bench_opts *o, struct worker *ws,
                          uint32_t nt, uint64_t start)
{
    uint64_t next = start + 1000000000u;
    for (;;) {
        bool all = true;
        for (uint32_t i = 0; i < nt; i++)
            all = all && atomic_load(&ws[i].done);
        if (all)
            return;
        uint64_t now = now_ns();
        if (o->progress && now >= next) {
            struct cio_bench_progress p = {.elapsed_s =
                                               (double)(now - start) / 1e9};
            for (uint32_t i = 0; i < nt; i++) {
                p.requests += atomic_load_explicit(&ws[i].pub_responses,
                                                   memory_order_relaxed);
                p.errors += atomic_load_explicit(&ws[i].pub_errors,
                                                 memory_order_relaxed);
                p.bytes += atomic_load_explicit(&ws[i].pub_bytes,
                                                memory_order_relaxed);
            }
            o->progress(&p, o->ud);
            next += 1000000000u;
        }
        /* Polling at 20 Hz costs nothing next to the load and needs no
         * wakeup path from the workers. */
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
}

int cio_bench_run(const struct cio_bench_opts *o, cio_bench_result **out)
{
    struct plan pl;
    int rc = plan_init(&pl, o);
    if (rc < 0)
        return rc;
    uint32_t nt = o->threads ? o->threads : 1;
    uint32_t nc = o->connections ? o->connections : 64;
    if (nt > nc)
        nt = nc;
    struct worker *ws = cio__calloc(nt, sizeof *ws);
    cio_bench_result *res = cio__calloc(1, sizeof *res);
    if (ws == NULL || res == NULL) {
        rc = CIO_ENOMEM;
        goto out_mem;
    }
    rc = cio_hist_new(&res->t.lat);
    for (uint32_t i = 0; rc == 0 && i < nt; i++)
        rc = cio_hist_new(&ws[i].t.lat);
    if (rc < 0)
        goto out_mem;

    uint64_t duration_ms = o->duration_ms;
    if (o->requests == 0 && duration_ms == 0)
        duration_ms = 10000;
    pl.start_ns = now_ns();
    pl.end_ns = duration_ms ? pl.start_ns + duration_ms * 1000000u : 0;
    for (uint32_t i = 0; i < nt; i++) {
        struct worker *w = &ws[i];
        w->pl = &pl;
        w->nconns = nc / nt + (i < nc % nt);
        w->quota = o->requests ? o->requests / nt + (i < o->requests % nt)
                               : UINT64_MAX;
        w->rate = o->rate > 0 ? o->rate * w->nconns / nc : 0;
    }
    uint32_t started = 0;
    for (; started < nt; started++) {
        rc = -pthread_create(&ws[started].thread, NULL, thread_main,
                             &ws[started]);
        if (rc < 0)
            break;
    }
    if (started == nt)
        progress_loop(o, ws, nt, pl.start_ns);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    res->duration = (double)(now_ns() - pl.start_ns) / 1e9;
    for (uint32_t i = 0; rc == 0 && i < nt; i++)
        if (ws[i].rc < 0)
            rc = ws[i].rc;
    if (rc < 0)
        goto out_mem;
    for (uint32_t i = 0; i < nt; i++)
        tally_merge(&res->t, &ws[i].t);
    *out = res;
    res = NULL;
out_mem:
    if (ws)
        for (uint32_t i = 0; i < nt; i++)
            cio_hist_free(ws[i].t.lat);
    cio__free(ws);
    cio_bench_result_free(res);
    plan_fini(&pl);
    return rc;
}

/* ------------------------------------------------------------ results */

void cio_bench_result_free(cio_bench_result *r)
{
    if (r == NULL)
        return;
    cio_hist_free(r->t.lat);
    cio__free(r);
}

uint64_t cio_bench_requests(const cio_bench_result *r)
{
    return r->t.responses;
}
uint64_t cio_bench_bytes_read(const cio_bench_result *r)
{
    return r->t.bytes_read;
}
uint64_t cio_bench_bytes_written(const cio_bench_result *r)
{
    return r->t.bytes_written;
}
double cio_bench_duration(const cio_bench_result *r)
{
    return r->duration;
}
const cio_hist *cio_bench_latency(const cio_bench_result *r)
{
    return r->t.lat;
}

uint64_t cio_bench_status(const cio_bench_result *r, int status)
{
    return status >= 100 && status < 600 ? r->t.status[status] : 0;
}

uint64_t cio_bench_status_class(const cio_bench_result *r, int cls)
{
    uint64_t n = 0;
    if (cls < 1 || cls > 5)
        return 0;
    for (int s = cls * 100; s < cls * 100 + 100; s++)
        n += r->t.status[s];
    return n;
}

uint64_t cio_bench_errors(const cio_bench_result *r, enum cio_bench_err kind)
{
    if (kind < CIO_BENCH_ERR_KINDS)
        return r->t.errors[kind];
    uint64_t n = 0;
    for (int i = 0; i < CIO_BENCH_ERR_KINDS; i++)
        n += r->t.errors[i];
    return n;
}

size_t cio_bench_error_codes(const cio_bench_result *r, int *codes,
                             uint64_t *counts, size_t cap)
{
    struct err_code s[MAX_CODES];
    size_t n = 0;
    for (; n < MAX_CODES && r->t.codes[n].count; n++)
        s[n] = r->t.codes[n];
    for (size_t i = 1; i < n; i++) /* insertion sort, most frequent first */
        for (size_t j = i; j > 0 && s[j].count > s[j - 1].count; j--) {
            struct err_code t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    for (size_t i = 0; i < n && i < cap; i++) {
        codes[i] = s[i].code;
        counts[i] = s[i].count;
    }
    return n;
}

const char *cio_bench_err_name(enum cio_bench_err kind)
{
    static const char *const names[] = {"connect", "timeout", "read", "write",
                                        "protocol"};
    return kind < CIO_BENCH_ERR_KINDS ? names[kind] : "all";
}
