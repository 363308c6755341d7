/* SPDX-License-Identifier: MIT */
#include "client/pool.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "net/stream.h"
#include "rt/rt_int.h"

struct waiter {
    struct cio__wait w;
    struct cio__pool_host *h;
    struct cio__conn *conn; /* handed over */
    bool reserved;          /* a slot was reserved for us */
};

void cio__pool_init(struct cio__pool *p)
{
    memset(p, 0, sizeof(*p));
    cio__list_init(&p->hosts);
    cio__list_init(&p->waiters);
}

void cio__conn_destroy(struct cio__conn *cn)
{
    if (cn->ops != NULL && cn->ops->fini != NULL)
        cn->ops->fini(cn);
    cio_stream_close(cn->s);
    cio__buf_fini(&cn->rbuf);
    cio__buf_fini(&cn->wbuf);
    cio__free(cn);
}

/* Closes a connection of h that carries no exchange (idle or just
 * released). */
static void close_conn(struct cio__pool *p, struct cio__conn *cn)
{
    struct cio__pool_host *h = cn->host;
    if (cio__list_linked(&cn->node))
        cio__list_remove(&cn->node);
    h->nconns--;
    p->nconns--;
    cio__conn_destroy(cn);
}

static void close_idle(struct cio__pool *p, struct cio__conn *cn)
{
    p->nidle--;
    cn->host->nidle--;
    close_conn(p, cn);
}

/* Still usable: not expired, no stray bytes, no EOF or error pending. A
 * one-byte non-blocking read tells: EAGAIN is the only healthy answer (TLS
 * consumes post-handshake records such as session tickets and still says
 * EAGAIN). Any byte would be an unsolicited response: not ours to parse. */
static bool idle_alive(const struct cio__pool *p, struct cio__conn *cn,
                       cio_time now)
{
    if (cn->draining || cn->rbuf.len > 0)
        return false;
    if (now - cn->idle_since >= (cio_time)p->keepalive_ms)
        return false;
    char b;
    ptrdiff_t n = cn->s->vt->try_read(cn->s, &b, 1);
    return n == CIO_EAGAIN;
}

/* The least recently used idle connection of any host (the back of a
 * LIFO list is its oldest). */
static struct cio__conn *lru_idle(struct cio__pool *p)
{
    struct cio__conn *best = NULL;
    cio__list_each(it, &p->hosts)
    {
        struct cio__pool_host *h =
            CIO_CONTAINER_OF(it, struct cio__pool_host, node);
        if (cio__list_empty(&h->idle))
            continue;
        struct cio__conn *c =
            CIO_CONTAINER_OF(h->idle.prev, struct cio__conn, node);
        if (best == NULL || c->idle_since < best->idle_since)
            best = c;
    }
    return best;
}

static void take_idle(struct cio__pool *p, struct cio__conn *cn)
{
    struct cio__pool_host *h = cn->host;
    cio__list_remove(&cn->node);
    cio__list_push_back(&h->busy, &cn->node);
    p->nidle--;
    h->nidle--;
    cn->active = 1;
    cn->reused = true;
    p->nactive++;
    p->reused++;
    if (p->nactive > p->max_active_seen)
        p->max_active_seen = p->nactive;
}

/* A connection of h with a free exchange slot (HTTP/2) or NULL. */
static struct cio__conn *shared_conn(struct cio__pool_host *h)
{
    cio__list_each(it, &h->busy)
    {
        struct cio__conn *c = CIO_CONTAINER_OF(it, struct cio__conn, node);
        if (!c->draining && c->active < c->capacity)
            return c;
    }
    return NULL;
}

/* Tries to satisfy a request for h without waiting. Returns 1 with a
 * connection in *conn or a reserved slot (*conn NULL), 0 if it must wait.
 * Checks idle connections for liveness only when check is set (a
 * hand-off to a waiter is of a connection that just finished cleanly). */
static int try_get(struct cio__pool *p, struct cio__pool_host *h,
                   struct cio__conn **conn, bool check)
{
    cio_time now = cio_now();
    struct cio__list *n;
    while ((n = h->idle.next) != &h->idle) {
        struct cio__conn *cn = CIO_CONTAINER_OF(n, struct cio__conn, node);
        if (check && !idle_alive(p, cn, now)) {
            close_idle(p, cn);
            continue;
        }
        take_idle(p, cn);
        *conn = cn;
        return 1;
    }
    struct cio__conn *sc = shared_conn(h);
    if (sc != NULL) {
        sc->active++;
        p->reused++;
        *conn = sc;
        return 1;
    }
    if (h->nconns >= p->max_per_host)
        return 0;
    if (p->nconns >= p->max_conns) {
        struct cio__conn *victim = lru_idle(p);
        if (victim == NULL)
            return 0;
        close_idle(p, victim);
    }
    h->nconns++;
    p->nconns++;
    *conn = NULL;
    return 1;
}

/* Serves waiters in FIFO order as far as the limits allow. */
static void kick(struct cio__pool *p)
{
    struct cio__list *it = p->waiters.next;
    while (it != &p->waiters) {
        struct cio__list *next = it->next;
        struct waiter *w = CIO_CONTAINER_OF(it, struct waiter, w.node);
        struct cio__conn *cn;
        if (try_get(p, w->h, &cn, true)) {
            cio__list_remove(&w->w.node);
            p->nwaiting--;
            w->conn = cn;
            w->reserved = cn == NULL;
            cio__wake(w->w.task, 0);
        } else if (p->nconns >= p->max_conns && lru_idle(p) == NULL) {
            break; /* nothing can be freed for anyone */
        }
        it = next;
    }
}

int cio__pool_host_get(struct cio__pool *p, const char *key, const char *host,
                       unsigned port, bool tls, struct cio__pool_host **out)
{
    cio__list_each(it, &p->hosts)
    {
        struct cio__pool_host *h =
            CIO_CONTAINER_OF(it, struct cio__pool_host, node);
        if (strcmp(h->key, key) == 0) {
            *out = h;
            return 0;
        }
    }
    struct cio__pool_host *h = cio__calloc(1, sizeof(*h));
    if (h == NULL)
        return CIO_ENOMEM;
    h->key = cio__strdup(key);
    h->host = cio__strdup(host);
    if (h->key == NULL || h->host == NULL) {
        cio__free(h->key);
        cio__free(h->host);
        cio__free(h);
        return CIO_ENOMEM;
    }
    h->pool = p;
    h->port = port;
    h->tls = tls;
    cio__list_init(&h->idle);
    cio__list_init(&h->busy);
    cio__list_push_back(&p->hosts, &h->node);
    *out = h;
    return 0;
}

int cio__pool_acquire(struct cio__pool *p, struct cio__pool_host *h,
                      cio_time deadline, struct cio__pool_slot *slot)
{
    struct cio__conn *cn = NULL;
    slot->waited_ms = 0;
    slot->host = h;
    /* Later arrivals queue behind earlier waiters of the same host. */
    bool queued = false;
    cio__list_each(it, &p->waiters)
    {
        if (CIO_CONTAINER_OF(it, struct waiter, w.node)->h == h) {
            queued = true;
            break;
        }
    }
    if (!queued && try_get(p, h, &cn, true)) {
        slot->conn = cn;
        return 0;
    }
    struct waiter w = {.h = h};
    cio_time t0 = cio_now();
    cio__list_push_back(&p->waiters, &w.w.node);
    p->nwaiting++;
    int rc = cio__park(&w.w, deadline, 0);
    uint64_t waited = (uint64_t)(cio_now() - t0);
    p->wait_ms_total += waited;
    slot->waited_ms = waited;
    if (rc < 0) {
        /* Timed out or canceled: the runtime unlinked us at once, so
         * kick() never handed us anything (a wait ends exactly once). */
        p->nwaiting--;
        return rc;
    }
    slot->conn = w.conn;
    return 0;
}

int cio__pool_opened(struct cio__pool *p, struct cio__pool_host *h,
                     cio_stream *s, const struct cio__conn_ops *ops,
                     uint32_t capacity, struct cio__conn **out)
{
    struct cio__conn *cn = cio__calloc(1, sizeof(*cn));
    if (cn == NULL) {
        cio_stream_close(s);
        cio__pool_open_failed(p, h);
        return CIO_ENOMEM;
    }
    cn->ops = ops;
    cn->host = h;
    cn->s = s;
    cn->capacity = capacity;
    cn->active = 1;
    cio__buf_init(&cn->rbuf, 64 * 1024 + 16 * 1024);
    cio__buf_init(&cn->wbuf, 64 * 1024);
    /* The origin as the request named it (no getpeername syscall). */
    snprintf(cn->peer, sizeof(cn->peer),
             strchr(h->host, ':') != NULL ? "[%.50s]:%u" : "%.50s:%u", h->host,
             h->port);
    cio__list_push_back(&h->busy, &cn->node);
    p->nactive++;
    p->created++;
    if (p->nactive > p->max_active_seen)
        p->max_active_seen = p->nactive;
    *out = cn;
    return 0;
}

void cio__pool_open_failed(struct cio__pool *p, struct cio__pool_host *h)
{
    h->nconns--;
    p->nconns--;
    kick(p);
}

void cio__pool_release(struct cio__conn *cn, bool reusable)
{
    struct cio__pool_host *h = cn->host;
    if (h == NULL) { /* mock, or the client was freed meanwhile */
        cio__conn_destroy(cn);
        return;
    }
    struct cio__pool *p = h->pool;
    cn->active--;
    cn->nexchanges++;
    if (!reusable)
        cn->draining = true;
    if (cn->active > 0)
        return; /* HTTP/2: other streams go on */
    p->nactive--;
    if (cn->draining || h->nidle >= p->max_idle_per_host) {
        close_conn(p, cn);
    } else {
        cio__list_remove(&cn->node);
        cn->idle_since = cio_now();
        cio__list_push_front(&h->idle, &cn->node);
        p->nidle++;
        h->nidle++;
    }
    kick(p);
}

void cio__pool_close_idle(struct cio__pool *p, struct cio__pool_host *h)
{
    struct cio__list *n;
    while ((n = h->idle.next) != &h->idle)
        close_idle(p, CIO_CONTAINER_OF(n, struct cio__conn, node));
    kick(p);
}

void cio__pool_fini(struct cio__pool *p)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(&p->hosts)) != NULL) {
        struct cio__pool_host *h =
            CIO_CONTAINER_OF(n, struct cio__pool_host, node);
        struct cio__list *c;
        while ((c = cio__list_pop_front(&h->idle)) != NULL)
            cio__conn_destroy(CIO_CONTAINER_OF(c, struct cio__conn, node));
        while ((c = cio__list_pop_front(&h->busy)) != NULL)
            CIO_CONTAINER_OF(c, struct cio__conn, node)->host = NULL;
        cio__free(h->key);
        cio__free(h->host);
        cio__free(h);
    }
    cio__wake_all(&p->waiters, CIO_ECANCELED);
    p->nconns = p->nidle = p->nactive = p->nwaiting = 0;
    cio_tls_ctx_free(p->tls);
    p->tls = NULL;
}

void cio__pool_stats(const struct cio__pool *p, struct cio_pool_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->conns = p->nconns;
    out->idle = p->nidle;
    out->active = p->nactive;
    out->waiting = p->nwaiting;
    out->created = p->created;
    out->reused = p->reused;
    out->wait_ms_total = p->wait_ms_total;
    out->max_active = p->max_active_seen;
}
