/* SPDX-License-Identifier: MIT */
/*
 * Review findings on the HTTP/1.1 server: each test here failed before
 * its fix (framing and connection-state defects).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "test.h"

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello");
}

/* A handler that (wrongly) makes its final answer an interim one. */
static int interim_buffered(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 103, "not final");
}

static int interim_status(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_resp_set_status(res, 101);
    return 0;
}

static int interim_streamed(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_resp_set_status(res, 100);
    int rc = cio_resp_write(res, "x", 1);
    return rc < 0 ? rc : cio_resp_finish(res);
}

static void start(struct srvfx *f)
{
    cio_app *app;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_get(app, "/", hello, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/i103", interim_buffered, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/i101", interim_status, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/i100", interim_streamed, NULL), 0);
    f->app = app;
    CIO_ASSERT_RC(srvfx_start(f), 0);
}

/*
 * A 1xx status is interim: a client that reads one keeps waiting for the
 * final response, so a 1xx sent as the final answer makes the client take
 * the NEXT pipelined response as this request's (response desync). The
 * server must never send a 1xx head as a handler's final response.
 */
Test(server_review, interim_status_is_never_a_final_response)
{
    static const char *const paths[] = {"/i103", "/i101", "/i100"};
    struct srvfx f = {0};
    char req[256], out[8192];
    start(&f);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int closed = 0;
        int fd = srvfx_connect(f.port);
        cr_assert_geq(fd, 0);
        int n =
            snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: a\r\n\r\n"
                     "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                     paths[i]);
        ptrdiff_t got =
            srvfx_exchange(fd, req, (size_t)n, out, sizeof(out), 3000, &closed);
        close(fd);
        cr_assert_gt(got, 0, "%s", paths[i]);
        cr_expect(strncmp(out, "HTTP/1.1 1", 10) != 0, "%s answered:\n%s",
                  paths[i], out);
        cr_expect(strncmp(out, "HTTP/1.1 500 ", 13) == 0, "%s answered:\n%s",
                  paths[i], out);
    }
    srvfx_stop(&f);
}

/* Streams its answer first, then echoes the request body (the streaming
 * echo pattern). */
static int stream_then_read(cio_req *req, cio_resp *res, void *ud)
{
    char buf[256];
    (void)ud;
    int rc = cio_resp_write(res, "a", 1);
    while (rc == 0) {
        ptrdiff_t n = cio_req_read(req, buf, sizeof(buf));
        if (n <= 0)
            return (int)n;
        rc = cio_resp_write(res, buf, (size_t)n);
    }
    return rc;
}

/* Reads from fd until needle is in out (or EOF / the socket's timeout). */
static size_t read_until(int fd, char *out, size_t len, size_t cap,
                         const char *needle)
{
    while (len + 1 < cap) {
        out[len] = '\0';
        if (needle != NULL && strstr(out, needle) != NULL)
            break;
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    return len;
}

/*
 * Expect: 100-continue on a request whose handler prepared its response
 * before reading the body: the final head is already on the wire, so an
 * interim "100 Continue" written then lands inside the chunked body (the
 * client reads it as chunk bytes: corrupted framing).
 */
Test(server_review, no_100_continue_after_the_final_head)
{
    struct srvfx f = {0};
    cio_app *app;
    char out[8192];
    static const char head[] = "POST /echo HTTP/1.1\r\nHost: a\r\n"
                               "Content-Length: 5\r\nExpect: 100-continue\r\n"
                               "Connection: close\r\n\r\n";
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_post(app, "/echo", stream_then_read, NULL), 0);
    f.app = app;
    CIO_ASSERT_RC(srvfx_start(&f), 0);

    int fd = srvfx_connect(f.port);
    cr_assert_geq(fd, 0);
    cr_assert_eq(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL),
                 (ssize_t)sizeof(head) - 1);
    /* the head and the first chunk come before any body is sent */
    size_t len = read_until(fd, out, 0, sizeof(out), "1\r\na\r\n");
    cr_assert(strstr(out, "1\r\na\r\n") != NULL, "%s", out);
    cr_assert_eq(send(fd, "hello", 5, MSG_NOSIGNAL), 5);
    len = read_until(fd, out, len, sizeof(out), NULL);
    close(fd);
    cr_expect(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
    cr_expect(strstr(out, "100 Continue") == NULL, "%s", out);
    const char *body = strstr(out, "\r\n\r\n");
    cr_assert_not_null(body, "%s", out);
    cr_expect_str_eq(body + 4, "1\r\na\r\n5\r\nhello\r\n0\r\n\r\n");
    srvfx_stop(&f);
}

/*
 * The Server name is written into every response head: one that is not a
 * valid field value must be refused by cio_server_new (before, it was
 * accepted and every response then failed to be written: each connection
 * closed without an answer).
 */
Test(server_review, invalid_server_name_is_refused_at_start)
{
    static const char *const bad[] = {"corio\r\nX-Evil: 1", "a\nb", "a\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct srvfx f = {0};
        cr_assert_eq(cio_app_new(&f.app), 0);
        cr_assert_eq(cio_app_get(f.app, "/", hello, NULL), 0);
        f.opts.server_name = bad[i];
        int rc = srvfx_start(&f);
        if (rc == 0)
            srvfx_stop(&f);
        cr_expect_eq(rc, CIO_EHEADER, "server_name #%zu: %s", i,
                     cio_strerror(rc));
    }
}

static int whole_echo(cio_req *req, cio_resp *res, void *ud)
{
    const char *b;
    size_t n;
    (void)ud;
    int rc = cio_req_body(req, 0, &b, &n);
    if (rc < 0)
        return rc;
    return cio_resp_printf(res, 200, "text/plain", "%zu", n);
}

/*
 * max_body = UINT64_MAX means "no limit" (server.h). cio_req_body sized
 * its buffer with lim + 1 (and remaining + 1), which wrap to 0 then: a
 * chunked body over 4 KiB reallocated the buffer to 0 bytes, and a huge
 * Content-Length got a 0-byte buffer to read into (heap overflow).
 */
Test(server_review, whole_body_with_no_body_limit)
{
    struct srvfx f = {0};
    char req[16384], out[8192];
    cr_assert_eq(cio_app_new(&f.app), 0);
    cr_assert_eq(cio_app_post(f.app, "/whole", whole_echo, NULL), 0);
    f.opts.limits.max_body = UINT64_MAX;
    CIO_ASSERT_RC(srvfx_start(&f), 0);

    /* 10000 bytes in one chunk */
    int n = snprintf(req, sizeof(req),
                     "POST /whole HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
                     10000);
    memset(req + n, 'x', 10000);
    n += 10000;
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n0\r\n\r\n");
    int closed = 0, fd = srvfx_connect(f.port);
    cr_assert_geq(fd, 0);
    ptrdiff_t got =
        srvfx_exchange(fd, req, (size_t)n, out, sizeof(out), 3000, &closed);
    close(fd);
    cr_assert_gt(got, 0);
    cr_expect(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
    cr_expect(strstr(out, "\r\n\r\n10000") != NULL, "%s", out);

    /* a Content-Length no buffer can hold: refused, not read into one */
    n = snprintf(req, sizeof(req),
                 "POST /whole HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                 "Content-Length: 18446744073709551615\r\n\r\n%s",
                 "0123456789abcdef0123456789abcdef");
    fd = srvfx_connect(f.port);
    cr_assert_geq(fd, 0);
    got = srvfx_exchange(fd, req, (size_t)n, out, sizeof(out), 3000, &closed);
    close(fd);
    cr_assert_gt(got, 0);
    cr_expect(strncmp(out, "HTTP/1.1 413 ", 13) == 0 ||
                  strncmp(out, "HTTP/1.1 400 ", 13) == 0,
              "%s", out);
    srvfx_stop(&f);
}

/* A HEAD handler that states the size of what GET would send. */
static int head_size(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_set_header(res, "Content-Length", "1234");
}

/*
 * A HEAD response's Content-Length is the size a GET would have (RFC 9110
 * §9.3.2, §8.6): a handler answering HEAD sets it without a body. The
 * buffered path replaced it with the empty body's "0".
 */
Test(server_review, head_keeps_the_handlers_content_length)
{
    struct srvfx f = {0};
    char out[8192];
    static const char req[] =
        "HEAD /size HTTP/1.1\r\nHost: a\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    cr_assert_eq(cio_app_new(&f.app), 0);
    cr_assert_eq(cio_app_get(f.app, "/", hello, NULL), 0);
    cr_assert_eq(cio_app_route(f.app, "HEAD", "/size", head_size, NULL, NULL),
                 0);
    CIO_ASSERT_RC(srvfx_start(&f), 0);
    int closed = 0, fd = srvfx_connect(f.port);
    cr_assert_geq(fd, 0);
    ptrdiff_t got = srvfx_exchange(fd, req, sizeof(req) - 1, out, sizeof(out),
                                   3000, &closed);
    close(fd);
    cr_assert_gt(got, 0);
    cr_expect(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
    cr_expect(strstr(out, "Content-Length: 1234\r\n") != NULL, "%s", out);
    cr_expect_eq(srvfx_count(out, "Content-Length:"), 2, "%s", out);
    /* no body after the HEAD head: the next response follows at once */
    const char *second = strstr(out, "\r\n\r\nHTTP/1.1 200 ");
    cr_expect(second != NULL, "%s", out);
    cr_expect(strstr(out, "Hello") != NULL, "%s", out);
    srvfx_stop(&f);
}
