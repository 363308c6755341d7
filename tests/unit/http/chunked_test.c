/* SPDX-License-Identifier: MIT */
/*
 * The chunked decoder: a table of vectors (RELIABILITY.md A.13-16 and the
 * valid forms), each fed whole, byte by byte and in seeded random splits,
 * which must all give the same body, trailers, leftover and verdict.
 */
#include <stdint.h>

#include "test.h"

#include "base/alloc.h"
#include "http/chunked.h"

#define OUT_MAX 8192

/* What one run produced. rc: CIO__CHUNKED_DONE, CIO_EMORE (input ended
 * before the body did) or the error. */
struct res {
    int rc;
    char body[OUT_MAX];
    size_t body_len;
    char trailers[40000]; /* "name: value\n" per kept field */
    size_t leftover;      /* input bytes after the body */
    uint32_t ndropped;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64: reproducible splits without libc's rand state. */
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

enum split { WHOLE, BYTES, RANDOM };

static void serialize_trailers(const cio_headers *t, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0, n = t != NULL ? cio_headers_count(t) : 0; i < n; i++) {
        struct cio_field f;
        cio_headers_at(t, i, &f);
        o += (size_t)snprintf(out + o, cap - o, "%s: %s\n", f.name.ptr,
                              f.value.ptr);
        cr_assert_lt(o, cap);
    }
}

/* Feeds in[0..len) split as asked; every span must lie inside the piece
 * just fed and the body must never exceed the declared sizes. */
static void run(const char *in, size_t len,
                const struct cio__chunked_opts *opts, enum split how,
                struct res *r)
{
    struct cio__chunked d;
    cio__chunked_init(&d, opts);
    memset(r, 0, sizeof(*r));
    r->rc = CIO_EMORE;

    size_t pos = 0;
    while (pos < len) {
        size_t piece = len - pos;
        if (how == BYTES)
            piece = 1;
        else if (how == RANDOM)
            piece = 1 + (size_t)(rng() % (len - pos < 9 ? len - pos : 9) +
                                 (rng() % 4 == 0 ? rng() % (len - pos) : 0));
        if (piece > len - pos)
            piece = len - pos;
        /* Only this piece is visible: the decoder must not read past it. */
        const char *p = in + pos;
        size_t left = piece;
        int rc = 0;
        while (left > 0) {
            size_t used = 0;
            struct cio_str data = {NULL, 0};
            rc = cio__chunked_feed(&d, p, left, &used, &data);
            if (rc < 0) {
                r->rc = rc;
                goto out;
            }
            cr_assert_leq(used, left);
            if (data.len > 0) {
                cr_assert(data.ptr >= p && data.ptr + data.len <= p + used,
                          "span outside the consumed input");
                cr_assert_leq(r->body_len + data.len, OUT_MAX);
                memcpy(r->body + r->body_len, data.ptr, data.len);
                r->body_len += data.len;
            }
            cr_assert_leq(d.total, d.declared);
            if (rc == CIO__CHUNKED_DONE) {
                r->rc = rc;
                r->leftover = len - (pos + (size_t)(p - (in + pos)) + used);
                goto out;
            }
            cr_assert_gt(used, 0, "no progress");
            p += used;
            left -= used;
        }
        pos += piece;
    }
out:
    if (r->rc == CIO__CHUNKED_DONE) {
        cr_assert_eq(d.total, d.declared);
        CIO_EXPECT_RC(cio__chunked_eof(&d), 0);
    } else if (r->rc != CIO_EMORE) {
        /* Errors are sticky, whatever comes next. */
        size_t used;
        struct cio_str data;
        CIO_EXPECT_RC(cio__chunked_feed(&d, "0\r\n\r\n", 5, &used, &data),
                      r->rc);
        CIO_EXPECT_RC(cio__chunked_eof(&d), r->rc);
    }
    cr_assert_eq(d.total, r->body_len);
    serialize_trailers(cio__chunked_trailers(&d), r->trailers,
                       sizeof(r->trailers));
    r->ndropped = d.ndropped;
    cio__chunked_fini(&d);
}

#define S(lit) lit, sizeof(lit) - 1

static const struct cio__chunked_opts o_small_ext = {.max_ext_bytes = 8};
static const struct cio__chunked_opts o_small_tr = {.max_trailer_bytes = 64};
static const struct cio__chunked_opts o_two_tr = {.max_trailers = 2};
static const struct cio__chunked_opts o_body10 = {.max_body = 10};

static const struct vec {
    const char *name; /* what the case defends or shows */
    const char *in;
    size_t len;
    int rc;
    const char *body;
    const char *trailers;
    size_t leftover;
    const struct cio__chunked_opts *opts;
} vecs[] = {
    /* ---- valid */
    {"empty body", S("0\r\n\r\n"), 1, "", "", 0, NULL},
    {"one chunk", S("5\r\nhello\r\n0\r\n\r\n"), 1, "hello", "", 0, NULL},
    {"three chunks", S("3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"), 1,
     "abcdef", "", 0, NULL},
    {"uppercase hex", S("A\r\n0123456789\r\n0\r\n\r\n"), 1, "0123456789", "", 0,
     NULL},
    {"lowercase hex", S("a\r\n0123456789\r\n0\r\n\r\n"), 1, "0123456789", "", 0,
     NULL},
    {"leading zeros", S("0005\r\nhello\r\n0\r\n\r\n"), 1, "hello", "", 0, NULL},
    {"16 digits is the maximum", S("0000000000000005\r\nhello\r\n0\r\n\r\n"), 1,
     "hello", "", 0, NULL},
    {"16-digit last chunk", S("0000000000000000\r\n\r\n"), 1, "", "", 0, NULL},
    {"extension a=b ignored", S("5;a=b\r\nhello\r\n0\r\n\r\n"), 1, "hello", "",
     0, NULL},
    {"extension without value", S("5;ext\r\nhello\r\n0\r\n\r\n"), 1, "hello",
     "", 0, NULL},
    {"quoted extension", S("5;a=\"x y;z\"\r\nhello\r\n0\r\n\r\n"), 1, "hello",
     "", 0, NULL},
    {"quoted-pair in extension", S("5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n"), 1,
     "hello", "", 0, NULL},
    {"several extensions", S("5;a=b;c;d=\"e\"\r\nhello\r\n0\r\n\r\n"), 1,
     "hello", "", 0, NULL},
    {"BWS in extensions",
     S("5 ;a = b ; c\t;d=\"q\" \t;e\r\nhello\r\n0\r\n\r\n"), 1, "hello", "", 0,
     NULL},
    {"extension on last chunk", S("0;x=y\r\n\r\n"), 1, "", "", 0, NULL},
    {"obs-text in quoted extension", S("1;a=\"\xe9\"\r\nx\r\n0\r\n\r\n"), 1,
     "x", "", 0, NULL},
    {"one trailer", S("0\r\nX-T: 1\r\n\r\n"), 1, "", "X-T: 1\n", 0, NULL},
    {"trailers trimmed, in order",
     S("2\r\nhi\r\n0\r\nA:  x \r\nB:y\r\nA:\tz\t\r\n\r\n"), 1, "hi",
     "A: x\nB: y\nA: z\n", 0, NULL},
    {"empty trailer value", S("0\r\nX:\r\n\r\n"), 1, "", "X: \n", 0, NULL},
    {"HTAB and obs-text in trailer value", S("0\r\nX: a\tb \xe9\r\n\r\n"), 1,
     "", "X: a\tb \xe9\n", 0, NULL},
    {"framing trailers dropped (A.16)",
     S("0\r\nContent-Length: 5\r\nHost: evil\r\nTransfer-Encoding: chunked\r\n"
       "X: 1\r\n\r\n"),
     1, "", "X: 1\n", 0, NULL},
    {"pipelined bytes left over", S("0\r\n\r\nGET / HTTP/1.1\r\n"), 1, "", "",
     16, NULL},
    {"leftover after trailers", S("1\r\nz\r\n0\r\nT: v\r\n\r\nNEXT"), 1, "z",
     "T: v\n", 4, NULL},
    {"data holding CRLFs", S("4\r\n\r\n\r\n\r\n0\r\n\r\n"), 1, "\r\n\r\n", "",
     0, NULL},
    {"binary data with NUL", S("3\r\n\0\xff\0\r\n0\r\n\r\n"), 1, "\0\xff\0", "",
     0, NULL},
    {"body exactly at max_body", S("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 1,
     "helloworld", "", 0, &o_body10},
    {"extensions exactly at the limit", S("1;abcdefg\r\nx\r\n0\r\n\r\n"), 1,
     "x", "", 0, &o_small_ext},
    {"two trailers at a limit of two", S("0\r\nA: 1\r\nB: 2\r\n\r\n"), 1, "",
     "A: 1\nB: 2\n", 0, &o_two_tr},

    /* ---- incomplete */
    {"no input", S(""), CIO_EMORE, "", "", 0, NULL},
    {"inside data", S("5\r\nhel"), CIO_EMORE, "hel", "", 0, NULL},
    {"before the last chunk", S("5\r\nhello\r\n"), CIO_EMORE, "hello", "", 0,
     NULL},
    {"before the final CRLF", S("0\r\n"), CIO_EMORE, "", "", 0, NULL},
    {"inside trailers", S("0\r\nX: 1\r\n"), CIO_EMORE, "", "X: 1\n", 0, NULL},
    {"inside a quoted extension", S("5;a=\"unterminated"), CIO_EMORE, "", "", 0,
     NULL},
    {"2^63-1 declared: no overflow", S("7fffffffffffffff\r\nabc"), CIO_EMORE,
     "abc", "", 0, NULL},

    /* ---- A.13: chunk-size */
    {"size 0x5 (A.13)", S("0x5\r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"size +5 (A.13)", S("+5\r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"size -1 (A.13)", S("-1\r\nh\r\n0\r\n\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"leading space (A.13)", S(" 5\r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "",
     0, NULL},
    {"trailing space (A.13)", S("5 \r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "",
     0, NULL},
    {"trailing tab (A.13)", S("5\t\r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "",
     0, NULL},
    {"empty size (A.13)", S("\r\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"17 hex digits (A.13)", S("00000000000000005\r\nhello\r\n0\r\n\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"2^64 (A.13)", S("10000000000000000\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"2^64-1 (A.13)", S("ffffffffffffffff\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"2^63 (A.13)", S("8000000000000000\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"underscore in size (A.13)", S("5_0\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"non-hex letter (A.13)", S("g\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"NUL before size (A.13)",
     S("\0"
       "5\r\nhello\r\n0\r\n\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"bare LF after size (A.12)", S("5\nhello\r\n0\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"bare CR after size (A.11)", S("5\rXhello\r\n0\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"size above max_body", S("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"),
     CIO_ETOOBIG, "hello", "", 0, &o_body10},
    {"huge size refused at once with max_body", S("7fffffffffffffff\r\n"),
     CIO_ETOOBIG, "", "", 0, &o_body10},

    /* ---- A.14: data then exactly CRLF */
    {"data then CR X (A.14)", S("5\r\nhello\rX0\r\n\r\n"), CIO_EPROTO, "hello",
     "", 0, NULL},
    {"data then XY (A.14)", S("5\r\nhelloXY0\r\n\r\n"), CIO_EPROTO, "hello", "",
     0, NULL},
    {"data then bare LF (A.14)", S("5\r\nhello\n0\r\n\r\n"), CIO_EPROTO,
     "hello", "", 0, NULL},
    {"data then X LF (A.14)", S("5\r\nhelloX\n0\r\n\r\n"), CIO_EPROTO, "hello",
     "", 0, NULL},
    {"data then CR CR LF (A.14)", S("5\r\nhello\r\r\n0\r\n\r\n"), CIO_EPROTO,
     "hello", "", 0, NULL},
    {"data longer than declared (A.14)", S("5\r\nhelloo\r\n0\r\n\r\n"),
     CIO_EPROTO, "hello", "", 0, NULL},
    {"data shorter than declared (A.14)", S("5\r\nhell\r\n0\r\n\r\n"),
     CIO_EPROTO, "hell\r", "", 0, NULL},
    {"last chunk with data (A.14)", S("0\r\nhello\r\n\r\n"), CIO_EPROTO, "", "",
     0, NULL},

    /* ---- A.15: extensions */
    {"bare CR in quoted extension (A.15)", S("5;a=\"x\ry\"\r\nhello\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"bare CR in extension name (A.15)", S("5;a\rb\r\nhello\r\n"), CIO_EPROTO,
     "", "", 0, NULL},
    {"bare LF in extension (A.15)", S("5;a=b\nhello\r\n"), CIO_EPROTO, "", "",
     0, NULL},
    {"empty extension name", S("5;\r\nhello\r\n"), CIO_EPROTO, "", "", 0, NULL},
    {"empty extension value", S("5;a=\r\nhello\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"space inside extension value", S("5;a=b c\r\nhello\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"bytes after closing quote", S("5;a=\"x\"y\r\nhello\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"control byte in quoted extension", S("5;a=\"\x01\"\r\nhello\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"whitespace before CR after extension", S("5;a=b \r\nhello\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"non-token in extension name", S("5;a@b\r\nhello\r\n"), CIO_EPROTO, "", "",
     0, NULL},
    {"NUL in extension", S("5;a=b\0\r\nhello\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"extensions over the limit (A.15)", S("1;abcdefgh\r\nx\r\n0\r\n\r\n"),
     CIO_ETOOBIG, "", "", 0, &o_small_ext},
    {"extensions over the limit across chunks (A.15)",
     S("1;abcde\r\nx\r\n1;abcde\r\ny\r\n0\r\n\r\n"), CIO_ETOOBIG, "x", "", 0,
     &o_small_ext},

    /* ---- A.16 and trailer syntax */
    {"trailer section over the limit (A.16)",
     S("0\r\nX-Long: 0123456789012345678901234567890123456789012345678901234567"
       "89\r\n\r\n"),
     CIO_ETOOBIG, "", "", 0, &o_small_tr},
    {"many small trailers over the limit (A.16)",
     S("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n"
       "I: 9\r\nJ: 0\r\nK: 1\r\n\r\n"),
     CIO_ETOOBIG, "",
     "A: 1\nB: 2\nC: 3\nD: 4\nE: 5\nF: 6\nG: 7\nH: 8\nI: 9\nJ: 0\n", 0,
     &o_small_tr},
    {"too many trailer fields (A.16)", S("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
     CIO_ETOOBIG, "", "A: 1\nB: 2\n", 0, &o_two_tr},
    {"dropped trailers still count (A.16)",
     S("0\r\nHost: a\r\nHost: b\r\nHost: c\r\n\r\n"), CIO_ETOOBIG, "", "", 0,
     &o_two_tr},
    {"bare LF in trailer (A.12)", S("0\r\nX: 1\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"bare CR in trailer value (A.10)", S("0\r\nX: a\rb\r\n\r\n"), CIO_EPROTO,
     "", "", 0, NULL},
    {"obs-fold in trailers (A.8)", S("0\r\nX: 1\r\n  2\r\n\r\n"), CIO_EPROTO,
     "", "X: 1\n", 0, NULL},
    {"leading whitespace on first trailer (A.7)", S("0\r\n X: 1\r\n\r\n"),
     CIO_EPROTO, "", "", 0, NULL},
    {"space before colon in trailer (A.7)", S("0\r\nX : 1\r\n\r\n"), CIO_EPROTO,
     "", "", 0, NULL},
    {"trailer without colon (A.9)", S("0\r\nXY\r\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"empty trailer name (A.9)", S("0\r\n: v\r\n\r\n"), CIO_EPROTO, "", "", 0,
     NULL},
    {"non-token trailer name (A.9)", S("0\r\nX(Y: 1\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"NUL in trailer value (A.10)", S("0\r\nX: a\0b\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"DEL in trailer value (A.10)", S("0\r\nX: a\x7f\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"CTL in trailer value (A.10)", S("0\r\nX: a\x01\r\n\r\n"), CIO_EPROTO, "",
     "", 0, NULL},
    {"final CR then X (A.11)", S("0\r\n\rX"), CIO_EPROTO, "", "", 0, NULL},
    {"final bare LF (A.12)", S("0\r\n\n"), CIO_EPROTO, "", "", 0, NULL},
};

static void expect_same(const struct vec *v, const struct res *want,
                        const struct res *got, const char *how)
{
    cr_expect_eq(got->rc, want->rc, "%s [%s]: rc %s, whole gave %s", v->name,
                 how, cio_errname(got->rc), cio_errname(want->rc));
    cr_expect(got->body_len == want->body_len &&
                  memcmp(got->body, want->body, got->body_len) == 0,
              "%s [%s]: body differs (%zu vs %zu bytes)", v->name, how,
              got->body_len, want->body_len);
    cr_expect_str_eq(got->trailers, want->trailers, "%s [%s]", v->name, how);
    cr_expect_eq(got->leftover, want->leftover, "%s [%s]: leftover", v->name,
                 how);
    cr_expect_eq(got->ndropped, want->ndropped, "%s [%s]: dropped", v->name,
                 how);
}

Test(chunked, vectors)
{
    static struct res whole, other;
    cr_assert_geq(CIO_COUNTOF(vecs), 60);
    for (size_t i = 0; i < CIO_COUNTOF(vecs); i++) {
        const struct vec *v = &vecs[i];
        run(v->in, v->len, v->opts, WHOLE, &whole);
        cr_expect_eq(whole.rc, v->rc, "%s: got %s (%s), want %s", v->name,
                     cio_errname(whole.rc), cio_last_error(),
                     cio_errname(v->rc));
        /* The one body with NUL bytes is "\0\xff\0". */
        size_t blen = v->body[0] == '\0' && v->rc == CIO__CHUNKED_DONE &&
                              strstr(v->name, "NUL") != NULL
                          ? 3
                          : strlen(v->body);
        cr_expect(
            whole.body_len == blen && memcmp(whole.body, v->body, blen) == 0,
            "%s: body \"%.*s\"", v->name, (int)whole.body_len, whole.body);
        cr_expect_str_eq(whole.trailers, v->trailers, "%s", v->name);
        cr_expect_eq(whole.leftover, v->leftover, "%s: leftover %zu", v->name,
                     whole.leftover);
        if (v->rc < 0 && v->rc != CIO_EMORE)
            cr_expect(strncmp(cio_last_error(), "chunked: ", 9) == 0,
                      "%s: message \"%s\"", v->name, cio_last_error());

        /* Split invariance (RELIABILITY.md A.20). */
        run(v->in, v->len, v->opts, BYTES, &other);
        expect_same(v, &whole, &other, "bytes");
        rng_state = 0x9e3779b97f4a7c15ull ^ i;
        for (int k = 0; k < 25; k++) {
            run(v->in, v->len, v->opts, RANDOM, &other);
            expect_same(v, &whole, &other, "random");
        }
    }
}

Test(chunked, framing_trailers_are_dropped_and_counted)
{
    static const char in[] =
        "0\r\ncontent-length: 5\r\nHOST: evil\r\n"
        "Transfer-Encoding: chunked\r\nTrailer: x\r\n"
        "Set-Cookie: a=b\r\nServer-Timing: t;dur=1\r\n\r\n";
    struct res r;
    run(in, sizeof(in) - 1, NULL, WHOLE, &r);
    cr_assert_eq(r.rc, CIO__CHUNKED_DONE);
    cr_expect_eq(r.ndropped, 5);
    cr_expect_str_eq(r.trailers, "Server-Timing: t;dur=1\n");
}

Test(chunked, messages_name_the_problem)
{
    static const struct {
        const char *in;
        const char *msg;
    } cases[] = {
        {"00000000000000005\r\n", "more than 16 hex digits"},
        {"8000000000000000\r\n", "above 2^63-1"},
        {"0x5\r\n", "byte 0x78 in chunk size"},
        {"\r\n", "empty chunk size"},
        {"5\r\nhelloXY", "after chunk data"},
        {"5;a=\"\r", "bare CR in quoted chunk extension"},
        {"0\r\n X: 1\r\n", "obs-fold"},
        {"0\r\nX : 1\r\n", "trailer name \"X \" is not a token"},
        {"0\r\nX: a\x01\r\n", "value of trailer \"X\" contains 0x01"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct res r;
        run(cases[i].in, strlen(cases[i].in), NULL, WHOLE, &r);
        cr_expect_eq(r.rc, CIO_EPROTO, "case %zu", i);
        cr_expect(strstr(cio_last_error(), cases[i].msg) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", i, cio_last_error(),
                  cases[i].msg);
    }
}

Test(chunked, errors_and_done_are_sticky)
{
    struct cio__chunked d;
    size_t used = 99;
    struct cio_str data = {NULL, 0};

    cio__chunked_init(&d, NULL);
    CIO_EXPECT_RC(cio__chunked_feed(&d, "x", 1, &used, &data), CIO_EPROTO);
    cr_expect_eq(used, 99, "used written on error");
    CIO_EXPECT_RC(cio__chunked_feed(&d, "0\r\n\r\n", 5, &used, &data),
                  CIO_EPROTO);
    CIO_EXPECT_RC(cio__chunked_eof(&d), CIO_EPROTO);
    cio__chunked_fini(&d);

    cio__chunked_init(&d, NULL);
    cr_assert_eq(cio__chunked_feed(&d, "0\r\n\r\n", 5, &used, &data),
                 CIO__CHUNKED_DONE);
    cr_expect_eq(used, 5);
    cr_expect(cio__chunked_done(&d));
    cr_expect_eq(cio__chunked_feed(&d, "5\r\n", 3, &used, &data),
                 CIO__CHUNKED_DONE);
    cr_expect_eq(used, 0);
    cr_expect_eq(data.len, 0);
    cio__chunked_fini(&d);
    cio__chunked_fini(&d); /* twice is fine */
}

Test(chunked, eof_before_the_end_is_an_error)
{
    static const char *cut[] = {"",         "5",          "5;a",
                                "5\r\nhel", "5\r\nhello", "5\r\nhello\r",
                                "0\r\n",    "0\r\nX: 1",  "0\r\nX: 1\r\n",
                                "0\r\n\r"};
    for (size_t i = 0; i < CIO_COUNTOF(cut); i++) {
        struct cio__chunked d;
        cio__chunked_init(&d, NULL);
        const char *p = cut[i];
        size_t len = strlen(p);
        while (len > 0) {
            size_t used;
            struct cio_str data;
            cr_assert_eq(cio__chunked_feed(&d, p, len, &used, &data), 0);
            p += used;
            len -= used;
        }
        CIO_EXPECT_RC(cio__chunked_eof(&d), CIO_EPROTO);
        cr_expect(strstr(cio_last_error(), "body ended") != NULL, "%s",
                  cio_last_error());
        cio__chunked_fini(&d);
    }
}

Test(chunked, spans_are_views_and_one_per_call)
{
    static const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    struct cio__chunked d;
    size_t used;
    struct cio_str data;

    cio__chunked_init(&d, NULL);
    cr_assert_eq(cio__chunked_feed(&d, in, sizeof(in) - 1, &used, &data), 0);
    cr_expect_eq(data.ptr, in + 3);
    cr_expect_eq(data.len, 3);
    cr_expect_eq(used, 6);
    cr_assert_eq(cio__chunked_feed(&d, in + 6, sizeof(in) - 7, &used, &data),
                 0);
    cr_expect_eq(data.ptr, in + 11);
    cr_expect_eq(data.len, 2);
    cr_assert_eq(cio__chunked_feed(&d, in + 13, sizeof(in) - 14, &used, &data),
                 CIO__CHUNKED_DONE);
    cr_expect_eq(data.len, 0);
    cr_expect_eq(d.declared, 5);
    cr_expect_eq(d.total, 5);
    cr_expect_null(cio__chunked_trailers(&d));
    cio__chunked_fini(&d);
}

Test(chunked, take_trailers)
{
    static const char in[] = "0\r\nA: 1\r\nB: 2\r\n\r\n";
    struct cio__chunked d;
    size_t used;
    struct cio_str data;

    cio__chunked_init(&d, NULL);
    cr_assert_eq(cio__chunked_feed(&d, in, sizeof(in) - 1, &used, &data),
                 CIO__CHUNKED_DONE);
    cio_headers *t = cio__chunked_take_trailers(&d);
    cr_assert_not_null(t);
    cr_expect_null(cio__chunked_trailers(&d));
    cio__chunked_fini(&d);
    cr_expect_str_eq(cio_headers_get(t, "b"), "2");
    cio_headers_free(t);
}

/* A.15 with the default limit: 4 KiB of extensions per message in total. */
Test(chunked, default_extension_limit_is_per_message)
{
    char in[16384];
    size_t len = 0;
    /* 100 chunks with 50 extension bytes each: 5000 > 4096. */
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len,
                                "1;e=%046d\r\nx\r\n", i);
    len += (size_t)snprintf(in + len, sizeof(in) - len, "0\r\n\r\n");
    struct res r;
    run(in, len, NULL, WHOLE, &r);
    CIO_EXPECT_RC(r.rc, CIO_ETOOBIG);
    cr_expect_lt(r.body_len, 100);
    cr_expect(strstr(cio_last_error(), "extensions exceed 4096") != NULL);

    /* The same extensions spread over two messages are fine. */
    len = 0;
    for (int i = 0; i < 50; i++)
        len += (size_t)snprintf(in + len, sizeof(in) - len,
                                "1;e=%046d\r\nx\r\n", i);
    len += (size_t)snprintf(in + len, sizeof(in) - len, "0\r\n\r\n");
    run(in, len, NULL, WHOLE, &r);
    cr_expect_eq(r.rc, CIO__CHUNKED_DONE);
    cr_expect_eq(r.body_len, 50);
}

/* A.16: the default trailer budget (32 KiB) holds; one byte more does not. */
Test(chunked, default_trailer_limit)
{
    static char in[40000];
    size_t len = (size_t)snprintf(in, sizeof(in), "0\r\nX: ");
    size_t fill = 32 * 1024 - len + 3 - 4; /* "0\r\n" is not counted */
    memset(in + len, 'a', fill);
    len += fill;
    memcpy(in + len, "\r\n\r\n", 4);
    len += 4;
    struct res r;
    run(in, len, NULL, WHOLE, &r);
    cr_expect_eq(r.rc, CIO__CHUNKED_DONE, "%s", cio_last_error());
    memmove(in + 7, in + 6, len - 6);
    in[6] = 'a';
    run(in, len + 1, NULL, WHOLE, &r);
    CIO_EXPECT_RC(r.rc, CIO_ETOOBIG);
}

/* Large bodies in many chunks: the span sum equals the input data. */
Test(chunked, many_chunks_roundtrip)
{
    static char in[200000], want[100000];
    size_t len = 0, wlen = 0;
    rng_state = 12345;
    while (wlen < 90000) {
        size_t n = 1 + (size_t)(rng() % 3000);
        len += (size_t)snprintf(in + len, sizeof(in) - len, "%zX\r\n", n);
        for (size_t k = 0; k < n; k++)
            want[wlen + k] = in[len + k] = (char)rng();
        len += n;
        wlen += n;
        memcpy(in + len, "\r\n", 2);
        len += 2;
    }
    memcpy(in + len, "0\r\n\r\n", 5);
    len += 5;

    struct cio__chunked d;
    cio__chunked_init(&d, NULL);
    static char got[100000];
    size_t glen = 0, pos = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t piece = 1 + (size_t)(rng() % 7000), used;
        if (piece > len - pos)
            piece = len - pos;
        size_t off = 0;
        while (off < piece && rc == 0) {
            struct cio_str data;
            rc = cio__chunked_feed(&d, in + pos + off, piece - off, &used,
                                   &data);
            cr_assert_geq(rc, 0, "%s", cio_last_error());
            memcpy(got + glen, data.ptr, data.len);
            glen += data.len;
            off += used;
        }
        pos += piece;
    }
    cr_expect_eq(rc, CIO__CHUNKED_DONE);
    cr_expect_eq(glen, wlen);
    cr_expect(memcmp(got, want, wlen) == 0);
    cio__chunked_fini(&d);
}

/* Every allocation (trailer line buffer, trailer map) may fail cleanly. */
static int fail_after;
static int fail_hook(size_t size)
{
    (void)size;
    return fail_after-- == 0;
}

Test(chunked, allocation_failures)
{
    static char in[400], big[201];
    memset(big, '2', 200);
    int len = snprintf(in, sizeof(in), "0\r\nA: 1\r\nB: %s\r\n\r\n", big);
    int ndone = 0;
    for (int n = 0; n < 20; n++) {
        struct cio__chunked d;
        size_t used;
        struct cio_str data;
        cio__chunked_init(&d, NULL);
        fail_after = n;
        cio__alloc_fail_hook = fail_hook;
        int rc = cio__chunked_feed(&d, in, (size_t)len, &used, &data);
        cio__alloc_fail_hook = NULL;
        cr_expect(rc == CIO__CHUNKED_DONE || rc == CIO_ENOMEM, "n=%d rc=%s", n,
                  cio_errname(rc));
        if (rc == CIO__CHUNKED_DONE) {
            ndone++;
            cr_expect_str_eq(cio_headers_get(cio__chunked_trailers(&d), "b"),
                             big);
        }
        cio__chunked_fini(&d);
    }
    cr_expect_gt(ndone, 0);
    cio_test_no_leaks();
}
