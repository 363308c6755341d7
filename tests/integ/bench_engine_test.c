/* SPDX-License-Identifier: MIT */
/*
 * The bench engine against real nginx: closed loop with pipelining over two
 * threads (-n 2000: every attempt answered, all 200, no errors, histogram
 * count = responses), the open loop (-n 300 at 3000/s), a 404 counted as a
 * status not an error, and connect errors against a closed port that still
 * end after -n attempts; over TLS (nginx with a test certificate): trusted
 * CA -> every request answered, untrusted -> connect errors (CIO_ECERT).
 */
#include "test.h"

#include <corio/bench.h>

#include "peers.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

static struct peer nginx;
static char url[128];

static void start(void)
{
    cr_assert_eq(peer_prepare(&nginx, "nginx"), 0);
    cr_assert_eq(peer_put_file(&nginx, "hello.txt", "Hello, World!\n", 14), 0);
    int rc = peer_start(&nginx);
    if (rc == 77)
        cr_skip_test("nginx not installed");
    cr_assert_eq(rc, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hello.txt", nginx.port);
}

static void stop(void)
{
    peer_stop(&nginx);
}

TestSuite(bench_engine, .init = start, .fini = stop);

Test(bench_engine, closed_loop_pipelined_2000)
{
    cio_bench_result *r;
    struct cio_bench_opts o = {
        .url = url,
        .connections = 8,
        .requests = 2000,
        .inflight = 4,
        .threads = 2,
        .timeout_ms = 20000,
    };
    CIO_ASSERT_RC(cio_bench_run(&o, &r), 0);
    cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_KINDS), 0);
    cr_assert_eq(cio_bench_requests(r), 2000);
    cr_assert_eq(cio_bench_status(r, 200), 2000);
    cr_assert_eq(cio_bench_status_class(r, 2), 2000);
    cr_assert_eq(cio_hist_count(cio_bench_latency(r)), 2000);
    cr_assert(cio_bench_bytes_read(r) > 2000 * 14);
    cr_assert(cio_hist_percentile(cio_bench_latency(r), 50) > 0);
    cio_bench_result_free(r);
}

Test(bench_engine, open_loop_rate)
{
    cio_bench_result *r;
    struct cio_bench_opts o = {
        .url = url,
        .connections = 4,
        .requests = 300,
        .rate = 3000,
        .timeout_ms = 20000,
    };
    CIO_ASSERT_RC(cio_bench_run(&o, &r), 0);
    cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_KINDS), 0);
    cr_assert_eq(cio_bench_requests(r), 300);
    cio_bench_result_free(r);
}

Test(bench_engine, status_404_is_not_an_error)
{
    char u[160];
    snprintf(u, sizeof u, "http://127.0.0.1:%u/404", nginx.port);
    cio_bench_result *r;
    struct cio_bench_opts o = {.url = u,
                               .connections = 2,
                               .requests = 50,
                               .method = "HEAD",
                               .headers = (struct cio_kv[]){{"X-A", "1"}, {0}}};
    CIO_ASSERT_RC(cio_bench_run(&o, &r), 0);
    cr_assert_eq(cio_bench_requests(r), 50);
    cr_assert_eq(cio_bench_status(r, 404), 50);
    cr_assert_eq(cio_bench_status_class(r, 4), 50);
    cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_KINDS), 0);
    cio_bench_result_free(r);
}

Test(bench_engine, post_body_framed)
{
    /* nginx answers POST to a static file with 405 after reading the
     * body: a wrong Content-Length would stall (timeout) or desync
     * (protocol errors) the pipelined connections. */
    static const char body[] = "{\"a\": 1}";
    cio_bench_result *r;
    struct cio_bench_opts o = {
        .url = url,
        .connections = 2,
        .requests = 100,
        .inflight = 3,
        .method = "POST",
        .body = body,
        .body_len = sizeof body - 1,
        .headers = (struct cio_kv[]){{"Content-Type", "application/json"}, {0}},
        .timeout_ms = 20000,
    };
    CIO_ASSERT_RC(cio_bench_run(&o, &r), 0);
    cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_KINDS), 0);
    cr_assert_eq(cio_bench_requests(r), 100);
    cr_assert_eq(cio_bench_status(r, 405), 100);
    cr_assert(cio_bench_bytes_written(r) > 100 * (sizeof body - 1));
    cio_bench_result_free(r);
}

Test(bench_engine, connect_errors_end)
{
    /* nginx's port after stopping a second instance is not reliably free;
     * port 1 on loopback is refused without root. */
    cio_bench_result *r;
    struct cio_bench_opts o = {
        .url = "http://127.0.0.1:1/", .connections = 2, .requests = 6};
    CIO_ASSERT_RC(cio_bench_run(&o, &r), 0);
    cr_assert_eq(cio_bench_requests(r), 0);
    cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_CONNECT), 6);
    int code;
    uint64_t n;
    cr_assert_eq(cio_bench_error_codes(r, &code, &n, 1), 1);
    cr_assert_eq(code, CIO_ECONNREFUSED);
    cr_assert_eq(n, 6);
    cio_bench_result_free(r);
}

Test(bench_engine, bad_options)
{
    cio_bench_result *r = NULL;
    CIO_EXPECT_RC(cio_bench_run(&(struct cio_bench_opts){0}, &r), CIO_EINVAL);
    CIO_EXPECT_RC(
        cio_bench_run(&(struct cio_bench_opts){.url = "ftp://x/"}, &r),
        CIO_ENOTSUP);
    CIO_EXPECT_RC(
        cio_bench_run(
            &(struct cio_bench_opts){
                .url = url,
                .headers = (struct cio_kv[]){{"A", "x\r\nB: y"}, {0}}},
            &r),
        CIO_EINVAL);
    cr_assert_null(r);
}

static void tls_case(bool trust)
{
    struct peer p;
    tls_fixture_require();
    cr_assert_eq(peer_prepare(&p, "nginx"), 0);
    cr_assert_eq(peer_put_file(&p, "hello.txt", "Hello, World!\n", 14), 0);
    char cert[256], key[256];
    snprintf(cert, sizeof cert, "%s", tls_fixture_path("server.pem"));
    snprintf(key, sizeof key, "%s", tls_fixture_path("server.key"));
    p.tls_cert = cert;
    p.tls_key = key;
    int rc = peer_start(&p);
    if (rc == 77)
        cr_skip_test("nginx not installed");
    cr_assert_eq(rc, 0);
    char u[160];
    snprintf(u, sizeof u, "https://localhost:%u/hello.txt", p.tls_port);
    cio_bench_result *r;
    struct cio_bench_opts o = {
        .url = u,
        .connections = 4,
        .requests = 200,
        .inflight = 2,
        .ca_file = trust ? tls_fixture_path("ca.pem") : NULL,
        .timeout_ms = 20000,
    };
    rc = cio_bench_run(&o, &r);
    peer_stop(&p);
    CIO_ASSERT_RC(rc, 0);
    if (trust) {
        cr_assert_eq(cio_bench_requests(r), 200);
        cr_assert_eq(cio_bench_status(r, 200), 200);
        cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_KINDS), 0);
    } else {
        cr_assert_eq(cio_bench_requests(r), 0);
        cr_assert_eq(cio_bench_errors(r, CIO_BENCH_ERR_CONNECT), 200);
        int code;
        uint64_t n;
        cr_assert_eq(cio_bench_error_codes(r, &code, &n, 1), 1);
        CIO_EXPECT_RC(code, CIO_ECERT);
    }
    cio_bench_result_free(r);
}

Test(bench_tls, trusted_ca_answers_all)
{
    tls_case(true);
}

Test(bench_tls, untrusted_is_connect_error)
{
    tls_case(false);
}
