/* SPDX-License-Identifier: MIT */
/*
 * The scripted raw server (tests/lib/rawsrv.c) checked with plain sockets,
 * so the client tests built on it can trust what it records and sends;
 * and the proxy CONNECT exchange over real TCP against it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "rawsrv.h"
#include "client/proxy.h"

static int dial(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = recv(fd, buf + n, cap - 1 - n, 0)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    return n;
}

Test(rawsrv, records_exact_requests_and_sends_script)
{
    static const struct raw_step s[] = {
        RAW_READ, RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_READ, RAW_REPEAT("x", 3),
        RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, (const struct raw_step *const[]){s, NULL}),
                 0);
    int fd = dial(rawsrv_port(srv));
    const char r1[] =
        "POST /a HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\nabc";
    const char r2[] = "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nhi\r\n0\r\n\r\n";
    cr_assert(send(fd, r1, sizeof(r1) - 1, 0) == (ssize_t)sizeof(r1) - 1);
    cr_assert(send(fd, r2, sizeof(r2) - 1, 0) == (ssize_t)sizeof(r2) - 1);
    char buf[256];
    read_all(fd, buf, sizeof(buf));
    close(fd);
    cr_expect_str_eq(buf, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokxxx");
    size_t len;
    cr_expect_eq(rawsrv_nrequests(srv), 2);
    cr_expect_str_eq(rawsrv_request(srv, 0, &len), r1);
    cr_expect_str_eq(rawsrv_request(srv, 1, &len), r2);
    cr_expect_eq(rawsrv_errors(srv), 0);
    rawsrv_stop(srv);
}

Test(rawsrv, per_connection_scripts_and_reset)
{
    static const struct raw_step a[] = {RAW_READ, RAW_RESET};
    static const struct raw_step b[] = {RAW_READ, RAW_SEND("B"), RAW_CLOSE};
    struct rawsrv *srv;
    cr_assert_eq(
        rawsrv_start(&srv, (const struct raw_step *const[]){a, b, NULL}), 0);
    char buf[64];
    for (int i = 0; i < 3; i++) {
        int fd = dial(rawsrv_port(srv));
        cr_assert(send(fd, "GET / HTTP/1.1\r\n\r\n", 18, 0) == 18);
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (i == 0)
            cr_expect(n < 0 && errno == ECONNRESET, "conn 0: n=%zd errno=%d", n,
                      errno);
        else
            cr_expect(n == 1 && buf[0] == 'B', "conn %d: n=%zd", i, n);
        close(fd);
    }
    cr_expect_eq(rawsrv_nconns(srv), 3);
    rawsrv_stop(srv);
}

/* A request that never comes: the step fails within its bound. */
Test(rawsrv, silent_client_is_an_error_not_a_hang)
{
    static const struct raw_step s[] = {RAW_READ, RAW_END};
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, (const struct raw_step *const[]){s, NULL}),
                 0);
    int fd = dial(rawsrv_port(srv));
    send(fd, "GET / HT", 8, 0);
    shutdown(fd, SHUT_WR);
    char buf[8];
    cr_expect_eq(recv(fd, buf, sizeof(buf), 0), 0);
    close(fd);
    cr_expect_eq(rawsrv_errors(srv), 1);
    rawsrv_stop(srv);
}

struct ctx {
    unsigned port;
    int rc;
};

static int connect_via(void *arg)
{
    struct ctx *x = arg;
    cio_stream *s;
    int rc = cio_tcp_connect(&s, "127.0.0.1", x->port, NULL, cio_after(5000));
    if (rc < 0)
        return rc;
    x->rc = cio__proxy_connect(s, "origin.test", 443, "Basic dTpw",
                               cio_after(5000));
    if (x->rc == 0) {
        /* The tunnel carries bytes both ways untouched. */
        cio_stream_write(s, "ping", 4, cio_after(5000));
        char b[8];
        ptrdiff_t n = cio_stream_read(s, b, sizeof(b), cio_after(5000));
        if (n != 4 || memcmp(b, "pong", 4) != 0)
            x->rc = -1;
    }
    cio_stream_close(s);
    return 0;
}

Test(rawsrv, proxy_connect_over_tcp)
{
    static const struct raw_step ok[] = {
        RAW_READ,       RAW_SEND("HTTP/1.1 200 Connection established\r\n\r\n"),
        RAW_SLEEP(50),  RAW_SEND("pong"),
        RAW_DRAIN(500), RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, (const struct raw_step *const[]){ok, NULL}),
                 0);
    struct ctx x = {.port = rawsrv_port(srv)};
    CIO_ASSERT_RC(cio_test_run(connect_via, &x), 0);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(rawsrv_wait(srv, 5000), 0);
    size_t len;
    cr_expect_str_eq(
        rawsrv_received(srv, 0, &len),
        "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n"
        "Proxy-Authorization: Basic dTpw\r\n\r\nping");
    rawsrv_stop(srv);

    static const struct raw_step deny[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 407 Proxy Authentication Required\r\n"
                 "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: "
                 "0\r\n\r\n"),
        RAW_END,
    };
    cr_assert_eq(
        rawsrv_start(&srv, (const struct raw_step *const[]){deny, NULL}), 0);
    x.port = rawsrv_port(srv);
    CIO_ASSERT_RC(cio_test_run(connect_via, &x), 0);
    CIO_EXPECT_RC(x.rc, CIO_EPROXY);
    rawsrv_stop(srv);
}
