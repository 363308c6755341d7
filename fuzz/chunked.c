/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the streaming chunked decoder (src/http/chunked.c).
 * Input: one control byte (limits, split seed), then the body bytes.
 * Oracles:
 *   - output bytes <= input bytes; data returned never exceeds the sizes
 *     declared so far, and equals them once the body is done;
 *   - every span is a view into the piece just fed;
 *   - split invariance: whole, byte by byte and in pseudo-random pieces
 *     give the same verdict, body, trailers and leftover;
 *   - kept trailers are valid fields and never framing fields, within
 *     the configured limits;
 *   - a complete body re-encoded with the h1_write chunk encoder decodes
 *     to the same body and trailers.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"
#include "http/h1_write.h"
#include "http/headers_int.h"

struct res {
    int rc; /* CIO__CHUNKED_DONE, 0 (input ended first) or an error */
    char *body;
    size_t body_len;
    size_t leftover;
    uint64_t declared;
    uint32_t ndropped, ntrailers;
    char *trailers; /* "name: value\n"... */
    size_t trailers_len;
};

static void add_trailers(struct res *r, const cio_headers *t)
{
    size_t n = t != NULL ? cio_headers_count(t) : 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        struct cio_field f;
        assert(cio_headers_at(t, i, &f) == 0);
        len += f.name.len + f.value.len + 3;
    }
    r->trailers = malloc(len + 1);
    assert(r->trailers != NULL);
    r->trailers_len = 0;
    for (size_t i = 0; i < n; i++) {
        struct cio_field f;
        cio_headers_at(t, i, &f);
        assert(cio_is_token(f.name));
        assert(!cio__chunked_is_forbidden_trailer(f.name));
        assert(cio__headers_check("trailer", f.name, f.value) == 0);
        memcpy(r->trailers + r->trailers_len, f.name.ptr, f.name.len);
        r->trailers_len += f.name.len;
        memcpy(r->trailers + r->trailers_len, ": ", 2);
        r->trailers_len += 2;
        memcpy(r->trailers + r->trailers_len, f.value.ptr, f.value.len);
        r->trailers_len += f.value.len;
        r->trailers[r->trailers_len++] = '\n';
    }
}

/* step == 0: whole; step == 1: byte by byte; else pieces from the seed. */
static void run(const uint8_t *in, size_t len,
                const struct cio__chunked_opts *o, unsigned step, uint32_t seed,
                struct res *r)
{
    struct cio__chunked d;
    cio__chunked_init(&d, o);
    memset(r, 0, sizeof(*r));
    r->body = malloc(len + 1);
    assert(r->body != NULL);

    /* Each piece is copied to the end of one buffer, so that ASan sees any
     * read past the piece. */
    size_t maxpiece = step == 0 ? len : step == 1 ? 1 : step * 4;
    char *area = malloc(maxpiece > 0 ? maxpiece : 1);
    assert(area != NULL);

    size_t pos = 0;
    while (pos < len && r->rc == 0) {
        size_t piece = len - pos;
        if (step == 1) {
            piece = 1;
        } else if (step > 1) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 16) % (step * 4);
            if (piece > len - pos)
                piece = len - pos;
        }
        char *buf = area + maxpiece - piece;
        memcpy(buf, in + pos, piece);
        size_t off = 0;
        while (off < piece) {
            size_t used = 0;
            struct cio_str data = {NULL, 0};
            int rc =
                cio__chunked_feed(&d, buf + off, piece - off, &used, &data);
            if (rc < 0) {
                r->rc = rc;
                break;
            }
            assert(used <= piece - off);
            if (data.len > 0) {
                assert(data.ptr >= buf + off);
                assert(data.ptr + data.len <= buf + off + used);
                assert(r->body_len + data.len <= len);
                memcpy(r->body + r->body_len, data.ptr, data.len);
                r->body_len += data.len;
            }
            assert(d.total == r->body_len);
            assert(d.total <= d.declared);
            off += used;
            if (rc == CIO__CHUNKED_DONE) {
                r->rc = rc;
                r->leftover = len - pos - off;
                break;
            }
            assert(used > 0);
        }
        pos += piece;
    }
    free(area);
    if (r->rc == CIO__CHUNKED_DONE) {
        assert(d.total == d.declared);
        assert(cio__chunked_eof(&d) == 0);
    } else if (r->rc == 0) {
        assert(cio__chunked_eof(&d) == CIO_EPROTO);
    } else {
        assert(r->rc == CIO_EPROTO || r->rc == CIO_ETOOBIG ||
               r->rc == CIO_ENOMEM);
        assert(cio__chunked_eof(&d) == r->rc); /* sticky */
    }
    assert(r->body_len <= len);
    assert(d.ntrailers <= d.o.max_trailers);
    assert(d.ndropped <= d.ntrailers);
    r->declared = d.declared;
    r->ndropped = d.ndropped;
    r->ntrailers = d.ntrailers;
    add_trailers(r, cio__chunked_trailers(&d));
    cio__chunked_fini(&d);
}

static void same(const struct res *a, const struct res *b)
{
    assert(a->rc == b->rc);
    assert(a->body_len == b->body_len);
    assert(memcmp(a->body, b->body, a->body_len) == 0);
    assert(a->leftover == b->leftover);
    assert(a->declared == b->declared);
    assert(a->ndropped == b->ndropped);
    assert(a->ntrailers == b->ntrailers);
    assert(a->trailers_len == b->trailers_len);
    assert(memcmp(a->trailers, b->trailers, a->trailers_len) == 0);
}

static void done(struct res *r)
{
    free(r->body);
    free(r->trailers);
}

/* Encodes body and trailers again with h1_write and decodes the result. */
static void roundtrip(const struct res *r, const uint8_t *in, size_t len,
                      const struct cio__chunked_opts *o)
{
    struct cio__chunked d;
    cio__chunked_init(&d, o);
    /* Decode once more to get the trailer map itself. */
    size_t off = 0, used;
    struct cio_str data;
    int rc = 0;
    while (off < len && rc == 0) {
        rc = cio__chunked_feed(&d, (const char *)in + off, len - off, &used,
                               &data);
        assert(rc >= 0);
        off += used;
    }
    assert(rc == CIO__CHUNKED_DONE);

    /* 7-byte chunks cost 5 bytes of framing each: twice the body is ample. */
    size_t cap = 2 * r->body_len + 3 * r->trailers_len + 128, n = 0;
    char *enc = malloc(cap);
    assert(enc != NULL);
    for (size_t i = 0; i < r->body_len;) {
        size_t k = r->body_len - i < 7 ? r->body_len - i : 7;
        struct iovec iov[3];
        char head[CIO__H1_CHUNK_HEAD_MAX];
        assert(cio__h1_chunk_iov(iov, head, r->body + i, k) == 3);
        for (int j = 0; j < 3; j++) {
            assert(n + iov[j].iov_len <= cap);
            memcpy(enc + n, iov[j].iov_base, iov[j].iov_len);
            n += iov[j].iov_len;
        }
        i += k;
    }
    ptrdiff_t t = cio__h1_write_last_chunk(enc + n, cap - n,
                                           cio__chunked_trailers(&d), NULL);
    assert(t > 0);
    n += (size_t)t;
    cio__chunked_fini(&d);

    struct res r2;
    struct cio__chunked_opts big = *o;
    big.max_ext_bytes = 0;
    big.max_trailer_bytes = (uint32_t)(2 * r->trailers_len + 64);
    run((const uint8_t *)enc, n, &big, 0, 0, &r2);
    assert(r2.rc == CIO__CHUNKED_DONE);
    assert(r2.leftover == 0);
    assert(r2.body_len == r->body_len);
    assert(memcmp(r2.body, r->body, r->body_len) == 0);
    assert(r2.trailers_len == r->trailers_len);
    assert(memcmp(r2.trailers, r->trailers, r->trailers_len) == 0);
    done(&r2);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    uint8_t ctl = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    /* Small limits on some inputs, so that the fuzzer reaches them. */
    struct cio__chunked_opts o = {0};
    if (ctl & 1)
        o.max_ext_bytes = 16;
    if (ctl & 2)
        o.max_trailer_bytes = 48;
    if (ctl & 4)
        o.max_trailers = 2;
    if (ctl & 8)
        o.max_body = 64;

    struct res whole, other;
    run(in, len, &o, 0, 0, &whole);
    if (len <= 512) { /* byte by byte; longer inputs get fine random splits */
        run(in, len, &o, 1, 0, &other);
        same(&whole, &other);
        done(&other);
    }
    run(in, len, &o, 2 + (ctl >> 4), (uint32_t)size * 2654435761u, &other);
    same(&whole, &other);
    done(&other);

    if (whole.rc == CIO__CHUNKED_DONE && (ctl & 8) == 0)
        roundtrip(&whole, in, len, &o);
    done(&whole);
    return 0;
}
