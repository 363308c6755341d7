/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: Set-Cookie values stored into a jar, and Cookie headers read
 * back, for requests derived from the input.
 *
 * Input: one configuration byte (bit 0 set: tiny limits, so that eviction
 * runs all the time), then '\n'-separated operations. Each operation is
 * three bytes a b c and a rest:
 *   a: host (index into hosts[]; 0xff: the rest up to the first ' ' is the
 *      host and the Set-Cookie follows it; 0xfe: the same for the path,
 *      on host example.com)
 *   b: scheme (bits 0-1), path (bits 2-5), site context (bits 6-7)
 *   c: bits 0-1 == 3: read the Cookie header, else store the rest as a
 *      Set-Cookie value (the value "!" ends the session instead); bit 2:
 *      non-HTTP API; bits 3-7: the clock advances by that many times 127
 *      seconds first.
 * Oracles: every jar invariant (cio__cookie_jar_check: order, counters,
 * limits per site and in total, prefix and Secure rules, no domain cookie
 * on a public suffix or an IP); a Cookie header is NUL-terminated, within
 * the header limit and free of control bytes; store returns only its
 * documented codes; save -> load -> save reproduces the file and the count.
 * LeakSanitizer finds leaks.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"

#define BASE_NOW INT64_C(1700000000)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const hosts[] = {
    "example.com",
    "www.example.com",
    "a.b.example.com",
    "Example.COM.",
    "badexample.com",
    "co.uk",
    "example.co.uk",
    "www.example.co.uk",
    "github.io",
    "x.github.io",
    "localhost",
    "127.0.0.2",
    "127.0.0.3",
    "[::1]",
    "::2",
    "0x7f.1",
    "com",
    "a.internal",
};
static const char *const schemes[] = {"http", "https", "wss", "ws"};
static const char *const paths[] = {
    "/",       "",     "/a",     "/a/", "/a/b",  "/a/b/c", "/ab",
    "/a?x=/y", "/A/b", "/a;b/c", "x",   "/a/b/", "/%2e/",  "/\xc3\xa4/b",
};

static void check_header(const char *buf, ptrdiff_t n, size_t limit)
{
    assert(n >= 0 && (size_t)n <= limit);
    assert(buf[n] == '\0' && strlen(buf) == (size_t)n);
    for (ptrdiff_t i = 0; i < n; i++)
        assert((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
}

static void round_trip(cio_cookie_jar *jar, const struct cio_cookie_jar_opts *o,
                       int64_t now)
{
    size_t count = cio_cookie_jar_count(jar, now);
    ptrdiff_t need = cio_cookie_jar_save(jar, now, NULL, 0);
    assert(need > 0);
    char *s1 = malloc((size_t)need + 1), *s2 = malloc((size_t)need + 1);
    assert(s1 != NULL && s2 != NULL);
    assert(cio_cookie_jar_save(jar, now, s1, (size_t)need + 1) == need);
    assert(cio_cookie_jar_save(jar, now, s1, (size_t)need) == CIO_ETOOBIG);

    cio_cookie_jar *j2;
    struct cio_cookie_load_stats st;
    assert(cio_cookie_jar_new(&j2, o) == 0);
    assert(cio_cookie_jar_load(j2, s1, (size_t)need, now, &st) == 0);
    /* Everything the jar took, the cookie file carries back. */
    assert(st.bad == 0 && st.expired == 0 && st.loaded == count);
    assert(cio_cookie_jar_count(j2, now) == count);
    assert(cio__cookie_jar_check(j2) == 0);
    assert(cio_cookie_jar_save(j2, now, s2, (size_t)need + 1) == need);
    assert(memcmp(s1, s2, (size_t)need) == 0);
    cio_cookie_jar_free(j2);
    free(s1);
    free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cio_cookie_jar_opts o = {0};
    size_t max_cookies = 3000, max_header = 8192;
    cio_cookie_jar *jar;
    int64_t now = BASE_NOW;
    char hbuf[9000];

    if (size < 1 || size > 65536)
        return 0;
    if (data[0] & 1) {
        o.max_cookies = 4u + (data[0] >> 1 & 7u);
        o.max_per_site = 1u + (data[0] >> 4 & 3u);
        o.max_header_bytes = 16u + (unsigned)(data[0] >> 6) * 200u;
        o.max_bytes = 6000;
        max_cookies = o.max_cookies;
        max_header = o.max_header_bytes;
    }
    assert(cio_cookie_jar_new(&jar, &o) == 0);

    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        const char *line = p;
        size_t n = (size_t)(le - p);
        p = nl != NULL ? nl + 1 : end;
        if (n < 3)
            continue;

        uint8_t a = (uint8_t)line[0], b = (uint8_t)line[1],
                c = (uint8_t)line[2];
        const char *rest = line + 3;
        size_t rn = n - 3;
        struct cio_cookie_req r = {0};
        struct cio_str word = {NULL, 0};
        if (a >= 0xfe) {
            const char *sp = memchr(rest, ' ', rn);
            size_t wn = sp != NULL ? (size_t)(sp - rest) : rn;
            word = (struct cio_str){rest, wn};
            rest += wn < rn ? wn + 1 : wn;
            rn -= wn < rn ? wn + 1 : wn;
        }
        r.host = a == 0xff   ? word
                 : a == 0xfe ? CIO_STR_LIT("example.com")
                             : cio_str_c(hosts[a % N(hosts)]);
        r.scheme = cio_str_c(schemes[b & 3]);
        r.path = a == 0xfe ? word : cio_str_c(paths[(b >> 2 & 15) % N(paths)]);
        r.site = (enum cio_cookie_site)((b >> 6) % 3);
        r.non_http = c >> 2 & 1;
        now += (int64_t)(c >> 3) * 127;

        if ((c & 3) == 3) {
            size_t cap = (a & 1) ? sizeof(hbuf) : 1 + (size_t)(b % 64);
            ptrdiff_t hn = cio_cookie_jar_header(jar, &r, now, hbuf, cap);
            if (hn == CIO_EINVAL) {
                assert(a >= 0xfe);
                continue;
            }
            check_header(hbuf, hn, cap - 1 < max_header ? cap - 1 : max_header);
        } else if (rn == 1 && rest[0] == '!') {
            cio_cookie_jar_clear_session(jar);
        } else {
            int rc = cio_cookie_jar_store(jar, rest, rn, &r, now);
            assert(rc == 0 || rc == CIO_EPROTO || rc == CIO_ETOOBIG ||
                   rc == CIO_EPERM || (rc == CIO_EINVAL && a >= 0xfe));
        }
        assert(cio_cookie_jar_count(jar, now) <= max_cookies);
        if (cio_cookie_jar_count(jar, now) <= 32)
            assert(cio__cookie_jar_check(jar) == 0);
    }
    assert(cio__cookie_jar_check(jar) == 0);
    round_trip(jar, &o, now);
    cio_cookie_jar_free(jar);
    return 0;
}
