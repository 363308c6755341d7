/* SPDX-License-Identifier: MIT */
/*
 * Name resolution. Literals and the RFC 6761 special names are answered
 * inline. Other names go to getaddrinfo on the executor: getaddrinfo blocks
 * and cannot be interrupted, so a canceled caller walks away and the job's
 * dispose frees whatever the lookup returns later. Answers are kept in a
 * small process-wide cache (several loops share it, hence the mutex).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "net/resolve.h"
#include "rt/rt_int.h"

#define CACHE_TTL_MS 30000
#define CACHE_MAX 64
#define HOST_MAX 256

int (*cio__resolve_gai)(const char *, const char *, const struct addrinfo *,
                        struct addrinfo **) = getaddrinfo;

int cio__split_hostport(const char *s, char *host, size_t hostcap,
                        unsigned *port)
{
    const char *colon, *h = s;
    size_t hlen;
    char *end;
    unsigned long p;

    if (s == NULL)
        return CIO_EINVAL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return CIO_EINVAL;
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return CIO_EINVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL)
            return CIO_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hlen >= hostcap || colon[1] == '\0')
        return CIO_EINVAL;
    p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p > 65535 || colon[1] < '0' || colon[1] > '9')
        return CIO_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (unsigned)p;
    return 0;
}

static int literal(const char *host, unsigned port, unsigned flags,
                   struct cio__addr *a)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

    memset(a, 0, sizeof(*a));
    if (!(flags & CIO__RESOLVE_V6) &&
        inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        a->len = sizeof(*s4);
        return 1;
    }
    if (!(flags & CIO__RESOLVE_V4) &&
        inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        a->len = sizeof(*s6);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- cache */

/*
 * Entries keep addresses with port 0; the port is set on the way out. The
 * key is the name plus the flags that shape the query (family, passive).
 */
struct centry {
    char host[HOST_MAX]; /* "" = free */
    unsigned flags;
    struct cio__addr *v;
    size_t n;
    cio_time expires;
    uint64_t seq; /* insertion order: the smallest goes first */
};

static struct {
    pthread_mutex_t mu;
    struct centry e[CACHE_MAX];
    uint64_t seq;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void set_port(struct cio__addr *v, size_t n, unsigned port)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&v[i].ss)->sin_port = htons((uint16_t)port);
        else if (v[i].ss.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&v[i].ss)->sin6_port =
                htons((uint16_t)port);
    }
}

static void centry_clear(struct centry *e)
{
    cio__free(e->v);
    memset(e, 0, sizeof(*e));
}

/* 1 and a fresh copy in *out (port set) on a hit, 0 on a miss, or CIO_ENOMEM. */
static int cache_get(const char *host, unsigned flags, unsigned port,
                     struct cio__addr **out, size_t *n)
{
    cio_time now = cio__clock_ms();
    int rc = 0;

    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < CACHE_MAX; i++) {
        struct centry *e = &cache.e[i];
        if (e->host[0] == '\0' || e->flags != flags ||
            strcasecmp(e->host, host) != 0)
            continue;
        if (e->expires <= now) {
            centry_clear(e);
            break;
        }
        struct cio__addr *v = cio__malloc(e->n * sizeof(*v));
        if (v == NULL) {
            rc = CIO_ENOMEM;
            break;
        }
        memcpy(v, e->v, e->n * sizeof(*v));
        set_port(v, e->n, port);
        *out = v;
        *n = e->n;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&cache.mu);
    return rc;
}

/* Best effort: a failed allocation only means no caching. */
static void cache_put(const char *host, unsigned flags,
                      const struct cio__addr *v, size_t n)
{
    struct cio__addr *copy = cio__malloc(n * sizeof(*copy));
    struct centry *victim = NULL;
    cio_time now = cio__clock_ms();

    if (copy == NULL)
        return;
    memcpy(copy, v, n * sizeof(*copy));
    set_port(copy, n, 0);
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < CACHE_MAX; i++) {
        struct centry *e = &cache.e[i];
        if (e->host[0] != '\0' && e->flags == flags &&
            strcasecmp(e->host, host) == 0) {
            victim = e; /* a concurrent lookup of the same name */
            break;
        }
        /* Else the first free entry, or the oldest one (every entry lives
         * CACHE_TTL_MS, so the oldest is also the first to expire). */
        if (victim == NULL || (victim->host[0] != '\0' &&
                               (e->host[0] == '\0' || e->seq < victim->seq)))
            victim = e;
    }
    centry_clear(victim);
    snprintf(victim->host, sizeof(victim->host), "%s", host);
    victim->flags = flags;
    victim->v = copy;
    victim->n = n;
    victim->expires = now + CACHE_TTL_MS;
    victim->seq = ++cache.seq;
    pthread_mutex_unlock(&cache.mu);
}

void cio__resolve_cache_clear(void)
{
    pthread_mutex_lock(&cache.mu);
    for (size_t i = 0; i < CACHE_MAX; i++)
        centry_clear(&cache.e[i]);
    pthread_mutex_unlock(&cache.mu);
}

/* ------------------------------------------------------------- lookup */

/* One getaddrinfo call; owned by the executor job once submitted. */
struct gai {
    char host[HOST_MAX];
    struct addrinfo hints;
    struct addrinfo *res;
    int rc;
};

static void *gai_run(void *arg)
{
    struct gai *g = arg;

    g->rc = cio__resolve_gai(g->host, NULL, &g->hints, &g->res);
    if (g->rc != 0)
        g->res = NULL;
    return g;
}

/* The caller left (or the job never ran): free whatever the lookup got. */
static void gai_dispose(void *result, void *arg)
{
    struct gai *g = arg;

    (void)result;
    if (g->res != NULL)
        freeaddrinfo(g->res);
    cio__free(g);
}

static int map_gai_error(int rc)
{
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return CIO_ENOHOST;
    case EAI_MEMORY:
        return CIO_ENOMEM;
    default:
        return CIO_ERESOLVE; /* EAI_AGAIN, EAI_FAIL, EAI_SYSTEM ... */
    }
}

/* Copies the answer; consumes g. */
static int gai_collect(struct gai *g, struct cio__addr **out, size_t *n)
{
    struct addrinfo *ai;
    struct cio__addr *v;
    size_t cnt = 0;
    int rc = 0;

    if (g->rc != 0) {
        rc = map_gai_error(g->rc);
        goto out_g;
    }
    for (ai = g->res; ai != NULL; ai = ai->ai_next)
        cnt++;
    v = cio__calloc(cnt ? cnt : 1, sizeof(*v));
    if (v == NULL) {
        rc = CIO_ENOMEM;
        goto out_g;
    }
    cnt = 0;
    for (ai = g->res; ai != NULL; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(v[cnt].ss))
            continue;
        memcpy(&v[cnt].ss, ai->ai_addr, ai->ai_addrlen);
        v[cnt].len = ai->ai_addrlen;
        cnt++;
    }
    if (cnt == 0) {
        cio__free(v);
        rc = CIO_ENOHOST;
        goto out_g;
    }
    *out = v;
    *n = cnt;
out_g:
    gai_dispose(NULL, g);
    return rc;
}

static int lookup(const char *host, unsigned flags, struct cio__addr **out,
                  size_t *n, cio_time deadline)
{
    struct gai *g = cio__calloc(1, sizeof(*g));
    void *res;
    int rc;

    if (g == NULL)
        return CIO_ENOMEM;
    snprintf(g->host, sizeof(g->host), "%s", host);
    g->hints.ai_family = (flags & CIO__RESOLVE_V4)   ? AF_INET
                         : (flags & CIO__RESOLVE_V6) ? AF_INET6
                                                     : AF_UNSPEC;
    g->hints.ai_socktype = SOCK_STREAM;
    g->hints.ai_flags =
        AI_ADDRCONFIG | ((flags & CIO__RESOLVE_PASSIVE) ? AI_PASSIVE : 0);
    if (cio__current() == NULL) {
        gai_run(g);
    } else {
        struct cio_job job = {
            .fn = gai_run,
            .arg = g,
            .dispose = gai_dispose,
            .deadline = deadline == 0 ? 1 : deadline, /* 0 means none there */
        };
        rc = cio_blocking_job(&job, &res);
        if (rc < 0)
            return rc; /* gai_dispose owns g */
    }
    return gai_collect(g, out, n);
}

/* ------------------------------------------------------------- names */

/* host equals label or ends with "." label, ignoring case and one final dot
 * (RFC 6761 §6.3, §6.4: these names are answered without a lookup). */
static int special(const char *host, const char *label)
{
    size_t hl = strlen(host), ll = strlen(label);

    if (hl > 0 && host[hl - 1] == '.')
        hl--;
    if (hl < ll || strncasecmp(host + hl - ll, label, ll) != 0)
        return 0;
    return hl == ll || host[hl - ll - 1] == '.';
}

static int loopback(unsigned port, unsigned flags, struct cio__addr **out,
                    size_t *n)
{
    struct cio__addr *v = cio__calloc(2, sizeof(*v));
    size_t cnt = 0;

    if (v == NULL)
        return CIO_ENOMEM;
    if (!(flags & CIO__RESOLVE_V6))
        literal("127.0.0.1", port, CIO__RESOLVE_V4, &v[cnt++]);
    if (!(flags & CIO__RESOLVE_V4))
        literal("::1", port, CIO__RESOLVE_V6, &v[cnt++]);
    if (cnt == 0) {
        cio__free(v);
        return CIO_ENOHOST;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int cio__resolve(const char *host, unsigned port, unsigned flags,
                 struct cio__addr **out, size_t *n, cio_time deadline)
{
    char buf[HOST_MAX];
    size_t len = host != NULL ? strlen(host) : 0;
    unsigned key =
        flags & (CIO__RESOLVE_V4 | CIO__RESOLVE_V6 | CIO__RESOLVE_PASSIVE);
    struct cio__addr *v;
    int rc;

    if (len >= sizeof(buf))
        return CIO_ENOHOST;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
    } else if (len > 0) {
        memcpy(buf, host, len + 1);
    } else if (flags & CIO__RESOLVE_PASSIVE) {
        strcpy(buf, (flags & CIO__RESOLVE_V4) ? "0.0.0.0" : "::");
    } else {
        return CIO_ENOHOST;
    }
    v = cio__malloc(sizeof(*v));
    if (v == NULL)
        return CIO_ENOMEM;
    if (literal(buf, port, flags, v)) {
        *out = v;
        *n = 1;
        return 0;
    }
    cio__free(v);
    if (special(buf, "invalid"))
        return CIO_ENOHOST;
    if (special(buf, "localhost"))
        return loopback(port, flags, out, n);

    rc = cache_get(buf, key, port, out, n);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    rc = lookup(buf, key, &v, n, deadline);
    if (rc < 0)
        return rc;
    cache_put(buf, key, v, *n);
    set_port(v, *n, port);
    *out = v;
    return 0;
}
