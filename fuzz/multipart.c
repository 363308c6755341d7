/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the multipart/form-data parser, and the encoder feeding it.
 *
 * 1. The whole input is a body for the fixed boundary "XyZ" (short, so the
 *    fuzzer finds delimiters).
 * 2. If the input has a '\n' in its first 200 bytes, the line before it is
 *    the Content-Type header value (fuzzing the boundary parameter) and the
 *    rest is the body.
 * Each body is parsed whole, byte by byte and in pseudo-random splits.
 * Oracles: every DATA view lies inside the piece fed or is a prefix of the
 * delimiter (held-back bytes); content reported <= input size; parts <=
 * max_parts; filenames hold no '/', '\\' or control byte but HTAB and are
 * not "." or ".."; and the three runs agree on the result and, up to the
 * last non-DATA event, on every event and byte (split invariance).
 * 3. The input, cut at its first NUL, gives a filename and a value for the
 *    encoder; the body it makes must parse back to the WHATWG-escaped name
 *    and filename and the same bytes.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http/multipart.h>

#define FNV_OFF 1469598103934665603ull
#define FNV_MUL 1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * FNV_MUL;
    return h;
}

static uint64_t fnv_str(uint64_t h, struct cio_str s)
{
    h = fnv(h, &s.len, sizeof(s.len));
    h = fnv(h, &(bool){s.ptr != NULL}, 1);
    return s.len ? fnv(h, s.ptr, s.len) : h;
}

struct run {
    int rc;
    uint64_t h;       /* every event and byte */
    uint64_t h_fixed; /* h at the last non-DATA event */
    uint32_t nparts;
    size_t ndata; /* content bytes */
    bool end;
};

static const struct cio_multipart_parser_opts opts = {
    .max_parts = 16,
    .max_header_bytes = 512,
    .max_field_bytes = 2048,
    .max_file_bytes = 4096,
};

static void check_filename(struct cio_str f)
{
    for (size_t i = 0; i < f.len; i++) {
        unsigned char c = (unsigned char)f.ptr[i];
        assert(c != '/' && c != '\\');
        assert(c >= 0x20 || c == '\t');
        assert(c != 0x7f);
    }
    assert(!(f.len == 1 && f.ptr[0] == '.'));
    assert(!(f.len == 2 && f.ptr[0] == '.' && f.ptr[1] == '.'));
}

static void on_event(struct run *r, const struct cio_multipart_event *ev,
                     const char *chunk, size_t chunklen, const char *delim,
                     size_t dlen)
{
    if (ev->type == CIO_MULTIPART_NONE)
        return;
    if (ev->type == CIO_MULTIPART_DATA) {
        assert(ev->data.len > 0);
        assert(ev->part + 1 == r->nparts);
        bool inside = ev->data.ptr >= chunk &&
                      ev->data.ptr + ev->data.len <= chunk + chunklen;
        if (!inside) {
            assert(ev->data.len < dlen);
            assert(memcmp(ev->data.ptr, delim, ev->data.len) == 0);
        }
        r->ndata += ev->data.len;
        r->h = fnv(r->h, ev->data.ptr, ev->data.len);
        return;
    }
    r->h = fnv(r->h, &ev->type, sizeof(ev->type));
    r->h = fnv(r->h, &ev->part, sizeof(ev->part));
    switch (ev->type) {
    case CIO_MULTIPART_PART_BEGIN:
        assert(ev->part == r->nparts);
        r->nparts++;
        assert(r->nparts <= opts.max_parts);
        assert(ev->name.ptr != NULL);
        r->h = fnv_str(r->h, ev->name);
        r->h = fnv(r->h, &(bool){ev->has_filename}, 1);
        if (ev->has_filename) {
            check_filename(ev->filename);
            r->h = fnv_str(r->h, ev->filename);
        }
        r->h = fnv_str(r->h, ev->content_type);
        assert(ev->nheaders >= 1 && ev->nheaders <= 32);
        for (size_t i = 0; i < ev->nheaders; i++) {
            assert(ev->headers[i].name.len > 0);
            r->h = fnv_str(r->h, ev->headers[i].name);
            r->h = fnv_str(r->h, ev->headers[i].value);
        }
        break;
    case CIO_MULTIPART_PART_END:
        assert(ev->part + 1 == r->nparts);
        break;
    case CIO_MULTIPART_END:
        assert(!r->end);
        assert(ev->part == r->nparts);
        r->end = true;
        break;
    default:
        break;
    }
    r->h_fixed = r->h;
}

#define MAX_PIECE 16

/* A buffer of exactly n bytes (1..MAX_PIECE), kept for the next input:
 * allocating one per piece would halve the exec rate. */
static char *piece(size_t n)
{
    static char *bufs[MAX_PIECE + 1];
    assert(n >= 1 && n <= MAX_PIECE);
    if (bufs[n] == NULL) {
        bufs[n] = malloc(n);
        assert(bufs[n] != NULL);
    }
    return bufs[n];
}

/* mode 0: whole; 1: byte by byte; else: chunks of 1..mode from seed. */
static struct run parse(struct cio_str ct, const uint8_t *body, size_t len,
                        unsigned mode, uint32_t seed, const char *delim,
                        size_t dlen)
{
    struct run r = {.h = FNV_OFF, .h_fixed = FNV_OFF};
    cio_multipart_parser *p;
    size_t off = 0;

    r.rc = cio_multipart_parser_new(&p, ct, &opts);
    if (r.rc < 0)
        return r;
    while (off < len && r.rc == 0) {
        size_t n = len - off;
        if (mode == 1) {
            n = 1;
        } else if (mode > 1) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 8) % mode;
            n = k < n ? k : n;
        }
        /* Exactly n bytes (the input itself when whole): ASan catches a
         * read past the piece. */
        char *chunk = mode == 0 ? (char *)body : piece(n);
        if (mode != 0)
            memcpy(chunk, body + off, n);
        const char *b = chunk;
        size_t left = n;
        while (left > 0) {
            struct cio_multipart_event ev;
            ptrdiff_t k = cio_multipart_parser_feed(p, b, left, &ev);
            if (k < 0) {
                r.rc = (int)k;
                break;
            }
            assert((size_t)k <= left);
            assert(k > 0 || ev.type != CIO_MULTIPART_NONE);
            on_event(&r, &ev, chunk, n, delim, dlen);
            b += k;
            left -= (size_t)k;
        }
        off += n;
    }
    if (r.rc == 0)
        r.rc = cio_multipart_parser_finish(p);
    assert(r.rc != 0 || r.end);
    assert(r.ndata <= len);
    cio_multipart_parser_free(p);
    return r;
}

static void same(const struct run *a, const struct run *b)
{
    assert(a->rc == b->rc);
    assert(a->h_fixed == b->h_fixed);
    assert(a->nparts == b->nparts);
    if (a->rc == 0) {
        assert(a->h == b->h);
        assert(a->ndata == b->ndata);
    }
}

static void parse_all_ways(struct cio_str ct, const uint8_t *body, size_t len)
{
    char b[CIO_MULTIPART_BOUNDARY_MAX + 1],
        delim[4 + CIO_MULTIPART_BOUNDARY_MAX] = {0};
    int blen = cio_multipart_boundary(ct, b);
    size_t dlen = 0;

    if (blen > 0) {
        assert(blen <= CIO_MULTIPART_BOUNDARY_MAX);
        assert(strlen(b) == (size_t)blen);
        memcpy(delim, "\r\n--", 4);
        memcpy(delim + 4, b, (size_t)blen);
        dlen = 4 + (size_t)blen;
    }
    struct run whole = parse(ct, body, len, 0, 0, delim, dlen);
    assert(whole.rc == (blen < 0 ? blen : whole.rc));
    if (blen < 0)
        return;
    struct run one = parse(ct, body, len, 1, 0, delim, dlen);
    same(&whole, &one);
    uint32_t seed = (uint32_t)fnv(FNV_OFF, body, len);
    struct run some =
        parse(ct, body, len, 2 + seed % (MAX_PIECE - 1), seed, delim, dlen);
    same(&whole, &some);
}

/* The encoder's escaping, written independently: WHATWG plus controls and
 * backslash. */
static size_t escape(char *out, const char *s)
{
    size_t o = 0;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c == 0x7f || (c < 0x20 && c != '\t'))
            o += (size_t)sprintf(out + o, "%%%02X", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

static void round_trip(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t fnlen = nul != NULL ? (size_t)(nul - data) : (size > 40 ? 40 : size);
    char fn[64], want_fn[200];
    cio_multipart *mp;

    if (fnlen >= sizeof(fn))
        return;
    memcpy(fn, data, fnlen);
    fn[fnlen] = '\0';
    const uint8_t *val = data + fnlen + (nul != NULL);
    size_t vlen = size - (size_t)(val - data);

    int rc = cio_multipart_new(
        &mp, &(struct cio_multipart_opts){.boundary = "fuzz-B0undary"});
    assert(rc == 0);
    if (cio_multipart_add_field(
            mp, "v", (struct cio_str){(const char *)val, vlen}) < 0 ||
        cio_multipart_add_file_data(
            mp, &(struct cio_multipart_file){.name = fn, .filename = fn}, val,
            vlen) < 0) {
        /* Only a value containing the fixed boundary is refused. */
        assert(memmem(val, vlen, "fuzz-B0undary", 13) != NULL);
        cio_multipart_free(mp);
        return;
    }
    int64_t want = cio_multipart_length(mp);
    size_t cap = (size_t)want + 1, n = 0;
    char *out = malloc(cap);
    assert(out != NULL);
    for (;;) {
        size_t step = 1 + (n * 7 + vlen) % 97;
        ptrdiff_t k =
            cio_multipart_read(mp, out + n, step < cap - n ? step : cap - n);
        assert(k >= 0);
        if (k == 0)
            break;
        n += (size_t)k;
        assert(n < cap);
    }
    assert((int64_t)n == want);

    escape(want_fn, fn);
    const char *base = want_fn;
    for (const char *c = want_fn; *c != '\0'; c++)
        if (*c == '/' || *c == '\\')
            base = c + 1;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        base = "";

    cio_multipart_parser *p;
    struct cio_multipart_parser_opts big = {.max_field_bytes = 1u << 20};
    rc = cio_multipart_parser_new(&p, cio_str_c(cio_multipart_content_type(mp)),
                                  &big);
    assert(rc == 0);
    const char *b = out;
    size_t left = n, got = 0;
    uint32_t part = 0;
    bool end = false;
    while (left > 0) {
        struct cio_multipart_event ev;
        ptrdiff_t k = cio_multipart_parser_feed(p, b, left, &ev);
        assert(k >= 0);
        b += k;
        left -= (size_t)k;
        switch (ev.type) {
        case CIO_MULTIPART_PART_BEGIN:
            part = ev.part;
            got = 0;
            if (part == 0) {
                assert(ev.name.len == 1 && ev.name.ptr[0] == 'v');
                assert(!ev.has_filename);
            } else {
                char want_name[200];
                size_t wl = escape(want_name, fn);
                assert(ev.name.len == wl &&
                       memcmp(ev.name.ptr, want_name, wl) == 0);
                assert(ev.has_filename);
                assert(ev.filename.len == strlen(base) &&
                       memcmp(ev.filename.ptr, base, ev.filename.len) == 0);
            }
            break;
        case CIO_MULTIPART_DATA:
            assert(got + ev.data.len <= vlen);
            assert(memcmp(ev.data.ptr, val + got, ev.data.len) == 0);
            got += ev.data.len;
            break;
        case CIO_MULTIPART_PART_END:
            assert(got == vlen);
            break;
        case CIO_MULTIPART_END:
            assert(part == 1);
            end = true;
            break;
        default:
            break;
        }
    }
    assert(end);
    assert(cio_multipart_parser_finish(p) == 0);
    cio_multipart_parser_free(p);
    free(out);
    cio_multipart_free(mp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    parse_all_ways(cio_str_c("multipart/form-data; boundary=XyZ"), data, size);

    size_t scan = size < 200 ? size : 200;
    const uint8_t *nl = memchr(data, '\n', scan);
    if (nl != NULL) {
        struct cio_str ct = {(const char *)data, (size_t)(nl - data)};
        parse_all_ways(ct, nl + 1, size - (size_t)(nl + 1 - data));
    }
    round_trip(data, size);
    return 0;
}
