/* SPDX-License-Identifier: MIT */
/*
 * Shared oracles of the h1_request and h1_response fuzz targets
 * (src/http/h1_parse.c). One input is parsed three ways:
 *   1. whole, with the best byte scanner;
 *   2. split at a point derived from the data: first the prefix in a buffer
 *      of exactly that size, then everything in a different buffer (the
 *      parser must rebase its views);
 *   3. for short inputs, one byte at a time;
 * 2 and 3 with a scanner (portable, SSE2, AVX2) chosen by the data, and
 * every way must give the same result (split invariance, and the scanners
 * agree). Then:
 * consumed <= size, every view lies inside the consumed bytes, names are
 * tokens, values carry no CR/LF/NUL and no OWS at either end, errors come
 * with a status and a message, and the framing step never contradicts the
 * head (its views lie inside the buffer, requests never read "until
 * close").
 */
#ifndef CIO_FUZZ_H1_FUZZ_H
#define CIO_FUZZ_H1_FUZZ_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1_parse.h"
#include "http/token.h"

#define FZ_MAXH 64

struct fz_snap {
    ptrdiff_t rc;
    int err_status;
    size_t v[6];
    int minor, status;
    size_t nheaders;
    size_t hdr[FZ_MAXH][4];
};

static void fz_view(size_t *out, struct cio_str s, const char *buf,
                    ptrdiff_t rc)
{
    if (s.ptr == NULL) {
        out[0] = SIZE_MAX;
        out[1] = 0;
        return;
    }
    assert(s.ptr >= buf && s.ptr + s.len <= buf + rc);
    out[0] = (size_t)(s.ptr - buf);
    out[1] = s.len;
}

static void fz_take(struct fz_snap *s, ptrdiff_t rc,
                    const struct cio__h1_head *h, const char *buf, size_t size,
                    int resp)
{
    memset(s, 0, sizeof(*s));
    s->rc = rc;
    if (rc == CIO_EPROTO || rc == CIO_ETOOBIG) {
        int st = h->err_status;
        if (resp)
            assert(st == 502);
        else
            assert(st == 400 || st == 414 || st == 431 || st == 505);
        assert(h->err_msg != NULL && h->err_msg[0] != '\0');
        s->err_status = st;
        return;
    }
    assert(rc == CIO_EMORE || rc > 0);
    if (rc < 0)
        return;
    assert((size_t)rc <= size);
    assert(buf[rc - 1] == '\n');
    if (resp) {
        assert(h->status >= 100 && h->status <= 599);
        fz_view(&s->v[4], h->reason, buf, rc);
    } else {
        assert(cio__tok_is_token(h->method.ptr, h->method.len));
        assert(h->target.len > 0);
        for (size_t i = 0; i < h->target.len; i++)
            assert(cio__tok_is(h->target.ptr[i], CIO__TOK_TARGET));
        fz_view(&s->v[0], h->method, buf, rc);
        fz_view(&s->v[2], h->target, buf, rc);
    }
    assert(h->minor == 0 || h->minor == 1);
    s->minor = h->minor;
    s->status = h->status;
    s->nheaders = h->nheaders;
    assert(h->nheaders <= FZ_MAXH);
    for (size_t i = 0; i < h->nheaders; i++) {
        struct cio_str n = h->headers[i].name, v = h->headers[i].value;
        assert(cio__tok_is_token(n.ptr, n.len));
        for (size_t k = 0; k < v.len; k++)
            assert(cio__tok_is(v.ptr[k], CIO__TOK_VALUE));
        if (v.len > 0) {
            assert(v.ptr[0] != ' ' && v.ptr[0] != '\t');
            assert(v.ptr[v.len - 1] != ' ' && v.ptr[v.len - 1] != '\t');
        }
        fz_view(&s->hdr[i][0], n, buf, rc);
        fz_view(&s->hdr[i][2], v, buf, rc);
    }
}

static ptrdiff_t fz_call(int resp, const char *buf, size_t len,
                         struct cio__h1_head *h)
{
    return resp ? cio__h1_parse_response(buf, len, h)
                : cio__h1_parse_request(buf, len, h);
}

static void fz_head_init(struct cio__h1_head *h, struct cio__h1_header *hs)
{
    memset(h, 0, sizeof(*h));
    h->headers = hs;
    h->maxheaders = FZ_MAXH;
}

static void fz_check_framing(const struct cio__h1_head *h, const char *buf,
                             size_t size, int resp, uint32_t hash)
{
    struct cio__h1_framing f;
    int rc;

    if (resp) {
        /* The request it answers: derived from the data, so that one input
         * always means the same. */
        enum cio__h1_method m = (enum cio__h1_method)((hash >> 8) % 10);
        rc = cio__h1_response_framing(h, m, (int)(hash & 1), &f);
        if (rc < 0) {
            assert(rc == CIO_EPROTO && f.err_status == 502);
            return;
        }
        assert(!(f.cl_and_te && f.keep_alive));
        if (f.body == CIO__H1_BODY_CLOSE)
            assert(!f.keep_alive);
        if (m == CIO__H1_M_HEAD || h->status == 204 || h->status == 304 ||
            h->status < 200)
            assert(f.body == CIO__H1_BODY_NONE);
    } else {
        rc = cio__h1_request_framing(h, &f);
        if (rc < 0) {
            assert(f.err_msg != NULL);
            assert((rc == CIO_EPROTO &&
                    (f.err_status == 400 || f.err_status == 501)) ||
                   (rc == CIO_ETOOBIG && f.err_status == 413));
            return;
        }
        assert(f.body != CIO__H1_BODY_CLOSE);
        if (f.authority.len > 0)
            assert(f.authority.ptr >= buf &&
                   f.authority.ptr + f.authority.len <= buf + size);
        if (f.connect)
            assert(f.method == CIO__H1_M_CONNECT);
    }
    assert(rc == 0);
    if (f.body == CIO__H1_BODY_LENGTH)
        assert(f.length > 0 && f.length <= INT64_MAX);
    if (f.upgrade)
        assert(f.upgrade_proto.len > 0 && f.upgrade_proto.ptr >= buf &&
               f.upgrade_proto.ptr + f.upgrade_proto.len <= buf + size);
}

static int fz_run(const uint8_t *data, size_t size, int resp)
{
    struct cio__h1_header hs[FZ_MAXH], hs2[FZ_MAXH];
    struct cio__h1_head h, h2;
    struct fz_snap whole, other;
    const char *buf = (const char *)data;

    uint32_t hash = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ data[i]) * 16777619u;

    /* The whole input with the best scanner; the split and byte-by-byte
     * runs with a scanner chosen by the data: the portable and vector
     * scanners must agree. */
    enum cio__h1_simd best = cio__h1_simd_set(CIO__H1_SIMD_AVX2);
    fz_head_init(&h, hs);
    ptrdiff_t rc = fz_call(resp, buf, size, &h);
    fz_take(&whole, rc, &h, buf, size, resp);
    if (rc > 0)
        fz_check_framing(&h, buf, size, resp, hash);

    /* 2: split at a data-derived point, the buffer moves in between */
    size_t cut = size > 0 ? hash % (size + 1) : 0;
    cio__h1_simd_set((enum cio__h1_simd)((hash >> 16) % 3));
    char *a = malloc(cut + 1), *b = malloc(size + 1);
    assert(a != NULL && b != NULL);
    memcpy(a, data, cut);
    memcpy(b, data, size);
    fz_head_init(&h2, hs2);
    rc = fz_call(resp, a, cut, &h2);
    const char *at = a;
    if (rc == CIO_EMORE) {
        rc = fz_call(resp, b, size, &h2);
        at = b;
    }
    fz_take(&other, rc, &h2, at, rc > 0 ? (size_t)rc : size, resp);
    assert(memcmp(&whole, &other, sizeof(whole)) == 0);

    /* 3: one byte at a time (bounded: each call re-reads one line) */
    if (size <= 512) {
        fz_head_init(&h2, hs2);
        rc = CIO_EMORE;
        for (size_t n = 1; n <= size && rc == CIO_EMORE; n++)
            rc = fz_call(resp, b, n, &h2);
        if (size == 0)
            rc = fz_call(resp, b, 0, &h2);
        fz_take(&other, rc, &h2, b, size, resp);
        assert(memcmp(&whole, &other, sizeof(whole)) == 0);
    }
    free(a);
    free(b);
    cio__h1_simd_set(best);
    return 0;
}

#endif
