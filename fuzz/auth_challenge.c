/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the WWW-Authenticate challenge parser and the Digest answer
 * built from what it parsed (src/client/auth.c). Oracles:
 *   - on success every view lies inside the scratch buffer, is
 *     NUL-terminated, scheme and parameter names are tokens, and no value
 *     holds CR, LF or NUL;
 *   - parsing is deterministic (a second parse gives the same result);
 *   - a Digest challenge that is accepted gives an Authorization value
 *     without CR, LF or NUL (it goes into a header as it is), for each
 *     qop/algorithm it picked.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "client/auth.h"
#include "http/token.h"

static void check_view(struct cio_str v, const char *sc, size_t cap)
{
    assert(v.ptr >= sc && v.ptr + v.len < sc + cap);
    assert(v.ptr[v.len] == '\0');
    assert(memchr(v.ptr, '\r', v.len) == NULL);
    assert(memchr(v.ptr, '\n', v.len) == NULL);
    assert(memchr(v.ptr, '\0', v.len) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cio__auth_challenge c[8], c2[8];
    size_t n = 0, n2 = 0;
    size_t cap = size + 1;
    char *sc = malloc(cap), *sc2 = malloc(cap);
    assert(sc != NULL && sc2 != NULL);

    int rc = cio__auth_parse((const char *)data, size, c, 8, &n, sc, cap);
    int rc2 = cio__auth_parse((const char *)data, size, c2, 8, &n2, sc2, cap);
    assert(rc == rc2);
    assert(rc == 0 || rc == CIO_EPROTO || rc == CIO_ETOOBIG);
    if (rc == 0) {
        assert(n == n2 && n <= 8);
        for (size_t i = 0; i < n; i++) {
            check_view(c[i].scheme, sc, cap);
            assert(cio__tok_is_token(c[i].scheme.ptr, c[i].scheme.len));
            assert(c[i].scheme.len == c2[i].scheme.len &&
                   memcmp(c[i].scheme.ptr, c2[i].scheme.ptr, c[i].scheme.len) ==
                       0);
            if (c[i].token68.len > 0)
                check_view(c[i].token68, sc, cap);
            assert(c[i].nparams == c2[i].nparams);
            for (size_t j = 0; j < c[i].nparams; j++) {
                check_view(c[i].params[j].name, sc, cap);
                assert(cio__tok_is_token(c[i].params[j].name.ptr,
                                         c[i].params[j].name.len));
                check_view(c[i].params[j].value, sc, cap);
                assert(c[i].params[j].value.len == c2[i].params[j].value.len);
            }
        }
        struct cio__digest d = {0};
        if (cio__digest_init(&d, c, n) == 0) {
            char *v = NULL;
            int r = cio__digest_authorization(&d, "user", "pass", "GET", "/p",
                                              "b", 1, "cn", &v);
            assert(r == 0 || r == CIO_ETOOBIG);
            if (r == 0) {
                assert(strpbrk(v, "\r\n") == NULL);
                assert(strncmp(v, "Digest ", 7) == 0);
                cio__free(v);
            }
            cio__digest_fini(&d);
        }
    }
    free(sc);
    free(sc2);
    return 0;
}
