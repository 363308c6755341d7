/* SPDX-License-Identifier: MIT */
/*
 * multipart/form-data: boundary parsing, the streaming parser (every case
 * fed whole, byte by byte and in seeded random splits, which must agree),
 * RELIABILITY 79, limits, the pull encoder (memory, fd, path, pipe), round
 * trips through both, and bodies made by curl -F and by Python's urllib3.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "base/alloc.h"
#include "http/multipart.h"

extern char **environ;

#define CT(b) "multipart/form-data; boundary=" b

/* ---------------------------------------------------------------- helpers */

struct got_part {
    char *name, *filename, *ctype; /* NUL-terminated copies; NULL = absent */
    bool has_filename;
    char *data;
    size_t len;
    bool ended;
    size_t nheaders;
};

struct got {
    int rc; /* first error, or finish()'s result */
    bool end;
    struct got_part *parts;
    size_t nparts, cap;
    size_t ndata; /* DATA events */
};

static char *dupn(struct cio_str s)
{
    if (s.ptr == NULL)
        return NULL;
    char *d = malloc(s.len + 1);
    cr_assert(d != NULL);
    memcpy(d, s.ptr, s.len);
    d[s.len] = '\0';
    return d;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->nparts; i++) {
        free(g->parts[i].name);
        free(g->parts[i].filename);
        free(g->parts[i].ctype);
        free(g->parts[i].data);
    }
    free(g->parts);
    memset(g, 0, sizeof(*g));
}

/* Records one event; checks the invariants every event must keep. */
static void got_event(struct got *g, const struct cio_multipart_event *ev,
                      const char *chunk, size_t chunklen,
                      const cio_multipart_parser *p)
{
    struct got_part *cur = g->nparts ? &g->parts[g->nparts - 1] : NULL;

    switch (ev->type) {
    case CIO_MULTIPART_PART_BEGIN:
        cr_assert_eq(ev->part, g->nparts, "part index %u, want %zu", ev->part,
                     g->nparts);
        if (g->nparts == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 8;
            g->parts = realloc(g->parts, g->cap * sizeof(*g->parts));
            cr_assert(g->parts != NULL);
        }
        cur = &g->parts[g->nparts++];
        memset(cur, 0, sizeof(*cur));
        cur->name = dupn(ev->name);
        cr_assert(cur->name != NULL);
        cur->has_filename = ev->has_filename;
        cur->filename = ev->has_filename ? dupn(ev->filename) : NULL;
        if (ev->has_filename && cur->filename == NULL)
            cur->filename = strdup("");
        cur->ctype = dupn(ev->content_type);
        cur->nheaders = ev->nheaders;
        cr_assert(cur->filename == NULL ||
                  (strchr(cur->filename, '/') == NULL &&
                   strchr(cur->filename, '\\') == NULL));
        break;
    case CIO_MULTIPART_DATA:
        cr_assert(cur != NULL && !cur->ended);
        cr_assert_eq(ev->part, g->nparts - 1);
        cr_assert_gt(ev->data.len, 0, "empty DATA event");
        /* A view into the chunk, or into the parser (held-back bytes). */
        if (!(ev->data.ptr >= chunk && ev->data.ptr < chunk + chunklen)) {
            cr_assert(ev->data.ptr >= (const char *)p &&
                          ev->data.ptr < (const char *)p + 4096,
                      "DATA view outside the input and the parser");
        } else {
            cr_assert(ev->data.ptr + ev->data.len <= chunk + chunklen);
        }
        cur->data = realloc(cur->data, cur->len + ev->data.len);
        cr_assert(cur->data != NULL);
        memcpy(cur->data + cur->len, ev->data.ptr, ev->data.len);
        cur->len += ev->data.len;
        g->ndata++;
        break;
    case CIO_MULTIPART_PART_END:
        cr_assert(cur != NULL && !cur->ended);
        cr_assert_eq(ev->part, g->nparts - 1);
        cur->ended = true;
        break;
    case CIO_MULTIPART_END:
        cr_assert(!g->end);
        cr_assert(cur == NULL || cur->ended);
        cr_assert_eq(ev->part, g->nparts);
        g->end = true;
        break;
    case CIO_MULTIPART_NONE:
        break;
    }
}

/* Chunk sizes: 0 = whole body, 1 = byte by byte, else seeded random
 * sizes from 1 to 2 * mode. cut > 0 splits once at cut instead. */
struct split {
    unsigned mode;
    unsigned seed;
    size_t cut;
};

static size_t next_chunk(const struct split *sp, unsigned *st, size_t off,
                         size_t left)
{
    if (sp->cut > 0)
        return off < sp->cut ? (sp->cut - off < left ? sp->cut - off : left)
                             : left;
    if (sp->mode == 0)
        return left;
    if (sp->mode == 1)
        return 1;
    *st = *st * 1103515245u + 12345u;
    size_t n = 1 + (*st >> 8) % (2 * sp->mode);
    return n < left ? n : left;
}

static struct got parse_with(const char *body, size_t len, const char *ctype,
                             const struct cio_multipart_parser_opts *opts,
                             struct split sp)
{
    struct got g = {0};
    cio_multipart_parser *p;
    unsigned st = sp.seed;
    size_t off = 0;

    g.rc = cio_multipart_parser_new(&p, cio_str_c(ctype), opts);
    if (g.rc < 0)
        return g;
    while (off < len) {
        size_t n = next_chunk(&sp, &st, off, len - off);
        /* Each chunk in its own exact-size buffer: ASan sees overreads. */
        char *chunk = malloc(n);
        cr_assert(chunk != NULL);
        memcpy(chunk, body + off, n);
        const char *b = chunk;
        size_t left = n;
        unsigned idle = 0;
        while (left > 0) {
            struct cio_multipart_event ev;
            ptrdiff_t k = cio_multipart_parser_feed(p, b, left, &ev);
            if (k < 0) {
                g.rc = (int)k;
                break;
            }
            cr_assert((size_t)k <= left);
            if (k == 0) {
                cr_assert_neq(ev.type, CIO_MULTIPART_NONE,
                              "no progress and no event");
                cr_assert_lt(++idle, 2, "two calls without progress");
            } else {
                idle = 0;
            }
            got_event(&g, &ev, chunk, n, p);
            b += k;
            left -= (size_t)k;
        }
        free(chunk);
        if (g.rc < 0)
            break;
        off += n;
    }
    if (g.rc == 0)
        g.rc = cio_multipart_parser_finish(p);
    /* An error is final. */
    if (g.rc < 0) {
        struct cio_multipart_event ev;
        CIO_EXPECT_RC(cio_multipart_parser_feed(p, "x", 1, &ev), g.rc);
        CIO_EXPECT_RC(cio_multipart_parser_finish(p), g.rc);
    }
    cio_multipart_parser_free(p);
    return g;
}

static bool streq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Two runs agree: same result, same parts with the same headers, and the
 * same content for each part that ended. (After an error, how much of the
 * failing part was reported depends on the split.)
 */
static void expect_same(const struct got *a, const struct got *b,
                        const char *what)
{
    cr_assert_eq(a->rc, b->rc, "%s: rc %s vs %s", what, cio_errname(a->rc),
                 cio_errname(b->rc));
    cr_assert_eq(a->end, b->end, "%s: end", what);
    cr_assert_eq(a->nparts, b->nparts, "%s: %zu vs %zu parts", what, a->nparts,
                 b->nparts);
    for (size_t i = 0; i < a->nparts; i++) {
        const struct got_part *x = &a->parts[i], *y = &b->parts[i];
        cr_assert(streq(x->name, y->name), "%s: part %zu name", what, i);
        cr_assert(streq(x->filename, y->filename), "%s: part %zu filename",
                  what, i);
        cr_assert(streq(x->ctype, y->ctype), "%s: part %zu ctype", what, i);
        cr_assert_eq(x->ended, y->ended, "%s: part %zu ended", what, i);
        if (x->ended)
            cr_assert(
                x->len == y->len &&
                    (x->len == 0 || memcmp(x->data, y->data, x->len) == 0),
                "%s: part %zu data (%zu vs %zu bytes)", what, i, x->len,
                y->len);
    }
}

/* Parses whole, byte by byte, and in 8 seeded random splits; all must
 * agree. Returns the whole-body result. */
static struct got parse_all(const char *body, size_t len, const char *ctype,
                            const struct cio_multipart_parser_opts *opts)
{
    struct got whole = parse_with(body, len, ctype, opts, (struct split){0});
    struct got one =
        parse_with(body, len, ctype, opts, (struct split){.mode = 1});
    expect_same(&whole, &one, "byte by byte");
    got_free(&one);
    for (unsigned seed = 1; seed <= 8; seed++) {
        unsigned mode = seed % 2 ? 3 : 37;
        struct got r = parse_with(body, len, ctype, opts,
                                  (struct split){mode, seed * 7919u, 0});
        char what[64];
        snprintf(what, sizeof(what), "random split seed %u", seed);
        expect_same(&whole, &r, what);
        got_free(&r);
    }
    return whole;
}

/* ---------------------------------------------------------------- boundary */

static const struct {
    const char *ct;
    int want; /* length, or CIO_E* */
    const char *b;
} bcases[] = {
    {"multipart/form-data; boundary=abc", 3, "abc"},
    {"Multipart/Form-Data;boundary=\"a b:c\"", 5, "a b:c"},
    {"multipart/form-data; charset=utf-8; boundary=x-y_z", 5, "x-y_z"},
    {"multipart/form-data; BOUNDARY=\"q\";", 1, "q"},
    {"  multipart/form-data ; boundary=1", 1, "1"},
    {"multipart/form-data", CIO_EPROTO, NULL},
    {"multipart/form-data;", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=\"\"", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=a; boundary=b", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary = abc", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=\"abc", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=\"ab \"", CIO_EPROTO, NULL}, /* last SP */
    {"multipart/form-data; boundary=ab{", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=a*b", CIO_EPROTO, NULL}, /* not bchar */
    {"multipart/form-data; boundary=\"a\\\"b\"", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=\"a\x01\"", CIO_EPROTO, NULL},
    {"multipart/form-data boundary=a", CIO_EPROTO, NULL},
    {"multipart/mixed; boundary=a", CIO_ENOTSUP, NULL},
    {"text/plain", CIO_ENOTSUP, NULL},
    {"multipart", CIO_EPROTO, NULL},
    {"multipart/", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=\"ab\\", CIO_EPROTO, NULL},
    {"multipart/form-data; boundary=", CIO_EPROTO, NULL},
    {"", CIO_EPROTO, NULL},
};

Test(multipart, boundary_parameter)
{
    for (size_t i = 0; i < CIO_COUNTOF(bcases); i++) {
        char out[CIO_MULTIPART_BOUNDARY_MAX + 1] = "untouched";
        int rc = cio_multipart_boundary(cio_str_c(bcases[i].ct), out);
        cr_expect_eq(rc, bcases[i].want, "case %zu (%s): got %s (%d)", i,
                     bcases[i].ct, cio_errname(rc), rc);
        if (rc > 0 && bcases[i].b != NULL)
            cr_expect_str_eq(out, bcases[i].b, "case %zu", i);
        if (rc < 0)
            cr_expect_neq(cio_last_error()[0], '\0', "case %zu: no message", i);
    }
}

/* RELIABILITY 79: a boundary above 70 characters is a 400. */
Test(multipart, rel79_boundary_over_70_chars_rejected)
{
    char ct[200], b[80], out[CIO_MULTIPART_BOUNDARY_MAX + 1];
    cio_multipart_parser *p;

    memset(b, 'x', sizeof(b));
    b[70] = '\0';
    snprintf(ct, sizeof(ct), CT("%s"), b);
    cr_expect_eq(cio_multipart_boundary(cio_str_c(ct), out), 70);
    b[70] = 'x';
    b[71] = '\0';
    snprintf(ct, sizeof(ct), CT("%s"), b);
    CIO_EXPECT_RC(cio_multipart_boundary(cio_str_c(ct), out), CIO_EPROTO);
    CIO_EXPECT_RC(cio_multipart_parser_new(&p, cio_str_c(ct), NULL),
                  CIO_EPROTO);
    snprintf(ct, sizeof(ct), CT("\"%s\""), b);
    CIO_EXPECT_RC(cio_multipart_parser_new(&p, cio_str_c(ct), NULL),
                  CIO_EPROTO);
    /* Our own encoder refuses one as well. */
    cio_multipart *mp;
    CIO_EXPECT_RC(
        cio_multipart_new(&mp, &(struct cio_multipart_opts){.boundary = b}),
        CIO_EINVAL);
}

/* ---------------------------------------------------------------- parser table */

#define CD "Content-Disposition: form-data; "

struct want_part {
    const char *name, *filename, *ctype, *data;
};

/* A body literal and its length (some contain NUL). */
#define BODY(s) s, sizeof(s) - 1

static const struct {
    const char *what;
    const char *body;
    size_t len;
    int rc;
    struct want_part parts[3];
} pcases[] = {
    {"two fields",
     BODY("--b\r\n" CD "name=\"a\"\r\n\r\n1\r\n--b\r\n" CD "name=\"bb\"\r\n\r\n"
          "two\r\n--b--\r\n"),
     0,
     {{"a", NULL, NULL, "1"}, {"bb", NULL, NULL, "two"}}},
    {"preamble and epilogue ignored",
     BODY("junk\r\nmore junk\r\n--b\r\n" CD "name=a\r\n\r\nv\r\n--b--\r\n"
          "epilogue --b\r\n garbage"),
     0,
     {{"a", NULL, NULL, "v"}}},
    {"CRLF before the first delimiter",
     BODY("\r\n--b\r\n" CD "name=a\r\n\r\nv\r\n--b--"),
     0,
     {{"a", NULL, NULL, "v"}}},
    {"transport padding after delimiters",
     BODY("--b \t \r\n" CD "name=a\r\n\r\nv\r\n--b  \r\n" CD "name=c\r\n\r\n"
          "\r\n--b--"),
     0,
     {{"a", NULL, NULL, "v"}, {"c", NULL, NULL, ""}}},
    {"no parts", BODY("--b--\r\n"), 0, {{NULL, NULL, NULL, NULL}}},
    {"file with content type",
     BODY("--b\r\n" CD "name=\"f\"; filename=\"a.txt\"\r\nContent-Type: "
          "text/plain\r\n\r\nhello\r\n--b--\r\n"),
     0,
     {{"f", "a.txt", "text/plain", "hello"}}},
    {"empty filename",
     BODY("--b\r\n" CD "name=f; filename=\"\"\r\n\r\n\r\n--b--"),
     0,
     {{"f", "", NULL, ""}}},
    {"content looking like a delimiter",
     BODY("--b\r\n" CD "name=a\r\n\r\n\r\n\r\r\n-\r\n--\r\n--c\r--b\n--b--b"
          "\r\n--b--"),
     0,
     {{"a", NULL, NULL, "\r\n\r\r\n-\r\n--\r\n--c\r--b\n--b--b"}}},
    {"binary content",
     BODY("--b\r\n" CD "name=a\r\n\r\n\0\xff\r\0\r\n-\0\r\n--b--"),
     0,
     {{"a", NULL, NULL, NULL}}}, /* data checked separately */
    {"quoted-pair in name",
     BODY("--b\r\n" CD "name=\"a\\\"b\\\\c\\d\"\r\n\r\n"
          "x\r\n--b--"),
     0,
     {{"a\"b\\c\\d", NULL, NULL, "x"}}},
    {"browser escapes stay escaped",
     BODY("--b\r\n" CD "name=\"a%22b\"; filename=\"c%0Ad\"\r\n\r\nx\r\n--b--"),
     0,
     {{"a%22b", "c%0Ad", NULL, "x"}}},
    {"case-insensitive names, extra params and headers",
     BODY("--b\r\ncontent-disposition: Form-Data; x=1; NAME=\"n\"; size=3\r\n"
          "X-Extra: yes\r\nContent-Transfer-Encoding: "
          "base64\r\n\r\nabc\r\n--b--"),
     0,
     {{"n", NULL, NULL, "abc"}}},
    {"utf-8 filename",
     BODY("--b\r\n" CD "name=f; filename=\"\xe2\x82\xac.txt\"\r\n"
          "\r\n\r\n--b--"),
     0,
     {{"f", "\xe2\x82\xac.txt", NULL, ""}}},
    {"filename* alone",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''%e2%82%ac%20"
          "x.txt\r\n\r\n\r\n--b--"),
     0,
     {{"f", "\xe2\x82\xac x.txt", NULL, ""}}},
    {"filename wins over filename*",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''"
          "b.txt; filename=\"a.txt\"\r\n\r\n\r\n--b--"),
     0,
     {{"f", "a.txt", NULL, ""}}},
    /* RELIABILITY 79: paths reduced to their last component. */
    {"filename ../../x",
     BODY("--b\r\n" CD "name=f; filename=\"../../x\"\r\n\r\n"
          "\r\n--b--"),
     0,
     {{"f", "x", NULL, ""}}},
    {"filename /etc/x",
     BODY("--b\r\n" CD "name=f; filename=\"/etc/x\"\r\n\r\n"
          "\r\n--b--"),
     0,
     {{"f", "x", NULL, ""}}},
    {"filename C:\\dir\\x",
     BODY("--b\r\n" CD "name=f; filename=\"C:\\dir\\x.txt\""
          "\r\n\r\n\r\n--b--"),
     0,
     {{"f", "x.txt", NULL, ""}}},
    {"filename ..",
     BODY("--b\r\n" CD "name=f; filename=\"..\"\r\n\r\n\r\n--b--"),
     0,
     {{"f", "", NULL, ""}}},
    {"filename dir/.",
     BODY("--b\r\n" CD "name=f; filename=\"a/.\"\r\n\r\n\r\n--b--"),
     0,
     {{"f", "", NULL, ""}}},
    {"filename* with a path",
     BODY("--b\r\n" CD "name=f; filename*=utf-8'en'"
          "..%2F..%2Fetc%2Fpasswd\r\n\r\n\r\n--b--"),
     0,
     {{"f", "passwd", NULL, ""}}},
    /* RELIABILITY 79: NUL in a filename fails the body, never truncates. */
    {"filename with raw NUL",
     BODY("--b\r\n" CD "name=f; filename=\"a\0b\"\r\n\r\n"
          "\r\n--b--"),
     CIO_EHEADER,
     {{NULL, NULL, NULL, NULL}}},
    {"filename* with %00",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''a%00.txt"
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"filename* with %0A",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''a%0a"
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"filename* bad escape",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''a%g0"
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"filename* without language",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8'a"
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"quoted filename*",
     BODY("--b\r\n" CD "name=f; filename*=\"UTF-8''a\""
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"two filename*",
     BODY("--b\r\n" CD "name=f; filename*=UTF-8''a; "
          "filename*=UTF-8''b\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"empty parameter value",
     BODY("--b\r\n" CD "name=; x=1\r\n\r\n\r\n"
          "--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"filename* without quotes",
     BODY("--b\r\n" CD "name=f; filename*=a.txt"
          "\r\n\r\n\r\n--b--"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    /* Framing. */
    {"no closing delimiter",
     BODY("--b\r\n" CD "name=a\r\n\r\nv\r\n"),
     CIO_EPROTO,
     {{"a", NULL, NULL, NULL}}},
    {"closing delimiter cut",
     BODY("--b\r\n" CD "name=a\r\n\r\nv\r\n--b-"),
     CIO_EPROTO,
     {{"a", NULL, NULL, "v"}}},
    {"body ends in headers",
     BODY("--b\r\n" CD "name=a\r\n"),
     CIO_EPROTO,
     {{NULL, NULL, NULL, NULL}}},
    {"no delimiter at all", BODY("hello world"), CIO_EPROTO, {{NULL}}},
    {"empty body", BODY(""), CIO_EPROTO, {{NULL}}},
    {"delimiter followed by garbage",
     BODY("--b\r\n" CD "name=a\r\n\r\nv\r\n--bx\r\n"),
     CIO_EPROTO,
     {{"a", NULL, NULL, "v"}}},
    {"first delimiter followed by garbage",
     BODY("--bb\r\n"),
     CIO_EPROTO,
     {{NULL}}},
    {"bare LF after a delimiter",
     BODY("--b\n" CD "name=a\n\nv\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"CR without LF after a delimiter", BODY("--b\rx"), CIO_EPROTO, {{NULL}}},
    {"-x after a delimiter", BODY("--b-x"), CIO_EPROTO, {{NULL}}},
    /* Part headers. */
    {"no headers", BODY("--b\r\n\r\nv\r\n--b--"), CIO_EPROTO, {{NULL}}},
    {"no Content-Disposition",
     BODY("--b\r\nContent-Type: a/b\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"not form-data",
     BODY("--b\r\nContent-Disposition: attachment; name=a\r\n"
          "\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"no name",
     BODY("--b\r\n" CD "filename=a\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"two names",
     BODY("--b\r\n" CD "name=a; name=b\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"two filenames",
     BODY("--b\r\n" CD "name=a; filename=x; filename=y\r\n\r\n"
          "v\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"two Content-Disposition",
     BODY("--b\r\n" CD "name=a\r\n" CD "name=b\r\n\r\n"
          "v\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"two Content-Type",
     BODY("--b\r\n" CD "name=a\r\nContent-Type: a/b\r\n"
          "Content-Type: c/d\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"unterminated quoted name",
     BODY("--b\r\n" CD "name=\"a\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"space around =",
     BODY("--b\r\n" CD "name = a\r\n\r\nv\r\n--b--"),
     CIO_EPROTO,
     {{NULL}}},
    {"obs-fold",
     BODY("--b\r\n" CD "\r\n name=a\r\n\r\nv\r\n--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"bare LF in headers",
     BODY("--b\r\n" CD "name=a\n\r\nv\r\n--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"bare CR in headers",
     BODY("--b\r\n" CD "name=a\rX\r\n\r\nv\r\n--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"header without colon",
     BODY("--b\r\n" CD "name=a\r\nnocolon\r\n\r\nv\r\n"
          "--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"space before colon",
     BODY("--b\r\nContent-Disposition : form-data; name=a"
          "\r\n\r\nv\r\n--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"NUL in a header value",
     BODY("--b\r\n" CD "name=a\r\nX: a\0b\r\n\r\nv\r\n"
          "--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"DEL in a header value",
     BODY("--b\r\n" CD "name=a\r\nX: a\x7f\r\n\r\nv\r\n"
          "--b--"),
     CIO_EHEADER,
     {{NULL}}},
    {"second part broken after a good one",
     BODY("--b\r\n" CD "name=a\r\n\r\nv\r\n--b\r\nBroken\r\n\r\nw\r\n--b--"),
     CIO_EHEADER,
     {{"a", NULL, NULL, "v"}}},
};

Test(multipart, parser_cases_agree_on_every_split)
{
    for (size_t i = 0; i < CIO_COUNTOF(pcases); i++) {
        size_t len = pcases[i].len;
        struct got g = parse_all(pcases[i].body, len, CT("b"), NULL);
        cr_expect_eq(g.rc, pcases[i].rc, "%s: got %s, want %s (%s)",
                     pcases[i].what, cio_errname(g.rc),
                     cio_errname(pcases[i].rc), cio_last_error());
        if (g.rc == 0)
            cr_expect(g.end, "%s: no END", pcases[i].what);
        size_t nwant = 0;
        while (nwant < 3 && pcases[i].parts[nwant].name != NULL)
            nwant++;
        if (g.rc == 0 || nwant > 0)
            cr_expect_eq(g.nparts, nwant, "%s: %zu parts, want %zu",
                         pcases[i].what, g.nparts, nwant);
        for (size_t k = 0; k < nwant && k < g.nparts; k++) {
            const struct want_part *w = &pcases[i].parts[k];
            const struct got_part *p = &g.parts[k];
            cr_expect(streq(p->name, w->name), "%s: name %s", pcases[i].what,
                      p->name);
            cr_expect(streq(p->filename, w->filename), "%s: filename %s",
                      pcases[i].what, p->filename ? p->filename : "(none)");
            cr_expect_eq(p->has_filename, w->filename != NULL, "%s",
                         pcases[i].what);
            cr_expect(streq(p->ctype, w->ctype), "%s: ctype", pcases[i].what);
            if (w->data != NULL)
                cr_expect(
                    p->len == strlen(w->data) &&
                        (p->len == 0 || memcmp(p->data, w->data, p->len) == 0),
                    "%s: data %.*s", pcases[i].what, (int)p->len, p->data);
        }
        got_free(&g);
    }
}

Test(multipart, binary_content_and_all_headers_reported)
{
    static const char body[] = "--b\r\n" CD "name=a\r\nX-A: 1\r\n\r\n"
                               "\0\xff\r\0\r\n-\0\r\n--b--";
    struct got g = parse_all(body, sizeof(body) - 1, CT("b"), NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_assert_eq(g.nparts, 1);
    cr_expect_eq(g.parts[0].len, 8);
    cr_expect(memcmp(g.parts[0].data, "\0\xff\r\0\r\n-\0", 8) == 0);
    cr_expect_eq(g.parts[0].nheaders, 2);
    got_free(&g);

    /* The header array, in order, values trimmed. */
    cio_multipart_parser *p;
    struct cio_multipart_event ev;
    static const char b2[] =
        "--b\r\n" CD "name=a\r\nX-A:  1 \t\r\nX-B:\r\n\r\n";
    CIO_ASSERT_RC(cio_multipart_parser_new(&p, cio_str_c(CT("b")), NULL), 0);
    const char *s = b2;
    size_t left = sizeof(b2) - 1;
    do {
        ptrdiff_t n = cio_multipart_parser_feed(p, s, left, &ev);
        cr_assert_geq(n, 0);
        s += n, left -= (size_t)n;
    } while (ev.type == CIO_MULTIPART_NONE && left > 0);
    cr_assert_eq(ev.type, CIO_MULTIPART_PART_BEGIN);
    cr_assert_eq(ev.nheaders, 3);
    cr_expect(ev.headers[1].name.len == 3 &&
              memcmp(ev.headers[1].name.ptr, "X-A", 3) == 0);
    cr_expect(ev.headers[1].value.len == 1 &&
              ev.headers[1].value.ptr[0] == '1');
    cr_expect_eq(ev.headers[2].value.len, 0);
    CIO_EXPECT_RC(cio_multipart_parser_finish(p), CIO_EPROTO);
    cio_multipart_parser_free(p);
}

Test(multipart, transport_padding_is_bounded)
{
    for (size_t pad = 60; pad <= 70; pad++) {
        char body[256];
        size_t n = (size_t)snprintf(body, sizeof(body),
                                    "--b%*s\r\n" CD "name=a\r\n\r\n\r\n--b--",
                                    (int)pad, "");
        struct got g = parse_all(body, n, CT("b"), NULL);
        CIO_EXPECT_RC(g.rc, pad <= 64 ? 0 : CIO_EPROTO);
        got_free(&g);
    }
}

/* ---------------------------------------------------------------- split points */

/* A body whose content keeps half-matching the delimiter. */
static char *tricky_body(size_t *len)
{
    static const char *const pieces[] = {
        "preamble\r\n--XY\r\n",
        CD "name=\"f1\"\r\n\r\n",
        "a\r\n--X\r\n--\r\r\n--XZ\r--XY-\n",
        "\r\n--XY  \r\n",
        CD "name=\"f2\"; filename=\"../p.bin\"\r\nContent-Type: a/b\r\n\r\n",
        "\r\n\r\n--X",
        "\r\n--XY\r\n",
        CD "name=e\r\n\r\n",
        "\r\n--XY--\r\nepi",
    };
    size_t n = 0;
    for (size_t i = 0; i < CIO_COUNTOF(pieces); i++)
        n += strlen(pieces[i]);
    char *b = malloc(n + 1);
    cr_assert(b != NULL);
    b[0] = '\0';
    for (size_t i = 0; i < CIO_COUNTOF(pieces); i++)
        strcat(b, pieces[i]);
    *len = n;
    return b;
}

/* RELIABILITY 79: a boundary split across reads is parsed identically. */
Test(multipart, rel79_every_split_point_gives_the_same_events)
{
    size_t len;
    char *body = tricky_body(&len);
    struct got whole = parse_with(body, len, CT("XY"), NULL, (struct split){0});

    CIO_ASSERT_RC(whole.rc, 0);
    cr_assert_eq(whole.nparts, 3);
    cr_expect_str_eq(whole.parts[1].filename, "p.bin");
    cr_expect_eq(whole.parts[0].len,
                 strlen("a\r\n--X\r\n--\r\r\n--XZ\r--XY-\n"));
    cr_expect_eq(whole.parts[1].len, strlen("\r\n\r\n--X"));
    cr_expect_eq(whole.parts[2].len, 0);
    for (size_t cut = 1; cut < len; cut++) {
        struct got g =
            parse_with(body, len, CT("XY"), NULL, (struct split){0, 0, cut});
        char what[64];
        snprintf(what, sizeof(what), "split at %zu", cut);
        expect_same(&whole, &g, what);
        got_free(&g);
    }
    for (unsigned seed = 1; seed <= 200; seed++) {
        struct got g = parse_with(body, len, CT("XY"), NULL,
                                  (struct split){1 + seed % 9, seed, 0});
        expect_same(&whole, &g, "random split");
        got_free(&g);
    }
    struct got g =
        parse_with(body, len, CT("XY"), NULL, (struct split){.mode = 1});
    expect_same(&whole, &g, "byte by byte");
    cr_expect_gt(g.ndata, whole.ndata);
    got_free(&g);
    /* Every truncation of it fails at finish and agrees across splits. */
    for (size_t cut = 0; cut < len - strlen("epi") - 2; cut++) {
        struct got t = parse_all(body, cut, CT("XY"), NULL);
        cr_expect_eq(t.rc, CIO_EPROTO, "truncated at %zu: %s", cut,
                     cio_errname(t.rc));
        got_free(&t);
    }
    got_free(&whole);
    free(body);
}

/* ---------------------------------------------------------------- limits */

static char *many_parts(unsigned n, size_t *len)
{
    static const char part[] = "--b\r\n" CD "name=\"p\"\r\n\r\nv\r\n";
    size_t plen = sizeof(part) - 1;
    char *b = malloc(n * plen + 8);
    cr_assert(b != NULL);
    for (unsigned i = 0; i < n; i++)
        memcpy(b + i * plen, part, plen);
    memcpy(b + n * plen, "--b--", 5);
    *len = n * plen + 5;
    return b;
}

/* RELIABILITY 79, CVE-2023-24998: more than 1000 parts -> 413. */
Test(multipart, rel79_part_1001_is_too_big)
{
    size_t len;
    char *b = many_parts(1000, &len);
    struct got g = parse_with(b, len, CT("b"), NULL, (struct split){0});
    CIO_EXPECT_RC(g.rc, 0);
    cr_expect_eq(g.nparts, 1000);
    got_free(&g);
    free(b);

    b = many_parts(1001, &len);
    g = parse_with(b, len, CT("b"), NULL, (struct split){0});
    CIO_EXPECT_RC(g.rc, CIO_ETOOBIG);
    cr_expect_eq(g.nparts, 1000);
    got_free(&g);
    struct got r = parse_with(b, len, CT("b"), NULL, (struct split){.mode = 1});
    CIO_EXPECT_RC(r.rc, CIO_ETOOBIG);
    got_free(&r);
    free(b);

    struct cio_multipart_parser_opts o = {.max_parts = 3};
    b = many_parts(4, &len);
    g = parse_all(b, len, CT("b"), &o);
    CIO_EXPECT_RC(g.rc, CIO_ETOOBIG);
    cr_expect_eq(g.nparts, 3);
    got_free(&g);
    free(b);
}

/* RELIABILITY 79: part headers above the limit -> 400 (CIO_EHEADER). */
Test(multipart, rel79_part_headers_above_limit_rejected)
{
    struct cio_multipart_parser_opts o = {.max_header_bytes = 64};
    char body[256];
    /* The section counted: the CD line with its CRLF, then the empty line. */
    const char *pre = "--b\r\n";
    char line[128];
    for (size_t total = 60; total <= 66; total++) {
        size_t fixed = strlen(CD "name=\"\"\r\n\r\n");
        memset(line, 'n', sizeof(line));
        int k = snprintf(body, sizeof(body),
                         "%s" CD "name=\"%.*s\"\r\n\r\n"
                         "v\r\n--b--",
                         pre, (int)(total - fixed), line);
        struct got g = parse_all(body, (size_t)k, CT("b"), &o);
        CIO_EXPECT_RC(g.rc, total <= 64 ? 0 : CIO_EHEADER);
        got_free(&g);
    }
    /* Default 8 KiB; a header that never ends is cut there too. */
    size_t n = 3 * 8192;
    char *big = malloc(n);
    cr_assert(big != NULL);
    memset(big, 'h', n);
    memcpy(big, "--b\r\nX: ", 8);
    struct got g = parse_all(big, n, CT("b"), NULL);
    CIO_EXPECT_RC(g.rc, CIO_EHEADER);
    got_free(&g);
    free(big);

    /* 33 header lines. */
    char many[33 * 8 + 200];
    size_t m = (size_t)snprintf(many, sizeof(many), "--b\r\n" CD "name=a\r\n");
    for (int i = 0; i < 32; i++)
        m += (size_t)snprintf(many + m, sizeof(many) - m, "X-%02d: v\r\n", i);
    m += (size_t)snprintf(many + m, sizeof(many) - m, "\r\nv\r\n--b--");
    g = parse_all(many, m, CT("b"), NULL);
    CIO_EXPECT_RC(g.rc, CIO_EHEADER);
    got_free(&g);

    CIO_EXPECT_RC(cio_multipart_parser_new(
                      &(cio_multipart_parser *){NULL}, cio_str_c(CT("b")),
                      &(struct cio_multipart_parser_opts){.max_header_bytes =
                                                              (1u << 20) + 1}),
                  CIO_EINVAL);
}

static char *one_part(const char *disp, size_t datalen, size_t *len)
{
    size_t hl = strlen("--b\r\n" CD) + strlen(disp) + 4;
    char *b = malloc(hl + datalen + 16);
    cr_assert(b != NULL);
    int k = sprintf(b, "--b\r\n" CD "%s\r\n\r\n", disp);
    memset(b + k, 'd', datalen);
    memcpy(b + (size_t)k + datalen, "\r\n--b--", 7);
    *len = (size_t)k + datalen + 7;
    return b;
}

Test(multipart, size_limits)
{
    static const struct {
        const char *disp;
        size_t datalen;
        struct cio_multipart_parser_opts o;
        int want;
    } cases[] = {
        {"name=a", 1u << 20, {0}, 0}, /* field 1 MiB */
        {"name=a", (1u << 20) + 1, {0}, CIO_ETOOBIG},
        {"name=a; filename=f", 3u << 20, {0}, 0}, /* files: none */
        {"name=a", 10, {.max_field_bytes = 10}, 0},
        {"name=a", 11, {.max_field_bytes = 10}, CIO_ETOOBIG},
        {"name=a; filename=f", 11, {.max_field_bytes = 10}, 0},
        {"name=a; filename=f", 10, {.max_file_bytes = 10}, 0},
        {"name=a; filename=f", 11, {.max_file_bytes = 10}, CIO_ETOOBIG},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        size_t len;
        char *b = one_part(cases[i].disp, cases[i].datalen, &len);
        struct got g =
            parse_with(b, len, CT("b"), &cases[i].o, (struct split){0});
        cr_expect_eq(g.rc, cases[i].want, "case %zu: %s", i, cio_errname(g.rc));
        got_free(&g);
        if (cases[i].datalen < 100) {
            g = parse_all(b, len, CT("b"), &cases[i].o);
            cr_expect_eq(g.rc, cases[i].want, "case %zu (splits)", i);
            got_free(&g);
        }
        free(b);
    }

    /* Held-back bytes that turn out to be content count too. */
    static const char held[] = "--b\r\n" CD "name=a\r\n\r\n0123456789\r"
                               "\r\n--b--";
    struct cio_multipart_parser_opts ten = {.max_field_bytes = 10};
    struct got h = parse_all(held, sizeof(held) - 1, CT("b"), &ten);
    CIO_EXPECT_RC(h.rc, CIO_ETOOBIG);
    got_free(&h);
    h = parse_all(held, sizeof(held) - 1, CT("b"),
                  &(struct cio_multipart_parser_opts){.max_field_bytes = 11});
    CIO_EXPECT_RC(h.rc, 0);
    cr_expect(h.nparts == 1 && h.parts[0].len == 11);
    got_free(&h);

    /* max_body_bytes counts every byte: exactly the body passes. */
    size_t len;
    char *b = one_part("name=a", 5, &len);
    for (size_t lim = len - 2; lim <= len + 1; lim++) {
        struct cio_multipart_parser_opts o = {.max_body_bytes = lim};
        struct got g = parse_all(b, len, CT("b"), &o);
        CIO_EXPECT_RC(g.rc, lim >= len ? 0 : CIO_ETOOBIG);
        got_free(&g);
    }
    /* An epilogue counts too. */
    char *e = malloc(len + 10);
    memcpy(e, b, len);
    memcpy(e + len, "0123456789", 10);
    struct got g = parse_all(
        e, len + 10, CT("b"),
        &(struct cio_multipart_parser_opts){.max_body_bytes = len + 5});
    CIO_EXPECT_RC(g.rc, CIO_ETOOBIG);
    got_free(&g);
    free(e);
    free(b);
}

/* ---------------------------------------------------------------- encoder */

static char *read_all(cio_multipart *mp, size_t cap, size_t *len)
{
    size_t n = 0, room = 4096;
    char *out = malloc(room), *buf = malloc(cap);
    cr_assert(out != NULL && buf != NULL);
    for (unsigned guard = 0;; guard++) {
        cr_assert_lt(guard, 10000000u);
        ptrdiff_t k = cio_multipart_read(mp, buf, cap);
        CIO_ASSERT_RC(k < 0 ? k : 0, 0);
        if (k == 0)
            break;
        cr_assert((size_t)k <= cap);
        if (n + (size_t)k > room) {
            room = 2 * (n + (size_t)k);
            out = realloc(out, room);
            cr_assert(out != NULL);
        }
        memcpy(out + n, buf, (size_t)k);
        n += (size_t)k;
    }
    /* Stays at the end. */
    cr_expect_eq(cio_multipart_read(mp, buf, cap), 0);
    free(buf);
    *len = n;
    return out;
}

Test(multipart, encoder_golden_output)
{
    cio_multipart *mp;
    CIO_ASSERT_RC(
        cio_multipart_new(&mp, &(struct cio_multipart_opts){.boundary = "BB"}),
        0);
    CIO_ASSERT_RC(cio_multipart_add_field(mp, "a", cio_str_c("1")), 0);
    CIO_ASSERT_RC(
        cio_multipart_add_file_data(
            mp, &(struct cio_multipart_file){.name = "f", .filename = "x.txt"},
            "hi", 2),
        0);
    CIO_ASSERT_RC(cio_multipart_add_file_data(
                      mp,
                      &(struct cio_multipart_file){
                          .name = "g", .content_type = "text/plain"},
                      "", 0),
                  0);
    static const char want[] =
        "--BB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        "--BB\r\nContent-Disposition: form-data; name=\"f\"; "
        "filename=\"x.txt\"\r\nContent-Type: application/octet-stream\r\n"
        "\r\nhi\r\n"
        "--BB\r\nContent-Disposition: form-data; name=\"g\"\r\n"
        "Content-Type: text/plain\r\n\r\n\r\n"
        "--BB--\r\n";
    cr_expect_str_eq(cio_multipart_content_type(mp),
                     "multipart/form-data; boundary=BB");
    cr_expect_eq(cio_multipart_length(mp), (int64_t)sizeof(want) - 1);
    size_t len;
    char *out = read_all(mp, 7, &len);
    cr_expect(len == sizeof(want) - 1 && memcmp(out, want, len) == 0,
              "got:\n%.*s", (int)len, out);
    free(out);
    /* Sealed. */
    CIO_EXPECT_RC(cio_multipart_add_field(mp, "late", cio_str_c("x")),
                  CIO_EINVAL);
    cio_multipart_free(mp);

    /* No parts at all, and a boundary that needs quoting. */
    CIO_ASSERT_RC(
        cio_multipart_new(&mp, &(struct cio_multipart_opts){.boundary = "a b"}),
        0);
    cr_expect_str_eq(cio_multipart_content_type(mp),
                     "multipart/form-data; boundary=\"a b\"");
    out = read_all(mp, 100, &len);
    cr_expect(len == 9 && memcmp(out, "--a b--\r\n", 9) == 0);
    cr_expect_eq(cio_multipart_length(mp), 9);
    struct got g = parse_all(out, len, cio_multipart_content_type(mp), NULL);
    CIO_EXPECT_RC(g.rc, 0);
    cr_expect(g.end && g.nparts == 0);
    got_free(&g);
    free(out);
    cio_multipart_free(mp);
}

Test(multipart, encoder_escapes_names_and_filenames)
{
    cio_multipart *mp;
    CIO_ASSERT_RC(
        cio_multipart_new(&mp, &(struct cio_multipart_opts){.boundary = "q"}),
        0);
    CIO_ASSERT_RC(cio_multipart_add_file_data(
                      mp,
                      &(struct cio_multipart_file){
                          .name = "a\"b\r\nc\x01\td\\",
                          .filename = "x\"\r\n\x7f\xe2\x82\xac.txt"},
                      "v", 1),
                  0);
    size_t len;
    char *out = read_all(mp, 1000, &len);
    out = realloc(out, len + 1);
    out[len] = '\0';
    cr_expect(strstr(out,
                     "name=\"a%22b%0D%0Ac%01\td%5C\"; filename=\"x%22%0D%0A"
                     "%7F\xe2\x82\xac.txt\"\r\n") != NULL,
              "%s", out);
    cr_expect(strstr(out, "filename*") == NULL);
    struct got g = parse_all(out, len, cio_multipart_content_type(mp), NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_expect_str_eq(g.parts[0].name, "a%22b%0D%0Ac%01\td%5C");
    cr_expect_str_eq(g.parts[0].filename, "x%22%0D%0A%7F\xe2\x82\xac.txt");
    got_free(&g);
    free(out);
    cio_multipart_free(mp);

    /* Header injection through the content type is refused. */
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    static const char *const bad[] = {"text/plain\r\nX: y", "a\nb", "a\x01",
                                      "a\x7f"};
    for (size_t i = 0; i < CIO_COUNTOF(bad); i++)
        CIO_EXPECT_RC(cio_multipart_add_file_data(
                          mp,
                          &(struct cio_multipart_file){.name = "f",
                                                       .content_type = bad[i]},
                          "", 0),
                      CIO_EHEADER);
    CIO_EXPECT_RC(cio_multipart_add_field(mp, NULL, cio_str_c("x")),
                  CIO_EINVAL);
    cio_multipart_free(mp);
}

Test(multipart, encoder_random_boundary)
{
    cio_multipart *a, *b;
    CIO_ASSERT_RC(cio_multipart_new(&a, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_new(&b, NULL), 0);
    const char *ca = cio_multipart_content_type(a);
    const char *cb = cio_multipart_content_type(b);
    cr_expect_str_neq(ca, cb);
    char bnd[CIO_MULTIPART_BOUNDARY_MAX + 1];
    cr_expect_eq(cio_multipart_boundary(cio_str_c(ca), bnd), 39);
    cr_expect(strncmp(bnd, "----cio", 7) == 0);
    for (int i = 7; i < 39; i++)
        cr_expect(strchr("0123456789abcdef", bnd[i]) != NULL);
    cio_multipart_free(a);
    cio_multipart_free(b);

    /* A part that contains the boundary makes a new one. */
    size_t blen;
    CIO_ASSERT_RC(cio_multipart_new(&a, NULL), 0);
    const char *peek = cio__multipart_peek_boundary(a, &blen);
    char old[80];
    memcpy(old, peek, blen);
    old[blen] = '\0';
    char value[200];
    snprintf(value, sizeof(value), "x\r\n--%s--\r\n", old);
    CIO_ASSERT_RC(cio_multipart_add_field(a, "v", cio_str_c(value)), 0);
    peek = cio__multipart_peek_boundary(a, &blen);
    cr_expect(blen != strlen(old) || memcmp(peek, old, blen) != 0,
              "boundary kept although a part contains it");
    size_t len;
    char *out = read_all(a, 4096, &len);
    struct got g = parse_all(out, len, cio_multipart_content_type(a), NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_expect(g.parts[0].len == strlen(value) &&
              memcmp(g.parts[0].data, value, g.parts[0].len) == 0);
    got_free(&g);
    free(out);
    cio_multipart_free(a);

    /* A fixed boundary that a part contains is refused. */
    CIO_ASSERT_RC(
        cio_multipart_new(&a, &(struct cio_multipart_opts){.boundary = "zz"}),
        0);
    CIO_EXPECT_RC(cio_multipart_add_field(a, "v", cio_str_c("aazzaa")),
                  CIO_EINVAL);
    CIO_EXPECT_RC(cio_multipart_add_field(a, "v", cio_str_c("aaz")), 0);
    cio_multipart_free(a);
}

static char *tmpfile_with(size_t n, unsigned seed, char *path)
{
    strcpy(path, "/tmp/cio_mp_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    char *data = malloc(n ? n : 1);
    cr_assert(data != NULL);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (char)(seed >> 16);
    }
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
    return data;
}

/* Fields, memory, fd and path parts of many sizes, read with many buffer
 * sizes, parse back to what was put in. */
Test(multipart, round_trip_sizes_and_sources)
{
    static const size_t sizes[] = {0, 1, 2, 4095, 4096, 4097, 65537, 300000};
    static const size_t caps[] = {1, 3, 100, 4096, 65536};

    for (size_t si = 0; si < CIO_COUNTOF(sizes); si++) {
        size_t n = sizes[si];
        char path[64];
        char *data = tmpfile_with(n, (unsigned)si + 1, path);
        for (size_t ci = 0; ci < CIO_COUNTOF(caps); ci++) {
            if (caps[ci] == 1 && n > 5000)
                continue;
            cio_multipart *mp;
            CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            cr_assert(fd >= 0);
            CIO_ASSERT_RC(
                cio_multipart_add_field(mp, "field", (struct cio_str){data, n}),
                0);
            CIO_ASSERT_RC(cio_multipart_add_file_data(
                              mp,
                              &(struct cio_multipart_file){.name = "mem",
                                                           .filename = "m.bin"},
                              data, n),
                          0);
            CIO_ASSERT_RC(
                cio_multipart_add_file_fd(
                    mp,
                    &(struct cio_multipart_file){.name = "fd",
                                                 .filename = "f.bin",
                                                 .content_type = "x/y"},
                    fd, 0, -1),
                0);
            CIO_ASSERT_RC(cio_multipart_add_file_fd(
                              mp, &(struct cio_multipart_file){.name = "mid"},
                              fd, n / 3, n / 2),
                          0);
            CIO_ASSERT_RC(
                cio_multipart_add_file_path(
                    mp, &(struct cio_multipart_file){.name = "path"}, path),
                0);
            int64_t want = cio_multipart_length(mp);
            size_t len;
            char *out = read_all(mp, caps[ci], &len);
            cr_expect_eq((int64_t)len, want, "size %zu cap %zu", n, caps[ci]);
            /* The fd's offset did not move (pread). */
            cr_expect_eq(lseek(fd, 0, SEEK_CUR), 0);

            struct cio_multipart_parser_opts o = {.max_field_bytes = 1u << 30};
            struct got g =
                parse_with(out, len, cio_multipart_content_type(mp), &o,
                           (struct split){caps[ci] < 64 || n > 70000 ? 0 : 5,
                                          (unsigned)n, 0});
            CIO_ASSERT_RC(g.rc, 0);
            cr_assert_eq(g.nparts, 5);
            static const char *const names[] = {"field", "mem", "fd", "mid",
                                                "path"};
            for (size_t k = 0; k < 5; k++) {
                const struct got_part *p = &g.parts[k];
                const char *wd = k == 3 ? data + n / 3 : data;
                size_t wl = k == 3 ? n / 2 : n;
                cr_expect_str_eq(p->name, names[k]);
                cr_expect(p->len == wl &&
                              (wl == 0 || memcmp(p->data, wd, wl) == 0),
                          "size %zu cap %zu part %zu: %zu bytes", n, caps[ci],
                          k, p->len);
            }
            cr_expect_eq(g.parts[0].has_filename, false);
            cr_expect_str_eq(g.parts[1].filename, "m.bin");
            cr_expect_str_eq(g.parts[1].ctype, "application/octet-stream");
            cr_expect_str_eq(g.parts[2].ctype, "x/y");
            cr_expect_eq(g.parts[3].has_filename, false);
            cr_expect(g.parts[3].ctype == NULL);
            cr_expect_str_eq(g.parts[4].filename, strrchr(path, '/') + 1);
            got_free(&g);

            /* Rewind gives the same bytes again. */
            CIO_ASSERT_RC(cio_multipart_rewind(mp), 0);
            size_t len2;
            char *again = read_all(mp, 4096, &len2);
            cr_expect(len2 == len && memcmp(out, again, len) == 0);
            free(again);
            free(out);
            cio_multipart_free(mp);
            close(fd);
        }
        unlink(path);
        free(data);
    }
}

Test(multipart, encoder_pipe_has_unknown_length)
{
    int pfd[2];
    cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
    cr_assert_eq(write(pfd[1], "piped data", 10), 10);
    close(pfd[1]);

    cio_multipart *mp;
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_EXPECT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "p"},
                                  pfd[0], 1, -1),
        CIO_EINVAL);
    CIO_ASSERT_RC(
        cio_multipart_add_file_fd(
            mp, &(struct cio_multipart_file){.name = "p", .filename = "p"},
            pfd[0], 0, -1),
        0);
    CIO_ASSERT_RC(cio_multipart_add_field(mp, "after", cio_str_c("x")), 0);
    cr_expect_eq(cio_multipart_length(mp), -1);
    size_t len;
    char *out = read_all(mp, 3, &len);
    struct got g = parse_all(out, len, cio_multipart_content_type(mp), NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_assert_eq(g.nparts, 2);
    cr_expect(g.parts[0].len == 10 &&
              memcmp(g.parts[0].data, "piped data", 10) == 0);
    got_free(&g);
    free(out);
    CIO_EXPECT_RC(cio_multipart_rewind(mp), CIO_ENOTSUP);
    cio_multipart_free(mp);
    close(pfd[0]);

    /* A pipe with a declared length that ends early. */
    cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
    cr_assert_eq(write(pfd[1], "abc", 3), 3);
    close(pfd[1]);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "p"},
                                  pfd[0], 0, 5),
        0);
    cr_expect_gt(cio_multipart_length(mp), 0);
    char buf[4096];
    ptrdiff_t r;
    while ((r = cio_multipart_read(mp, buf, sizeof(buf))) > 0)
        ;
    CIO_EXPECT_RC(r, -EIO);
    CIO_EXPECT_RC(cio_multipart_read(mp, buf, sizeof(buf)), -EIO);
    cio_multipart_free(mp);
    close(pfd[0]);

    /* A non-blocking pipe with nothing in it yet. */
    cr_assert_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "p"},
                                  pfd[0], 0, -1),
        0);
    r = cio_multipart_read(mp, buf, sizeof(buf));
    cr_expect_gt(r, 0); /* the part's headers */
    CIO_EXPECT_RC(cio_multipart_read(mp, buf, sizeof(buf)), CIO_EAGAIN);
    cr_assert_eq(write(pfd[1], "late", 4), 4);
    close(pfd[1]);
    r = cio_multipart_read(mp, buf, sizeof(buf));
    cr_expect(r == 4 && memcmp(buf, "late", 4) == 0);
    cr_expect_gt(cio_multipart_read(mp, buf, sizeof(buf)), 0);
    cr_expect_eq(cio_multipart_read(mp, buf, sizeof(buf)), 0);
    cio_multipart_free(mp);
    close(pfd[0]);
}

/* RELIABILITY 76 applied to uploads: a file that shrinks after its size was
 * announced fails the read; one that grows sends the announced bytes. */
Test(multipart, encoder_file_changes_after_add)
{
    char path[64], buf[4096];
    char *data = tmpfile_with(1000, 9, path);
    cio_multipart *mp;
    ptrdiff_t r;

    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_path(
                      mp, &(struct cio_multipart_file){.name = "f"}, path),
                  0);
    cr_assert_eq(truncate(path, 10), 0);
    while ((r = cio_multipart_read(mp, buf, sizeof(buf))) > 0)
        ;
    CIO_EXPECT_RC(r, -EIO);
    cr_expect(strstr(cio_last_error(), "changed") != NULL, "%s",
              cio_last_error());
    cio_multipart_free(mp);

    /* Shrinks while being read (after it was opened). */
    cr_assert_eq(truncate(path, 1000), 0);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_path(
                      mp, &(struct cio_multipart_file){.name = "f"}, path),
                  0);
    r = cio_multipart_read(mp, buf, 200); /* headers + first file bytes */
    cr_assert_eq(r, 200);
    cr_assert_eq(truncate(path, 150), 0);
    while ((r = cio_multipart_read(mp, buf, sizeof(buf))) > 0)
        ;
    CIO_EXPECT_RC(r, -EIO);
    cr_expect(strstr(cio_last_error(), "shrank") != NULL, "%s",
              cio_last_error());
    cio_multipart_free(mp);

    /* Grows: the announced length holds. */
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, 1000), 1000);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_path(
                      mp, &(struct cio_multipart_file){.name = "f"}, path),
                  0);
    int64_t want = cio_multipart_length(mp);
    cr_assert_eq(write(fd, "more", 4), 4);
    close(fd);
    size_t len;
    char *out = read_all(mp, 512, &len);
    cr_expect_eq((int64_t)len, want);
    struct got g = parse_all(out, len, cio_multipart_content_type(mp), NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_expect(g.parts[0].len == 1000 &&
              memcmp(g.parts[0].data, data, 1000) == 0);
    got_free(&g);
    free(out);
    cio_multipart_free(mp);

    /* Missing paths and directories fail when added. */
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_EXPECT_RC(
        cio_multipart_add_file_path(
            mp, &(struct cio_multipart_file){.name = "f"}, "/nonexistent/cio"),
        -ENOENT);
    CIO_EXPECT_RC(cio_multipart_add_file_path(
                      mp, &(struct cio_multipart_file){.name = "f"}, "/tmp"),
                  -EISDIR);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CIO_EXPECT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "f"},
                                  fd, 2000, -1),
        CIO_EINVAL);
    CIO_EXPECT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "f"},
                                  fd, 10, 1000),
        CIO_EINVAL);
    close(fd);
    CIO_EXPECT_RC(cio_multipart_read(mp, buf, 0), CIO_EINVAL);
    cio_multipart_free(mp);
    unlink(path);
    free(data);
}

/* Every allocation failure is reported as CIO_ENOMEM and leaks nothing. */
static int fail_at, alloc_count;

static int fail_hook(size_t size)
{
    (void)size;
    return alloc_count++ == fail_at;
}

static int build_and_parse(void)
{
    cio_multipart *mp;
    cio_multipart_parser *p;
    int rc = cio_multipart_new(&mp, NULL);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 12 && rc == 0; i++)
        rc = cio_multipart_add_field(mp, "f", cio_str_c("value"));
    if (rc == 0)
        rc = cio_multipart_parser_new(
            &p, cio_str_c(cio_multipart_content_type(mp)), NULL);
    if (rc == 0)
        cio_multipart_parser_free(p);
    cio_multipart_free(mp);
    return rc;
}

Test(multipart, alloc_failures_are_enomem)
{
    cio__alloc_fail_hook = fail_hook;
    fail_at = -1;
    alloc_count = 0;
    CIO_ASSERT_RC(build_and_parse(), 0);
    int total = alloc_count;
    cr_assert_gt(total, 5);
    for (fail_at = 0; fail_at < total; fail_at++) {
        alloc_count = 0;
        CIO_EXPECT_RC(build_and_parse(), CIO_ENOMEM);
    }
    cio__alloc_fail_hook = NULL;
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- other encoders */

static bool find_part(const struct got *g, const char *name, const char *fn,
                      const char *ct, const char *data, size_t len)
{
    for (size_t i = 0; i < g->nparts; i++) {
        const struct got_part *p = &g->parts[i];
        if (strcmp(p->name, name) == 0 && streq(p->filename, fn) &&
            (ct == NULL || streq(p->ctype, ct)) && p->len == len &&
            (len == 0 || memcmp(p->data, data, len) == 0))
            return true;
    }
    return false;
}

/* Waits for fd to become readable, up to ms; false on timeout. */
static bool wait_in(int fd, int ms)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    return poll(&pf, 1, ms) == 1;
}

/* The value of header name in an HTTP request head, copied to out. */
static bool header_value(const char *head, const char *name, char *out,
                         size_t cap)
{
    size_t n = strlen(name);
    const char *l = strstr(head, "\r\n"); /* skips the request line */
    while (l != NULL && l[2] != '\r') {
        const char *e;
        l += 2;
        e = strstr(l, "\r\n");
        if (e == NULL)
            return false;
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return true;
        }
        l = e;
    }
    return false;
}

/* A body made by curl -F, captured on a loopback socket, parses to what
 * curl was told to send. */
Test(multipart, parses_body_from_curl)
{
    char path[64];
    char *data = tmpfile_with(3000, 5, path);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    cr_assert(ls >= 0);
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(ls, 1), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);

    char url[64], f1[128], f2[160], f3[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/up", ntohs(sa.sin_port));
    snprintf(f1, sizeof(f1), "file=@%s", path);
    snprintf(f2, sizeof(f2),
             "odd=@%s;filename=\"we\\\"ird \xc3\xa9.txt\";"
             "type=text/x-foo",
             path);
    snprintf(f3, sizeof(f3), "inline=<%s", path);
    char *argv[] = {"curl", "-s",  "-S", "--max-time", "20", "-H", "Expect:",
                    "-F",   "a=b", "-F", "empty=",     "-F", f1,   "-F",
                    f2,     "-F",  f3,   url,          NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "curl", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(ls);
        unlink(path);
        free(data);
        cr_skip_test("curl not available: %s", strerror(rc));
    }

    cr_assert(wait_in(ls, 20000), "curl did not connect");
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(c >= 0);
    size_t cap = 1 << 20, n = 0, need = 0;
    char *req = malloc(cap + 1);
    char *body = NULL;
    cr_assert(req != NULL);
    for (;;) {
        cr_assert(wait_in(c, 20000), "curl stalled");
        ssize_t k = read(c, req + n, cap - n);
        cr_assert(k > 0, "curl closed early");
        n += (size_t)k;
        req[n] = '\0';
        if (body == NULL && (body = strstr(req, "\r\n\r\n")) != NULL) {
            char cl[32];
            body += 4;
            cr_assert(header_value(req, "Content-Length", cl, sizeof(cl)),
                      "no Content-Length:\n%s", req);
            need = (size_t)(body - req) + strtoul(cl, NULL, 10);
            cr_assert(need <= cap);
        }
        if (body != NULL && n >= need)
            break;
    }
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    cr_assert_eq(write(c, resp, sizeof(resp) - 1), (ssize_t)sizeof(resp) - 1);
    close(c);
    close(ls);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl failed");

    char ct[200];
    cr_assert(header_value(req, "Content-Type", ct, sizeof(ct)));
    struct got g = parse_all(body, need - (size_t)(body - req), ct, NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_expect(g.end);
    cr_expect_eq(g.nparts, 5);
    cr_expect(find_part(&g, "a", NULL, NULL, "b", 1));
    cr_expect(find_part(&g, "empty", NULL, NULL, "", 0));
    cr_expect(find_part(&g, "file", strrchr(path, '/') + 1, NULL, data, 3000));
    /* curl escapes '"' as %22 (WHATWG), which stays as sent. */
    cr_expect(
        find_part(&g, "odd", "we%22ird \xc3\xa9.txt", "text/x-foo", data, 3000),
        "odd part: filename %s", g.nparts > 3 ? g.parts[3].filename : "?");
    cr_expect(find_part(&g, "inline", NULL, NULL, data, 3000));
    got_free(&g);
    free(req);
    unlink(path);
    free(data);
}

/* A body made by Python's urllib3 (encode_multipart_formdata). */
Test(multipart, parses_body_from_python_urllib3)
{
    static const char script[] =
        "import sys\n"
        "try:\n"
        "    from urllib3 import encode_multipart_formdata\n"
        "except Exception:\n"
        "    sys.exit(77)\n"
        "body, ct = encode_multipart_formdata([\n"
        "    ('a', 'b'),\n"
        "    ('f', ('we\"ird \\u20ac.txt', b'data\\r\\n--x\\r\\n\\x00', "
        "'text/plain')),\n"
        "    ('e', ('empty.bin', b'')),\n"
        "    ('u', '\\u00e9t\\u00e9'),\n"
        "])\n"
        "sys.stdout.write(ct + '\\n')\n"
        "sys.stdout.flush()\n"
        "sys.stdout.buffer.write(body)\n";
    char cmd[sizeof(script) + 64];
    char *buf = malloc(1 << 16);
    cr_assert(buf != NULL);
    /* Passed through a file: quoting a script in sh is error-prone. */
    char spath[] = "/tmp/cio_mp_py_XXXXXX";
    int sfd = mkstemp(spath);
    cr_assert(sfd >= 0);
    cr_assert_eq(write(sfd, script, sizeof(script) - 1),
                 (ssize_t)sizeof(script) - 1);
    close(sfd);
    snprintf(cmd, sizeof(cmd), "python3 %s 2>/dev/null", spath);
    FILE *f = popen(cmd, "r");
    cr_assert(f != NULL);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    int st = pclose(f);
    unlink(spath);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        cr_skip_test("python3 with urllib3 not available (status %d)", st);
    }
    buf[n] = '\0';
    char *nl = memchr(buf, '\n', n);
    cr_assert(nl != NULL);
    *nl = '\0';
    struct got g = parse_all(nl + 1, n - (size_t)(nl + 1 - buf), buf, NULL);
    CIO_ASSERT_RC(g.rc, 0);
    cr_expect_eq(g.nparts, 4);
    cr_expect(find_part(&g, "a", NULL, NULL, "b", 1));
    cr_expect(find_part(&g, "f", "we%22ird \xe2\x82\xac.txt", "text/plain",
                        "data\r\n--x\r\n\0", 12),
              "f: %s", g.nparts > 1 ? g.parts[1].filename : "?");
    cr_expect(find_part(&g, "e", "empty.bin", NULL, "", 0));
    cr_expect(find_part(&g, "u", NULL, NULL, "\xc3\xa9t\xc3\xa9", 5),
              "u: %zu bytes %.*s", g.parts[3].len, (int)g.parts[3].len,
              g.parts[3].data);
    got_free(&g);
    free(buf);
}

/* cio__multipart_read_nowait (the client's reader): a pipe that has
 * nothing yet is CIO_EAGAIN, never "cold" (only a regular file's bytes can
 * be read ahead); a hot regular file reads like cio_multipart_read, and a
 * rewound body reads the same bytes again. */
Test(multipart, read_nowait_pipe_is_eagain_not_cold)
{
    int pfd[2];
    bool cold = true;
    char buf[4096];
    cr_assert_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
    cio_multipart *mp;
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(
        cio_multipart_add_file_fd(mp, &(struct cio_multipart_file){.name = "p"},
                                  pfd[0], 0, -1),
        0);
    cr_expect_gt(cio__multipart_read_nowait(mp, buf, sizeof(buf), &cold), 0);
    cr_expect(!cold);
    cold = true;
    CIO_EXPECT_RC(cio__multipart_read_nowait(mp, buf, sizeof(buf), &cold),
                  CIO_EAGAIN);
    cr_expect(!cold, "an empty pipe was taken for a cold file");
    cr_assert_eq(write(pfd[1], "late", 4), 4);
    close(pfd[1]);
    ptrdiff_t r = cio__multipart_read_nowait(mp, buf, sizeof(buf), &cold);
    cr_expect(r == 4 && memcmp(buf, "late", 4) == 0 && !cold);
    cio_multipart_free(mp);
    close(pfd[0]);

    /* a regular file (just written: in the page cache), read twice */
    char path[] = "/tmp/cio-mp-nowait-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "0123456789", 10), 10);
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_fd(
                      mp, &(struct cio_multipart_file){.name = "f"}, fd, 2, 5),
                  0);
    char *once = NULL;
    size_t once_len = 0;
    for (int pass = 0; pass < 2; pass++) {
        char all[4096];
        size_t n = 0;
        for (int i = 0; i < 100; i++) {
            r = cio__multipart_read_nowait(mp, all + n, 7, &cold);
            cr_assert_geq(r, 0);
            cr_assert(!cold);
            if (r == 0)
                break;
            n += (size_t)r;
        }
        cr_expect(memmem(all, n, "\r\n\r\n23456\r\n", 11) != NULL);
        if (pass == 0) {
            once = malloc(n);
            memcpy(once, all, n);
            once_len = n;
            CIO_ASSERT_RC(cio_multipart_rewind(mp), 0);
        } else {
            cr_expect(n == once_len && memcmp(all, once, n) == 0);
        }
    }
    free(once);
    cio_multipart_free(mp);
    close(fd);
    unlink(path);
}
