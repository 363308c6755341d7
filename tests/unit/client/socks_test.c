/* SPDX-License-Identifier: MIT */
/*
 * SOCKS5 handshakes over an in-memory pipe: the exact bytes written (no
 * auth, username/password, each address type, names resolved here or
 * sent), bytes after the reply left in the stream, every refusal and
 * malformed reply as CIO_EPROXY with its message, and the reply parser
 * fed byte by byte.
 */
#include "test.h"
#include "client/socks.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

struct sx {
    const char *reply; /* everything the proxy "sends", in advance */
    size_t reply_len;
    struct cio__socks_opts o;
    const char *host;
    unsigned port;
    int rc;
    unsigned char sent[1024]; /* what the handshake wrote */
    size_t sent_len;
    char rest[64]; /* what was left to read in the tunnel */
};

static int socks_task(void *arg)
{
    struct sx *x = arg;
    cio_stream *a, *b;
    int rc = cio_pipe_new(&a, &b, 128 * 1024);
    if (rc < 0)
        return rc;
    if (x->reply_len > 0 &&
        cio_stream_write(b, x->reply, x->reply_len, cio_after(5000)) < 0)
        return -1;
    cio_stream_shutdown(b, cio_after(1000));
    x->rc = cio__socks5_open(a, &x->o, x->host, x->port, cio_after(5000));
    cio_stream_shutdown(a, cio_after(1000));
    size_t n = 0;
    for (;;) {
        ptrdiff_t r = cio_stream_read(b, x->sent + n, sizeof(x->sent) - n,
                                      cio_after(1000));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    x->sent_len = n;
    if (x->rc == 0) {
        ptrdiff_t r =
            cio_stream_read(a, x->rest, sizeof(x->rest) - 1, cio_after(1000));
        x->rest[r > 0 ? r : 0] = '\0';
    }
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

static int run_socks(struct sx *x)
{
    if (x->o.proxy == NULL)
        x->o.proxy = "p:1080";
    CIO_ASSERT_RC(cio_test_run(socks_task, x), 0);
    return x->rc;
}

#define SENT_EQ(x, lit)                                                        \
    do {                                                                       \
        cr_expect_eq((x).sent_len, sizeof(lit) - 1, "sent %zu bytes",          \
                     (x).sent_len);                                            \
        cr_expect(memcmp((x).sent, lit, sizeof(lit) - 1) == 0);                \
    } while (0)

Test(socks, name_sent_without_auth)
{
    static const char r[] = "\x05\x00"
                            "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38"
                            "tail";
    struct sx x = {.reply = r,
                   .reply_len = sizeof(r) - 1,
                   .o = {.remote_dns = true},
                   .host = "origin.test",
                   .port = 443};
    CIO_EXPECT_RC(run_socks(&x), 0);
    SENT_EQ(x, "\x05\x01\x00"
               "\x05\x01\x00\x03\x0b"
               "origin.test"
               "\x01\xbb");
    /* The handshake read exactly its messages: the tunnel's bytes stay. */
    cr_expect_str_eq(x.rest, "tail");
    cio_test_no_leaks();
}

Test(socks, username_password_and_addresses)
{
    static const char r[] = "\x05\x02"
                            "\x01\x00"
                            "\x05\x00\x00\x04"
                            "0123456789abcdef"
                            "\x00\x50";
    struct sx x = {.reply = r,
                   .reply_len = sizeof(r) - 1,
                   .o = {.user = "pu", .ulen = 2, .pass = "p@ss", .plen = 4},
                   .host = "::1",
                   .port = 80};
    CIO_EXPECT_RC(run_socks(&x), 0);
    SENT_EQ(x, "\x05\x02\x00\x02"
               "\x01\x02pu\x04p@ss"
               "\x05\x01\x00\x04"
               "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
               "\x00\x50");

    /* Credentials offered, none wanted: no subnegotiation. A bound
     * domain name in the reply is read whole. */
    static const char r2[] = "\x05\x00"
                             "\x05\x00\x00\x03\x03"
                             "abc"
                             "\x00\x01";
    struct sx y = {.reply = r2,
                   .reply_len = sizeof(r2) - 1,
                   .o = {.user = "pu", .ulen = 2, .pass = "", .plen = 0},
                   .host = "10.1.2.3",
                   .port = 8080};
    CIO_EXPECT_RC(run_socks(&y), 0);
    SENT_EQ(y, "\x05\x02\x00\x02"
               "\x05\x01\x00\x01\x0a\x01\x02\x03\x1f\x90");
    cr_expect_str_eq(y.rest, "");

    /* socks5: a name is resolved here ("localhost": the loopback, IPv4
     * first) and sent as an address. */
    static const char r3[] = "\x05\x00"
                             "\x05\x00\x00\x01\0\0\0\0\0\0";
    struct sx z = {.reply = r3,
                   .reply_len = sizeof(r3) - 1,
                   .host = "localhost",
                   .port = 1};
    CIO_EXPECT_RC(run_socks(&z), 0);
    SENT_EQ(z, "\x05\x01\x00"
               "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x01");
    cio_test_no_leaks();
}

Test(socks, refusals_and_malformed_replies)
{
    static const struct {
        const char *reply;
        size_t len;
        bool auth;
        const char *msg;
    } c[] = {
#define R(s) s, sizeof(s) - 1
        {R(""), false,
         "closed the connection during method selection (after 0"},
        {R("\x05"), false, "during method selection (after 1"},
        {R("\x05\xff"), false,
         "accepts none of our authentication methods "
         "(none offered: it may want a username"},
        {R("\x05\xff"), true, "(none, username/password)"},
        {R("\x05\x02"), false,
         "chose authentication method 2, which we did not offer"},
        {R("\x05\x01"), true, "chose authentication method 1"},
        {R("\x04\x5a"), false,
         "does not speak SOCKS5: its method selection "
         "reply starts with 0x04"},
        {R("HTTP/1.1 400 Bad Request\r\n\r\n"), false,
         "starts with 0x48 'H' (an HTTP server?)"},
        {R("\x05\x02\x01\x01"), true,
         "rejected the username and password (status 1)"},
        {R("\x05\x02\x07\x00"), true,
         "does not speak SOCKS5: its authentication "
         "reply starts with 0x07"},
        {R("\x05\x02\x01"), true, "during authentication (after 1"},
        {R("\x05\x00\x05\x05"), false,
         "p:1080 refused: connection refused by "
         "destination host (reply 5)"},
        {R("\x05\x00\x05\x01\x00\x01\0\0\0\0\0\0"), false,
         "refused: general SOCKS server failure (reply 1)"},
        {R("\x05\x00\x05\xff"), false,
         "refused: unassigned reply code (reply 255)"},
        {R("\x05\x00\x06\x00"), false, "its CONNECT reply starts with 0x06"},
        {R("\x05\x00\x05\x00\x00\x02\0\0\0\0"), false,
         "address type 2 (not 1, 3 or 4)"},
        {R("\x05\x00\x05\x00\x00\x03\x00\0\0"), false,
         "empty bound domain name"},
        {R("\x05\x00\x05\x00\x00\x03\xff"
           "abc"),
         false, "during CONNECT (after 8 bytes"},
        {R("\x05\x00\x05\x00\x00\x04\0\0\0"), false,
         "during CONNECT (after 7 bytes"},
        {R("\x05\x00\x05\x00\x00\x01\0\0\0\0\0"), false,
         "during CONNECT (after 9 bytes"},
#undef R
    };
    for (size_t i = 0; i < COUNTOF(c); i++) {
        struct sx x = {.reply = c[i].reply,
                       .reply_len = c[i].len,
                       .host = "o.test",
                       .port = 443,
                       .o = {.remote_dns = true}};
        if (c[i].auth)
            x.o = (struct cio__socks_opts){.remote_dns = true,
                                           .user = "u",
                                           .ulen = 1,
                                           .pass = "p",
                                           .plen = 1};
        cr_expect_eq(run_socks(&x), CIO_EPROXY, "case %zu: %s", i,
                     cio_errname(x.rc));
        cr_expect(strstr(cio_last_error(), c[i].msg) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", i, cio_last_error(),
                  c[i].msg);
    }

    /* What cannot be sent is refused before anything is written. */
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    struct sx n = {.reply = "\x05\x00",
                   .reply_len = 2,
                   .host = longname,
                   .port = 443,
                   .o = {.remote_dns = true}};
    CIO_EXPECT_RC(run_socks(&n), CIO_EPROXY);
    cr_expect(strstr(cio_last_error(),
                     "299 bytes cannot go to SOCKS5 proxy p:1080") != NULL,
              "%s", cio_last_error());
    char longuser[300];
    memset(longuser, 'u', sizeof(longuser));
    struct sx u = {.reply = "\x05\x02",
                   .reply_len = 2,
                   .host = "o",
                   .port = 1,
                   .o = {.user = longuser, .ulen = 256, .pass = "", .plen = 0}};
    CIO_EXPECT_RC(run_socks(&u), CIO_EINVAL);
    cr_expect_eq(u.sent_len, 0);
    cio_test_no_leaks();
}

/* Fed one byte more at a time, the parser asks for more until the
 * message is whole, never for less than it has. */
Test(socks, parser_byte_by_byte)
{
    static const struct {
        int stage;
        const char *msg;
        size_t len;
        int done;
    } c[] = {
        {CIO__SOCKS_METHOD, "\x05\x00", 2, 0},
        {CIO__SOCKS_METHOD, "\x05\x02", 2, 2},
        {CIO__SOCKS_AUTH, "\x01\x00", 2, 0},
        {CIO__SOCKS_AUTH, "\x05\x00", 2, 0},
        {CIO__SOCKS_REPLY, "\x05\x00\x00\x01\x01\x02\x03\x04\x00\x50", 10, 0},
        {CIO__SOCKS_REPLY, "\x05\x00\x00\x03\x05hello\x00\x50", 12, 0},
        {CIO__SOCKS_REPLY,
         "\x05\x00\x00\x04"
         "0123456789abcdef\x00\x50",
         22, 0},
    };
    for (size_t i = 0; i < COUNTOF(c); i++) {
        const unsigned char *m = (const unsigned char *)c[i].msg;
        size_t last = 0;
        for (size_t n = 0; n < c[i].len; n++) {
            size_t need = 0;
            int rc = cio__socks5_parse(c[i].stage, m, n, true, "p", &need);
            cr_expect_eq(rc, CIO_EMORE, "case %zu at %zu: %s", i, n,
                         cio_errname(rc));
            cr_expect(need > n && need >= last && need <= c[i].len,
                      "case %zu at %zu: need %zu", i, n, need);
            last = need;
        }
        size_t need = 0;
        cr_expect_eq(
            cio__socks5_parse(c[i].stage, m, c[i].len, true, "p", &need),
            c[i].done, "case %zu", i);
        cr_expect_eq(need, c[i].len, "case %zu", i);
    }
    cr_expect_str_eq(cio__socks5_reply_str(0), "succeeded");
    cr_expect_str_eq(cio__socks5_reply_str(8), "address type not supported");
    cr_expect_str_eq(cio__socks5_reply_str(9), "unassigned reply code");
    cio_test_no_leaks();
}

/* A proxy that trickles its replies one byte per write: the handshake
 * still reads exactly its messages (a 255-byte bound domain, the longest
 * reply, then the tunnel's "tail"); one that stops mid-reply ends at the
 * deadline. */
struct trickle {
    cio_stream *b;
    unsigned char script[2 + 4 + 1 + 255 + 2 + 4];
    size_t len, stop_at; /* bytes sent before going silent */
    int rc;
    char rest[8];
};

static int trickle_writer(void *arg)
{
    struct trickle *t = arg;
    for (size_t i = 0; i < t->stop_at; i++) {
        if (cio_stream_write(t->b, t->script + i, 1, cio_after(5000)) != 1)
            return -1;
        cio_yield();
    }
    return 0;
}

static int trickle_task(void *arg)
{
    struct trickle *t = arg;
    cio_stream *a;
    int rc = cio_pipe_new(&a, &t->b, 4096);
    if (rc < 0)
        return rc;
    cio_group *g;
    if ((rc = cio_group_new(&g)) < 0)
        return rc;
    cio_spawn(g, trickle_writer, t, NULL, NULL);
    struct cio__socks_opts o = {.proxy = "p:1", .remote_dns = true};
    t->rc = cio__socks5_open(a, &o, "o.test", 443,
                             cio_after(t->stop_at < t->len ? 200 : 5000));
    /* The tunnel's bytes, as they come (one per write). */
    size_t n = 0;
    while (t->rc == 0 && n < 4) {
        ptrdiff_t r = cio_stream_read(a, t->rest + n, sizeof(t->rest) - 1 - n,
                                      cio_after(5000));
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    t->rest[n] = '\0';
    cio_group_wait(g, cio_after(5000));
    cio_group_free(g);
    cio_stream_close(a);
    cio_stream_close(t->b);
    return 0;
}

Test(socks, trickling_proxy)
{
    struct trickle t = {0};
    unsigned char *s = t.script;
    memcpy(s, "\x05\x00\x05\x00\x00\x03\xff", 7);
    memset(s + 7, 'b', 255);
    memcpy(s + 262,
           "\x01\xbb"
           "tail",
           6);
    t.len = t.stop_at = sizeof(t.script);
    CIO_ASSERT_RC(cio_test_run(trickle_task, &t), 0);
    CIO_EXPECT_RC(t.rc, 0);
    cr_expect_str_eq(t.rest, "tail");

    struct trickle u = t;
    u.stop_at = 100; /* mid-domain */
    u.rest[0] = '\0';
    CIO_ASSERT_RC(cio_test_run(trickle_task, &u), 0);
    CIO_EXPECT_RC(u.rc, CIO_ETIMEDOUT);
    cio_test_no_leaks();
}
