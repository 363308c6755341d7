/* SPDX-License-Identifier: MIT */
/*
 * h1_bench: HTTP/1.1 head parsing, corio (src/http/h1_parse.c) against
 * Node's http-parser 2.9 (Debian libhttp-parser-dev), on the same bytes in
 * the same process.
 *
 * Inputs: a realistic browser request (~550 bytes, 12 fields), a minimal
 * request and a typical response head; a fourth, a request with a 3 KB
 * cookie, shows what the vector scanners buy on long values. For each, both parsers do the same
 * job: every field as a (name, value) view in an array, method/target or
 * status, and the framing decision (body length, chunked, keep-alive), so
 * corio runs its head parser plus its framing step; http-parser runs with
 * callbacks that store the views and ask http_should_keep_alive().
 *
 * Each run parses the input ITERS times per parser, the parsers taking
 * turns; the result is the median ns/message (thread CPU time) over RUNS
 * runs, and the ratio
 * http-parser / corio (above 1: corio is faster). corio is measured with
 * its best byte scanner and with the portable one.
 *
 * Usage: h1_bench [RUNS [ITERS]]   (default 9 runs of 200000)
 * Pin it (bench/h1/run does: taskset -c 1).
 */
#include <http_parser.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/h1_parse.h"

static const char browser[] =
    "GET /search?q=corio&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
    "*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Referer: https://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=4f1c9a2b7d; theme=dark\r\n"
    "\r\n";

static const char minimal[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

static const char response[] =
    "HTTP/1.1 200 OK\r\n"
    "Date: Mon, 27 May 2024 10:00:00 GMT\r\n"
    "Server: corio/0.1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Length: 12345\r\n"
    "Cache-Control: public, max-age=3600\r\n"
    "ETag: \"5f3c-1a2b3c4d\"\r\n"
    "Last-Modified: Sun, 26 May 2024 08:00:00 GMT\r\n"
    "Vary: Accept-Encoding\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

/* Not one of the three target inputs: shows what the vector scanners buy
 * on long values (filled in main). */
static char cookie[4096];

struct input {
    const char *name;
    const char *buf;
    size_t len;
    int resp;
};

static struct input inputs[] = {
    {"browser request", browser, sizeof(browser) - 1, 0},
    {"minimal request", minimal, sizeof(minimal) - 1, 0},
    {"response head", response, sizeof(response) - 1, 1},
    {"request, 3 KB cookie", cookie, 0, 0},
};

/* What both parsers produce per message, so neither can skip work. */
struct out {
    struct cio_str method, target;
    int status;
    size_t nheaders;
    struct cio_str names[32], values[32];
    uint64_t length;
    int keep_alive;
};

/* CPU time of this thread, not wall time: on a shared machine the wall
 * clock also counts the time other processes held the CPU. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------- corio */

static int corio_parse(const struct input *in, struct out *o)
{
    struct cio__h1_header hs[32];
    struct cio__h1_head h;
    struct cio__h1_framing f;
    ptrdiff_t n;
    int rc;

    cio__h1_head_init(&h, hs, 32, NULL);
    if (in->resp) {
        n = cio__h1_parse_response(in->buf, in->len, &h);
        if (n <= 0)
            return -1;
        rc = cio__h1_response_framing(&h, CIO__H1_M_GET, 0, &f);
        o->status = h.status;
    } else {
        n = cio__h1_parse_request(in->buf, in->len, &h);
        if (n <= 0)
            return -1;
        rc = cio__h1_request_framing(&h, &f);
        o->method = h.method;
        o->target = h.target;
    }
    if (rc != 0)
        return -1;
    o->nheaders = h.nheaders;
    for (size_t i = 0; i < h.nheaders; i++) {
        o->names[i] = hs[i].name;
        o->values[i] = hs[i].value;
    }
    o->length = f.body == CIO__H1_BODY_LENGTH ? f.length : 0;
    o->keep_alive = f.keep_alive;
    return (int)n;
}

/* ---------------------------------------------------------- http-parser */

static int hp_url(http_parser *p, const char *at, size_t len)
{
    struct out *o = p->data;
    o->target = (struct cio_str){at, len};
    return 0;
}

static int hp_field(http_parser *p, const char *at, size_t len)
{
    struct out *o = p->data;
    if (o->nheaders >= 32)
        return -1;
    o->names[o->nheaders] = (struct cio_str){at, len};
    return 0;
}

static int hp_value(http_parser *p, const char *at, size_t len)
{
    struct out *o = p->data;
    o->values[o->nheaders++] = (struct cio_str){at, len};
    return 0;
}

static int hp_headers_complete(http_parser *p)
{
    struct out *o = p->data;
    o->keep_alive = http_should_keep_alive(p);
    o->length = p->content_length == ULLONG_MAX ? 0 : p->content_length;
    o->status = (int)p->status_code;
    if (p->type == HTTP_REQUEST) {
        const char *m = http_method_str((enum http_method)p->method);
        o->method = (struct cio_str){m, strlen(m)};
    }
    return 0;
}

static http_parser_settings hp_settings;

static int hp_parse(const struct input *in, struct out *o)
{
    http_parser p;
    o->nheaders = 0;
    http_parser_init(&p, in->resp ? HTTP_RESPONSE : HTTP_REQUEST);
    p.data = o;
    size_t n = http_parser_execute(&p, &hp_settings, in->buf, in->len);
    if (p.http_errno != HPE_OK)
        return -1;
    return (int)n;
}

/* ---------------------------------------------------------------- runs */

typedef int (*parse_fn)(const struct input *, struct out *);

static double run_once(parse_fn fn, const struct input *in, long iters,
                       uint64_t *sink)
{
    struct out o;
    uint64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        int n = fn(in, &o);
        *sink += (uint64_t)n + o.nheaders + o.values[0].len;
        /* The compiler must not hoist the parse out of the loop. */
        __asm__ volatile("" : : "r"(&o) : "memory");
    }
    return (double)(now_ns() - t0) / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Both parsers must see the same message before we time them. */
static int same_result(const struct input *in)
{
    struct out a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    int na = corio_parse(in, &a), nb = hp_parse(in, &b);
    if (na != (int)in->len || nb != (int)in->len) {
        fprintf(stderr, "%s: consumed corio %d, http-parser %d, of %zu\n",
                in->name, na, nb, in->len);
        return 0;
    }
    if (a.nheaders != b.nheaders || a.keep_alive != b.keep_alive ||
        a.length != b.length || a.status != b.status) {
        fprintf(stderr, "%s: results differ\n", in->name);
        return 0;
    }
    for (size_t i = 0; i < a.nheaders; i++)
        if (a.names[i].len != b.names[i].len ||
            a.values[i].len != b.values[i].len ||
            memcmp(a.values[i].ptr, b.values[i].ptr, a.values[i].len) != 0) {
            fprintf(stderr, "%s: field %zu differs\n", in->name, i);
            return 0;
        }
    return 1;
}

static const char *simd_name(enum cio__h1_simd s)
{
    return s == CIO__H1_SIMD_AVX2   ? "avx2"
           : s == CIO__H1_SIMD_SSE2 ? "sse2"
                                    : "portable";
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 9;
    long iters = argc > 2 ? atol(argv[2]) : 200000;
    uint64_t sink = 0;
    enum cio__h1_simd best = cio__h1_simd_get();

    if (runs < 1 || runs > 99 || iters < 1) {
        fprintf(stderr, "usage: h1_bench [RUNS (1-99) [ITERS]]\n");
        return 2;
    }
    int n = snprintf(cookie, sizeof(cookie),
                     "GET /app/%0200d HTTP/1.1\r\nHost: www.example.com\r\n"
                     "Cookie: ",
                     0);
    for (int i = 0; i < 300; i++)
        n += snprintf(cookie + n, sizeof(cookie) - (size_t)n, "c%02d=%06d; ",
                      i % 100, i);
    n += snprintf(cookie + n, sizeof(cookie) - (size_t)n, "end=1\r\n\r\n");
    inputs[3].len = (size_t)n;

    http_parser_settings_init(&hp_settings);
    hp_settings.on_url = hp_url;
    hp_settings.on_header_field = hp_field;
    hp_settings.on_header_value = hp_value;
    hp_settings.on_headers_complete = hp_headers_complete;

    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
        if (!same_result(&inputs[i]))
            return 1;

    printf("h1_bench: %d runs x %ld messages, median ns/message; "
           "http-parser %d.%d.%d; corio scanner %s\n\n",
           runs, iters, HTTP_PARSER_VERSION_MAJOR, HTTP_PARSER_VERSION_MINOR,
           HTTP_PARSER_VERSION_PATCH, simd_name(best));
    printf("| input | bytes | corio (%s) | corio (portable) | http-parser "
           "| ratio http-parser/corio (%s) | ratio (portable) |\n",
           simd_name(best), simd_name(best));
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        const struct input *in = &inputs[i];
        double c[99], c0[99], hp[99];
        /* warm-up */
        run_once(corio_parse, in, iters / 10 + 1, &sink);
        run_once(hp_parse, in, iters / 10 + 1, &sink);
        for (int r = 0; r < runs; r++) {
            cio__h1_simd_set(best);
            c[r] = run_once(corio_parse, in, iters, &sink);
            cio__h1_simd_set(CIO__H1_SIMD_NONE);
            c0[r] = run_once(corio_parse, in, iters, &sink);
            hp[r] = run_once(hp_parse, in, iters, &sink);
        }
        cio__h1_simd_set(best);
        double mc = median(c, runs), mc0 = median(c0, runs);
        double mh = median(hp, runs);
        printf("| %s | %zu | %.1f | %.1f | %.1f | %.2f | %.2f |\n", in->name,
               in->len, mc, mc0, mh, mh / mc, mh / mc0);
    }
    printf("\n(checksum %llu)\n", (unsigned long long)sink);
    return 0;
}
