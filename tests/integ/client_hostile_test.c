/* SPDX-License-Identifier: MIT */
/*
 * The client against hostile servers (RELIABILITY.md C and E): the
 * scripted raw server (tests/lib/rawsrv) sends exact bytes; each test is
 * named after what it defends and asserts the typed error, whether the
 * connection was reused, and (ASan/LSan) that nothing leaks.
 */
#include <time.h>
#include <zlib.h>

#include "config.h"
#if CIO_HAVE_ZSTD
#include <zstd.h>
#endif

#include "test.h"
#include "rawsrv.h"

struct run {
    const struct raw_step *const *scripts;
    struct cio_client_opts opts;
    const char *method;
    int nreq; /* requests to send, one after the other */
    /* results */
    int rc[4];
    int status[4];
    char body[4][256];
    size_t body_len[4];
    char msg[4][256];
    size_t nconns;
    struct rawsrv *srv;
};

static int run_main(void *arg)
{
    struct run *x = arg;
    cio_client *c;
    int rc = cio_client_new(&c, &x->opts);
    if (rc < 0)
        return rc;
    for (int i = 0; i < (x->nreq ? x->nreq : 1); i++) {
        cio_response *r = NULL;
        x->rc[i] = cio_request(c,
                               &(struct cio_request){
                                   .method = x->method,
                                   .url = rawsrv_url(x->srv, "/t"),
                               },
                               &r);
        snprintf(x->msg[i], sizeof(x->msg[i]), "%s", cio_last_error());
        if (x->rc[i] == 0) {
            x->status[i] = cio_response_status(r);
            size_t n = 0;
            const char *b = cio_response_body(r, &n);
            if (b != NULL) {
                x->body_len[i] = n;
                snprintf(x->body[i], sizeof(x->body[i]), "%.*s", (int)n, b);
            }
            cio_response_free(r);
        }
    }
    cio_client_free(c);
    return 0;
}

/* Sends requests until the server's script ends (at most 100), one
 * client; rc[0] is the last result, body_len[1] the jar's cookie count. */
static int flood_main(void *arg)
{
    struct run *x = arg;
    cio_client *c;
    int rc = cio_client_new(&c, &x->opts);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 100; i++) {
        cio_response *r = NULL;
        x->rc[0] = cio_get(c, rawsrv_url(x->srv, "/f"), NULL, &r);
        snprintf(x->msg[0], sizeof(x->msg[0]), "%s", cio_last_error());
        if (x->rc[0] < 0)
            break;
        size_t n;
        cio_response_body(r, &n);
        bool done = n == 2;
        cio_response_free(r);
        if (done)
            break;
    }
    x->body_len[1] = cio_cookie_jar_count(cio_client_cookies(c), time(NULL));
    cio_client_free(c);
    return 0;
}

static void run(struct run *x)
{
    cr_assert_eq(rawsrv_start(&x->srv, x->scripts), 0);
    CIO_ASSERT_RC(cio_test_run(run_main, x), 0);
    rawsrv_wait(x->srv, 5000);
    x->nconns = rawsrv_nconns(x->srv);
    rawsrv_stop(x->srv);
}

#define SCRIPTS(...) ((const struct raw_step *const[]){__VA_ARGS__, NULL})

/* ----------------------------------------------------------- C: framing */

/* C.28: CL and TE together: chunked wins, the connection is not reused. */
Test(client_hostile, cl_and_te_decoded_as_chunked_and_not_reused)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n"
                 "5\r\nhello\r\n0\r\n\r\n"),
        RAW_DRAIN(300),
        RAW_END,
    };
    static const struct raw_step ok[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_DRAIN(300),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s, ok), .nreq = 2};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], 0);
    cr_expect_str_eq(x.body[0], "hello");
    CIO_EXPECT_RC(x.rc[1], 0);
    cr_expect_eq(x.nconns, 2, "the CL+TE connection was reused");
    cio_test_no_leaks();
}

/* C.28: two differing Content-Lengths: an error, never a guess. */
Test(client_hostile, conflicting_content_lengths_are_a_protocol_error)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: "
                 "5\r\n\r\nabcde"),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s)};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], CIO_EPROTO);
    cio_test_no_leaks();
}

/* C.29: an endless header section stops at the limit; memory bounded. */
Test(client_hostile, header_flood_stops_at_the_limit)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\n"),
        RAW_REPEAT("X-Flood: "
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                   3200),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s)};
    run(&x);
    cr_expect(x.rc[0] == CIO_ETOOBIG || x.rc[0] == CIO_EPROTO, "got %s: %s",
              cio_errname(x.rc[0]), x.msg[0]);
    static const struct raw_step line[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nX-Long: "),
        RAW_REPEAT("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                   3000),
        RAW_END,
    };
    struct run y = {.scripts = SCRIPTS(line)};
    run(&y);
    cr_expect(y.rc[0] == CIO_ETOOBIG || y.rc[0] == CIO_EPROTO, "got %s",
              cio_errname(y.rc[0]));
    cio_test_no_leaks();
}

/* C.30: interim responses without end, and an unrequested 101. */
Test(client_hostile, interim_flood_and_unrequested_101_fail)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_REPEAT("HTTP/1.1 100 Continue\r\n\r\n", 50),
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s)};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], CIO_EPROTO);
    static const struct raw_step few[] = {
        RAW_READ,
        RAW_REPEAT("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 3),
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_END,
    };
    struct run y = {.scripts = SCRIPTS(few)};
    run(&y);
    CIO_EXPECT_RC(y.rc[0], 0);
    cr_expect_str_eq(y.body[0], "ok");
    static const struct raw_step up[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                 "websocket\r\nConnection: upgrade\r\n\r\n"),
        RAW_END,
    };
    struct run z = {.scripts = SCRIPTS(up)};
    run(&z);
    CIO_EXPECT_RC(z.rc[0], CIO_EPROTO);
    cio_test_no_leaks();
}

/* C.31: malformed status lines. */
Test(client_hostile, malformed_status_lines_are_protocol_errors)
{
    static const char *const lines[] = {
        "HTTP/1.1 2OO OK\r\n\r\n",  "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n", "200 OK\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",   "ICY 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        struct raw_step s[] = {RAW_READ, RAW_SEND(lines[i]), RAW_END};
        struct run x = {.scripts = SCRIPTS(s)};
        run(&x);
        cr_expect_eq(x.rc[0], CIO_EPROTO, "case %zu (%s): %s", i, lines[i],
                     cio_errname(x.rc[0]));
    }
    cio_test_no_leaks();
}

/* C.32: HEAD and 204 with body bytes: never a body, never reused. */
Test(client_hostile, bodyless_responses_with_bytes_are_not_reused)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 204 No Content\r\n\r\nSMUGGLED"),
        RAW_DRAIN(300),
        RAW_END,
    };
    static const struct raw_step ok[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_DRAIN(300),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s, ok), .nreq = 2};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], 0);
    cr_expect_eq(x.status[0], 204);
    cr_expect_eq(x.body_len[0], 0);
    CIO_EXPECT_RC(x.rc[1], 0);
    cr_expect_str_eq(x.body[1], "ok",
                     "the smuggled bytes were read as a response");
    cr_expect_eq(x.nconns, 2);

    static const struct raw_step h[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        RAW_DRAIN(300),
        RAW_END,
    };
    struct run y = {.scripts = SCRIPTS(h, ok), .nreq = 2, .method = "HEAD"};
    run(&y);
    CIO_EXPECT_RC(y.rc[0], 0);
    cr_expect_eq(y.body_len[0], 0);
    CIO_EXPECT_RC(y.rc[1], 0);
    cr_expect_eq(y.status[1], 200);
    cr_expect_eq(y.nconns, 2, "HEAD with body bytes was reused");
    cio_test_no_leaks();
}

/* C.33: truncation is an error, never a short success. */
Test(client_hostile, truncated_bodies_are_errors)
{
    static const struct raw_step cl[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
        RAW_CLOSE,
    };
    struct run x = {.scripts = SCRIPTS(cl)};
    run(&x);
    cr_expect_neq(x.rc[0], 0, "a 5-byte body of 10 was a success");
    static const struct raw_step ch[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n5\r\nhello\r\n"),
        RAW_CLOSE,
    };
    struct run y = {.scripts = SCRIPTS(ch)};
    run(&y);
    cr_expect_neq(y.rc[0], 0, "chunked without its last chunk was a success");
    static const struct raw_step rst[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"),
        RAW_SLEEP(50),
        RAW_RESET,
    };
    struct run z = {.scripts = SCRIPTS(rst)};
    run(&z);
    cr_expect_neq(z.rc[0], 0);
    cio_test_no_leaks();
}

/* C.33: no CL and no TE: the body runs until close; no reuse. */
Test(client_hostile, close_delimited_body_is_read_to_eof)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\n\r\nuntil close"),
        RAW_CLOSE,
    };
    static const struct raw_step ok[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s, ok), .nreq = 2};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], 0);
    cr_expect_str_eq(x.body[0], "until close");
    CIO_EXPECT_RC(x.rc[1], 0);
    cr_expect_eq(x.nconns, 2);
    cio_test_no_leaks();
}

/* --------------------------------------------------------- E: decoding */

static unsigned char *gzip_of_zeros(size_t n, size_t *outlen)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY),
                 Z_OK);
    size_t cap = n / 500 + 4096;
    unsigned char *out = malloc(cap);
    static unsigned char zeros[65536];
    z.next_out = out;
    z.avail_out = (uInt)cap;
    for (size_t done = 0; done < n; done += sizeof(zeros)) {
        z.next_in = zeros;
        z.avail_in = sizeof(zeros);
        cr_assert_eq(
            deflate(&z, done + sizeof(zeros) >= n ? Z_FINISH : Z_NO_FLUSH) >= 0,
            1);
    }
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* E.46: a gzip bomb stops at the decoded cap. */
Test(client_hostile, gzip_bomb_stops_at_the_cap)
{
    size_t zl;
    unsigned char *z = gzip_of_zeros(256u << 20, &zl); /* 256 MiB of zeros */
    char head[128];
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
             "Content-Length: %zu\r\n\r\n",
             zl);
    struct raw_step s[] = {RAW_READ, RAW_SEND(head), RAW_SEND_N(z, zl),
                           RAW_END};
    struct run x = {.scripts = SCRIPTS(s), .opts = {.max_body = 1u << 20}};
    run(&x);
    cr_expect(x.rc[0] == CIO_ETOOBIG || x.rc[0] == CIO_ECODING, "got %s: %s",
              cio_errname(x.rc[0]), x.msg[0]);
    free(z);
    cio_test_no_leaks();
}

/* E.47: more than 5 stacked codings. */
Test(client_hostile, stacked_codings_are_refused)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip, gzip, "
                 "gzip, gzip\r\n"
                 "Content-Length: 3\r\n\r\nabc"),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s)};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], CIO_ECODING);
    static const struct raw_step t[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                 "7\r\n\r\nnotgzip"),
        RAW_END,
    };
    struct run y = {.scripts = SCRIPTS(t)};
    run(&y);
    CIO_EXPECT_RC(y.rc[0], CIO_ECODING);
    cio_test_no_leaks();
}

/* E.49: a redirect's body is never decoded (a bomb behind a 302 costs
 * nothing) and the hop still works. */
Test(client_hostile, redirect_body_is_not_decoded)
{
    size_t zl;
    unsigned char *z = gzip_of_zeros(64u << 20, &zl);
    char head[160];
    snprintf(head, sizeof(head),
             "HTTP/1.1 302 Found\r\nLocation: /next\r\n"
             "Content-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
             zl);
    struct raw_step s[] = {RAW_READ, RAW_SEND(head), RAW_SEND_N(z, zl),
                           RAW_DRAIN(300), RAW_END};
    static const struct raw_step ok[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        RAW_END,
    };
    struct run x = {.scripts = SCRIPTS(s, ok), .opts = {.max_body = 1u << 20}};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], 0);
    cr_expect_str_eq(x.body[0], "ok");
    free(z);
    cio_test_no_leaks();
}

/* E.48 (RFC 9659): a zstd frame whose window is above 8 MiB is refused
 * before the decoder allocates it. */
Test(client_hostile, zstd_window_above_8_mib_is_refused)
{
#if CIO_HAVE_ZSTD
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 27); /* 128 MiB */
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    static unsigned char frame[256];
    ZSTD_outBuffer out = {frame, sizeof(frame), 0};
    ZSTD_inBuffer in = {"hello", 5, 0};
    /* Flush first: ending in the first call would tell zstd the size, and
     * it would shrink the window to fit. */
    cr_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_flush)));
    ZSTD_inBuffer none = {"", 0, 0};
    cr_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &out, &none, ZSTD_e_end)));
    /* The frame header declares the window (Window_Descriptor: log 27). */
    cr_assert((frame[4] & 0x20) == 0 && (frame[5] >> 3) + 10 == 27,
              "frame header %02x %02x", frame[4], frame[5]);
    ZSTD_freeCCtx(cc);
    static char head[160];
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\n"
             "Content-Length: %zu\r\n\r\n",
             out.pos);
    struct raw_step s[] = {RAW_READ, RAW_SEND(head), RAW_SEND_N(frame, out.pos),
                           RAW_END};
    struct run x = {.scripts = SCRIPTS(s)};
    run(&x);
    CIO_EXPECT_RC(x.rc[0], CIO_ECODING);
    cr_expect(strstr(x.msg[0], "8 MiB") != NULL, "%s", x.msg[0]);
    cio_test_no_leaks();
#else
    cr_skip_test("built without zstd");
#endif
}

/* ------------------------------------------------------- C: cookies */

/* C.34 (curl CVE-2022-32205): a server floods the jar with 420 cookies of
 * 4 KB over 60 responses: the jar keeps at most 50 for the site, and the
 * next request's Cookie line stays under the 8 KiB header cap, so the
 * client can still talk to the server. */
Test(client_hostile, cookie_flood_is_capped)
{
    enum { NRESP = 60, NCOOK = 7 }; /* 32 KiB heads: 7 cookies of 4 KB each */
    static char heads[NRESP][NCOOK * 4100 + 128];
    static struct raw_step s[2 * NRESP + 3];
    static char val[4000];
    memset(val, 'v', sizeof(val) - 1);
    for (int i = 0; i < NRESP; i++) {
        char *p = heads[i];
        p += sprintf(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
        for (int k = 0; k < NCOOK; k++)
            p += sprintf(p, "Set-Cookie: c%d_%d=%s; Path=/\r\n", i, k, val);
        sprintf(p, "\r\n");
        s[2 * i] = (struct raw_step)RAW_READ;
        s[2 * i + 1] = (struct raw_step)RAW_SEND(heads[i]);
    }
    s[2 * NRESP] = (struct raw_step)RAW_READ;
    s[2 * NRESP + 1] = (struct raw_step)RAW_SEND(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s[2 * NRESP + 2] = (struct raw_step)RAW_END;
    struct run x = {.scripts = SCRIPTS(s)};
    cr_assert_eq(rawsrv_start(&x.srv, x.scripts), 0);
    CIO_ASSERT_RC(cio_test_run(flood_main, &x), 0);
    rawsrv_wait(x.srv, 5000);
    size_t len = 0;
    const char *last = rawsrv_request(x.srv, NRESP, &len);
    cr_assert_not_null(
        last, "the client stopped talking after the flood: %s %s (%zu reqs)",
        cio_errname(x.rc[0]), x.msg[0], rawsrv_nrequests(x.srv));
    const char *ck = strstr(last, "\r\nCookie: ");
    cr_assert_not_null(ck, "no cookies at all were sent");
    size_t cl = (size_t)(strstr(ck + 2, "\r\n") - ck) - 10;
    cr_expect_leq(cl, 8192, "Cookie line of %zu bytes", cl);
    cr_expect_eq(x.rc[0], 0, "%s", x.msg[0]);
    cr_expect_leq(x.body_len[1], 50, "%zu cookies kept for one site",
                  x.body_len[1]);
    cr_expect_geq(x.body_len[1], 5);
    rawsrv_stop(x.srv);
    cio_test_no_leaks();
}
