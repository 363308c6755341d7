/* SPDX-License-Identifier: MIT */
/*
 * The request loop around cio__client_attempt(): redirects (with
 * history), transport and status retries (backoff, Retry-After, budget),
 * authentication (Basic, Bearer, URL userinfo, Digest challenge-response)
 * and the proxy chosen for each hop. The decisions themselves live in
 * redirect.c, retry.c, auth.c and proxy.c; this file only applies them.
 *
 * Each cio_send works on a copy of the prepared request (its own headers
 * and URL), so a prepared request can be sent again unchanged, and what a
 * redirect strips never leaks back into it.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "client/auth.h"
#include "client/client_int.h"
#include "client/policy.h"
#include "client/proxy.h"
#include "client/redirect.h"
#include "client/retry.h"

#define MAX_CHALLENGES 8

/* The Digest nonce cache: the last challenge answered per origin, realm
 * and user, so later requests answer it at once with nc counted up (one
 * round trip instead of two). Bounded: the least recently used goes. */
#define DIGEST_CACHE_MAX 32

struct dcache {
    struct cio__list node; /* c->digests, most recent first */
    char *origin, *user;
    struct cio__digest dg; /* nc: the last one sent */
};

struct work {
    struct cio__send *st;
    const struct cio_request_info *orig;
    struct cio_request_info w; /* what the attempts send */
    bool url_borrowed;         /* w.url is orig's (not freed here) */
    bool auth_set;             /* w.headers has our Authorization */
    bool proxy_auth_set;       /* ... our Proxy-Authorization */
    struct cio__digest dg;
    bool digest_on;         /* answer with dg on every attempt */
    bool digest_cached;     /* dg came from the cache, unconfirmed */
    unsigned digest_rounds; /* challenges answered on this hop */
    cio_url *proxy;
    char *proxy_auth;
    /* The application's Proxy-Authorization, taken out of w.headers for a
     * tunnel: kept for every CONNECT of the request while it stays on its
     * origin (a retry or a same-origin redirect may need a new tunnel). */
    char *app_proxy_auth;
    char *abs_target;
    size_t nhist, caphist;
    int *hist_status;
    char **hist_url;
};

static bool replayable(const struct cio_request_info *q)
{
    return q->body_kind != CIO__BODY_FN;
}

static int rewind_body(const struct cio_request_info *q)
{
    if (q->body_kind != CIO__BODY_MULTIPART)
        return 0;
    int rc = cio_multipart_rewind(q->multipart);
    return rc == CIO_ENOTSUP ? 0 : rc;
}

/* ------------------------------------------------------------ auth */

static void dcache_free(struct dcache *e)
{
    cio__list_remove(&e->node);
    cio__free(e->origin);
    cio__free(e->user);
    cio__digest_fini(&e->dg);
    cio__free(e);
}

void cio__policy_fini(cio_client *c)
{
    struct cio__list *n;
    while ((n = c->digests.next) != &c->digests)
        dcache_free(CIO_CONTAINER_OF(n, struct dcache, node));
    c->ndigests = 0;
}

static int digest_dup(struct cio__digest *dst, const struct cio__digest *src)
{
    *dst = *src;
    dst->realm = cio__strdup(src->realm);
    dst->nonce = cio__strdup(src->nonce);
    dst->opaque = src->opaque != NULL ? cio__strdup(src->opaque) : NULL;
    if (dst->realm == NULL || dst->nonce == NULL ||
        (src->opaque != NULL && dst->opaque == NULL)) {
        cio__digest_fini(dst);
        return CIO_ENOMEM;
    }
    return 0;
}

/* The entry of origin and user (any realm: the most recent), or NULL. */
static struct dcache *dcache_find(cio_client *c, struct cio_str origin,
                                  const char *user, const char *realm)
{
    cio__list_each(it, &c->digests)
    {
        struct dcache *e = CIO_CONTAINER_OF(it, struct dcache, node);
        if (strlen(e->origin) == origin.len &&
            memcmp(e->origin, origin.ptr, origin.len) == 0 &&
            strcmp(e->user, user) == 0 &&
            (realm == NULL || strcmp(e->dg.realm, realm) == 0))
            return e;
    }
    return NULL;
}

/* Remembers dg (just answered successfully) for origin and user. Best
 * effort: without memory there is simply no cache. */
static void dcache_store(cio_client *c, const cio_url *url, const char *user,
                         const struct cio__digest *dg)
{
    struct cio_str origin = cio_url_origin(url);
    struct dcache *e = dcache_find(c, origin, user, dg->realm);
    if (e != NULL) {
        if (strcmp(e->dg.nonce, dg->nonce) == 0) {
            if (dg->nc > e->dg.nc)
                e->dg.nc = dg->nc; /* a sibling may have counted further */
        } else {
            struct cio__digest d;
            if (digest_dup(&d, dg) < 0)
                return;
            cio__digest_fini(&e->dg);
            e->dg = d;
        }
        cio__list_remove(&e->node);
        cio__list_push_front(&c->digests, &e->node);
        return;
    }
    if (c->ndigests >= DIGEST_CACHE_MAX) {
        dcache_free(CIO_CONTAINER_OF(c->digests.prev, struct dcache, node));
        c->ndigests--;
    }
    e = cio__calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    e->origin = cio__malloc(origin.len + 1);
    e->user = cio__strdup(user);
    if (e->origin == NULL || e->user == NULL || digest_dup(&e->dg, dg) < 0) {
        cio__free(e->origin);
        cio__free(e->user);
        cio__free(e);
        return;
    }
    memcpy(e->origin, origin.ptr, origin.len);
    e->origin[origin.len] = '\0';
    e->dg.stale = false;
    cio__list_push_front(&c->digests, &e->node);
    c->ndigests++;
}

/* Drops the entry dg was taken from (its nonce was refused). */
static void dcache_drop(cio_client *c, const cio_url *url, const char *user,
                        const struct cio__digest *dg)
{
    struct dcache *e = dcache_find(c, cio_url_origin(url), user, dg->realm);
    if (e != NULL && strcmp(e->dg.nonce, dg->nonce) == 0) {
        dcache_free(e);
        c->ndigests--;
    }
}

/* Before the first attempt of a hop with Digest credentials: answer the
 * origin's last challenge at once. */
static void dcache_take(struct work *k)
{
    const struct cio_request_info *o = k->orig;
    cio_client *c = k->st->c;
    if (k->digest_on || o->auth_digest_user == NULL ||
        !cio_url_same_origin(o->url, k->w.url) || !replayable(&k->w))
        return;
    struct dcache *e =
        dcache_find(c, cio_url_origin(k->w.url), o->auth_digest_user, NULL);
    if (e == NULL)
        return;
    cio__digest_fini(&k->dg);
    if (digest_dup(&k->dg, &e->dg) < 0)
        return;
    /* Counted in the cache now: concurrent requests on the same nonce
     * never send the same nc (a replay to the server). */
    e->dg.nc++;
    k->dg.nc = e->dg.nc - 1; /* the answer below increments it */
    k->digest_on = true;
    k->digest_cached = true;
}

/* Frees a copy of credentials (NULL ok), wiped first. */
static void free_secret(char *s)
{
    if (s != NULL) {
        OPENSSL_cleanse(s, strlen(s));
        cio__free(s);
    }
}

static int set_header(cio_headers *h, const char *name, char *value, bool *flag)
{
    int rc = cio_headers_set(h, name, value);
    OPENSSL_cleanse(value, strlen(value)); /* credentials */
    cio__free(value);
    if (rc == 0)
        *flag = true;
    return rc;
}

/* Puts the Authorization of this attempt into w.headers. Credentials given
 * for the request belong to its first origin: they are not sent after a
 * redirect leaves it (RELIABILITY D.38-D.40). */
static int apply_auth(struct work *k)
{
    struct cio_request_info *w = &k->w;
    const struct cio_request_info *o = k->orig;
    if (k->auth_set) {
        cio_headers_remove(w->headers, "Authorization");
        k->auth_set = false;
    }
    if (cio_headers_get(w->headers, "Authorization") != NULL)
        return 0; /* the application's own, still on its origin */
    bool home = cio_url_same_origin(o->url, w->url);
    char *v = NULL;
    int rc = 0;
    if (home && k->digest_on) {
        struct cio_str t = cio_url_target(w->url);
        size_t blen = 0;
        const void *body = w->body_kind == CIO__BODY_MEM ? w->body : NULL;
        if (body != NULL)
            blen = w->body_len;
        rc = cio__digest_authorization(&k->dg, o->auth_digest_user,
                                       o->auth_digest_pass, w->method, t.ptr,
                                       body, blen, NULL, &v);
    } else if (home && o->auth_basic_user != NULL) {
        rc = cio__auth_basic(&v, o->auth_basic_user, o->auth_basic_pass);
    } else if (home && o->auth_bearer != NULL) {
        rc = cio__auth_bearer(&v, o->auth_bearer);
    } else if (cio_url_has_userinfo(w->url) ||
               (home && cio_url_has_userinfo(o->url))) {
        /* The URL's own "user:pass@" (httpx and curl do the same); those
         * of the first URL on any hop back to its origin, however the
         * Location spelled it. */
        const cio_url *cu = cio_url_has_userinfo(w->url) ? w->url : o->url;
        struct cio_str u = cio_url_username(cu), p = cio_url_password(cu);
        if (strlen(u.ptr) != u.len || strlen(p.ptr) != p.len)
            return cio__err(CIO_EINVAL, "NUL byte in the URL's credentials");
        rc = cio__auth_basic(&v, u.ptr, p.ptr);
    }
    if (rc < 0 || v == NULL)
        return rc;
    if ((rc = cio__info_own_headers(w)) < 0) {
        OPENSSL_cleanse(v, strlen(v));
        cio__free(v);
        return rc;
    }
    return set_header(w->headers, "Authorization", v, &k->auth_set);
}

/* A 401 with a Digest challenge, for a request with Digest credentials:
 * takes the challenge so the next attempt answers it. Returns 1 to retry,
 * 0 to return the 401 as it is. */
static int take_digest(struct work *k, cio_response *r)
{
    const struct cio_request_info *o = k->orig;
    if (r->status != 401 || o->auth_digest_user == NULL ||
        !cio_url_same_origin(o->url, k->w.url) || !replayable(&k->w))
        return 0;
    struct cio__auth_challenge ch[MAX_CHALLENGES];
    size_t n = 0, pos = 0;
    const char *vals[MAX_CHALLENGES];
    size_t nv = 0;
    for (const char *v = cio_headers_next(r->headers, "WWW-Authenticate", &pos);
         v != NULL && nv < MAX_CHALLENGES;
         v = cio_headers_next(r->headers, "WWW-Authenticate", &pos))
        vals[nv++] = v;
    /* Each field line is parsed on its own into one scratch area. */
    size_t total = 0;
    for (size_t i = 0; i < nv; i++)
        total += strlen(vals[i]) + 1;
    char *scratch = cio__malloc(total + 1);
    if (scratch == NULL)
        return 0;
    size_t off = 0;
    for (size_t i = 0; i < nv && n < MAX_CHALLENGES; i++) {
        size_t len = strlen(vals[i]), got = 0;
        if (cio__auth_parse(vals[i], len, ch + n, MAX_CHALLENGES - n, &got,
                            scratch + off, len + 1) == 0) {
            n += got;
            off += len + 1;
        }
    }
    struct cio__digest d = {0};
    int ok = n > 0 && cio__digest_init(&d, ch, n) == 0;
    cio__free(scratch);
    if (!ok)
        return 0;
    if (k->digest_cached) {
        /* The cached nonce was refused (stale=true when it expired; a
         * plain challenge when the realm, algorithm or user differ):
         * forget it and answer the new challenge once, as a first one. */
        dcache_drop(k->st->c, k->w.url, o->auth_digest_user, &k->dg);
        k->digest_cached = false;
        k->digest_rounds = 0;
    }
    /* A second challenge on the same hop means the credentials were
     * refused, unless the server says only the nonce was stale. */
    else if (k->digest_rounds >= 2 || (k->digest_rounds == 1 && !d.stale)) {
        cio__digest_fini(&d);
        return 0;
    }
    cio__digest_fini(&k->dg);
    k->dg = d;
    k->digest_on = true;
    k->digest_rounds++;
    return 1;
}

/* ------------------------------------------------------------ proxy */

static int apply_proxy(struct work *k)
{
    struct cio__send *st = k->st;
    struct cio_request_info *w = &k->w;
    cio_url_free(k->proxy);
    k->proxy = NULL;
    cio__free(k->proxy_auth);
    k->proxy_auth = NULL;
    cio__free(k->abs_target);
    k->abs_target = NULL;
    st->proxy = NULL;
    st->proxy_auth = NULL;
    st->absolute_form = false;
    if (k->proxy_auth_set) {
        cio_headers_remove(w->headers, "Proxy-Authorization");
        k->proxy_auth_set = false;
    }
    if (st->c->mock != NULL || st->c->connect != NULL)
        return 0; /* no network: no proxy */
    int rc = cio__proxy_select(&k->proxy, w->url, st->c->proxy,
                               st->c->trust_env ? &st->c->env : NULL);
    if (rc < 0 || k->proxy == NULL)
        return rc;
    st->proxy = k->proxy;
    int kind = cio__proxy_kind(k->proxy);
    if (kind == CIO__PROXY_SOCKS5 || kind == CIO__PROXY_SOCKS5H) {
        /* A tunnel for every target, credentials in the handshake. An
         * application's Proxy-Authorization is for a proxy, which a
         * SOCKS5 one cannot take: it must not reach the origin through
         * the tunnel (as with CONNECT). */
        if (cio_headers_get(w->headers, "Proxy-Authorization") != NULL) {
            if ((rc = cio__info_own_headers(w)) < 0)
                return rc;
            cio_headers_remove(w->headers, "Proxy-Authorization");
        }
        return 0;
    }
    if ((rc = cio__proxy_auth(&k->proxy_auth, k->proxy)) < 0)
        return rc;
    if (cio_url_is_secure(w->url)) {
        /* A tunnel: the proxy's credentials go in the CONNECT request
         * only, never to the origin through the tunnel. */
        const char *app = cio_headers_get(w->headers, "Proxy-Authorization");
        if (app != NULL) {
            char *v = cio__strdup(app);
            if (v == NULL)
                return CIO_ENOMEM;
            free_secret(k->app_proxy_auth);
            k->app_proxy_auth = v;
            if ((rc = cio__info_own_headers(w)) < 0)
                return rc;
            cio_headers_remove(w->headers, "Proxy-Authorization");
        }
        if (k->proxy_auth == NULL && k->app_proxy_auth != NULL &&
            (k->proxy_auth = cio__strdup(k->app_proxy_auth)) == NULL)
            return CIO_ENOMEM;
        st->proxy_auth = k->proxy_auth;
        return 0;
    }
    /* Absolute-form (RFC 9112 §3.2.2), without userinfo or fragment. */
    ptrdiff_t n = cio_url_format(
        w->url, NULL, 0, CIO_URL_FMT_NO_USERINFO | CIO_URL_FMT_NO_FRAGMENT);
    if (n < 0)
        return (int)n;
    if ((k->abs_target = cio__malloc((size_t)n + 1)) == NULL)
        return CIO_ENOMEM;
    cio_url_format(w->url, k->abs_target, (size_t)n + 1,
                   CIO_URL_FMT_NO_USERINFO | CIO_URL_FMT_NO_FRAGMENT);
    st->abs_target = (struct cio_str){k->abs_target, (size_t)n};
    st->absolute_form = true;
    if (k->proxy_auth != NULL) {
        if ((rc = cio__info_own_headers(w)) < 0)
            return rc;
        char *v = cio__strdup(k->proxy_auth);
        if (v == NULL)
            return CIO_ENOMEM;
        return set_header(w->headers, "Proxy-Authorization", v,
                          &k->proxy_auth_set);
    }
    return 0;
}

/* ------------------------------------------------------------ retries */

/* Sleeps ms unless that would pass the total deadline (then 1). */
static int pause_ms(struct cio__send *st, uint32_t ms)
{
    cio_time until = cio_after(ms);
    if (st->total_deadline != CIO_NEVER && until >= st->total_deadline)
        return 1;
    if (ms == 0)
        return 0;
    int rc = cio_sleep(until);
    return rc == CIO_ETIMEDOUT ? 0 : rc;
}

static bool in_connect(int phase)
{
    return phase == CIO_PHASE_RESOLVE || phase == CIO_PHASE_CONNECT ||
           phase == CIO_PHASE_TLS;
}

/* One hop: the attempt, with its transport and status retries and the
 * Digest round trip. */
static int hop(struct work *k, cio_response **out)
{
    struct cio__send *st = k->st;
    cio_client *c = st->c;
    uint32_t tries = 0, sretries = 0;
    k->digest_rounds = 0;
    dcache_take(k);
    for (;;) {
        int rc;
        if ((rc = apply_proxy(k)) < 0 || (rc = apply_auth(k)) < 0)
            return rc;
        cio_response *r;
        st->cur_phase = 0;
        rc = cio__client_attempt(st, &r);
        if (rc < 0) {
            if (!cio__retry_transport(rc, in_connect(st->cur_phase), tries,
                                      c->retries))
                return rc;
            int saved = rc;
            char msg[256];
            snprintf(msg, sizeof(msg), "%s", cio_last_error());
            rc = pause_ms(st, cio__retry_transport_delay(tries));
            if (rc != 0)
                return rc < 0 ? rc : cio__err(saved, "%s", msg);
            if ((rc = rewind_body(&k->w)) < 0)
                return rc;
            tries++;
            c->nretries++;
            continue;
        }
        if (take_digest(k, r)) {
            cio_response_free(r);
            if ((rc = rewind_body(&k->w)) < 0)
                return rc;
            continue;
        }
        if (k->digest_on && r->status != 401 &&
            cio_url_same_origin(k->orig->url, k->w.url)) {
            /* Accepted: later requests answer this challenge at once. */
            dcache_store(c, k->w.url, k->orig->auth_digest_user, &k->dg);
            k->digest_cached = false;
        }
        uint32_t delay;
        if (replayable(&k->w) &&
            cio__retry_status(&c->retry, &c->budget, k->w.method, r->status,
                              sretries, cio_response_header(r, "Retry-After"),
                              time(NULL), cio__retry_rand(), &delay)) {
            rc = pause_ms(st, delay);
            if (rc == 1) {
                *out = r; /* no time left: the last answer stands */
                return 0;
            }
            cio_response_free(r);
            if (rc < 0)
                return rc;
            if ((rc = rewind_body(&k->w)) < 0)
                return rc;
            sretries++;
            c->nretries++;
            continue;
        }
        *out = r;
        return 0;
    }
}

/* ------------------------------------------------------------ redirects */

static int add_history(struct work *k, int status)
{
    if (k->nhist == k->caphist) {
        size_t cap = k->caphist ? 2 * k->caphist : 4;
        int *s = cio__realloc(k->hist_status, cap * sizeof(*s));
        if (s == NULL)
            return CIO_ENOMEM;
        k->hist_status = s;
        char **u = cio__realloc(k->hist_url, cap * sizeof(*u));
        if (u == NULL)
            return CIO_ENOMEM;
        k->hist_url = u;
        k->caphist = cap;
    }
    ptrdiff_t n = cio_url_format(k->w.url, NULL, 0, CIO_URL_FMT_NO_USERINFO);
    if (n < 0)
        return (int)n;
    char *href = cio__malloc((size_t)n + 1);
    if (href == NULL)
        return CIO_ENOMEM;
    cio_url_format(k->w.url, href, (size_t)n + 1, CIO_URL_FMT_NO_USERINFO);
    k->hist_status[k->nhist] = status;
    k->hist_url[k->nhist] = href;
    k->nhist++;
    return 0;
}

/* Turns w into the request for the next hop. */
static int follow(struct work *k, cio_response *r, uint32_t *hops)
{
    struct cio_request_info *w = &k->w;
    const char *loc = cio_response_header(r, "Location");
    cio_client *c = k->st->c;
    if (*hops >= c->max_redirects)
        return cio__redirect_limit(c->max_redirects);
    bool has_body = w->body_kind != CIO__BODY_NONE;
    struct cio__redirect rd;
    int rc = cio__redirect_next(&rd, w->method, r->status, w->url, loc,
                                strlen(loc), has_body, replayable(w));
    if (rc < 0)
        return rc;
    if ((rc = add_history(k, r->status)) < 0) {
        cio_url_free(rd.url);
        return rc;
    }
    if (!k->url_borrowed)
        cio_url_free(w->url);
    k->url_borrowed = false;
    w->url = rd.url;
    if (rd.method != w->method) {
        w->method = (char *)rd.method; /* static "GET": never freed here */
        w->mid = CIO__H1_M_GET;
    }
    if (rd.drop_body) {
        w->body_kind = CIO__BODY_NONE;
        w->body = NULL;
        w->body_len = 0;
        w->body_fn = NULL;
        w->multipart = NULL;
        w->expect_continue = false;
    } else if ((rc = rewind_body(w)) < 0) {
        return rc;
    }
    if ((rc = cio__info_own_headers(w)) < 0)
        return rc;
    cio__redirect_strip(w->headers, &rd);
    if (rd.cross_origin) {
        w->cookies = NULL; /* the request's explicit cookies stay home */
        k->auth_set = false;
        k->proxy_auth_set = false;
        free_secret(k->app_proxy_auth); /* stripped with the headers */
        k->app_proxy_auth = NULL;
        k->digest_on = false;
        k->digest_cached = false;
    }
    (*hops)++;
    return 0;
}

int cio__policy_send(struct cio__send *st, cio_response **out)
{
    cio_client *c = st->c;
    const struct cio_request_info *q = st->req;
    struct work k = {.st = st, .orig = q, .w = *q};
    int rc;

    if (c->budget.ratio == 0)
        cio__retry_budget_init(&c->budget, c->retry.budget_ratio);
    cio__retry_budget_deposit(&c->budget);

    if (st->borrow_req) {
        /* A one-shot request (not a prepared one): its headers are ours
         * to change, and its URL is replaced, never changed, by a
         * redirect. No copies. */
        k.url_borrowed = true;
    } else {
        k.w.headers = NULL;
        k.w.url = NULL;
        k.w.headers_shared = false;
        if ((rc = cio_headers_clone(&k.w.headers, q->headers)) < 0)
            return rc;
        /* Framing is ours (see prepare): the caller may have added
         * Content-Length or Transfer-Encoding through
         * cio_prepared_headers, and one beside ours is smuggling. */
        cio_headers_remove(k.w.headers, "Content-Length");
        cio_headers_remove(k.w.headers, "Transfer-Encoding");
        if ((rc = cio_url_dup(&k.w.url, q->url)) < 0)
            goto done;
    }
    st->req = &k.w;

    uint32_t hops = 0;
    cio_response *r = NULL;
    for (;;) {
        if ((rc = hop(&k, &r)) < 0)
            break;
        if (!k.w.follow_redirects || !cio__redirect_status(r->status) ||
            cio_response_header(r, "Location") == NULL)
            break;
        rc = follow(&k, r, &hops);
        cio_response_free(r);
        r = NULL;
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        r->nhist = k.nhist;
        r->hist_status = k.hist_status;
        r->hist_url = k.hist_url;
        k.nhist = 0;
        k.hist_status = NULL;
        k.hist_url = NULL;
        *out = r;
    }
done:
    st->req = (struct cio_request_info *)q;
    st->proxy = NULL;
    st->proxy_auth = NULL;
    st->absolute_form = false;
    for (size_t i = 0; i < k.nhist; i++)
        cio__free(k.hist_url[i]);
    cio__free(k.hist_url);
    cio__free(k.hist_status);
    cio__digest_fini(&k.dg);
    cio_url_free(k.proxy);
    cio__free(k.proxy_auth);
    free_secret(k.app_proxy_auth);
    cio__free(k.abs_target);
    if (!k.url_borrowed)
        cio_url_free(k.w.url);
    /* Ours: the copy of a prepared request's map, or a one-shot request's
     * shared defaults copied on a change (its own map is freed with it). */
    if (k.w.headers != q->headers && !k.w.headers_shared)
        cio_headers_free(k.w.headers);
    return rc;
}
