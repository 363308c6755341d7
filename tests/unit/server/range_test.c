/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "server/range.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct want_range {
    uint64_t first, last;
};

static const struct {
    const char *hdr;
    uint64_t size;
    size_t max;
    int status;
    size_t n;
    struct want_range r[4];
} cases[] = {
    {"bytes=0-499", 10000, 16, 206, 1, {{0, 499}}},
    {"bytes=500-999", 10000, 16, 206, 1, {{500, 999}}},
    {"bytes=-500", 10000, 16, 206, 1, {{9500, 9999}}},
    {"bytes=9500-", 10000, 16, 206, 1, {{9500, 9999}}},
    {"bytes=0-0,-1", 10000, 16, 206, 2, {{0, 0}, {9999, 9999}}},
    {"BYTES=0-0", 10, 16, 206, 1, {{0, 0}}}, /* unit case */
    {"bytes=0-0 , 5000-5001", 10000, 16, 206, 2, {{0, 0}, {5000, 5001}}},
    {"bytes=,0-1,,", 100, 16, 206, 1, {{0, 1}}},         /* empty elements */
    {"bytes=0-99999999999", 100, 16, 206, 1, {{0, 99}}}, /* clamped */
    {"bytes=0-99999999999999999999999999", 100, 16, 206, 1, {{0, 99}}},
    {"bytes=-1000", 100, 16, 206, 1, {{0, 99}}}, /* suffix > size */
    {"bytes=5-5", 6, 16, 206, 1, {{5, 5}}},
    /* Out of order and overlapping: sorted and merged. */
    {"bytes=5000-5999,0-999,500-1500",
     10000,
     16,
     206,
     2,
     {{0, 1500}, {5000, 5999}}},
    /* Adjacent and nearby (gap <= 80) ranges are coalesced. */
    {"bytes=0-9,10-19", 1000, 16, 206, 1, {{0, 19}}},
    {"bytes=0-9,90-99", 1000, 16, 206, 1, {{0, 99}}},
    {"bytes=0-9,91-99", 1000, 16, 206, 2, {{0, 9}, {91, 99}}},
    {"bytes=0-,0-,0-", 1000, 16, 206, 1, {{0, 999}}},
    /* A later range bridges two: all three merge. */
    {"bytes=0-9,500-509,5-505", 1000, 16, 206, 1, {{0, 509}}},
    /* One unsatisfiable spec among satisfiable ones is dropped. */
    {"bytes=0-1,5000-6000", 100, 16, 206, 1, {{0, 1}}},
    /* Ignored (200). */
    {"bytes=5-4", 100, 16, 200, 0, {{0}}}, /* RELIABILITY 78 */
    {"items=0-1", 100, 16, 200, 0, {{0}}}, /* other unit */
    {"bytes = 0-1", 100, 16, 200, 0, {{0}}},
    {"bytes=", 100, 16, 200, 0, {{0}}},
    {"bytes=,", 100, 16, 200, 0, {{0}}},
    {"bytes=abc", 100, 16, 200, 0, {{0}}},
    {"bytes=0-1x", 100, 16, 200, 0, {{0}}},
    {"bytes=0 -1", 100, 16, 200, 0, {{0}}},
    {"bytes=-", 100, 16, 200, 0, {{0}}},
    {"bytes=--1", 100, 16, 200, 0, {{0}}},
    {"bytes=1", 100, 16, 200, 0, {{0}}},
    {"bytes=0-1;x", 100, 16, 200, 0, {{0}}},
    {"bytes=0-1,2-1", 100, 16, 200, 0, {{0}}}, /* one invalid spec */
    {"", 100, 16, 200, 0, {{0}}},
    /* More ranges than max after coalescing: ignored. */
    {"bytes=0-0,100-100,200-200", 1000, 2, 200, 0, {{0}}},
    /* Unsatisfiable (416). */
    {"bytes=100-", 100, 16, 416, 0, {{0}}},
    {"bytes=100-200", 100, 16, 416, 0, {{0}}},
    {"bytes=-0", 100, 16, 416, 0, {{0}}}, /* RELIABILITY 78 */
    {"bytes=0-", 0, 16, 416, 0, {{0}}},   /* empty file */
    {"bytes=-5", 0, 16, 416, 0, {{0}}},
    {"bytes=99999999999999999999999-", 100, 16, 416, 0, {{0}}},
    {"bytes=200-300,400-", 100, 16, 416, 0, {{0}}},
};

Test(range, table)
{
    for (size_t i = 0; i < N(cases); i++) {
        struct cio__range out[16];
        size_t n = 12345;
        int st = cio__range_parse(cio_str_c(cases[i].hdr), cases[i].size, out,
                                  cases[i].max, &n);
        cr_expect_eq(st, cases[i].status, "case %zu %s: got %d want %d", i,
                     cases[i].hdr, st, cases[i].status);
        if (st != 206 || cases[i].status != 206) {
            cr_expect_eq(n, 12345, "case %zu: *n written on %d", i, st);
            continue;
        }
        cr_expect_eq(n, cases[i].n, "case %zu %s: n %zu want %zu", i,
                     cases[i].hdr, n, cases[i].n);
        for (size_t k = 0; k < n && k < cases[i].n; k++)
            cr_expect(out[k].first == cases[i].r[k].first &&
                          out[k].last == cases[i].r[k].last,
                      "case %zu %s range %zu: %llu-%llu", i, cases[i].hdr, k,
                      (unsigned long long)out[k].first,
                      (unsigned long long)out[k].last);
    }
}

/* RELIABILITY 77: "bytes=0-,0-,..." x1000 and 200 overlapping ranges. */
Test(range, amplification_refused)
{
    static char hdr[16384];
    size_t len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "0-,");
    struct cio__range out[16];
    size_t n = 0;
    cr_expect_eq(
        cio__range_parse((struct cio_str){hdr, len}, 1 << 20, out, 16, &n),
        200);

    len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%d-%d,", i,
                                i + 1000);
    cr_expect_eq(
        cio__range_parse((struct cio_str){hdr, len}, 1 << 20, out, 16, &n),
        200);

    /* 64 specs (the cap) that coalesce into one: served. */
    len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (int i = 0; i < 64; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%d-%d,", i * 10,
                                i * 10 + 5);
    cr_expect_eq(
        cio__range_parse((struct cio_str){hdr, len}, 1 << 20, out, 16, &n),
        206);
    cr_expect(n == 1 && out[0].first == 0 && out[0].last == 635);

    /* 17 far-apart ranges with max 16: the whole file instead. */
    len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (int i = 0; i < 17; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%d-%d,",
                                i * 1000, i * 1000 + 1);
    cr_expect_eq(
        cio__range_parse((struct cio_str){hdr, len}, 1 << 20, out, 16, &n),
        200);
    /* 16 of them fit. */
    len = (size_t)snprintf(hdr, sizeof(hdr), "bytes=");
    for (int i = 0; i < 16; i++)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "%d-%d,",
                                (15 - i) * 1000, (15 - i) * 1000 + 1);
    cr_expect_eq(
        cio__range_parse((struct cio_str){hdr, len}, 1 << 20, out, 16, &n),
        206);
    cr_expect_eq(n, 16);
    for (size_t k = 0; k + 1 < n; k++)
        cr_expect(out[k].last < out[k + 1].first, "sorted at %zu", k);
}
