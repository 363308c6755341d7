/* SPDX-License-Identifier: MIT */
/*
 * The in-process transport: a client talking to a corio app through
 * cio_server_connect_hook (in-memory pipes, no sockets), streaming request
 * and response bodies both ways, keep-alive over the pipe, concurrency,
 * and no descriptor opened.
 */
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "test.h"

/* In a task: an assert would longjmp off the task's stack. */
#define CHECK_RC(got, want)                                                    \
    do {                                                                       \
        int g_ = (int)(got);                                                   \
        CIO_EXPECT_RC(g_, want);                                               \
        if (g_ != (int)(want))                                                 \
            return -1;                                                         \
    } while (0)

/* ------------------------------------------------------------ the app */

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
#define FNV0 14695981039346656037ull

static int h_json(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    json_t *in;
    int rc = cio_req_json(req, &in);
    if (rc < 0)
        return cio_resp_error(res, 400, "not JSON");
    json_t *out = json_pack("{s:O,s:s}", "echo", in, "peer", cio_req_peer(req));
    rc = cio_resp_json(res, 200, out);
    json_decref(out);
    return rc;
}

/* Reads a streamed upload, answers "<length> <fnv-1a hex>". */
static int h_upload(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    static char buf[32768];
    uint64_t h = FNV0, len = 0;
    for (;;) {
        ptrdiff_t n = cio_req_read(req, buf, sizeof(buf));
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        h = fnv(h, (unsigned char *)buf, (size_t)n);
        len += (uint64_t)n;
    }
    return cio_resp_printf(res, 200, "text/plain", "%llu %016llx",
                           (unsigned long long)len, (unsigned long long)h);
}

#define NLINES 2000

/* A chunked response written line by line (flushed every 100 lines). */
static int h_lines(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_resp_set_header(res, "Content-Type", "text/plain");
    int rc = cio_resp_prepare(res);
    for (int i = 0; rc == 0 && i < NLINES; i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "line %d of %d\n", i, NLINES);
        rc = cio_resp_write(res, line, (size_t)n);
        if (rc == 0 && i % 100 == 99)
            rc = cio_resp_flush(res);
    }
    return rc < 0 ? rc : cio_resp_finish(res);
}

/* Answers while it reads: the response head and one line per piece of the
 * request body go out before the body has ended. */
static int h_progress(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    static char buf[65536];
    cio_resp_set_header(res, "Content-Type", "text/plain");
    int rc = cio_resp_prepare(res);
    while (rc == 0) {
        ptrdiff_t n = cio_req_read(req, buf, sizeof(buf));
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        char line[32];
        int k = snprintf(line, sizeof(line), "got %td\n", n);
        rc = cio_resp_write(res, line, (size_t)k);
        if (rc == 0)
            rc = cio_resp_flush(res);
    }
    return rc < 0 ? rc : cio_resp_finish(res);
}

static int order_seq; /* completion order, for the concurrency test */

static int h_sleep(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    int rc = cio_sleep(cio_after(300));
    if (rc < 0)
        return rc;
    return cio_resp_printf(res, 200, "text/plain", "slept %d", ++order_seq);
}

static int h_fast(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "fast %s %d",
                           cio_req_path(req), ++order_seq);
}

/* ------------------------------------------------------------ harness */

struct env {
    cio_server *srv;
    cio_client *c;
    cio_event *up;
    int (*body)(struct env *e);
};

static void on_listen(cio_server *srv, void *ud)
{
    (void)srv;
    cio_event_set(((struct env *)ud)->up);
}

static void serve_task(void *arg)
{
    struct env *e = arg;
    int rc = cio_server_run(e->srv);
    cr_expect_eq(rc, 0, "cio_server_run: %s", cio_errname(rc));
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static int run_env(void *arg)
{
    struct env *e = arg;
    cio_app *app;
    CHECK_RC(cio_app_new(&app), 0);
    CHECK_RC(cio_app_post(app, "/json", h_json, NULL), 0);
    CHECK_RC(cio_app_post(app, "/upload", h_upload, NULL), 0);
    CHECK_RC(cio_app_get(app, "/lines", h_lines, NULL), 0);
    CHECK_RC(cio_app_post(app, "/progress", h_progress, NULL), 0);
    CHECK_RC(cio_app_get(app, "/sleep", h_sleep, NULL), 0);
    CHECK_RC(cio_app_get(app, "/fast/{n}", h_fast, NULL), 0);
    CHECK_RC(cio_event_new(&e->up), 0);
    struct cio_server_opts so = {
        .limits = {.max_body = 16u << 20},
        .on_listen = on_listen,
        .ud = e,
    };
    CHECK_RC(cio_server_new(&e->srv, app, &so), 0); /* no listener */
    cio_group *g;
    CHECK_RC(cio_group_new(&g), 0);
    CHECK_RC(cio_go(g, serve_task, e), 0);
    CHECK_RC(cio_event_wait(e->up, cio_after(5000)), 0);

    int fds0 = count_fds();
    struct cio_client_opts co = {
        .base_url = "http://app.test",
        .connect = cio_server_connect_hook,
        .connect_ud = e->srv,
        .no_trust_env = false, /* proxies from the env must not apply */
    };
    CHECK_RC(cio_client_new(&e->c, &co), 0);
    int rc = e->body(e);
    int fds1 = count_fds();
    cr_expect_eq(fds1, fds0, "descriptors: %d before, %d after", fds0, fds1);
    cio_client_free(e->c);

    cio_server_stop(e->srv);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    cio_server_free(e->srv);
    cio_app_free(app);
    cio_event_free(e->up);
    return rc;
}

static void with_app(int (*body)(struct env *e))
{
    struct env e = {.body = body};
    CIO_ASSERT_RC(cio_test_run(run_env, &e), 0);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------ tests */

static int t_json(struct env *e)
{
    /* A proxy from the environment is not used for in-process streams
     * (port 9 would refuse). */
    setenv("http_proxy", "http://127.0.0.1:9", 1);
    cio_response *r;
    struct cio_request rq = {.json = "{\"a\":[1,2,3],\"b\":\"x\"}"};
    CHECK_RC(cio_post(e->c, "/json", &rq, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    json_t *j;
    CHECK_RC(cio_response_json(r, &j), 0);
    json_t *echo = json_object_get(j, "echo");
    cr_expect_eq(
        json_integer_value(json_array_get(json_object_get(echo, "a"), 2)), 3);
    cr_expect_str_eq(json_string_value(json_object_get(echo, "b")), "x");
    cr_expect_str_eq(json_string_value(json_object_get(j, "peer")), "pipe");
    cr_expect_str_eq(cio_response_url(r), "http://app.test/json");
    cio_response_free(r);
    return 0;
}

Test(inproc, json_round_trip)
{
    with_app(t_json);
}

struct gen {
    uint64_t left, pos, h;
};

static ptrdiff_t gen_fn(void *buf, size_t cap, void *ud)
{
    struct gen *g = ud;
    size_t n = cap < g->left ? cap : (size_t)g->left;
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((g->pos + i) * 131 % 251);
    g->h = fnv(g->h, p, n);
    g->pos += n;
    g->left -= n;
    return (ptrdiff_t)n;
}

static int t_upload(struct env *e)
{
    const uint64_t size = 5u << 20;
    for (int chunked = 0; chunked < 2; chunked++) {
        struct gen g = {.left = size, .h = FNV0};
        struct cio_request rq = {
            .body_fn = gen_fn,
            .body_ud = &g,
            .body_fn_len = chunked ? -1 : (int64_t)size,
            .content_type = "application/octet-stream",
        };
        cio_response *r;
        CHECK_RC(cio_post(e->c, "/upload", &rq, &r), 0);
        cr_expect_eq(cio_response_status(r), 200);
        char want[64];
        snprintf(want, sizeof(want), "%llu %016llx", (unsigned long long)size,
                 (unsigned long long)g.h);
        size_t len;
        const char *b = cio_response_body(r, &len);
        cr_expect_str_eq(b, want, "chunked=%d", chunked);
        cio_response_free(r);
    }
    return 0;
}

Test(inproc, streaming_upload_5mib)
{
    with_app(t_upload);
}

static int t_lines(struct env *e)
{
    cio_response *r;
    struct cio_request rq = {.stream = true};
    CHECK_RC(cio_get(e->c, "/lines", &rq, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cr_expect_str_eq(cio_response_header(r, "Transfer-Encoding"), "chunked");
    int n = 0, rc;
    const char *line;
    size_t len;
    while ((rc = cio_response_read_line(r, &line, &len, 0)) == 1) {
        char want[64];
        snprintf(want, sizeof(want), "line %d of %d", n, NLINES);
        cr_expect(len == strlen(want) && memcmp(line, want, len) == 0,
                  "line %d: %.*s", n, (int)len, line);
        n++;
    }
    CIO_EXPECT_RC(rc, 0);
    cr_expect_eq(n, NLINES);
    cio_response_free(r);
    return 0;
}

Test(inproc, streaming_response_lines)
{
    with_app(t_lines);
}

/* Both directions streamed in one exchange: a chunked upload from a
 * producer, a chunked answer the handler writes while it reads, read by
 * lines; then the connection is reused. */
static int t_both_ways(struct env *e)
{
    const uint64_t size = 3u << 20;
    struct gen g = {.left = size, .h = FNV0};
    struct cio_request rq = {
        .body_fn = gen_fn, .body_ud = &g, .body_fn_len = -1, .stream = true};
    cio_response *r;
    CHECK_RC(cio_post(e->c, "/progress", &rq, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    uint64_t sum = 0;
    int lines = 0, rc;
    const char *line;
    size_t len;
    while ((rc = cio_response_read_line(r, &line, &len, 0)) == 1) {
        unsigned long long n = 0;
        cr_expect(sscanf(line, "got %llu", &n) == 1, "%.*s", (int)len, line);
        sum += n;
        lines++;
    }
    CIO_EXPECT_RC(rc, 0);
    cr_expect_eq(sum, size, "%llu of %llu bytes", (unsigned long long)sum,
                 (unsigned long long)size);
    cr_expect_geq(lines, (int)(size / 65536), "%d lines", lines);
    cio_response_free(r);
    CHECK_RC(cio_get(e->c, "/fast/1", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cio_response_free(r);
    struct cio_pool_stats ps;
    cio_client_pool_stats(e->c, &ps);
    cr_expect_eq(ps.created, 1);
    return 0;
}

Test(inproc, streaming_both_ways)
{
    with_app(t_both_ways);
}

static int t_keepalive(struct env *e)
{
    for (int i = 0; i < 20; i++) {
        char url[32];
        snprintf(url, sizeof(url), "/fast/%d", i);
        cio_response *r;
        CHECK_RC(cio_get(e->c, url, NULL, &r), 0);
        cr_expect_eq(cio_response_status(r), 200);
        cio_response_free(r);
    }
    struct cio_pool_stats ps;
    cio_client_pool_stats(e->c, &ps);
    cr_expect_eq(ps.created, 1, "created %llu", (unsigned long long)ps.created);
    cr_expect_eq(ps.reused, 19, "reused %llu", (unsigned long long)ps.reused);
    cr_expect_eq(ps.idle, 1);
    struct cio_server_stats ss;
    cio_server_stats(e->srv, &ss);
    cr_expect_eq(ss.accepted, 1);
    cr_expect_eq(ss.requests, 20);
    return 0;
}

Test(inproc, keepalive_reuse)
{
    with_app(t_keepalive);
}

struct slow {
    cio_client *c;
    int rc;
    char body[64];
};

static void slow_task(void *arg)
{
    struct slow *s = arg;
    cio_response *r;
    s->rc = cio_get(s->c, "/sleep", NULL, &r);
    if (s->rc == 0) {
        snprintf(s->body, sizeof(s->body), "%s", cio_response_body(r, NULL));
        cio_response_free(r);
    }
}

static int t_concurrent(struct env *e)
{
    order_seq = 0;
    struct slow s = {.c = e->c};
    cio_group *g;
    CHECK_RC(cio_group_new(&g), 0);
    CHECK_RC(cio_go(g, slow_task, &s), 0);
    CHECK_RC(cio_yield(), 0); /* the slow request is in its handler */
    for (int i = 0; i < 3; i++) {
        cio_response *r;
        CHECK_RC(cio_get(e->c, "/fast/x", NULL, &r), 0);
        char want[32];
        snprintf(want, sizeof(want), "fast /fast/x %d", i + 1);
        cr_expect_str_eq(cio_response_body(r, NULL), want);
        cio_response_free(r);
    }
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(s.rc, 0);
    cr_expect_str_eq(s.body, "slept 4"); /* after the three fast ones */
    struct cio_pool_stats ps;
    cio_client_pool_stats(e->c, &ps);
    cr_expect_eq(ps.created, 2); /* one busy sleeping, one for the rest */
    cr_expect_eq(ps.max_active, 2);
    return 0;
}

Test(inproc, concurrent_requests)
{
    with_app(t_concurrent);
}

/* Connecting to a server that does not run fails cleanly. */
static int t_not_running(void *arg)
{
    (void)arg;
    cio_app *app;
    cio_server *srv;
    CHECK_RC(cio_app_new(&app), 0);
    CHECK_RC(cio_server_new(&srv, app, NULL), 0);
    cio_stream *s = NULL;
    CIO_EXPECT_RC(cio_server_connect(srv, &s), CIO_EINVAL);
    cr_expect_null(s);
    cio_server_free(srv);
    cio_app_free(app);
    return 0;
}

Test(inproc, not_running)
{
    CIO_ASSERT_RC(cio_test_run(t_not_running, NULL), 0);
    cio_test_no_leaks();
}
