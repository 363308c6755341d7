/* SPDX-License-Identifier: MIT */
/*
 * application/x-www-form-urlencoded: encode, parse, limits, round trips.
 * The parser takes a whole body; each input is parsed from an exact-size
 * heap copy (no NUL after it) so that ASan catches a read past len.
 */
#include <stdint.h>

#include "test.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static int parse_exact(cio_params **out, const char *s, size_t len,
                       const struct cio_query_opts *o)
{
    char *copy = malloc(len > 0 ? len : 1);
    cr_assert(copy != NULL);
    memcpy(copy, s, len);
    int rc = cio_form_parse(out, copy, len, o);
    free(copy);
    return rc;
}

/* "name=value|..." of the decoded pairs, for comparing. */
static void joined(const cio_params *p, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < cio_params_count(p) && o < cap; i++) {
        struct cio_str n = cio_params_name(p, i), v = cio_params_value(p, i);
        o += (size_t)snprintf(buf + o, cap - o, "%s%.*s=%.*s", i ? "|" : "",
                              (int)n.len, n.ptr, (int)v.len, v.ptr);
    }
}

static const struct {
    const char *in;
    unsigned flags;
    int rc;
    const char *want; /* joined pairs, or a part of the message */
} cases[] = {
    {"", 0, 0, ""},
    {"name=John+Doe&email=j%40x.org", 0, 0, "name=John Doe|email=j@x.org"},
    {"a=b+c&a=%2B", 0, 0, "a=b c|a=+"},
    {"q=a%2Bb+c", 0, 0, "q=a+b c"},
    {"+=+", 0, 0, " = "},
    {"a&b=&=c", 0, 0, "a=|b=|=c"},
    {"&a=1&&", 0, 0, "a=1"},
    {"x=%E2%82%AC%20%e2%82%ac", 0, 0, "x=\xe2\x82\xac \xe2\x82\xac"},
    {"x=a=b", 0, 0, "x=a=b"},
    {"x=%0D%0AEvil:+1", 0, 0, "x=\r\nEvil: 1"},
    {"k=v;k2=v2", 0, 0, "k=v;k2=v2"},
    {"bad=%zz", 0, CIO_EPROTO, "form body: invalid percent-escape at offset 4"},
    {"ok=1&bad=%4", 0, CIO_EPROTO, "offset 9"},
    {"bad=%", 0, CIO_EPROTO, "invalid percent-escape"},
    {"%=%", CIO_QUERY_LENIENT, 0, "%=%"},
    {"bad=%zz+%41", CIO_QUERY_LENIENT, 0, "bad=%zz A"},
};

Test(form, parse_vectors)
{
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        struct cio_query_opts o = {.flags = cases[i].flags};
        cio_params *p = NULL;
        int rc = parse_exact(&p, cases[i].in, strlen(cases[i].in), &o);
        cr_expect_eq(rc, cases[i].rc, "case %zu \"%s\": %s", i, cases[i].in,
                     cio_errname(rc));
        if (rc == 0) {
            char got[256];
            joined(p, got, sizeof(got));
            cr_expect_str_eq(got, cases[i].want, "case %zu", i);
            cio_params_free(p);
        } else {
            cr_expect(strstr(cio_last_error(), cases[i].want), "case %zu: %s",
                      i, cio_last_error());
        }
    }
}

Test(form, encode)
{
    const struct cio_kv f[] = {{"name", "John Doe"}, {"email", "j@x.org"},
                               {"q", "a+b&c=d"},     {"empty", ""},
                               {"flag", NULL},       {"\xc3\xa4", "~*"},
                               {NULL, NULL}};
    char buf[128];
    static const char want[] =
        "name=John+Doe&email=j%40x.org&q=a%2Bb%26c%3Dd&empty=&flag&%C3%A4=~%2A";
    cr_expect_eq(cio_form_encode(NULL, 0, f), (ptrdiff_t)strlen(want));
    cr_expect_eq(cio_form_encode(buf, sizeof(buf), f), (ptrdiff_t)strlen(want));
    cr_expect_str_eq(buf, want);
    memset(buf, 'X', sizeof(buf));
    CIO_EXPECT_RC(cio_form_encode(buf, strlen(want), f), CIO_ETOOBIG);
    cr_expect_eq(buf[0], 'X', "dst written on failure");

    size_t len = 0;
    ptrdiff_t n = cio_form_append(buf, sizeof(buf), len, CIO_STR_LIT("a b"),
                                  CIO_STR_LIT("c d"));
    len = (size_t)n;
    n = cio_form_append(buf, sizeof(buf), len, CIO_STR_LIT("bin"),
                        CIO_STR_LIT("\0\xff"));
    cr_expect_str_eq(buf, "a+b=c+d&bin=%00%FF");
    cr_expect_eq(n, 18);
    cr_expect_str_eq(CIO_FORM_CONTENT_TYPE,
                     "application/x-www-form-urlencoded");
}

Test(form, parse_then_encode_gives_the_canonical_body)
{
    static const struct {
        const char *in, *canon;
    } rt[] = {
        {"a=b+c", "a=b+c"},
        {"a=b%20c", "a=b+c"},
        {"a=%7e%41", "a=~A"},
        {"a", "a="},
        {"&&a=1&&b=2&&", "a=1&b=2"},
        {"%C3%A4=%c3%a4", "%C3%A4=%C3%A4"},
        {"k=%2B%26%3D", "k=%2B%26%3D"},
    };
    for (size_t i = 0; i < COUNTOF(rt); i++) {
        cio_params *p;
        CIO_ASSERT_RC(parse_exact(&p, rt[i].in, strlen(rt[i].in), NULL), 0);
        char buf[128];
        size_t len = 0;
        buf[0] = '\0';
        for (size_t k = 0; k < cio_params_count(p); k++) {
            ptrdiff_t n =
                cio_form_append(buf, sizeof(buf), len, cio_params_name(p, k),
                                cio_params_value(p, k));
            cr_assert_geq(n, 0);
            len = (size_t)n;
        }
        cr_expect_str_eq(buf, rt[i].canon, "\"%s\"", rt[i].in);
        cio_params_free(p);
    }
}

/* Random fields of random bytes survive encode then parse. Seeded. */
Test(form, round_trips)
{
    uint32_t seed = 777;
    for (int iter = 0; iter < 500; iter++) {
        char names[6][12], values[6][24], buf[1024];
        size_t nl[6], vl[6], nf = 1 + iter % 6, len = 0;
        for (size_t i = 0; i < nf; i++) {
            seed = seed * 1664525 + 1013904223;
            nl[i] = (seed >> 20) % 12;
            vl[i] = (seed >> 8) % 24;
            for (size_t j = 0; j < nl[i] + vl[i]; j++) {
                seed = seed * 1664525 + 1013904223;
                /* Mostly the characters that matter: + & = % space. */
                static const char pick[] = "+&=% a\xc3\xff\x00";
                char c =
                    (seed >> 28) < 9 ? pick[(seed >> 28)] : (char)(seed >> 12);
                if (j < nl[i])
                    names[i][j] = c;
                else
                    values[i][j - nl[i]] = c;
            }
            ptrdiff_t n = cio_form_append(buf, sizeof(buf), len,
                                          (struct cio_str){names[i], nl[i]},
                                          (struct cio_str){values[i], vl[i]});
            cr_assert_geq(n, 0);
            len = (size_t)n;
        }
        cio_params *p;
        CIO_ASSERT_RC(parse_exact(&p, buf, len, NULL), 0);
        cr_assert_eq(cio_params_count(p), nf, "iter %d: %s", iter, buf);
        for (size_t i = 0; i < nf; i++) {
            struct cio_str n = cio_params_name(p, i),
                           v = cio_params_value(p, i);
            cr_expect(n.len == nl[i] && memcmp(n.ptr, names[i], nl[i]) == 0,
                      "iter %d field %zu name", iter, i);
            cr_expect(v.len == vl[i] && memcmp(v.ptr, values[i], vl[i]) == 0,
                      "iter %d field %zu value", iter, i);
        }
        cio_params_free(p);
    }
}

/* Multipart has its 1000-part cap (RELIABILITY 79); forms get the same
 * cap on fields, and a body-size cap of 1 MiB by default. */
Test(form, field_count_and_size_limits)
{
    size_t n = 0, cap = 2 * 1001 + 1;
    char *s = malloc(cap);
    for (int i = 0; i < 1001; i++) {
        s[n++] = 'a';
        s[n++] = '&';
    }
    cio_params *p;
    CIO_EXPECT_RC(parse_exact(&p, s, 2 * 1000, NULL), 0);
    cr_expect_eq(cio_params_count(p), 1000);
    cio_params_free(p);
    CIO_EXPECT_RC(parse_exact(&p, s, n, NULL), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "more than 1000 pairs"), "%s",
              cio_last_error());
    struct cio_query_opts o = {.max_pairs = 5000};
    CIO_EXPECT_RC(parse_exact(&p, s, n, &o), 0);
    cio_params_free(p);
    free(s);

    size_t big = CIO_FORM_MAX_LEN + 1;
    s = malloc(big);
    memset(s, 'v', big);
    s[0] = 'k';
    s[1] = '=';
    CIO_EXPECT_RC(cio_form_parse(&p, s, big - 1, NULL), 0);
    cr_expect_eq(cio_params_value(p, 0).len, big - 3);
    cio_params_free(p);
    CIO_EXPECT_RC(cio_form_parse(&p, s, big, NULL), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "form body of 1048577 bytes"), "%s",
              cio_last_error());
    o = (struct cio_query_opts){.max_len = 10};
    CIO_EXPECT_RC(cio_form_parse(&p, s, 11, &o), CIO_ETOOBIG);
    free(s);

    cio_params *untouched = (cio_params *)&o;
    p = untouched;
    CIO_EXPECT_RC(cio_form_parse(&p, "a=%", 3, NULL), CIO_EPROTO);
    cr_expect_eq(p, untouched, "*out written on failure");
    CIO_EXPECT_RC(cio_form_parse(NULL, "a", 1, NULL), CIO_EINVAL);
    cio_test_no_leaks();
}
