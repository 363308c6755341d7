/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: query-string / form parsing and encoding (src/http/url.c,
 * src/http/form.c). The first byte picks the mode (form or query, strict
 * or lenient), the rest is the input. Oracles:
 *   - parsed pairs encode (cio_query_append) and parse again, strictly, to
 *     the same pairs;
 *   - every percent-encoding set round-trips the raw input through
 *     cio_pct_encode / cio_pct_decode;
 *   - strict parsing succeeds exactly when lenient parsing sees no bad
 *     escape (strict success implies lenient success with equal pairs).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <corio/http/form.h>
#include <corio/http/url.h>

static int eq(struct cio_str a, struct cio_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0 &&
           a.ptr[a.len] == '\0';
}

static void same_pairs(const cio_params *a, const cio_params *b)
{
    assert(cio_params_count(a) == cio_params_count(b));
    for (size_t i = 0; i < cio_params_count(a); i++) {
        assert(eq(cio_params_name(a, i), cio_params_name(b, i)));
        assert(eq(cio_params_value(a, i), cio_params_value(b, i)));
    }
}

static void pct_roundtrip(const char *s, size_t n)
{
    for (int set = CIO_PCT_COMPONENT; set <= CIO_PCT_USERINFO; set++) {
        ptrdiff_t need = cio_pct_encode(NULL, 0, s, n, (enum cio_pct_set)set);
        assert(need >= (ptrdiff_t)n && need <= 3 * (ptrdiff_t)n);
        char *e = malloc((size_t)need + 1);
        char *d = malloc(n + 1);
        assert(e && d);
        assert(cio_pct_encode(e, (size_t)need + 1, s, n,
                              (enum cio_pct_set)set) == need);
        ptrdiff_t got = cio_pct_decode(d, n + 1, e, (size_t)need,
                                       set == CIO_PCT_FORM ? CIO_PCT_PLUS : 0);
        assert(got == (ptrdiff_t)n && memcmp(d, s, n) == 0 && d[n] == '\0');
        free(e);
        free(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mode = data[0];
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    unsigned form = mode & 1 ? CIO_QUERY_FORM : 0;
    struct cio_query_opts o = {.max_pairs = 64 + (mode >> 2),
                               .max_len = 1u << 20,
                               .flags =
                                   form | (mode & 2 ? CIO_QUERY_LENIENT : 0)};
    cio_params *p, *q;

    pct_roundtrip(s, n);
    int rc =
        form ? cio_form_parse(&p, s, n, &o) : cio_query_parse(&p, s, n, &o);
    if (rc != 0) {
        assert(rc == CIO_EURL || rc == CIO_EPROTO || rc == CIO_ETOOBIG);
        if (rc != CIO_ETOOBIG) {
            /* Only a bad escape fails strictly: leniently it parses, or
             * meets the pair limit that the escape error came before. */
            struct cio_query_opts lo = o;
            lo.flags |= CIO_QUERY_LENIENT;
            assert(!(o.flags & CIO_QUERY_LENIENT));
            rc = cio_query_parse(&q, s, n, &lo);
            assert(rc == 0 || rc == CIO_ETOOBIG);
            if (rc == 0)
                cio_params_free(q);
        }
        return 0;
    }
    if (!(o.flags & CIO_QUERY_LENIENT)) {
        struct cio_query_opts lo = o;
        lo.flags |= CIO_QUERY_LENIENT;
        assert(cio_query_parse(&q, s, n, &lo) == 0);
        same_pairs(p, q);
        cio_params_free(q);
    }
    /* Encode the pairs again. */
    size_t len = 0;
    for (size_t i = 0; i < cio_params_count(p); i++) {
        ptrdiff_t m = cio_query_append(NULL, 0, len, cio_params_name(p, i),
                                       cio_params_value(p, i), form);
        assert(m > (ptrdiff_t)len);
        len = (size_t)m;
    }
    char *buf = malloc(len + 1);
    assert(buf != NULL);
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cio_params_count(p); i++) {
        ptrdiff_t m =
            form ? cio_form_append(buf, len + 1, at, cio_params_name(p, i),
                                   cio_params_value(p, i))
                 : cio_query_append(buf, len + 1, at, cio_params_name(p, i),
                                    cio_params_value(p, i), 0);
        assert(m > (ptrdiff_t)at);
        at = (size_t)m;
    }
    assert(at == len && strlen(buf) == len);
    struct cio_query_opts so = {
        .max_pairs = o.max_pairs, .max_len = len + 1, .flags = form};
    rc = cio_query_parse(&q, buf, len, &so);
    assert(rc == 0);
    same_pairs(p, q);
    cio_params_free(q);
    free(buf);
    cio_params_free(p);
    return 0;
}
