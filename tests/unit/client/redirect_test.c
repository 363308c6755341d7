/* SPDX-License-Identifier: MIT */
/*
 * Redirect policy: method rewriting (RFC 9110 §15.4), Location resolution,
 * refused schemes and cross-origin credential stripping (RELIABILITY.md
 * D.38-D.41).
 */
#include "test.h"
#include "client/redirect.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static const struct rcase {
    const char *method;
    int status;
    const char *cur, *loc;
    bool has_body, replayable;
    int rc;
    const char *want_url, *want_method;
    int drop_body, cross, downgrade;
} cases[] = {
    /* Method rewriting. */
    {"POST", 301, "http://a/x", "/y", true, true, 0, "http://a/y", "GET", 1, 0,
     0},
    {"POST", 302, "http://a/x", "/y", true, true, 0, "http://a/y", "GET", 1, 0,
     0},
    {"POST", 303, "http://a/x", "/y", true, true, 0, "http://a/y", "GET", 1, 0,
     0},
    {"PUT", 303, "http://a/x", "/y", true, true, 0, "http://a/y", "GET", 1, 0,
     0},
    {"HEAD", 303, "http://a/x", "/y", false, true, 0, "http://a/y", "HEAD", 1,
     0, 0},
    {"PUT", 302, "http://a/x", "/y", true, true, 0, "http://a/y", "PUT", 0, 0,
     0},
    {"POST", 307, "http://a/x", "/y", true, true, 0, "http://a/y", "POST", 0, 0,
     0},
    {"POST", 308, "http://a/x", "/y", true, true, 0, "http://a/y", "POST", 0, 0,
     0},
    {"GET", 301, "http://a/x", "/y", false, true, 0, "http://a/y", "GET", 1, 0,
     0},
    /* A streamed body cannot be sent twice: 307/308 fail, 303 drops it. */
    {"POST", 307, "http://a/x", "/y", true, false, CIO_EREDIRECT, "replayed",
     NULL, 0, 0, 0},
    {"POST", 303, "http://a/x", "/y", true, false, 0, "http://a/y", "GET", 1, 0,
     0},
    /* Resolution. */
    {"GET", 302, "http://a/b/c?q", "d", false, true, 0, "http://a/b/d", "GET",
     1, 0, 0},
    {"GET", 302, "http://a/b/c", "?z=1", false, true, 0, "http://a/b/c?z=1",
     "GET", 1, 0, 0},
    {"GET", 302, "http://a/b/c", "//b:81/", false, true, 0, "http://b:81/",
     "GET", 1, 1, 0},
    {"GET", 302, "http://a/", "  /t  ", false, true, 0, "http://a/t", "GET", 1,
     0, 0},
    /* Origins (D.38, D.39): host, port, scheme each make it cross-origin. */
    {"GET", 302, "http://a/", "http://b/", false, true, 0, "http://b/", "GET",
     1, 1, 0},
    {"GET", 302, "http://a/", "http://a:8080/", false, true, 0,
     "http://a:8080/", "GET", 1, 1, 0},
    {"GET", 302, "http://a/", "https://a/", false, true, 0, "https://a/", "GET",
     1, 1, 0},
    {"GET", 302, "https://a/", "http://a/", false, true, 0, "http://a/", "GET",
     1, 1, 1},
    {"GET", 302, "http://A:80/", "http://a/z", false, true, 0, "http://a/z",
     "GET", 1, 0, 0},
    {"GET", 302, "http://a/", "HTTP://A/z", false, true, 0, "http://a/z", "GET",
     1, 0, 0},
    /* Refused targets (D.41). */
    {"GET", 302, "http://a/", "file:///etc/passwd", false, true, CIO_EREDIRECT,
     "\"file\" refused", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "ftp://a/x", false, true, CIO_EREDIRECT,
     "\"ftp\" refused", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "data:text/plain,hi", false, true, CIO_EREDIRECT,
     "\"data\" refused", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "javascript:alert(1)", false, true, CIO_EREDIRECT,
     "\"javascript\" refused", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "ws://a/", false, true, CIO_EREDIRECT,
     "\"ws\" refused", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "", false, true, CIO_EREDIRECT, "empty Location",
     NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "http://a b/", false, true, CIO_EREDIRECT,
     "bad Location", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "http:x", false, true, CIO_EREDIRECT,
     "bad Location", NULL, 0, 0, 0},
    {"GET", 302, "http://a/", "/a\r\nEvil: 1", false, true, CIO_EREDIRECT,
     "bad Location", NULL, 0, 0, 0},
    {"GET", 200, "http://a/", "/x", false, true, CIO_EINVAL, "not a redirect",
     NULL, 0, 0, 0},
};

Test(redirect, cases)
{
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        const struct rcase *c = &cases[i];
        cio_url *cur;
        CIO_ASSERT_RC(cio_url_parse(&cur, c->cur, strlen(c->cur), NULL), 0);
        struct cio__redirect r = {0};
        int rc = cio__redirect_next(&r, c->method, c->status, cur, c->loc,
                                    strlen(c->loc), c->has_body, c->replayable);
        cr_expect_eq(rc, c->rc, "case %zu (%s %d %s): got %s want %s", i,
                     c->method, c->status, c->loc, cio_errname(rc),
                     cio_errname(c->rc));
        if (rc == 0 && c->rc == 0) {
            cr_expect_str_eq(cio_url_href(r.url), c->want_url, "case %zu", i);
            cr_expect_str_eq(r.method, c->want_method, "case %zu", i);
            cr_expect_eq(r.drop_body, c->drop_body, "case %zu drop_body", i);
            cr_expect_eq(r.cross_origin, c->cross, "case %zu cross", i);
            cr_expect_eq(r.downgrade, c->downgrade, "case %zu downgrade", i);
            cio_url_free(r.url);
        } else if (rc < 0) {
            cr_expect(strstr(cio_last_error(), c->want_url) != NULL,
                      "case %zu: message \"%s\" lacks \"%s\"", i,
                      cio_last_error(), c->want_url);
        }
        cio_url_free(cur);
    }
    cio_test_no_leaks();
}

/* D.38: every credential header, whatever its case, goes on a cross-origin
 * hop; the rest of the headers stay. */
Test(redirect, strip_cross_origin_credentials_any_case)
{
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, NULL), 0);
    cio_headers_add(h, "authorization", "Basic eDp5");
    cio_headers_add(h, "COOKIE", "a=1");
    cio_headers_add(h, "Proxy-Authorization", "Basic eDp5");
    cio_headers_add(h, "Host", "a");
    cio_headers_add(h, "X-Keep", "1");
    cio_headers_add(h, "Content-Type", "text/plain");
    struct cio__redirect r = {.cross_origin = 1};
    cio__redirect_strip(h, &r);
    cr_expect_eq(cio_headers_count(h), 2);
    cr_expect_str_eq(cio_headers_get(h, "x-keep"), "1");
    cr_expect_str_eq(cio_headers_get(h, "content-type"), "text/plain");

    struct cio__redirect same = {.drop_body = 1};
    cio_headers_add(h, "Authorization", "Bearer t");
    cio_headers_add(h, "Content-Length", "3");
    cio_headers_add(h, "transfer-encoding", "chunked");
    cio__redirect_strip(h, &same);
    cr_expect_str_eq(cio_headers_get(h, "Authorization"), "Bearer t");
    cr_expect_null(cio_headers_get(h, "Content-Type"));
    cr_expect_null(cio_headers_get(h, "Content-Length"));
    cr_expect_null(cio_headers_get(h, "Transfer-Encoding"));
    cio_headers_free(h);
    cio_test_no_leaks();
}

/* D.41: a loop ends with a typed error naming the limit. */
Test(redirect, limit_message)
{
    CIO_EXPECT_RC(cio__redirect_limit(20), CIO_EREDIRECT);
    cr_expect_str_eq(cio_last_error(), "too many redirects (20)");
}
