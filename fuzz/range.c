/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Range parser (src/server/range.c). The first 2 bytes
 * pick the file size (0..65535, or a huge one when the high bit of the
 * first is set) and a byte the max (1..32); the rest is the field value.
 * Oracles:
 *   - the status is 200, 206 or 416; *n is written only on 206;
 *   - every range lies inside the file, first <= last;
 *   - ranges are sorted with more than CIO__RANGE_GAP bytes between two
 *     (so they never overlap after coalescing), and there are <= max;
 *   - the total is at most the file's size (amplification bound);
 *   - the result does not depend on the max when it fits in both, and
 *     parsing is deterministic.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "server/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint64_t fsize = (uint64_t)(data[0] & 0x7f) << 8 | data[1];
    if (data[0] & 0x80)
        fsize = UINT64_MAX - fsize;
    size_t max = (size_t)(data[2] % 32) + 1;
    struct cio_str hdr = {(const char *)data + 3, size - 3};
    struct cio__range out[CIO__RANGE_MAX_SPECS], out2[CIO__RANGE_MAX_SPECS];
    size_t n = 9999, n2 = 9999;

    int st = cio__range_parse(hdr, fsize, out, max, &n);
    assert(st == 200 || st == 206 || st == 416);
    if (st != 206) {
        assert(n == 9999);
        /* A larger max never turns 416 into something else. */
        if (st == 416)
            assert(cio__range_parse(hdr, fsize, out2, CIO__RANGE_MAX_SPECS,
                                    &n2) == 416);
        return 0;
    }
    assert(n >= 1 && n <= max);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        assert(out[i].first <= out[i].last);
        assert(out[i].last < fsize);
        if (i > 0)
            assert(out[i].first > out[i - 1].last &&
                   out[i].first - out[i - 1].last - 1 > CIO__RANGE_GAP);
        uint64_t len = out[i].last - out[i].first + 1;
        assert(total <= fsize - len || fsize == 0);
        total += len;
    }
    assert(total <= fsize);
    /* Same answer with the largest max (the set fit in max already). */
    assert(cio__range_parse(hdr, fsize, out2, CIO__RANGE_MAX_SPECS, &n2) ==
           206);
    assert(n2 == n && memcmp(out, out2, n * sizeof(out[0])) == 0);
    return 0;
}
