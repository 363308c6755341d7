/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the router (src/server/router.c).
 *
 * Input: lines. Until a line that is exactly "--", each line is a route:
 * its first byte picks a method (METHODS[byte % 6]: "0" GET, "1" POST,
 * "2" HEAD, "3" *, "4" PUT, "5" DELETE) and the rest is the pattern.
 * After it, each line is a request: first byte the method, rest the path.
 * Routes the router refuses are dropped; at most MAX_ROUTES are kept and
 * MAX_PATHS requests run.
 *
 * Oracles, for each request, against a brute-force reference that turns
 * every accepted route into one anchored regex for the whole path
 * ("{name}" -> ([^/]+), "{name:re}" -> (re)) and tries them all:
 *   - FOUND exactly when some route accepting the method matches the path;
 *     the route found accepts the method and matches the path;
 *   - NO_METHOD exactly when some route matches but none accepts the
 *     method; Allow lists exactly those routes' methods (HEAD with GET);
 *   - NOT_FOUND exactly when no route matches;
 *   - a match's values put back into its pattern give the path again, and
 *     a "{name}" value is a non-empty segment;
 *   - cio__route_format with those values encodes to the same path when
 *     the values need no encoding;
 *   - the compiled router (kid hash indexes, the static index of whole
 *     static paths) answers exactly as a twin never compiled (plain
 *     walk): same result, same route, same values, same Allow, paths with
 *     NUL bytes included.
 * Every path sits in a buffer of exactly its size (ASan sees over-reads).
 */
#include <assert.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/router.h"

#define MAX_ROUTES 24
#define MAX_PATHS 24

static const char *const METHODS[] = {"GET", "POST", "HEAD",
                                      "*",   "PUT",  "DELETE"};
#define NMETHODS (sizeof METHODS / sizeof METHODS[0])

struct route {
    const char *method;
    char *pattern;
    regex_t full;
};

/* The reference regex of a pattern the router accepted: the same brace
 * scanning as the router, written separately. */
static char *full_regex(const char *pat)
{
    size_t len = strlen(pat);
    char *out = malloc(2 * len + 16 * 17 + 4), *w = out;
    assert(out != NULL);
    *w++ = '^';
    for (size_t i = 0; i < len;) {
        if (pat[i] != '{') {
            if (strchr(".[]()*+?{}|^$\\", pat[i]) != NULL)
                *w++ = '\\';
            *w++ = pat[i++];
            continue;
        }
        size_t j = i + 1;
        while (pat[j] != '}' && pat[j] != ':')
            j++;
        if (pat[j] == '}') {
            memcpy(w, "([^/]+)", 7);
            w += 7;
            i = j + 1;
            continue;
        }
        size_t k = j + 1, depth = 1;
        for (;; k++) {
            if (pat[k] == '\\' && pat[k + 1] != '\0') {
                k++;
                continue;
            }
            if (pat[k] == '{')
                depth++;
            else if (pat[k] == '}' && --depth == 0)
                break;
        }
        *w++ = '(';
        memcpy(w, pat + j + 1, k - j - 1);
        w += k - j - 1;
        *w++ = ')';
        i = k + 1;
    }
    *w++ = '$';
    *w = '\0';
    return out;
}

static int accepts(const char *route_method, const char *m)
{
    return strcmp(route_method, m) == 0 || strcmp(route_method, "*") == 0 ||
           (strcmp(m, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Puts the values back into the pattern; returns the length written. */
static size_t rebuild(const char *pat, const struct cio__route_match *m,
                      char *out, size_t cap)
{
    size_t w = 0, np = 0;
    for (size_t i = 0; pat[i] != '\0';) {
        if (pat[i] != '{') {
            assert(w < cap);
            out[w++] = pat[i++];
            continue;
        }
        size_t k = i + 1, depth = 1;
        for (;; k++) {
            if (pat[k] == '\\' && pat[k + 1] != '\0') {
                k++;
                continue;
            }
            if (pat[k] == '{')
                depth++;
            else if (pat[k] == '}' && --depth == 0)
                break;
        }
        assert(np < m->nparams);
        const struct cio__route_param *p = &m->params[np++];
        /* The name is the one between the braces. */
        assert(strncmp(pat + i + 1, p->name.ptr, p->name.len) == 0);
        if (pat[i + 1 + p->name.len] == '}') {
            assert(p->value.len > 0);
            assert(memchr(p->value.ptr, '/', p->value.len) == NULL);
        }
        assert(w + p->value.len <= cap);
        memcpy(out + w, p->value.ptr, p->value.len);
        w += p->value.len;
        i = k + 1;
    }
    assert(np == m->nparams);
    return w;
}

/* 1 if the value needs no percent-encoding in url_for. */
static int plain(struct cio_str v, int keep_slash)
{
    static const char ok[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "0123456789-._~!$&'()*+,;=:@";
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] == '\0' ||
            (strchr(ok, v.ptr[i]) == NULL && !(keep_slash && v.ptr[i] == '/')))
            return 0;
    return 1;
}

static void check_format(const char *pat, const struct cio__route_match *m,
                         const char *path, size_t len)
{
    struct cio_kv kv[CIO__ROUTER_MAX_PARAMS + 1];
    char names[CIO__ROUTER_MAX_PARAMS][64], vals[CIO__ROUTER_MAX_PARAMS][256];
    for (size_t i = 0; i < m->nparams; i++) {
        const struct cio__route_param *p = &m->params[i];
        if (p->name.len >= 64 || p->value.len >= 256 || !plain(p->value, 1))
            return;
        memcpy(names[i], p->name.ptr, p->name.len);
        names[i][p->name.len] = '\0';
        memcpy(vals[i], p->value.ptr, p->value.len);
        vals[i][p->value.len] = '\0';
        kv[i] = (struct cio_kv){names[i], vals[i]};
    }
    kv[m->nparams] = (struct cio_kv){NULL, NULL};
    char *buf = malloc(len + 1);
    assert(buf != NULL);
    ptrdiff_t n = cio__route_format(pat, kv, buf, len + 1);
    assert(n == (ptrdiff_t)len);
    assert(memcmp(buf, path, len) == 0 && buf[len] == '\0');
    free(buf);
}

static void check_allow(const char *allow, const struct route *routes,
                        size_t nroutes, const int *matched)
{
    char want[256] = "";
    int has[NMETHODS] = {0};
    for (size_t i = 0; i < nroutes; i++) {
        if (!matched[i])
            continue;
        for (size_t k = 0; k < NMETHODS; k++)
            if (strcmp(routes[i].method, METHODS[k]) == 0)
                has[k] = 1;
    }
    if (has[0])
        has[2] = 1; /* HEAD with GET */
    /* METHODS sorted: DELETE GET HEAD POST PUT ("*" never in a 405). */
    static const int order[] = {5, 0, 2, 1, 4};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!has[order[i]])
            continue;
        if (want[0] != '\0')
            strcat(want, ", ");
        strcat(want, METHODS[order[i]]);
    }
    assert(strcmp(allow, want) == 0);
}

/* The compiled router against its never-compiled twin (the walk alone). */
static void check_twin(const struct cio__router *r,
                       const struct cio__router *twin, const char *method,
                       const char *line, size_t len)
{
    char *path = malloc(len > 0 ? len : 1);
    assert(path != NULL);
    memcpy(path, line, len);
    struct cio__route_match a, b;
    int ra = cio__router_match(r, cio_str_c(method),
                               (struct cio_str){path, len}, &a);
    int rb = cio__router_match(twin, cio_str_c(method),
                               (struct cio_str){path, len}, &b);
    assert(ra == rb);
    assert(a.target == b.target);
    assert(strcmp(a.allow, b.allow) == 0);
    if (ra == CIO__ROUTE_FOUND) {
        assert(strcmp(a.pattern, b.pattern) == 0);
        assert(a.nparams == b.nparams);
        for (size_t i = 0; i < a.nparams; i++) {
            assert(a.params[i].value.len == b.params[i].value.len);
            assert(a.params[i].value.len == 0 ||
                   a.params[i].value.ptr == b.params[i].value.ptr);
        }
    }
    free(path);
}

static void run_path(const struct cio__router *r,
                     const struct cio__router *twin, const struct route *routes,
                     size_t nroutes, const char *method, const char *line,
                     size_t len)
{
    check_twin(r, twin, method, line, len);
    /* The reference matcher reads NUL-terminated strings. */
    if (memchr(line, '\0', len) != NULL)
        return;
    char *path = malloc(len > 0 ? len : 1);
    char *z = malloc(len + 1);
    assert(path != NULL && z != NULL);
    memcpy(path, line, len);
    memcpy(z, line, len);
    z[len] = '\0';

    int matched[MAX_ROUTES] = {0}, any = 0, any_ok = 0;
    for (size_t i = 0; i < nroutes; i++) {
        matched[i] = regexec(&routes[i].full, z, 0, NULL, 0) == 0;
        any |= matched[i];
        any_ok |= matched[i] && accepts(routes[i].method, method);
    }

    struct cio__route_match m;
    int rc = cio__router_match(r, cio_str_c(method),
                               (struct cio_str){path, len}, &m);
    if (rc == CIO__ROUTE_FOUND) {
        assert(any_ok);
        size_t idx = (size_t)(uintptr_t)m.target - 1;
        assert(idx < nroutes);
        assert(matched[idx] && accepts(routes[idx].method, method));
        assert(strcmp(m.pattern, routes[idx].pattern) == 0);
        for (size_t i = 0; i < m.nparams; i++)
            assert(
                m.params[i].value.len == 0 ||
                (m.params[i].value.ptr >= path &&
                 m.params[i].value.ptr + m.params[i].value.len <= path + len));
        char *back = malloc(len + 1);
        assert(back != NULL);
        assert(rebuild(m.pattern, &m, back, len + 1) == len);
        assert(memcmp(back, path, len) == 0);
        free(back);
        check_format(m.pattern, &m, path, len);
    } else if (rc == CIO__ROUTE_NO_METHOD) {
        assert(any && !any_ok);
        check_allow(m.allow, routes, nroutes, matched);
    } else {
        assert(rc == CIO__ROUTE_NOT_FOUND);
        assert(!any);
        assert(m.allow[0] == '\0');
    }
    free(z);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    struct cio__router *r, *twin;
    struct route routes[MAX_ROUTES];
    size_t nroutes = 0, npaths = 0;
    int in_paths = 0;

    if (cio__router_new(&r) < 0)
        return 0;
    if (cio__router_new(&twin) < 0) {
        cio__router_free(r);
        return 0;
    }
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
        const char *line = s;
        s += len + (nl != NULL);
        if (!in_paths && len == 2 && memcmp(line, "--", 2) == 0) {
            in_paths = 1;
            cio__router_compile(r);
            continue;
        }
        if (len == 0)
            continue;
        const char *method = METHODS[(unsigned char)line[0] % NMETHODS];
        if (!in_paths) {
            if (nroutes == MAX_ROUTES || memchr(line, '\0', len) != NULL)
                continue;
            char *pat = malloc(len);
            assert(pat != NULL);
            memcpy(pat, line + 1, len - 1);
            pat[len - 1] = '\0';
            struct route *rt = &routes[nroutes];
            if (cio__router_add(r, method, pat,
                                (void *)(uintptr_t)(nroutes + 1)) < 0) {
                free(pat);
                continue;
            }
            /* the same routes, never compiled: matched by the walk alone */
            if (cio__router_add(twin, method, pat,
                                (void *)(uintptr_t)(nroutes + 1)) < 0)
                assert(!"the twin refused a route the router took");
            char *src = full_regex(pat);
            int rc = regcomp(&rt->full, src, REG_EXTENDED | REG_NOSUB);
            free(src);
            assert(rc == 0);
            rt->method = method;
            rt->pattern = pat;
            nroutes++;
        } else if (npaths++ < MAX_PATHS) {
            run_path(r, twin, routes, nroutes, method, line + 1, len - 1);
        }
    }
    cio__router_free(r);
    cio__router_free(twin);
    for (size_t i = 0; i < nroutes; i++) {
        regfree(&routes[i].full);
        free(routes[i].pattern);
    }
    return 0;
}
