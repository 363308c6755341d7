/* SPDX-License-Identifier: MIT */
/* Status reason phrases, HTTP dates, the MIME table. */
#include <time.h>

#include "test.h"

#include "http/misc_int.h"

Test(misc, status_reasons)
{
    static const struct {
        int code;
        const char *reason;
    } cases[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {103, "Early Hints"},
        {200, "OK"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {404, "Not Found"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {416, "Range Not Satisfiable"},
        {418, "I'm a teapot"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Content"},
        {426, "Upgrade Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {505, "HTTP Version Not Supported"},
        {511, "Network Authentication Required"},
        {0, ""},
        {99, ""},
        {299, ""},
        {599, ""},
        {600, ""},
        {-1, ""},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++)
        cr_expect_str_eq(cio_http_status_reason(cases[i].code), cases[i].reason,
                         "status %d", cases[i].code);

    /* Every RFC 9110 code has a phrase; none holds CR, LF or a CTL. */
    static const int rfc9110[] = {100, 101, 200, 201, 202, 203, 204, 205, 206,
                                  300, 301, 302, 303, 304, 305, 307, 308, 400,
                                  401, 402, 403, 404, 405, 406, 407, 408, 409,
                                  410, 411, 412, 413, 414, 415, 416, 417, 421,
                                  422, 426, 500, 501, 502, 503, 504, 505};
    for (size_t i = 0; i < CIO_COUNTOF(rfc9110); i++)
        cr_expect_neq(cio_http_status_reason(rfc9110[i])[0], '\0', "%d",
                      rfc9110[i]);
    for (int c = 0; c < 1000; c++) {
        for (const char *p = cio_http_status_reason(c); *p != '\0'; p++)
            cr_assert((unsigned char)*p >= 0x20 && *p != 0x7f, "%d", c);
    }
}

Test(misc, date_format)
{
    static const struct {
        time_t t;
        const char *s;
    } cases[] = {
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1700000000, "Tue, 14 Nov 2023 22:13:20 GMT"},
        {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
        {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {-2208988800, "Mon, 01 Jan 1900 00:00:00 GMT"},
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        char buf[CIO_HTTP_DATE_LEN + 1];
        cr_expect_eq(cio_http_date_format(cases[i].t, buf), CIO_HTTP_DATE_LEN);
        cr_expect_str_eq(buf, cases[i].s, "t=%lld", (long long)cases[i].t);
    }
    char buf[CIO_HTTP_DATE_LEN + 1] = "untouched";
    CIO_EXPECT_RC(cio_http_date_format(253402300800, buf), CIO_EINVAL);
    CIO_EXPECT_RC(cio_http_date_format(-62135596801, buf), CIO_EINVAL);
    cr_expect_str_eq(buf, "untouched");
}

/* Agrees with gmtime_r + strftime over a wide, irregular sweep. */
Test(misc, date_format_matches_libc)
{
    time_t t = -2208988800;
    while (t < 7258118400) { /* 1900 .. 2200 */
        char want[64], got[CIO_HTTP_DATE_LEN + 1];
        struct tm tm;
        cr_assert_not_null(gmtime_r(&t, &tm));
        strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cio_http_date_format(t, got);
        cr_assert_str_eq(got, want, "t=%lld", (long long)t);
        time_t back;
        CIO_ASSERT_RC(cio_http_date_parse(got, strlen(got), &back), 0);
        cr_assert_eq(back, t);
        t += 86400 * 13 + 3607 * 7 + 11;
    }
}

Test(misc, date_parse_forms)
{
    static const struct {
        const char *s;
        time_t t;
    } ok[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
        {"Sun Nov  6 08:49:37 1994", 784111777},
        {"Sun Nov 06 08:49:37 1994", 784111777},
        {"Wed Nov 16 08:49:37 1994", 784975777},
        {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
        {"Wed, 31 Dec 1969 23:59:59 GMT", -1},
        {"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648},
        {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
        /* A leap second reads as the next second. */
        {"Sat, 31 Dec 2016 23:59:60 GMT", 1483228800},
        /* The weekday name is not checked against the date. */
        {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Wednesday, 09-Nov-99 23:12:40 GMT", 942189160},
    };
    for (size_t i = 0; i < CIO_COUNTOF(ok); i++) {
        time_t t = 42;
        CIO_EXPECT_RC(cio_http_date_parse(ok[i].s, strlen(ok[i].s), &t), 0);
        cr_expect_eq(t, ok[i].t, "\"%s\": got %lld", ok[i].s, (long long)t);
    }
}

Test(misc, date_parse_two_digit_years)
{
    /* RFC 9110 §5.6.7: at most 50 years ahead, else the past century. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int year = tm.tm_year + 1900;
    for (int ahead = -60; ahead <= 60; ahead += 7) {
        int y = year + ahead, yy = ((y % 100) + 100) % 100;
        char s[64];
        snprintf(s, sizeof(s), "Monday, 01-Jan-%02d 00:00:00 GMT", yy);
        time_t t;
        CIO_ASSERT_RC(cio_http_date_parse(s, strlen(s), &t), 0);
        gmtime_r(&t, &tm);
        int want = ahead > 50 ? y - 100 : ahead < -49 ? y + 100 : y;
        cr_expect_eq(tm.tm_year + 1900, want, "%s (now %d)", s, year);
    }
}

Test(misc, date_parse_is_strict)
{
    static const char *bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37",        /* no zone */
        "Sun, 06 Nov 1994 08:49:37 UTC",    /* not GMT */
        "Sun, 06 Nov 1994 08:49:37 gmt",    /* case */
        "sun, 06 Nov 1994 08:49:37 GMT",    /* case */
        "Sun, 06 nov 1994 08:49:37 GMT",    /* case */
        "Sun, 6 Nov 1994 08:49:37 GMT",     /* one-digit day */
        "Sun, 06 Nov 94 08:49:37 GMT",      /* two-digit year */
        "Sun, 06 Nov 1994 8:49:37 GMT",     /* one-digit hour */
        " Sun, 06 Nov 1994 08:49:37 GMT",   /* leading space */
        "Sun, 06 Nov 1994 08:49:37 GMT ",   /* trailing space */
        "Sun, 06 Nov 1994 08:49:37 GMTx",   /* trailing byte */
        "Sun,  06 Nov 1994 08:49:37 GMT",   /* double space */
        "Sun 06 Nov 1994 08:49:37 GMT",     /* no comma */
        "Xyz, 06 Nov 1994 08:49:37 GMT",    /* day name */
        "Sun, 32 Jan 1994 08:49:37 GMT",    /* day */
        "Sun, 00 Jan 1994 08:49:37 GMT",    /* day */
        "Sun, 29 Feb 1900 08:49:37 GMT",    /* not a leap year */
        "Sun, 31 Apr 1994 08:49:37 GMT",    /* April has 30 */
        "Sun, 06 Nov 1994 24:00:00 GMT",    /* hour */
        "Sun, 06 Nov 1994 23:60:00 GMT",    /* minute */
        "Sun, 06 Nov 1994 23:59:61 GMT",    /* second */
        "Sun, 06 Nov 0000 08:49:37 GMT",    /* year 0 */
        "Sun, 06 Nov 1994 08:49:37 +0000",  /* numeric zone */
        "Sun, 06 Nov 1994 08-49-37 GMT",    /* separators */
        "Sun, 06-Nov-1994 08:49:37 GMT",    /* mixed forms */
        "Sunday, 06 Nov 1994 08:49:37 GMT", /* long day, fixdate */
        "Sun, 06-Nov-94 08:49:37 GMT",      /* short day, RFC 850 */
        "Sunday, 06-Nov-94 08:49:37",       /* RFC 850 without GMT */
        "Sunday 06-Nov-94 08:49:37 GMT",    /* no comma */
        "Sun Nov 6 08:49:37 1994",          /* asctime single space */
        "Sun Nov  6 08:49:37 94",           /* asctime short year */
        "Sun Nov  6 08:49:37 1994 GMT",     /* asctime with zone */
        "Sun Nov   6 08:49:37 1994",        /* three spaces */
        "1994-11-06T08:49:37Z",             /* ISO 8601 */
        "784111777",                        /* epoch seconds */
    };
    for (size_t i = 0; i < CIO_COUNTOF(bad); i++) {
        time_t t = 42;
        CIO_EXPECT_RC(cio_http_date_parse(bad[i], strlen(bad[i]), &t),
                      CIO_EPROTO);
        cr_expect_eq(t, 42, "\"%s\": output written on error", bad[i]);
        cr_expect(strncmp(cio_last_error(), "HTTP date", 9) == 0, "%s",
                  cio_last_error());
    }
    time_t t;
    CIO_EXPECT_RC(cio_http_date_parse(NULL, 0, &t), CIO_EPROTO);
    /* A length shorter than the string cuts it: "GM" is not "GMT". */
    static const char s[] = "Sun, 06 Nov 1994 08:49:37 GMT";
    CIO_EXPECT_RC(cio_http_date_parse(s, sizeof(s) - 2, &t), CIO_EPROTO);
    /* A NUL inside the length is a trailing byte. */
    CIO_EXPECT_RC(cio_http_date_parse(s, sizeof(s), &t), CIO_EPROTO);
}

Test(misc, mime_table_is_sorted_and_complete)
{
    cr_assert_geq(cio__mime_count, 300);
    for (size_t i = 0; i < cio__mime_count; i++) {
        const struct cio__mime_entry *e = &cio__mime_table[i];
        if (i > 0)
            cr_assert_lt(strcmp(cio__mime_table[i - 1].ext, e->ext), 0,
                         "%s before %s", cio__mime_table[i - 1].ext, e->ext);
        for (const char *p = e->ext; *p != '\0'; p++)
            cr_assert(!(*p >= 'A' && *p <= 'Z'), "%s not lowercase", e->ext);
        /* Every entry is found by binary search, in either case. */
        cr_assert_eq(cio_mime_lookup(e->ext), e->type, "%s", e->ext);
        char up[32], path[64];
        size_t n = strlen(e->ext);
        for (size_t k = 0; k <= n; k++)
            up[k] = (char)(e->ext[k] >= 'a' && e->ext[k] <= 'z' ? e->ext[k] - 32
                                                                : e->ext[k]);
        snprintf(path, sizeof(path), "dir.x/File.%s", up);
        cr_assert_eq(cio_mime_lookup(path), e->type, "%s", path);
        /* Text types say their charset; others do not. */
        bool text = strncmp(e->type, "text/", 5) == 0;
        cr_assert_eq(strstr(e->type, "; charset=utf-8") != NULL, text, "%s",
                     e->type);
    }
}

Test(misc, mime_lookup)
{
    static const struct {
        const char *name;
        const char *type;
    } cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"INDEX.HTM", "text/html; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"a/b/c.PNG", "image/png"},
        {"photo.jpeg", "image/jpeg"},
        {"x.svg", "image/svg+xml"},
        {"font.woff2", "font/woff2"},
        {"a.tar.gz", "application/gzip"},
        {"m.wasm", "application/wasm"},
        {"v.mp4", "video/mp4"},
        {"doc.pdf", "application/pdf"},
        {".css", "text/css; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"readme.txt", "text/plain; charset=utf-8"},
        {"a.7z", "application/x-7z-compressed"},
        {"Makefile", "application/octet-stream"},
        {"dir/html", "application/octet-stream"}, /* no extension */
        {"dir.html/file", "application/octet-stream"},
        {"file.", "application/octet-stream"},
        {"file.unknownext", "application/octet-stream"},
        {"file.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "application/octet-stream"},
        {"", "application/octet-stream"},
        {"a.htm\xc3\xa9", "application/octet-stream"},
        {"a.zz", "application/octet-stream"},
        {"a.0", "application/octet-stream"},
        {"a.zst", "application/zstd"},
        {"a.3g2", "video/3gpp2"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++)
        cr_expect_str_eq(cio_mime_type(cases[i].name), cases[i].type, "%s",
                         cases[i].name);
    cr_expect_null(cio_mime_lookup("x.nope"));
    cr_expect_null(cio_mime_lookup(NULL));
    cr_expect_str_eq(cio_mime_type(NULL), "application/octet-stream");
}
