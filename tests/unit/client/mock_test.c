/* SPDX-License-Identifier: MIT */
/*
 * The mock transport (no sockets): the handler sees the final request and
 * answers; cookies and content decoding apply as with a server. cio_fetch,
 * the blocking one-call API, runs its own loop. A streaming response never
 * freed is reported (debug builds) when the client is freed.
 */
#include "test.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

static int calls;

static int handler(const cio_request_info *req, cio_mock_resp *m, void *ud)
{
    (void)ud;
    calls++;
    const char *url = cio_request_info_url(req);
    const cio_headers *h = cio_request_info_headers(req);
    if (strstr(url, "/login") != NULL) {
        cio_mock_header(m, "Set-Cookie", "sid=s1; Path=/");
        return cio_mock_body(m, "in", 2);
    }
    if (strstr(url, "/whoami") != NULL) {
        const char *ck = cio_headers_get(h, "Cookie");
        cio_mock_status(m, ck != NULL ? 200 : 401);
        return cio_mock_body(m, ck != NULL ? ck : "",
                             ck != NULL ? strlen(ck) : 0);
    }
    if (strstr(url, "/echo") != NULL) {
        size_t n;
        const void *b = cio_request_info_body(req, &n);
        char line[256];
        int k = snprintf(line, sizeof(line), "%s %s %zu %s",
                         cio_request_info_method(req), url, n,
                         cio_headers_get(h, "Content-Type") ?: "-");
        cio_mock_body(m, line, (size_t)k);
        cio_mock_body(m, "|", 1);
        return cio_mock_body(m, b, n);
    }
    if (strstr(url, "/gz") != NULL) {
        unsigned char out[128];
        z_stream z = {0};
        deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)"compressed!";
        z.avail_in = 11;
        z.next_out = out;
        z.avail_out = sizeof(out);
        deflate(&z, Z_FINISH);
        size_t n = sizeof(out) - z.avail_out;
        deflateEnd(&z);
        cio_mock_header(m, "Content-Encoding", "gzip");
        return cio_mock_body(m, out, n);
    }
    if (strstr(url, "/fail") != NULL)
        return CIO_ECONNREFUSED;
    cio_mock_status(m, 404);
    return 0;
}

static int mock_main(void *arg)
{
    (void)arg;
    cio_client *c;
    CIO_ASSERT_RC(cio_client_new(&c,
                                 &(struct cio_client_opts){
                                     .base_url = "https://api.example.test/v1/",
                                     .mock = handler}),
                  0);
    cio_response *r;
    size_t n;
    CIO_ASSERT_RC(cio_get(c, "whoami", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 401);
    cio_response_free(r);
    CIO_ASSERT_RC(cio_post(c, "login", NULL, &r), 0);
    cr_expect_str_eq(cio_response_cookie(r, "sid"), "s1");
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(c, "whoami", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cr_expect_str_eq(cio_response_body(r, &n), "sid=s1");
    cr_expect_str_eq(cio_response_url(r), "https://api.example.test/v1/whoami");
    cio_response_free(r);
    CIO_ASSERT_RC(
        cio_post(c, "echo?a=1", &(struct cio_request){.json = "[1]"}, &r), 0);
    cr_expect_str_eq(
        cio_response_body(r, &n),
        "POST https://api.example.test/v1/echo?a=1 3 application/json|[1]");
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(c, "gz", NULL, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "compressed!");
    cio_response_free(r);
    CIO_ASSERT_RC(cio_head(c, "gz", NULL, &r), 0);
    cr_expect_eq(cio_response_body(r, &n)[0], '\0');
    cio_response_free(r);
    CIO_EXPECT_RC(cio_get(c, "fail", NULL, &r), CIO_ECONNREFUSED);
    /* Prepared requests can be changed and sent twice. */
    cio_prepared *p;
    CIO_ASSERT_RC(cio_prepare(c,
                              &(struct cio_request){.method = "PUT",
                                                    .url = "echo",
                                                    .body = "xy",
                                                    .body_len = 2},
                              &p),
                  0);
    CIO_ASSERT_RC(
        cio_headers_set(cio_prepared_headers(p), "Content-Type", "a/b"), 0);
    for (int i = 0; i < 2; i++) {
        CIO_ASSERT_RC(cio_send(c, p, &r), 0);
        cr_expect_str_eq(cio_response_body(r, &n),
                         "PUT https://api.example.test/v1/echo 2 a/b|xy");
        cio_response_free(r);
    }
    cio_prepared_free(p);
    cio_client_free(c);
    return 0;
}

Test(client_mock, requests_cookies_decoding)
{
    calls = 0;
    CIO_ASSERT_RC(cio_test_run(mock_main, NULL), 0);
    cr_expect_eq(calls, 9);
    cio_test_no_leaks();
}

Test(client_mock, fetch_blocking)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_fetch(&(struct cio_request){.url = "http://x.test/gz"},
                            &(struct cio_client_opts){.mock = handler}, &r),
                  0);
    size_t n;
    cr_expect_str_eq(cio_response_body(r, &n), "compressed!");
    cr_expect_eq(cio_response_status(r), 200);
    cio_response_free(r);
    CIO_EXPECT_RC(cio_fetch(&(struct cio_request){.url = "http://x.test/fail"},
                            &(struct cio_client_opts){.mock = handler}, &r),
                  CIO_ECONNREFUSED);
    CIO_EXPECT_RC(cio_fetch(&(struct cio_request){.url = "http://x.test/",
                                                  .stream = true},
                            NULL, &r),
                  CIO_EINVAL);
    cio_test_no_leaks();
}

/* ------------------------------------------------------- unfreed streams */

static int leak_main(void *arg)
{
    (void)arg;
    /* A real socket is needed for a response that holds a connection. */
    cio_listener *ln;
    CIO_ASSERT_RC(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", cio_listener_port(ln));
    cio_client *c;
    CIO_ASSERT_RC(cio_client_new(&c, NULL), 0);
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    cio_stream *s = NULL;
    struct {
        cio_listener *ln;
        cio_stream **s;
    } a = {ln, &s};
    (void)a;
    cio_response *r = NULL;
    /* serve one response by hand from a helper task */
    void srv(void *p);
    CIO_ASSERT_RC(cio_go(g, srv, ln), 0);
    CIO_ASSERT_RC(cio_get(c, url, &(struct cio_request){.stream = true}, &r),
                  0);
    cio_client_free(c);   /* r is never freed before this: reported */
    cio_response_free(r); /* still valid afterwards (orphaned) */
    cio_group_cancel(g);
    cio_group_free(g);
    cio_listener_close(ln);
    return 0;
}

void srv(void *p)
{
    cio_listener *ln = p;
    cio_stream *s;
    if (cio_listener_accept(ln, &s, cio_after(5000)) < 0)
        return;
    char buf[1024];
    cio_stream_read(s, buf, sizeof(buf), cio_after(5000));
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab";
    cio_stream_write(s, resp, strlen(resp), cio_after(5000));
    cio_sleep(cio_after(10000));
    cio_stream_close(s);
}

Test(client_mock, unfreed_stream_reported)
{
    /* Capture stderr in a file. */
    char path[] = "/tmp/cio_client_leakXXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    int rc = cio_test_run(leak_main, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char out[1024] = {0};
    pread(fd, out, sizeof(out) - 1, 0);
    close(fd);
    unlink(path);
    CIO_ASSERT_RC(rc, 0);
#ifndef NDEBUG
    cr_expect(strstr(out, "streaming response never freed (opened at 0x") !=
                  NULL,
              "stderr: %s", out);
#endif
    cio_test_no_leaks();
}

/* ------------------------------------------------------- text charsets */

static int text_handler(const cio_request_info *req, cio_mock_resp *m, void *ud)
{
    (void)ud;
    const char *url = cio_request_info_url(req);
    if (strstr(url, "latin1") != NULL) {
        cio_mock_header(m, "Content-Type", "text/plain; charset=ISO-8859-1");
        return cio_mock_body(m, "caf\xe9", 4);
    }
    if (strstr(url, "koi8") != NULL) {
        cio_mock_header(m, "Content-Type", "text/plain; charset=koi8-r");
        return cio_mock_body(m, "x", 1);
    }
    cio_mock_header(m, "Content-Type", "application/json");
    return cio_mock_body(m, "{not json", 9);
}

static int text_main(void *arg)
{
    (void)arg;
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(&c, &(struct cio_client_opts){.mock = text_handler}), 0);
    cio_response *r;
    const char *t;
    size_t n;
    CIO_ASSERT_RC(cio_get(c, "http://m.test/latin1", NULL, &r), 0);
    CIO_ASSERT_RC(cio_response_text(r, &t, &n), 0);
    cr_expect_str_eq(t, "caf\xc3\xa9");
    cr_expect_eq(n, 5);
    cr_expect_eq(cio_response_history(r), 0);
    CIO_EXPECT_RC(cio_response_history_at(r, 0, NULL, NULL), CIO_EINVAL);
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(c, "http://m.test/koi8", NULL, &r), 0);
    CIO_EXPECT_RC(cio_response_text(r, &t, &n), CIO_ENOTSUP);
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(c, "http://m.test/json", NULL, &r), 0);
    struct json_t *j;
    CIO_EXPECT_RC(cio_response_json(r, &j), CIO_EPROTO);
    cio_response_free(r);
    cio_client_free(c);
    return 0;
}

Test(client_mock, text_charsets_and_json_errors)
{
    CIO_ASSERT_RC(cio_test_run(text_main, NULL), 0);
    cio_test_no_leaks();
}

/* ------------------------------------------------------- cookie file */

static int ck_handler(const cio_request_info *req, cio_mock_resp *m, void *ud)
{
    char *seen = ud;
    const char *ck = cio_headers_get(cio_request_info_headers(req), "Cookie");
    snprintf(seen, 256, "%s", ck != NULL ? ck : "");
    if (strstr(cio_request_info_url(req), "/set") != NULL)
        cio_mock_header(m, "Set-Cookie", "keep=1; Max-Age=3600; Path=/");
    return 0;
}

static int ck_main(void *arg)
{
    const char *path = arg;
    char seen[256];
    cio_client *c;
    cio_response *r;
    CIO_ASSERT_RC(
        cio_client_new(
            &c,
            &(struct cio_client_opts){
                .mock = ck_handler,
                .mock_ud = seen,
                .cookie_file = path,
                .cookies = (struct cio_kv[]){{"everywhere", "e"}, {0}}}),
        0);
    CIO_ASSERT_RC(cio_get(c, "http://a.test/set", NULL, &r), 0);
    cio_response_free(r);
    cio_client_free(c); /* saves the file */
    CIO_ASSERT_RC(
        cio_client_new(&c, &(struct cio_client_opts){.mock = ck_handler,
                                                     .mock_ud = seen,
                                                     .cookie_file = path}),
        0);
    CIO_ASSERT_RC(cio_get(c, "http://a.test/x",
                          &(struct cio_request){
                              .cookies = (struct cio_kv[]){{"req", "r"}, {0}}},
                          &r),
                  0);
    cio_response_free(r);
    cr_expect_str_eq(seen, "keep=1; req=r");
    CIO_ASSERT_RC(cio_get(c, "http://b.test/x", NULL, &r), 0);
    cio_response_free(r);
    cr_expect_str_eq(seen, "", "host-only cookie not sent to another host");
    cio_client_free(c);
    return 0;
}

Test(client_mock, cookie_file_persisted)
{
    char path[] = "/tmp/cio_cookiesXXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path); /* a missing file is fine: created at free */
    CIO_ASSERT_RC(cio_test_run(ck_main, path), 0);
    char buf[2048] = {0};
    fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cr_expect(read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    unlink(path);
    cr_expect(strstr(buf, "a.test\tFALSE\t/\tFALSE\t") != NULL, "%s", buf);
    cr_expect(strstr(buf, "\tkeep\t1") != NULL, "%s", buf);
    cio_test_no_leaks();
}

/* A creation that fails early (a bad option checked first) frees what it
 * made without touching lists and the pool it never set up. */
static int bad_opts_main(void *arg)
{
    (void)arg;
    cio_client *c = NULL;
    cr_expect_lt(cio_client_new(
                     &c, &(struct cio_client_opts){.base_url = "http://[bad"}),
                 0);
    cr_expect_null(c);
    cr_expect_eq(cio_client_new(&c,
                                &(struct cio_client_opts){
                                    .mock = handler,
                                    .tls.cert_file = "/nonexistent/cert.pem"}) <
                     0,
                 1);
    cr_expect_null(c);
    return 0;
}

Test(client_mock, new_fails_cleanly)
{
    CIO_ASSERT_RC(cio_test_run(bad_opts_main, NULL), 0);
}

/* Framing fields a caller puts into a prepared request's headers never
 * reach the wire next to the ones the client computes from the body: two
 * disagreeing Content-Lengths (or one beside chunked) is request
 * smuggling. */
static int framing_handler(const cio_request_info *req, cio_mock_resp *m,
                           void *ud)
{
    int *seen = ud;
    const cio_headers *h = cio_request_info_headers(req);
    seen[0] = (int)cio_headers_count_name(h, "Content-Length");
    seen[1] = (int)cio_headers_count_name(h, "Transfer-Encoding");
    const char *cl = cio_headers_get(h, "Content-Length");
    seen[2] = cl != NULL ? atoi(cl) : -1;
    (void)m;
    return 0;
}

static int framing_main(void *arg)
{
    (void)arg;
    int seen[3] = {-1, -1, -1};
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(&c, &(struct cio_client_opts){.mock = framing_handler,
                                                     .mock_ud = seen}),
        0);
    cio_prepared *p;
    CIO_ASSERT_RC(cio_prepare(c,
                              &(struct cio_request){.method = "POST",
                                                    .url = "http://a.test/x",
                                                    .body = "hello",
                                                    .body_len = 5},
                              &p),
                  0);
    cio_headers *h = cio_prepared_headers(p);
    CIO_ASSERT_RC(cio_headers_add(h, "Content-Length", "0"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Transfer-Encoding", "chunked"), 0);
    cio_response *r;
    CIO_ASSERT_RC(cio_send(c, p, &r), 0);
    cio_response_free(r);
    cr_expect_eq(seen[0], 1, "Content-Length fields: %d", seen[0]);
    cr_expect_eq(seen[1], 0, "Transfer-Encoding fields: %d", seen[1]);
    cr_expect_eq(seen[2], 5);
    cio_prepared_free(p);
    cio_client_free(c);
    return 0;
}

Test(client_mock, prepared_framing_headers_dropped)
{
    CIO_ASSERT_RC(cio_test_run(framing_main, NULL), 0);
}

/* A response outlives its client ("responses still open keep their
 * connection until freed"), also when it holds no pooled connection: a
 * mock body, or a streamed HEAD/204 whose connection went back at once.
 * Reading it then must not touch the freed client. */
static int outlive_main(void *arg)
{
    (void)arg;
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(&c, &(struct cio_client_opts){.mock = handler}), 0);
    cio_response *r;
    CIO_ASSERT_RC(cio_get(c, "http://a.test/login",
                          &(struct cio_request){.stream = true}, &r),
                  0);
    cio_client_free(c);
    size_t n;
    const char *b = cio_response_body(r, &n);
    cr_expect(b != NULL && n == 2 && memcmp(b, "in", 2) == 0);
    cio_response_free(r);
    return 0;
}

Test(client_mock, response_outlives_client)
{
    CIO_ASSERT_RC(cio_test_run(outlive_main, NULL), 0);
}
