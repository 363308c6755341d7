/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the Netscape cookie file loader.
 *
 * Input: one configuration byte (bit 0 set: tiny limits; bits 1-7 move the
 * clock by that many days, so that expiry varies), then the file.
 * Oracles: the loader never fails on content (only on size or memory); the
 * stats add up; every jar invariant holds (cio__cookie_jar_check); load ->
 * save -> load -> save gives the same file and the same count; a Cookie
 * header for a host named in the input stays within its limit and has no
 * control bytes. LeakSanitizer finds leaks.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"

#define BASE_NOW INT64_C(1700000000)

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines + (n > 0 && p[n - 1] != '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cio_cookie_jar_opts o = {0};
    struct cio_cookie_load_stats st, st2;
    cio_cookie_jar *j1, *j2;

    if (size < 1 || size > 262144)
        return 0;
    if (data[0] & 1) {
        o.max_cookies = 5;
        o.max_per_site = 2;
        o.max_bytes = 3000;
        o.max_header_bytes = 64;
    }
    int64_t now = BASE_NOW + (int64_t)(data[0] >> 1) * 86400 * 7;
    const char *file = (const char *)data + 1;
    size_t len = size - 1;

    assert(cio_cookie_jar_new(&j1, &o) == 0);
    assert(cio_cookie_jar_load(j1, file, len, now, &st) == 0);
    assert(st.loaded + st.expired + st.bad <= count_lines(file, len));
    assert((st.bad == 0) == (st.first_bad_line == 0));
    assert(cio__cookie_jar_check(j1) == 0);
    size_t count = cio_cookie_jar_count(j1, now);
    assert(count <= st.loaded);

    ptrdiff_t need = cio_cookie_jar_save(j1, now, NULL, 0);
    assert(need > 0);
    char *s1 = malloc((size_t)need + 1), *s2 = malloc((size_t)need + 1);
    assert(s1 != NULL && s2 != NULL);
    assert(cio_cookie_jar_save(j1, now, s1, (size_t)need + 1) == need);

    assert(cio_cookie_jar_new(&j2, &o) == 0);
    assert(cio_cookie_jar_load(j2, s1, (size_t)need, now, &st2) == 0);
    assert(st2.bad == 0 && st2.expired == 0 && st2.loaded == count);
    assert(cio_cookie_jar_count(j2, now) == count);
    assert(cio_cookie_jar_save(j2, now, s2, (size_t)need + 1) == need);
    assert(memcmp(s1, s2, (size_t)need) == 0);

    /* A header for the host of the first cookie line, if any. */
    const char *tab = memchr(s1, '\t', (size_t)need);
    if (tab != NULL) {
        const char *ls = tab;
        while (ls > s1 && ls[-1] != '\n')
            ls--;
        if (strncmp(ls, "#HttpOnly_", 10) == 0)
            ls += 10;
        if (*ls == '.')
            ls++;
        char hbuf[9000];
        struct cio_cookie_req r = {
            .scheme = CIO_STR_LIT("https"),
            .host = {ls, (size_t)(tab - ls)},
            .path = CIO_STR_LIT("/"),
        };
        ptrdiff_t hn = cio_cookie_jar_header(j1, &r, now, hbuf, sizeof(hbuf));
        assert(hn >= 0 && hn <= (o.max_header_bytes ? 64 : 8192));
        assert(strlen(hbuf) == (size_t)hn);
        for (ptrdiff_t i = 0; i < hn; i++)
            assert((unsigned char)hbuf[i] >= 0x20 && hbuf[i] != 0x7f);
    }

    cio_cookie_jar_free(j1);
    cio_cookie_jar_free(j2);
    free(s1);
    free(s2);
    return 0;
}
