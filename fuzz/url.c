/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: URL parsing, normalisation and resolution (src/http/url.c).
 * Oracles:
 *   - a parsed URL's href has no control, space or non-ASCII byte, fits the
 *     limit, and parses again to the same URL, part by part (normalisation
 *     is idempotent);
 *   - the input resolved against a fixed base, and a few fixed references
 *     resolved against the parsed URL, either fail cleanly or give URLs
 *     that parse again to themselves;
 *   - adding parameters and formatting without userinfo or fragment give
 *     URLs that parse;
 *   - the path of a special URL starts with '/' and has no dot segment.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/http/url.h>

static int str_eq(struct cio_str a, struct cio_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0 &&
           a.ptr[a.len] == '\0' && b.ptr[b.len] == '\0';
}

static void same(const cio_url *a, const cio_url *b)
{
    assert(strcmp(cio_url_href(a), cio_url_href(b)) == 0);
    assert(str_eq(cio_url_scheme(a), cio_url_scheme(b)));
    assert(str_eq(cio_url_username(a), cio_url_username(b)));
    assert(str_eq(cio_url_password(a), cio_url_password(b)));
    assert(str_eq(cio_url_host(a), cio_url_host(b)));
    assert(str_eq(cio_url_hostport(a), cio_url_hostport(b)));
    assert(str_eq(cio_url_path(a), cio_url_path(b)));
    assert(str_eq(cio_url_query(a), cio_url_query(b)));
    assert(str_eq(cio_url_fragment(a), cio_url_fragment(b)));
    assert(str_eq(cio_url_target(a), cio_url_target(b)));
    assert(str_eq(cio_url_origin(a), cio_url_origin(b)));
    assert(cio_url_port(a) == cio_url_port(b));
    assert(cio_url_scheme_id(a) == cio_url_scheme_id(b));
    assert(cio_url_host_kind(a) == cio_url_host_kind(b));
    assert(cio_url_has_query(a) == cio_url_has_query(b));
    assert(cio_url_has_fragment(a) == cio_url_has_fragment(b));
    assert(cio_url_has_userinfo(a) == cio_url_has_userinfo(b));
    if (cio_url_scheme_id(a) != CIO_SCHEME_OTHER)
        assert(cio_url_same_origin(a, b));
}

/* Parses u's href again and checks the invariants of a parsed URL. */
static void check(const cio_url *u)
{
    struct cio_str h = cio_url_href_str(u);
    cio_url *v;

    assert(h.len <= CIO_URL_MAX_LEN && strlen(h.ptr) == h.len);
    for (size_t i = 0; i < h.len; i++) {
        unsigned char c = (unsigned char)h.ptr[i];
        assert(c > 0x20 && c < 0x7f);
    }
    struct cio_str t = cio_url_target(u);
    for (size_t i = 0; i < t.len; i++)
        assert(t.ptr[i] != '#');
    if (cio_url_scheme_id(u) != CIO_SCHEME_OTHER) {
        struct cio_str p = cio_url_path(u);
        assert(p.len >= 1 && p.ptr[0] == '/');
        assert(strstr(p.ptr, "/./") == NULL && strstr(p.ptr, "/../") == NULL);
        assert(strstr(p.ptr, "%2E") == NULL && strstr(p.ptr, "%2e") == NULL);
        assert(!(p.len >= 2 && strcmp(p.ptr + p.len - 2, "/.") == 0));
        assert(!(p.len >= 3 && strcmp(p.ptr + p.len - 3, "/..") == 0));
        assert(cio_url_port(u) >= 1 && cio_url_port(u) <= 65535);
        assert(cio_url_host(u).len > 0);
        assert(cio_url_same_origin(u, u));
    }
    int rc = cio_url_parse(&v, h.ptr, h.len, NULL);
    if (rc != 0) {
        fprintf(stderr, "href %s does not parse: %s\n", h.ptr,
                cio_last_error());
        assert(0);
    }
    same(u, v);
    cio_url_free(v);
}

static const cio_url *fixed_base(void)
{
    static cio_url *base;
    static const char s[] = "http://u:p@a/b/c/d;p?q#f";
    if (base == NULL) {
        int rc = cio_url_parse(&base, s, sizeof(s) - 1, NULL);
        assert(rc == 0);
    }
    return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *refs[] = {"",      "../x", "./y/../z", "?q", "#f",
                                 "//h/p", "/abs", "g:h",      "..", "%2e%2E/w"};
    const char *s = (const char *)data;
    cio_url *u, *r;
    char buf[CIO_URL_MAX_LEN + 1];

    if (cio_url_resolve(&r, fixed_base(), s, size) == 0) {
        check(r);
        cio_url_free(r);
    }
    if (cio_url_parse(&u, s, size, NULL) != 0)
        return 0;
    check(u);
    /* Two of the fixed references per input, picked by its size, keep the
     * harness fast while every reference still meets every kind of URL. */
    size_t nrefs = sizeof(refs) / sizeof(refs[0]);
    for (size_t k = 0; k < 2; k++) {
        const char *ref = refs[(size + k * 7) % nrefs];
        if (cio_url_resolve(&r, u, ref, strlen(ref)) == 0) {
            check(r);
            cio_url_free(r);
        }
    }
    const struct cio_kv params[] = {
        {"a b", "c&d=e+f"}, {"flag", NULL}, {NULL, NULL}};
    if (cio_url_add_params(&r, u, params) == 0) {
        check(r);
        assert(cio_url_has_query(r));
        cio_url_free(r);
    }
    for (unsigned f = 0; f < 4; f += 3 - (unsigned)(size % 3)) {
        ptrdiff_t n = cio_url_format(u, buf, sizeof(buf), f);
        assert(n >= 0 && (size_t)n <= cio_url_href_str(u).len);
        assert(cio_url_format(u, NULL, 0, f) == n);
        if (cio_url_parse(&r, buf, (size_t)n, NULL) == 0) {
            if (f & CIO_URL_FMT_NO_USERINFO)
                assert(!cio_url_has_userinfo(r));
            if (f & CIO_URL_FMT_NO_FRAGMENT)
                assert(!cio_url_has_fragment(r));
            check(r);
            cio_url_free(r);
        } else {
            /* Dropping the userinfo can only fail to parse when it exposes
             * nothing new; a URL without one must parse. */
            assert(cio_url_has_userinfo(u) && (f & CIO_URL_FMT_NO_USERINFO));
        }
    }
    cio_url_free(u);
    return 0;
}
