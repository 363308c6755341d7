/* SPDX-License-Identifier: MIT */
/*
 * The router's static index (static_build in src/server/router.c: every
 * all-static route by its whole path, with a fall back to the walk when the
 * route lacks the method) answers exactly as the walk alone: a compiled
 * router against its never-compiled twin, for routers with no route, with
 * 10,000, and compiled while each allocation in turn fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "base/alloc.h"
#include "server/router.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define T(i) ((void *)(uintptr_t)((i) + 1))

struct rdef {
    const char *method, *pattern;
};

static const struct rdef ROUTES[] = {
    {"GET", "/"},
    {"POST", "/a/b"},
    {"GET", "/a/{x}"},
    {"HEAD", "/h"},
    {"GET", "/h"},
    {"*", "/any"},
    {"GET", "/any"},
    {"PUT", "/s/"},
    {"GET", "/s/{x}"},
    {"GET", "/e//f"},
    {"GET", "/e/{x}/f"},
    {"GET", "/Case"},
    {"GET", "/p%41"},
    {"DELETE", "/deep/one/two/three"},
    {"GET", "/deep/{a}/two/{b}"},
    {"GET", "/files/{rest:.+}"},
    {"POST", "/files/x"},
    {"GET", "/r/{id:[0-9]+}"},
    {"PATCH", "/r/12"},
};

static const char *const METHODS[] = {"GET",    "HEAD",  "POST",   "PUT",
                                      "DELETE", "PATCH", "OPTIONS"};

static const char *const PATHS[] = {
    "/",
    "//",
    "/a/b",
    "/a/b/",
    "/a/c",
    "/A/b",
    "/a//b",
    "/h",
    "/H",
    "/h/",
    "/any",
    "/any/",
    "/s/",
    "/s",
    "/s//",
    "/s/x",
    "/e//f",
    "/e/x/f",
    "/e/f",
    "/case",
    "/Case",
    "/p%41",
    "/pA",
    "/p%61",
    "/deep/one/two/three",
    "/deep/one/two/thre",
    "/deep/x/two/three",
    "/files/x",
    "/files/x/y",
    "/r/12",
    "/r/13",
    "/r/1a",
    "",
    "a/b",
    "/a/b\0",
    "/h\0",
    "\0/h",
};

static void add_all(struct cio__router *r)
{
    for (size_t i = 0; i < COUNTOF(ROUTES); i++)
        CIO_ASSERT_RC(
            cio__router_add(r, ROUTES[i].method, ROUTES[i].pattern, T(i)), 0);
}

/* path[0..len) by method on r and on twin: the same answer. */
static void same(const struct cio__router *r, const struct cio__router *twin,
                 const char *method, const char *path, size_t len,
                 const char *what)
{
    struct cio__route_match a, b;
    int ra = cio__router_match(r, cio_str_c(method),
                               (struct cio_str){path, len}, &a);
    int rb = cio__router_match(twin, cio_str_c(method),
                               (struct cio_str){path, len}, &b);
    cr_assert_eq(ra, rb, "%s: %s %.*s", what, method, (int)len, path);
    cr_assert_eq(a.target, b.target, "%s: %s %.*s", what, method, (int)len,
                 path);
    cr_assert_str_eq(a.allow, b.allow, "%s: %s %.*s", what, method, (int)len,
                     path);
    cr_assert_eq(a.nparams, b.nparams);
    for (size_t i = 0; ra == CIO__ROUTE_FOUND && i < a.nparams; i++) {
        cr_assert_eq(a.params[i].value.len, b.params[i].value.len);
        cr_assert(a.params[i].value.len == 0 ||
                  a.params[i].value.ptr == b.params[i].value.ptr);
    }
}

static void same_all(const struct cio__router *r,
                     const struct cio__router *twin, const char *what)
{
    for (size_t p = 0; p < COUNTOF(PATHS); p++) {
        /* the table's NUL cases: the byte after the visible text counts */
        size_t len = strlen(PATHS[p]);
        if (len == 0 && p == COUNTOF(PATHS) - 1)
            len = 3;
        else if (p >= COUNTOF(PATHS) - 3)
            len++;
        for (size_t m = 0; m < COUNTOF(METHODS); m++)
            same(r, twin, METHODS[m], PATHS[p], len, what);
    }
}

Test(router_static, same_answers_as_the_walk)
{
    struct cio__router *r, *twin;
    CIO_ASSERT_RC(cio__router_new(&r), 0);
    CIO_ASSERT_RC(cio__router_new(&twin), 0);
    add_all(r);
    add_all(twin);
    CIO_ASSERT_RC(cio__router_compile(r), 0);
    same_all(r, twin, "compiled");
    /* a few answers pinned down, not only compared */
    struct cio__route_match m;
    cr_expect_eq(cio__router_match(r, cio_str_c("GET"), cio_str_c("/a/b"), &m),
                 CIO__ROUTE_FOUND);
    cr_expect_eq(m.target, T(2)); /* the method fallback: /a/{x} */
    cr_expect_eq(cio__router_match(r, cio_str_c("HEAD"), cio_str_c("/h"), &m),
                 CIO__ROUTE_FOUND);
    cr_expect_eq(m.target, T(3)); /* an explicit HEAD before GET */
    cr_expect_eq(
        cio__router_match(r, cio_str_c("OPTIONS"), cio_str_c("/any"), &m),
        CIO__ROUTE_FOUND);
    cr_expect_eq(m.target, T(5));
    cr_expect_eq(cio__router_match(r, cio_str_c("GET"),
                                   cio_str_c("/deep/one/two/three"), &m),
                 CIO__ROUTE_FOUND);
    cr_expect_eq(m.target, T(14));
    cr_expect_eq(cio__router_match(r, cio_str_c("PUT"),
                                   cio_str_c("/deep/one/two/three"), &m),
                 CIO__ROUTE_NO_METHOD);
    cr_expect_str_eq(m.allow, "DELETE, GET, HEAD");
    cio__router_free(r);
    cio__router_free(twin);
}

Test(router_static, no_routes)
{
    struct cio__router *r;
    CIO_ASSERT_RC(cio__router_new(&r), 0);
    CIO_ASSERT_RC(cio__router_compile(r), 0);
    struct cio__route_match m;
    for (size_t p = 0; p < COUNTOF(PATHS); p++)
        cr_expect_eq(
            cio__router_match(r, cio_str_c("GET"), cio_str_c(PATHS[p]), &m),
            CIO__ROUTE_NOT_FOUND);
    cio__router_free(r);
}

static int fail_at;
static int fail_nth(size_t size)
{
    (void)size;
    return fail_at-- == 0;
}

/* Each allocation of compile in turn fails: compile still succeeds and
 * every answer is the walk's (an index it could not build is not used). */
Test(router_static, allocation_failures_in_compile)
{
    struct cio__router *twin;
    CIO_ASSERT_RC(cio__router_new(&twin), 0);
    add_all(twin);
    for (int n = 0; n < 200; n++) {
        struct cio__router *r;
        CIO_ASSERT_RC(cio__router_new(&r), 0);
        add_all(r);
        fail_at = n;
        cio__alloc_fail_hook = fail_nth;
        int rc = cio__router_compile(r);
        cio__alloc_fail_hook = NULL;
        CIO_ASSERT_RC(rc, 0);
        char what[32];
        snprintf(what, sizeof what, "allocation %d failed", n);
        same_all(r, twin, what);
        cio__router_free(r);
    }
    cio__router_free(twin);
}

/* 10,000 static routes beside parameter routes; long and deep paths. */
Test(router_static, ten_thousand_routes)
{
    enum { N = 10000 };
    struct cio__router *r, *twin;
    CIO_ASSERT_RC(cio__router_new(&r), 0);
    CIO_ASSERT_RC(cio__router_new(&twin), 0);
    char pat[96];
    for (int i = 0; i < N; i++) {
        snprintf(pat, sizeof pat, "/v%d/res%d%s", i % 7, i,
                 i % 3 == 0 ? "/" : "");
        const char *method = i % 5 == 0 ? "POST" : "GET";
        CIO_ASSERT_RC(cio__router_add(r, method, pat, T(i)), 0);
        CIO_ASSERT_RC(cio__router_add(twin, method, pat, T(i)), 0);
    }
    CIO_ASSERT_RC(cio__router_add(r, "GET", "/v0/{x}", T(N)), 0);
    CIO_ASSERT_RC(cio__router_add(twin, "GET", "/v0/{x}", T(N)), 0);
    CIO_ASSERT_RC(cio__router_add(r, "*", "/v1/{x}/", T(N + 1)), 0);
    CIO_ASSERT_RC(cio__router_add(twin, "*", "/v1/{x}/", T(N + 1)), 0);
    CIO_ASSERT_RC(cio__router_compile(r), 0);
    for (int i = 0; i < N + 50; i += 7) {
        for (int v = 0; v < 7; v++) {
            char path[96];
            int len = snprintf(path, sizeof path, "/v%d/res%d/", v, i);
            for (size_t m = 0; m < 3; m++) {
                same(r, twin, METHODS[m], path, (size_t)len, "wide");
                same(r, twin, METHODS[m], path, (size_t)len - 1, "wide");
            }
        }
    }
    static char longp[70000];
    for (size_t i = 0; i < sizeof longp; i++)
        longp[i] = i % 3 == 0 ? '/' : 'x';
    for (size_t m = 0; m < 3; m++) {
        same(r, twin, METHODS[m], longp, sizeof longp, "long");
        same(r, twin, METHODS[m], "/v0/res0/", 9, "short");
    }
    cio__router_free(r);
    cio__router_free(twin);
}
