/* SPDX-License-Identifier: MIT */
/*
 * The pool and the timeouts: limits, FIFO waiters, pool timeout, stale
 * keep-alive connections (checked before reuse; retried once when the
 * server closes without answering), 1,000 concurrent requests to one host
 * at once, and a timeout per phase whose message names the phase.
 */
#include "test.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csrv.h"

struct ctx {
    struct csrv srv;
    cio_client *c;
    struct cio_client_opts opts;
    int order[64], norder;
    uint32_t max_waiting;
    int rc[64];
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
    if (x->opts.base_url == NULL)
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

/* ---------------------------------------------------------------- limits */

struct job {
    struct ctx *x;
    int i;
};

static void get_task(void *arg)
{
    struct job *j = arg;
    cio_response *r;
    int rc = cio_get(j->x->c, "/", NULL, &r);
    j->x->rc[j->i] = rc;
    if (rc == 0) {
        j->x->order[j->x->norder++] = j->i;
        cio_response_free(r);
    }
}

static int watch_waiting(struct csrv *s, const struct csrv_req *req,
                         struct cio__buf *out, void *ud)
{
    struct ctx *x = ud;
    (void)s;
    (void)req;
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    if (st.waiting > x->max_waiting)
        x->max_waiting = st.waiting;
    return csrv_reply(out, 200, NULL, "ok"), 0;
}

static void t_limit(struct ctx *x)
{
    cio_group *g;
    struct job jobs[10];
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct job){x, i};
        CIO_ASSERT_RC(cio_go(g, get_task, &jobs[i]), 0);
    }
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    for (int i = 0; i < 10; i++)
        CIO_EXPECT_RC(x->rc[i], 0);
    cr_expect_eq(x->norder, 10);
    for (int i = 0; i < x->norder; i++)
        cr_expect_eq(x->order[i], i, "FIFO: request %d finished %d-th",
                     x->order[i], i);
    cr_expect_eq(x->srv.accepted, 1, "one connection per host allowed");
    cr_expect_eq(x->srv.open_max, 1);
    cr_expect_eq(x->max_waiting, 9, "the other nine waited");
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 1);
    cr_expect_eq(st.reused, 9);
    cr_expect_eq(st.waiting, 0);
}

Test(client_pool, per_host_limit_fifo_waiters)
{
    struct ctx x = {.srv.fn = watch_waiting,
                    .srv.delay_ms = 5,
                    .opts.limits.max_conns_per_host = 1};
    x.srv.ud = &x;
    run(&x, t_limit);
    cio_test_no_leaks();
}

static void t_pool_timeout(struct ctx *x)
{
    cio_group *g;
    struct job j = {x, 0};
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, get_task, &j), 0);
    cio_yield();
    cio_response *r;
    CIO_EXPECT_RC(cio_get(x->c, "/", NULL, &r), CIO_ETIMEDOUT);
    cr_expect(strncmp(cio_last_error(),
                      "pool timeout: no connection to "
                      "127.0.0.1:",
                      31) == 0,
              "%s", cio_last_error());
    cio_group_cancel(g);
    cio_group_free(g);
}

Test(client_pool, pool_timeout_names_phase)
{
    struct ctx x = {.srv.delay_ms = 3000,
                    .opts.limits.max_conns_per_host = 1,
                    .opts.timeouts.pool_ms = 100};
    run(&x, t_pool_timeout);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- 1,000 */

#define N1000 1000

struct many {
    struct ctx *x;
    int ok;
};

static void many_task(void *arg)
{
    struct many *m = arg;
    cio_response *r;
    if (cio_get(m->x->c, "/", NULL, &r) == 0) {
        m->ok += cio_response_status(r) == 200;
        cio_response_free(r);
    }
}

static void t_1000(struct ctx *x)
{
    cio_group *g;
    struct many m = {x, 0};
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < N1000; i++)
        CIO_ASSERT_RC(cio_go(g, many_task, &m), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(60000)), 0);
    cio_group_free(g);
    cr_expect_eq(m.ok, N1000);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    /* With DEFAULT limits, every request had its own connection at once:
     * no waves of 100. */
    cr_expect_eq(st.max_active, N1000, "max active %u", st.max_active);
    cr_expect_eq(x->srv.open_max, N1000, "server saw %u at once",
                 x->srv.open_max);
    cr_expect_eq(st.created, N1000);
    cr_expect_eq(st.wait_ms_total, 0, "nobody waited for the pool");
}

Test(client_pool, thousand_concurrent_default_limits)
{
    /* Client and server ends in one process: 2,000 descriptors. The
     * test may raise its own soft limit (before the client derives its
     * defaults from it); below that it cannot run. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2200 && rl.rlim_max >= 2200) {
        rl.rlim_cur = 2200;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2200)
        cr_skip_test("RLIMIT_NOFILE below 2,200");
    struct ctx x = {.srv.delay_ms = 200};
    run(&x, t_1000);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- stale */

static void t_idle_closed(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    cio_sleep(cio_after(50)); /* let the server close it */
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 2, "the closed idle connection was not used");
    cr_expect_eq(st.reused, 0);
    cr_expect_eq(x->srv.requests, 2);
}

Test(client_pool, idle_connection_closed_by_server_not_reused)
{
    struct ctx x = {.srv.close_idle = true};
    run(&x, t_idle_closed);
    cio_test_no_leaks();
}

/* The second request on each connection is read, then the connection is
 * closed without a response: the race of a server's keep-alive timeout. */
static int drop_second(struct csrv *s, const struct csrv_req *req,
                       struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    if (req->conn_requests == 2)
        return CSRV_CLOSE;
    return csrv_reply(out, 200, NULL, "ok"), 0;
}

static void t_stale_retry(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    /* GET: retried once on a fresh connection. */
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cio_response_free(r);
    cr_expect_eq(x->srv.accepted, 2);
    cr_expect_eq(x->srv.requests, 3);
    /* POST with its body sent: not idempotent, not retried. */
    CIO_EXPECT_RC(cio_post(x->c, "/", &(struct cio_request){.json = "{}"}, &r),
                  CIO_EPROTO);
    cr_expect(strstr(cio_last_error(),
                     "the connection before sending a response") != NULL,
              "%s", cio_last_error());
    cr_expect_eq(x->srv.accepted, 2);
}

Test(client_pool, stale_keepalive_retried_once_if_idempotent)
{
    struct ctx x = {.srv.fn = drop_second};
    run(&x, t_stale_retry);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- timeouts */

static void t_read_timeout(struct ctx *x)
{
    cio_response *r;
    CIO_EXPECT_RC(cio_get(x->c, "/", NULL, &r), CIO_ETIMEDOUT);
    char want[160];
    snprintf(want, sizeof(want),
             "read timeout: no byte for 100 ms while "
             "waiting for the response head from 127.0.0.1:%u",
             x->srv.port);
    cr_expect_str_eq(cio_last_error(), want);
}

Test(client_timeouts, read)
{
    struct ctx x = {.srv.silent = true, .opts.timeouts.read_ms = 100};
    run(&x, t_read_timeout);
    cio_test_no_leaks();
}

static void t_total_timeout(struct ctx *x)
{
    cio_response *r;
    CIO_EXPECT_RC(cio_get(x->c, "/", NULL, &r), CIO_ETIMEDOUT);
    cr_expect(strncmp(cio_last_error(), "total timeout", 13) == 0, "%s",
              cio_last_error());
}

Test(client_timeouts, total)
{
    struct ctx x = {.srv.silent = true, .opts.timeouts.total_ms = 100};
    run(&x, t_total_timeout);
    cio_test_no_leaks();
}

static void t_write_timeout(struct ctx *x)
{
    size_t n = 64u << 20;
    char *big = calloc(1, n);
    cio_response *r;
    CIO_EXPECT_RC(cio_post(x->c, "/",
                           &(struct cio_request){.body = big, .body_len = n},
                           &r),
                  CIO_ETIMEDOUT);
    cr_expect(strncmp(cio_last_error(), "write timeout: no progress for 100 ms",
                      37) == 0,
              "%s", cio_last_error());
    free(big);
}

Test(client_timeouts, write)
{
    struct ctx x = {
        .srv.no_read = true, .opts.timeouts.write_ms = 100, .opts.max_body = 1};
    run(&x, t_write_timeout);
    cio_test_no_leaks();
}

static void t_body_read_timeout(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", &(struct cio_request){.stream = true}, &r),
                  0);
    char buf[16];
    cr_expect_eq(cio_response_read(r, buf, sizeof(buf)), 3);
    CIO_EXPECT_RC(cio_response_read(r, buf, sizeof(buf)), CIO_ETIMEDOUT);
    cr_expect(strncmp(cio_last_error(),
                      "read timeout: no byte for 100 ms while "
                      "reading the response body from",
                      69) == 0,
              "%s", cio_last_error());
    cio_response_free(r);
}

static int partial(struct csrv *s, const struct csrv_req *req,
                   struct cio__buf *out, void *ud)
{
    (void)s;
    (void)req;
    (void)ud;
    cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    return CSRV_HOLD;
}

Test(client_timeouts, read_body)
{
    struct ctx x = {.srv.fn = partial, .opts.timeouts.read_ms = 100};
    run(&x, t_body_read_timeout);
    cio_test_no_leaks();
}

/* A listener whose accept queue is full: the kernel drops further SYNs,
 * so a connect hangs until its timeout. */
static int connect_main(void *arg)
{
    (void)arg;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    cr_assert(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    cr_assert(listen(lfd, 0) == 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    int fill[4];
    for (int i = 0; i < 4; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
    }
    usleep(50000);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(&c,
                       &(struct cio_client_opts){.timeouts.connect_ms = 200}),
        0);
    cio_response *r;
    int rc = cio_get(c, url, NULL, &r);
    CIO_EXPECT_RC(rc, CIO_ETIMEDOUT);
    char want[96];
    snprintf(want, sizeof(want),
             "connect timeout: no connection to "
             "127.0.0.1:%u within 200 ms",
             ntohs(sa.sin_port));
    cr_expect_str_eq(cio_last_error(), want);
    cio_client_free(c);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
    return 0;
}

Test(client_timeouts, connect)
{
    CIO_ASSERT_RC(cio_test_run(connect_main, NULL), 0);
    cio_test_no_leaks();
}

/* RELIABILITY I.83: TCP connect, then a silent peer during the TLS
 * handshake: the connect timeout (which covers TLS) ends it. */
static void t_tls_silent(struct ctx *x)
{
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/", x->srv.port);
    cio_response *r;
    CIO_EXPECT_RC(cio_get(x->c, url, NULL, &r), CIO_ETIMEDOUT);
    cr_expect(strncmp(cio_last_error(),
                      "connect timeout: no connection to "
                      "127.0.0.1:",
                      34) == 0,
              "%s", cio_last_error());
}

Test(client_timeouts, tls_handshake_silent_peer)
{
    struct ctx x = {.srv.silent = true, .opts.timeouts.connect_ms = 200};
    run(&x, t_tls_silent);
    cio_test_no_leaks();
}

/* An unread body already in the buffer is drained on free and the
 * connection reused; a big unread body closes it. */
static int sized(struct csrv *s, const struct csrv_req *req,
                 struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    size_t n = strcmp(req->target, "/big") == 0 ? 4u << 20 : 100;
    cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
    cio__buf_reserve(out, n);
    memset(cio__buf_tail(out), 'b', n);
    cio__buf_commit(out, n);
    return 0;
}

static void t_drain(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(
        cio_get(x->c, "/small", &(struct cio_request){.stream = true}, &r), 0);
    cio_sleep(cio_after(20)); /* let the whole body arrive */
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.idle, 1, "small rest drained, connection kept");
    CIO_ASSERT_RC(
        cio_get(x->c, "/big", &(struct cio_request){.stream = true}, &r), 0);
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.reused, 1);
    cio_response_free(r);
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.conns, 0, "4 MiB unread: closed");
}

Test(client_pool, free_drains_small_closes_big)
{
    struct ctx x = {.srv.fn = sized};
    run(&x, t_drain);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- expiry */

static void t_expiry(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    cio_sleep(cio_after(120));
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 2, "the idle connection expired");
    cr_expect_eq(st.reused, 0);
    cr_expect_eq(x->srv.accepted, 2);
}

Test(client_pool, keepalive_expiry)
{
    struct ctx x = {.opts.limits.keepalive_ms = 50};
    run(&x, t_expiry);
    cio_test_no_leaks();
}

/* Total limit 1: a request to a second origin closes the first origin's
 * idle connection instead of waiting. */
static void t_lru(struct ctx *x)
{
    struct csrv other = {0};
    CIO_ASSERT_RC(csrv_start(&other), 0);
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    char url[96];
    snprintf(url, sizeof(url), "%s/", other.addr);
    CIO_ASSERT_RC(cio_get(x->c, url, NULL, &r), 0);
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.conns, 1);
    cr_expect_eq(st.created, 2);
    cr_expect_eq(st.wait_ms_total, 0);
    csrv_stop(&other);
}

Test(client_pool, total_limit_evicts_idle_of_other_origin)
{
    struct ctx x = {.opts.limits.max_conns = 1};
    run(&x, t_lru);
    cio_test_no_leaks();
}

/* max_idle_per_host: connections above it are closed when released. */
static void t_max_idle(struct ctx *x)
{
    cio_group *g;
    struct job jobs[4];
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){x, i};
        CIO_ASSERT_RC(cio_go(g, get_task, &jobs[i]), 0);
    }
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 4);
    cr_expect_eq(st.idle, 2);
    cr_expect_eq(st.conns, 2);
}

Test(client_pool, max_idle_per_host)
{
    struct ctx x = {.srv.delay_ms = 20, .opts.limits.max_idle_per_host = 2};
    run(&x, t_max_idle);
    cio_test_no_leaks();
}
