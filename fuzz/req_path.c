/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the request path decoder and dot-segment remover
 * (src/server/path.c). The input, after a '/', is the path of a request
 * target. Oracles on success:
 *   - the result starts with '/', is NUL-terminated at *out_len, holds no
 *     NUL, and is no longer than the input;
 *   - no "." or ".." segment is left ("/./", "/../", or at the end);
 *   - every '%' left is "%2F" or "%25" (one decoding only);
 *   - normalising the result again gives the same result (idempotent).
 * Errors are CIO_EPROTO only.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/error.h>

#include "server/path.h"

static int has_dot_segment(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '/')
            continue;
        size_t j = i + 1;
        if (j < n && p[j] == '.')
            j++;
        else
            continue;
        if (j == n || p[j] == '/')
            return 1;
        if (p[j] == '.' && (j + 1 == n || p[j + 1] == '/'))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *in = malloc(size + 2);
    char *out = malloc(size + 2);
    char *again = malloc(size + 2);
    size_t n = 0, n2 = 0;
    const char *why = NULL;

    assert(in != NULL && out != NULL && again != NULL);
    in[0] = '/';
    memcpy(in + 1, data, size);
    int rc = cio__path_normalize(out, size + 2, in, size + 1, &n, &why);
    if (rc < 0) {
        assert(rc == CIO_EPROTO);
        assert(why != NULL);
        goto done;
    }
    assert(n >= 1 && n <= size + 1);
    assert(out[0] == '/');
    assert(out[n] == '\0');
    assert(memchr(out, '\0', n) == NULL);
    assert(!has_dot_segment(out, n));
    for (size_t i = 0; i < n; i++)
        if (out[i] == '%')
            assert(i + 2 < n && out[i + 1] == '2' &&
                   (out[i + 2] == 'F' || out[i + 2] == '5'));
    rc = cio__path_normalize(again, size + 2, out, n, &n2, &why);
    assert(rc == 0);
    assert(n2 == n && memcmp(again, out, n) == 0);
done:
    free(in);
    free(out);
    free(again);
    return 0;
}
