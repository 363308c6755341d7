/* SPDX-License-Identifier: MIT */
/*
 * The client against real nginx (Debian) on 127.0.0.1: static files, a
 * 10 MiB body, keep-alive reuse (pool stats), gzip + chunked, HEAD, 204,
 * 304, the blocking cio_fetch, and a TLS listener with certificates made
 * at test time: success (name and IP), wrong host name, untrusted issuer,
 * self-signed, expired, and the loudly named switch that skips checks.
 */
#include "test.h"

#include <fcntl.h>
#include <unistd.h>

#include "peers.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

#define BIG (10u << 20)

static char *big;
static char text[60000];

static void start(struct peer *p, const char *cert, bool client_ca)
{
    cr_assert_eq(peer_prepare(p, "nginx"), 0);
    if (client_ca) {
        tls_fixture_require();
        p->tls_client_ca = strdup(tls_fixture_path("ca.pem"));
    }
    if (cert != NULL) {
        tls_fixture_require();
        char c[256], k[256];
        snprintf(c, sizeof(c), "%s.pem", cert);
        snprintf(k, sizeof(k), "%s.key", cert);
        p->tls_cert = strdup(tls_fixture_path(c));
        p->tls_key = strdup(tls_fixture_path(k));
    }
    big = malloc(BIG);
    int fd = open("/dev/urandom", O_RDONLY);
    cr_assert(read(fd, big, BIG) == (ssize_t)BIG);
    close(fd);
    for (size_t i = 0; i < sizeof(text) - 1; i++)
        text[i] = "corio client text\n"[i % 18];
    cr_assert_eq(peer_put_file(p, "big.bin", big, BIG), 0);
    cr_assert_eq(peer_put_file(p, "t.txt", text, sizeof(text) - 1), 0);
    cr_assert_eq(peer_put_file(p, "small.txt", "small\n", 6), 0);
    int rc = peer_start(p);
    if (rc == 77)
        cr_skip_test("nginx not installed");
    cr_assert_eq(rc, 0);
}

static void stop(struct peer *p)
{
    peer_stop(p);
    free((void *)p->tls_cert);
    free((void *)p->tls_key);
    free((void *)p->tls_client_ca);
    free(big);
}

struct ctx {
    struct peer p;
    char base[128];
};

static int plain_main(void *arg)
{
    struct ctx *x = arg;
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(&c, &(struct cio_client_opts){.base_url = x->base}), 0);
    cio_response *r;
    size_t n;
    /* 10 MiB static file. */
    CIO_ASSERT_RC(cio_get(c, "/big.bin", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    const char *b = cio_response_body(r, &n);
    cr_expect_eq(n, BIG);
    cr_expect(b != NULL && memcmp(b, big, BIG) == 0, "10 MiB body intact");
    cio_response_free(r);
    /* gzip (nginx compresses text/plain on the fly, chunked). */
    CIO_ASSERT_RC(cio_get(c, "/t.txt", NULL, &r), 0);
    cr_expect_str_eq(cio_response_header(r, "Content-Encoding"), "gzip");
    cr_expect_str_eq(cio_response_header(r, "Transfer-Encoding"), "chunked");
    b = cio_response_body(r, &n);
    cr_expect_eq(n, sizeof(text) - 1);
    cr_expect(b != NULL && memcmp(b, text, n) == 0);
    cio_response_free(r);
    /* HEAD: headers only; the connection stays usable. */
    CIO_ASSERT_RC(cio_head(c, "/big.bin", NULL, &r), 0);
    cr_expect_str_eq(cio_response_header(r, "Content-Length"), "10485760");
    cio_response_body(r, &n);
    cr_expect_eq(n, 0);
    char lm[64];
    snprintf(lm, sizeof(lm), "%s", cio_response_header(r, "Last-Modified"));
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(c, "/204", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 204);
    cio_response_free(r);
    CIO_ASSERT_RC(
        cio_get(
            c, "/big.bin",
            &(struct cio_request){
                .headers = (struct cio_kv[]){{"If-Modified-Since", lm}, {0}}},
            &r),
        0);
    cr_expect_eq(cio_response_status(r), 304);
    cio_response_body(r, &n);
    cr_expect_eq(n, 0);
    cio_response_free(r);
    for (int i = 0; i < 10; i++) {
        CIO_ASSERT_RC(cio_get(c, "/small.txt", NULL, &r), 0);
        cr_expect_str_eq(cio_response_body(r, &n), "small\n");
        cio_response_free(r);
    }
    CIO_ASSERT_RC(cio_get(c, "/404", NULL, &r), 0);
    CIO_EXPECT_RC(cio_response_raise(r), CIO_ESTATUS);
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(c, &st);
    cr_expect_eq(st.created, 1, "every request on one kept-alive connection");
    cr_expect_eq(st.reused, 15);
    /* Streaming read of the big file, closed early: connection dropped. */
    CIO_ASSERT_RC(
        cio_get(c, "/big.bin", &(struct cio_request){.stream = true}, &r), 0);
    char buf[4096];
    cr_expect_eq(cio_response_read(r, buf, sizeof(buf)),
                 (ptrdiff_t)sizeof(buf));
    cr_expect(memcmp(buf, big, sizeof(buf)) == 0);
    cio_response_free(r);
    cio_client_pool_stats(c, &st);
    cr_expect_eq(st.conns, 0, "unread 10 MiB: closed, not drained");
    cio_client_free(c);
    return 0;
}

Test(client_nginx, static_gzip_head_204_304_keepalive)
{
    struct ctx x = {0};
    start(&x.p, NULL, false);
    snprintf(x.base, sizeof(x.base), "http://127.0.0.1:%u", x.p.port);
    int rc = cio_test_run(plain_main, &x);
    stop(&x.p);
    CIO_ASSERT_RC(rc, 0);
    cio_test_no_leaks();
}

Test(client_nginx, fetch_blocking)
{
    struct ctx x = {0};
    start(&x.p, NULL, false);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/small.txt", x.p.port);
    cio_response *r = NULL;
    int rc = cio_fetch(&(struct cio_request){.url = url}, NULL, &r);
    stop(&x.p);
    CIO_ASSERT_RC(rc, 0);
    size_t n;
    cr_expect_str_eq(cio_response_body(r, &n), "small\n");
    cr_expect_eq(cio_response_status(r), 200);
    cio_response_free(r);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- TLS */

struct tls_case {
    const char *cert;      /* served by nginx */
    bool need_client_cert; /* nginx requires one */
    bool send_client_cert;
    int want_status;
    const char *host; /* in the URL */
    bool trust_ca;    /* ca_file = the test CA, else the system store */
    bool insecure;
    int want;
};

static int tls_main(void *arg)
{
    void **a = arg;
    struct ctx *x = a[0];
    const struct tls_case *tc = a[1];
    cio_client *c;
    CIO_ASSERT_RC(
        cio_client_new(
            &c,
            &(struct cio_client_opts){
                .tls.ca_file = tc->trust_ca ? tls_fixture_path("ca.pem") : NULL,
                .tls.cert_file = tc->send_client_cert
                                     ? tls_fixture_path("client.pem")
                                     : NULL,
                .tls.key_file = tc->send_client_cert
                                    ? tls_fixture_path("client.key")
                                    : NULL,
                .tls.insecure_skip_verify = tc->insecure}),
        0);
    char url[128];
    snprintf(url, sizeof(url), "https://%s:%u/small.txt", tc->host,
             x->p.tls_port);
    cio_response *r;
    int rc = cio_get(c, url, NULL, &r);
    CIO_EXPECT_RC(rc, tc->want);
    if (rc == 0 && tc->want_status != 0) {
        cr_expect_eq(cio_response_status(r), tc->want_status);
        cio_response_free(r);
    } else if (rc == 0) {
        size_t n;
        cr_expect_eq(cio_response_status(r), 200);
        cr_expect_str_eq(cio_response_body(r, &n), "small\n");
        cio_response_free(r);
        /* reused over TLS too */
        CIO_ASSERT_RC(cio_get(c, url, NULL, &r), 0);
        cio_response_free(r);
        struct cio_pool_stats st;
        cio_client_pool_stats(c, &st);
        cr_expect_eq(st.created, 1);
    } else {
        cr_expect(strncmp(cio_last_error(), "TLS with ", 9) == 0, "%s",
                  cio_last_error());
    }
    cio_client_free(c);
    return 0;
}

static void tls_run(const struct tls_case *tc)
{
    struct ctx x = {0};
    start(&x.p, tc->cert, tc->need_client_cert);
    void *a[2] = {&x, (void *)tc};
    int rc = cio_test_run(tls_main, a);
    stop(&x.p);
    CIO_ASSERT_RC(rc, 0);
    cio_test_no_leaks();
}

Test(client_tls, client_certificate_sent)
{
    tls_run(&(struct tls_case){.cert = "server",
                               .need_client_cert = true,
                               .send_client_cert = true,
                               .host = "localhost",
                               .trust_ca = true});
}

Test(client_tls, client_certificate_missing_is_400)
{
    /* nginx answers 400 "No required SSL certificate was sent". */
    tls_run(&(struct tls_case){.cert = "server",
                               .need_client_cert = true,
                               .host = "localhost",
                               .trust_ca = true,
                               .want_status = 400});
}

Test(client_tls, ok_by_name)
{
    tls_run(&(struct tls_case){.cert = "server",
                               .host = "localhost",
                               .trust_ca = true,
                               .insecure = false,
                               .want = 0});
}

Test(client_tls, ok_by_ip_san)
{
    tls_run(&(struct tls_case){.cert = "server",
                               .host = "127.0.0.1",
                               .trust_ca = true,
                               .insecure = false,
                               .want = 0});
}

Test(client_tls, wrong_host_name)
{
    tls_run(&(struct tls_case){.cert = "wrong",
                               .host = "localhost",
                               .trust_ca = true,
                               .insecure = false,
                               .want = CIO_ECERT});
}

Test(client_tls, untrusted_issuer)
{
    tls_run(&(struct tls_case){.cert = "server",
                               .host = "localhost",
                               .trust_ca = false,
                               .insecure = false,
                               .want = CIO_ECERT});
}

Test(client_tls, self_signed)
{
    tls_run(&(struct tls_case){.cert = "self",
                               .host = "localhost",
                               .trust_ca = true,
                               .insecure = false,
                               .want = CIO_ECERT});
}

Test(client_tls, expired)
{
    tls_run(&(struct tls_case){.cert = "expired",
                               .host = "localhost",
                               .trust_ca = true,
                               .insecure = false,
                               .want = CIO_ECERT});
}

Test(client_tls, insecure_skip_verify_accepts_wrong_name)
{
    tls_run(&(struct tls_case){.cert = "wrong",
                               .host = "localhost",
                               .trust_ca = false,
                               .insecure = true,
                               .want = 0});
}
