/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the two header-list parsers of src/http/coding.c, on the
 * same bytes: Accept-Encoding (cio__coding_negotiate) and Content-Encoding
 * (cio__decoder_new). Oracles:
 *  - negotiation returns 0 or CIO_ENOTSUP; a chosen coding is identity or
 *    one that was offered and that this build encodes (never deflate);
 *  - tokens and parameter names are case-insensitive and empty list
 *    elements do not count: the upper-cased value, and the value with
 *    ", ," around it, give the same answers;
 *  - a narrower offer never picks a coding outside it;
 *  - cio__decoder_new returns 0, CIO_ENOTSUP or CIO_ECODING, and a
 *    decoder it makes is freed without leaks.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "http/coding.h"

static int pick(const char *v, size_t len, unsigned offer, enum cio__coding *c)
{
    struct cio_str s = {v, len};
    int rc = cio__coding_negotiate(s, offer, c);

    assert(rc == 0 || rc == CIO_ENOTSUP);
    if (rc == 0) {
        assert(*c == CIO__CODING_IDENTITY || cio__coding_can_encode(*c));
        assert(*c != CIO__CODING_DEFLATE);
        if (offer != 0)
            assert(*c == CIO__CODING_IDENTITY ||
                   (offer & CIO__CODING_BIT(*c)) != 0);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char up[4100], wrapped[4110];
    const char *v = (const char *)data;
    enum cio__coding c1 = CIO__CODING_IDENTITY, c2 = CIO__CODING_IDENTITY;
    struct cio__decoder *d;
    int rc1, rc2;

    if (size > 4096)
        return 0;
    rc1 = pick(v, size, 0, &c1);

    for (size_t i = 0; i < size; i++)
        up[i] = (char)toupper(data[i]);
    rc2 = pick(up, size, 0, &c2);
    assert(rc1 == rc2 && (rc1 < 0 || c1 == c2));

    memcpy(wrapped, ", ,", 3);
    memcpy(wrapped + 3, data, size);
    memcpy(wrapped + 3 + size, ", ,", 3);
    rc2 = pick(wrapped, size + 6, 0, &c2);
    assert(rc1 == rc2 && (rc1 < 0 || c1 == c2));

    for (unsigned offer = 1; offer < (1u << CIO__CODING_COUNT); offer += 3)
        (void)pick(v, size, offer, &c2);

    rc1 = cio__decoder_new(&d, (struct cio_str){v, size}, NULL);
    assert(rc1 == 0 || rc1 == CIO_ENOTSUP || rc1 == CIO_ECODING);
    if (rc1 == 0)
        cio__decoder_free(d);
    return 0;
}
