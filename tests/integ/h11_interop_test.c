/* SPDX-License-Identifier: MIT */
/*
 * Interop: heads and chunked bodies written by corio (src/http/h1_write.c)
 * are parsed by python3-h11, which must accept every one and report the
 * same method, target, status, reason, version, fields, body and trailers.
 * The messages go to h11 in one temporary file (tests/data/h11_check.py
 * reads it), under `timeout`, so a hung interpreter fails the test.
 * Skipped, with a message, only if no python3 can import h11.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "http/h1_write.h"

#define WIRE_MAX 65536

struct msg {
    /* Request (status == 0) or response. */
    const char *method; /* request method, or the method responded to */
    const char *target;
    int status;
    const char *reason; /* NULL: the table's */
    int minor;
    const struct cio_kv *headers;
    const char *body; /* NULL: none */
    int chunk;        /* > 0: chunked in pieces of this size */
    const struct cio_kv *trailers;
    unsigned add_date : 1;
    unsigned no_body : 1;       /* HEAD/204/304: the body is not sent */
    unsigned informational : 1; /* a 100 Continue head goes first */
};

static char longval[4001];
static struct cio_kv many_host[52]; /* Host + 50 fields, filled at start */
static char many_names[50][16];

static void init_shapes(void)
{
    memset(longval, 'v', sizeof(longval) - 1);
    many_host[0] = (struct cio_kv){"Host", "h"};
    for (int i = 0; i < 50; i++) {
        snprintf(many_names[i], sizeof(many_names[i]), "X-Field-%02d", i);
        many_host[i + 1].name = many_names[i];
        many_host[i + 1].value = i % 2 ? "odd" : "even, with, commas";
    }
}

#define KV(...) ((const struct cio_kv[]){__VA_ARGS__, {NULL, NULL}})

static const struct msg cases[] = {
    /* ---- requests */
    {.method = "GET",
     .target = "/",
     .minor = 1,
     .headers = KV({"Host", "example.com"}, {"Accept", "*/*"},
                   {"User-Agent", "corio/0.1"})},
    {.method = "POST",
     .target = "/submit?a=1&b=%20",
     .minor = 1,
     .headers = KV({"Host", "h"}, {"Content-Length", "5"},
                   {"Content-Type", "text/plain"}),
     .body = "hello"},
    {.method = "PUT",
     .target = "/upload",
     .minor = 1,
     .headers = KV({"Host", "h"}, {"Transfer-Encoding", "chunked"},
                   {"Trailer", "X-Checksum, Server-Timing"}),
     .body = "the quick brown fox jumps over the lazy dog",
     .chunk = 7,
     .trailers = KV({"X-Checksum", "abc123"},
                    {"Server-Timing", "db;dur=53, app;dur=47.2"})},
    {.method = "POST",
     .target = "/empty-chunked",
     .minor = 1,
     .headers = KV({"Host", "h"}, {"Transfer-Encoding", "chunked"}),
     .body = "",
     .chunk = 1},
    {.method = "GET",
     .target = "/shapes",
     .minor = 1,
     .headers = KV({"Host", "h"}, {"!#$%&'*+-.^_`|~09azAZ", "tchars"},
                   {"X-Tab", "a\tb"}, {"X-Obs", "caf\xc3\xa9"}, {"X-Empty", ""},
                   {"x-dup", "1"}, {"X-DUP", "2"}, {"X-Trim", "  trimmed \t"},
                   {"X-Quoted", "\"a, b\"; q=1"}, {"X-Long", longval})},
    {.method = "GET", .target = "/many", .minor = 1, .headers = many_host},
    {.method = "GET",
     .target = "/old",
     .minor = 0,
     .headers = KV({"Host", "h"})},
    {.method = "GET",
     .target = "http://example.com:8080/p?q",
     .minor = 1,
     .headers = KV({"Host", "example.com:8080"})},
    {.method = "OPTIONS",
     .target = "*",
     .minor = 1,
     .headers = KV({"Host", "h"})},
    {.method = "PROPFIND",
     .target = "/dav/~user/",
     .minor = 1,
     .headers = KV({"Host", "h"}, {"Depth", "1"})},
    {.method = "M-SEARCH",
     .target = "/%E2%82%AC?x=%00",
     .minor = 1,
     .headers = KV({"Host", "h"})},

    /* ---- responses (method = the request's) */
    {.method = "GET",
     .status = 200,
     .minor = 1,
     .headers = KV({"Content-Type", "text/plain; charset=utf-8"},
                   {"Content-Length", "12"}),
     .body = "hello, h11!\n"},
    {.method = "GET",
     .status = 404,
     .minor = 1,
     .headers = KV({"Content-Length", "0"})},
    {.method = "GET",
     .status = 299,
     .minor = 1,
     .headers = KV({"Content-Length", "0"})},
    {.method = "GET",
     .status = 200,
     .reason = "Fine \t and \xe9",
     .minor = 1,
     .headers = KV({"Content-Length", "2"}),
     .body = "ok"},
    {.method = "GET",
     .status = 200,
     .minor = 1,
     .headers =
         KV({"Transfer-Encoding", "chunked"}, {"Trailer", "Server-Timing"}),
     .body = "0123456789abcdefghijklmnopqrstuvwxyz",
     .chunk = 5,
     .trailers =
         KV({"Server-Timing", "total;dur=1"}, {"X-Sum", "\"quoted\" \xff"})},
    {.method = "GET",
     .status = 200,
     .minor = 1,
     .headers = KV({"Transfer-Encoding", "chunked"}),
     .body = "",
     .chunk = 1},
    {.method = "GET",
     .status = 200,
     .minor = 1,
     .headers = KV({"Transfer-Encoding", "chunked"}),
     .body = "x",
     .chunk = 1},
    {.method = "GET",
     .status = 204,
     .minor = 1,
     .headers = KV({"X-A", "1"}),
     .add_date = 1},
    {.method = "GET",
     .status = 304,
     .minor = 1,
     .headers = KV({"ETag", "\"v1\""}, {"Content-Length", "9"}),
     .no_body = 1},
    {.method = "GET",
     .status = 200,
     .minor = 0,
     .headers = KV({"Content-Length", "3"}),
     .body = "old"},
    {.method = "HEAD",
     .status = 200,
     .minor = 1,
     .headers = KV({"Content-Length", "100"}),
     .no_body = 1},
    {.method = "POST",
     .status = 201,
     .minor = 1,
     .headers = KV({"Location", "/x/1"}, {"Content-Length", "0"}),
     .informational = 1},
    {.method = "GET",
     .status = 200,
     .minor = 1,
     .headers = KV({"Set-Cookie", "a=1; Path=/"},
                   {"set-cookie", "b=2; HttpOnly"}, {"Content-Length", "0"})},
    {.method = "GET",
     .status = 503,
     .minor = 1,
     .headers = KV({"Retry-After", "120"}, {"Connection", "close"},
                   {"Content-Length", "4"}),
     .body = "busy"},
};

/* The same escaping as h11_check.py's esc(). */
static void esc(char **o, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '|')
            *(*o)++ = (char)c;
        else
            *o += sprintf(*o, "\\x%02x", c);
    }
}

static void fields(char **o, const char *tag, const cio_headers *h)
{
    for (size_t i = 0, n = h != NULL ? cio_headers_count(h) : 0; i < n; i++) {
        struct cio_field f;
        cio_headers_at(h, i, &f);
        *o += sprintf(*o, " %s ", tag);
        esc(o, f.name.ptr, f.name.len);
        *(*o)++ = '=';
        esc(o, f.value.ptr, f.value.len);
    }
}

static cio_headers *map(const struct cio_kv *kv)
{
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, NULL), 0);
    for (; kv != NULL && kv->name != NULL; kv++)
        CIO_ASSERT_RC(cio_headers_add(h, kv->name, kv->value), 0);
    return h;
}

/* Writes m with corio into wire and the line h11 should print into want. */
static size_t build(const struct msg *m, char *wire, char *want)
{
    cio_headers *h = map(m->headers), *t = map(m->trailers);
    size_t n = 0;
    ptrdiff_t k;
    char *o = want;

    o += sprintf(o, "ok ");
    if (m->status == 0) {
        struct cio__h1_request r = {cio_str_c(m->method), cio_str_c(m->target),
                                    m->minor, h, NULL};
        k = cio__h1_write_request(wire, WIRE_MAX, &r, NULL);
        cr_assert_gt(k, 0, "%s", cio_last_error());
        esc(&o, m->method, strlen(m->method));
        *o++ = ' ';
        esc(&o, m->target, strlen(m->target));
        o += sprintf(o, " 1.%d |", m->minor);
    } else {
        if (m->informational) {
            struct cio__h1_response c = {.status = 100, .minor = 1};
            k = cio__h1_write_response(wire, WIRE_MAX, &c, NULL);
            cr_assert_gt(k, 0);
            n += (size_t)k;
            o += sprintf(o, "I 100 Continue ");
        }
        struct cio__h1_response r = {.status = m->status,
                                     .reason = m->reason != NULL
                                                   ? cio_str_c(m->reason)
                                                   : (struct cio_str){NULL, 0},
                                     .minor = m->minor,
                                     .headers = h,
                                     .add_date = m->add_date};
        k = cio__h1_write_response(wire + n, WIRE_MAX - n, &r, NULL);
        cr_assert_gt(k, 0, "%s", cio_last_error());
        const char *reason =
            m->reason != NULL ? m->reason : cio_http_status_reason(m->status);
        o += sprintf(o, "%d ", m->status);
        esc(&o, reason, strlen(reason));
        o += sprintf(o, " 1.%d |", m->minor);
        if (m->add_date) {
            /* The Date the writer chose, read back from the wire. */
            const char *d = memmem(wire + n, (size_t)k, "\r\nDate: ", 8);
            cr_assert_not_null(d);
            CIO_ASSERT_RC(
                cio_headers_add_str(h, CIO_STR_LIT("Date"),
                                    (struct cio_str){d + 8, CIO_HTTP_DATE_LEN}),
                0);
        }
    }
    n += (size_t)k;
    fields(&o, "H", h);

    const char *body = m->body != NULL ? m->body : "";
    size_t blen = strlen(body);
    if (m->chunk > 0) {
        for (size_t i = 0; i < blen; i += (size_t)m->chunk) {
            size_t c =
                blen - i < (size_t)m->chunk ? blen - i : (size_t)m->chunk;
            struct iovec iov[3];
            char head[CIO__H1_CHUNK_HEAD_MAX];
            cr_assert_eq(cio__h1_chunk_iov(iov, head, body + i, c), 3);
            for (int j = 0; j < 3; j++) {
                memcpy(wire + n, iov[j].iov_base, iov[j].iov_len);
                n += iov[j].iov_len;
            }
        }
        k = cio__h1_write_last_chunk(wire + n, WIRE_MAX - n, t, NULL);
        cr_assert_gt(k, 0, "%s", cio_last_error());
        n += (size_t)k;
    } else if (!m->no_body) {
        memcpy(wire + n, body, blen);
        n += blen;
    }
    o += sprintf(o, " | B ");
    esc(&o, m->no_body ? "" : body, m->no_body ? 0 : blen);
    o += sprintf(o, " |");
    fields(&o, "T", t);
    o += sprintf(o, " | L 0");
    *o = '\0';
    cio_headers_free(h);
    cio_headers_free(t);
    return n;
}

/* A python3 that can import h11, or NULL. */
static const char *find_python(void)
{
    static const char *cands[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < CIO_COUNTOF(cands); i++) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd),
                 "timeout 30 %s -c 'import h11' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0)
            return cands[i];
    }
    return NULL;
}

/* Writes the messages, has h11 describe them, compares line by line. */
static void check_with_h11(const char *py, const struct msg *m, size_t ncases)
{
    char path[] = "/tmp/corio-h11-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "wb");
    cr_assert_not_null(f);
    static char wire[WIRE_MAX];
    char(*want)[16384] = calloc(ncases, sizeof(*want));
    cr_assert_not_null(want);
    for (size_t i = 0; i < ncases; i++) {
        size_t n = build(&m[i], wire, want[i]);
        if (m[i].status == 0)
            fprintf(f, "REQ %zu\n", n);
        else
            fprintf(f, "RESP %s %zu\n", m[i].method, n);
        cr_assert_eq(fwrite(wire, 1, n, f), n);
    }
    cr_assert_eq(fclose(f), 0);

    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "timeout 60 %s %s %s 2>&1", py,
             cio_test_data("h11_check.py"), path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char line[16384];
    size_t got = 0;
    while (fgets(line, sizeof(line), p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (got < ncases)
            cr_expect_str_eq(
                line, want[got], "message %zu (%s %s %d)", got, m[got].method,
                m[got].target != NULL ? m[got].target : "", m[got].status);
        else
            cr_expect_fail("extra output: %s", line);
        got++;
    }
    int st = pclose(p);
    if (getenv("CIO_KEEP_H11") == NULL)
        unlink(path);
    free(want);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "h11_check status %#x",
              (unsigned)st);
    cr_expect_eq(got, ncases, "h11 described %zu of %zu messages", got, ncases);
}

Test(h11_interop, h11_accepts_corio_heads)
{
    const char *py = find_python();
    if (py == NULL)
        cr_skip_test("python3 with h11 (Debian python3-h11) not found: "
                     "interop not checked");
    init_shapes();
    check_with_h11(py, cases, CIO_COUNTOF(cases));
}

/* Random but valid shapes: token names of every tchar, values with HTAB,
 * SP and obs-text, random chunk sizes and trailers. */
#define NRANDOM 300

struct rmsg {
    struct msg m;
    struct cio_kv h[16], t[5];
    char str[2600]; /* every string of the message */
};

static uint64_t rs = 0x853c49e6748fea9bull;

static unsigned rnd(unsigned n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (unsigned)(rs >> 11) % n;
}

static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz";

static char *rstr(char **o, const char *prefix, unsigned len, int kind)
{
    char *s = *o;
    size_t pl = strlen(prefix);
    memcpy(s, prefix, pl);
    for (unsigned i = 0; i < len; i++) {
        char c;
        if (kind == 0) { /* token */
            c = tchars[rnd(sizeof(tchars) - 1)];
        } else if (kind == 1) { /* target: visible ASCII but '#' */
            do
                c = (char)(0x21 + rnd(0x5e));
            while (c == '#');
        } else { /* value: VCHAR, obs-text, SP, HTAB inside */
            unsigned r = rnd(20);
            c = r == 0   ? ' '
                : r == 1 ? '\t'
                : r == 2 ? (char)(0x80 + rnd(128))
                         : (char)(0x21 + rnd(0x5e));
            if ((i == 0 || i + 1 == len) && (c == ' ' || c == '\t'))
                c = 'w';
        }
        s[pl + i] = c;
    }
    s[pl + len] = '\0';
    *o = s + pl + len + 1;
    return s;
}

Test(h11_interop, h11_accepts_random_corio_messages)
{
    const char *py = find_python();
    if (py == NULL)
        cr_skip_test("python3 with h11 (Debian python3-h11) not found: "
                     "interop not checked");
    static struct rmsg r[NRANDOM];
    static struct msg m[NRANDOM];
    static const int statuses[] = {200, 201, 202, 203, 206, 299, 301, 302,
                                   400, 403, 404, 409, 418, 500, 502, 599};
    for (size_t i = 0; i < NRANDOM; i++) {
        char *o = r[i].str;
        size_t nh = 0;
        bool req = i % 2 == 0, chunked = rnd(3) != 0;
        r[i].m.minor = 1;
        if (req) {
            r[i].m.method = rstr(&o, "", 1 + rnd(10), 0);
            r[i].m.target = rstr(&o, "/", rnd(60), 1);
            r[i].h[nh++] = (struct cio_kv){"Host", rstr(&o, "h", rnd(20), 0)};
        } else {
            r[i].m.method = "GET";
            r[i].m.status = statuses[rnd(CIO_COUNTOF(statuses))];
            if (rnd(4) == 0)
                r[i].m.reason = rstr(&o, "R", rnd(30), 2);
        }
        for (unsigned k = rnd(10); k > 0; k--) {
            const char *name = rstr(&o, "X-", 1 + rnd(20), 0);
            r[i].h[nh++] = (struct cio_kv){name, rstr(&o, "", rnd(100), 2)};
        }
        const char *body = rstr(&o, "", rnd(300), 2);
        if (chunked) {
            r[i].h[nh++] = (struct cio_kv){"Transfer-Encoding", "chunked"};
            r[i].m.chunk = 1 + (int)rnd(64);
            unsigned nt = rnd(4);
            for (unsigned k = 0; k < nt; k++)
                r[i].t[k] = (struct cio_kv){rstr(&o, "T-", 1 + rnd(10), 0),
                                            rstr(&o, "", rnd(40), 2)};
            r[i].t[nt].name = NULL;
            r[i].m.trailers = r[i].t;
        } else {
            char *cl = o;
            o += sprintf(o, "%zu", strlen(body)) + 1;
            r[i].h[nh++] = (struct cio_kv){"Content-Length", cl};
        }
        cr_assert_leq((size_t)(o - r[i].str), sizeof(r[i].str));
        r[i].h[nh].name = NULL;
        r[i].m.headers = r[i].h;
        r[i].m.body = body;
        m[i] = r[i].m;
    }
    check_with_h11(py, m, NRANDOM);
}
