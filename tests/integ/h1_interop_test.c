/* SPDX-License-Identifier: MIT */
/*
 * Responses captured from real servers (nginx, h2o; started here on
 * loopback) parse with corio's HTTP/1.1 parser, framing rules, chunked
 * decoder and content decoders to the same status, header fields and body
 * that curl reports for the same request.
 */
#include "test.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>

#include "http/chunked.h"
#include "http/coding.h"
#include "http/h1_parse.h"
#include "peers.h"

#define RAW_CAP (4u << 20)

struct parsed {
    int status;
    char fields[64][2][512]; /* lowercased name, value */
    size_t nfields;
    char *body;
    size_t bodylen;
    int chunked, gzip;
};

static char *slurp_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t r;

    cr_assert(fd >= 0, "open %s", path);
    while ((r = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    *len = n;
    return buf;
}

static int sink(void *ud, const void *buf, size_t len)
{
    struct parsed *p = ud;
    p->body = realloc(p->body, p->bodylen + len + 1);
    memcpy(p->body + p->bodylen, buf, len);
    p->bodylen += len;
    return 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Parses a raw response the way the client will: head, framing, transfer
 * coding, content coding. */
static void parse_raw(const char *raw, size_t len, int head_req,
                      struct parsed *p)
{
    struct cio__h1_header hs[64];
    struct cio__h1_head h;
    struct cio__h1_framing f;
    struct cio__decoder *dec = NULL;
    struct cio_str ce = {NULL, 0};

    memset(p, 0, sizeof(*p));
    p->body = malloc(1);
    cio__h1_head_init(&h, hs, 64, NULL);
    ptrdiff_t n = cio__h1_parse_response(raw, len, &h);
    cr_assert_gt(n, 0, "parse: %s (%s)", cio_errname((int)n), h.err_msg);
    CIO_ASSERT_RC(cio__h1_response_framing(
                      &h, head_req ? CIO__H1_M_HEAD : CIO__H1_M_GET, 0, &f),
                  0);
    p->status = h.status;
    for (size_t i = 0; i < h.nheaders && i < 64; i++) {
        snprintf(p->fields[i][0], 512, "%.*s", (int)hs[i].name.len,
                 hs[i].name.ptr);
        lower(p->fields[i][0]);
        snprintf(p->fields[i][1], 512, "%.*s", (int)hs[i].value.len,
                 hs[i].value.ptr);
        if (strcmp(p->fields[i][0], "content-encoding") == 0)
            ce = hs[i].value;
    }
    p->nfields = h.nheaders;
    if (ce.len > 0) {
        CIO_ASSERT_RC(cio__decoder_new(&dec, ce, NULL), 0);
        p->gzip = 1;
    }

    const char *body = raw + n;
    size_t left = len - (size_t)n;
    switch (f.body) {
    case CIO__H1_BODY_NONE:
        break;
    case CIO__H1_BODY_LENGTH:
        cr_assert_eq(left, f.length, "body %zu bytes, Content-Length %llu",
                     left, (unsigned long long)f.length);
        if (dec)
            CIO_ASSERT_RC(cio__decoder_write(dec, body, left, sink, p), 0);
        else
            sink(p, body, left);
        break;
    case CIO__H1_BODY_CHUNKED: {
        struct cio__chunked c;
        p->chunked = 1;
        cio__chunked_init(&c, NULL);
        int rc = 0;
        while (left > 0 && rc != CIO__CHUNKED_DONE) {
            size_t used;
            struct cio_str data;
            rc = cio__chunked_feed(&c, body, left, &used, &data);
            cr_assert_geq(rc, 0, "chunked: %s", cio_last_error());
            if (data.len > 0) {
                if (dec)
                    CIO_ASSERT_RC(
                        cio__decoder_write(dec, data.ptr, data.len, sink, p),
                        0);
                else
                    sink(p, data.ptr, data.len);
            }
            body += used;
            left -= used;
        }
        cr_assert_eq(rc, CIO__CHUNKED_DONE, "chunked body cut short");
        cio__chunked_fini(&c);
        break;
    }
    case CIO__H1_BODY_CLOSE:
        if (dec)
            CIO_ASSERT_RC(cio__decoder_write(dec, body, left, sink, p), 0);
        else
            sink(p, body, left);
        break;
    }
    if (dec) {
        CIO_ASSERT_RC(cio__decoder_end(dec, sink, p), 0);
        cio__decoder_free(dec);
    }
}

/* curl's view: status and fields from its -D dump, body from -o. */
static void curl_view(struct peer *pe, const char *path, int head_req, int gzip,
                      struct parsed *p)
{
    char url[128], hdr[400], out[400];
    size_t hlen;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", pe->port, path);
    snprintf(hdr, sizeof(hdr), "%s/curl.hdr", pe->dir);
    snprintf(out, sizeof(out), "%s/curl.body", pe->dir);
    char *argv[16];
    int k = 0;
    argv[k++] = "curl";
    argv[k++] = "-sS";
    argv[k++] = "--http1.1";
    argv[k++] = "-H";
    argv[k++] = "Connection: close";
    if (gzip) {
        argv[k++] = "-H";
        argv[k++] = "Accept-Encoding: gzip";
        argv[k++] = "--compressed";
    }
    if (head_req)
        argv[k++] = "-I";
    argv[k++] = "-D";
    argv[k++] = hdr;
    argv[k++] = "-o";
    argv[k++] = out;
    argv[k++] = url;
    argv[k] = NULL;
    char dummy[16];
    cr_assert_geq(peer_run_capture(argv, dummy, sizeof(dummy)), 0,
                  "curl failed");

    memset(p, 0, sizeof(*p));
    char *h = slurp_file(hdr, &hlen);
    char *line = h, *end = h + hlen;
    int first = 1;
    while (line < end) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        size_t ll = (size_t)(eol - line);
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break;
        if (first) {
            p->status = atoi(line + 9);
            first = 0;
        } else {
            char *colon = memchr(line, ':', ll);
            cr_assert(colon != NULL);
            char *v = colon + 1;
            while (v < line + ll && (*v == ' ' || *v == '\t'))
                v++;
            char *ve = line + ll;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            snprintf(p->fields[p->nfields][0], 512, "%.*s", (int)(colon - line),
                     line);
            lower(p->fields[p->nfields][0]);
            snprintf(p->fields[p->nfields][1], 512, "%.*s", (int)(ve - v), v);
            p->nfields++;
        }
        line = eol + 1;
    }
    free(h);
    if (head_req) {
        p->body = malloc(1);
        p->bodylen = 0;
    } else {
        p->body = slurp_file(out, &p->bodylen);
    }
}

/* Fields compared in order, except Date (the two requests may straddle a
 * second boundary). */
static void compare(const char *what, struct parsed *a, struct parsed *b)
{
    cr_expect_eq(a->status, b->status, "%s: status %d vs curl %d", what,
                 a->status, b->status);
    size_t i = 0, j = 0;
    while (i < a->nfields || j < b->nfields) {
        if (i < a->nfields && strcmp(a->fields[i][0], "date") == 0) {
            i++;
            continue;
        }
        if (j < b->nfields && strcmp(b->fields[j][0], "date") == 0) {
            j++;
            continue;
        }
        if (i >= a->nfields || j >= b->nfields) {
            cr_expect_fail("%s: %zu fields vs curl %zu", what, a->nfields,
                           b->nfields);
            break;
        }
        cr_expect_str_eq(a->fields[i][0], b->fields[j][0], "%s: field %zu",
                         what, i);
        cr_expect_str_eq(a->fields[i][1], b->fields[j][1], "%s: %s", what,
                         a->fields[i][0]);
        i++;
        j++;
    }
    cr_expect_eq(a->bodylen, b->bodylen, "%s: body %zu bytes vs curl %zu", what,
                 a->bodylen, b->bodylen);
    cr_expect(a->bodylen == b->bodylen &&
                  memcmp(a->body, b->body, a->bodylen) == 0,
              "%s: bodies differ", what);
}

struct req {
    const char *path;
    int head, gzip;
    int want_chunked; /* -1: don't care */
};

static void make_files(struct peer *pe)
{
    static char big[300000];
    size_t n = 0;
    for (int i = 0; n + 80 < sizeof(big); i++)
        n += (size_t)snprintf(
            big + n, sizeof(big) - n,
            "line %06d: the quick brown fox jumps over the lazy dog\n", i);
    cr_assert_eq(peer_put_file(pe, "big.txt", big, n), 0);
    cr_assert_eq(peer_put_file(pe, "small.txt", "small file\n", 11), 0);
    const char json[] =
        "{\"id\": 1, \"name\": \"corio\", \"tags\": [\"a\", \"b\"]}\n";
    cr_assert_eq(peer_put_file(pe, "data.json", json, sizeof(json) - 1), 0);
    static unsigned char bin[50000];
    for (size_t k = 0; k < sizeof(bin); k++)
        bin[k] = (unsigned char)(k * 131u + (k >> 7));
    cr_assert_eq(peer_put_file(pe, "bin.dat", bin, sizeof(bin)), 0);
}

static void run_server(const char *name, const struct req *reqs, size_t nreq)
{
    struct peer pe;
    char *raw = malloc(RAW_CAP);
    int saw_chunked_gzip = 0;

    cr_assert_eq(peer_prepare(&pe, name), 0);
    make_files(&pe);
    int rc = peer_start(&pe);
    if (rc == 77) {
        peer_stop(&pe);
        free(raw);
        cr_skip_test("%s is not installed", name);
    }
    cr_assert_eq(rc, 0);
    for (size_t i = 0; i < nreq; i++) {
        char req[512], what[128];
        int len = snprintf(req, sizeof(req),
                           "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                           "User-Agent: curl/7.88.1\r\nAccept: */*\r\n%s"
                           "Connection: close\r\n\r\n",
                           reqs[i].head ? "HEAD" : "GET", reqs[i].path, pe.port,
                           reqs[i].gzip ? "Accept-Encoding: gzip\r\n" : "");
        snprintf(what, sizeof(what), "%s %s %s%s", name,
                 reqs[i].head ? "HEAD" : "GET", reqs[i].path,
                 reqs[i].gzip ? " (gzip)" : "");
        ptrdiff_t n = peer_exchange(pe.port, req, (size_t)len, raw, RAW_CAP);
        cr_assert_gt(n, 0, "%s: no response", what);
        struct parsed ours, theirs;
        parse_raw(raw, (size_t)n, reqs[i].head, &ours);
        curl_view(&pe, reqs[i].path, reqs[i].head, reqs[i].gzip, &theirs);
        compare(what, &ours, &theirs);
        if (reqs[i].want_chunked >= 0)
            cr_expect_eq(ours.chunked, reqs[i].want_chunked, "%s: chunked %d",
                         what, ours.chunked);
        if (ours.chunked && ours.gzip)
            saw_chunked_gzip = 1;
        free(ours.body);
        free(theirs.body);
    }
    cr_expect(saw_chunked_gzip, "%s: no chunked gzip response was exercised",
              name);
    peer_stop(&pe);
    free(raw);
}

Test(h1_interop, nginx_responses_match_curl)
{
    static const struct req reqs[] = {
        {"/small.txt", 0, 0, 0}, {"/big.txt", 0, 0, 0},  {"/big.txt", 0, 1, 1},
        {"/data.json", 0, 1, 1}, {"/bin.dat", 0, 1, 0},  {"/big.txt", 1, 0, 0},
        {"/big.txt", 1, 1, -1},  {"/missing", 0, 0, -1}, {"/hdrs", 0, 0, -1},
        {"/204", 0, 0, -1},      {"/302", 0, 0, -1},     {"/404", 0, 1, -1},
    };
    run_server("nginx", reqs, CIO_COUNTOF(reqs));
}

Test(h1_interop, h2o_responses_match_curl)
{
    static const struct req reqs[] = {
        {"/small.txt", 0, 0, 0},  {"/big.txt", 0, 0, 0}, {"/big.txt", 0, 1, 1},
        {"/bin.dat", 0, 0, 0},    {"/big.txt", 1, 0, 0}, {"/missing", 0, 0, -1},
        {"/data.json", 0, 1, -1},
    };
    run_server("h2o", reqs, CIO_COUNTOF(reqs));
}
