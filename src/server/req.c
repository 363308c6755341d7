/* SPDX-License-Identifier: MIT */
/*
 * The protocol-neutral request: accessors over views the connection set up,
 * the request arena, state, and the body helpers (whole, JSON, form,
 * multipart) built on the protocol's read operation.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "config.h"
#include "server/server_int.h"

#if CIO_HAVE_JANSSON
#include <jansson.h>
#endif

/* ------------------------------------------------------------ arena */

struct chunk {
    struct chunk *next;
    char data[] __attribute__((aligned(16)));
};

void *cio__arena_alloc(struct cio__arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n <= CIO__ARENA_FIXED - a->used) {
        void *p = a->fixed + a->used;
        a->used += n;
        return p;
    }
    struct chunk *c = cio__malloc(sizeof(*c) + n);
    if (c == NULL)
        return NULL;
    c->next = a->chunks;
    a->chunks = c;
    return c->data;
}

char *cio__arena_strndup(struct cio__arena *a, const char *s, size_t n)
{
    char *p = cio__arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void cio__arena_reset(struct cio__arena *a)
{
    struct chunk *c = a->chunks;
    while (c != NULL) {
        struct chunk *next = c->next;
        cio__free(c);
        c = next;
    }
    a->chunks = NULL;
    a->used = 0;
}

/* ------------------------------------------------------------ lifecycle */

void cio__req_reset(cio_req *req)
{
    for (struct cio__state *s = req->state; s != NULL; s = s->next)
        if (s->free_fn != NULL)
            s->free_fn(s->value);
    req->state = NULL;
    /* each of these is made on demand: most requests have none */
    if (req->hmap != NULL) {
        cio_headers_free(req->hmap);
        req->hmap = NULL;
    }
    if (req->qparams != NULL) {
        cio_params_free(req->qparams);
        req->qparams = NULL;
    }
    if (req->form != NULL) {
        cio_params_free(req->form);
        req->form = NULL;
    }
    cio__free(req->whole); /* inline NULL check: no call */
    req->whole = NULL;
    req->whole_read = 0;
#if CIO_HAVE_JANSSON
    if (req->json != NULL)
        json_decref(req->json);
#endif
    req->json = NULL;
    if (req->mp != NULL || req->mp_buf != NULL || req->mp_headers != NULL) {
        cio_multipart_parser_free(req->mp);
        req->mp = NULL;
        cio__free(req->mp_buf);
        req->mp_buf = NULL;
        cio_headers_free(req->mp_headers);
        req->mp_headers = NULL;
    }
    req->mp_state = 0;
    req->mp_have_ev = 0;
    req->param_vals = NULL;
    if (req->body == CIO__BODY_CHUNKED)
        cio__chunked_fini(&req->chunked);
    req->body = CIO__BODY_NONE;
    if (req->arena->chunks != NULL)
        cio__arena_reset(req->arena);
    else
        req->arena->used = 0;
}

int cio_next(cio_req *req, cio_resp *res)
{
    if (req->next < req->nchain) {
        const struct cio__mw *mw = &req->chain[req->next++];
        return mw->fn(req, res, mw->ud);
    }
    if (req->next == req->nchain) {
        req->next++;
        return req->fn(req, res, req->fn_ud);
    }
    return cio__err(CIO_EINVAL, "cio_next called twice by one middleware");
}

int cio__req_run(cio_req *req, cio_resp *res)
{
    req->next = 0;
    return cio_next(req, res);
}

/* ------------------------------------------------------------ accessors */

const char *cio_req_method(const cio_req *req)
{
    return req->method;
}

const char *cio_req_path(const cio_req *req)
{
    return req->path;
}

const char *cio_req_raw_path(const cio_req *req)
{
    return req->target;
}

const char *cio_req_query_string(const cio_req *req)
{
    return req->query;
}

int cio_req_query_params(cio_req *req, const cio_params **out)
{
    if (req->qparams == NULL) {
        struct cio_query_opts o = {.flags = CIO_QUERY_LENIENT};
        int rc =
            cio_query_parse(&req->qparams, req->query, strlen(req->query), &o);
        if (rc < 0)
            return rc;
    }
    *out = req->qparams;
    return 0;
}

const char *cio_req_query(const cio_req *req, const char *name)
{
    const cio_params *p;
    if (req->query[0] == '\0')
        return NULL;
    if (cio_req_query_params((cio_req *)req, &p) < 0)
        return NULL;
    return cio_params_get(p, name);
}

int cio_req_version(const cio_req *req)
{
    return req->version;
}

const char *cio_req_header(const cio_req *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nfields; i++) {
        const struct cio__h1_header *f = &req->fields[i];
        if (f->name.len == n && strncasecmp(f->name.ptr, name, n) == 0)
            return f->value.ptr;
    }
    return NULL;
}

const cio_headers *cio_req_headers(const cio_req *req)
{
    cio_req *r = (cio_req *)req;
    if (r->hmap == NULL) {
        struct cio_headers_opts o = {.max_bytes = 1u << 20,
                                     .max_fields = 10000};
        if (cio_headers_new(&r->hmap, &o) < 0)
            return NULL;
        for (size_t i = 0; i < r->nfields; i++)
            (void)cio_headers_add_str(r->hmap, r->fields[i].name,
                                      r->fields[i].value);
    }
    return r->hmap;
}

const char *cio_req_cookie(cio_req *req, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->nfields; i++) {
        const struct cio__h1_header *f = &req->fields[i];
        if (f->name.len != 6 || strncasecmp(f->name.ptr, "cookie", 6) != 0)
            continue;
        const char *p = f->value.ptr, *end = p + f->value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';' || *p == '\t'))
                p++;
            const char *eq = memchr(p, '=', (size_t)(end - p));
            const char *semi = memchr(p, ';', (size_t)(end - p));
            if (semi == NULL)
                semi = end;
            if (eq != NULL && eq < semi && (size_t)(eq - p) == nl &&
                memcmp(p, name, nl) == 0) {
                const char *v = eq + 1, *ve = semi;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
                    v++;
                    ve--;
                }
                return cio__arena_strndup(req->arena, v, (size_t)(ve - v));
            }
            p = semi;
        }
    }
    return NULL;
}

const char *cio_req_param(const cio_req *req, const char *name)
{
    cio_req *r = (cio_req *)req;
    size_t nl = strlen(name);

    if (r->tgt == NULL)
        return NULL;
    for (size_t i = 0; i < r->m.nparams; i++) {
        const struct cio__route_param *p = &r->m.params[i];
        if (p->name.len != nl || memcmp(p->name.ptr, name, nl) != 0)
            continue;
        if (r->param_vals == NULL) {
            r->param_vals =
                cio__arena_alloc(r->arena, r->m.nparams * sizeof(char *));
            if (r->param_vals == NULL)
                return NULL;
            memset(r->param_vals, 0, r->m.nparams * sizeof(char *));
        }
        if (r->param_vals[i] == NULL) {
            /* the path kept %2F and %25 encoded: decode them now */
            char *v = cio__arena_alloc(r->arena, p->value.len + 1);
            if (v == NULL)
                return NULL;
            ptrdiff_t n = cio_pct_decode(v, p->value.len + 1, p->value.ptr,
                                         p->value.len, CIO_PCT_LENIENT);
            if (n < 0)
                return NULL;
            r->param_vals[i] = v;
        }
        return r->param_vals[i];
    }
    return NULL;
}

const char *cio_req_route_name(const cio_req *req)
{
    return req->tgt != NULL ? req->tgt->name : NULL;
}

const char *cio_req_route_pattern(const cio_req *req)
{
    return req->tgt != NULL ? req->tgt->pattern : NULL;
}

const char *cio_req_peer(const cio_req *req)
{
    cio_req *r = (cio_req *)req;
    if (r->peer == NULL)
        r->peer = r->ops->peer(r);
    return r->peer != NULL ? r->peer : "";
}

int cio_req_secure(const cio_req *req)
{
    return req->secure;
}

cio_app *cio_req_app(const cio_req *req)
{
    return req->app;
}

int cio_req_set_state(cio_req *req, const char *key, void *value,
                      void (*free_fn)(void *))
{
    if (key == NULL)
        return CIO_EINVAL;
    struct cio__state *s = cio__state_find(req->state, key);
    if (s != NULL) {
        cio__state_assign(s, value, free_fn);
        return 0;
    }
    s = cio__arena_alloc(req->arena, sizeof(*s));
    char *k = cio__arena_strndup(req->arena, key, strlen(key));
    if (s == NULL || k == NULL)
        return CIO_ENOMEM;
    *s = (struct cio__state){req->state, k, value, free_fn};
    req->state = s;
    return 0;
}

void *cio_req_state(const cio_req *req, const char *key)
{
    const struct cio__state *s = cio__state_find(req->state, key);
    return s != NULL ? s->value : NULL;
}

/* ------------------------------------------------------------ body */

ptrdiff_t cio_req_read(cio_req *req, void *buf, size_t cap)
{
    if (req->body_err < 0)
        return req->body_err;
    if (req->body == CIO__BODY_NONE || req->body_done || cap == 0)
        return 0;
    return req->ops->read(req, buf, cap);
}

int cio_req_body(cio_req *req, size_t max, const char **body, size_t *len)
{
    uint64_t lim = max != 0 ? max : req->max_body;
    size_t cap, n = 0;
    char *b;

    /* UINT64_MAX is "no limit": keep lim + 1, remaining + 1 and cap * 2
     * below (buffer sizes) from wrapping */
    if (lim > SIZE_MAX / 4)
        lim = SIZE_MAX / 4;

    if (req->whole_read) {
        *body = req->whole;
        *len = req->whole_len;
        return 0;
    }
    /* over the limit: sticky, so the server answers 413 if the handler
     * passes the error on, and closes (the body stays unread) */
    if (req->body == CIO__BODY_LENGTH && req->remaining > lim)
        return req->body_err = cio__err(
                   CIO_ETOOBIG, "request body of %llu bytes is over %llu",
                   (unsigned long long)req->remaining, (unsigned long long)lim);
    cap = req->body == CIO__BODY_LENGTH ? (size_t)req->remaining + 1
          : lim < 4095                  ? (size_t)lim + 1
                                        : 4096;
    b = cio__malloc(cap);
    if (b == NULL)
        return CIO_ENOMEM;
    for (;;) {
        if (n + 1 == cap) {
            if (n >= lim) {
                /* one more byte tells "exactly the limit" from "over" */
                char c;
                ptrdiff_t r = cio_req_read(req, &c, 1);
                if (r == 0)
                    break;
                cio__free(b);
                if (r < 0)
                    return (int)r;
                return req->body_err =
                           cio__err(CIO_ETOOBIG, "request body over %llu bytes",
                                    (unsigned long long)lim);
            }
            size_t nc = cap * 2 > lim + 1 ? (size_t)lim + 1 : cap * 2;
            char *nb = cio__realloc(b, nc);
            if (nb == NULL) {
                cio__free(b);
                return CIO_ENOMEM;
            }
            b = nb;
            cap = nc;
        }
        ptrdiff_t r = cio_req_read(req, b + n, cap - 1 - n);
        if (r < 0) {
            cio__free(b);
            return (int)r;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    b[n] = '\0';
    req->whole = b;
    req->whole_len = n;
    req->whole_read = 1;
    *body = b;
    *len = n;
    return 0;
}

static int ctype_is(const cio_req *req, const char *want)
{
    const char *ct = cio_req_header(req, "content-type");
    size_t n = strlen(want);
    if (ct == NULL)
        return 0;
    return strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

int cio_req_json(cio_req *req, struct json_t **out)
{
#if CIO_HAVE_JANSSON
    const char *b;
    size_t n;
    json_error_t e;
    int rc;

    if (req->json != NULL) {
        *out = req->json;
        return 0;
    }
    {
        const char *ct = cio_req_header(req, "content-type");
        if (ct == NULL || (strncasecmp(ct, "application/json", 16) != 0 &&
                           strstr(ct, "+json") == NULL))
            return cio__err(CIO_EPROTO, "Content-Type is %s, not JSON",
                            ct != NULL ? ct : "missing");
    }
    rc = cio_req_body(req, 0, &b, &n);
    if (rc < 0)
        return rc;
    req->json = json_loadb(b, n, JSON_DECODE_ANY, &e);
    if (req->json == NULL)
        return cio__err(CIO_EPROTO, "body is not JSON: %s (line %d)", e.text,
                        e.line);
    *out = req->json;
    return 0;
#else
    (void)req;
    (void)out;
    return cio__err(CIO_ENOTSUP, "built without jansson");
#endif
}

int cio_req_form(cio_req *req, const cio_params **out)
{
    const char *b;
    size_t n;
    int rc;

    if (req->form != NULL) {
        *out = req->form;
        return 0;
    }
    if (!ctype_is(req, CIO_FORM_CONTENT_TYPE))
        return cio__err(CIO_EPROTO, "Content-Type is not %s",
                        CIO_FORM_CONTENT_TYPE);
    rc = cio_req_body(req, 0, &b, &n);
    if (rc < 0)
        return rc;
    rc = cio_form_parse(&req->form, b, n, NULL);
    if (rc < 0)
        return rc;
    *out = req->form;
    return 0;
}

/* ------------------------------------------------------------ multipart */

#define MP_BUF 16384

/* The next parser event (or a kept one). */
static int mp_event(cio_req *req, struct cio_multipart_event *ev)
{
    if (req->mp_have_ev) {
        req->mp_have_ev = 0;
        *ev = req->mp_ev;
        return 0;
    }
    for (;;) {
        if (req->mp_off == req->mp_len) {
            ptrdiff_t n = cio_req_read(req, req->mp_buf, MP_BUF);
            if (n < 0)
                return (int)n;
            if (n == 0) {
                int rc = cio_multipart_parser_finish(req->mp);
                if (rc < 0)
                    return rc;
                ev->type = CIO_MULTIPART_END;
                return 0;
            }
            req->mp_off = 0;
            req->mp_len = (size_t)n;
        }
        ptrdiff_t used = cio_multipart_parser_feed(
            req->mp, req->mp_buf + req->mp_off, req->mp_len - req->mp_off, ev);
        if (used < 0)
            return (int)used;
        req->mp_off += (size_t)used;
        if (ev->type != CIO_MULTIPART_NONE)
            return 0;
    }
}

int cio_req_part_next(cio_req *req, struct cio_part *out)
{
    struct cio_multipart_event ev;
    int rc;

    if (req->mp == NULL) {
        const char *ct = cio_req_header(req, "content-type");
        struct cio_multipart_parser_opts o = {.max_body_bytes = req->max_body};
        if (ct == NULL)
            return cio__err(CIO_EPROTO, "no Content-Type: not multipart");
        rc = cio_multipart_parser_new(&req->mp, cio_str_c(ct), &o);
        if (rc < 0)
            return rc == CIO_ENOTSUP ? CIO_EPROTO : rc;
        req->mp_buf = cio__malloc(MP_BUF);
        if (req->mp_buf == NULL) {
            /* no half-made state: a later call starts over */
            cio_multipart_parser_free(req->mp);
            req->mp = NULL;
            return CIO_ENOMEM;
        }
        req->mp_off = req->mp_len = 0;
    }
    if (req->mp_state == 3)
        return 0;
    for (;;) {
        rc = mp_event(req, &ev);
        if (rc < 0)
            return rc;
        if (ev.type == CIO_MULTIPART_END) {
            req->mp_state = 3;
            return 0;
        }
        if (ev.type != CIO_MULTIPART_PART_BEGIN)
            continue; /* unread data of the previous part */
        cio_headers_free(req->mp_headers);
        req->mp_headers = NULL;
        struct cio_headers_opts ho = {0};
        rc = cio_headers_new(&req->mp_headers, &ho);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < ev.nheaders; i++)
            (void)cio_headers_add_str(req->mp_headers, ev.headers[i].name,
                                      ev.headers[i].value);
        out->name = cio__arena_strndup(req->arena, ev.name.ptr, ev.name.len);
        out->filename = ev.has_filename
                            ? cio__arena_strndup(req->arena, ev.filename.ptr,
                                                 ev.filename.len)
                            : NULL;
        out->content_type =
            ev.content_type.ptr != NULL
                ? cio__arena_strndup(req->arena, ev.content_type.ptr,
                                     ev.content_type.len)
                : NULL;
        out->headers = req->mp_headers;
        if (out->name == NULL)
            return CIO_ENOMEM;
        req->mp_state = 1;
        return 1;
    }
}

ptrdiff_t cio_req_part_read(cio_req *req, void *buf, size_t cap)
{
    struct cio_multipart_event ev;

    if (req->mp == NULL || req->mp_state != 1 || cap == 0)
        return 0;
    for (;;) {
        int rc = mp_event(req, &ev);
        if (rc < 0)
            return rc;
        if (ev.type == CIO_MULTIPART_PART_END) {
            req->mp_state = 2;
            return 0;
        }
        if (ev.type == CIO_MULTIPART_END) {
            req->mp_state = 3;
            return 0;
        }
        if (ev.type != CIO_MULTIPART_DATA)
            continue;
        size_t n = ev.data.len < cap ? ev.data.len : cap;
        memcpy(buf, ev.data.ptr, n);
        if (n < ev.data.len) {
            ev.data.ptr += n;
            ev.data.len -= n;
            req->mp_ev = ev;
            req->mp_have_ev = 1;
        }
        return (ptrdiff_t)n;
    }
}

int64_t cio_req_part_save(cio_req *req, const char *path, uint64_t max)
{
    char *buf;
    int64_t total = 0;
    int fd;

    if (path == NULL)
        return CIO_EINVAL;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    buf = cio__malloc(MP_BUF);
    if (buf == NULL) {
        close(fd);
        unlink(path);
        return CIO_ENOMEM;
    }
    for (;;) {
        ptrdiff_t n = cio_req_part_read(req, buf, MP_BUF);
        if (n < 0) {
            total = n;
            break;
        }
        if (n == 0)
            break;
        if (max != 0 && (uint64_t)total + (uint64_t)n > max) {
            total = cio__err(CIO_ETOOBIG, "part over %llu bytes",
                             (unsigned long long)max);
            break;
        }
        for (ptrdiff_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                total = -errno;
                goto out;
            }
            off += w;
        }
        total += n;
    }
out:
    cio__free(buf);
    close(fd);
    if (total < 0)
        unlink(path);
    return total;
}
