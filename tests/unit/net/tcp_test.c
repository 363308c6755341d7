/* SPDX-License-Identifier: MIT */
#include "test.h"

struct echo {
    cio_listener *ln;
    int nclients;
    int ok;
};

static void serve_one(void *arg)
{
    cio_stream *c = arg;
    char buf[4096];
    ptrdiff_t n;
    cio_time dl = cio_after(5000);
    while ((n = cio_stream_read(c, buf, sizeof(buf), dl)) > 0)
        if (cio_stream_write(c, buf, (size_t)n, dl) != n)
            break;
    cio_stream_close(c);
}

static void acceptor(void *arg)
{
    struct echo *e = arg;
    cio_group *g;
    cr_assert_eq(cio_group_new(&g), 0);
    for (int i = 0; i < e->nclients; i++) {
        cio_stream *c;
        if (cio_listener_accept(e->ln, &c, cio_after(5000)) < 0)
            break;
        if (cio_go(g, serve_one, c) < 0)
            cio_stream_close(c);
    }
    cio_group_wait(g, cio_after(5000));
    cio_group_free(g);
}

static void client(void *arg)
{
    struct echo *e = arg;
    cio_stream *s;
    char out[64], in[64];
    int len = snprintf(out, sizeof(out), "hello %p", (void *)&s);
    cio_time dl = cio_after(5000);
    if (cio_tcp_connect(&s, "127.0.0.1", cio_listener_port(e->ln), NULL, dl) < 0)
        return;
    if (cio_stream_write(s, out, (size_t)len, dl) == len) {
        ptrdiff_t got = 0, n;
        while (got < len && (n = cio_stream_read(s, in + got, sizeof(in) - (size_t)got, dl)) > 0)
            got += n;
        if (got == len && memcmp(in, out, (size_t)len) == 0)
            e->ok++;
    }
    cio_stream_close(s);
}

static int echo_main(void *arg)
{
    struct echo *e = arg;
    cio_group *g;
    CIO_ASSERT_RC(cio_tcp_listen(&e->ln, "127.0.0.1:0", NULL), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, acceptor, e), 0);
    for (int i = 0; i < e->nclients; i++)
        CIO_ASSERT_RC(cio_go(g, client, e), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    cio_listener_close(e->ln);
    return 0;
}

Test(tcp, echo_100_clients, .timeout = 30)
{
    struct echo e = {.nclients = 100};
    cr_assert_eq(cio_run(echo_main, &e), 0);
    cr_expect_eq(e.ok, 100);
}
