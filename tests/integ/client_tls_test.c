/* SPDX-License-Identifier: MIT */
/*
 * The client against a scripted TLS server (rawsrv over OpenSSL in a plain
 * thread): RELIABILITY.md I.84, a TCP close without close_notify inside a
 * Content-Length or chunked body is a truncation error, never a short
 * success; the same bytes ended properly succeed. Also I.80: the server's
 * certificate must match the name (checked here through the whole client
 * with a scripted server, beside client-core's nginx tests).
 */
#include "test.h"
#include "rawsrv.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

#define SCRIPTS(...) ((const struct raw_step *const[]){__VA_ARGS__, NULL})

struct run {
    struct rawsrv *srv;
    const char *host; /* NULL: 127.0.0.1 */
    int rc;
    char body[128];
    char msg[256];
};

static int run_main(void *arg)
{
    struct run *x = arg;
    cio_client *c;
    struct cio_client_opts o = {.tls.ca_file = tls_fixture_path("ca.pem")};
    int rc = cio_client_new(&c, &o);
    if (rc < 0)
        return rc;
    char url[128];
    snprintf(url, sizeof(url), "https://%s:%u/t",
             x->host ? x->host : "127.0.0.1", rawsrv_port(x->srv));
    cio_response *r;
    x->rc = cio_get(c, url, NULL, &r);
    snprintf(x->msg, sizeof(x->msg), "%s", cio_last_error());
    if (x->rc == 0) {
        size_t n;
        const char *b = cio_response_body(r, &n);
        if (b == NULL)
            x->rc = cio_response_error(r);
        else
            snprintf(x->body, sizeof(x->body), "%.*s", (int)n, b);
        cio_response_free(r);
    }
    cio_client_free(c);
    return 0;
}

static void run(struct run *x, const struct raw_step *s, const char *cert)
{
    tls_fixture_require();
    char crt[512], key[512];
    snprintf(crt, sizeof(crt), "%s.pem", tls_fixture_path(cert));
    snprintf(key, sizeof(key), "%s.key", tls_fixture_path(cert));
    cr_assert_eq(rawsrv_start_tls(&x->srv, SCRIPTS(s), crt, key), 0);
    CIO_ASSERT_RC(cio_test_run(run_main, x), 0);
    rawsrv_stop(x->srv);
}

/* I.84: a truncated body behind a TLS close without close_notify. */
Test(client_tls, eof_without_close_notify_inside_a_body_is_an_error)
{
    static const struct raw_step cl[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        RAW_CLOSE,
    };
    struct run x = {0};
    run(&x, cl, "server");
    cr_expect_neq(x.rc, 0, "a truncated Content-Length body was a success: %s",
                  x.body);
    static const struct raw_step ch[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n5\r\nhello\r\n"),
        RAW_CLOSE,
    };
    struct run y = {0};
    run(&y, ch, "server");
    cr_expect_neq(y.rc, 0, "a truncated chunked body was a success: %s",
                  y.body);
    /* The control: complete bodies over the same server succeed. */
    static const struct raw_step ok[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        RAW_END,
    };
    struct run z = {0};
    run(&z, ok, "server");
    cr_expect_eq(z.rc, 0, "%s: %s", cio_errname(z.rc), z.msg);
    cr_expect_str_eq(z.body, "hello");
    cio_test_no_leaks();
}

/* I.80: a certificate for another name is refused before any request
 * byte is sent. */
Test(client_tls, certificate_for_another_name_is_refused)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_END,
    };
    struct run x = {0};
    run(&x, s, "wrong");
    CIO_EXPECT_RC(x.rc, CIO_ECERT);
    struct run y = {0};
    run(&y, s, "self");
    CIO_EXPECT_RC(y.rc, CIO_ECERT);
    cio_test_no_leaks();
}
