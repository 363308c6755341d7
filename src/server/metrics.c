/* SPDX-License-Identifier: MIT */
#include "server/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <corio/error.h>

#include "base/alloc.h"

/* Upper bounds of the latency buckets in microseconds (+Inf is count). */
static const uint64_t bucket_us[] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

static const char *const methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER",
};
#define METHOD_OTHER 7

/* Counters have one writer (the shard's thread): plain load + store. */
typedef _Atomic uint64_t counter;

static inline void bump(counter *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static inline uint64_t peek(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

struct series {
    _Atomic int used; /* 1 once the key below is written (release) */
    char *route;      /* key (a copy); NULL = no route matched */
    uint64_t hash;    /* of route, status and method */
    uint16_t status;  /* key */
    uint8_t method;   /* key: index in methods[] */
    counter count;
    counter sum_ns;
    counter bucket[NBUCKETS]; /* per bucket, not cumulative */
};

struct shard {
    struct shard *next; /* immutable once pushed */
    pthread_t owner;
    unsigned id; /* worker label: order of first use */
    counter dropped;
    struct series tab[CIO__METRICS_SERIES];
};

struct cio__metrics {
    _Atomic(struct shard *) shards;
    _Atomic unsigned nshards;
    uint64_t gen; /* tells a recycled address from the cached one */
};

static _Atomic uint64_t gen_next = 1;

/* The calling thread's shard of the metrics it used last. */
static _Thread_local struct {
    uint64_t gen;
    struct shard *s;
} tls;

int cio__metrics_new(struct cio__metrics **out)
{
    struct cio__metrics *m = cio__calloc(1, sizeof(*m));
    if (m == NULL)
        return CIO_ENOMEM;
    m->gen = atomic_fetch_add(&gen_next, 1);
    *out = m;
    return 0;
}

void cio__metrics_free(struct cio__metrics *m)
{
    if (m == NULL)
        return;
    struct shard *s = atomic_load(&m->shards);
    while (s != NULL) {
        struct shard *next = s->next;
        for (size_t i = 0; i < CIO__METRICS_SERIES; i++)
            cio__free(s->tab[i].route);
        cio__free(s);
        s = next;
    }
    cio__free(m);
}

static struct shard *my_shard(struct cio__metrics *m)
{
    if (tls.gen == m->gen)
        return tls.s;
    pthread_t self = pthread_self();
    struct shard *s;
    /* A thread that used m before (the cache held another m since). A
     * shard left by a thread that exited may be taken over by a new thread
     * with the same id: still one writer at a time. */
    for (s = atomic_load_explicit(&m->shards, memory_order_acquire); s != NULL;
         s = s->next)
        if (pthread_equal(s->owner, self))
            break;
    if (s == NULL) {
        s = cio__calloc(1, sizeof(*s));
        if (s == NULL)
            return NULL;
        s->owner = self;
        s->id = atomic_fetch_add(&m->nshards, 1);
        s->next = atomic_load_explicit(&m->shards, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&m->shards, &s->next, s,
                                                      memory_order_release,
                                                      memory_order_relaxed))
            ;
    }
    tls.gen = m->gen;
    tls.s = s;
    return s;
}

static unsigned method_index(const char *method)
{
    /* Interned: a client cannot add label values. */
    for (unsigned i = 0; i < METHOD_OTHER; i++)
        if (strcmp(method, methods[i]) == 0)
            return i;
    return METHOD_OTHER;
}

void cio__metrics_observe(struct cio__metrics *m, const char *route,
                          const char *method, int status, uint64_t dur_ns)
{
    struct shard *s = my_shard(m);
    if (s == NULL)
        return;
    unsigned mi = method ? method_index(method) : METHOD_OTHER;
    uint16_t st = status >= 100 && status <= 999 ? (uint16_t)status : 0;
    /* The pattern is compared as text (a request's pattern string need not
     * live as long as the metrics): FNV-1a, then strcmp on a hash match. */
    uint64_t h = 0xcbf29ce484222325u;
    for (const char *p = route ? route : ""; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3u;
    h = (h ^ ((uint64_t)st << 4 | mi | (route ? 0u : 8u))) * 0x100000001b3u;
    h ^= h >> 29;
    size_t mask = CIO__METRICS_SERIES - 1;
    struct series *e = NULL;

    for (size_t i = 0, j = (size_t)h & mask; i < CIO__METRICS_SERIES;
         i++, j = (j + 1) & mask) {
        struct series *t = &s->tab[j];
        if (!atomic_load_explicit(&t->used, memory_order_relaxed)) {
            if (route != NULL && (t->route = cio__strdup(route)) == NULL)
                break; /* counted as dropped */
            t->hash = h;
            t->status = st;
            t->method = (uint8_t)mi;
            atomic_store_explicit(&t->used, 1, memory_order_release);
            e = t;
            break;
        }
        if (t->hash == h && t->status == st && t->method == mi &&
            (t->route == NULL) == (route == NULL) &&
            (route == NULL || strcmp(t->route, route) == 0)) {
            e = t;
            break;
        }
    }
    if (e == NULL) {
        bump(&s->dropped, 1);
        return;
    }
    uint64_t us = dur_ns / 1000;
    size_t b = 0;
    while (b < NBUCKETS && us > bucket_us[b])
        b++;
    if (b < NBUCKETS)
        bump(&e->bucket[b], 1);
    bump(&e->sum_ns, dur_ns);
    bump(&e->count, 1);
}

void cio__lag_note(struct cio__lag_window *w, int64_t now_ms, uint64_t lag_us)
{
    uint32_t v = lag_us > UINT32_MAX ? UINT32_MAX : (uint32_t)lag_us;
    if (now_ms - w->start_ms >= CIO__METRICS_LAG_WINDOW_MS) {
        atomic_store_explicit(
            &w->prev_us, atomic_load_explicit(&w->cur_us, memory_order_relaxed),
            memory_order_relaxed);
        atomic_store_explicit(&w->cur_us, 0, memory_order_relaxed);
        w->start_ms = now_ms;
    }
    if (v > atomic_load_explicit(&w->cur_us, memory_order_relaxed))
        atomic_store_explicit(&w->cur_us, v, memory_order_relaxed);
}

uint32_t cio__lag_worst(struct cio__lag_window *w)
{
    uint32_t cur = atomic_load_explicit(&w->cur_us, memory_order_relaxed);
    uint32_t prev = atomic_load_explicit(&w->prev_us, memory_order_relaxed);
    return cur > prev ? cur : prev;
}

/* ---------------------------------------------------------------- scrape */

struct agg {
    const char *route;
    uint16_t status;
    uint8_t method;
    uint64_t count, sum_ns;
    uint64_t bucket[NBUCKETS];
};

static int agg_cmp(const void *pa, const void *pb)
{
    const struct agg *a = pa, *b = pb;
    int c = a->route == NULL || b->route == NULL
                ? (a->route != NULL) - (b->route != NULL)
                : strcmp(a->route, b->route);
    if (c != 0)
        return c;
    if (a->method != b->method)
        return a->method < b->method ? -1 : 1;
    return (int)a->status - (int)b->status;
}

/* Label value escaping (text format 0.0.4): backslash, quote, newline. */
static int put_label(struct cio__buf *b, const char *v)
{
    int rc = 0;
    for (const char *p = v ? v : ""; rc == 0 && *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            rc = cio__buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            rc = cio__buf_append(b, "\\n", 2);
        else
            rc = cio__buf_append(b, p, 1);
    }
    return rc;
}

static int put_key(struct cio__buf *b, const char *name, const struct agg *a,
                   bool status)
{
    int rc = cio__buf_printf(b, "%s{route=\"", name);
    if (rc == 0)
        rc = put_label(b, a->route);
    if (rc == 0)
        rc = cio__buf_printf(b, "\",method=\"%s\"", methods[a->method]);
    if (rc == 0 && status)
        rc = cio__buf_printf(b, ",status=\"%u\"", a->status);
    return rc;
}

static int render_requests(struct cio__buf *b, const struct agg *v, size_t n)
{
    int rc =
        cio__buf_printf(b, "# HELP corio_http_requests_total Requests handled, "
                           "by route pattern, method and status.\n"
                           "# TYPE corio_http_requests_total counter\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = put_key(b, "corio_http_requests_total", &v[i], true);
        if (rc == 0)
            rc = cio__buf_printf(b, "} %llu\n", (unsigned long long)v[i].count);
    }
    return rc;
}

static int render_histogram(struct cio__buf *b, const struct agg *v, size_t n)
{
    int rc = cio__buf_printf(
        b, "# HELP corio_http_request_duration_seconds Time from the first "
           "middleware until the handler chain returned.\n"
           "# TYPE corio_http_request_duration_seconds histogram\n");
    /* v is sorted by route, then method: one histogram per (route, method). */
    for (size_t i = 0; rc == 0 && i < n;) {
        struct agg h = v[i];
        size_t j = i + 1;
        for (; j < n && v[j].method == h.method &&
               (v[j].route == NULL
                    ? h.route == NULL
                    : h.route != NULL && strcmp(v[j].route, h.route) == 0);
             j++) {
            h.count += v[j].count;
            h.sum_ns += v[j].sum_ns;
            for (size_t k = 0; k < NBUCKETS; k++)
                h.bucket[k] += v[j].bucket[k];
        }
        i = j;
        uint64_t cum = 0;
        for (size_t k = 0; rc == 0 && k < NBUCKETS; k++) {
            cum += h.bucket[k];
            rc = put_key(b, "corio_http_request_duration_seconds_bucket", &h,
                         false);
            if (rc == 0)
                rc = cio__buf_printf(b, ",le=\"%s\"} %llu\n", bucket_le[k],
                                     (unsigned long long)cum);
        }
        if (rc == 0)
            rc = put_key(b, "corio_http_request_duration_seconds_bucket", &h,
                         false);
        if (rc == 0)
            rc = cio__buf_printf(b, ",le=\"+Inf\"} %llu\n",
                                 (unsigned long long)h.count);
        if (rc == 0)
            rc = put_key(b, "corio_http_request_duration_seconds_sum", &h,
                         false);
        if (rc == 0)
            rc = cio__buf_printf(b, "} %.9f\n", (double)h.sum_ns / 1e9);
        if (rc == 0)
            rc = put_key(b, "corio_http_request_duration_seconds_count", &h,
                         false);
        if (rc == 0)
            rc = cio__buf_printf(b, "} %llu\n", (unsigned long long)h.count);
    }
    return rc;
}

int cio__metrics_render(struct cio__metrics *m, struct cio__buf *b,
                        const struct cio__metrics_gauges *g)
{
    struct shard *head = atomic_load_explicit(&m->shards, memory_order_acquire);
    size_t nsh = 0, n = 0;
    uint64_t dropped = 0;
    int rc;

    for (struct shard *s = head; s != NULL; s = s->next)
        nsh++;
    struct agg *v =
        nsh ? cio__calloc(nsh * CIO__METRICS_SERIES, sizeof(*v)) : NULL;
    if (nsh > 0 && v == NULL)
        return CIO_ENOMEM;
    for (struct shard *s = head; s != NULL; s = s->next) {
        dropped += peek(&s->dropped);
        for (size_t i = 0; i < CIO__METRICS_SERIES; i++) {
            struct series *e = &s->tab[i];
            if (!atomic_load_explicit(&e->used, memory_order_acquire))
                continue;
            struct agg *a = &v[n++];
            a->route = e->route;
            a->status = e->status;
            a->method = e->method;
            a->count = peek(&e->count);
            a->sum_ns = peek(&e->sum_ns);
            for (size_t k = 0; k < NBUCKETS; k++)
                a->bucket[k] = peek(&e->bucket[k]);
        }
    }
    if (n > 0)
        qsort(v, n, sizeof(*v), agg_cmp);
    /* Merge the shards' copies of each series. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && agg_cmp(&v[w - 1], &v[i]) == 0) {
            v[w - 1].count += v[i].count;
            v[w - 1].sum_ns += v[i].sum_ns;
            for (size_t k = 0; k < NBUCKETS; k++)
                v[w - 1].bucket[k] += v[i].bucket[k];
        } else {
            v[w++] = v[i];
        }
    }
    rc = render_requests(b, v, w);
    if (rc == 0)
        rc = render_histogram(b, v, w);
    cio__free(v);
    if (rc == 0 && g != NULL && g->have_conns)
        rc = cio__buf_printf(b,
                             "# HELP corio_http_connections_open Connections "
                             "open now, all workers.\n"
                             "# TYPE corio_http_connections_open gauge\n"
                             "corio_http_connections_open %llu\n",
                             (unsigned long long)g->conns_open);
    if (rc == 0 && g != NULL && g->nlag > 0)
        rc = cio__buf_printf(
            b, "# HELP corio_loop_lag_seconds The worst delay of the worker's "
               "periodic timer in the last 5 to 10 s.\n"
               "# TYPE corio_loop_lag_seconds gauge\n");
    for (unsigned i = 0; rc == 0 && g != NULL && i < g->nlag; i++)
        rc = cio__buf_printf(b, "corio_loop_lag_seconds{worker=\"%u\"} %.6f\n",
                             i, (double)g->lag_us[i] / 1e6);
    if (rc == 0)
        rc = cio__buf_printf(b,
                             "# HELP corio_metrics_dropped_total Requests not "
                             "counted: a shard's series table was full.\n"
                             "# TYPE corio_metrics_dropped_total counter\n"
                             "corio_metrics_dropped_total %llu\n",
                             (unsigned long long)dropped);
    return rc;
}
