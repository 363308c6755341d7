/* SPDX-License-Identifier: MIT */
/*
 * Cookies: the cookie-date algorithm, the Set-Cookie parser, the jar's
 * storage model and Cookie header, limits and eviction, and the Netscape
 * cookie file. Vectors from RFC 6265bis and RELIABILITY.md 34-37; each
 * table row or test names what it defends.
 *
 * Both parsers take a complete value (a header field value, a whole file),
 * not a stream, so split invariance does not apply; instead every input is
 * copied into a heap buffer of exactly its length, without a NUL, so ASan
 * catches any read past the end.
 */
#include <inttypes.h>
#include <stdint.h>

#include "base/alloc.h"
#include "http/cookie.h"
#include "test.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define NOW INT64_C(1700000000)
#define DAY INT64_C(86400)

/* ------------------------------------------------------------ helpers */

static char *dup_exact(const char *s, size_t n)
{
    char *b = malloc(n > 0 ? n : 1);
    cr_assert(b != NULL);
    if (n > 0)
        memcpy(b, s, n);
    return b;
}

/* "scheme://host/path?query" into a request (test URLs are simple). */
static struct cio_cookie_req req_of(const char *url)
{
    struct cio_cookie_req r = {0};
    const char *sep = strstr(url, "://");
    cr_assert(sep != NULL, "bad test URL %s", url);
    r.scheme = (struct cio_str){url, (size_t)(sep - url)};
    const char *h = sep + 3;
    const char *slash = strchr(h, '/');
    if (slash == NULL)
        slash = h + strlen(h);
    r.host = (struct cio_str){h, (size_t)(slash - h)};
    r.path = cio_str_c(slash);
    return r;
}

static int store_req(cio_cookie_jar *jar, const struct cio_cookie_req *r,
                     const char *sc, size_t n, int64_t now)
{
    char *b = dup_exact(sc, n);
    int rc = cio_cookie_jar_store(jar, b, n, r, now);
    free(b);
    return rc;
}

static int store(cio_cookie_jar *jar, const char *url, const char *sc,
                 int64_t now)
{
    struct cio_cookie_req r = req_of(url);
    return store_req(jar, &r, sc, strlen(sc), now);
}

static char hbuf[16384];

static const char *header_req(cio_cookie_jar *jar,
                              const struct cio_cookie_req *r, int64_t now)
{
    ptrdiff_t n = cio_cookie_jar_header(jar, r, now, hbuf, sizeof(hbuf));
    cr_assert(n >= 0, "header: %s", cio_errname((int)n));
    cr_assert_eq(strlen(hbuf), (size_t)n);
    return hbuf;
}

static const char *header(cio_cookie_jar *jar, const char *url, int64_t now)
{
    struct cio_cookie_req r = req_of(url);
    return header_req(jar, &r, now);
}

static cio_cookie_jar *jar_new(const struct cio_cookie_jar_opts *o)
{
    cio_cookie_jar *jar;
    CIO_ASSERT_RC(cio_cookie_jar_new(&jar, o), 0);
    return jar;
}

static void check(cio_cookie_jar *jar)
{
    int rc = cio__cookie_jar_check(jar);
    cr_assert_eq(rc, 0, "jar invariant: %s", cio_last_error());
}

/* The saved file (heap, caller frees). */
static char *save(cio_cookie_jar *jar, int64_t now)
{
    ptrdiff_t need = cio_cookie_jar_save(jar, now, NULL, 0);
    cr_assert(need > 0);
    char *b = malloc((size_t)need + 1);
    cr_assert(b != NULL);
    ptrdiff_t n = cio_cookie_jar_save(jar, now, b, (size_t)need + 1);
    cr_assert_eq(n, need);
    return b;
}

static int load(cio_cookie_jar *jar, const char *file, int64_t now,
                struct cio_cookie_load_stats *st)
{
    size_t n = strlen(file);
    char *b = dup_exact(file, n);
    int rc = cio_cookie_jar_load(jar, b, n, now, st);
    free(b);
    return rc;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    cr_assert(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* -------------------------------------------------------- cookie date */

static const struct {
    const char *in;
    int ok;
    int64_t want;
} dates[] = {
    /* The three HTTP date forms. */
    {"Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777},
    {"Sunday, 06-Nov-94 08:49:37 GMT", 1, 784111777},
    {"Sun Nov  6 08:49:37 1994", 1, 784111777},
    /* Lenient forms the algorithm accepts. */
    {"Wed, 09 Jun 2021 10:18:14 GMT", 1, 1623233894},
    {"Thu, 01-Jan-1970 00:00:01 GMT", 1, 1},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
    {"1:2:3 1 JANUARY 2000", 1, 946688523},
    {"2000 january 1 01:02:03am", 1, 946688523},
    {"Thu, 10 Apr 1980 16:33:12 GMT+0100", 1, 324232392},
    {"10 apr 08 12:34:56", 1, 1207830896}, /* 2-digit 00-69 */
    {"10 Apr 80 16:33:12", 1, 324232392},  /* 2-digit 70-99 */
    {"09 Jun 69 00:00:00", 1, 3137961600},
    {"Fri, 31 Dec 9999 23:59:59 GMT", 1, 253402300799},
    {"Mon, 01 Jan 1601 00:00:00 GMT", 1, INT64_C(-11644473600)},
    {"Thu, 29 Feb 2024 00:00:00 GMT", 1, 1709164800},
    {"Tue, 29 Feb 2000 00:00:00 GMT", 1, 951782400},
    {";;;10;;;Apr;;;2008;;;12:34:56;;;", 1, 1207830896},
    /* Rejections. */
    {"", 0, 0},
    {"garbage", 0, 0},
    {"Thu, 10 Apr 2008", 0, 0},              /* no time */
    {"10 Apr 12:34:56", 0, 0},               /* no year */
    {"Apr 2008 12:34:56", 0, 0},             /* no day: 20 is year? */
    {"10 2008 12:34:56", 0, 0},              /* no month */
    {"Sun, 31 Dec 1600 23:59:59 GMT", 0, 0}, /* year < 1601 */
    {"Wed, 29 Feb 2023 00:00:00 GMT", 0, 0}, /* no such day */
    {"Thu, 29 Feb 1900 00:00:00 GMT", 0, 0},
    {"Thu, 31 Apr 2021 00:00:00 GMT", 0, 0},
    {"Thu, 32 Apr 2021 00:00:00 GMT", 0, 0},
    {"Thu, 00 Apr 2021 00:00:00 GMT", 0, 0},
    {"Thu, 10 Apr 2021 24:00:00 GMT", 0, 0},
    {"Thu, 10 Apr 2021 23:60:00 GMT", 0, 0},
    {"Thu, 10 Apr 2021 23:59:60 GMT", 0, 0},
    {"Thu, 10 Apr 2021 123:00:00 GMT", 0, 0}, /* 3-digit hour */
    {"Thu, 10 Apr 2 12:00:00 GMT", 0, 0},     /* 1-digit year */
    {"Thu, 10 Apr 20210 12:00:00 GMT", 0, 0}, /* 5-digit year */
};

Test(cookie_date, table)
{
    for (size_t i = 0; i < COUNTOF(dates); i++) {
        size_t n = strlen(dates[i].in);
        char *b = dup_exact(dates[i].in, n);
        int64_t t = -42;
        int rc = cio_cookie_date_parse(b, n, &t);
        free(b);
        if (dates[i].ok) {
            cr_expect_eq(rc, 0, "%s: %s", dates[i].in, cio_last_error());
            cr_expect_eq(t, dates[i].want, "%s: got %" PRId64, dates[i].in, t);
        } else {
            CIO_EXPECT_RC(rc, CIO_EPROTO);
            cr_expect_eq(t, -42, "%s: output written on failure", dates[i].in);
        }
    }
}

/* --------------------------------------------------------- Set-Cookie */

#define NO NULL
#define F_SEC 1
#define F_HO 2
#define F_PATH 4 /* has_path */

static const struct {
    const char *in;
    int rc;
    const char *name, *value, *domain, *path;
    unsigned flags;
    int has_exp;
    int64_t exp;
    int has_ma;
    int64_t ma;
    enum cio_same_site ss;
} scs[] = {
    {"a=b", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"  a \t=\t b  ", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a", 0, "", "a", NO, NO, 0, 0, 0, 0, 0, 0}, /* nameless */
    {"=b", 0, "", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=", 0, "a", "", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b=c", 0, "a", "b=c", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=\"b c\"", 0, "a", "\"b c\"", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b\tc", 0, "a", "b\tc", NO, NO, 0, 0, 0, 0, 0, 0}, /* HTAB not CTL */
    {"a=\xc3\xa4", 0, "a", "\xc3\xa4", NO, NO, 0, 0, 0, 0, 0, 0},
    /* Empty name and value, whole string ignored (§5.6 step 6). */
    {"", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"=", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {" ; Secure", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {";a=b", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    /* RELIABILITY 35 / CVE-2022-35252: control bytes reject everything. */
    {"a=b\x01", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=\x1f", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Path=/\x7f", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b\r\nX: y", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Domain=x\ny", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    /* Nameless cookies must not fake a prefix (§5.6 step 7). */
    {"__Secure-a", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    {"=__host-a; Secure", CIO_EPROTO, NO, NO, NO, NO, 0, 0, 0, 0, 0, 0},
    /* Flags; attribute names are case-insensitive, values ignored. */
    {"a=b; Secure; HttpOnly", 0, "a", "b", NO, NO, F_SEC | F_HO, 0, 0, 0, 0, 0},
    {"a=b;SECURE=no;httponly=0", 0, "a", "b", NO, NO, F_SEC | F_HO, 0, 0, 0, 0,
     0},
    {"a=b; Secureish; Http-Only", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    /* Domain: leading dot dropped, last non-empty one wins. */
    {"a=b; Domain=.Example.COM", 0, "a", "b", "Example.COM", NO, 0, 0, 0, 0, 0,
     0},
    {"a=b; Domain=x; Domain=", 0, "a", "b", "x", NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Domain=x; domain=y", 0, "a", "b", "y", NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Domain=.", 0, "a", "b", "", NO, 0, 0, 0, 0, 0, 0},
    {"a=b ;  DOMAIN =  x.org  ", 0, "a", "b", "x.org", NO, 0, 0, 0, 0, 0, 0},
    /* Path: last one wins; one not starting with '/' = default path. */
    {"a=b; Path=/x; Path=/y", 0, "a", "b", NO, "/y", F_PATH, 0, 0, 0, 0, 0},
    {"a=b; Path=/x; Path=y", 0, "a", "b", NO, NO, F_PATH, 0, 0, 0, 0, 0},
    {"a=b; Path=", 0, "a", "b", NO, NO, F_PATH, 0, 0, 0, 0, 0},
    {"a=b; path = /p q ", 0, "a", "b", NO, "/p q", F_PATH, 0, 0, 0, 0, 0},
    /* Expires and Max-Age. */
    {"a=b; Expires=Wed, 09 Jun 2021 10:18:14 GMT", 0, "a", "b", NO, NO, 0, 1,
     1623233894, 0, 0, 0},
    {"a=b; Expires=bogus", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Expires=bad", 0, "a", "b", NO,
     NO, 0, 1, 1623233894, 0, 0, 0},
    {"a=b; Max-Age=100", 0, "a", "b", NO, NO, 0, 0, 0, 1, 100, 0},
    {"a=b; Max-Age=-5", 0, "a", "b", NO, NO, 0, 0, 0, 1, -5, 0},
    {"a=b; Max-Age=0", 0, "a", "b", NO, NO, 0, 0, 0, 1, 0, 0},
    {"a=b; Max-Age=1x", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Max-Age=+5", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Max-Age=-", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Max-Age=", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
    {"a=b; Max-Age=5; Max-Age=x", 0, "a", "b", NO, NO, 0, 0, 0, 1, 5, 0},
    {"a=b; Max-Age=99999999999999999999999999", 0, "a", "b", NO, NO, 0, 0, 0, 1,
     INT64_C(1000000000000000), 0},
    {"a=b; Max-Age=-99999999999999999999999999", 0, "a", "b", NO, NO, 0, 0, 0,
     1, INT64_C(-1000000000000000), 0},
    /* SameSite: last one wins, unknown values mean Default. */
    {"a=b; SameSite=Strict", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0,
     CIO_SAMESITE_STRICT},
    {"a=b; samesite=LAX", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, CIO_SAMESITE_LAX},
    {"a=b; SameSite=none", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0,
     CIO_SAMESITE_NONE},
    {"a=b; SameSite=Strict; SameSite=bogus", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0,
     CIO_SAMESITE_DEFAULT},
    {"a=b; SameSite", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, CIO_SAMESITE_DEFAULT},
    /* Unknown attributes, Partitioned and empty ones are ignored. */
    {"a=b; Foo=bar; Partitioned;; ; =x", 0, "a", "b", NO, NO, 0, 0, 0, 0, 0, 0},
};

static void expect_str(struct cio_str got, const char *want, size_t i,
                       const char *what)
{
    if (want == NULL) {
        cr_expect(got.ptr == NULL, "case %zu (%s): %s should be absent", i,
                  scs[i].in, what);
        return;
    }
    cr_expect(got.ptr != NULL && got.len == strlen(want) &&
                  memcmp(got.ptr, want, got.len) == 0,
              "case %zu (%s): %s is \"%.*s\", want \"%s\"", i, scs[i].in, what,
              (int)got.len, got.ptr != NULL ? got.ptr : "", want);
}

Test(set_cookie, table)
{
    for (size_t i = 0; i < COUNTOF(scs); i++) {
        size_t n = strlen(scs[i].in);
        char *b = dup_exact(scs[i].in, n);
        struct cio_set_cookie c;
        memset(&c, 0xa5, sizeof(c));
        int rc = cio_set_cookie_parse(b, n, &c);
        cr_expect_eq(rc, scs[i].rc, "case %zu (%s): rc %s, want %s", i,
                     scs[i].in, cio_errname(rc), cio_errname(scs[i].rc));
        if (rc == 0 && scs[i].rc == 0) {
            expect_str(c.name, scs[i].name, i, "name");
            expect_str(c.value, scs[i].value, i, "value");
            expect_str(c.domain, scs[i].domain, i, "domain");
            expect_str(c.path, scs[i].path, i, "path");
            cr_expect_eq(c.secure, !!(scs[i].flags & F_SEC), "case %zu", i);
            cr_expect_eq(c.http_only, !!(scs[i].flags & F_HO), "case %zu", i);
            cr_expect_eq(c.has_path, !!(scs[i].flags & F_PATH), "case %zu", i);
            cr_expect_eq(c.has_expires, scs[i].has_exp, "case %zu", i);
            if (c.has_expires)
                cr_expect_eq(c.expires, scs[i].exp, "case %zu", i);
            cr_expect_eq(c.has_max_age, scs[i].has_ma, "case %zu", i);
            if (c.has_max_age)
                cr_expect_eq(c.max_age, scs[i].ma, "case %zu: %" PRId64, i,
                             c.max_age);
            cr_expect_eq(c.same_site, scs[i].ss, "case %zu", i);
        }
        free(b);
    }
}

Test(set_cookie, nul_byte_rejects_cookie)
{
    /* RELIABILITY 35: a NUL anywhere, even after the name=value pair. */
    static const char in[] = "a=b; Path=/\0; Secure";
    char *b = dup_exact(in, sizeof(in) - 1);
    struct cio_set_cookie c;
    CIO_EXPECT_RC(cio_set_cookie_parse(b, sizeof(in) - 1, &c), CIO_EPROTO);
    free(b);
}

Test(set_cookie, name_value_limit_4096)
{
    char *v = repeat('v', 4095);
    char buf[8192];
    struct cio_set_cookie c;

    /* Exactly 4096 bytes of name and value; surrounding spaces not counted. */
    int n = snprintf(buf, sizeof(buf), "n=  %s  ; Secure", v);
    char *b = dup_exact(buf, (size_t)n);
    CIO_EXPECT_RC(cio_set_cookie_parse(b, (size_t)n, &c), 0);
    cr_expect_eq(c.value.len, 4095u);
    free(b);

    n = snprintf(buf, sizeof(buf), "nn=%s", v);
    b = dup_exact(buf, (size_t)n);
    CIO_EXPECT_RC(cio_set_cookie_parse(b, (size_t)n, &c), CIO_ETOOBIG);
    free(b);
    free(v);
}

Test(set_cookie, attribute_over_1024_is_ignored)
{
    char *p = repeat('p', 1023), *q = repeat('q', 1024);
    char buf[4096];
    struct cio_set_cookie c;

    /* A 1024-byte value counts; a 1025-byte one is dropped, so the earlier
     * Path attribute stays the last one. */
    int n = snprintf(buf, sizeof(buf), "a=b; Path=/%s", p);
    char *b = dup_exact(buf, (size_t)n);
    CIO_EXPECT_RC(cio_set_cookie_parse(b, (size_t)n, &c), 0);
    cr_expect_eq(c.path.len, 1024u);
    free(b);

    n = snprintf(buf, sizeof(buf), "a=b; Path=/x; Path=/%s; Domain=.%s", q, q);
    b = dup_exact(buf, (size_t)n);
    CIO_EXPECT_RC(cio_set_cookie_parse(b, (size_t)n, &c), 0);
    cr_expect(c.path.len == 2 && memcmp(c.path.ptr, "/x", 2) == 0);
    cr_expect(c.domain.ptr == NULL);
    free(b);
    free(p);
    free(q);
}

/* ------------------------------------------------------ jar: one step */

static const struct {
    const char *what; /* what the row defends */
    const char *set_url, *sc;
    int rc;
    const char *get_url; /* NULL: only check the jar is empty */
    const char *want;
} rows[] = {
    {"plain cookie", "http://example.com/", "a=b", 0, "http://example.com/",
     "a=b"},
    {"host-only not sent to subdomain", "http://example.com/", "a=b", 0,
     "http://www.example.com/", ""},
    {"Domain cookie reaches subdomains", "http://example.com/",
     "a=b; Domain=example.com", 0, "http://www.example.com/", "a=b"},
    {"Domain leading dot", "http://www.example.com/",
     "a=b; Domain=.example.com", 0, "http://example.com/", "a=b"},
    {"Domain case-insensitive", "http://www.example.com/",
     "a=b; Domain=EXAMPLE.com", 0, "http://x.Example.COM/", "a=b"},
    {"Domain cookie not sent to look-alike", "http://example.com/",
     "a=b; Domain=example.com", 0, "http://badexample.com/", ""},
    {"Domain not on a label boundary", "http://badexample.com/",
     "a=b; Domain=example.com", CIO_EPERM, NULL, NULL},
    {"Domain of another site (RELIABILITY 36)", "http://example.com/",
     "a=b; Domain=other.com", CIO_EPERM, NULL, NULL},
    {"Domain below the host", "http://example.com/",
     "a=b; Domain=www.example.com", CIO_EPERM, NULL, NULL},
    {"Domain=com (RELIABILITY 36)", "http://www.example.com/",
     "a=b; Domain=com", CIO_EPERM, NULL, NULL},
    {"Domain=.com", "http://www.example.com/", "a=b; Domain=.com", CIO_EPERM,
     NULL, NULL},
    {"Domain=co.uk (RELIABILITY 36)", "http://www.example.co.uk/",
     "a=b; Domain=co.uk", CIO_EPERM, NULL, NULL},
    {"Domain=CO.UK (RELIABILITY 36)", "http://www.example.co.uk/",
     "a=b; Domain=CO.UK", CIO_EPERM, NULL, NULL},
    {"Domain=com. trailing dot", "http://example.com/", "a=b; Domain=com.",
     CIO_EPERM, NULL, NULL},
    {"Domain private suffix github.io", "http://a.github.io/",
     "a=b; Domain=github.io", CIO_EPERM, NULL, NULL},
    {"Domain unknown TLD is a suffix", "http://a.internal/",
     "a=b; Domain=internal", CIO_EPERM, NULL, NULL},
    {"Domain = host = suffix: host-only", "http://co.uk/", "a=b; Domain=co.uk",
     0, "http://example.co.uk/", ""},
    {"Domain = host = suffix: sent to it", "http://co.uk/", "a=b; Domain=CO.UK",
     0, "http://co.uk/", "a=b"},
    {"Domain=. means host-only", "http://example.com/", "a=b; Domain=.", 0,
     "http://www.example.com/", ""},
    {"empty Domain ignored", "http://example.com/", "a=b; Domain=", 0,
     "http://www.example.com/", ""},
    {"Domain not ASCII", "http://example.com/",
     "a=b; Domain=\xc3\xa4.example.com", CIO_EPERM, NULL, NULL},
    {"Domain with trailing dot", "http://www.example.com/",
     "a=b; Domain=example.com.", 0, "http://x.example.com/", "a=b"},
    {"host trailing dot and case", "http://Example.COM./", "a=b", 0,
     "http://example.com/", "a=b"},
    {"IP host cookie", "http://127.0.0.2/", "a=b", 0, "http://127.0.0.2/",
     "a=b"},
    {"IP cookie not sent to another IP (RELIABILITY 37)", "http://127.0.0.2/",
     "a=b", 0, "http://127.0.0.3/", ""},
    {"IP Domain equal to host is host-only", "http://127.0.0.2/",
     "a=b; Domain=127.0.0.2", 0, "http://127.0.0.3/", ""},
    {"IP Domain suffix refused", "http://127.0.0.2/", "a=b; Domain=0.0.2",
     CIO_EPERM, NULL, NULL},
    {"IP Domain of other IP refused", "http://127.0.0.2/",
     "a=b; Domain=127.0.0.3", CIO_EPERM, NULL, NULL},
    {"IPv4 in hex ends in a number", "http://0x7f.1/", "a=b; Domain=1",
     CIO_EPERM, NULL, NULL},
    {"IPv6 host", "http://[::1]/", "a=b", 0, "http://[::1]/", "a=b"},
    {"IPv6 cookie not sent to another IP", "http://[::1]/", "a=b", 0,
     "http://[::2]/", ""},
    {"Secure over http (RELIABILITY 37)", "http://example.com/", "a=b; Secure",
     CIO_EPERM, NULL, NULL},
    {"Secure over https", "https://example.com/", "a=b; Secure", 0,
     "https://example.com/", "a=b"},
    {"Secure not sent over http (RELIABILITY 39)", "https://example.com/",
     "a=b; Secure", 0, "http://example.com/", ""},
    {"wss is secure", "wss://example.com/", "a=b; Secure", 0,
     "WSS://example.com/", "a=b"},
    {"scheme case-insensitive", "HTTPS://example.com/", "a=b; Secure", 0,
     "https://example.com/", "a=b"},
    {"non-secure cookie sent over https", "http://example.com/", "a=b", 0,
     "https://example.com/", "a=b"},
    {"__Host- valid", "https://example.com/", "__Host-a=b; Secure; Path=/", 0,
     "https://example.com/", "__Host-a=b"},
    {"__Host- with Domain (RELIABILITY 37)", "https://example.com/",
     "__Host-a=b; Secure; Path=/; Domain=example.com", CIO_EPERM, NULL, NULL},
    {"__Host- with Path=/x (RELIABILITY 37)", "https://example.com/",
     "__Host-a=b; Secure; Path=/x", CIO_EPERM, NULL, NULL},
    {"__Host- without Path", "https://example.com/", "__Host-a=b; Secure",
     CIO_EPERM, NULL, NULL},
    {"__Host- without Secure", "https://example.com/", "__Host-a=b; Path=/",
     CIO_EPERM, NULL, NULL},
    {"__Host- over http", "http://example.com/", "__Host-a=b; Path=/",
     CIO_EPERM, NULL, NULL},
    {"__HOST- prefix case-insensitive", "https://example.com/",
     "__HOST-a=b; Secure; Path=/; Domain=example.com", CIO_EPERM, NULL, NULL},
    {"__Secure- valid", "https://example.com/",
     "__Secure-a=b; Secure; Domain=example.com", 0, "https://www.example.com/",
     "__Secure-a=b"},
    {"__Secure- without Secure", "https://example.com/", "__Secure-a=b",
     CIO_EPERM, NULL, NULL},
    {"__secure- case-insensitive", "https://example.com/", "__secure-a=b",
     CIO_EPERM, NULL, NULL},
    {"nameless with prefix value", "https://example.com/", "__Secure-a; Secure",
     CIO_EPROTO, NULL, NULL},
    {"control byte (RELIABILITY 35)", "http://example.com/", "a=b\x01",
     CIO_EPROTO, NULL, NULL},
    {"header injection via LF", "http://example.com/", "a=b\nSet-Cookie: c=d",
     CIO_EPROTO, NULL, NULL},
    {"HTAB in value refused (cookie file)", "http://example.com/", "a=b\tc",
     CIO_EPROTO, NULL, NULL},
    {"HTAB in Path refused", "http://example.com/", "a=b; Path=/x\ty",
     CIO_EPROTO, NULL, NULL},
    {"HTAB around value trimmed", "http://example.com/", "a=\tb\t", 0,
     "http://example.com/", "a=b"},
    {"SameSite=None needs Secure", "https://example.com/", "a=b; SameSite=None",
     CIO_EPERM, NULL, NULL},
    {"SameSite=None with Secure", "https://example.com/",
     "a=b; SameSite=None; Secure", 0, "https://example.com/", "a=b"},
    {"Max-Age=0 stores nothing", "http://example.com/", "a=b; Max-Age=0", 0,
     "http://example.com/", ""},
    {"Expires in the past stores nothing", "http://example.com/",
     "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT", 0, "http://example.com/",
     ""},
    {"Max-Age wins over past Expires", "http://example.com/",
     "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=100", 0,
     "http://example.com/", "a=b"},
    {"Max-Age=0 wins over future Expires", "http://example.com/",
     "a=b; Max-Age=0; Expires=Fri, 31 Dec 9999 23:59:59 GMT", 0,
     "http://example.com/", ""},
    {"bad Max-Age ignored", "http://example.com/", "a=b; Max-Age=1x", 0,
     "http://example.com/", "a=b"},
    {"default path is the directory", "http://example.com/a/b", "a=b", 0,
     "http://example.com/a/c", "a=b"},
    {"default path not sent to parent", "http://example.com/a/b", "a=b", 0,
     "http://example.com/", ""},
    {"default path sent to itself", "http://example.com/a/b", "a=b", 0,
     "http://example.com/a", "a=b"},
    {"default path boundary", "http://example.com/a/b", "a=b", 0,
     "http://example.com/ab", ""},
    {"default path ignores the query", "http://example.com/a?x=/y/z", "a=b", 0,
     "http://example.com/", "a=b"},
    {"default path of a relative path", "http://example.com", "a=b", 0,
     "http://example.com/x", "a=b"},
    {"Path=/a/ matches /a/b", "http://example.com/", "a=b; Path=/a/", 0,
     "http://example.com/a/b", "a=b"},
    {"Path=/a/ does not match /a", "http://example.com/", "a=b; Path=/a/", 0,
     "http://example.com/a", ""},
    {"Path=/a does not match /ab", "http://example.com/", "a=b; Path=/a", 0,
     "http://example.com/ab", ""},
    {"Path=/a matches /a?q", "http://example.com/", "a=b; Path=/a", 0,
     "http://example.com/a?q=1", "a=b"},
    {"Path=/a matches /a#f", "http://example.com/", "a=b; Path=/a", 0,
     "http://example.com/a#f", "a=b"},
    {"Path is case-sensitive", "http://example.com/", "a=b; Path=/A", 0,
     "http://example.com/a", ""},
    {"relative Path uses the default", "http://example.com/x/y",
     "a=b; Path=rel", 0, "http://example.com/", ""},
    {"nameless cookie sent as its value", "http://example.com/", "abc", 0,
     "http://example.com/", "abc"},
    {"empty value", "http://example.com/", "a=", 0, "http://example.com/",
     "a="},
    {"HttpOnly sent over HTTP", "http://example.com/", "a=b; HttpOnly", 0,
     "http://example.com/", "a=b"},
    {"invalid host: space", "http://exa mple.com/", "a=b", CIO_EINVAL, NULL,
     NULL},
    {"invalid host: empty label", "http://a..b/", "a=b", CIO_EINVAL, NULL,
     NULL},
    {"invalid host: empty", "http:///", "a=b", CIO_EINVAL, NULL, NULL},
    {"invalid host: non-ASCII", "http://\xc3\xa4.de/", "a=b", CIO_EINVAL, NULL,
     NULL},
    {"request path with a control byte", "http://example.com/a\x01/b", "a=b",
     CIO_EINVAL, NULL, NULL},
};

Test(cookie_jar, store_table)
{
    for (size_t i = 0; i < COUNTOF(rows); i++) {
        cio_cookie_jar *jar = jar_new(NULL);
        int rc = store(jar, rows[i].set_url, rows[i].sc, NOW);
        cr_expect_eq(rc, rows[i].rc, "%s: rc %s (%s), want %s", rows[i].what,
                     cio_errname(rc), cio_last_error(),
                     cio_errname(rows[i].rc));
        if (rc != 0)
            cr_expect(cio_last_error()[0] != '\0', "%s: no message",
                      rows[i].what);
        if (rows[i].get_url != NULL) {
            const char *h = header(jar, rows[i].get_url, NOW);
            cr_expect_str_eq(h, rows[i].want, "%s: header \"%s\", want \"%s\"",
                             rows[i].what, h, rows[i].want);
        } else {
            cr_expect_eq(cio_cookie_jar_count(jar, NOW), 0u, "%s",
                         rows[i].what);
        }
        check(jar);
        cio_cookie_jar_free(jar);
    }
}

Test(cookie_jar, oversized_domain_attribute_ignored_so_host_only)
{
    char *d = repeat('x', 1025);
    char sc[2048];
    snprintf(sc, sizeof(sc), "a=b; Domain=example.com; Domain=%s", d);
    cio_cookie_jar *jar = jar_new(NULL);
    CIO_EXPECT_RC(store(jar, "http://example.com/", sc, NOW), 0);
    cr_expect_str_eq(header(jar, "http://www.example.com/", NOW), "a=b");

    /* Domain over 253 bytes but within 1024: refused, it cannot match. */
    snprintf(sc, sizeof(sc), "a=b; Domain=%.300s", d);
    CIO_EXPECT_RC(store(jar, "http://example.com/", sc, NOW), CIO_EPERM);
    cio_cookie_jar_free(jar);
    free(d);
}

Test(cookie_jar, name_value_over_4096_ignored)
{
    /* RELIABILITY 35. */
    char *v = repeat('v', 4096);
    char sc[8192];
    cio_cookie_jar *jar = jar_new(NULL);
    snprintf(sc, sizeof(sc), "a=%s", v);
    CIO_EXPECT_RC(store(jar, "http://example.com/", sc, NOW), CIO_ETOOBIG);
    snprintf(sc, sizeof(sc), "a=%s", v + 1);
    CIO_EXPECT_RC(store(jar, "http://example.com/", sc, NOW), 0);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 1u);
    cio_cookie_jar_free(jar);
    free(v);
}

Test(cookie_jar, default_path_over_1024_refused)
{
    char *p = repeat('p', 1100);
    char url[2048];
    snprintf(url, sizeof(url), "http://example.com/%s/x", p);
    cio_cookie_jar *jar = jar_new(NULL);
    CIO_EXPECT_RC(store(jar, url, "a=b", NOW), CIO_ETOOBIG);
    CIO_EXPECT_RC(store(jar, url, "a=b; Path=/", NOW), 0);
    cio_cookie_jar_free(jar);
    free(p);
}

/* --------------------------------------------------- jar: many steps */

Test(cookie_jar, replacement_keeps_creation_order)
{
    cio_cookie_jar *jar = jar_new(NULL);
    const char *u = "https://example.com/";
    CIO_ASSERT_RC(store(jar, u, "a=1; Path=/", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "b=2; Path=/x/y", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "c=3; Path=/x", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "d=4; Path=/", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "e=5; Path=/x/y", NOW), 0);
    /* §5.8.3: longest path first, then earliest creation. */
    cr_expect_str_eq(header(jar, "https://example.com/x/y/z", NOW),
                     "b=2; e=5; c=3; a=1; d=4");
    cr_expect_str_eq(header(jar, "https://example.com/x", NOW),
                     "c=3; a=1; d=4");
    /* Replacing keeps the creation time (§5.7 step 22). */
    CIO_ASSERT_RC(store(jar, u, "a=9; Path=/; Secure", NOW + 5), 0);
    cr_expect_str_eq(header(jar, "https://example.com/x/y/z", NOW + 5),
                     "b=2; e=5; c=3; a=9; d=4");
    /* Deleted and set again: a new cookie, so it comes last. */
    CIO_ASSERT_RC(store(jar, u, "b=; Path=/x/y; Max-Age=0", NOW + 6), 0);
    CIO_ASSERT_RC(store(jar, u, "b=7; Path=/x/y", NOW + 6), 0);
    cr_expect_str_eq(header(jar, "https://example.com/x/y/z", NOW + 6),
                     "e=5; b=7; c=3; a=9; d=4");
    /* Same name, other path or other domain kind: a different cookie. */
    CIO_ASSERT_RC(store(jar, u, "d=8; Path=/x", NOW + 7), 0);
    CIO_ASSERT_RC(store(jar, u, "d=10; Domain=example.com; Path=/", NOW + 7),
                  0);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW + 7), 7u);
    check(jar);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, expiry_follows_the_fake_clock)
{
    /* No 400-day cap here, so that the 2021 date stays as it is. */
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_age_s = UINT32_MAX});
    const char *u = "http://example.com/";
    CIO_ASSERT_RC(store(jar, u, "a=1; Max-Age=10", 1000), 0);
    CIO_ASSERT_RC(
        store(jar, u, "b=2; Expires=Wed, 09 Jun 2021 10:18:14 GMT", 1000), 0);
    CIO_ASSERT_RC(store(jar, u, "s=3", 1000), 0);
    cr_expect_str_eq(header(jar, u, 1009), "a=1; b=2; s=3");
    cr_expect_str_eq(header(jar, u, 1010), "b=2; s=3");
    cr_expect_str_eq(header(jar, u, 1623233893), "b=2; s=3");
    cr_expect_str_eq(header(jar, u, 1623233894), "s=3");
    cr_expect_eq(cio_cookie_jar_count(jar, 1623233894), 1u);
    cio_cookie_jar_clear_session(jar);
    cr_expect_eq(cio_cookie_jar_count(jar, 0), 0u);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, max_age_and_expires_capped_at_400_days)
{
    cio_cookie_jar *jar = jar_new(NULL);
    const char *u = "http://example.com/";
    CIO_ASSERT_RC(store(jar, u, "a=1; Max-Age=999999999999", NOW), 0);
    CIO_ASSERT_RC(
        store(jar, u, "b=2; Expires=Fri, 31 Dec 9999 23:59:59 GMT", NOW), 0);
    cr_expect_str_eq(header(jar, u, NOW + 400 * DAY - 1), "a=1; b=2");
    cr_expect_str_eq(header(jar, u, NOW + 400 * DAY), "");
    cio_cookie_jar_free(jar);

    /* A clock near the end of time saturates instead of overflowing. */
    jar = jar_new(NULL);
    CIO_ASSERT_RC(store(jar, u, "a=1; Max-Age=999999999999", INT64_MAX - 5), 0);
    cr_expect_str_eq(header(jar, u, INT64_MAX - 1), "a=1");
    cio_cookie_jar_free(jar);

    /* Configurable. */
    jar = jar_new(&(struct cio_cookie_jar_opts){.max_age_s = 60});
    CIO_ASSERT_RC(store(jar, u, "a=1; Max-Age=3600", NOW), 0);
    cr_expect_str_eq(header(jar, u, NOW + 59), "a=1");
    cr_expect_str_eq(header(jar, u, NOW + 60), "");
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, expired_cookie_deletes_its_namesake)
{
    cio_cookie_jar *jar = jar_new(NULL);
    const char *u = "http://example.com/";
    CIO_ASSERT_RC(store(jar, u, "a=1; Max-Age=100", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "a=1; Path=/other; Max-Age=100", NOW), 0);
    CIO_ASSERT_RC(
        store(jar, u, "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", NOW), 0);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 1u); /* /other stays */
    CIO_ASSERT_RC(store(jar, u, "a=x; Path=/other; Max-Age=-1", NOW), 0);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 0u);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, insecure_cannot_shadow_secure_cookie)
{
    /* RFC 6265bis §5.7 step 16 ("leave secure cookies alone"). */
    cio_cookie_jar *jar = jar_new(NULL);
    CIO_ASSERT_RC(store(jar, "https://example.com/",
                        "a=1; Secure; "
                        "Domain=example.com",
                        NOW),
                  0);
    CIO_EXPECT_RC(store(jar, "http://example.com/", "a=2", NOW), CIO_EPERM);
    CIO_EXPECT_RC(store(jar, "http://www.example.com/", "a=2", NOW), CIO_EPERM);
    CIO_EXPECT_RC(store(jar, "http://example.com/", "a=2; Path=/deeper", NOW),
                  CIO_EPERM);
    CIO_EXPECT_RC(store(jar, "http://other.com/", "a=2", NOW), 0);
    CIO_EXPECT_RC(store(jar, "http://example.com/", "b=2", NOW), 0);
    /* Over https the secure cookie may be replaced. */
    CIO_EXPECT_RC(
        store(jar, "https://example.com/", "a=3; Domain=example.com", NOW), 0);
    cr_expect_str_eq(header(jar, "http://example.com/", NOW), "a=3; b=2");
    check(jar);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, http_only_hidden_from_non_http_api)
{
    cio_cookie_jar *jar = jar_new(NULL);
    struct cio_cookie_req r = req_of("http://example.com/");
    CIO_ASSERT_RC(store(jar, "http://example.com/", "h=1; HttpOnly", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://example.com/", "p=2", NOW), 0);
    r.non_http = 1;
    cr_expect_str_eq(header_req(jar, &r, NOW), "p=2");
    CIO_EXPECT_RC(store_req(jar, &r, "h=3", 3, NOW), CIO_EPERM);
    CIO_EXPECT_RC(store_req(jar, &r, "x=3; HttpOnly", 13, NOW), CIO_EPERM);
    CIO_EXPECT_RC(store_req(jar, &r, "p=4", 3, NOW), 0);
    r.non_http = 0;
    cr_expect_str_eq(header_req(jar, &r, NOW), "h=1; p=4");
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, same_site_by_request_context)
{
    cio_cookie_jar *jar = jar_new(NULL);
    const char *u = "https://example.com/";
    CIO_ASSERT_RC(store(jar, u, "s=1; SameSite=Strict", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "l=2; SameSite=Lax", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "d=3", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "n=4; SameSite=None; Secure", NOW), 0);

    struct cio_cookie_req r = req_of(u);
    cr_expect_str_eq(header_req(jar, &r, NOW), "s=1; l=2; d=3; n=4");
    r.site = CIO_COOKIE_CROSS_SITE_NAV;
    cr_expect_str_eq(header_req(jar, &r, NOW), "l=2; d=3; n=4");
    r.site = CIO_COOKIE_CROSS_SITE;
    cr_expect_str_eq(header_req(jar, &r, NOW), "n=4");
    /* A cross-site subresource may only set SameSite=None cookies. */
    const char *lax = "x=1; SameSite=Lax";
    CIO_EXPECT_RC(store_req(jar, &r, lax, strlen(lax), NOW), CIO_EPERM);
    const char *none = "y=1; SameSite=None; Secure";
    CIO_EXPECT_RC(store_req(jar, &r, none, strlen(none), NOW), 0);
    r.site = CIO_COOKIE_CROSS_SITE_NAV;
    CIO_EXPECT_RC(store_req(jar, &r, lax, strlen(lax), NOW), 0);
    cio_cookie_jar_free(jar);
}

/* ------------------------------------------------------ limits, LRU */

Test(cookie_jar, thousand_4k_set_cookies_stay_capped)
{
    /* RELIABILITY 34 (curl CVE-2022-32205): one site, then many sites. */
    char *v = repeat('v', 4090);
    char sc[4200], host[64];
    cio_cookie_jar *jar = jar_new(NULL);
    for (int i = 0; i < 1000; i++) {
        snprintf(sc, sizeof(sc), "c%04d=%s; Domain=example.com", i, v);
        CIO_ASSERT_RC(store(jar, "http://example.com/", sc, NOW), 0);
    }
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 50u);
    const char *h = header(jar, "http://example.com/", NOW);
    cr_expect(strlen(h) > 0 && strlen(h) <= 8192, "header %zu", strlen(h));
    /* The newest ones survive. */
    cr_expect(strncmp(h, "c0950=", 6) == 0, "%.10s", h);
    check(jar);
    cio_cookie_jar_free(jar);

    jar = jar_new(NULL);
    for (int i = 0; i < 1000; i++) {
        snprintf(host, sizeof(host), "http://site%d.example/", i);
        snprintf(sc, sizeof(sc), "c=%s", v);
        CIO_ASSERT_RC(store(jar, host, sc, NOW), 0);
    }
    size_t n = cio_cookie_jar_count(jar, NOW);
    cr_expect(n >= 400 && n <= (2u << 20) / 4092, "count %zu", n);
    check(jar);
    cio_cookie_jar_free(jar);

    /* And by count: 4000 small cookies on 4000 sites. */
    jar = jar_new(NULL);
    for (int i = 0; i < 4000; i++) {
        snprintf(host, sizeof(host), "http://s%d.example/", i);
        CIO_ASSERT_RC(store(jar, host, "c=1", NOW), 0);
    }
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 3000u);
    cr_expect_str_eq(header(jar, "http://s999.example/", NOW), "");
    cr_expect_str_eq(header(jar, "http://s1000.example/", NOW), "c=1");
    check(jar);
    cio_cookie_jar_free(jar);
    free(v);
}

Test(cookie_jar, subdomains_share_the_site_quota)
{
    char host[64];
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_per_site = 10});
    CIO_ASSERT_RC(store(jar, "http://other.com/", "o=1", NOW), 0);
    for (int i = 0; i < 30; i++) {
        snprintf(host, sizeof(host), "http://s%d.evil.com/", i);
        CIO_ASSERT_RC(store(jar, host, "k=v", NOW), 0);
    }
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 11u);
    cr_expect_str_eq(header(jar, "http://other.com/", NOW), "o=1");
    cr_expect_str_eq(header(jar, "http://s19.evil.com/", NOW), "");
    cr_expect_str_eq(header(jar, "http://s20.evil.com/", NOW), "k=v");
    /* co.uk sites are separate sites. */
    CIO_ASSERT_RC(store(jar, "http://a.co.uk/", "x=1", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://b.co.uk/", "x=1", NOW), 0);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 13u);
    check(jar);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, total_cap_evicts_least_recently_used)
{
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_cookies = 3});
    CIO_ASSERT_RC(store(jar, "http://a.com/", "x=1", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://b.com/", "x=1", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://c.com/", "x=1", NOW), 0);
    cr_expect_str_eq(header(jar, "http://a.com/", NOW), "x=1"); /* use a */
    CIO_ASSERT_RC(store(jar, "http://d.com/", "x=1", NOW), 0);
    cr_expect_str_eq(header(jar, "http://b.com/", NOW), "");
    cr_expect_str_eq(header(jar, "http://a.com/", NOW), "x=1");
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 3u);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, expired_cookies_evicted_before_used_ones)
{
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_cookies = 2});
    CIO_ASSERT_RC(store(jar, "http://a.com/", "x=1", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://b.com/", "x=1; Max-Age=10", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://c.com/", "x=1", NOW + 20), 0);
    cr_expect_str_eq(header(jar, "http://a.com/", NOW + 20), "x=1");
    cr_expect_str_eq(header(jar, "http://c.com/", NOW + 20), "x=1");
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, byte_cap_refuses_and_evicts)
{
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_bytes = 40});
    /* name + value + domain + path: 1 + 30 + 5 + 1 = 37. */
    char *v = repeat('v', 30), *w = repeat('w', 40);
    char sc[128];
    snprintf(sc, sizeof(sc), "x=%s", w);
    CIO_EXPECT_RC(store(jar, "http://a.com/", sc, NOW), CIO_ETOOBIG);
    snprintf(sc, sizeof(sc), "x=%s", v);
    CIO_EXPECT_RC(store(jar, "http://a.com/", sc, NOW), 0);
    CIO_EXPECT_RC(store(jar, "http://b.com/", sc, NOW), 0); /* evicts a */
    cr_expect_str_eq(header(jar, "http://a.com/", NOW), "");
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 1u);
    check(jar);
    cio_cookie_jar_free(jar);
    free(v);
    free(w);
}

Test(cookie_jar, header_limit_skips_what_does_not_fit)
{
    cio_cookie_jar *jar =
        jar_new(&(struct cio_cookie_jar_opts){.max_header_bytes = 10});
    const char *u = "http://example.com/";
    CIO_ASSERT_RC(store(jar, u, "a=1; Path=/x/y", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "big=0123456789; Path=/x", NOW), 0);
    CIO_ASSERT_RC(store(jar, u, "s=1; Path=/", NOW), 0);
    cr_expect_str_eq(header(jar, "http://example.com/x/y", NOW), "a=1; s=1");

    /* The caller's buffer limits too. */
    char small[6];
    struct cio_cookie_req r = req_of("http://example.com/x/y");
    ptrdiff_t n = cio_cookie_jar_header(jar, &r, NOW, small, sizeof(small));
    cr_expect_eq(n, 3);
    cr_expect_str_eq(small, "a=1");
    cr_expect_eq(cio_cookie_jar_header(jar, &r, NOW, NULL, 0), 0);
    cio_cookie_jar_free(jar);
}

Test(cookie_jar, invalid_header_host)
{
    cio_cookie_jar *jar = jar_new(NULL);
    struct cio_cookie_req r = req_of("http://a b/");
    char b[16];
    CIO_EXPECT_RC(cio_cookie_jar_header(jar, &r, NOW, b, sizeof(b)),
                  CIO_EINVAL);
    r.host = (struct cio_str){NULL, 0};
    CIO_EXPECT_RC(cio_cookie_jar_header(jar, &r, NOW, b, sizeof(b)),
                  CIO_EINVAL);
    cio_cookie_jar_free(jar);
}

/* ------------------------------------------------------ cookie file */

Test(cookie_file, save_format_is_curls)
{
    cio_cookie_jar *jar = jar_new(NULL);
    CIO_ASSERT_RC(store(jar, "https://example.com/",
                        "a=1; Domain=example.com;"
                        " Path=/; Secure; HttpOnly; Max-Age=3600",
                        NOW),
                  0);
    CIO_ASSERT_RC(store(jar, "http://www.example.com/x/y", "b=2", NOW), 0);
    CIO_ASSERT_RC(store(jar, "http://127.0.0.1/",
                        "c=3; Expires=Fri, 31 Dec "
                        "9999 23:59:59 GMT",
                        NOW),
                  0);
    char *s = save(jar, NOW);
    cr_expect_str_eq(s,
                     "# Netscape HTTP Cookie File\n"
                     "# Written by corio; curl and wget read this format.\n"
                     "\n"
                     "www.example.com\tFALSE\t/x\tFALSE\t0\tb\t2\n"
                     "#HttpOnly_.example.com\tTRUE\t/\tTRUE\t1700003600\ta\t1\n"
                     "127.0.0.1\tFALSE\t/\tFALSE\t1734560000\tc\t3\n");
    /* Too small a buffer. */
    char small[16] = "untouched";
    CIO_EXPECT_RC(cio_cookie_jar_save(jar, NOW, small, sizeof(small)),
                  CIO_ETOOBIG);
    cr_expect_str_eq(small, "untouched");
    /* Expired cookies are not saved. */
    free(s);
    s = save(jar, NOW + 3600);
    cr_expect(strstr(s, "\ta\t1\n") == NULL);
    free(s);
    cio_cookie_jar_free(jar);
}

Test(cookie_file, loads_a_curl_file)
{
    static const char file[] =
        "# Netscape HTTP Cookie File\n"
        "# https://curl.se/docs/http-cookies.html\n"
        "# This file was generated by libcurl! Edit at your own risk.\n"
        "\n"
        ".example.com\tTRUE\t/\tFALSE\t0\tsess\t1\n"
        "#HttpOnly_example.com\tFALSE\t/api\tTRUE\t1900000000\ttok\txyz\n"
        "old.example.com\tFALSE\t/\tFALSE\t1000\tgone\t1\r\n"
        "\n";
    cio_cookie_jar *jar = jar_new(NULL);
    struct cio_cookie_load_stats st;
    CIO_ASSERT_RC(load(jar, file, 1800000000, &st), 0);
    cr_expect_eq(st.loaded, 2u);
    cr_expect_eq(st.expired, 1u);
    cr_expect_eq(st.bad, 0u);
    cr_expect_eq(st.first_bad_line, 0u);
    cr_expect_str_eq(header(jar, "https://example.com/api/v", 1800000000),
                     "tok=xyz; sess=1");
    cr_expect_str_eq(header(jar, "http://www.example.com/api", 1800000000),
                     "sess=1");
    struct cio_cookie_req r = req_of("https://example.com/api");
    r.non_http = 1;
    cr_expect_str_eq(header_req(jar, &r, 1800000000), "sess=1");
    check(jar);
    cio_cookie_jar_free(jar);
}

static const struct {
    const char *what;
    const char *line;
} bad_lines[] = {
    {"6 fields", "example.com\tFALSE\t/\tFALSE\t0\ta"},
    {"8 fields", "example.com\tFALSE\t/\tFALSE\t0\ta\tb\tc"},
    {"space separated", "example.com FALSE / FALSE 0 a b"},
    {"bad include-subdomains", "example.com\tYES\t/\tFALSE\t0\ta\tb"},
    {"bad secure", "example.com\tFALSE\t/\t1\t0\ta\tb"},
    {"expiry not a number", "example.com\tFALSE\t/\tFALSE\tsoon\ta\tb"},
    {"negative expiry", "example.com\tFALSE\t/\tFALSE\t-1\ta\tb"},
    {"empty expiry", "example.com\tFALSE\t/\tFALSE\t\ta\tb"},
    {"expiry of 21 digits",
     "example.com\tFALSE\t/\tFALSE\t100000000000000000000\ta\tb"},
    {"relative path", "example.com\tFALSE\tx\tFALSE\t0\ta\tb"},
    {"empty path", "example.com\tFALSE\t\tFALSE\t0\ta\tb"},
    {"empty domain", "\tFALSE\t/\tFALSE\t0\ta\tb"},
    {"dot only domain", ".\tTRUE\t/\tFALSE\t0\ta\tb"},
    {"bad domain byte", "exa$mple.com\tFALSE\t/\tFALSE\t0\ta\tb"},
    {"domain cookie on com (RELIABILITY 36)", ".com\tTRUE\t/\tFALSE\t0\ta\tb"},
    {"domain cookie on co.uk", "co.uk\tTRUE\t/\tFALSE\t0\ta\tb"},
    {"__Host- with domain", ".example.com\tTRUE\t/\tTRUE\t0\t__Host-a\tb"},
    {"__Host- not secure", "example.com\tFALSE\t/\tFALSE\t0\t__Host-a\tb"},
    {"__Host- path", "example.com\tFALSE\t/x\tTRUE\t0\t__Host-a\tb"},
    {"__Secure- not secure", "example.com\tFALSE\t/\tFALSE\t0\t__Secure-a\tb"},
    {"control byte (RELIABILITY 35)",
     "example.com\tFALSE\t/\tFALSE\t0\ta\tb\x01"},
    {"DEL byte", "example.com\tFALSE\t/\tFALSE\t0\ta\tb\x7f"},
    {"name with =", "example.com\tFALSE\t/\tFALSE\t0\ta=b\tc"},
    {"name with ;", "example.com\tFALSE\t/\tFALSE\t0\ta;b\tc"},
    {"value with ;", "example.com\tFALSE\t/\tFALSE\t0\ta\tb;c"},
    {"space around name", "example.com\tFALSE\t/\tFALSE\t0\t a\tb"},
    {"space around value", "example.com\tFALSE\t/\tFALSE\t0\ta\tb "},
    {"empty name and value", "example.com\tFALSE\t/\tFALSE\t0\t\t"},
    {"nameless with prefix", "example.com\tFALSE\t/\tTRUE\t0\t\t__Host-x"},
};

Test(cookie_file, bad_lines_skipped_and_counted)
{
    for (size_t i = 0; i < COUNTOF(bad_lines); i++) {
        char file[512];
        snprintf(file, sizeof(file),
                 "# c\n%s\nok.com\tFALSE\t/\tFALSE\t0\t"
                 "k\tv\n",
                 bad_lines[i].line);
        cio_cookie_jar *jar = jar_new(NULL);
        struct cio_cookie_load_stats st;
        CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
        cr_expect_eq(st.bad, 1u, "%s: bad %zu", bad_lines[i].what, st.bad);
        cr_expect_eq(st.first_bad_line, 2u, "%s", bad_lines[i].what);
        cr_expect_eq(st.loaded, 1u, "%s: loaded %zu", bad_lines[i].what,
                     st.loaded);
        cr_expect_eq(cio_cookie_jar_count(jar, NOW), 1u, "%s",
                     bad_lines[i].what);
        cio_cookie_jar_free(jar);
    }
}

Test(cookie_file, size_limits)
{
    cio_cookie_jar *jar = jar_new(NULL);
    struct cio_cookie_load_stats st;
    char *v = repeat('v', 8200), *file = malloc(9000);
    cr_assert(file != NULL);

    /* A line over 8 KiB. */
    snprintf(file, 9000, "a.com\tFALSE\t/\tFALSE\t0\ta\t%s\n", v);
    CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
    cr_expect_eq(st.bad, 1u);
    /* Name and value over 4096. */
    snprintf(file, 9000, "a.com\tFALSE\t/\tFALSE\t0\ta\t%.4096s\n", v);
    CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
    cr_expect_eq(st.bad, 1u);
    snprintf(file, 9000, "a.com\tFALSE\t/\tFALSE\t0\ta\t%.4095s\n", v);
    CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
    cr_expect_eq(st.loaded, 1u);
    /* A path over 1024. */
    snprintf(file, 9000, "a.com\tFALSE\t/%.1024s\tFALSE\t0\ta\tb\n", v);
    CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
    cr_expect_eq(st.bad, 1u);
    free(file);
    free(v);

    /* Over 32 MiB: refused before reading. */
    size_t big = ((size_t)32 << 20) + 1;
    char *huge = calloc(1, big);
    cr_assert(huge != NULL);
    CIO_EXPECT_RC(cio_cookie_jar_load(jar, huge, big, NOW, NULL), CIO_ETOOBIG);
    free(huge);
    cio_cookie_jar_free(jar);
}

Test(cookie_file, caps_apply_when_loading)
{
    char *file = malloc(100 * 64), *p;
    cr_assert(file != NULL);
    p = file;
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "example.com\tFALSE\t/\tFALSE\t0\tc%d\tv\n", i);
    cio_cookie_jar *jar = jar_new(NULL);
    struct cio_cookie_load_stats st;
    CIO_EXPECT_RC(load(jar, file, NOW, &st), 0);
    cr_expect_eq(st.loaded, 100u);
    cr_expect_eq(cio_cookie_jar_count(jar, NOW), 50u);
    check(jar);
    cio_cookie_jar_free(jar);
    free(file);
}

Test(cookie_file, round_trip_keeps_the_jar)
{
    static const struct {
        const char *url, *sc;
    } in[] = {
        {"https://example.com/", "a=1; Domain=example.com; Secure; HttpOnly"},
        {"https://example.com/p/q", "b=x=y z; Max-Age=100"},
        {"http://example.com/", "nameless"},
        {"http://example.com/", "u=\xc3\xa4\xe2\x82\xac"},
        {"http://[::1]/", "v6=1; Path=/v6"},
        {"http://co.uk/", "ps=1; Domain=co.uk"},
        {"https://example.com/", "__Host-h=1; Secure; Path=/"},
        {"http://example.com/a;b/c", "semi=1"},
        {"https://example.com/", "a=2"},
    };
    cio_cookie_jar *j1 = jar_new(NULL), *j2 = jar_new(NULL);
    for (size_t i = 0; i < COUNTOF(in); i++)
        CIO_ASSERT_RC(store(j1, in[i].url, in[i].sc, NOW), 0);
    char *s1 = save(j1, NOW);
    struct cio_cookie_load_stats st;
    CIO_ASSERT_RC(load(j2, s1, NOW, &st), 0);
    cr_expect_eq(st.loaded, COUNTOF(in), "loaded %zu bad %zu line %zu",
                 st.loaded, st.bad, st.first_bad_line);
    char *s2 = save(j2, NOW);
    cr_expect_str_eq(s2, s1);
    static const char *urls[] = {
        "https://example.com/p/q/r", "http://www.example.com/",
        "http://[::1]/v6",           "http://co.uk/",
        "https://example.com/a;b/c",
    };
    for (size_t i = 0; i < COUNTOF(urls); i++) {
        char h1[1024];
        snprintf(h1, sizeof(h1), "%s", header(j1, urls[i], NOW));
        cr_expect_str_eq(header(j2, urls[i], NOW), h1, "%s", urls[i]);
    }
    check(j2);
    free(s1);
    free(s2);
    cio_cookie_jar_free(j1);
    cio_cookie_jar_free(j2);
}

/* ------------------------------------------------------ out of memory */

static int fail_all(size_t size)
{
    return 1;
}

Test(cookie_jar, out_of_memory_leaves_the_jar_intact)
{
    cio_cookie_jar *jar = jar_new(NULL);
    CIO_ASSERT_RC(store(jar, "http://a.com/", "x=1", NOW), 0);

    cio__alloc_fail_hook = fail_all;
    cio_cookie_jar *j2 = NULL;
    int rc_new = cio_cookie_jar_new(&j2, NULL);
    int rc_store = store(jar, "http://a.com/", "y=2", NOW);
    int rc_replace = store(jar, "http://a.com/", "x=3", NOW);
    int rc_load = load(jar, "b.com\tFALSE\t/\tFALSE\t0\tz\t1\n", NOW, NULL);
    cio__alloc_fail_hook = NULL;

    CIO_EXPECT_RC(rc_new, CIO_ENOMEM);
    cr_expect(j2 == NULL);
    CIO_EXPECT_RC(rc_store, CIO_ENOMEM);
    CIO_EXPECT_RC(rc_replace, CIO_ENOMEM);
    CIO_EXPECT_RC(rc_load, CIO_ENOMEM);
    cr_expect_str_eq(header(jar, "http://a.com/", NOW), "x=1");
    check(jar);
    cio_cookie_jar_free(jar);
    cio_test_no_leaks();
}
