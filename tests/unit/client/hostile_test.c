/* SPDX-License-Identifier: MIT */
/*
 * Hostile and broken responses (RELIABILITY.md C.28-33, E.46-50) from the
 * scripted server: each case sends exact bytes and checks the verdict, the
 * body returned, and whether the connection was reused afterwards.
 */
#include "test.h"

#include <zlib.h>

#include "csrv.h"

struct ctx {
    struct csrv srv;
    cio_client *c;
    struct cio_client_opts opts;
};

typedef void (*body_fn)(struct ctx *x);

static int run_main(void *arg)
{
    void **a = arg;
    struct ctx *x = a[0];
    body_fn fn = (body_fn)a[1];
    if (csrv_start(&x->srv) < 0)
        return -1;
    char base[96];
    snprintf(base, sizeof(base), "%s/", x->srv.addr);
    x->opts.base_url = base;
    int rc = cio_client_new(&x->c, &x->opts);
    if (rc == 0) {
        fn(x);
        cio_client_free(x->c);
    }
    csrv_stop(&x->srv);
    return rc;
}

static void run(struct ctx *x, body_fn fn)
{
    void *a[2] = {x, (void *)fn};
    CIO_ASSERT_RC(cio_test_run(run_main, a), 0);
}

static char *gz(const void *in, size_t len, size_t *outlen)
{
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, len) + 64;
    char *out = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Responses by target. */
static int script(struct csrv *s, const struct csrv_req *req,
                  struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    const char *t = req->target;
    if (strcmp(t, "/ok") == 0)
        return csrv_reply(out, 200, NULL, "fine"), 0;
    if (strcmp(t, "/cl_te") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "3\r\nabc\r\n0\r\n\r\n"),
               0;
    if (strcmp(t, "/two_cl") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                    "Content-Length: 6\r\n\r\nhello!"),
               CSRV_CLOSE;
    if (strcmp(t, "/trunc") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                    "\r\nhello"),
               CSRV_CLOSE;
    if (strcmp(t, "/trunc_chunked") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                    "chunked\r\n\r\n5\r\nhello\r\n"),
               CSRV_CLOSE;
    if (strcmp(t, "/close") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\n\r\nuntil close"),
               CSRV_CLOSE;
    if (strcmp(t, "/1xx_many") == 0) {
        for (int i = 0; i < 11; i++)
            cio__buf_printf(out, "HTTP/1.1 102 Processing\r\n\r\n");
        return csrv_reply(out, 200, NULL, "late"), 0;
    }
    if (strcmp(t, "/1xx_few") == 0) {
        for (int i = 0; i < 3; i++)
            cio__buf_printf(out,
                            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
        return csrv_reply(out, 200, NULL, "late"), 0;
    }
    if (strcmp(t, "/101") == 0)
        return cio__buf_printf(out,
                               "HTTP/1.1 101 Switching Protocols\r\n"
                               "Upgrade: x\r\nConnection: upgrade\r\n\r\n"),
               0;
    if (strcmp(t, "/2OO") == 0)
        return cio__buf_printf(out, "HTTP/1.1 2OO OK\r\n\r\n"), CSRV_CLOSE;
    if (strcmp(t, "/noversion") == 0)
        return cio__buf_printf(out, "200 OK\r\n\r\n"), CSRV_CLOSE;
    if (strcmp(t, "/body_after") == 0) /* HEAD and 204 with body bytes */
        return cio__buf_printf(out,
                               "HTTP/1.1 %s\r\nContent-Length: 5\r\n\r\n"
                               "hello",
                               strcmp(req->method, "HEAD") == 0
                                   ? "200 OK"
                                   : "204 No Content"),
               0;
    if (strcmp(t, "/huge_head") == 0) {
        cio__buf_printf(out, "HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 300; i++) {
            cio__buf_printf(out, "X-%d: ", i);
            for (int k = 0; k < 1000; k++)
                cio__buf_append(out, "a", 1);
            cio__buf_append(out, "\r\n", 2);
        }
        return cio__buf_printf(out, "\r\n"), CSRV_CLOSE;
    }
    if (strcmp(t, "/bomb") == 0) {
        size_t n = 8u << 20, zl;
        char *zeros = calloc(1, n);
        char *z = gz(zeros, n, &zl);
        cio__buf_printf(out,
                        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        zl);
        cio__buf_append(out, z, zl);
        free(zeros);
        free(z);
        return 0;
    }
    if (strcmp(t, "/gzip") == 0) {
        size_t zl;
        char *z = gz("hello gzip", 10, &zl);
        cio__buf_printf(out,
                        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        zl);
        cio__buf_append(out, z, zl);
        free(z);
        return 0;
    }
    if (strcmp(t, "/stacked") == 0)
        return csrv_reply(out, 200,
                          "Content-Encoding: gzip, gzip, gzip, gzip, "
                          "gzip, gzip\r\n",
                          "xxxx"),
               0;
    if (strcmp(t, "/xz") == 0)
        return csrv_reply(out, 200, "Content-Encoding: xz\r\n", "rawbytes"), 0;
    if (strcmp(t, "/corrupt") == 0)
        return csrv_reply(out, 200, "Content-Encoding: gzip\r\n",
                          "\x1f\x8b\x08\x00garbage"),
               0;
    if (strcmp(t, "/ctl_cookie") == 0)
        return cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                                    "Set-Cookie: c=\x01x\r\n\r\n"),
               CSRV_CLOSE;
    if (strcmp(t, "/cookies") == 0) {
        cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
        cio__buf_printf(out, "Set-Cookie: a=1; Domain=com\r\n");
        cio__buf_printf(out, "Set-Cookie: b=2; Secure\r\n");
        cio__buf_printf(out, "Set-Cookie: __Host-d=4; Path=/x\r\n");
        cio__buf_printf(out, "Set-Cookie: ok=5\r\n");
        return cio__buf_printf(out, "\r\n"), 0;
    }
    return csrv_reply(out, 404, NULL, "?"), 0;
}

static uint64_t created(struct ctx *x)
{
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    return st.created;
}

static void t_framing(struct ctx *x)
{
    cio_response *r;
    size_t n;
    /* C.28: CL + TE: decoded as chunked, connection not reused. */
    CIO_ASSERT_RC(cio_get(x->c, "/cl_te", NULL, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "abc");
    cio_response_free(r);
    uint64_t c0 = created(x);
    CIO_ASSERT_RC(cio_get(x->c, "/ok", NULL, &r), 0);
    cio_response_free(r);
    cr_expect_eq(created(x), c0 + 1, "CL+TE connection was not reused");
    /* C.28: conflicting CLs. */
    CIO_EXPECT_RC(cio_get(x->c, "/two_cl", NULL, &r), CIO_EPROTO);
    /* C.33: truncated bodies are errors, never successes. */
    CIO_EXPECT_RC(cio_get(x->c, "/trunc", NULL, &r), CIO_EPROTO);
    CIO_EXPECT_RC(cio_get(x->c, "/trunc_chunked", NULL, &r), CIO_EPROTO);
    /* C.33: no framing: until close, not reused. */
    CIO_ASSERT_RC(cio_get(x->c, "/close", NULL, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "until close");
    cio_response_free(r);
    /* C.30: at most 10 interim responses; a few are skipped. */
    CIO_EXPECT_RC(cio_get(x->c, "/1xx_many", NULL, &r), CIO_EPROTO);
    cr_expect(strstr(cio_last_error(), "interim") != NULL, "%s",
              cio_last_error());
    CIO_ASSERT_RC(cio_get(x->c, "/1xx_few", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cr_expect_str_eq(cio_response_body(r, &n), "late");
    cio_response_free(r);
    /* C.30: 101 not asked for. C.31: bad status lines. */
    CIO_EXPECT_RC(cio_get(x->c, "/101", NULL, &r), CIO_EPROTO);
    CIO_EXPECT_RC(cio_get(x->c, "/2OO", NULL, &r), CIO_EPROTO);
    CIO_EXPECT_RC(cio_get(x->c, "/noversion", NULL, &r), CIO_EPROTO);
    /* C.32: HEAD / 204 with body bytes: no body, no reuse. */
    CIO_ASSERT_RC(cio_head(x->c, "/body_after", NULL, &r), 0);
    cr_expect_eq(cio_response_body(r, &n)[0], '\0');
    cr_expect_eq(n, 0);
    cio_response_free(r);
    c0 = created(x);
    CIO_ASSERT_RC(cio_get(x->c, "/body_after", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 204);
    cr_expect_eq(cio_response_body(r, &n)[0], '\0');
    cio_response_free(r);
    cr_expect_eq(created(x), c0 + 1, "HEAD connection with stray bytes closed");
    CIO_ASSERT_RC(cio_get(x->c, "/ok", NULL, &r), 0);
    cio_response_free(r);
    cr_expect_eq(created(x), c0 + 2, "204 connection with stray bytes closed");
    /* C.29: a 300 KiB header section: error at the limit. */
    int rc = cio_get(x->c, "/huge_head", NULL, &r);
    cr_expect(rc == CIO_ETOOBIG || rc == CIO_EPROTO, "%s", cio_errname(rc));
}

Test(client_hostile, framing)
{
    struct ctx x = {.srv.fn = script};
    run(&x, t_framing);
    cio_test_no_leaks();
}

static void t_coding(struct ctx *x)
{
    cio_response *r;
    size_t n;
    CIO_ASSERT_RC(cio_get(x->c, "/gzip", NULL, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "hello gzip");
    cio_response_free(r);
    /* E.46: 8 MiB of zeros against a 1 MiB cap. */
    CIO_EXPECT_RC(cio_get(x->c, "/bomb", NULL, &r), CIO_ETOOBIG);
    /* Streaming: exactly the cap is handed out, then the error. */
    CIO_ASSERT_RC(
        cio_get(x->c, "/bomb", &(struct cio_request){.stream = true}, &r), 0);
    char *buf = malloc(65536);
    size_t total = 0;
    ptrdiff_t k;
    while ((k = cio_response_read(r, buf, 65536)) > 0)
        total += (size_t)k;
    CIO_EXPECT_RC(k, CIO_ETOOBIG);
    cr_expect_eq(total, 1u << 20);
    cio_response_free(r);
    /* E.47: more than 5 codings. */
    CIO_EXPECT_RC(cio_get(x->c, "/stacked", NULL, &r), CIO_ECODING);
    /* E.50: unknown coding: raw body. */
    CIO_ASSERT_RC(cio_get(x->c, "/xz", NULL, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "rawbytes");
    CIO_EXPECT_RC(cio_response_error(r), CIO_ENOTSUP);
    cio_response_free(r);
    /* E.48: corrupt gzip: error, no hang. */
    CIO_EXPECT_RC(cio_get(x->c, "/corrupt", NULL, &r), CIO_ECODING);
    /* Raw reads keep the coding. */
    CIO_ASSERT_RC(
        cio_get(x->c, "/gzip", &(struct cio_request){.stream = true}, &r), 0);
    k = cio_response_read_raw(r, buf, 65536);
    cr_expect(k > 10 && (unsigned char)buf[0] == 0x1f, "gzip magic");
    cio_response_free(r);
    free(buf);
}

Test(client_hostile, content_coding)
{
    struct ctx x = {.srv.fn = script, .opts.max_body = 1u << 20};
    run(&x, t_coding);
    cio_test_no_leaks();
}

static void t_cookies(struct ctx *x)
{
    cio_response *r;
    /* C.35: a control byte in Set-Cookie: the strict head parser refuses
     * the whole response, so the cookie can never be stored. */
    CIO_EXPECT_RC(cio_get(x->c, "/ctl_cookie", NULL, &r), CIO_EPROTO);
    CIO_ASSERT_RC(cio_get(x->c, "/cookies", NULL, &r), 0);
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(x->c, "/ok", NULL, &r), 0);
    cio_response_free(r);
    /* C.35-37: public suffix, Secure over http, CTL, __Host- rules. */
    cr_expect(strstr(x->srv.last.head, "\r\nCookie: ok=5\r\n") != NULL, "%s",
              x->srv.last.head);
}

Test(client_hostile, cookies_refused)
{
    struct ctx x = {.srv.fn = script};
    run(&x, t_cookies);
    cio_test_no_leaks();
}

/* The same responses cut into 1- and 7-byte writes: every parser and
 * decoder state of the client resumes across reads. */
static int trickled(struct csrv *s, const struct csrv_req *req,
                    struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    if (strcmp(req->target, "/chunked_gzip") == 0) {
        size_t zl;
        char *z = gz("trickled chunked gzip body\nline two\n", 36, &zl);
        cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n");
        size_t half = zl / 2;
        cio__buf_printf(out, "%zx\r\n", half);
        cio__buf_append(out, z, half);
        cio__buf_printf(out, "\r\n%zx;ext=1\r\n", zl - half);
        cio__buf_append(out, z + half, zl - half);
        cio__buf_printf(out, "\r\n0\r\nX-Trailer: t\r\n\r\n");
        free(z);
        return 0;
    }
    return csrv_reply(out, 200, "X-A: 1\r\n", "plain trickled"), 0;
}

static void t_trickle(struct ctx *x)
{
    for (int i = 0; i < 2; i++) {
        cio_response *r;
        size_t n;
        CIO_ASSERT_RC(cio_get(x->c, "/chunked_gzip", NULL, &r), 0);
        cr_expect_str_eq(cio_response_body(r, &n),
                         "trickled chunked gzip body\nline two\n");
        cio_response_free(r);
        CIO_ASSERT_RC(
            cio_get(x->c, "/plain", &(struct cio_request){.stream = true}, &r),
            0);
        const char *l;
        CIO_ASSERT_RC(cio_response_read_line(r, &l, &n, 0), 1);
        cr_expect_str_eq(l, "plain trickled");
        CIO_EXPECT_RC(cio_response_read_line(r, &l, &n, 0), 0);
        cio_response_free(r);
    }
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 1, "every trickled response ended cleanly");
}

Test(client_hostile, trickled_1_byte)
{
    struct ctx x = {.srv.fn = trickled, .srv.trickle = 1};
    run(&x, t_trickle);
    cio_test_no_leaks();
}

Test(client_hostile, trickled_7_bytes)
{
    struct ctx x = {.srv.fn = trickled, .srv.trickle = 7};
    run(&x, t_trickle);
    cio_test_no_leaks();
}
