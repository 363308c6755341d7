/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the SOCKS5 reply parser (src/client/socks.c). The first
 * byte picks the stage (method selection, authentication, CONNECT reply)
 * and whether username/password was offered; the rest is the proxy's
 * message. Oracles:
 *   - the result is 0, 2 (METHOD only, with auth offered), CIO_EMORE or
 *     CIO_EPROXY, and the same for the same input;
 *   - on CIO_EMORE, need is above what was given and at most
 *     CIO__SOCKS_MAX_REPLY; on success, need is at most what was given;
 *   - every prefix of an accepted message asks for more, never fails
 *     (a reader that stops at need never sees a different verdict).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/socks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int stage = data[0] % 3;
    bool auth = (data[0] & 0x80) != 0;
    const unsigned char *p = data + 1;
    size_t n = size - 1;
    size_t need = 7777, need2 = 7777;
    int rc = cio__socks5_parse(stage, p, n, auth, "fuzz:1080", &need);
    assert(rc == cio__socks5_parse(stage, p, n, auth, "fuzz:1080", &need2));
    assert(rc == 0 || rc == CIO_EMORE || rc == CIO_EPROXY ||
           (rc == 2 && stage == CIO__SOCKS_METHOD && auth));
    if (rc == CIO_EMORE)
        assert(need > n && need <= CIO__SOCKS_MAX_REPLY && need == need2);
    else if (rc >= 0)
        assert(need <= n && need >= 2 && need == need2);
    else
        assert(need == 7777);
    if (rc >= 0)
        for (size_t k = 0; k < need; k++) {
            size_t m = 0;
            assert(cio__socks5_parse(stage, p, k, auth, "fuzz:1080", &m) ==
                   CIO_EMORE);
            assert(m > k && m <= need);
        }
    return 0;
}
