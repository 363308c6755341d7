/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 head writer and chunk encoder: exact bytes, re-validation
 * of everything (RELIABILITY.md D.42-44), bounded output, the Date cache.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "test.h"

#include "http/chunked.h"
#include "http/h1_write.h"

static cio_headers *mk(void)
{
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, NULL), 0);
    return h;
}

static char out[4096];

Test(h1_write, request_head)
{
    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "Host", "example.com"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "accept", "*/*"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Empty", ""), 0);
    struct cio__h1_request r = {
        .method = CIO_STR_LIT("GET"),
        .target = CIO_STR_LIT("/a/b?c=d&e=%20"),
        .minor = 1,
        .headers = h,
        .extra =
            (const struct cio_kv[]){{"Content-Length", " 0 "}, {NULL, NULL}},
    };
    static const char want[] = "GET /a/b?c=d&e=%20 HTTP/1.1\r\n"
                               "Host: example.com\r\n"
                               "accept: */*\r\n"
                               "X-Empty: \r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    ptrdiff_t n = cio__h1_write_request(out, sizeof(out), &r, NULL);
    cr_assert_eq(n, (ptrdiff_t)sizeof(want) - 1, "%s", cio_last_error());
    cr_expect(memcmp(out, want, (size_t)n) == 0, "%.*s", (int)n, out);

    r.minor = 0;
    r.headers = NULL;
    r.extra = NULL;
    r.method = CIO_STR_LIT("OPTIONS");
    r.target = CIO_STR_LIT("*");
    n = cio__h1_write_request(out, sizeof(out), &r, NULL);
    cr_assert_eq(n, 22);
    cr_expect(memcmp(out, "OPTIONS * HTTP/1.0\r\n\r\n", 22) == 0);
    cio_headers_free(h);
}

Test(h1_write, request_target_forms)
{
    static const char *ok[] = {
        "/", "/p?q",       "http://h:8/p?q",   "h.example:443",
        "*", "/%00%0d%0a", "/~!$&'()*+,;=:@[]"};
    for (size_t i = 0; i < CIO_COUNTOF(ok); i++) {
        struct cio__h1_request r = {CIO_STR_LIT("CONNECT"), cio_str_c(ok[i]), 1,
                                    NULL, NULL};
        cr_expect_gt(cio__h1_write_request(out, sizeof(out), &r, NULL), 0, "%s",
                     ok[i]);
    }
}

Test(h1_write, response_head)
{
    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "Content-Type", "text/plain"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Set-Cookie", "a=1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Set-Cookie", "b=2"), 0);
    struct cio__h1_response r = {.status = 200, .minor = 1, .headers = h};
    static const char want[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Set-Cookie: a=1\r\n"
                               "Set-Cookie: b=2\r\n\r\n";
    ptrdiff_t n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    cr_assert_eq(n, (ptrdiff_t)sizeof(want) - 1);
    cr_expect(memcmp(out, want, (size_t)n) == 0);

    static const struct {
        int status;
        const char *reason;
        int minor;
        const char *line;
    } lines[] = {
        {404, NULL, 1, "HTTP/1.1 404 Not Found\r\n\r\n"},
        {413, NULL, 1, "HTTP/1.1 413 Content Too Large\r\n\r\n"},
        {299, NULL, 1, "HTTP/1.1 299 \r\n\r\n"},
        {100, NULL, 1, "HTTP/1.1 100 Continue\r\n\r\n"},
        {599, "", 0, "HTTP/1.0 599 \r\n\r\n"},
        {200, "Fine \t and \xe9", 1, "HTTP/1.1 200 Fine \t and \xe9\r\n\r\n"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(lines); i++) {
        struct cio__h1_response rr = {.status = lines[i].status,
                                      .reason = lines[i].reason != NULL
                                                    ? cio_str_c(lines[i].reason)
                                                    : (struct cio_str){NULL, 0},
                                      .minor = lines[i].minor};
        n = cio__h1_write_response(out, sizeof(out), &rr, NULL);
        cr_assert_eq(n, (ptrdiff_t)strlen(lines[i].line), "%s", lines[i].line);
        cr_expect(memcmp(out, lines[i].line, (size_t)n) == 0);
    }
    cio_headers_free(h);
}

Test(h1_write, response_date)
{
    struct cio__h1_response r = {.status = 204, .minor = 1, .add_date = 1};
    time_t before = time(NULL);
    ptrdiff_t n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    time_t after = time(NULL);
    cr_assert_eq(n, 25 + 6 + CIO_HTTP_DATE_LEN + 2 + 2);
    cr_expect(memcmp(out, "HTTP/1.1 204 No Content\r\nDate: ", 31) == 0);
    time_t t;
    CIO_ASSERT_RC(cio_http_date_parse(out + 31, CIO_HTTP_DATE_LEN, &t), 0);
    cr_expect(t >= before && t <= after);
    cr_expect(memcmp(out + n - 4, "\r\n\r\n", 4) == 0);

    /* Never a second Date. */
    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "date", "Sun, 06 Nov 1994 08:49:37 GMT"),
                  0);
    r.headers = h;
    n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_expect_null(strstr(out, "Date:"), "%s", out);
    cr_expect_not_null(strstr(out, "date: Sun, 06 Nov 1994"));
    r.headers = NULL;
    r.extra = (const struct cio_kv[]){{"DATE", "x"}, {NULL, NULL}};
    n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    out[n] = '\0';
    cr_expect_null(strstr(out, "Date:"), "%s", out);
    cio_headers_free(h);
}

Test(h1_write, date_cache)
{
    const char *a = cio__h1_date();
    time_t now = time(NULL);
    const char *b = cio__h1_date();
    cr_expect_eq(a, b, "one buffer per thread");
    char want0[CIO_HTTP_DATE_LEN + 1], want1[CIO_HTTP_DATE_LEN + 1];
    cio_http_date_format(now, want0);
    cio_http_date_format(now + 1, want1);
    cr_expect(strcmp(b, want0) == 0 || strcmp(b, want1) == 0, "%s", b);
    cr_expect_eq(strlen(b), CIO_HTTP_DATE_LEN);
}

static void *other_thread(void *arg)
{
    *(const char **)arg = cio__h1_date();
    return NULL;
}

Test(h1_write, date_cache_is_per_thread)
{
    const char *mine = cio__h1_date(), *theirs = NULL;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, other_thread, &theirs), 0);
    pthread_join(t, NULL);
    cr_expect_neq(mine, theirs);
}

/* RELIABILITY.md D.42/D.44: nothing that could split a message is written,
 * wherever it comes from. */
Test(h1_write, request_validation)
{
    static const struct {
        const char *method, *target;
        size_t tlen;
        int minor;
        int rc;
        const char *msg;
    } cases[] = {
        {"G ET", "/", 1, 1, CIO_EINVAL, "method \"G ET\" is not a token"},
        {"G(ET", "/", 1, 1, CIO_EINVAL, "not a token"},
        {"", "/", 1, 1, CIO_EINVAL, "method \"\" is not a token"},
        {"GET\r\n", "/", 1, 1, CIO_EINVAL, "method \"GET\\x0d\\x0a\""},
        {"GET", "/a b", 4, 1, CIO_EINVAL, "contains byte 0x20"},
        {"GET", "/a\r\nHost: evil", 14, 1, CIO_EINVAL, "contains byte 0x0d"},
        {"GET", "/a\nb", 4, 1, CIO_EINVAL, "contains byte 0x0a"},
        {"GET", "/a\0b", 4, 1, CIO_EINVAL, "contains byte 0x00"},
        {"GET", "/a\tb", 4, 1, CIO_EINVAL, "contains byte 0x09"},
        {"GET", "/a\x7f", 3, 1, CIO_EINVAL, "contains byte 0x7f"},
        {"GET", "/caf\xc3\xa9", 6, 1, CIO_EINVAL, "contains byte 0xc3"},
        {"GET", "/a#frag", 7, 1, CIO_EINVAL, "contains byte 0x23"},
        {"GET", "", 0, 1, CIO_EINVAL, "request target is empty"},
        {"GET", "/", 1, 2, CIO_EINVAL, "HTTP/1.2 is not writable"},
        {"GET", "/", 1, -1, CIO_EINVAL, "HTTP/1.-1"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct cio__h1_request r = {cio_str_c(cases[i].method),
                                    {cases[i].target, cases[i].tlen},
                                    cases[i].minor,
                                    NULL,
                                    NULL};
        CIO_EXPECT_RC(cio__h1_write_request(out, sizeof(out), &r, NULL),
                      cases[i].rc);
        cr_expect(strstr(cio_last_error(), cases[i].msg) != NULL,
                  "case %zu: \"%s\"", i, cio_last_error());
    }
    struct cio__h1_request r = {{NULL, 0}, CIO_STR_LIT("/"), 1, NULL, NULL};
    CIO_EXPECT_RC(cio__h1_write_request(out, sizeof(out), &r, NULL),
                  CIO_EINVAL);
}

Test(h1_write, extra_fields_are_validated)
{
    static const struct {
        const char *name, *value;
        int rc;
        const char *msg;
    } cases[] = {
        {"X-A", "a\r\nEvil: 1", CIO_EHEADER,
         "value of header \"X-A\" contains CR"},
        {"X-A", "a\nb", CIO_EHEADER, "contains LF"},
        {"X:Y", "1", CIO_EHEADER, "header name \"X:Y\" is not a token"},
        {"Authorization ", "x", CIO_EHEADER, "not a token"},
        {"", "x", CIO_EHEADER, "header name is empty"},
        {"X-A", NULL, CIO_EINVAL, "NULL value"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct cio_kv extra[] = {
            {"Ok", "1"}, {cases[i].name, cases[i].value}, {NULL, NULL}};
        struct cio__h1_request rq = {CIO_STR_LIT("GET"), CIO_STR_LIT("/"), 1,
                                     NULL, extra};
        CIO_EXPECT_RC(cio__h1_write_request(out, sizeof(out), &rq, NULL),
                      cases[i].rc);
        cr_expect(strstr(cio_last_error(), cases[i].msg) != NULL,
                  "case %zu: \"%s\"", i, cio_last_error());
        struct cio__h1_response rs = {
            .status = 200, .minor = 1, .extra = extra};
        CIO_EXPECT_RC(cio__h1_write_response(out, sizeof(out), &rs, NULL),
                      cases[i].rc);
    }
}

Test(h1_write, response_validation)
{
    static const struct {
        int status;
        struct cio_str reason;
        int minor;
        const char *msg;
    } cases[] = {
        {99, {NULL, 0}, 1, "status 99 is not in 100..599"},
        {600, {NULL, 0}, 1, "status 600"},
        {1000, {NULL, 0}, 1, "status 1000"},
        {-200, {NULL, 0}, 1, "status -200"},
        {200, {"OK\r\nX: 1", 9}, 1, "contains 0x0d"},
        {200, {"OK\nX", 4}, 1, "contains 0x0a"},
        {200, {"O\0K", 3}, 1, "contains 0x00"},
        {200, {"O\x7fK", 3}, 1, "contains 0x7f"},
        {200, {NULL, 0}, 3, "HTTP/1.3"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct cio__h1_response r = {.status = cases[i].status,
                                     .reason = cases[i].reason,
                                     .minor = cases[i].minor};
        CIO_EXPECT_RC(cio__h1_write_response(out, sizeof(out), &r, NULL),
                      CIO_EINVAL);
        cr_expect(strstr(cio_last_error(), cases[i].msg) != NULL,
                  "case %zu: \"%s\"", i, cio_last_error());
    }
}

Test(h1_write, bounded_output)
{
    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "Host", "a"), 0);
    struct cio__h1_request r = {CIO_STR_LIT("GET"), CIO_STR_LIT("/"), 1, h,
                                NULL};
    static const size_t full = 16 + 9 + 2;
    char buf[64];
    for (size_t cap = 0; cap < full; cap++) {
        memset(buf, '#', sizeof(buf));
        size_t need = 0;
        CIO_EXPECT_RC(cio__h1_write_request(buf, cap, &r, &need), CIO_ETOOBIG);
        cr_expect_eq(need, full, "cap %zu", cap);
        for (size_t k = cap; k < sizeof(buf); k++)
            cr_assert_eq(buf[k], '#', "cap %zu: byte %zu written", cap, k);
    }
    size_t need = 7;
    cr_expect_eq(cio__h1_write_request(buf, full, &r, &need), (ptrdiff_t)full);
    cr_expect_eq(need, 7, "need untouched on success");
    cr_expect(memcmp(buf, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", full) == 0);
    cr_expect_eq(cio__h1_write_request(buf, full, &r, NULL), (ptrdiff_t)full);
    cio_headers_free(h);
}

Test(h1_write, chunk_heads)
{
    static const struct {
        uint64_t len;
        const char *head;
    } cases[] = {
        {0, "0\r\n"},
        {1, "1\r\n"},
        {15, "f\r\n"},
        {16, "10\r\n"},
        {255, "ff\r\n"},
        {4096, "1000\r\n"},
        {0x7fffffffffffffffull, "7fffffffffffffff\r\n"},
        {UINT64_MAX, "ffffffffffffffff\r\n"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        char head[CIO__H1_CHUNK_HEAD_MAX];
        size_t n = cio__h1_chunk_head(head, cases[i].len);
        cr_expect_eq(n, strlen(cases[i].head));
        cr_expect(memcmp(head, cases[i].head, n) == 0, "%s", cases[i].head);
    }
    struct iovec iov[3];
    char head[CIO__H1_CHUNK_HEAD_MAX];
    cr_expect_eq(cio__h1_chunk_iov(iov, head, "x", 0), 0);
    cr_assert_eq(cio__h1_chunk_iov(iov, head, "hello", 5), 3);
    cr_expect_eq(iov[0].iov_base, head);
    cr_expect_eq(iov[0].iov_len, 3);
    cr_expect(memcmp(head, "5\r\n", 3) == 0);
    cr_expect_eq(iov[1].iov_len, 5);
    cr_expect(memcmp(iov[2].iov_base, "\r\n", 2) == 0);
}

Test(h1_write, last_chunk_and_trailers)
{
    ptrdiff_t n = cio__h1_write_last_chunk(out, sizeof(out), NULL, NULL);
    cr_assert_eq(n, 5);
    cr_expect(memcmp(out, "0\r\n\r\n", 5) == 0);

    cio_headers *t = mk();
    CIO_ASSERT_RC(cio_headers_add(t, "Server-Timing", "db;dur=53"), 0);
    CIO_ASSERT_RC(cio_headers_add(t, "X-Checksum", "abc"), 0);
    n = cio__h1_write_last_chunk(out, sizeof(out), t, NULL);
    static const char want[] =
        "0\r\nServer-Timing: db;dur=53\r\nX-Checksum: abc\r\n\r\n";
    cr_assert_eq(n, (ptrdiff_t)sizeof(want) - 1);
    cr_expect(memcmp(out, want, (size_t)n) == 0);

    size_t need = 0;
    CIO_EXPECT_RC(cio__h1_write_last_chunk(out, 10, t, &need), CIO_ETOOBIG);
    cr_expect_eq(need, sizeof(want) - 1);

    /* Framing fields are never sent as trailers (RELIABILITY.md A.16). */
    static const char *forbidden[] = {"Content-Length", "transfer-encoding",
                                      "HOST", "Trailer", "Authorization"};
    for (size_t i = 0; i < CIO_COUNTOF(forbidden); i++) {
        cio_headers *f;
        CIO_ASSERT_RC(cio_headers_clone(&f, t), 0);
        CIO_ASSERT_RC(cio_headers_add(f, forbidden[i], "1"), 0);
        CIO_EXPECT_RC(cio__h1_write_last_chunk(out, sizeof(out), f, NULL),
                      CIO_EHEADER);
        cr_expect(strstr(cio_last_error(), "not allowed in a trailer") != NULL,
                  "%s", cio_last_error());
        cio_headers_free(f);
    }
    cio_headers_free(t);
}

/* Encoder then decoder: random bodies in random chunk sizes, with
 * trailers, give back the same bytes. */
Test(h1_write, chunked_roundtrip_through_the_decoder)
{
    static char body[50000], wire[80000], got[50000];
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int round = 0; round < 50; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t blen = (size_t)(x % sizeof(body)), n = 0;
        for (size_t i = 0; i < blen; i++)
            body[i] = (char)(x >> (i % 56));
        for (size_t i = 0; i < blen;) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t k = 1 + (size_t)(x % 5000);
            if (k > blen - i)
                k = blen - i;
            struct iovec iov[3];
            char head[CIO__H1_CHUNK_HEAD_MAX];
            cr_assert_eq(cio__h1_chunk_iov(iov, head, body + i, k), 3);
            for (int j = 0; j < 3; j++) {
                memcpy(wire + n, iov[j].iov_base, iov[j].iov_len);
                n += iov[j].iov_len;
            }
            i += k;
        }
        cio_headers *t = mk();
        CIO_ASSERT_RC(cio_headers_add(t, "X-Round", round % 2 ? "odd" : "even"),
                      0);
        ptrdiff_t tn =
            cio__h1_write_last_chunk(wire + n, sizeof(wire) - n, t, NULL);
        cr_assert_gt(tn, 0);
        n += (size_t)tn;
        cio_headers_free(t);

        struct cio__chunked d;
        cio__chunked_init(&d, NULL);
        size_t off = 0, glen = 0;
        int rc = 0;
        while (off < n && rc == 0) {
            size_t used;
            struct cio_str data;
            rc = cio__chunked_feed(&d, wire + off, n - off, &used, &data);
            cr_assert_geq(rc, 0, "%s", cio_last_error());
            memcpy(got + glen, data.ptr, data.len);
            glen += data.len;
            off += used;
        }
        cr_expect_eq(rc, CIO__CHUNKED_DONE);
        cr_expect_eq(off, n);
        cr_expect_eq(glen, blen);
        cr_expect(memcmp(got, body, blen) == 0);
        cr_expect_str_eq(cio_headers_get(cio__chunked_trailers(&d), "x-round"),
                         round % 2 ? "odd" : "even");
        cio__chunked_fini(&d);
    }
}

/* The fields the writer formats itself, after a vouched-for map copied in
 * one pass; every size from 0 to the whole head reports ETOOBIG with the
 * size needed and writes nothing past cap. */
Test(h1_write, response_own_fields_and_checked_map)
{
    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "Content-Type", "text/plain"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-A", ""), 0);
    struct cio__h1_response r = {
        .status = 200,
        .minor = 1,
        .headers = h,
        .checked = 1,
        .has_length = 1,
        .length = 18446744073709551615ull,
        .connection = "close",
        .server = CIO_STR_LIT("corio"),
    };
    const char *want =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: \r\n"
        "Content-Length: 18446744073709551615\r\n"
        "Connection: close\r\nServer: corio\r\n\r\n";
    ptrdiff_t n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    cr_assert_eq(n, (ptrdiff_t)strlen(want));
    cr_expect(memcmp(out, want, (size_t)n) == 0, "%.*s", (int)n, out);
    for (size_t cap = 0; cap < strlen(want); cap++) {
        char small[256];
        size_t need = 0;
        memset(small, 'Z', sizeof(small));
        CIO_EXPECT_RC(cio__h1_write_response(small, cap, &r, &need),
                      CIO_ETOOBIG);
        cr_expect_eq(need, strlen(want));
        cr_expect_eq(small[cap], 'Z', "wrote past cap %zu", cap);
    }
    r.has_length = 0;
    r.chunked = 1;
    r.connection = NULL;
    r.server = (struct cio_str){NULL, 0};
    r.length = 0;
    n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: \r\n"
           "Transfer-Encoding: chunked\r\n\r\n";
    cr_assert_eq(n, (ptrdiff_t)strlen(want));
    cr_expect(memcmp(out, want, (size_t)n) == 0, "%.*s", (int)n, out);
    /* a length of zero is written */
    r.chunked = 0;
    r.has_length = 1;
    n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    out[n] = '\0';
    cr_expect_not_null(strstr(out, "\r\nContent-Length: 0\r\n"), "%s", out);
    cio_headers_free(h);
}

/* The Date line and the Date text agree, and a map's date (any case)
 * suppresses the line even after other fields came and went. */
Test(h1_write, date_line_matches_date)
{
    const char *line = cio__h1_date_line();
    cr_assert_eq(strlen(line), CIO__H1_DATE_LINE_LEN);
    cr_expect(memcmp(line, "Date: ", 6) == 0);
    cr_expect(memcmp(line + 6 + CIO_HTTP_DATE_LEN, "\r\n", 2) == 0);
    const char *d = cio__h1_date();
    /* both read the same per-second cache; a second may tick between */
    if (memcmp(line + 6, d, CIO_HTTP_DATE_LEN) != 0)
        line = cio__h1_date_line();
    cr_expect(memcmp(line + 6, d, CIO_HTTP_DATE_LEN) == 0, "%s vs %s", line, d);

    cio_headers *h = mk();
    CIO_ASSERT_RC(cio_headers_add(h, "X-1", "a"), 0);
    CIO_ASSERT_RC(cio_headers_set(h, "DaTe", "Sun, 06 Nov 1994 08:49:37 GMT"),
                  0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-2", "b"), 0);
    cr_expect_eq(cio_headers_remove(h, "X-1"), 1);
    struct cio__h1_response r = {
        .status = 200, .minor = 1, .headers = h, .checked = 1, .add_date = 1};
    ptrdiff_t n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    cr_assert_gt(n, 0);
    out[n] = '\0';
    cr_expect_null(strstr(out, "Date:"), "%s", out);
    cr_expect_eq(cio_headers_remove(h, "date"), 1);
    n = cio__h1_write_response(out, sizeof(out), &r, NULL);
    out[n] = '\0';
    cr_expect_not_null(strstr(out, "\r\nDate: "), "%s", out);
    cio_headers_free(h);
}
