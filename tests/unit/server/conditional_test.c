/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <string.h>

#include "server/conditional.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(x) ((struct cio_str){(x), (x) ? strlen(x) : 0})

/* mtime of the representation: Sun, 06 Nov 1994 08:49:37 GMT */
#define MT 784111777
#define LM "Sun, 06 Nov 1994 08:49:37 GMT"
#define BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define AFTER "Sun, 06 Nov 1994 08:49:38 GMT"
#define TAG "\"abc\""

static const struct {
    const char *im, *inm, *ims, *ius, *ir;
    bool get, range;
    int want;
    const char *why;
} cases[] = {
    {NULL, NULL, NULL, NULL, NULL, true, false, 200, "no conditions"},
    {NULL, NULL, NULL, NULL, NULL, true, true, 206, "plain range"},
    /* If-Match: strong comparison. */
    {TAG, NULL, NULL, NULL, NULL, true, false, 200, "If-Match same"},
    {"\"x\", " TAG, NULL, NULL, NULL, NULL, true, false, 200, "If-Match list"},
    {"W/" TAG, NULL, NULL, NULL, NULL, true, false, 412, "If-Match weak"},
    {"\"zzz\"", NULL, NULL, NULL, NULL, true, false, 412, "If-Match other"},
    {"*", NULL, NULL, NULL, NULL, true, false, 200, "If-Match *"},
    {"abc", NULL, NULL, NULL, NULL, true, false, 412, "If-Match malformed"},
    /* If-Unmodified-Since, ignored when If-Match is present. */
    {NULL, NULL, NULL, BEFORE, NULL, true, false, 412, "IUS before"},
    {NULL, NULL, NULL, LM, NULL, true, false, 200, "IUS equal"},
    {NULL, NULL, NULL, "garbage", NULL, true, false, 200, "IUS invalid"},
    {TAG, NULL, NULL, BEFORE, NULL, true, false, 200, "IM wins over IUS"},
    /* If-None-Match: weak comparison. */
    {NULL, TAG, NULL, NULL, NULL, true, false, 304, "INM same"},
    {NULL, "W/" TAG, NULL, NULL, NULL, true, false, 304, "INM weak"},
    {NULL, "\"a\", W/\"b\",  " TAG, NULL, NULL, NULL, true, false, 304,
     "INM list"},
    {NULL, "\"zzz\"", NULL, NULL, NULL, true, false, 200, "INM other"},
    {NULL, "*", NULL, NULL, NULL, true, false, 304, "INM *"},
    {NULL, TAG, NULL, NULL, NULL, false, false, 412, "INM on POST"},
    /* If-Modified-Since, ignored when If-None-Match is present. */
    {NULL, NULL, LM, NULL, NULL, true, false, 304, "IMS equal"},
    {NULL, NULL, AFTER, NULL, NULL, true, false, 304, "IMS after"},
    {NULL, NULL, BEFORE, NULL, NULL, true, false, 200, "IMS before"},
    {NULL, NULL, " " LM " ", NULL, NULL, true, false, 304, "IMS OWS"},
    {NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", NULL, NULL, true, false, 304,
     "IMS rfc850"},
    {NULL, NULL, "yesterday", NULL, NULL, true, false, 200, "IMS invalid"},
    {NULL, NULL, LM, NULL, NULL, false, false, 200, "IMS on POST"},
    {NULL, "\"zzz\"", LM, NULL, NULL, true, false, 200, "INM wins over IMS"},
    /* Order: If-Match failure is 412 even when If-None-Match would 304. */
    {"\"zzz\"", TAG, NULL, NULL, NULL, true, false, 412, "IM before INM"},
    {NULL, TAG, NULL, BEFORE, NULL, true, false, 412, "IUS before INM"},
    /* If-Range. */
    {NULL, NULL, NULL, NULL, TAG, true, true, 206, "IR tag"},
    {NULL, NULL, NULL, NULL, "W/" TAG, true, true, 200, "IR weak tag"},
    {NULL, NULL, NULL, NULL, "\"zzz\"", true, true, 200, "IR other tag"},
    {NULL, NULL, NULL, NULL, LM, true, true, 206, "IR date equal"},
    {NULL, NULL, NULL, NULL, AFTER, true, true, 200, "IR date after"},
    {NULL, NULL, NULL, NULL, "junk", true, true, 200, "IR junk"},
    {NULL, NULL, NULL, NULL, "\"zzz\"", true, false, 200, "IR without Range"},
    {NULL, TAG, NULL, NULL, "\"zzz\"", true, true, 304, "INM before IR"},
};

Test(conditional, rfc9110_order)
{
    struct cio__validators v = {
        .etag = S(TAG), .has_mtime = true, .mtime = MT, .mtime_strong = true};
    for (size_t i = 0; i < N(cases); i++) {
        struct cio__cond_req rq = {
            .if_match = S(cases[i].im),
            .if_none_match = S(cases[i].inm),
            .if_modified_since = S(cases[i].ims),
            .if_unmodified_since = S(cases[i].ius),
            .if_range = S(cases[i].ir),
            .get_or_head = cases[i].get,
            .has_range = cases[i].range,
        };
        int got = cio__cond_eval(&rq, &v);
        cr_expect_eq(got, cases[i].want, "case %zu (%s): got %d want %d", i,
                     cases[i].why, got, cases[i].want);
    }
}

/* If-Range by date needs a strong Last-Modified (RFC 9110 §13.1.5). */
Test(conditional, if_range_weak_date)
{
    struct cio__validators v = {.etag = S(TAG), .has_mtime = true, .mtime = MT};
    struct cio__cond_req rq = {
        .if_range = S(LM), .has_range = true, .get_or_head = true};
    cr_expect_eq(cio__cond_eval(&rq, &v), 200);
    v.mtime_strong = true;
    cr_expect_eq(cio__cond_eval(&rq, &v), 206);
}

Test(conditional, no_validators)
{
    struct cio__validators v = {0};
    struct cio__cond_req rq = {.if_match = S(TAG), .get_or_head = true};
    cr_expect_eq(cio__cond_eval(&rq, &v), 412);
    rq = (struct cio__cond_req){.if_none_match = S(TAG), .get_or_head = true};
    cr_expect_eq(cio__cond_eval(&rq, &v), 200);
    rq =
        (struct cio__cond_req){.if_modified_since = S(LM), .get_or_head = true};
    cr_expect_eq(cio__cond_eval(&rq, &v), 200);
    rq = (struct cio__cond_req){
        .if_range = S(LM), .has_range = true, .get_or_head = true};
    cr_expect_eq(cio__cond_eval(&rq, &v), 200);
}

Test(conditional, etag_make_and_compare)
{
    char a[CIO__ETAG_MAX], b[CIO__ETAG_MAX], c[CIO__ETAG_MAX];
    size_t la = cio__etag_make(a, 1234, 1700000000, 123456789, 42, false, NULL);
    size_t lb = cio__etag_make(b, 1234, 1700000000, 123456789, 42, false, "br");
    size_t lc = cio__etag_make(c, 1234, 1700000000, 123456789, 42, true, "gz");
    cr_expect_str_eq(a, "\"4d2-6553f100.75bcd15-2a\"");
    cr_expect_str_eq(b, "\"4d2-6553f100.75bcd15-2a-br\"");
    cr_expect_str_eq(c, "W/\"4d2-6553f100.75bcd15-2a-gz\"");
    cr_expect_eq(la, strlen(a));
    cr_expect_eq(lb, strlen(b));
    cr_expect_eq(lc, strlen(c));
    struct cio_str sa = {a, la}, sc = {c, lc};
    cr_expect(cio__etag_strong_eq(sa, sa));
    cr_expect(!cio__etag_strong_eq(sc, sc)); /* weak never strongly equal */
    cr_expect(cio__etag_weak_eq(sc, sc));
    cr_expect(!cio__etag_weak_eq(sa, (struct cio_str){b, lb}));
    /* Every input changes the tag. */
    char d[CIO__ETAG_MAX];
    cio__etag_make(d, 1235, 1700000000, 123456789, 42, false, NULL);
    cr_expect_str_neq(a, d);
    cio__etag_make(d, 1234, 1700000000, 123456788, 42, false, NULL);
    cr_expect_str_neq(a, d);
    cio__etag_make(d, 1234, 1700000000, 123456789, 43, false, NULL);
    cr_expect_str_neq(a, d);
    /* The longest tag fits. */
    size_t lm = cio__etag_make(d, UINT64_MAX, INT64_MAX, 999999999, UINT64_MAX,
                               true, "zstd");
    cr_expect_lt(lm, (size_t)CIO__ETAG_MAX);
    cr_expect_eq(lm, strlen(d));
}
