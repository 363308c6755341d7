/* SPDX-License-Identifier: MIT */
/*
 * Interim linear router (server-core), replaced by the compiled router of
 * the server-route branch: same internal API (router.h).
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/router.h"

#include <corio/http/url.h>

struct route {
    char *method;
    char *pattern;
    void *target;
    int is_static;
    regex_t re;
    size_t nparams;
    struct cio_str names[CIO__ROUTER_MAX_PARAMS];
};

struct cio__router {
    struct route *v;
    size_t n, cap;
};

int cio__router_new(struct cio__router **out)
{
    struct cio__router *r = cio__calloc(1, sizeof(*r));
    if (r == NULL)
        return CIO_ENOMEM;
    *out = r;
    return 0;
}

void cio__router_free(struct cio__router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (!r->v[i].is_static)
            regfree(&r->v[i].re);
        cio__free(r->v[i].method);
        cio__free(r->v[i].pattern);
    }
    cio__free(r->v);
    cio__free(r);
}

static int compile_route(struct route *rt)
{
    char re[2048];
    size_t o = 0;
    const char *p = rt->pattern;

    rt->is_static = strchr(p, '{') == NULL;
    if (rt->is_static)
        return 0;
    re[o++] = '^';
    while (*p != '\0') {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            const char *colon;
            if (e == NULL || rt->nparams == CIO__ROUTER_MAX_PARAMS)
                return cio__err(CIO_EINVAL, "bad route pattern \"%s\"",
                                rt->pattern);
            /* the regex may hold braces: find the matching one */
            colon = memchr(p, ':', (size_t)(e - p));
            if (colon != NULL) {
                int depth = 0;
                for (e = colon + 1; *e != '\0'; e++) {
                    if (*e == '{')
                        depth++;
                    else if (*e == '}' && depth-- == 0)
                        break;
                }
                if (*e != '}')
                    return cio__err(CIO_EINVAL, "bad route pattern \"%s\"",
                                    rt->pattern);
            }
            const char *ne = colon != NULL ? colon : e;
            if (ne == p + 1)
                return cio__err(CIO_EINVAL, "empty parameter name in \"%s\"",
                                rt->pattern);
            rt->names[rt->nparams++] =
                (struct cio_str){p + 1, (size_t)(ne - p - 1)};
            int k = colon != NULL
                        ? snprintf(re + o, sizeof(re) - o, "(%.*s)",
                                   (int)(e - colon - 1), colon + 1)
                        : snprintf(re + o, sizeof(re) - o, "([^/]+)");
            if (k < 0 || (size_t)k >= sizeof(re) - o)
                return cio__err(CIO_EINVAL, "route pattern too long");
            o += (size_t)k;
            p = e + 1;
            continue;
        }
        if (o + 3 >= sizeof(re))
            return cio__err(CIO_EINVAL, "route pattern too long");
        if (strchr(".[]()*+?^$|\\", *p) != NULL)
            re[o++] = '\\';
        re[o++] = *p++;
    }
    re[o++] = '$';
    re[o] = '\0';
    if (regcomp(&rt->re, re, REG_EXTENDED) != 0)
        return cio__err(CIO_EINVAL, "bad regex in route \"%s\"", rt->pattern);
    return 0;
}

int cio__router_add(struct cio__router *r, const char *method,
                    const char *pattern, void *target)
{
    struct route rt = {0};
    int rc;

    if (method == NULL || pattern == NULL || pattern[0] != '/')
        return cio__err(CIO_EINVAL, "route pattern must start with '/'");
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].method, method) == 0 &&
            strcmp(r->v[i].pattern, pattern) == 0)
            return cio__err(CIO_EINVAL, "duplicate route %s %s", method,
                            pattern);
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 16;
        struct route *nv = cio__realloc(r->v, nc * sizeof(*nv));
        if (nv == NULL)
            return CIO_ENOMEM;
        r->v = nv;
        r->cap = nc;
    }
    rt.method = cio__strdup(method);
    rt.pattern = cio__strdup(pattern);
    rt.target = target;
    if (rt.method == NULL || rt.pattern == NULL) {
        rc = CIO_ENOMEM;
        goto fail;
    }
    rc = compile_route(&rt);
    if (rc < 0)
        goto fail;
    /* names point into the stored pattern */
    r->v[r->n++] = rt;
    return 0;
fail:
    cio__free(rt.method);
    cio__free(rt.pattern);
    return rc;
}

int cio__router_compile(struct cio__router *r)
{
    (void)r;
    return 0;
}

static int method_ok(const char *rm, struct cio_str m)
{
    if (strcmp(rm, "*") == 0)
        return 1;
    if (strlen(rm) == m.len && memcmp(rm, m.ptr, m.len) == 0)
        return 1;
    return strcmp(rm, "GET") == 0 && m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0;
}

static int path_match(const struct route *rt, struct cio_str path,
                      struct cio__route_match *m)
{
    if (rt->is_static)
        return strlen(rt->pattern) == path.len &&
               memcmp(rt->pattern, path.ptr, path.len) == 0;
    regmatch_t pm[CIO__ROUTER_MAX_PARAMS + 1];
    /* path is NUL-terminated by the caller (the server's decoded path) */
    if (regexec(&rt->re, path.ptr, CIO__ROUTER_MAX_PARAMS + 1, pm, 0) != 0)
        return 0;
    if (m != NULL) {
        m->nparams = rt->nparams;
        for (size_t i = 0; i < rt->nparams; i++) {
            m->params[i].name = rt->names[i];
            m->params[i].value = (struct cio_str){
                path.ptr + pm[i + 1].rm_so,
                (size_t)(pm[i + 1].rm_eo - pm[i + 1].rm_so)};
        }
    }
    return 1;
}

static void allow_add(char *allow, const char *m)
{
    size_t n = strlen(allow);
    if (strstr(allow, m) != NULL)
        return;
    snprintf(allow + n, 128 - n, "%s%s", n ? ", " : "", m);
}

int cio__router_match(const struct cio__router *r, struct cio_str method,
                      struct cio_str path, struct cio__route_match *m)
{
    int any = 0;

    m->allow[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->v[i];
        if (!method_ok(rt->method, method))
            continue;
        if (!path_match(rt, path, m))
            continue;
        m->target = rt->target;
        m->pattern = rt->pattern;
        if (rt->is_static)
            m->nparams = 0;
        return CIO__ROUTE_FOUND;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->v[i];
        if (!path_match(rt, path, NULL))
            continue;
        any = 1;
        if (strcmp(rt->method, "GET") == 0) {
            allow_add(m->allow, "GET");
            allow_add(m->allow, "HEAD");
        } else {
            allow_add(m->allow, rt->method);
        }
    }
    return any ? CIO__ROUTE_NO_METHOD : CIO__ROUTE_NOT_FOUND;
}

ptrdiff_t cio__route_format(const char *pattern, const struct cio_kv *params,
                            char *buf, size_t cap)
{
    size_t o = 0;
    const char *p = pattern;

    while (*p != '\0') {
        if (*p == '{') {
            const char *e = strchr(p, '}'), *colon;
            size_t nl;
            const char *val = NULL;
            if (e == NULL)
                return CIO_EINVAL;
            colon = memchr(p, ':', (size_t)(e - p));
            if (colon != NULL) {
                int depth = 0;
                for (e = colon + 1; *e != '\0'; e++) {
                    if (*e == '{')
                        depth++;
                    else if (*e == '}' && depth-- == 0)
                        break;
                }
            }
            nl = (size_t)((colon != NULL ? colon : e) - p - 1);
            for (size_t i = 0; params != NULL && params[i].name != NULL; i++)
                if (strlen(params[i].name) == nl &&
                    memcmp(params[i].name, p + 1, nl) == 0)
                    val = params[i].value;
            if (val == NULL)
                return cio__err(CIO_EINVAL, "url_for: parameter %.*s missing",
                                (int)nl, p + 1);
            ptrdiff_t k = cio_pct_encode(
                NULL, 0, val, strlen(val),
                colon != NULL ? CIO_PCT_PATH : CIO_PCT_SEGMENT);
            if (k < 0)
                return k;
            if (o + (size_t)k < cap)
                cio_pct_encode(buf + o, cap - o, val, strlen(val),
                               colon != NULL ? CIO_PCT_PATH : CIO_PCT_SEGMENT);
            o += (size_t)k;
            p = *e != '\0' ? e + 1 : e;
            continue;
        }
        if (o + 1 < cap)
            buf[o] = *p;
        o++;
        p++;
    }
    if (o < cap)
        buf[o] = '\0';
    else if (cap > 0)
        buf[cap - 1] = '\0';
    return (ptrdiff_t)o;
}
