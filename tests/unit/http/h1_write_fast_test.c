/* SPDX-License-Identifier: MIT */
/*
 * Differential tests of today's fast paths against the general ones:
 *   - cio__h1_write_response's write_response_fast (checked map, no extra
 *     list) against the general writer, reached with the same input and an
 *     empty (non-NULL) extra list, and against the field-by-field writer
 *     (the map not vouched for): same result, same bytes, same need,
 *     nothing written past cap;
 *   - the map's CIO__HK_* "known" bits against a recount by name after
 *     every mutation (add, set, set_trusted, remove, clear, clone).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

#include "http/h1_write.h"
#include "http/headers_int.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Names drawn for the maps: the four known ones in several cases, near
 * misses of the same lengths, and others. */
static const char *const NAMES[] = {
    "Content-Length",
    "content-length",
    "CONTENT-LENGTH",
    "Content-Lengtx",
    "Transfer-Encoding",
    "transfer-encoding",
    "Transfer-Encodinh",
    "Connection",
    "CONNECTION",
    "Connectioo",
    "Date",
    "date",
    "DATE",
    "Datf",
    "Server",
    "X-A",
    "Content-Type",
    "D",
    "Keep-Alive",
    "Set-Cookie",
};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static const char *const VALUES[] = {
    "",        "1",      "text/plain; charset=utf-8",     "close",
    "chunked", "a b\tc", "Sun, 06 Nov 1994 08:49:37 GMT", "\x80\xff obs-text",
};
#define NVALUES (sizeof VALUES / sizeof VALUES[0])

static unsigned recount(const cio_headers *h)
{
    unsigned k = 0;
    if (cio_headers_count_name(h, "content-length") > 0)
        k |= CIO__HK_CONTENT_LENGTH;
    if (cio_headers_count_name(h, "transfer-encoding") > 0)
        k |= CIO__HK_TRANSFER_ENCODING;
    if (cio_headers_count_name(h, "connection") > 0)
        k |= CIO__HK_CONNECTION;
    if (cio_headers_count_name(h, "date") > 0)
        k |= CIO__HK_DATE;
    return k;
}

/* One random mutation of *hp (which clone may replace). */
static void mutate(cio_headers **hp)
{
    cio_headers *h = *hp;
    const char *name = NAMES[rnd() % NNAMES];
    const char *val = VALUES[rnd() % NVALUES];
    switch (rnd() % 12) {
    case 0:
    case 1:
    case 2:
    case 3:
        (void)cio_headers_add(h, name, val);
        break;
    case 4:
    case 5:
        (void)cio_headers_set(h, name, val);
        break;
    case 6:
        (void)cio__headers_set_trusted(h, cio_str_c(name), cio_str_c(val));
        break;
    case 7:
    case 8:
    case 9:
        (void)cio_headers_remove(h, name);
        break;
    case 10:
        if (rnd() % 4 == 0)
            cio_headers_clear(h);
        break;
    default: {
        cio_headers *c;
        CIO_ASSERT_RC(cio_headers_clone(&c, h), 0);
        cr_assert_eq(cio__headers_known(c), cio__headers_known(h));
        cio_headers_free(h);
        *hp = c;
        break;
    }
    }
}

Test(h1_write_fast, known_names_stay_exact_under_every_mutation)
{
    struct cio_headers_opts o = {.max_bytes = 600, .max_fields = 12};
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, &o), 0);
    for (int step = 0; step < 50000; step++) {
        mutate(&h);
        cr_assert_eq(cio__headers_known(h), recount(h), "step %d", step);
    }
    cio_headers_free(h);
}

static const char *const CONNS[] = {NULL, "close", "keep-alive"};
static const int STATUSES[] = {100, 200, 204, 299, 304, 404, 451, 500, 599};

Test(h1_write_fast, fast_path_writes_what_the_general_path_writes)
{
    static const struct cio_kv none[] = {{NULL, NULL}};
    char date[CIO__H1_DATE_LINE_LEN + 1];
    memcpy(date, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", sizeof date);
    struct cio_headers_opts o = {.max_bytes = 900, .max_fields = 16};
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, &o), 0);
    static char a[2048], b[2048], c[2048];
    for (int it = 0; it < 20000; it++) {
        mutate(&h);
        struct cio__h1_response r = {
            .status = STATUSES[rnd() % (sizeof STATUSES / sizeof STATUSES[0])],
            .minor = (int)(rnd() % 2),
            .headers = rnd() % 8 == 0 ? NULL : h,
            .checked = 1,
            .add_date = rnd() % 2,
            .has_length = rnd() % 2,
            .chunked = rnd() % 3 == 0,
            .connection = CONNS[rnd() % 3],
            .date_line = rnd() % 2 ? date : NULL,
        };
        switch (rnd() % 4) {
        case 0:
            r.reason = CIO_STR_LIT("Custom Reason");
            break;
        case 1:
            r.reason = CIO_STR_LIT("");
            break;
        default:
            break;
        }
        uint64_t lens[] = {0, 9, 10, 1234567, UINT64_MAX, rnd()};
        r.length = lens[rnd() % 6];
        if (rnd() % 2)
            r.server = CIO_STR_LIT("corio/1.0 (test)");
        /* the date line may tick between the two calls: pin it unless
         * the map has a date */
        if (r.add_date && r.date_line == NULL)
            r.date_line = date;

        /* the whole head, then every cap around and below its size */
        size_t full;
        {
            struct cio__h1_response g = r;
            g.extra = none;
            ptrdiff_t n = cio__h1_write_response(b, sizeof b, &g, NULL);
            cr_assert_gt(n, 0, "iteration %d", it);
            full = (size_t)n;
        }
        size_t caps[] = {sizeof a,           full, full + 1, full - 1,
                         rnd() % (full + 1), 0};
        for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
            size_t cap = caps[ci];
            memset(a, 'Z', sizeof a);
            memset(b, 'Z', sizeof b);
            size_t na = 7, nb = 7, nc = 7;
            struct cio__h1_response g = r, f = r;
            g.extra = none;
            f.checked = 0;
            ptrdiff_t ra = cio__h1_write_response(a, cap, &r, &na);
            ptrdiff_t rb = cio__h1_write_response(b, cap, &g, &nb);
            ptrdiff_t rc = cio__h1_write_response(c, cap, &f, &nc);
            cr_assert_eq(ra, rb, "iteration %d cap %zu", it, cap);
            cr_assert_eq(ra, rc, "iteration %d cap %zu", it, cap);
            cr_assert_eq(na, nb, "iteration %d cap %zu: need", it, cap);
            cr_assert_eq(na, nc, "iteration %d cap %zu: need", it, cap);
            if (ra >= 0) {
                cr_assert(memcmp(a, b, (size_t)ra) == 0,
                          "iteration %d:\n%.*s---\n%.*s", it, (int)ra, a,
                          (int)rb, b);
                cr_assert(memcmp(a, c, (size_t)ra) == 0,
                          "iteration %d:\n%.*s---\n%.*s", it, (int)ra, a,
                          (int)rc, c);
            } else
                cr_assert_eq(ra, CIO_ETOOBIG);
            if (cap < sizeof a)
                cr_assert_eq(a[cap], 'Z', "iteration %d: wrote past cap %zu",
                             it, cap);
        }
    }
    cio_headers_free(h);
}
