/* SPDX-License-Identifier: MIT */
/*
 * Shared body of the content-decoder fuzz targets (decode_gzip.c,
 * decode_deflate.c, decode_br.c, decode_zstd.c). Each defines
 * FUZZ_CODING (the Content-Encoding value) and includes this file.
 *
 * The input is one body. It is decoded twice: in one feed with a large
 * output buffer, and in pseudo-random splits (chosen from the input) with
 * output buffers from 1 byte to 16 KiB. Oracles:
 *  - the cap: at most FUZZ_CAP bytes ever come out, and decoder_total
 *    agrees; a result other than success, CIO_ECODING or CIO_ETOOBIG
 *    is a bug; the decoder's memory stays under its ceiling;
 *  - no hang: every feed with input and room moves a byte, finish ends
 *    within FUZZ_CAP + 2 calls (a stall inside the codec aborts in the
 *    library's debug build);
 *  - split invariance: both runs give the same result and, on success,
 *    the same bytes; on failure one output is a prefix of the other (and
 *    the errors may differ only as explained below);
 *  - ETOOBIG comes with exactly FUZZ_CAP bytes.
 * Leaks (a decoder not freed on some path) are found by LeakSanitizer.
 */
#ifndef CIO_FUZZ_DECODE_COMMON_H
#define CIO_FUZZ_DECODE_COMMON_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "http/coding.h"

#define FUZZ_CAP ((size_t)128 << 10)
#define FUZZ_MEM ((size_t)24 << 20)

struct fuzz_run {
    int rc;
    size_t len;
    uint8_t *out; /* FUZZ_CAP bytes */
};

static uint32_t fuzz_rng;

static uint32_t fuzz_rand(void)
{
    fuzz_rng ^= fuzz_rng << 13;
    fuzz_rng ^= fuzz_rng >> 17;
    fuzz_rng ^= fuzz_rng << 5;
    return fuzz_rng;
}

static void fuzz_take(struct fuzz_run *r, const uint8_t *p, size_t n)
{
    assert(n <= FUZZ_CAP - r->len);
    memcpy(r->out + r->len, p, n);
    r->len += n;
}

static void fuzz_decode(const uint8_t *data, size_t size, int split,
                        struct fuzz_run *r)
{
    static uint8_t buf[16384];
    struct cio__decoder_opts o = {.max_output = FUZZ_CAP,
                                  .max_memory = FUZZ_MEM};
    struct cio__decoder *d;
    size_t off = 0, a, b, peak, outcap = sizeof(buf);
    int rc;

    r->len = 0;
    rc = cio__decoder_new(&d, cio_str_c(FUZZ_CODING), &o);
    assert(rc == 0);
    while (off < size) {
        size_t n = size - off;
        if (split) {
            uint32_t x = fuzz_rand();
            size_t max = x % 4 == 0 ? 4 : 1024;
            n = 1 + (x >> 8) % (n < max ? n : max);
            outcap = x % 8 == 1 ? 1 + (x >> 20) % 8 : 256 + (x >> 16) % 16129;
        }
        rc = cio__decoder_feed(d, data + off, n, &a, buf, outcap, &b);
        if (rc < 0)
            goto done;
        assert(a <= n && b <= outcap);
        assert(a > 0 || b > 0); /* progress */
        fuzz_take(r, buf, b);
        off += a;
    }
    for (size_t i = 0;; i++) {
        assert(i <= FUZZ_CAP + 2);
        rc = cio__decoder_finish(d, buf, outcap, &b);
        if (rc < 0)
            goto done;
        assert(b <= outcap);
        fuzz_take(r, buf, b);
        if (rc == 0)
            break;
    }
done:
    assert(cio__decoder_total(d) == r->len);
    cio__decoder_mem(d, &peak);
    assert(peak <= FUZZ_MEM);
    cio__decoder_free(d);
    assert(rc == 0 || rc == CIO_ECODING || rc == CIO_ETOOBIG);
    if (rc == CIO_ETOOBIG && strstr(cio_last_error(), "memory") == NULL)
        assert(r->len == FUZZ_CAP);
    r->rc = rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out1[FUZZ_CAP], out2[FUZZ_CAP];
    struct fuzz_run whole = {.out = out1}, split = {.out = out2};
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < size && i < 64; i++)
        h = (h ^ data[i]) * 16777619u;
    fuzz_rng = (h ^ (uint32_t)size) | 1;
    fuzz_decode(data, size, 0, &whole);
    fuzz_decode(data, size, 1, &split);
    if (whole.rc != split.rc) {
        /* A codec may decode past the cap into its window before it
         * flushes (br), so damage after the cap can be found first in one
         * run. Both are errors then, and the CIO_ETOOBIG run holds exactly
         * FUZZ_CAP bytes (checked in fuzz_decode). */
        assert(whole.rc < 0 && split.rc < 0);
        assert(whole.rc == CIO_ETOOBIG || split.rc == CIO_ETOOBIG);
    }
    if (whole.rc == 0) {
        assert(whole.len == split.len);
        assert(memcmp(whole.out, split.out, whole.len) == 0);
    } else {
        size_t n = whole.len < split.len ? whole.len : split.len;
        assert(memcmp(whole.out, split.out, n) == 0);
    }
    return 0;
}

#endif
