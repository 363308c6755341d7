/* SPDX-License-Identifier: MIT */
/*
 * Review findings on the HTTP/1.1 server: each test here failed before
 * its fix (framing and connection-state defects).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: a\r\n\r\n"
                         "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                         paths[i]);
        ptrdiff_t got = srvfx_exchange(fd, req, (size_t)n, out, sizeof(out),
                                       3000, &closed);
        close(fd);
        cr_assert_gt(got, 0, "%s", paths[i]);
        cr_expect(strncmp(out, "HTTP/1.1 1", 10) != 0, "%s answered:\n%s",
                  paths[i], out);
        cr_expect(strncmp(out, "HTTP/1.1 500 ", 13) == 0, "%s answered:\n%s",
                  paths[i], out);
    }
    srvfx_stop(&f);
}
