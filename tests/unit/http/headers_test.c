/* SPDX-License-Identifier: MIT */
/*
 * cio_headers: order, case, validation (header injection is impossible
 * through the API, RELIABILITY.md D.42/D.44), limits, memory.
 */
#include "test.h"

#include "base/alloc.h"
#include "http/headers_int.h"

static cio_headers *mk(size_t max_bytes, size_t max_fields)
{
    struct cio_headers_opts o = {max_bytes, max_fields};
    cio_headers *h;
    CIO_ASSERT_RC(cio_headers_new(&h, &o), 0);
    return h;
}

/* "Name: value\n" for each field, in order. */
static const char *dump(const cio_headers *h)
{
    static char out[8192];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < cio_headers_count(h); i++) {
        struct cio_field f;
        CIO_ASSERT_RC(cio_headers_at(h, i, &f), 0);
        cr_assert_eq(strlen(f.name.ptr), f.name.len);
        cr_assert_eq(strlen(f.value.ptr), f.value.len);
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s: %s\n", f.name.ptr,
                              f.value.ptr);
    }
    return out;
}

Test(headers, order_and_case_are_kept)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Content-Type", "text/plain"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "set-cookie", "a=1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Custom", "x"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Set-Cookie", "b=2"), 0);
    cr_expect_str_eq(dump(h), "Content-Type: text/plain\nset-cookie: a=1\n"
                              "X-Custom: x\nSet-Cookie: b=2\n");
    cr_expect_eq(cio_headers_count(h), 4);
    cr_expect_str_eq(cio_headers_get(h, "CONTENT-TYPE"), "text/plain");
    cr_expect_str_eq(cio_headers_get(h, "SET-COOKIE"), "a=1");
    cr_expect_null(cio_headers_get(h, "content-typ"));
    cr_expect_null(cio_headers_get(h, "content-typee"));
    cr_expect_eq(cio_headers_count_name(h, "Set-cookie"), 2);
    cio_headers_free(h);
}

Test(headers, get_all_and_next)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "B", "x"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "a", "2"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "3"), 0);

    const char *vals[2];
    cr_expect_eq(cio_headers_get_all(h, "a", vals, 2), 3);
    cr_expect_str_eq(vals[0], "1");
    cr_expect_str_eq(vals[1], "2");

    size_t pos = 0;
    const char *want[] = {"1", "2", "3"};
    size_t n = 0;
    for (const char *v = cio_headers_next(h, "A", &pos); v != NULL;
         v = cio_headers_next(h, "A", &pos)) {
        cr_assert_lt(n, 3);
        cr_expect_str_eq(v, want[n]);
        n++;
    }
    cr_expect_eq(n, 3);
    cr_expect_null(cio_headers_next(h, "A", &pos), "stays at the end");
    pos = 0;
    cr_expect_null(cio_headers_next(h, "missing", &pos));
    cio_headers_free(h);
}

Test(headers, set_replaces_all_in_place)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X", "x"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "a", "2"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Y", "y"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "3"), 0);
    size_t before = cio_headers_bytes(h);
    CIO_ASSERT_RC(cio_headers_set(h, "a", "new"), 0);
    cr_expect_str_eq(dump(h), "a: new\nX: x\nY: y\n");
    cr_expect_eq(cio_headers_bytes(h), before - 3 * 6 + 8);
    CIO_ASSERT_RC(cio_headers_set(h, "Z", "z"), 0); /* absent: appended */
    cr_expect_str_eq(dump(h), "a: new\nX: x\nY: y\nZ: z\n");
    cio_headers_free(h);
}

Test(headers, remove_and_clear)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "B", "2"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "a", "3"), 0);
    cr_expect_eq(cio_headers_remove(h, "A"), 2);
    cr_expect_eq(cio_headers_remove(h, "A"), 0);
    cr_expect_str_eq(dump(h), "B: 2\n");
    cr_expect_eq(cio_headers_bytes(h), 1 + 1 + 4);
    cio_headers_clear(h);
    cr_expect_eq(cio_headers_count(h), 0);
    cr_expect_eq(cio_headers_bytes(h), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "C", "4"), 0);
    cr_expect_str_eq(dump(h), "C: 4\n");
    struct cio_field f;
    CIO_EXPECT_RC(cio_headers_at(h, 1, &f), CIO_EINVAL);
    cio_headers_free(h);
    cio_headers_free(NULL);
}

/* RELIABILITY.md D.42 / D.44: names must be tokens, values free of CR, LF,
 * NUL and other CTLs; the error names the header. */
static const struct {
    const char *name;
    const char *value;
    const char *msg; /* expected cio_last_error() */
} refused[] = {
    {"X:Y", "1", "header name \"X:Y\" is not a token"},
    {"Authorization ", "x", "header name \"Authorization \" is not a token"},
    {" X", "1", "header name \" X\" is not a token"},
    {"", "1", "header name is empty"},
    {"X\r\nEvil", "1", "header name \"X\\x0d\\x0aEvil\" is not a token"},
    {"X(Y", "1", "header name \"X(Y\" is not a token"},
    {"X\"Y", "1", "header name \"X\\x22Y\" is not a token"},
    {"X\xc3\xa9", "1", "header name \"X\\xc3\\xa9\" is not a token"},
    {"X-A", "a\r\nEvil: 1", "value of header \"X-A\" contains CR"},
    {"X-A", "a\nEvil: 1", "value of header \"X-A\" contains LF"},
    {"X-A", "a\rb", "value of header \"X-A\" contains CR"},
    {"X-A", "a\x01", "value of header \"X-A\" contains 0x01"},
    {"X-A", "a\x7f", "value of header \"X-A\" contains 0x7f"},
    {"X-A", "a\x1b[31m", "value of header \"X-A\" contains 0x1b"},
    {"X-A", "\x0b", "value of header \"X-A\" contains 0x0b"},
};

Test(headers, injection_is_refused_and_named)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Keep", "me"), 0);
    for (size_t i = 0; i < CIO_COUNTOF(refused); i++) {
        CIO_EXPECT_RC(cio_headers_add(h, refused[i].name, refused[i].value),
                      CIO_EHEADER);
        cr_expect_str_eq(cio_last_error(), refused[i].msg, "case %zu", i);
        CIO_EXPECT_RC(cio_headers_set(h, refused[i].name, refused[i].value),
                      CIO_EHEADER);
        CIO_EXPECT_RC(cio_headers_set(h, "Keep",
                                      refused[i].name[0] == 'X' &&
                                              refused[i].name[1] == '-'
                                          ? refused[i].value
                                          : "ok\n"),
                      CIO_EHEADER);
    }
    cr_expect_str_eq(dump(h), "Keep: me\n", "map unchanged");

    /* NUL inside a view. */
    CIO_EXPECT_RC(
        cio_headers_add_str(h, CIO_STR_LIT("X-N"), (struct cio_str){"a\0b", 3}),
        CIO_EHEADER);
    cr_expect_str_eq(cio_last_error(), "value of header \"X-N\" contains NUL");
    CIO_EXPECT_RC(
        cio_headers_add_str(h, (struct cio_str){"X\0N", 3}, CIO_STR_LIT("v")),
        CIO_EHEADER);
    CIO_EXPECT_RC(cio_headers_add(h, NULL, "v"), CIO_EINVAL);
    CIO_EXPECT_RC(cio_headers_add(h, "X", NULL), CIO_EINVAL);
    cr_expect_eq(cio_headers_count(h), 1);
    cio_headers_free(h);
}

Test(headers, accepted_shapes)
{
    cio_headers *h = mk(0, 0);
    /* Every tchar, HTAB inside, obs-text, an empty value. */
    CIO_ASSERT_RC(cio_headers_add(h, "!#$%&'*+-.^_`|~09azAZ", "v"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Tab", "a\tb  c"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Obs", "caf\xc3\xa9 \xa0\x85"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Empty", ""), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X-Quote", "\"a,b\" \\ ;=()<>@[]{}?/"), 0);
    cr_expect_str_eq(cio_headers_get(h, "x-obs"), "caf\xc3\xa9 \xa0\x85",
                     "0xa0/0x85 are not whitespace");
    cr_expect_str_eq(cio_headers_get(h, "x-empty"), "");
    cr_expect_str_eq(cio_headers_get(h, "x-tab"), "a\tb  c");
    cio_headers_free(h);
}

/* Decision: leading/trailing SP and HTAB are trimmed, as a parser would. */
Test(headers, edge_whitespace_is_trimmed)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "  \t x y \t "), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "B", " \t "), 0);
    CIO_ASSERT_RC(cio_headers_set(h, "C", "\tz\t"), 0);
    cr_expect_str_eq(dump(h), "A: x y\nB: \nC: z\n");
    cr_expect_eq(cio_headers_bytes(h), (1 + 3 + 4) + (1 + 0 + 4) + (1 + 1 + 4));
    cio_headers_free(h);
}

Test(headers, count_limit)
{
    cio_headers *h = mk(0, 3);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "B", "2"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "A", "3"), 0);
    CIO_EXPECT_RC(cio_headers_add(h, "C", "4"), CIO_ETOOBIG);
    cr_expect_str_eq(cio_last_error(),
                     "header \"C\" would exceed the field count limit");
    /* set() of an existing name never grows the count. */
    CIO_EXPECT_RC(cio_headers_set(h, "A", "5"), 0);
    CIO_EXPECT_RC(cio_headers_set(h, "D", "6"), 0);
    CIO_EXPECT_RC(cio_headers_set(h, "E", "7"), CIO_ETOOBIG);
    cr_expect_str_eq(dump(h), "A: 5\nB: 2\nD: 6\n");
    cio_headers_free(h);
}

Test(headers, byte_limit)
{
    cio_headers *h = mk(20, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Ab", "1234"), 0); /* 10 */
    CIO_ASSERT_RC(cio_headers_add(h, "C", "12345"), 0); /* 10: exactly 20 */
    CIO_EXPECT_RC(cio_headers_add(h, "D", ""), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "header size limit") != NULL);
    /* set() counts the room the old fields free. */
    CIO_EXPECT_RC(cio_headers_set(h, "C", "123456"), CIO_ETOOBIG);
    CIO_EXPECT_RC(cio_headers_set(h, "C", ""), 0);
    cr_expect_eq(cio_headers_bytes(h), 15);
    CIO_EXPECT_RC(cio_headers_add(h, "D", ""), 0); /* exactly 20 again */
    cr_expect_str_eq(dump(h), "Ab: 1234\nC: \nD: \n");
    cio_headers_free(h);
}

Test(headers, defaults_are_64k_and_200)
{
    cio_headers *h = mk(0, 0);
    char name[16];
    int i;
    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "H%d", i);
        if (cio_headers_add(h, name, "v") < 0)
            break;
    }
    cr_expect_eq(i, 200);
    cio_headers_free(h);

    h = mk(0, 0);
    static char big[70000];
    memset(big, 'x', sizeof(big) - 1);
    big[64 * 1024 - 5] = '\0'; /* 1 + 65531 + 4 = 65536 */
    CIO_EXPECT_RC(cio_headers_add(h, "A", big), 0);
    CIO_EXPECT_RC(cio_headers_add(h, "B", ""), CIO_ETOOBIG);
    cio_headers_free(h);
}

Test(headers, clone_is_deep)
{
    cio_headers *h = mk(100, 5), *c;
    CIO_ASSERT_RC(cio_headers_add(h, "A", "1"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "B", "2"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "a", "3"), 0);
    cio_headers_remove(h, "B");
    CIO_ASSERT_RC(cio_headers_clone(&c, h), 0);
    cio_headers_free(h);
    cr_expect_str_eq(dump(c), "A: 1\na: 3\n");
    cr_expect_eq(cio_headers_bytes(c), 12);
    for (int i = 0; i < 3; i++)
        CIO_EXPECT_RC(cio_headers_add(c, "X", "y"), 0);
    CIO_EXPECT_RC(cio_headers_add(c, "X", "y"), CIO_ETOOBIG); /* limit kept */
    cio_headers_free(c);

    h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_clone(&c, h), 0);
    cr_expect_eq(cio_headers_count(c), 0);
    CIO_ASSERT_RC(cio_headers_add(c, "X", "y"), 0);
    cio_headers_free(c);
    cio_headers_free(h);
}

Test(headers, join)
{
    cio_headers *h = mk(0, 0);
    char buf[32];
    CIO_ASSERT_RC(cio_headers_add(h, "Accept", "text/html"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X", "y"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "accept", "*/*;q=0.1"), 0);
    cr_expect_eq(cio_headers_join(h, "ACCEPT", buf, sizeof(buf)), 20);
    cr_expect_str_eq(buf, "text/html, */*;q=0.1");
    cr_expect_eq(cio_headers_join(h, "missing", buf, sizeof(buf)), 0);
    cr_expect_str_eq(buf, "");
    strcpy(buf, "untouched");
    CIO_EXPECT_RC(cio_headers_join(h, "accept", buf, 20), CIO_ETOOBIG);
    cr_expect_str_eq(buf, "untouched");
    cr_expect_eq(cio_headers_join(h, "accept", buf, 21), 20);
    cio_headers_free(h);
}

Test(headers, has_token)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Connection", "keep-alive, Upgrade"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "connection", ",, close ,"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "TE", "trailers, deflate;q=0.5"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Transfer-Encoding", "gzip, chunked"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "X", "\"a, close\", b"), 0);
    cr_expect(cio_headers_has_token(h, "connection", "close"));
    cr_expect(cio_headers_has_token(h, "connection", "UPGRADE"));
    cr_expect(cio_headers_has_token(h, "Connection", "keep-alive"));
    cr_expect_not(cio_headers_has_token(h, "connection", "keep"));
    cr_expect_not(cio_headers_has_token(h, "connection", "clos"));
    cr_expect(cio_headers_has_token(h, "te", "deflate"));
    cr_expect(cio_headers_has_token(h, "transfer-encoding", "chunked"));
    cr_expect_not(cio_headers_has_token(h, "transfer-encoding", "chunk"));
    cr_expect_not(cio_headers_has_token(h, "x", "close"), "inside quotes");
    cr_expect(cio_headers_has_token(h, "x", "b"));
    cr_expect_not(cio_headers_has_token(h, "missing", "close"));
    cio_headers_free(h);
}

Test(headers, list_next)
{
    static const struct {
        const char *in;
        const char *want; /* elements joined by '|' */
    } cases[] = {
        {"", ""},
        {" , ,, ", ""},
        {"a", "a"},
        {"a,b", "a|b"},
        {" a , b ", "a|b"},
        {",chunked", "chunked"},
        {"a;q=1, \"x,y\" , c", "a;q=1|\"x,y\"|c"},
        {"\"a\\\",b\",c", "\"a\\\",b\"|c"},
        {"\t a\tb \t,c", "a\tb|c"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        char got[128] = "";
        size_t o = 0;
        struct cio_str list = cio_str_c(cases[i].in), e;
        while (cio_list_next(&list, &e)) {
            cr_assert_gt(e.len, 0);
            o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s",
                                  o > 0 ? "|" : "", (int)e.len, e.ptr);
        }
        cr_expect_str_eq(got, cases[i].want, "case %zu: \"%s\"", i,
                         cases[i].in);
        cr_expect_eq(list.len, 0);
    }
}

Test(headers, is_token)
{
    cr_expect(cio_is_token(CIO_STR_LIT("GET")));
    cr_expect(cio_is_token(CIO_STR_LIT("x-y.z~")));
    cr_expect_not(cio_is_token(CIO_STR_LIT("")));
    cr_expect_not(cio_is_token(CIO_STR_LIT("G ET")));
    cr_expect_not(cio_is_token(CIO_STR_LIT("G(ET")));
    cr_expect_not(cio_is_token((struct cio_str){"GE\0T", 4}));
}

/* Many adds, removes and sets: strings move when the buffer is rebuilt;
 * the content must follow a simple model exactly. */
Test(headers, churn_against_a_model)
{
    cio_headers *h = mk(4096, 64);
    char mname[64][8], mval[64][24];
    size_t n = 0;
    uint64_t x = 88172645463325252ull;
    for (int step = 0; step < 20000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char name[8], val[24];
        snprintf(name, sizeof(name), "%c%u", (x & 1) ? 'K' : 'k',
                 (unsigned)(x >> 8) % 10);
        snprintf(val, sizeof(val), "%0*u", (int)((x >> 16) % 20),
                 (unsigned)(x >> 24) % 1000);
        int op = (int)((x >> 40) % 4);
        if (op <= 1) {
            int rc = cio_headers_add(h, name, val);
            if (n < 64) {
                CIO_ASSERT_RC(rc, 0);
                strcpy(mname[n], name);
                strcpy(mval[n], val);
                n++;
            } else {
                CIO_ASSERT_RC(rc, CIO_ETOOBIG);
            }
        } else if (op == 2) {
            size_t removed = 0, o = 0;
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp(mname[i], name) == 0) {
                    removed++;
                } else {
                    memmove(mname[o], mname[i], sizeof(mname[0]));
                    memmove(mval[o], mval[i], sizeof(mval[0]));
                    o++;
                }
            }
            n = o;
            cr_assert_eq(cio_headers_remove(h, name), removed);
        } else {
            CIO_ASSERT_RC(cio_headers_set(h, name, val), 0);
            size_t o = 0;
            bool placed = false;
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp(mname[i], name) == 0) {
                    if (placed)
                        continue;
                    placed = true;
                    strcpy(mname[o], name);
                    strcpy(mval[o], val);
                    o++;
                } else {
                    memmove(mname[o], mname[i], sizeof(mname[0]));
                    memmove(mval[o], mval[i], sizeof(mval[0]));
                    o++;
                }
            }
            n = o;
            if (!placed) {
                strcpy(mname[n], name);
                strcpy(mval[n], val);
                n++;
            }
        }
        cr_assert_eq(cio_headers_count(h), n, "step %d", step);
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            struct cio_field f;
            CIO_ASSERT_RC(cio_headers_at(h, i, &f), 0);
            cr_assert_str_eq(f.name.ptr, mname[i], "step %d field %zu", step,
                             i);
            cr_assert_str_eq(f.value.ptr, mval[i], "step %d field %zu", step,
                             i);
            bytes += strlen(mname[i]) + strlen(mval[i]) + 4;
        }
        cr_assert_eq(cio_headers_bytes(h), bytes);
    }
    cio_headers_free(h);
}

static int fail_after;
static int fail_hook(size_t size)
{
    (void)size;
    return fail_after-- == 0;
}

/* Every allocation may fail: the call returns CIO_ENOMEM and the map is
 * as it was. */
Test(headers, allocation_failures_leave_the_map_unchanged)
{
    for (int n = 0; n < 40; n++) {
        cio_headers *h = NULL, *c = NULL;
        fail_after = n;
        cio__alloc_fail_hook = fail_hook;
        int rc = cio_headers_new(&h, NULL);
        char before[8192] = "";
        for (int i = 0; rc == 0 && i < 30; i++) {
            char name[8];
            snprintf(name, sizeof(name), "N%d", i % 7);
            snprintf(before, sizeof(before), "%s", dump(h));
            rc = i % 3 == 2 ? cio_headers_set(h, name, "value-value-value")
                            : cio_headers_add(h, name, "value-value-value");
            if (rc == CIO_ENOMEM)
                cr_expect_str_eq(dump(h), before, "n=%d i=%d", n, i);
        }
        if (rc == 0)
            rc = cio_headers_clone(&c, h);
        cio__alloc_fail_hook = NULL;
        cr_expect(rc == 0 || rc == CIO_ENOMEM, "n=%d: %s", n, cio_errname(rc));
        cio_headers_free(c);
        cio_headers_free(h);
    }
    cio_test_no_leaks();
}

/* The byte-class table against the RFC 9110 definitions, byte by byte. */
Test(headers, byte_classes)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++) {
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z');
        bool t = alnum || (c != 0 && strchr(tchar, c) != NULL);
        bool v = (c >= 0x21 && c <= 0x7e) || c >= 0x80;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                   (c >= 'A' && c <= 'F');
        cr_assert_eq(cio__is_tchar((unsigned char)c), t, "0x%02x", c);
        /* field-value bytes: VCHAR, obs-text and the two whitespaces */
        cr_assert_eq(cio__tok_is((char)c, CIO__TOK_VALUE) != 0,
                     v || c == ' ' || c == '\t', "0x%02x", c);
        cr_assert_eq(cio__tok_is((char)c, CIO__TOK_HEX) != 0, hex, "0x%02x", c);
    }
}

/* Values taken from the map itself may be passed back in, even when the
 * call moves the strings to a bigger buffer. */
Test(headers, strings_from_the_map_itself)
{
    cio_headers *h = mk(0, 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Seed", "0123456789abcdef"), 0);
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof(name), "K%d", i);
        CIO_ASSERT_RC(cio_headers_add(h, name, cio_headers_get(h, "seed")), 0);
        CIO_ASSERT_RC(cio_headers_set(h, "Seed", cio_headers_get(h, name)), 0);
        struct cio_field f;
        CIO_ASSERT_RC(cio_headers_at(h, 0, &f), 0);
        CIO_ASSERT_RC(cio_headers_set_str(h, f.name, f.value), 0);
        if (i == 199)
            break;
        cio_headers_remove(h, name);
    }
    cr_expect_str_eq(cio_headers_get(h, "seed"), "0123456789abcdef");
    cr_expect_str_eq(cio_headers_get(h, "k199"), "0123456789abcdef");
    cio_headers_free(h);
}

/* The map knows which framing names it holds through every mutation, and
 * cio__headers_wire writes exactly cio_headers_bytes() bytes. */
Test(headers, known_names_and_wire_form)
{
    cio_headers *h = mk(0, 0), *c;
    cr_expect_eq(cio__headers_known(h), 0u);
    CIO_ASSERT_RC(cio_headers_add(h, "content-LENGTH", "5"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Connection", "close"), 0);
    CIO_ASSERT_RC(cio_headers_add(h, "Content-Lengthy", "x"), 0);
    cr_expect_eq(cio__headers_known(h),
                 CIO__HK_CONTENT_LENGTH | CIO__HK_CONNECTION);
    CIO_ASSERT_RC(cio_headers_add(h, "Connection", "x"), 0);
    CIO_ASSERT_RC(cio_headers_set(h, "CONNECTION", "keep-alive"), 0);
    cr_expect(cio__headers_known(h) & CIO__HK_CONNECTION); /* one is left */
    cr_expect_eq(cio_headers_remove(h, "connection"), 1);
    cr_expect_eq(cio__headers_known(h), CIO__HK_CONTENT_LENGTH);
    cr_expect_eq(cio_headers_remove(h, "Date"), 0);
    CIO_ASSERT_RC(cio__headers_set_trusted(h, CIO_STR_LIT("Transfer-Encoding"),
                                           CIO_STR_LIT("chunked")),
                  0);
    CIO_ASSERT_RC(cio_headers_add(h, "Date", "d"), 0);
    cr_expect_eq(cio__headers_known(h), CIO__HK_CONTENT_LENGTH |
                                            CIO__HK_TRANSFER_ENCODING |
                                            CIO__HK_DATE);
    CIO_ASSERT_RC(cio_headers_clone(&c, h), 0);
    cr_expect_eq(cio__headers_known(c), cio__headers_known(h));
    char wire[256];
    size_t n = cio_headers_bytes(h);
    cr_assert_lt(n, sizeof(wire));
    char *end = cio__headers_wire(h, wire);
    cr_expect_eq((size_t)(end - wire), n);
    *end = '\0';
    cr_expect_str_eq(wire, "content-LENGTH: 5\r\nContent-Lengthy: x\r\n"
                           "Transfer-Encoding: chunked\r\nDate: d\r\n");
    cio_headers_clear(h);
    cr_expect_eq(cio__headers_known(h), 0u);
    cio_headers_free(h);
    cio_headers_free(c);
}
