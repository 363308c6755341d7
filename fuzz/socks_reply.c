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
 * With bit 0x40 of the first byte, the rest is instead everything the
 * proxy sends, fed to the whole handshake (cio__socks5_open over an
 * in-memory pipe, socks5h, credentials offered with bit 0x80). Oracles:
 * it succeeds exactly when the messages parsed one after the other do,
 * and then every byte after them is still in the stream, in order (the
 * tunnel's first bytes are neither consumed nor dropped).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include <corio/net.h>
#include <corio/rt.h>
#include <string.h>

#include "client/socks.h"

struct hs {
    const uint8_t *p;
    size_t n;
    bool auth;
    int rc;
    uint8_t rest[4096];
    size_t rest_len;
};

static int handshake(void *arg)
{
    struct hs *h = arg;
    cio_stream *a, *b;
    int rc = cio_pipe_new(&a, &b, 64 * 1024);
    assert(rc == 0);
    if (h->n > 0)
        assert(cio_stream_write(b, h->p, h->n, cio_after(1000)) ==
               (ptrdiff_t)h->n);
    cio_stream_shutdown(b, cio_after(1000));
    struct cio__socks_opts o = {.proxy = "fuzz:1080", .remote_dns = true};
    if (h->auth) {
        o.user = "u";
        o.ulen = 1;
        o.pass = "p";
        o.plen = 1;
    }
    h->rc = cio__socks5_open(a, &o, "origin.test", 443, cio_after(1000));
    if (h->rc == 0) {
        for (;;) {
            ptrdiff_t r =
                cio_stream_read(a, h->rest + h->rest_len,
                                sizeof(h->rest) - h->rest_len, cio_after(1000));
            assert(r >= 0);
            if (r == 0)
                break;
            h->rest_len += (size_t)r;
        }
    }
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

/* The length of the proxy's messages at the start of p, parsed one after
 * the other as the handshake would, or 0 if they do not all complete. */
static size_t messages(const uint8_t *p, size_t n, bool auth)
{
    size_t need, at = 0;
    int m = cio__socks5_parse(CIO__SOCKS_METHOD, p, n, auth, "f", &need);
    if (m < 0)
        return 0;
    at = need;
    if (m == 2) {
        if (cio__socks5_parse(CIO__SOCKS_AUTH, p + at, n - at, auth, "f",
                              &need) < 0)
            return 0;
        at += need;
    }
    if (cio__socks5_parse(CIO__SOCKS_REPLY, p + at, n - at, auth, "f", &need) <
        0)
        return 0;
    return at + need;
}

static void fuzz_handshake(const uint8_t *p, size_t n, bool auth)
{
    struct hs h = {.p = p, .n = n, .auth = auth};
    int rc = cio_run(handshake, &h);
    assert(rc == 0);
    size_t used = messages(p, n, auth);
    if (used == 0) {
        assert(h.rc == CIO_EPROXY);
        return;
    }
    assert(h.rc == 0);
    assert(h.rest_len == n - used);
    assert(memcmp(h.rest, p + used, h.rest_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int stage = data[0] % 3;
    bool auth = (data[0] & 0x80) != 0;
    const unsigned char *p = data + 1;
    size_t n = size - 1;
    if (data[0] & 0x40) {
        if (n <= 4000)
            fuzz_handshake(p, n, auth);
        return 0;
    }
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
