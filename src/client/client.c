/* SPDX-License-Identifier: MIT */
/*
 * The client object, request preparation, the request loop and one
 * attempt (pool → connect → exchange), the blocking cio_fetch and the mock
 * transport. Response bodies are in response.c, the HTTP/1.1 exchange in
 * h1.c, the pool in pool.c.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if CIO_HAVE_JANSSON
#include <jansson.h>
#endif

#include <corio/version.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "client/client_int.h"
#include "client/policy.h"
#include "client/proxy.h"
#include "client/socks.h"
#include "http/coding.h"
#include "net/resolve.h"

/* ------------------------------------------------------------ helpers */

double cio__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void cio__phase(struct cio__send *st, int phase)
{
    /* A phase event ends the phase before it: its timing is now. */
    double t = cio__mono_ms() - st->t0;
    if (t <= 0)
        t = 1e-6; /* 0 means "not reached" */
    double *end[] = {
        [CIO_PHASE_POOL_WAIT] = &st->tm.pool_wait,
        [CIO_PHASE_RESOLVE] = &st->tm.resolve,
        [CIO_PHASE_CONNECT] = &st->tm.connect,
        [CIO_PHASE_TLS] = &st->tm.tls,
        [CIO_PHASE_WRITE] = &st->tm.request_sent,
        [CIO_PHASE_FIRST_BYTE] = &st->tm.first_byte,
        [CIO_PHASE_BODY] = &st->tm.body_done,
    };
    if (st->cur_phase > 0 && st->cur_phase < (int)CIO_COUNTOF(end) &&
        end[st->cur_phase] != NULL)
        *end[st->cur_phase] = t;
    st->cur_phase = phase;
    cio_client *c = st->c;
    if (c->hooks.on_phase != NULL)
        c->hooks.on_phase(st->req, phase, c->hooks.ud);
}

/* Prefixes the current cio_last_error() text (it cannot be formatted into
 * itself). */
static int prefix_err(int rc, const char *fmt, const char *a, unsigned b)
{
    char msg[256], pre[200];
    snprintf(msg, sizeof(msg), "%s", cio_last_error());
    snprintf(pre, sizeof(pre), fmt, a, b);
    return cio__err(rc, "%s%s", pre, msg);
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? cio__strdup(s) : NULL;
}

static bool dup_failed(const char *src, const char *copy)
{
    return src != NULL && copy == NULL;
}

static void kv_free(struct cio_kv *kv)
{
    if (kv == NULL)
        return;
    for (struct cio_kv *p = kv; p->name != NULL; p++) {
        cio__free((void *)p->name);
        cio__free((void *)p->value);
    }
    cio__free(kv);
}

static int kv_dup(const struct cio_kv *src, struct cio_kv **out)
{
    *out = NULL;
    if (src == NULL || src->name == NULL)
        return 0;
    size_t n = 0;
    while (src[n].name != NULL)
        n++;
    struct cio_kv *kv = cio__calloc(n + 1, sizeof(*kv));
    if (kv == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        kv[i].name = cio__strdup(src[i].name);
        kv[i].value = dup_or_null(src[i].value);
        if (kv[i].name == NULL || dup_failed(src[i].value, kv[i].value)) {
            cio__free((void *)kv[i].name);
            kv[i].name = NULL;
            kv_free(kv);
            return CIO_ENOMEM;
        }
    }
    *out = kv;
    return 0;
}

/* "a=1; b=2" from pairs; names must be tokens, values free of ';' and
 * controls (they become one header line). */
static int cookie_string(const struct cio_kv *kv, char **out)
{
    *out = NULL;
    if (kv == NULL || kv->name == NULL)
        return 0;
    struct cio__buf b;
    cio__buf_init(&b, 8192);
    int rc = 0;
    for (const struct cio_kv *p = kv; p->name != NULL; p++) {
        const char *v = p->value != NULL ? p->value : "";
        if (!cio_is_token(cio_str_c(p->name)))
            rc = cio__err(CIO_EHEADER, "cookie name \"%.40s\" is not a token",
                          p->name);
        for (const char *s = v; rc == 0 && *s; s++)
            if ((unsigned char)*s < 0x21 || *s == ';' || *s == 0x7f ||
                *s == '"' || *s == ',' || *s == '\\')
                rc = cio__err(CIO_EHEADER,
                              "value of cookie \"%.40s\" has a "
                              "byte not allowed in a cookie",
                              p->name);
        if (rc == 0)
            rc = cio__buf_printf(&b, "%s%s=%s", b.len ? "; " : "", p->name, v);
        if (rc < 0)
            break;
    }
    if (rc == 0 && b.len > 0) {
        rc = cio__buf_append(&b, "", 1);
        if (rc == 0) {
            *out = b.base;
            return 0;
        }
    }
    cio__buf_fini(&b);
    return rc;
}

static uint32_t dflt(uint32_t v, uint32_t d)
{
    return v != 0 ? v : d;
}

/* ------------------------------------------------------------ client */

/*
 * Pool defaults (docs/client.md): the total is derived from the process's
 * descriptor limit, so one client never starves the rest of the program;
 * per host it is 1024 (bounded by the total), so 1,000 concurrent requests
 * to one host run at once instead of in waves of 100 (aiohttp's and
 * httpx's default totals).
 */
static void pool_defaults(struct cio_pool_limits *l)
{
    struct rlimit rl;
    uint64_t soft = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        soft = rl.rlim_cur;
    else if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        soft = 1u << 20;
    uint64_t total = soft * 3 / 4;
    if (total < 64)
        total = 64;
    if (total > 65536)
        total = 65536;
    if (l->max_conns == 0)
        l->max_conns = (uint32_t)total;
    if (l->max_conns_per_host == 0)
        l->max_conns_per_host = l->max_conns < 1024 ? l->max_conns : 1024;
    if (l->max_conns_per_host > l->max_conns)
        l->max_conns_per_host = l->max_conns;
    if (l->max_idle_per_host == 0)
        l->max_idle_per_host = l->max_conns_per_host;
    l->keepalive_ms = dflt(l->keepalive_ms, 60000);
}

static void timeouts_fill(struct cio_timeouts *t, const struct cio_timeouts *o)
{
    t->connect_ms = dflt(o->connect_ms, 10000);
    t->read_ms = dflt(o->read_ms, 30000);
    t->write_ms = dflt(o->write_ms, 30000);
    t->pool_ms = dflt(o->pool_ms, 30000);
    t->total_ms = o->total_ms; /* 0 = none */
}

static int read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    char *buf = NULL;
    if (fstat(fd, &st) < 0 || st.st_size > (32 << 20)) {
        rc = cio__err(CIO_ETOOBIG, "cookie file %s too large", path);
        goto close_fd;
    }
    buf = cio__malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rc = CIO_ENOMEM;
        goto close_fd;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    *out = buf;
    *len = got;
close_fd:
    close(fd);
    return rc;
}

static int client_init(cio_client *c, const struct cio_client_opts *o)
{
    int rc;
    if (o->base_url != NULL) {
        rc = cio_url_parse(&c->base, o->base_url, strlen(o->base_url), NULL);
        if (rc < 0)
            return prefix_err(rc, "base_url: %s", "", 0);
    }
    rc = cio_headers_new(&c->headers, NULL);
    if (rc < 0)
        return rc;
    const char *ua =
        o->user_agent != NULL ? o->user_agent : "corio/" CIO_VERSION_STRING;
    if (*ua != '\0' && (rc = cio_headers_set(c->headers, "User-Agent", ua)) < 0)
        return rc;
    if ((rc = cio_headers_set(c->headers, "Accept", "*/*")) < 0)
        return rc;
    if (!o->no_decode) {
        char ae[64] = "";
        static const enum cio__coding order[] = {
            CIO__CODING_GZIP, CIO__CODING_DEFLATE, CIO__CODING_BR,
            CIO__CODING_ZSTD};
        for (size_t i = 0; i < CIO_COUNTOF(order); i++)
            if (cio__coding_can_decode(order[i])) {
                if (ae[0])
                    strcat(ae, ", ");
                strcat(ae, cio__coding_name(order[i]));
            }
        if ((rc = cio_headers_set(c->headers, "Accept-Encoding", ae)) < 0)
            return rc;
    }
    for (const struct cio_kv *h = o->headers; h != NULL && h->name != NULL; h++)
        if ((rc = cio_headers_set(c->headers, h->name,
                                  h->value != NULL ? h->value : "")) < 0)
            return prefix_err(rc, "headers: %s", "", 0);
    /* Framing is the request's (see prepare): never a default. */
    cio_headers_remove(c->headers, "Content-Length");
    cio_headers_remove(c->headers, "Transfer-Encoding");
    if ((rc = kv_dup(o->params, &c->params)) < 0)
        return rc;
    timeouts_fill(&c->to, &o->timeouts);
    c->limits = o->limits;
    pool_defaults(&c->limits);
    c->tls = o->tls;
    c->tls.ca_file = dup_or_null(o->tls.ca_file);
    c->tls.cert_file = dup_or_null(o->tls.cert_file);
    c->tls.key_file = dup_or_null(o->tls.key_file);
    c->proxy = dup_or_null(o->proxy);
    c->cookie_file = dup_or_null(o->cookie_file);
    if (dup_failed(o->tls.ca_file, c->tls.ca_file) ||
        dup_failed(o->tls.cert_file, c->tls.cert_file) ||
        dup_failed(o->tls.key_file, c->tls.key_file) ||
        dup_failed(o->proxy, c->proxy) ||
        dup_failed(o->cookie_file, c->cookie_file))
        return CIO_ENOMEM;
    if ((o->tls.cert_file == NULL) != (o->tls.key_file == NULL))
        return cio__err(CIO_EINVAL, "tls: cert_file and key_file go together");
    c->trust_env = !o->no_trust_env;
    if (c->trust_env && o->proxy == NULL &&
        cio__proxy_env_load(&c->env, NULL) < 0)
        return CIO_ENOMEM;
    c->follow_redirects = !o->no_follow_redirects;
    c->max_redirects = dflt(o->max_redirects, 20);
    c->retries = o->retries;
    c->retry = o->retry;
    c->retry.statuses = NULL;
    if (o->retry.statuses != NULL) {
        size_t n = 0;
        while (o->retry.statuses[n] != 0)
            n++;
        int *st = cio__calloc(n + 1, sizeof(int));
        if (st == NULL)
            return CIO_ENOMEM;
        memcpy(st, o->retry.statuses, n * sizeof(int));
        c->retry.statuses = st;
    }
    c->hooks = o->hooks;
    c->no_decode = o->no_decode;
    c->max_body = o->max_body != 0 ? o->max_body : (64ull << 20);
    c->mock = o->mock;
    c->mock_ud = o->mock_ud;
    c->connect = o->connect;
    c->connect_ud = o->connect_ud;
    c->connect_tls = o->connect_tls;
    c->pool.max_conns = c->limits.max_conns;
    c->pool.max_per_host = c->limits.max_conns_per_host;
    c->pool.max_idle_per_host = c->limits.max_idle_per_host;
    c->pool.keepalive_ms = c->limits.keepalive_ms;
    /* Files named for TLS must exist now (errors at creation, not at the
     * first https request); the context itself is made on first use, so a
     * plain-http client never loads the CA store (~10 ms). */
    const char *files[] = {c->tls.ca_file, c->tls.cert_file, c->tls.key_file};
    for (size_t i = 0; i < CIO_COUNTOF(files); i++)
        if (files[i] != NULL && access(files[i], R_OK) != 0)
            return cio__err(CIO_ETLS, "tls: cannot read %s", files[i]);
    if (!o->no_cookies) {
        if ((rc = cio_cookie_jar_new(&c->jar, NULL)) < 0)
            return rc;
        if (c->cookie_file != NULL) {
            char *buf = NULL;
            size_t len = 0;
            rc = read_file(c->cookie_file, &buf, &len);
            if (rc == 0) {
                rc = cio_cookie_jar_load(c->jar, buf, len, time(NULL), NULL);
                cio__free(buf);
                if (rc < 0)
                    return rc;
            } else if (rc != -ENOENT) {
                return cio__err(rc, "cookie_file %s: %s", c->cookie_file,
                                cio_strerror(rc));
            }
        }
    }
    if (o->cookies != NULL && o->cookies->name != NULL) {
        if (c->base != NULL && c->jar != NULL) {
            for (const struct cio_kv *k = o->cookies; k->name != NULL; k++) {
                char line[4200];
                int n = snprintf(line, sizeof(line), "%s=%s; Path=/", k->name,
                                 k->value != NULL ? k->value : "");
                if (n < 0 || (size_t)n >= sizeof(line))
                    return cio__err(CIO_ETOOBIG, "cookie %.40s too large",
                                    k->name);
                struct cio_cookie_req cr = {
                    .scheme = cio_url_scheme(c->base),
                    .host = cio_url_host(c->base),
                    .path = CIO_STR_LIT("/"),
                };
                rc = cio_cookie_jar_store(c->jar, line, (size_t)n, &cr,
                                          time(NULL));
                if (rc < 0)
                    return prefix_err(rc, "cookies: %s", "", 0);
            }
        } else if ((rc = cookie_string(o->cookies, &c->cookies_everywhere)) <
                   0) {
            return rc;
        }
    }
    return 0;
}

static void save_cookies(cio_client *c)
{
    if (c->jar == NULL || c->cookie_file == NULL)
        return;
    time_t now = time(NULL);
    ptrdiff_t need = cio_cookie_jar_save(c->jar, now, NULL, 0);
    if (need < 0)
        return;
    char *buf = cio__malloc((size_t)need + 1);
    if (buf == NULL)
        return;
    if (cio_cookie_jar_save(c->jar, now, buf, (size_t)need + 1) == need) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", c->cookie_file);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            ssize_t w = write(fd, buf, (size_t)need);
            close(fd);
            if (w == need)
                rename(tmp, c->cookie_file);
            else
                unlink(tmp);
        }
    }
    cio__free(buf);
}

int cio_client_new(cio_client **out, const struct cio_client_opts *opts)
{
    static const struct cio_client_opts none;
    if (out == NULL)
        return CIO_EINVAL;
    cio_client *c = cio__calloc(1, sizeof(*c));
    if (c == NULL)
        return CIO_ENOMEM;
    c->loop = cio_loop_current();
    /* Before anything can fail: cio_client_free walks these lists. */
    cio__list_init(&c->digests);
    cio__list_init(&c->responses);
    cio__pool_init(&c->pool);
    int rc = client_init(c, opts != NULL ? opts : &none);
    if (rc < 0) {
        c->cookie_file = NULL; /* do not write what was not loaded */
        cio_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cio_client_free(cio_client *c)
{
    if (c == NULL)
        return;
    save_cookies(c);
    struct cio__list *n;
    while ((n = cio__list_pop_front(&c->responses)) != NULL) {
        cio_response *r = CIO_CONTAINER_OF(n, cio_response, node);
#ifndef NDEBUG
        if (r->streaming)
            fprintf(stderr,
                    "corio: client freed with a streaming response "
                    "never freed (opened at %p, status %d, %s)\n",
                    r->opened_at, r->status,
                    r->url != NULL ? cio_url_href(r->url) : "?");
#endif
        r->c = NULL;
    }
    cio__pool_fini(&c->pool);
    cio__policy_fini(c);
    cio_url_free(c->base);
    cio__free(c->url_key);
    cio_url_free(c->url_parsed);
    cio_headers_free(c->headers);
    kv_free(c->params);
    cio__free(c->cookies_everywhere);
    cio__free((void *)c->tls.ca_file);
    cio__free((void *)c->tls.cert_file);
    cio__free((void *)c->tls.key_file);
    cio__free(c->proxy);
    cio__proxy_env_free(&c->env);
    cio__free(c->cookie_file);
    cio__free((void *)c->retry.statuses);
    cio_cookie_jar_free(c->jar);
    cio__free(c);
}

cio_cookie_jar *cio_client_cookies(cio_client *c)
{
    return c != NULL ? c->jar : NULL;
}

void cio_client_pool_stats(const cio_client *c, struct cio_pool_stats *out)
{
    cio__pool_stats(&c->pool, out);
}

/* ------------------------------------------------------------ prepare */

static void info_fini(struct cio_request_info *q)
{
    if (q->method != q->method_buf)
        cio__free(q->method);
    cio_url_free(q->url);
    if (!q->headers_shared)
        cio_headers_free(q->headers);
    cio__free(q->cookies);
    cio__free(q->body);
    cio__free(q->auth_basic_user);
    cio__free(q->auth_basic_pass);
    cio__free(q->auth_bearer);
    cio__free(q->auth_digest_user);
    cio__free(q->auth_digest_pass);
}

void cio_prepared_free(cio_prepared *p)
{
    if (p == NULL)
        return;
    info_fini(&p->info);
    cio__free(p);
}

static int set_default(cio_headers *h, const char *name, const char *value)
{
    if (cio_headers_get(h, name) != NULL)
        return 0;
    return cio_headers_set(h, name, value);
}

static int prepare_body(struct cio_request_info *q,
                        const struct cio_request *req)
{
    int kinds = (req->body != NULL || req->body_len > 0) + (req->json != NULL) +
                (req->json_value != NULL) + (req->form != NULL) +
                (req->multipart != NULL) + (req->body_fn != NULL);
    if (kinds > 1)
        return cio__err(CIO_EINVAL, "request: more than one body kind given");
    const char *ctype = req->content_type;
    int rc;
    if (req->body != NULL || req->body_len > 0) {
        if (req->body == NULL)
            return cio__err(CIO_EINVAL, "request: body_len without body");
        q->body = cio__malloc(req->body_len + 1);
        if (q->body == NULL)
            return CIO_ENOMEM;
        memcpy(q->body, req->body, req->body_len);
        q->body_len = req->body_len;
        q->body_kind = CIO__BODY_MEM;
    } else if (req->json != NULL) {
        q->body = cio__strdup(req->json);
        if (q->body == NULL)
            return CIO_ENOMEM;
        q->body_len = strlen(q->body);
        q->body_kind = CIO__BODY_MEM;
        ctype = "application/json";
    } else if (req->json_value != NULL) {
#if CIO_HAVE_JANSSON
        char *s = json_dumps((const json_t *)req->json_value,
                             JSON_COMPACT | JSON_ENCODE_ANY);
        if (s == NULL)
            return cio__err(CIO_EINVAL,
                            "request: json_value cannot be encoded");
        q->body = cio__strdup(s);
        free(s);
        if (q->body == NULL)
            return CIO_ENOMEM;
        q->body_len = strlen(q->body);
        q->body_kind = CIO__BODY_MEM;
        ctype = "application/json";
#else
        return cio__err(CIO_ENOTSUP, "request: built without jansson");
#endif
    } else if (req->form != NULL) {
        ptrdiff_t n = cio_form_encode(NULL, 0, req->form);
        if (n < 0)
            return (int)n;
        q->body = cio__malloc((size_t)n + 1);
        if (q->body == NULL)
            return CIO_ENOMEM;
        cio_form_encode(q->body, (size_t)n + 1, req->form);
        q->body_len = (size_t)n;
        q->body_kind = CIO__BODY_MEM;
        ctype = "application/x-www-form-urlencoded";
    } else if (req->multipart != NULL) {
        q->multipart = req->multipart;
        q->body_kind = CIO__BODY_MULTIPART;
        ctype = cio_multipart_content_type(req->multipart);
    } else if (req->body_fn != NULL) {
        q->body_fn = req->body_fn;
        q->body_ud = req->body_ud;
        q->body_fn_len = req->body_fn_len;
        q->body_kind = CIO__BODY_FN;
    }
    if (req->content_type != NULL && q->body_kind == CIO__BODY_NONE)
        return cio__err(CIO_EINVAL, "request: content_type without a body");
    if (ctype != NULL &&
        ((rc = cio__info_own_headers(q)) < 0 ||
         (rc = set_default(q->headers, "Content-Type", ctype)) < 0))
        return rc;
    return 0;
}

/* Best effort: without memory the cache is simply empty. */
static void url_remember(cio_client *c, const char *s, size_t len,
                         const cio_url *u)
{
    cio__free(c->url_key);
    cio_url_free(c->url_parsed);
    c->url_key = NULL;
    c->url_parsed = NULL;
    if (len > 2048)
        return;
    char *key = cio__malloc(len + 1);
    if (key == NULL)
        return;
    if (cio_url_dup(&c->url_parsed, u) < 0) {
        cio__free(key);
        return;
    }
    memcpy(key, s, len + 1);
    c->url_key = key;
}

static int prepare(cio_client *c, const struct cio_request *req,
                   struct cio_request_info *q)
{
    int rc;
    q->c = c;
    const char *m = req->method != NULL ? req->method : "GET";
    if (!cio_is_token(cio_str_c(m)))
        return cio__err(CIO_EINVAL, "method \"%.40s\" is not a token", m);
    size_t mlen = strlen(m);
    q->method =
        mlen < sizeof(q->method_buf) ? q->method_buf : cio__malloc(mlen + 1);
    if (q->method == NULL)
        return CIO_ENOMEM;
    memcpy(q->method, m, mlen + 1);
    q->mid = cio__h1_method(cio_str_c(m));
    if (req->url == NULL)
        return cio__err(CIO_EINVAL, "request: url is NULL");
    cio_url *u;
    bool cacheable = (c->params == NULL || c->params->name == NULL) &&
                     (req->params == NULL || req->params->name == NULL);
    if (cacheable && c->url_key != NULL && strcmp(c->url_key, req->url) == 0) {
        rc = cio_url_dup(&u, c->url_parsed); /* the same URL as last time */
    } else {
        size_t ulen = strlen(req->url);
        if (c->base != NULL)
            rc = cio_url_resolve(&u, c->base, req->url, ulen);
        else
            rc = cio_url_parse(&u, req->url, ulen, NULL);
        if (rc == 0 && cacheable)
            url_remember(c, req->url, ulen, u);
    }
    if (rc < 0)
        return rc;
    enum cio_url_scheme_id sid = cio_url_scheme_id(u);
    if (sid != CIO_SCHEME_HTTP && sid != CIO_SCHEME_HTTPS) {
        rc = cio__err(CIO_EURL,
                      "unsupported URL scheme \"%.*s\" (http and "
                      "https only)",
                      (int)cio_url_scheme(u).len, cio_url_scheme(u).ptr);
        cio_url_free(u);
        return rc;
    }
    const struct cio_kv *plists[2] = {c->params, req->params};
    for (int i = 0; i < 2; i++) {
        if (plists[i] == NULL || plists[i]->name == NULL)
            continue;
        cio_url *u2;
        rc = cio_url_add_params(&u2, u, plists[i]);
        cio_url_free(u);
        if (rc < 0)
            return rc;
        u = u2;
    }
    q->url = u;
    /* The client's defaults are shared until something changes them (a
     * plain GET copies no header map). They hold no Content-Length or
     * Transfer-Encoding (removed at creation). */
    q->headers = c->headers;
    q->headers_shared = true;
    if (req->headers != NULL && req->headers->name != NULL &&
        (rc = cio__info_own_headers(q)) < 0)
        return rc;
    if (req->headers != NULL) {
        for (size_t i = 0; req->headers[i].name != NULL; i++) {
            const struct cio_kv *h = &req->headers[i];
            bool again = false;
            for (size_t j = 0; j < i && !again; j++)
                again = strcasecmp(req->headers[j].name, h->name) == 0;
            const char *v = h->value != NULL ? h->value : "";
            rc = again ? cio_headers_add(q->headers, h->name, v)
                       : cio_headers_set(q->headers, h->name, v);
            if (rc < 0)
                return rc;
        }
    }
    /* Framing is ours: a caller's Content-Length or Transfer-Encoding
     * could disagree with the body actually sent (request smuggling). */
    if (!q->headers_shared) {
        cio_headers_remove(q->headers, "Content-Length");
        cio_headers_remove(q->headers, "Transfer-Encoding");
    }
    if ((rc = cookie_string(req->cookies, &q->cookies)) < 0)
        return rc;
    if ((rc = prepare_body(q, req)) < 0)
        return rc;
    q->expect_continue = req->expect_continue && q->body_kind != CIO__BODY_NONE;
    q->stream = req->stream;
    q->follow_redirects = req->follow_redirects == 0
                              ? c->follow_redirects
                              : req->follow_redirects > 0;
    q->to = c->to;
    if (req->timeouts != NULL) {
        const struct cio_timeouts *t = req->timeouts;
        if (t->connect_ms)
            q->to.connect_ms = t->connect_ms;
        if (t->read_ms)
            q->to.read_ms = t->read_ms;
        if (t->write_ms)
            q->to.write_ms = t->write_ms;
        if (t->pool_ms)
            q->to.pool_ms = t->pool_ms;
        if (t->total_ms)
            q->to.total_ms = t->total_ms;
    }
    q->auth_basic_user = dup_or_null(req->auth_basic_user);
    q->auth_basic_pass = dup_or_null(req->auth_basic_pass);
    q->auth_bearer = dup_or_null(req->auth_bearer);
    q->auth_digest_user = dup_or_null(req->auth_digest_user);
    q->auth_digest_pass = dup_or_null(req->auth_digest_pass);
    if (dup_failed(req->auth_basic_user, q->auth_basic_user) ||
        dup_failed(req->auth_basic_pass, q->auth_basic_pass) ||
        dup_failed(req->auth_bearer, q->auth_bearer) ||
        dup_failed(req->auth_digest_user, q->auth_digest_user) ||
        dup_failed(req->auth_digest_pass, q->auth_digest_pass))
        return CIO_ENOMEM;
    return 0;
}

int cio_prepare(cio_client *c, const struct cio_request *req,
                cio_prepared **out)
{
    if (c == NULL || req == NULL || out == NULL)
        return CIO_EINVAL;
    cio_prepared *p = cio__calloc(1, sizeof(*p));
    if (p == NULL)
        return CIO_ENOMEM;
    int rc = prepare(c, req, &p->info);
    if (rc < 0) {
        cio_prepared_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

const cio_request_info *cio_prepared_info(const cio_prepared *p)
{
    return &p->info;
}

int cio__info_own_headers(struct cio_request_info *q)
{
    if (!q->headers_shared)
        return 0;
    cio_headers *h;
    int rc = cio_headers_clone(&h, q->headers);
    if (rc < 0)
        return rc;
    q->headers = h;
    q->headers_shared = false;
    return 0;
}

cio_headers *cio_prepared_headers(cio_prepared *p)
{
    /* The caller may change them: the request's own copy. */
    return cio__info_own_headers(&p->info) == 0 ? p->info.headers : NULL;
}

const char *cio_request_info_method(const cio_request_info *r)
{
    return r->method;
}

const char *cio_request_info_url(const cio_request_info *r)
{
    return cio_url_href(r->url);
}

const cio_headers *cio_request_info_headers(const cio_request_info *r)
{
    return r->headers;
}

const void *cio_request_info_body(const cio_request_info *r, size_t *len)
{
    if (r->body_kind != CIO__BODY_MEM) {
        if (len != NULL)
            *len = 0;
        return r->body_kind == CIO__BODY_NONE ? "" : NULL;
    }
    if (len != NULL)
        *len = r->body_len;
    return r->body;
}

/* ------------------------------------------------------------ attempt */

static bool idempotent(enum cio__h1_method m)
{
    return m == CIO__H1_M_GET || m == CIO__H1_M_HEAD || m == CIO__H1_M_PUT ||
           m == CIO__H1_M_DELETE || m == CIO__H1_M_OPTIONS ||
           m == CIO__H1_M_TRACE;
}

static struct cio_cookie_req cookie_req(const cio_url *u)
{
    return (struct cio_cookie_req){
        .scheme = cio_url_scheme(u),
        .host = cio_url_host(u),
        .path = cio_url_path(u),
    };
}

/* The per-attempt header fields: Host, Cookie, framing, Expect. The
 * strings live in *scratch (freed by the caller). */
struct extra {
    struct cio_kv kv[6];
    char cl[24];
    char *cookie;
};

static int build_extra(struct cio__send *st, struct extra *x)
{
    struct cio_request_info *q = st->req;
    cio_client *c = st->c;
    size_t n = 0;
    memset(x, 0, sizeof(*x));
    if (cio_headers_get(q->headers, "Host") == NULL)
        x->kv[n++] = (struct cio_kv){"Host", cio_url_hostport(q->url).ptr};
    if (cio_headers_get(q->headers, "Cookie") == NULL) {
        struct cio__buf b;
        cio__buf_init(&b, 16384);
        int rc = 0;
        if (c->jar != NULL) {
            /* On the stack first: most requests match no cookie, and the
             * buffer is then allocated only at the size the header has. */
            char jar[8192];
            struct cio_cookie_req cr = cookie_req(q->url);
            ptrdiff_t k = cio_cookie_jar_header(c->jar, &cr, time(NULL), jar,
                                                sizeof(jar));
            if (k > 0)
                rc = cio__buf_append(&b, jar, (size_t)k);
        }
        const char *more[2] = {c->cookies_everywhere, q->cookies};
        for (int i = 0; i < 2 && rc == 0; i++)
            if (more[i] != NULL)
                rc = cio__buf_printf(&b, "%s%s", b.len ? "; " : "", more[i]);
        if (rc == 0 && b.len > 0)
            rc = cio__buf_append(&b, "", 1);
        if (rc < 0) {
            cio__buf_fini(&b);
            return rc;
        }
        if (b.len > 0) {
            x->cookie = b.base;
            x->kv[n++] = (struct cio_kv){"Cookie", x->cookie};
        } else {
            cio__buf_fini(&b);
        }
    }
    int64_t len = -2; /* -2: no body, -1: chunked */
    switch (q->body_kind) {
    case CIO__BODY_NONE:
        if (q->mid == CIO__H1_M_POST || q->mid == CIO__H1_M_PUT ||
            q->mid == CIO__H1_M_PATCH)
            len = 0;
        break;
    case CIO__BODY_MEM:
        len = (int64_t)q->body_len;
        break;
    case CIO__BODY_FN:
        len = q->body_fn_len < 0 ? -1 : q->body_fn_len;
        break;
    case CIO__BODY_MULTIPART:
        len = cio_multipart_length(q->multipart);
        break;
    }
    if (len >= 0) {
        snprintf(x->cl, sizeof(x->cl), "%lld", (long long)len);
        x->kv[n++] = (struct cio_kv){"Content-Length", x->cl};
    } else if (len == -1) {
        x->kv[n++] = (struct cio_kv){"Transfer-Encoding", "chunked"};
    }
    if (q->expect_continue)
        x->kv[n++] = (struct cio_kv){"Expect", "100-continue"};
    return 0;
}

static void store_cookies(cio_client *c, cio_response *r)
{
    if (c->jar == NULL)
        return;
    struct cio_cookie_req cr = cookie_req(r->url);
    size_t pos = 0;
    int64_t now = time(NULL);
    for (const char *v = cio_headers_next(r->headers, "Set-Cookie", &pos);
         v != NULL; v = cio_headers_next(r->headers, "Set-Cookie", &pos))
        (void)cio_cookie_jar_store(c->jar, v, strlen(v), &cr, now); /* refused
            cookies are ignored, as browsers do (RELIABILITY C.34-37) */
}

static int new_response(struct cio__send *st, cio_response **out)
{
    cio_response *r = cio__calloc(1, sizeof(*r));
    if (r == NULL)
        return CIO_ENOMEM;
    r->c = st->c;
    r->t0 = st->t0;
    r->opened_at = st->opened_at;
    r->max_body = st->c->max_body;
    r->streaming = st->req->stream;
    r->no_decode = st->c->no_decode;
    cio__buf_init(&r->body, st->c->max_body + 1 < st->c->max_body
                                ? st->c->max_body
                                : st->c->max_body + 1);
    cio__buf_init(&r->line, 1u << 20);
    int rc = cio_url_dup(&r->url, st->req->url);
    if (rc < 0) {
        cio__free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Discards a response whose exchange failed (its connection is the
 * caller's to release). */
static void drop_response(cio_response *r)
{
    r->conn = NULL;
    cio_response_free(r);
}

static int mock_attempt(struct cio__send *st, cio_response *r,
                        const struct cio_kv *extra)
{
    cio_client *c = st->c;
    struct cio_mock_resp m = {.status = 200};
    /* The handler sees the request as it would go on the wire: with Host,
     * Cookie and the framing fields of this attempt. */
    struct cio_request_info wire = *st->req;
    int rc = cio_headers_clone(&wire.headers, st->req->headers);
    if (rc < 0)
        return rc;
    for (const struct cio_kv *k = extra; rc == 0 && k->name != NULL; k++)
        rc = cio_headers_add(wire.headers, k->name, k->value);
    if (rc == 0)
        rc = cio_headers_new(&m.headers, NULL);
    if (rc < 0) {
        cio_headers_free(wire.headers);
        return rc;
    }
    cio__buf_init(&m.body, c->max_body);
    cio__phase(st, CIO_PHASE_WRITE);
    rc = c->mock(&wire, &m, c->mock_ud);
    cio_headers_free(wire.headers);
    cio__phase(st, CIO_PHASE_FIRST_BYTE);
    struct cio__conn *cn = NULL;
    if (rc >= 0 && (cn = cio__calloc(1, sizeof(*cn))) == NULL)
        rc = CIO_ENOMEM;
    if (rc < 0) {
        cio_headers_free(m.headers);
        cio__buf_fini(&m.body);
        return rc;
    }
    cn->ops = &cio__h1_ops; /* framing: Content-Length over the buffer */
    cn->rbuf = m.body;      /* the body is the "wire" */
    cio__buf_init(&cn->wbuf, 1);
    cn->active = 1;
    snprintf(cn->peer, sizeof(cn->peer), "mock");
    r->conn = cn;
    r->status = m.status;
    r->version = 11;
    r->headers = m.headers;
    r->reason = cio__strdup(cio_http_status_reason(m.status));
    if (r->reason == NULL)
        return CIO_ENOMEM;
    r->mid = st->req->mid;
    r->read_ms = st->req->to.read_ms;
    r->total_deadline = st->total_deadline;
    bool nobody = r->mid == CIO__H1_M_HEAD || m.status == 204 ||
                  m.status == 304 || m.status < 200;
    r->fr.body = nobody ? CIO__H1_BODY_NONE : CIO__H1_BODY_LENGTH;
    r->fr.length = nobody ? 0 : cn->rbuf.len;
    r->left = r->fr.length;
    r->raw_eof = nobody;
    if (nobody)
        cn->rbuf.len = 0;
    return 0;
}

/* The client's TLS context, made on first use (one per client: its
 * verification settings are the same for every connection). */
static int client_tls(cio_client *c)
{
    if (c->pool.tls != NULL)
        return 0;
    struct cio_tls_opts to = {
        .insecure_skip_verify = c->tls.insecure_skip_verify,
        .ca_file = c->tls.ca_file,
        .cert_file = c->tls.cert_file,
        .key_file = c->tls.key_file,
        .alpn = (const char *const[]){"http/1.1", NULL},
    };
    return cio_tls_ctx_new(&c->pool.tls, &to);
}

/*
 * Through a proxy (policy.c chose it): TCP to the proxy; TLS to it for an
 * https:// proxy (verified as an origin would be, SNI = the proxy's name);
 * then a SOCKS5 handshake (every target), or a CONNECT tunnel for TLS
 * origins through an http(s) proxy. The origin's TLS handshake follows in
 * open_conn, over whatever stream this returns. *named: the error message
 * already names the proxy (open_conn must not rewrite it as the origin's).
 */
/* The proxy as messages name it: "host:port", "[v6]:port". */
static void proxy_name(const cio_url *proxy, char *out, size_t cap)
{
    struct cio_str ph = cio_url_host(proxy);
    bool v6 = memchr(ph.ptr, ':', ph.len) != NULL;
    snprintf(out, cap, "%s%.*s%s:%u", v6 ? "[" : "",
             (int)(ph.len > 255 ? 255 : ph.len), ph.ptr, v6 ? "]" : "",
             cio__proxy_port(proxy));
}

static int proxy_open(struct cio__send *st, struct cio__pool_host *h,
                      cio_stream **out, cio_time dl, bool *named)
{
    struct cio_str ph = cio_url_host(st->proxy);
    char phz[256], pname[300];
    snprintf(phz, sizeof(phz), "%.*s", (int)ph.len, ph.ptr);
    unsigned pport = cio__proxy_port(st->proxy);
    proxy_name(st->proxy, pname, sizeof(pname));
    int kind = cio__proxy_kind(st->proxy);
    cio__phase(st, CIO_PHASE_CONNECT);
    cio_stream *s;
    int rc = cio_tcp_connect(&s, phz, pport, NULL, dl);
    if (rc < 0) {
        if (rc != CIO_ECONNREFUSED && rc != CIO_ERESOLVE && rc != CIO_ENOHOST)
            return rc;
        *named = true;
        return cio__err(rc, "proxy %s: %s", pname, cio_strerror(rc));
    }
    if (kind == CIO__PROXY_HTTPS) {
        cio_stream *t;
        if ((rc = client_tls(st->c)) < 0)
            goto fail_stream;
        cio__phase(st, CIO_PHASE_TLS);
        if ((rc = cio_tls_client(&t, s, st->c->pool.tls, phz, dl)) < 0) {
            if (rc == CIO_ECERT || rc == CIO_ETLS) {
                char why[256];
                snprintf(why, sizeof(why), "%s", cio_last_error());
                *named = true;
                rc = cio__err(rc, "TLS with proxy %s: %s", pname, why);
            }
            goto fail_stream;
        }
        s = t;
    }
    if (kind == CIO__PROXY_SOCKS5 || kind == CIO__PROXY_SOCKS5H) {
        struct cio__socks_opts so = {.proxy = pname,
                                     .remote_dns = kind == CIO__PROXY_SOCKS5H};
        if (cio_url_has_userinfo(st->proxy)) {
            struct cio_str u = cio_url_username(st->proxy);
            struct cio_str pw = cio_url_password(st->proxy);
            so.user = u.ptr;
            so.ulen = u.len;
            so.pass = pw.ptr;
            so.plen = pw.len;
        }
        rc = cio__socks5_open(s, &so, h->host, h->port, dl);
        *named = rc == CIO_EPROXY;
    } else if (h->tls) {
        rc = cio__proxy_connect(s, h->host, h->port, st->proxy_auth, dl);
    }
    if (rc < 0)
        goto fail_stream;
    *out = s;
    return 0;
fail_stream:
    cio_stream_close(s);
    return rc;
}

static int open_conn(struct cio__send *st, struct cio__pool_host *h,
                     struct cio__conn **out)
{
    cio_client *c = st->c;
    struct cio_request_info *q = st->req;
    uint32_t ms = q->to.connect_ms;
    cio_time dl = ms == UINT32_MAX ? CIO_NEVER : cio_after(ms);
    if (st->total_deadline != CIO_NEVER &&
        (dl == CIO_NEVER || st->total_deadline < dl))
        dl = st->total_deadline;
    cio_stream *s = NULL;
    int rc;
    bool tls = h->tls, named = false;
    cio__phase(st, CIO_PHASE_RESOLVE);
    if (c->connect != NULL) {
        /* The caller's transport (in-process): no resolve, no proxy; TLS
         * only when asked for. */
        cio__phase(st, CIO_PHASE_CONNECT);
        rc = c->connect(c->connect_ud, h->host, h->port, h->tls, &s);
        if (rc == 0 && s == NULL)
            rc = cio__err(CIO_EINVAL, "connect hook returned no stream");
        tls = tls && c->connect_tls;
    } else if (st->proxy != NULL) {
        rc = proxy_open(st, h, &s, dl, &named);
    } else if (c->pool.connect_hook != NULL) {
        rc = c->pool.connect_hook(c->pool.connect_ud, h, &s, dl);
    } else {
        struct cio__addr *addrs;
        size_t naddrs;
        rc = cio__resolve(h->host, h->port, 0, &addrs, &naddrs, dl);
        if (rc == 0) {
            cio__free(addrs); /* cached: the connect below reuses it */
            cio__phase(st, CIO_PHASE_CONNECT);
            rc = cio_tcp_connect(&s, h->host, h->port, NULL, dl);
        }
    }
    if (rc == 0 && tls && (rc = client_tls(c)) < 0)
        cio_stream_close(s);
    if (rc == 0 && tls) {
        cio__phase(st, CIO_PHASE_TLS);
        cio_stream *t;
        rc = cio_tls_client(&t, s, c->pool.tls, h->host, dl);
        if (rc == 0)
            s = t;
        else
            cio_stream_close(s);
    }
    if (rc < 0) {
        cio__pool_open_failed(&c->pool, h);
        if (named)
            return rc;
        if (rc == CIO_ETIMEDOUT) {
            /* Through a proxy, the one that stalled may be the proxy. */
            char via[320] = "";
            if (st->proxy != NULL) {
                char pname[300];
                proxy_name(st->proxy, pname, sizeof(pname));
                snprintf(via, sizeof(via), " through proxy %s", pname);
            }
            if (st->total_deadline != CIO_NEVER &&
                cio_now() >= st->total_deadline)
                return cio__err(rc,
                                "total timeout: the request ran out of "
                                "time while connecting to %s:%u%s",
                                h->host, h->port, via);
            return cio__err(rc,
                            "connect timeout: no connection to %s:%u%s "
                            "within %u ms",
                            h->host, h->port, via, ms);
        }
        if (rc == CIO_ECERT || rc == CIO_ETLS)
            return prefix_err(rc, "TLS with %s:%u: ", h->host, h->port);
        if (rc == CIO_ECONNREFUSED)
            return cio__err(rc, "connection to %s:%u refused", h->host,
                            h->port);
        return rc;
    }
    return cio__pool_opened(&c->pool, h, s, &cio__h1_ops, 1, out);
}

static int pool_key(struct cio__send *st, char *key, size_t cap)
{
    cio_client *c = st->c;
    const cio_url *u = st->req->url;
    struct cio_str host = cio_url_host(u);
    /* Everything that makes a connection different (RELIABILITY D.45):
     * verify flag, CA, client certificate, proxy. One TLS context per
     * client, so the client's settings are the same for all its keys; the
     * pointer tells clients apart should pools ever be shared. */
    int n = snprintf(
        key, cap, "%.*s://%.*s:%d|v%d|%s|%s|%s", (int)cio_url_scheme(u).len,
        cio_url_scheme(u).ptr, (int)host.len, host.ptr, cio_url_port(u),
        !c->tls.insecure_skip_verify, c->tls.ca_file ? c->tls.ca_file : "",
        c->tls.cert_file ? c->tls.cert_file : "",
        st->proxy != NULL ? cio_url_href(st->proxy) : "");
    return n > 0 && (size_t)n < cap ? 0 : cio__err(CIO_ETOOBIG, "pool key");
}

static int net_attempt(struct cio__send *st, cio_response *r,
                       const struct cio_kv *extra)
{
    cio_client *c = st->c;
    struct cio_request_info *q = st->req;
    struct cio__pool_host *h = c->last_host;
    struct cio_str host = cio_url_host(q->url);
    unsigned port = (unsigned)cio_url_port(q->url);
    bool tls = cio_url_is_secure(q->url) == 1;
    int rc;
    /* The key is the same for a client's requests to one origin (its TLS
     * settings and proxy are the client's): the last one is remembered. */
    if (h == NULL || h->port != port || h->tls != tls ||
        strlen(h->host) != host.len ||
        memcmp(h->host, host.ptr, host.len) != 0) {
        char key[1024 + 600];
        if ((rc = pool_key(st, key, sizeof(key))) < 0)
            return rc;
        char hostz[256];
        snprintf(hostz, sizeof(hostz), "%.*s", (int)host.len, host.ptr);
        if ((rc = cio__pool_host_get(&c->pool, key, hostz, port, tls, &h)) < 0)
            return rc;
        c->last_host = h;
    }
    for (int stale_retry = 0;; stale_retry++) {
        uint32_t pms = q->to.pool_ms;
        cio_time dl = pms == UINT32_MAX ? CIO_NEVER : cio_after(pms);
        if (st->total_deadline != CIO_NEVER &&
            (dl == CIO_NEVER || st->total_deadline < dl))
            dl = st->total_deadline;
        struct cio__pool_slot slot;
        cio__phase(st, CIO_PHASE_POOL_WAIT);
        rc = cio__pool_acquire(&c->pool, h, dl, &slot);
        if (rc == CIO_ETIMEDOUT)
            return cio__err(rc,
                            "pool timeout: no connection to %s:%u free "
                            "within %u ms (limits: %u per host, %u in all)",
                            h->host, h->port, pms, c->pool.max_per_host,
                            c->pool.max_conns);
        if (rc < 0)
            return rc;
        struct cio__conn *cn = slot.conn;
        if (cn == NULL && (rc = open_conn(st, h, &cn)) < 0)
            return rc;
        bool reused = cn->reused, sent_any, got_any;
        r->conn = cn;
        rc = cn->ops->exchange(st, cn, extra, r, &sent_any, &got_any);
        if (rc == 0)
            return 0;
        r->conn = NULL;
        cio__pool_release(cn, false);
        bool replayable = q->body_kind != CIO__BODY_FN || !sent_any;
        if (rc == CIO_EUNSENT && reused && stale_retry == 0 && replayable &&
            (idempotent(q->mid) || !sent_any)) {
            /* The server had closed the kept-alive connection: once more
             * on a fresh one (httpx and urllib3 do the same). */
            if (q->body_kind == CIO__BODY_MULTIPART &&
                cio_multipart_rewind(q->multipart) < 0)
                return cio__err(CIO_EPROTO,
                                "connection closed before the "
                                "response; the body cannot be sent again");
            /* Its idle siblings are likely stale as well. */
            cio__pool_close_idle(&c->pool, h);
            /* Reset what the failed exchange put in r. */
            cio_headers_free(r->headers);
            r->headers = NULL;
            if (r->reason != r->reason_buf)
                cio__free(r->reason);
            r->reason = NULL;
            continue;
        }
        if (rc == CIO_EUNSENT) { /* not retried: a protocol error */
            char msg[256];
            snprintf(msg, sizeof(msg), "%s", cio_last_error());
            rc = cio__err(CIO_EPROTO, "%s", msg);
        }
        return rc;
    }
}

int cio__client_attempt(struct cio__send *st, cio_response **out)
{
    cio_client *c = st->c;
    struct cio_request_info *q = st->req;
    int rc;
    if (c->hooks.on_request != NULL &&
        (rc = c->hooks.on_request(q, c->hooks.ud)) < 0)
        return rc;
    cio_response *r;
    if ((rc = new_response(st, &r)) < 0)
        return rc;
    struct extra x;
    if ((rc = build_extra(st, &x)) < 0) {
        drop_response(r);
        return rc;
    }
    rc = c->mock != NULL ? mock_attempt(st, r, x.kv) : net_attempt(st, r, x.kv);
    cio__free(x.cookie);
    if (rc < 0) {
        struct cio__conn *cn = r->conn;
        drop_response(r);
        if (cn != NULL)
            cio__pool_release(cn, false);
        return rc;
    }
    cio__phase(st, CIO_PHASE_BODY);
    if (r->raw_eof) /* no body (HEAD, 204, 304): the connection is free now */
        cio__resp_finish(r, true);
    if (r->conn != NULL && r->conn->s != NULL)
        cio__list_push_back(&c->responses, &r->node);
    store_cookies(c, r);
    r->tm = st->tm;
    if (c->hooks.on_response != NULL &&
        (rc = c->hooks.on_response(r, c->hooks.ud)) < 0) {
        cio_response_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ send */

static int send_loop(cio_client *c, struct cio_request_info *q,
                     cio_response **out, void *opened_at, bool one_shot)
{
    struct cio__send st = {
        .borrow_req = one_shot,
        .c = c,
        .req = q,
        .t0 = cio__mono_ms(),
        .total_deadline = q->to.total_ms == 0 || q->to.total_ms == UINT32_MAX
                              ? CIO_NEVER
                              : cio_after(q->to.total_ms),
        .opened_at = opened_at,
    };
    c->nrequests++;
    cio_response *r;
    /* Redirects, retries, auth and proxies (policy.c). */
    int rc = cio__policy_send(&st, &r);
    if (rc < 0)
        return rc;
    if (!q->stream) {
        size_t len;
        if (cio_response_body(r, &len) == NULL) {
            rc = cio_response_error(r);
            cio_response_free(r);
            return rc;
        }
        st.cur_phase = 0; /* body_done was set when the body ended */
        cio__phase(&st, CIO_PHASE_DONE);
    }
    *out = r;
    return 0;
}

int cio_send(cio_client *c, cio_prepared *p, cio_response **out)
{
    if (c == NULL || p == NULL || out == NULL)
        return CIO_EINVAL;
    if (p->info.c != c)
        return cio__err(CIO_EINVAL, "prepared request of another client");
    if (p->info.body_kind == CIO__BODY_MULTIPART) {
        int rc = cio_multipart_rewind(p->info.multipart);
        if (rc < 0 && rc != CIO_ENOTSUP)
            return rc;
    }
    return send_loop(c, &p->info, out, __builtin_return_address(0), false);
}

static int request_at(cio_client *c, const struct cio_request *req,
                      cio_response **out, void *at)
{
    if (c == NULL || req == NULL || out == NULL)
        return CIO_EINVAL;
    struct cio_request_info q = {0};
    int rc = prepare(c, req, &q);
    if (rc == 0)
        rc = send_loop(c, &q, out, at, true);
    info_fini(&q);
    return rc;
}

int cio_request(cio_client *c, const struct cio_request *req,
                cio_response **out)
{
    return request_at(c, req, out, __builtin_return_address(0));
}

static int shorthand(cio_client *c, const char *method, const char *url,
                     const struct cio_request *req, cio_response **out,
                     void *at)
{
    struct cio_request r = {0};
    if (req != NULL)
        r = *req;
    r.method = method;
    r.url = url;
    return request_at(c, &r, out, at);
}

#define SHORTHAND(fn, m)                                                       \
    int fn(cio_client *c, const char *url, const struct cio_request *req,      \
           cio_response **out)                                                 \
    {                                                                          \
        return shorthand(c, m, url, req, out, __builtin_return_address(0));    \
    }
SHORTHAND(cio_get, "GET")
SHORTHAND(cio_head, "HEAD")
SHORTHAND(cio_options, "OPTIONS")
SHORTHAND(cio_post, "POST")
SHORTHAND(cio_put, "PUT")
SHORTHAND(cio_patch, "PATCH")
SHORTHAND(cio_delete, "DELETE")

/* ------------------------------------------------------------ fetch */

struct fetch {
    const struct cio_request *req;
    const struct cio_client_opts *opts;
    cio_response *resp;
};

static int fetch_main(void *arg)
{
    struct fetch *f = arg;
    cio_client *c;
    int rc = cio_client_new(&c, f->opts);
    if (rc < 0)
        return rc;
    rc = cio_request(c, f->req, &f->resp);
    cio_client_free(c); /* the response is complete: it needs no client */
    return rc;
}

int cio_fetch(const struct cio_request *req, const struct cio_client_opts *opts,
              cio_response **out)
{
    if (req == NULL || out == NULL)
        return CIO_EINVAL;
    if (req->stream)
        return cio__err(CIO_EINVAL, "cio_fetch: stream needs a loop; use "
                                    "cio_request in a task");
    if (cio_loop_current() != NULL)
        return cio__err(CIO_EBUSY, "cio_fetch: called inside a loop; use "
                                   "cio_request");
    struct fetch f = {.req = req, .opts = opts};
    int rc = cio_run(fetch_main, &f);
    if (rc < 0) {
        cio_response_free(f.resp);
        return rc;
    }
    *out = f.resp;
    return 0;
}

/* ------------------------------------------------------------ mock */

int cio_mock_status(cio_mock_resp *m, int status)
{
    if (m == NULL || status < 100 || status > 599)
        return CIO_EINVAL;
    m->status = status;
    return 0;
}

int cio_mock_header(cio_mock_resp *m, const char *name, const char *value)
{
    if (m == NULL)
        return CIO_EINVAL;
    return cio_headers_add(m->headers, name, value);
}

int cio_mock_body(cio_mock_resp *m, const void *data, size_t len)
{
    if (m == NULL || (data == NULL && len > 0))
        return CIO_EINVAL;
    return len > 0 ? cio__buf_append(&m->body, data, len) : 0;
}
