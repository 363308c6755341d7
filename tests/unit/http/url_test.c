/* SPDX-License-Identifier: MIT */
/*
 * URLs: parsing and normalisation vectors, RFC 3986 §5.4 resolution,
 * IPv6, userinfo, ports, IDN, percent-encoding, query strings, and the
 * hostile inputs of RELIABILITY.md that belong to URLs (items 39-43, 72,
 * 73, 93).
 *
 * The URL and query APIs take whole inputs (not streams), so the split
 * invariance of the streaming parsers becomes: every input is also parsed
 * from an exact-size heap copy without a NUL (ASan catches a read past
 * len), and as the prefix of a longer buffer.
 */
#include <stdint.h>

#include "test.h"
#include "base/alloc.h"
#include "http/url_int.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Parses s from an exact-size copy; returns rc, *out on success. */
static int parse_exact(cio_url **out, const char *s, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    cr_assert(copy != NULL);
    memcpy(copy, s, len);
    int rc = cio_url_parse(out, copy, len, NULL);
    free(copy);
    return rc;
}

/* ------------------------------------------------------------- vectors */

static const struct uvec {
    const char *in;
    int rc;           /* 0 or the CIO_E* code */
    const char *want; /* normalised href, or a part of cio_last_error() */
} uvecs[] = {
    /* Plain URLs and case normalisation. */
    {"http://example.com/", 0, "http://example.com/"},
    {"http://example.com", 0, "http://example.com/"},
    {"HTTP://EXAMPLE.COM/", 0, "http://example.com/"},
    {"HtTpS://Example.Com/Path", 0, "https://example.com/Path"},
    {"http://a/b/c/d;p?q", 0, "http://a/b/c/d;p?q"},
    {"https://api.example.com/users?page=2&limit=10&filter=active", 0,
     "https://api.example.com/users?page=2&limit=10&filter=active"},
    {"http://127.0.0.1:8080/getStudentInfo?id=1", 0,
     "http://127.0.0.1:8080/getStudentInfo?id=1"},
    {"http://httpbin.org/delay/2", 0, "http://httpbin.org/delay/2"},
    {"ws://h/chat", 0, "ws://h/chat"},
    {"wss://h/chat", 0, "wss://h/chat"},
    {"http://a.b/p?", 0, "http://a.b/p?"},
    {"http://a.b/p#", 0, "http://a.b/p#"},
    {"http://a.b/p?#", 0, "http://a.b/p?#"},
    {"http://a.b?q", 0, "http://a.b/?q"},
    {"http://a.b#f", 0, "http://a.b/#f"},
    {"http://a.b/p?q=1#frag", 0, "http://a.b/p?q=1#frag"},
    {"http://a.b/p?q?r/s", 0, "http://a.b/p?q?r/s"},
    {"http://a.b/p#f?g/h", 0, "http://a.b/p#f?g/h"},
    {"http://a.b/a:b@c!$&'()*+,;=", 0, "http://a.b/a:b@c!$&'()*+,;="},
    {"http://example.com./", 0, "http://example.com./"},
    {"http://a_b.example/", 0, "http://a_b.example/"},
    {"http://localhost/", 0, "http://localhost/"},
    /* Ports. */
    {"http://a:80/", 0, "http://a/"},
    {"https://a:443/", 0, "https://a/"},
    {"ws://a:80/", 0, "ws://a/"},
    {"wss://a:443/", 0, "wss://a/"},
    {"http://a:443/", 0, "http://a:443/"},
    {"https://a:80/", 0, "https://a:80/"},
    {"http://a:0080/", 0, "http://a/"},
    {"http://a:00008080/", 0, "http://a:8080/"},
    {"http://a:/", 0, "http://a/"},
    {"http://a:1/", 0, "http://a:1/"},
    {"http://a:65535/", 0, "http://a:65535/"},
    {"http://a:65536/", CIO_EURL, "above 65535"},
    {"http://a:99999999999999999999/", CIO_EURL, "above 65535"},
    {"http://a:0/", CIO_EURL, "port 0"},
    {"http://a:000/", CIO_EURL, "port 0"},
    {"http://a:+80/", CIO_EURL, "not a decimal"},
    {"http://a:8o/", CIO_EURL, "not a decimal"},
    {"http://a:80:80/", CIO_EURL, "not a decimal"},
    {"http://a:-1/", CIO_EURL, "not a decimal"},
    {"foo://a:0/", 0, "foo://a:0/"},
    {"foo://a:080/", 0, "foo://a:80/"},
    /* Userinfo. */
    {"http://user:pass@h/", 0, "http://user:pass@h/"},
    {"http://user@h/", 0, "http://user@h/"},
    {"http://user:@h/", 0, "http://user@h/"},
    {"http://:pass@h/", 0, "http://:pass@h/"},
    {"http://@h/", 0, "http://h/"},
    {"http://:@h/", 0, "http://h/"},
    {"http://us%40er:p%3ass@h/", 0, "http://us%40er:p%3Ass@h/"},
    {"http://u%41:p%7e@h/", 0, "http://uA:p~@h/"},
    {"http://u:p:q@h/", 0, "http://u:p:q@h/"},
    {"http://\xc3\xa4:\"@h/", 0, "http://%C3%A4:%22@h/"},
    {"http://a@b@c/", CIO_EURL, "more than one '@'"},
    {"http://a:b@c:d@e/", CIO_EURL, "more than one '@'"},
    {"http://u@/", CIO_EURL, "empty host"},
    /* IPv4 and numbers. */
    {"http://1.2.3.4/", 0, "http://1.2.3.4/"},
    {"http://0.0.0.0/", 0, "http://0.0.0.0/"},
    {"http://255.255.255.255/", 0, "http://255.255.255.255/"},
    {"http://%31%32%37.0.0.1/", 0, "http://127.0.0.1/"},
    {"http://256.0.0.1/", CIO_EURL, "ends in a number"},
    {"http://127.1/", CIO_EURL, "ends in a number"},
    {"http://2130706433/", CIO_EURL, "ends in a number"},
    {"http://0x7f.0.0.1/", CIO_EURL, "ends in a number"},
    {"http://0x7f000001/", CIO_EURL, "ends in a number"},
    {"http://017.0.0.1/", CIO_EURL, "ends in a number"},
    {"http://1.2.3.04/", CIO_EURL, "ends in a number"},
    {"http://1.2.3.4.5/", CIO_EURL, "ends in a number"},
    {"http://1.2.3/", CIO_EURL, "ends in a number"},
    {"http://1.2.3.4./", CIO_EURL, "ends in a number"},
    {"http://foo.0x10/", CIO_EURL, "ends in a number"},
    {"http://example.123/", CIO_EURL, "ends in a number"},
    {"http://0x/", CIO_EURL, "ends in a number"},
    {"http://1.2.3.4x/", 0, "http://1.2.3.4x/"},
    /* IPv6 literals. */
    {"http://[::1]/", 0, "http://[::1]/"},
    {"http://[::1]:8080/x", 0, "http://[::1]:8080/x"},
    {"http://[0:0:0:0:0:0:0:1]/", 0, "http://[::1]/"},
    {"http://[2001:DB8::A]/", 0, "http://[2001:db8::a]/"},
    {"http://[2001:db8:0:0:1:0:0:1]/", 0, "http://[2001:db8::1:0:0:1]/"},
    {"http://[::]/", 0, "http://[::]/"},
    {"http://[::ffff:1.2.3.4]/", 0, "http://[::ffff:1.2.3.4]/"},
    {"http://[1:2:3:4:5:6:7:8]:443/", 0, "http://[1:2:3:4:5:6:7:8]:443/"},
    {"http://[1:2:3:4:5:6:7:8:9]/", CIO_EURL, "invalid IPv6"},
    {"http://[:::]/", CIO_EURL, "invalid IPv6"},
    {"http://[12345::]/", CIO_EURL, "invalid IPv6"},
    {"http://[::1/", CIO_EURL, "without ']'"},
    {"http://[::1]x/", CIO_EURL, "after the IPv6 literal"},
    {"http://[fe80::1%25eth0]/", CIO_EURL, "zone identifiers"},
    {"http://[v1.fe]/", CIO_EURL, "IPvFuture"},
    {"http://[]/", CIO_EURL, "invalid IPv6"},
    {"http://::1/", CIO_EURL, "not a decimal"},
    {"http://a]/", CIO_EURL, "invalid character ']' in host"},
    /* Host characters. */
    {"http://a b/", CIO_EURL, "space at offset 8"},
    {"http://a<b/", CIO_EURL, "invalid character '<' in host"},
    {"http://a%3cb/", CIO_EURL, "invalid character '<' in host"},
    {"http://a%00b/", CIO_EURL, "invalid character 0x00 in host"},
    {"http://a%2fb/", CIO_EURL, "invalid character '/' in host"},
    {"http://a%/", CIO_EURL, "invalid percent-escape"},
    {"http://a..b/", CIO_EURL, "empty label"},
    {"http://.a/", CIO_EURL, "empty label"},
    {"http://./", CIO_EURL, "empty host"},
    {"http:///p", CIO_EURL, "empty host"},
    {"http://a!b/", CIO_EURL, "invalid character '!' in host"},
    {"http://a*b/", CIO_EURL, "invalid character '*' in host"},
    /* IDN. */
    {"http://b\xc3\xbc"
     "cher.example/",
     0, "http://xn--bcher-kva.example/"},
    {"http://B\xc3\x9c"
     "CHER.example/",
     0, "http://xn--bcher-kva.example/"},
    {"http://b%C3%BCcher.example/", 0, "http://xn--bcher-kva.example/"},
    {"http://xn--bcher-kva.example/", 0, "http://xn--bcher-kva.example/"},
    {"http://fa\xc3\x9f.de/", 0, "http://xn--fa-hia.de/"},
    {"http://a\xe3\x80\x82"
     "b/",
     0, "http://a.b/"},
    {"http://\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1/", 0,
     "http://127.0.0.1/"},
    {"http://a\xe2\x80\x8d"
     "b.com/",
     CIO_EURL, "context-j"},
    {"http://\xff.example/", CIO_EURL, "international host name"},
    {"http://\xe2\x98\x83.com/", CIO_EURL, "international host name"},
    {"http://\xef\xbd\x81\xef\xbc\x9c"
     "b.com/",
     CIO_EURL, "invalid character '<'"},
    /* Paths: dot segments, escapes, characters to encode. */
    {"http://a/b/c/./../../g", 0, "http://a/g"},
    {"http://a/../../etc/passwd", 0, "http://a/etc/passwd"},
    {"http://a/%2e%2e/x", 0, "http://a/x"},
    {"http://a/.%2E/x", 0, "http://a/x"},
    {"http://a/%2E/x", 0, "http://a/x"},
    {"http://a/b/..", 0, "http://a/"},
    {"http://a/b/.", 0, "http://a/b/"},
    {"http://a/..%2fx", 0, "http://a/..%2Fx"},
    {"http://a/..;/x", 0, "http://a/..;/x"},
    {"http://a/..%5cx", 0, "http://a/..%5Cx"},
    {"http://a/%%32%65%%32%65/", CIO_EURL,
     "invalid percent-escape at "
     "offset 9"},
    {"http://a/index.html%00.txt", 0, "http://a/index.html%00.txt"},
    {"http://a/%7e%41%5a%61%7a%30%39%2d%2e%5f", 0, "http://a/~AZaz09-._"},
    {"http://a/%3f%23%2F%25%ab", 0, "http://a/%3F%23%2F%25%AB"},
    {"http://a/\"<>\\^`{|}[]", 0, "http://a/%22%3C%3E%5C%5E%60%7B%7C%7D%5B%5D"},
    {"http://a/\xc3\xa4", 0, "http://a/%C3%A4"},
    {"http://a/\xe4", 0, "http://a/%E4"},
    {"http://a/\xc4\x8a\xc4\x8d", 0, "http://a/%C4%8A%C4%8D"},
    {"http://a//b//c", 0, "http://a//b//c"},
    {"http://a/b%20c", 0, "http://a/b%20c"},
    {"http://a/b c", CIO_EURL, "space at offset 10"},
    {"http://a/b\tc", CIO_EURL, "control character 0x09 at offset 10"},
    {"http://a/b\r\nEvil: 1", CIO_EURL, "control character 0x0d"},
    {"http://a/?q=a\r\nEvil: 1", CIO_EURL, "control character 0x0d"},
    {"http://a/\x7f", CIO_EURL, "control character 0x7f"},
    {"http://a/%", CIO_EURL, "invalid percent-escape"},
    {"http://a/%4", CIO_EURL, "invalid percent-escape"},
    {"http://a/%zz", CIO_EURL, "invalid percent-escape"},
    {" http://a/", CIO_EURL, "space at offset 0"},
    {"http://a/ ", CIO_EURL, "space at offset 9"},
    /* Query and fragment. */
    {"http://a/?q=%c3%a4&r=\xc3\xa4", 0, "http://a/?q=%C3%A4&r=%C3%A4"},
    {"http://a/?a=b+c&d=%2B", 0, "http://a/?a=b+c&d=%2B"},
    {"http://a/?x=../y/./z", 0, "http://a/?x=../y/./z"},
    {"http://a/#x#y", 0, "http://a/#x%23y"},
    {"http://a/#\xc3\xbc", 0, "http://a/#%C3%BC"},
    {"http://a/?\"'", 0, "http://a/?%22'"},
    /* Schemes. */
    {"g:h", 0, "g:h"},
    {"mailto:Joe@Example.COM", 0, "mailto:Joe@Example.COM"},
    {"urn:isbn:0451450523", 0, "urn:isbn:0451450523"},
    {"file:///etc/passwd", 0, "file:///etc/passwd"},
    {"FOO://H%41st/p/../q", 0, "foo://hast/q"},
    {"foo://[::1]/", 0, "foo://[::1]/"},
    {"foo://a.b!$/", 0, "foo://a.b!$/"},
    {"foo://\xc3\xa4/", 0, "foo://%C3%A4/"},
    {"foo:", 0, "foo:"},
    {"foo:a/../b", 0, "foo:/b"},
    {"g:/.//x", 0, "g:/.//x"},
    {"g:/a/..//x", 0, "g:/.//x"},
    {"a+b-c.d:x", 0, "a+b-c.d:x"},
    {"javascript:alert(1)", 0, "javascript:alert(1)"},
    {"data:text/plain,hi", 0, "data:text/plain,hi"},
    {"foo://a<b/", CIO_EURL, "invalid character '<' in host"},
    {"http:g", CIO_EURL, "without \"//\""},
    {"http:/g", CIO_EURL, "without \"//\""},
    {"https:", CIO_EURL, "without \"//\""},
    {"1a:b", CIO_EURL, "does not start with a letter"},
    {":x", CIO_EURL, "empty scheme"},
    {"a_b:x", CIO_EURL, "invalid character '_' in scheme"},
    {"/just/a/path", CIO_EURL, "no scheme"},
    {"//host/path", CIO_EURL, "no scheme"},
    {"", CIO_EURL, "no scheme"},
    {"example.com", CIO_EURL, "no scheme"},
};

static void check_vec(size_t i, const struct uvec *v, int rc, cio_url *u)
{
    if (v->rc == 0) {
        cr_expect_eq(rc, 0, "case %zu \"%s\": %s: %s", i, v->in,
                     cio_errname(rc), cio_last_error());
        if (rc == 0)
            cr_expect_str_eq(cio_url_href(u), v->want, "case %zu \"%s\"", i,
                             v->in);
    } else {
        cr_expect_eq(rc, v->rc, "case %zu \"%s\": got %s (%s)", i, v->in,
                     cio_errname(rc), rc == 0 ? cio_url_href(u) : "");
        if (rc != 0)
            cr_expect(strstr(cio_last_error(), v->want) != NULL,
                      "case %zu \"%s\": message \"%s\" lacks \"%s\"", i, v->in,
                      cio_last_error(), v->want);
    }
}

Test(url, vectors)
{
    cr_expect_geq(COUNTOF(uvecs), 120, "only %zu vectors", COUNTOF(uvecs));
    for (size_t i = 0; i < COUNTOF(uvecs); i++) {
        const struct uvec *v = &uvecs[i];
        cio_url *u = NULL;
        int rc = parse_exact(&u, v->in, strlen(v->in));
        check_vec(i, v, rc, u);
        if (rc == 0) {
            /* Normalisation is idempotent. */
            cio_url *w;
            CIO_EXPECT_RC(cio_url_parse(&w, cio_url_href(u),
                                        strlen(cio_url_href(u)), NULL),
                          0);
            cr_expect_str_eq(cio_url_href(w), cio_url_href(u), "case %zu", i);
            cio_url_free(w);
            cio_url_free(u);
        }
    }
    cio_test_no_leaks();
}

/* Each input parsed as the prefix of a longer buffer gives the same
 * result: nothing past len is read. */
Test(url, vectors_as_prefix_of_longer_buffer)
{
    static const char *tails[] = {"/x", "?y", "#z", "@w", ":9", "]", "%", " "};
    for (size_t i = 0; i < COUNTOF(uvecs); i++) {
        for (size_t t = 0; t < COUNTOF(tails); t++) {
            char buf[512];
            size_t n = strlen(uvecs[i].in);
            snprintf(buf, sizeof(buf), "%s%s", uvecs[i].in, tails[t]);
            cio_url *u = NULL;
            int rc = cio_url_parse(&u, buf, n, NULL);
            check_vec(i, &uvecs[i], rc, u);
            cio_url_free(rc == 0 ? u : NULL);
        }
    }
}

/* ------------------------------------------------------------ components */

Test(url, components_of_a_full_url)
{
    static const char s[] = "HTTPS://Us%65r:p%40ss%3Aw@B\xc3\xbc"
                            "cher.Example:8443/a/./b/../c?q=1&r#Frag";
    cio_url *u;
    CIO_ASSERT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), 0);
    cr_expect_str_eq(cio_url_href(u),
                     "https://User:p%40ss%3Aw@"
                     "xn--bcher-kva.example:8443/a/c?q=1&r#Frag");
    cr_expect_str_eq(cio_url_scheme(u).ptr, "https");
    cr_expect_eq(cio_url_scheme_id(u), CIO_SCHEME_HTTPS);
    cr_expect(cio_url_is_secure(u));
    cr_expect_str_eq(cio_url_username(u).ptr, "User");
    cr_expect_str_eq(cio_url_password(u).ptr, "p@ss:w");
    cr_expect(cio_url_has_userinfo(u));
    cr_expect_str_eq(cio_url_host(u).ptr, "xn--bcher-kva.example");
    cr_expect_eq(cio_url_host_kind(u), CIO_HOST_NAME);
    cr_expect_str_eq(cio_url_hostport(u).ptr, "xn--bcher-kva.example:8443");
    cr_expect_eq(cio_url_port(u), 8443);
    cr_expect_str_eq(cio_url_path(u).ptr, "/a/c");
    cr_expect_str_eq(cio_url_query(u).ptr, "q=1&r");
    cr_expect_str_eq(cio_url_fragment(u).ptr, "Frag");
    cr_expect_str_eq(cio_url_target(u).ptr, "/a/c?q=1&r");
    cr_expect_str_eq(cio_url_origin(u).ptr,
                     "https://xn--bcher-kva.example:8443");
    cr_expect(cio_url_has_query(u) && cio_url_has_fragment(u));
    cio_url_free(u);
}

Test(url, components_defaults_and_absent_parts)
{
    static const struct {
        const char *in, *host, *hostport, *target, *origin;
        int port;
        enum cio_url_host_kind kind;
        enum cio_url_scheme_id sid;
    } cases[] = {
        {"http://a", "a", "a", "/", "http://a", 80, CIO_HOST_NAME,
         CIO_SCHEME_HTTP},
        {"https://a", "a", "a", "/", "https://a", 443, CIO_HOST_NAME,
         CIO_SCHEME_HTTPS},
        {"ws://a", "a", "a", "/", "ws://a", 80, CIO_HOST_NAME, CIO_SCHEME_WS},
        {"wss://a:444", "a", "a:444", "/", "wss://a:444", 444, CIO_HOST_NAME,
         CIO_SCHEME_WSS},
        {"http://[::1]:8080/p?", "::1", "[::1]:8080", "/p?",
         "http://[::1]:8080", 8080, CIO_HOST_IPV6, CIO_SCHEME_HTTP},
        {"https://[::1]/", "::1", "[::1]", "/", "https://[::1]", 443,
         CIO_HOST_IPV6, CIO_SCHEME_HTTPS},
        {"http://10.0.0.1:81", "10.0.0.1", "10.0.0.1:81", "/",
         "http://10.0.0.1:81", 81, CIO_HOST_IPV4, CIO_SCHEME_HTTP},
        {"mailto:a@b", "", "", "a@b", "null", -1, CIO_HOST_NONE,
         CIO_SCHEME_OTHER},
        {"file:///x", "", "", "/x", "null", -1, CIO_HOST_NAME,
         CIO_SCHEME_OTHER},
        {"foo://[::1]:7/", "::1", "[::1]:7", "/", "null", 7, CIO_HOST_IPV6,
         CIO_SCHEME_OTHER},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        cio_url *u;
        CIO_ASSERT_RC(cio_url_parse(&u, cases[i].in, strlen(cases[i].in), NULL),
                      0);
        cr_expect_str_eq(cio_url_host(u).ptr, cases[i].host, "%s", cases[i].in);
        cr_expect_str_eq(cio_url_hostport(u).ptr, cases[i].hostport, "%s",
                         cases[i].in);
        cr_expect_str_eq(cio_url_target(u).ptr, cases[i].target, "%s",
                         cases[i].in);
        cr_expect_str_eq(cio_url_origin(u).ptr, cases[i].origin, "%s",
                         cases[i].in);
        cr_expect_eq(cio_url_port(u), cases[i].port, "%s", cases[i].in);
        cr_expect_eq(cio_url_host_kind(u), cases[i].kind, "%s", cases[i].in);
        cr_expect_eq(cio_url_scheme_id(u), cases[i].sid, "%s", cases[i].in);
        cr_expect(!cio_url_has_userinfo(u));
        cr_expect_eq(cio_url_username(u).len, 0);
        cio_url_free(u);
    }
}

Test(url, decoded_password_may_contain_nul)
{
    static const char s[] = "http://u%00v:p%00q@h/";
    cio_url *u;
    CIO_ASSERT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), 0);
    cr_expect_eq(cio_url_username(u).len, 3);
    cr_expect(memcmp(cio_url_username(u).ptr, "u\0v", 4) == 0);
    cr_expect_eq(cio_url_password(u).len, 3);
    cr_expect(memcmp(cio_url_password(u).ptr, "p\0q", 4) == 0);
    cio_url_free(u);
}

Test(url, nul_byte_inside_input_is_rejected)
{
    static const char s[] = "http://a/b\0c";
    cio_url *u = (cio_url *)&u;
    CIO_EXPECT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), CIO_EURL);
    cr_expect(strstr(cio_last_error(), "control character 0x00 at offset 10"));
    cr_expect_eq(u, (cio_url *)&u, "*out written on failure");
}

Test(url, bad_arguments)
{
    cio_url *u;
    CIO_EXPECT_RC(cio_url_parse(NULL, "http://a/", 9, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_parse(&u, NULL, 3, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_parse(&u, NULL, 0, NULL), CIO_EURL);
    cio_url_free(NULL);
}

/* ---------------------------------------------------------------- limits */

Test(url, length_limit)
{
    size_t n = CIO_URL_MAX_LEN;
    char *s = malloc(n + 2);
    cio_url *u;
    memcpy(s, "http://a/", 9);
    memset(s + 9, 'x', n + 1 - 9);
    CIO_EXPECT_RC(cio_url_parse(&u, s, n, NULL), 0);
    cr_expect_eq(strlen(cio_url_href(u)), n);
    cio_url_free(u);
    CIO_EXPECT_RC(cio_url_parse(&u, s, n + 1, NULL), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "limit is 8192"), "%s",
              cio_last_error());

    /* The normalised form counts too: 3000 non-ASCII bytes become 9000. */
    memset(s + 9, '\xe4', 3000);
    CIO_EXPECT_RC(cio_url_parse(&u, s, 3009, NULL), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "normalised"), "%s", cio_last_error());

    struct cio_url_opts o = {.max_len = 100000};
    CIO_EXPECT_RC(cio_url_parse(&u, s, 3009, &o), 0);
    cr_expect_eq(strlen(cio_url_href(u)), 9 + 9000);
    cio_url_free(u);
    o.max_len = 20;
    CIO_EXPECT_RC(cio_url_parse(&u, "http://example.com/abc", 22, &o),
                  CIO_ETOOBIG);
    CIO_EXPECT_RC(cio_url_parse(&u, "http://example.com/a", 20, &o), 0);
    /* Derived URLs keep the limit. */
    cio_url *r;
    CIO_EXPECT_RC(cio_url_resolve(&r, u, "abcdef", 6), CIO_ETOOBIG);
    CIO_EXPECT_RC(cio_url_resolve(&r, u, "b", 1), 0);
    cio_url_free(r);
    CIO_EXPECT_RC(
        cio_url_add_params(&r, u, (struct cio_kv[]){{"k", "v"}, {NULL, NULL}}),
        CIO_ETOOBIG);
    cio_url_free(u);
    free(s);
}

Test(url, host_length_limits)
{
    static const struct {
        size_t label, nlabels;
        int rc;
        const char *msg;
    } cases[] = {
        {63, 1, 0, ""},
        {64, 1, CIO_EURL, "label longer than 63"},
        {63, 4, CIO_EURL, "longer than 253"}, /* 255 bytes */
        {49, 5, 0, ""},                       /* 249 bytes */
        {63, 20, CIO_EURL, "host longer than 1024"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        char s[2048] = "http://";
        size_t n = 7;
        for (size_t l = 0; l < cases[i].nlabels; l++) {
            if (l > 0)
                s[n++] = '.';
            memset(s + n, 'a' + (int)l % 26, cases[i].label);
            n += cases[i].label;
        }
        cio_url *u;
        int rc = cio_url_parse(&u, s, n, NULL);
        cr_expect_eq(rc, cases[i].rc, "case %zu: %s", i, cio_last_error());
        if (rc == 0)
            cio_url_free(u);
        else
            cr_expect(strstr(cio_last_error(), cases[i].msg), "case %zu: %s", i,
                      cio_last_error());
    }
    /* The same through libidn2: a long international label. */
    char s[512] = "http://\xc3\xa4";
    memset(s + 9, 'b', 70);
    CIO_EXPECT_RC(cio_url_parse(&(cio_url *){NULL}, s, 9 + 70, NULL), CIO_EURL);
}

/* ----------------------------------------------------- RFC 3986 §5.4 */

static const char rfc_base[] = "http://a/b/c/d;p?q";

static const struct {
    const char *ref, *rfc, *norm; /* norm: cio_url_resolve's href, NULL
                                       for CIO_EURL */
} rfc54[] = {
    /* §5.4.1 normal examples */
    {"g:h", "g:h", "g:h"},
    {"g", "http://a/b/c/g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/", "http://a/b/c/g/"},
    {"/g", "http://a/g", "http://a/g"},
    {"//g", "http://g", "http://g/"},
    {"?y", "http://a/b/c/d;p?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "http://a/b/c/g#s", "http://a/b/c/g#s"},
    {"g?y#s", "http://a/b/c/g?y#s", "http://a/b/c/g?y#s"},
    {";x", "http://a/b/c/;x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y#s", "http://a/b/c/g;x?y#s"},
    {"", "http://a/b/c/d;p?q", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/", "http://a/b/c/"},
    {"./", "http://a/b/c/", "http://a/b/c/"},
    {"..", "http://a/b/", "http://a/b/"},
    {"../", "http://a/b/", "http://a/b/"},
    {"../g", "http://a/b/g", "http://a/b/g"},
    {"../..", "http://a/", "http://a/"},
    {"../../", "http://a/", "http://a/"},
    {"../../g", "http://a/g", "http://a/g"},
    /* §5.4.2 abnormal examples */
    {"../../../g", "http://a/g", "http://a/g"},
    {"../../../../g", "http://a/g", "http://a/g"},
    {"/./g", "http://a/g", "http://a/g"},
    {"/../g", "http://a/g", "http://a/g"},
    {"g.", "http://a/b/c/g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g#s/./x", "http://a/b/c/g#s/./x"},
    {"g#s/../x", "http://a/b/c/g#s/../x", "http://a/b/c/g#s/../x"},
    /* strict parsers: "http:g" is absolute, and has no host */
    {"http:g", "http:g", NULL},
};

Test(url, rfc3986_5_4_resolution_exact)
{
    for (size_t i = 0; i < COUNTOF(rfc54); i++) {
        char out[256];
        ptrdiff_t n =
            cio__url_resolve_str(out, sizeof(out), rfc_base, strlen(rfc_base),
                                 rfc54[i].ref, strlen(rfc54[i].ref));
        cr_expect_geq(n, 0, "\"%s\": %s", rfc54[i].ref, cio_last_error());
        if (n >= 0)
            cr_expect_str_eq(out, rfc54[i].rfc, "\"%s\"", rfc54[i].ref);
    }
}

Test(url, rfc3986_5_4_resolution_normalised)
{
    cio_url *base;
    CIO_ASSERT_RC(cio_url_parse(&base, rfc_base, strlen(rfc_base), NULL), 0);
    for (size_t i = 0; i < COUNTOF(rfc54); i++) {
        cio_url *r = NULL;
        size_t n = strlen(rfc54[i].ref);
        char *copy = malloc(n + 1);
        memcpy(copy, rfc54[i].ref, n);
        int rc = cio_url_resolve(&r, base, copy, n);
        free(copy);
        if (rfc54[i].norm == NULL) {
            CIO_EXPECT_RC(rc, CIO_EURL);
            continue;
        }
        cr_expect_eq(rc, 0, "\"%s\": %s", rfc54[i].ref, cio_last_error());
        if (rc == 0) {
            cr_expect_str_eq(cio_url_href(r), rfc54[i].norm, "\"%s\"",
                             rfc54[i].ref);
            cio_url_free(r);
        }
    }
    cio_url_free(base);
    cio_test_no_leaks();
}

Test(url, resolution_more_cases)
{
    static const struct {
        const char *base, *ref, *want; /* want NULL: CIO_EURL */
    } cases[] = {
        /* The base's fragment never carries over; the ref's does. */
        {"http://a/b?q#f", "", "http://a/b?q"},
        {"http://a/b?q#f", "#g", "http://a/b?q#g"},
        /* Redirect Location forms. */
        {"http://a/b/c", "https://other.example/x", "https://other.example/x"},
        {"http://a/b/c", "//other:8080/x", "http://other:8080/x"},
        {"https://a:8443/b/c", "/x?y=1", "https://a:8443/x?y=1"},
        {"http://u:p@a/b", "/x", "http://u:p@a/x"},
        {"http://a/b", "//u@c/", "http://u@c/"},
        {"http://a/b", "/\xc3\xa4 ", NULL},
        {"http://a/b", "/\xc3\xa4", "http://a/%C3%A4"},
        {"http://a/b", "x y", NULL},
        {"http://a/b", "%zz", NULL},
        {"http://a/b", "/%2e%2e/%2e%2e/etc", "http://a/etc"},
        {"http://a/b", "..%2f..%2fetc", "http://a/..%2F..%2Fetc"},
        {"http://a/b", "javascript:alert(1)", "javascript:alert(1)"},
        {"http://a/b", "HTTP://X.Y", "http://x.y/"},
        {"http://a/b", "//", NULL},
        {"http://a/b", "//[::1", NULL},
        {"http://a/b", "1a:b", NULL},
        {"http://a/b", "./1a:b", "http://a/1a:b"},
        {"http://a", "x", "http://a/x"},
        /* Generic bases. */
        {"g:a/b", "c", "g:a/c"},
        {"g:a/b", "../../c", "g:/c"},
        {"g:/a", "/.//x", "g:/.//x"},
        {"mailto:a@b", "c", "mailto:c"},
        {"foo://h", "x", "foo://h/x"},
        {"file:///etc/passwd", "../../x", "file:///x"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        cio_url *b, *r = NULL;
        CIO_ASSERT_RC(
            cio_url_parse(&b, cases[i].base, strlen(cases[i].base), NULL), 0);
        int rc = cio_url_resolve(&r, b, cases[i].ref, strlen(cases[i].ref));
        if (cases[i].want == NULL) {
            cr_expect_eq(rc, CIO_EURL, "%s + %s: %s", cases[i].base,
                         cases[i].ref, cio_errname(rc));
        } else {
            cr_expect_eq(rc, 0, "%s + %s: %s", cases[i].base, cases[i].ref,
                         cio_last_error());
            if (rc == 0)
                cr_expect_str_eq(cio_url_href(r), cases[i].want, "%s + %s",
                                 cases[i].base, cases[i].ref);
            cio_url_free(r);
        }
        cio_url_free(b);
    }
}

Test(url, resolve_bad_arguments_and_limits)
{
    cio_url *b, *r = NULL;
    struct cio_url_opts o = {.max_len = 16};
    CIO_ASSERT_RC(cio_url_parse(&b, "http://a/b", 10, &o), 0);
    CIO_EXPECT_RC(cio_url_resolve(NULL, b, "x", 1), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_resolve(&r, NULL, "x", 1), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_resolve(&r, b, NULL, 1), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_resolve(&r, b, NULL, 0), 0);
    cr_expect_str_eq(cio_url_href(r), "http://a/b");
    cio_url_free(r);
    CIO_EXPECT_RC(cio_url_resolve(&r, b, "http://abcdefghij", 17), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "reference of 17 bytes"), "%s",
              cio_last_error());
    CIO_EXPECT_RC(cio_url_dup(NULL, b), CIO_EINVAL);
    CIO_EXPECT_RC(cio_url_add_params(&r, NULL, NULL), CIO_EINVAL);
    cio_url_free(b);

    char out[16];
    CIO_EXPECT_RC(cio__url_resolve_str(out, sizeof(out), "x/y", 3, "z", 1),
                  CIO_EURL);
    CIO_EXPECT_RC(cio__url_resolve_str(out, sizeof(out), "http://a/b", 10,
                                       "../cdefghij", 11),
                  CIO_ETOOBIG);
    CIO_EXPECT_RC(cio__url_resolve_str(out, 0, "g:", 2, "", 0), CIO_ETOOBIG);
}

Test(url, remove_dot_segments)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"/a/b/c/./../../g", "/a/g"},    /* RFC 3986 §5.2.4 */
        {"mid/content=5/../6", "mid/6"}, /* RFC 3986 §5.2.4 */
        {"", ""},
        {"/", "/"},
        {".", ""},
        {"..", ""},
        {"/.", "/"},
        {"/..", "/"},
        {"../a", "a"},
        {"./a", "a"},
        {"a/..", "/"},
        {"/a/../../b", "/b"},
        {"/a/./b/", "/a/b/"},
        {"/a/b/..", "/a/"},
        {"//..//", "//"},
        {"/.../", "/.../"},
        {"/a//../b", "/a/b"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        char buf[64];
        size_t n = strlen(cases[i].in);
        memcpy(buf, cases[i].in, n);
        n = cio__url_remove_dots(buf, n);
        cr_expect(n == strlen(cases[i].out) &&
                      memcmp(buf, cases[i].out, n) == 0,
                  "\"%s\" gave \"%.*s\", want \"%s\"", cases[i].in, (int)n, buf,
                  cases[i].out);
    }
}

/* --------------------------------------------- RELIABILITY.md defences */

/* Item 43 (CVE-2018-12116): U+010A and U+010D would become CR/LF if cut to
 * Latin-1; they must go out as percent-encoded UTF-8. */
Test(url, non_ascii_path_is_utf8_percent_encoded_not_truncated)
{
    static const char s[] = "http://a/\xc4\x8a\xc4\x8d/\xe4\xb8\xad?\xc4\x8a";
    cio_url *u;
    CIO_ASSERT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), 0);
    cr_expect_str_eq(cio_url_target(u).ptr, "/%C4%8A%C4%8D/%E4%B8%AD?%C4%8A");
    struct cio_str t = cio_url_target(u);
    for (size_t i = 0; i < t.len; i++)
        cr_expect((unsigned char)t.ptr[i] > 0x20 &&
                  (unsigned char)t.ptr[i] < 0x7f);
    cio_url_free(u);
}

/* Item 42: CR, LF, NUL, space in path or query never reach the wire. */
Test(url, crlf_nul_space_in_target_are_rejected)
{
    static const char *bad[] = {
        "http://a/x\r\nEvil: 1", "http://a/?q=1\r\nEvil: 1", "http://a/\n",
        "http://a/#\r",          "http://a/ HTTP/1.1",       "http://a\r\n/",
        "http://u\r\n@a/",
    };
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        cio_url *u;
        CIO_EXPECT_RC(cio_url_parse(&u, bad[i], strlen(bad[i]), NULL),
                      CIO_EURL);
    }
    static const char nul[] = "http://a/?q=\0";
    cio_url *u, *b;
    CIO_EXPECT_RC(cio_url_parse(&u, nul, sizeof(nul) - 1, NULL), CIO_EURL);
    CIO_ASSERT_RC(cio_url_parse(&b, "http://a/", 9, NULL), 0);
    CIO_EXPECT_RC(cio_url_resolve(&u, b, "/x\r\nEvil: 1", 11), CIO_EURL);
    cr_expect(strstr(cio_last_error(), "reference: control character 0x0d at "
                                       "offset 2"),
              "%s", cio_last_error());
    /* Escaped CR/LF stay escaped. */
    CIO_ASSERT_RC(cio_url_resolve(&u, b, "/x%0D%0AEvil:%201", 17), 0);
    cr_expect_str_eq(cio_url_target(u).ptr, "/x%0D%0AEvil:%201");
    cio_url_free(u);
    cio_url_free(b);
}

/* Item 72: dot segments, plain or escaped, never climb above the root;
 * double encoding is not decoded twice; an encoded '/' stays encoded. */
Test(url, dot_segments_never_climb_above_root)
{
    static const struct {
        const char *in, *path;
    } cases[] = {
        {"http://a/../x", "/x"},
        {"http://a/%2e%2e/x", "/x"},
        {"http://a/.%2E/x", "/x"},
        {"http://a/%2E%2e/%2e%2E/%2e%2e/etc/passwd", "/etc/passwd"},
        {"http://a/b/../../../../x", "/x"},
        {"http://a/..%2f", "/..%2F"},
        {"http://a/..;/", "/..;/"},
        {"http://a/..%5c", "/..%5C"},
        {"http://a/%c0%ae%c0%ae/", "/%C0%AE%C0%AE/"},
        {"http://a/%252e%252e/", "/%252e%252e/"},
        {"http://a/index.html%00.txt", "/index.html%00.txt"},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        cio_url *u;
        CIO_ASSERT_RC(cio_url_parse(&u, cases[i].in, strlen(cases[i].in), NULL),
                      0);
        cr_expect_str_eq(cio_url_path(u).ptr, cases[i].path, "%s", cases[i].in);
        cio_url_free(u);
    }
    cio_url *u;
    CIO_EXPECT_RC(cio_url_parse(&u, "http://a/%%32%65%%32%65/", 24, NULL),
                  CIO_EURL);
}

/* Items 38-39: redirect decisions compare scheme, host and port. */
Test(url, same_origin_needs_same_scheme_host_and_port)
{
    static const struct {
        const char *a, *b;
        int same;
    } cases[] = {
        {"http://a/x", "http://a/y?z#w", 1},
        {"http://a/", "http://A:80/", 1},
        {"http://u:p@a/", "http://a/", 1},
        {"http://a/", "https://a/", 0},
        {"http://a/", "http://a:8080/", 0},
        {"http://a/", "http://b/", 0},
        {"http://a/", "ws://a/", 0},
        {"https://a/", "https://a:443/", 1},
        {"http://[::1]/", "http://[0::1]/", 1},
        {"http://127.0.0.2/", "http://127.0.0.3/", 0},
        {"http://b\xc3\xbc"
         "cher.de/",
         "http://xn--bcher-kva.de/", 1},
        {"foo://a/", "foo://a/", 0},
    };
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        cio_url *a, *b;
        CIO_ASSERT_RC(cio_url_parse(&a, cases[i].a, strlen(cases[i].a), NULL),
                      0);
        CIO_ASSERT_RC(cio_url_parse(&b, cases[i].b, strlen(cases[i].b), NULL),
                      0);
        cr_expect_eq(cio_url_same_origin(a, b), cases[i].same, "%s vs %s",
                     cases[i].a, cases[i].b);
        cr_expect_eq(cio_url_same_origin(b, a), cases[i].same);
        cio_url_free(a);
        cio_url_free(b);
    }
}

/* Item 40: a Referer or a log line never carries the userinfo. */
Test(url, format_without_userinfo_or_fragment)
{
    static const char s[] = "https://user:secret@a.example:8443/p?q#frag";
    cio_url *u;
    char buf[128];
    CIO_ASSERT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), 0);
    cr_expect_eq(cio_url_format(u, buf, sizeof(buf), 0), (ptrdiff_t)strlen(s));
    cr_expect_str_eq(buf, s);
    cr_expect_eq(cio_url_format(u, NULL, 0, CIO_URL_FMT_NO_USERINFO), 31);
    cio_url_format(u, buf, sizeof(buf), CIO_URL_FMT_NO_USERINFO);
    cr_expect_str_eq(buf, "https://a.example:8443/p?q#frag");
    cio_url_format(u, buf, sizeof(buf), CIO_URL_FMT_NO_FRAGMENT);
    cr_expect_str_eq(buf, "https://user:secret@a.example:8443/p?q");
    ptrdiff_t n = cio_url_format(
        u, buf, sizeof(buf), CIO_URL_FMT_NO_USERINFO | CIO_URL_FMT_NO_FRAGMENT);
    cr_expect_str_eq(buf, "https://a.example:8443/p?q");
    cr_expect_eq(n, 26);
    memset(buf, 'X', sizeof(buf));
    CIO_EXPECT_RC(
        cio_url_format(u, buf, 26,
                       CIO_URL_FMT_NO_USERINFO | CIO_URL_FMT_NO_FRAGMENT),
        CIO_ETOOBIG);
    cr_expect_eq(buf[0], 'X', "dst written on failure");
    cio_url_free(u);
}

/* Item 41: the client refuses these schemes; the parser reports them as
 * generic so it can. */
Test(url, non_http_redirect_targets_are_generic)
{
    static const char *refs[] = {"file:///etc/passwd", "ftp://a/x",
                                 "data:text/html,<b>", "javascript:alert(1)",
                                 "JavaScript:alert(1)"};
    cio_url *b;
    CIO_ASSERT_RC(cio_url_parse(&b, "https://a/", 10, NULL), 0);
    for (size_t i = 0; i < COUNTOF(refs); i++) {
        cio_url *r;
        CIO_ASSERT_RC(cio_url_resolve(&r, b, refs[i], strlen(refs[i])), 0);
        cr_expect_eq(cio_url_scheme_id(r), CIO_SCHEME_OTHER, "%s", refs[i]);
        cr_expect(!cio_url_same_origin(b, r));
        cio_url_free(r);
    }
    cio_url_free(b);
}

/* -------------------------------------------------------------- params */

Test(url, seeds_params_example)
{
    /* params = {"page": 2, "limit": 10, "filter": "active"} (seed 002) */
    const struct cio_kv params[] = {
        {"page", "2"}, {"limit", "10"}, {"filter", "active"}, {NULL, NULL}};
    char q[64];
    cr_expect_eq(cio_query_encode(q, sizeof(q), params, 0), 29);
    cr_expect_str_eq(q, "page=2&limit=10&filter=active");

    cio_url *u, *r;
    CIO_ASSERT_RC(cio_url_parse(&u, "https://api.example.com/users", 29, NULL),
                  0);
    CIO_ASSERT_RC(cio_url_add_params(&r, u, params), 0);
    cr_expect_str_eq(
        cio_url_href(r),
        "https://api.example.com/users?page=2&limit=10&filter=active");
    cr_expect_str_eq(cio_url_target(r).ptr,
                     "/users?page=2&limit=10&filter=active");
    cio_url_free(r);
    cio_url_free(u);

    /* params={'id': student_id} (seed 003) */
    static const char s[] = "http://127.0.0.1:8080/getStudentInfo";
    CIO_ASSERT_RC(cio_url_parse(&u, s, sizeof(s) - 1, NULL), 0);
    CIO_ASSERT_RC(
        cio_url_add_params(&r, u, (struct cio_kv[]){{"id", "1"}, {NULL, NULL}}),
        0);
    cr_expect_str_eq(cio_url_href(r),
                     "http://127.0.0.1:8080/getStudentInfo?id=1");
    cr_expect_str_eq(cio_url_target(r).ptr, "/getStudentInfo?id=1");
    cr_expect_str_eq(cio_url_hostport(r).ptr, "127.0.0.1:8080");
    cio_url_free(r);
    cio_url_free(u);
}

Test(url, add_params_to_existing_query_and_fragment)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"http://a/p", "http://a/p?k=v%20w&k=&flag&%C3%A4=%26%3D%2B"},
        {"http://a/p?", "http://a/p?k=v%20w&k=&flag&%C3%A4=%26%3D%2B"},
        {"http://a/p?x=1", "http://a/p?x=1&k=v%20w&k=&flag&%C3%A4=%26%3D%2B"},
        {"http://a/p?x=1#f",
         "http://a/p?x=1&k=v%20w&k=&flag&%C3%A4=%26%3D%2B#f"},
        {"http://a/p#f", "http://a/p?k=v%20w&k=&flag&%C3%A4=%26%3D%2B#f"},
        {"http://a/p?#", "http://a/p?k=v%20w&k=&flag&%C3%A4=%26%3D%2B#"},
    };
    const struct cio_kv params[] = {{"k", "v w"},
                                    {"k", ""},
                                    {"flag", NULL},
                                    {"\xc3\xa4", "&=+"},
                                    {NULL, NULL}};
    for (size_t i = 0; i < COUNTOF(cases); i++) {
        cio_url *u, *r;
        CIO_ASSERT_RC(cio_url_parse(&u, cases[i].in, strlen(cases[i].in), NULL),
                      0);
        CIO_ASSERT_RC(cio_url_add_params(&r, u, params), 0);
        cr_expect_str_eq(cio_url_href(r), cases[i].want);
        cio_url_free(r);
        CIO_ASSERT_RC(cio_url_add_params(&r, u, NULL), 0);
        cr_expect_str_eq(cio_url_href(r), cio_url_href(u));
        cio_url_free(r);
        CIO_ASSERT_RC(cio_url_dup(&r, u), 0);
        cr_expect_str_eq(cio_url_href(r), cio_url_href(u));
        cr_expect_str_eq(cio_url_host(r).ptr, "a");
        cio_url_free(r);
        cio_url_free(u);
    }
}

static const struct qvec {
    const char *in;
    unsigned flags;
    int rc;
    const char *pairs; /* "name=value|name=value" as decoded, or message */
} qvecs[] = {
    {"", 0, 0, ""},
    {"a=1", 0, 0, "a=1"},
    {"a=1&b=2&a=3", 0, 0, "a=1|b=2|a=3"},
    {"a=1&&b=2&", 0, 0, "a=1|b=2"},
    {"&&&", 0, 0, ""},
    {"a", 0, 0, "a="},
    {"=", 0, 0, "="},
    {"=v", 0, 0, "=v"},
    {"a=b=c", 0, 0, "a=b=c"},
    {"a+b=c+d", 0, 0, "a+b=c+d"},
    {"a+b=c+d", CIO_QUERY_FORM, 0, "a b=c d"},
    {"a%20b=%2B", 0, 0, "a b=+"},
    {"a%20b=%2B", CIO_QUERY_FORM, 0, "a b=+"},
    {"%C3%A4=%e2%82%ac", 0, 0, "\xc3\xa4=\xe2\x82\xac"},
    {"\xc3\xa4=raw", 0, 0, "\xc3\xa4=raw"},
    {"a=%26%3D", 0, 0, "a=&="},
    {"a=%zz", 0, CIO_EURL, "invalid percent-escape at offset 2"},
    {"a=1&b=%4", 0, CIO_EURL, "invalid percent-escape at offset 6"},
    {"a=%", 0, CIO_EURL, "invalid percent-escape"},
    {"a=%zz&b=%4&c=%", CIO_QUERY_LENIENT, 0, "a=%zz|b=%4|c=%"},
    {"a=%zz+%41", CIO_QUERY_LENIENT | CIO_QUERY_FORM, 0, "a=%zz A"},
    {"a=%2541", 0, 0, "a=%41"},
    {"a;b=c", 0, 0, "a;b=c"},
};

static void check_pairs(const cio_params *p, const char *want, const char *ctx)
{
    char got[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < cio_params_count(p); i++) {
        struct cio_str n = cio_params_name(p, i), v = cio_params_value(p, i);
        cr_assert(n.ptr[n.len] == '\0' && v.ptr[v.len] == '\0');
        o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s=%.*s",
                              i > 0 ? "|" : "", (int)n.len, n.ptr, (int)v.len,
                              v.ptr);
    }
    cr_expect_str_eq(got, want, "%s", ctx);
}

Test(url, query_parse_vectors)
{
    for (size_t i = 0; i < COUNTOF(qvecs); i++) {
        struct cio_query_opts o = {.flags = qvecs[i].flags};
        size_t n = strlen(qvecs[i].in);
        char *copy = malloc(n + 1);
        memcpy(copy, qvecs[i].in, n);
        cio_params *p = NULL;
        int rc = cio_query_parse(&p, copy, n, &o);
        free(copy);
        cr_expect_eq(rc, qvecs[i].rc, "case %zu \"%s\": %s", i, qvecs[i].in,
                     cio_errname(rc));
        if (rc == 0) {
            check_pairs(p, qvecs[i].pairs, qvecs[i].in);
            cio_params_free(p);
        } else {
            cr_expect(strstr(cio_last_error(), qvecs[i].pairs), "case %zu: %s",
                      i, cio_last_error());
        }
    }
}

Test(url, query_get_first_value)
{
    cio_params *p;
    CIO_ASSERT_RC(cio_query_parse(&p, "a=1&b=2&a=3&c", 13, NULL), 0);
    cr_expect_eq(cio_params_count(p), 4);
    cr_expect_str_eq(cio_params_get(p, "a"), "1");
    cr_expect_str_eq(cio_params_get(p, "b"), "2");
    cr_expect_str_eq(cio_params_get(p, "c"), "");
    cr_expect_null(cio_params_get(p, "d"));
    cr_expect_null(cio_params_get(p, "A"));
    cio_params_free(p);
    cio_params_free(NULL);
}

Test(url, query_limits)
{
    /* 1000 pairs pass, 1001 fail by default. */
    char *s = malloc(4 * 1001 + 1);
    size_t n = 0;
    for (int i = 0; i < 1001; i++)
        n += (size_t)sprintf(s + n, "%sa=%d", i ? "&" : "", i % 10);
    size_t n1000 = (size_t)(strrchr(s, '&') - s);
    cio_params *p;
    CIO_EXPECT_RC(cio_query_parse(&p, s, n1000, NULL), 0);
    cr_expect_eq(cio_params_count(p), 1000);
    cio_params_free(p);
    CIO_EXPECT_RC(cio_query_parse(&p, s, n, NULL), CIO_ETOOBIG);
    cr_expect(strstr(cio_last_error(), "more than 1000 pairs"), "%s",
              cio_last_error());
    struct cio_query_opts o = {.max_pairs = 3};
    CIO_EXPECT_RC(cio_query_parse(&p, "a&b&c&d", 7, &o), CIO_ETOOBIG);
    CIO_EXPECT_RC(cio_query_parse(&p, "a&b&&&c&", 8, &o), 0);
    cio_params_free(p);
    o = (struct cio_query_opts){.max_len = 5};
    CIO_EXPECT_RC(cio_query_parse(&p, "a=123", 5, &o), 0);
    cio_params_free(p);
    CIO_EXPECT_RC(cio_query_parse(&p, "a=1234", 6, &o), CIO_ETOOBIG);
    /* The default total size is 64 KiB. */
    char *big = malloc(64 * 1024 + 1);
    memset(big, 'x', 64 * 1024 + 1);
    CIO_EXPECT_RC(cio_query_parse(&p, big, 64 * 1024, NULL), 0);
    cr_expect_eq(cio_params_name(p, 0).len, 64 * 1024);
    cio_params_free(p);
    CIO_EXPECT_RC(cio_query_parse(&p, big, 64 * 1024 + 1, NULL), CIO_ETOOBIG);
    free(big);
    free(s);
}

Test(url, query_encode_and_append)
{
    char buf[128];
    const struct cio_kv kv[] = {{"a b", "c d"},    {"x", "1+1=2"},
                                {"e", ""},         {"f", NULL},
                                {"~-._", "!*'()"}, {NULL, NULL}};
    cr_expect_eq(cio_query_encode(NULL, 0, kv, 0), 49);
    cr_expect_eq(cio_query_encode(buf, sizeof(buf), kv, 0), 49);
    cr_expect_str_eq(buf, "a%20b=c%20d&x=1%2B1%3D2&e=&f&~-._=%21%2A%27%28%29");
    cio_query_encode(buf, sizeof(buf), kv, CIO_QUERY_FORM);
    cr_expect_str_eq(buf, "a+b=c+d&x=1%2B1%3D2&e=&f&~-._=%21%2A%27%28%29");
    memset(buf, 'X', sizeof(buf));
    CIO_EXPECT_RC(cio_query_encode(buf, 49, kv, 0), CIO_ETOOBIG);
    cr_expect_eq(buf[0], 'X');
    cr_expect_eq(cio_query_encode(buf, 1, (struct cio_kv[]){{NULL, NULL}}, 0),
                 0);
    cr_expect_str_eq(buf, "");

    /* Append builds the same string, one pair at a time, binary-safe. */
    size_t len = 0;
    ptrdiff_t n = cio_query_append(buf, sizeof(buf), len, CIO_STR_LIT("k"),
                                   CIO_STR_LIT("v\0w"), 0);
    cr_expect_eq(n, 7);
    len = (size_t)n;
    n = cio_query_append(buf, sizeof(buf), len, CIO_STR_LIT("flag"),
                         (struct cio_str){NULL, 0}, 0);
    len = (size_t)n;
    n = cio_query_append(buf, sizeof(buf), len, CIO_STR_LIT(""),
                         CIO_STR_LIT(" "), CIO_QUERY_FORM);
    cr_expect_str_eq(buf, "k=v%00w&flag&=+");
    cr_expect_eq(cio_query_append(NULL, 0, (size_t)n, CIO_STR_LIT("a"),
                                  CIO_STR_LIT("b"), 0),
                 n + 4);
    CIO_EXPECT_RC(cio_query_append(buf, (size_t)n + 4, (size_t)n,
                                   CIO_STR_LIT("a"), CIO_STR_LIT("b"), 0),
                  CIO_ETOOBIG);
    cr_expect_str_eq(buf, "k=v%00w&flag&=+", "dst changed on failure");
}

/* Random pairs of random bytes: encode (both modes) then parse gives the
 * same pairs. Seeded, so reproducible. */
Test(url, query_round_trips)
{
    uint32_t seed = 12345;
    for (int iter = 0; iter < 500; iter++) {
        char names[8][16], values[8][16];
        size_t nl[8], vl[8], np = 1 + iter % 8;
        unsigned flags = iter & 1 ? CIO_QUERY_FORM : 0;
        char buf[1024];
        size_t len = 0;
        for (size_t i = 0; i < np; i++) {
            seed = seed * 1103515245 + 12345;
            nl[i] = 1 + (seed >> 16) % 15;
            vl[i] = (seed >> 8) % 16;
            for (size_t j = 0; j < nl[i]; j++) {
                seed = seed * 1103515245 + 12345;
                names[i][j] = (char)(seed >> 16);
            }
            for (size_t j = 0; j < vl[i]; j++) {
                seed = seed * 1103515245 + 12345;
                values[i][j] = (char)(seed >> 16);
            }
            ptrdiff_t n = cio_query_append(
                buf, sizeof(buf), len, (struct cio_str){names[i], nl[i]},
                (struct cio_str){values[i], vl[i]}, flags);
            cr_assert_geq(n, 0);
            len = (size_t)n;
        }
        cio_params *p;
        struct cio_query_opts o = {.flags = flags};
        CIO_ASSERT_RC(cio_query_parse(&p, buf, len, &o), 0);
        cr_assert_eq(cio_params_count(p), np, "iter %d", iter);
        for (size_t i = 0; i < np; i++) {
            struct cio_str n = cio_params_name(p, i),
                           v = cio_params_value(p, i);
            cr_expect(n.len == nl[i] && memcmp(n.ptr, names[i], nl[i]) == 0,
                      "iter %d pair %zu name", iter, i);
            cr_expect(v.len == vl[i] && memcmp(v.ptr, values[i], vl[i]) == 0,
                      "iter %d pair %zu value", iter, i);
        }
        cio_params_free(p);
    }
}

/* ---------------------------------------------------- percent-encoding */

Test(url, pct_every_byte_round_trips_in_every_set)
{
    static const char *kept[] = {
        [CIO_PCT_COMPONENT] = "-._~",
        [CIO_PCT_FORM] = "-._~",
        [CIO_PCT_PATH] = "-._~!$&'()*+,;=:@/",
        [CIO_PCT_SEGMENT] = "-._~!$&'()*+,;=:@",
        [CIO_PCT_USERINFO] = "-._~!$&'()*+,;=",
    };
    char all[256], enc[769], dec[257];
    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    for (int set = CIO_PCT_COMPONENT; set <= CIO_PCT_USERINFO; set++) {
        unsigned dflags = set == CIO_PCT_FORM ? CIO_PCT_PLUS : 0;
        for (int c = 0; c < 256; c++) {
            char one = (char)c, e[4], d[2];
            ptrdiff_t n =
                cio_pct_encode(e, sizeof(e), &one, 1, (enum cio_pct_set)set);
            bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') ||
                        (c != 0 && strchr(kept[set], c) != NULL);
            if (keep)
                cr_expect(n == 1 && e[0] == (char)c, "set %d byte %d", set, c);
            else if (c == ' ' && set == CIO_PCT_FORM)
                cr_expect(n == 1 && e[0] == '+', "form space");
            else
                cr_expect(n == 3 && e[0] == '%' &&
                              strtol(e + 1, NULL, 16) == c &&
                              !(e[1] >= 'a' && e[1] <= 'f') &&
                              !(e[2] >= 'a' && e[2] <= 'f'),
                          "set %d byte %d gave %s", set, c, e);
            cr_expect_eq(cio_pct_decode(d, sizeof(d), e, (size_t)n, dflags), 1);
            cr_expect_eq((unsigned char)d[0], c, "set %d byte %d", set, c);
        }
        ptrdiff_t n =
            cio_pct_encode(enc, sizeof(enc), all, 256, (enum cio_pct_set)set);
        cr_assert_gt(n, 0);
        cr_expect_eq(cio_pct_decode(dec, sizeof(dec), enc, (size_t)n, dflags),
                     256);
        cr_expect(memcmp(dec, all, 256) == 0, "set %d", set);
    }
    /* Decoding accepts lower-case hex too. */
    char d[8];
    cr_expect_eq(cio_pct_decode(d, sizeof(d), "%c3%A4", 6, 0), 2);
    cr_expect(memcmp(d, "\xc3\xa4", 3) == 0);
}

Test(url, pct_decode_modes)
{
    char d[32];
    cr_expect_eq(cio_pct_decode(d, sizeof(d), "a+b%2B", 6, 0), 4);
    cr_expect_str_eq(d, "a+b+");
    cr_expect_eq(cio_pct_decode(d, sizeof(d), "a+b%2B", 6, CIO_PCT_PLUS), 4);
    cr_expect_str_eq(d, "a b+");
    CIO_EXPECT_RC(cio_pct_decode(d, sizeof(d), "100%", 4, 0), CIO_EURL);
    cr_expect(strstr(cio_last_error(), "offset 3"), "%s", cio_last_error());
    CIO_EXPECT_RC(cio_pct_decode(d, sizeof(d), "%g0", 3, 0), CIO_EURL);
    CIO_EXPECT_RC(cio_pct_decode(d, sizeof(d), "%0g", 3, 0), CIO_EURL);
    cr_expect_eq(cio_pct_decode(d, sizeof(d), "100%", 4, CIO_PCT_LENIENT), 4);
    cr_expect_str_eq(d, "100%");
    cr_expect_eq(
        cio_pct_decode(d, sizeof(d), "%%41%4%g1%", 10, CIO_PCT_LENIENT), 8);
    cr_expect_str_eq(d, "%A%4%g1%");
    cr_expect_eq(cio_pct_decode(d, sizeof(d), "%2541", 5, 0), 3);
    cr_expect_str_eq(d, "%41", "decoded twice");
    cr_expect_eq(cio_pct_decode(NULL, 0, "%41%42", 6, 0), 2);
    memset(d, 'X', sizeof(d));
    CIO_EXPECT_RC(cio_pct_decode(d, 2, "%41%42", 6, 0), CIO_ETOOBIG);
    cr_expect_eq(d[0], 'X');
    CIO_EXPECT_RC(cio_pct_encode(d, 3, "a b", 3, CIO_PCT_COMPONENT),
                  CIO_ETOOBIG);
    CIO_EXPECT_RC(cio_pct_encode(d, sizeof(d), "a", 1, (enum cio_pct_set)99),
                  CIO_EINVAL);
    cr_expect_eq(cio_pct_encode(d, sizeof(d), "a/b c", 5, CIO_PCT_PATH), 7);
    cr_expect_str_eq(d, "a/b%20c");
    cio_pct_encode(d, sizeof(d), "a/b?c", 5, CIO_PCT_SEGMENT);
    cr_expect_str_eq(d, "a%2Fb%3Fc");
    cio_pct_encode(d, sizeof(d), "u:p@h", 5, CIO_PCT_USERINFO);
    cr_expect_str_eq(d, "u%3Ap%40h");
}

/* ------------------------------------------------------ allocation faults */

static long fail_at, nallocs;

static int fail_hook(size_t size)
{
    (void)size;
    return nallocs++ == fail_at;
}

static int run_all_ops(void)
{
    static const char s[] = "https://u:p@b\xc3\xbc"
                            "cher.example:8443/a/../b?c#d";
    cio_url *u, *r = NULL, *a = NULL, *d = NULL;
    cio_params *p = NULL;
    int rc = cio_url_parse(&u, s, sizeof(s) - 1, NULL);
    if (rc < 0)
        return rc;
    rc = cio_url_resolve(&r, u, "../x?y", 6);
    if (rc == 0)
        rc = cio_url_add_params(&a, r,
                                (struct cio_kv[]){{"k", "v"}, {NULL, NULL}});
    if (rc == 0)
        rc = cio_url_dup(&d, a);
    if (rc == 0)
        rc = cio_query_parse(&p, "a=1&b=2", 7, NULL);
    cio_params_free(p);
    cio_url_free(d);
    cio_url_free(a);
    cio_url_free(r);
    cio_url_free(u);
    return rc;
}

Test(url, survives_each_failed_allocation)
{
    fail_at = -1;
    nallocs = 0;
    cio__alloc_fail_hook = fail_hook;
    CIO_ASSERT_RC(run_all_ops(), 0);
    long total = nallocs;
    cr_expect_gt(total, 5);
    for (long i = 0; i < total; i++) {
        fail_at = i;
        nallocs = 0;
        int rc = run_all_ops();
        cr_expect_eq(rc, CIO_ENOMEM, "alloc #%ld gave %s", i, cio_errname(rc));
    }
    cio__alloc_fail_hook = NULL;
    cio_test_no_leaks();
}
