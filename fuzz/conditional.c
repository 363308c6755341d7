/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: conditional requests (src/server/conditional.c): entity-tag
 * lists and dates. The input is split at 0x00 bytes into If-Match,
 * If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range and the
 * representation's ETag; a field whose part is empty is absent; the first
 * byte holds the flags. Oracles:
 *   - the result is one of 200, 206, 304, 412; 206 only with a Range, 304
 *     only on GET/HEAD;
 *   - RFC 9110 §13.2.2's order: a failing If-Match gives 412 whatever
 *     follows; If-None-Match "*" on GET gives 304 when If-Match holds;
 *   - without If-Range, a Range always gives 206 unless 304/412;
 *   - the weak comparison accepts whatever the strong one accepts;
 *   - evaluation is deterministic.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "server/conditional.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    struct cio_str f[6] = {{0}};
    for (int i = 0; i < 6 && p <= end; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        if (n > 0)
            f[i] = (struct cio_str){p, n};
        p += n + 1;
    }
    struct cio__validators v = {.etag = f[5],
                                .has_mtime = flags & 4,
                                .mtime = 784111777,
                                .mtime_strong = flags & 8};
    struct cio__cond_req rq = {
        .if_match = f[0],
        .if_none_match = f[1],
        .if_modified_since = f[2],
        .if_unmodified_since = f[3],
        .if_range = f[4],
        .get_or_head = flags & 1,
        .has_range = flags & 2,
    };
    int st = cio__cond_eval(&rq, &v);
    assert(st == 200 || st == 206 || st == 304 || st == 412);
    assert(st != 206 || rq.has_range);
    assert(st != 304 || rq.get_or_head);
    assert(cio__cond_eval(&rq, &v) == st);
    if (rq.has_range && rq.if_range.ptr == NULL)
        assert(st != 200);

    struct cio__cond_req only = {.if_match = f[0], .get_or_head = true};
    int m = cio__cond_eval(&only, &v);
    if (m == 412)
        assert(st == 412);
    struct cio__cond_req star = {
        .if_match = f[0], .if_none_match = {"*", 1}, .get_or_head = true};
    assert(cio__cond_eval(&star, &v) == (m == 412 ? 412 : 304));

    if (f[0].ptr != NULL && f[5].ptr != NULL) {
        if (cio__etag_strong_eq(f[0], f[5]))
            assert(cio__etag_weak_eq(f[0], f[5]));
        assert(cio__etag_weak_eq(f[0], f[5]) == cio__etag_weak_eq(f[5], f[0]));
    }
    return 0;
}
