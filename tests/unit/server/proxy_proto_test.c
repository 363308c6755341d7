/* SPDX-License-Identifier: MIT */
/*
 * PROXY protocol v1/v2 parser (src/server/proxy_proto.c): valid headers of
 * every family, every fault with its message, and split invariance: each
 * header is parsed from every prefix (CIO_EMORE, or the same CIO_EPROTO
 * and message as the whole) and with the client's first bytes behind it
 * (not consumed). Inputs sit in exact-size heap copies.
 */
#include <arpa/inet.h>
#include <stdint.h>

#include "test.h"
#include "server/proxy_proto.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) lit, sizeof(lit) - 1

struct pcase {
    const char *in;
    size_t len;
    int rc; /* 0: valid, consumes all of in; else the error */
    int local, family;
    const char *src, *dst; /* valid; or a part of the message */
};

static const struct pcase v1cases[] = {
    {S("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), 0, 0, AF_INET,
     "192.168.0.1:56324", "192.168.0.11:443"},
    {S("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), 0, 0, AF_INET,
     "0.0.0.0:0", "255.255.255.255:65535"},
    {S("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"), 0, 0, AF_INET6,
     "[2001:db8::1]:1", "[::1]:65535"},
    {S("PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::ffff:1.2.3.4 8080 80\r\n"), 0, 0,
     AF_INET6, "[2001:db8::1]:8080", "[::ffff:1.2.3.4]:80"},
    {S("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
     0, 0, AF_INET6, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
     "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
    {S("PROXY UNKNOWN\r\n"), 0, 1, AF_UNSPEC, "", ""},
    {S("PROXY UNKNOWN 1.2.3.4 junk is ignored\r\n"), 0, 1, AF_UNSPEC, "", ""},
    /* 107 bytes, the most v1 allows. */
    {S("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
     0, 1, AF_UNSPEC, "", ""},
    /* 108 bytes. */
    {S("PROXY UNKNOWN xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"),
     CIO_EPROTO, 0, 0, "no CRLF within 107 bytes", NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 80 443\n"), CIO_EPROTO, 0, 0,
     "control or non-ASCII byte at offset 33", NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 80 443\rX"), CIO_EPROTO, 0, 0,
     "CR without LF", NULL},
    {S("PROXY TCP4 1.2.3.4\t5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "control or non-ASCII byte at offset 18", NULL},
    {S("PROXY TCP4 1.2.3.\xc4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "control or non-ASCII", NULL},
    {S("PROXY TCP5 1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "not TCP4, TCP6 or UNKNOWN", NULL},
    {S("PROXY tcp4 1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0, "not TCP4",
     NULL},
    {S("PROXY UNKNOWNX\r\n"), CIO_EPROTO, 0, 0, "not TCP4", NULL},
    {S("PROXY \r\n"), CIO_EPROTO, 0, 0, "not TCP4", NULL},
    {S("PROXY TCP4  1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "too many fields", NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 80 443 \r\n"), CIO_EPROTO, 0, 0,
     "too many fields", NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n"), CIO_EPROTO, 0, 0,
     "5 fields, want 6", NULL},
    {S("PROXY TCP4\r\n"), CIO_EPROTO, 0, 0, "2 fields, want 6", NULL},
    {S("PROXY TCP4 01.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "bad source address", NULL},
    {S("PROXY TCP4 1.2.3 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "bad source address", NULL},
    {S("PROXY TCP4 ::1 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "bad source address", NULL},
    {S("PROXY TCP6 ::1 1.2.3.4 80 443\r\n"), CIO_EPROTO, 0, 0,
     "bad destination address", NULL},
    {S("PROXY TCP6 fe80::1%eth0 ::1 80 443\r\n"), CIO_EPROTO, 0, 0,
     "bad source address", NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n"), CIO_EPROTO, 0, 0, "bad port",
     NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 80 65536\r\n"), CIO_EPROTO, 0, 0, "bad port",
     NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 -1 443\r\n"), CIO_EPROTO, 0, 0, "bad port",
     NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n"), CIO_EPROTO, 0, 0, "bad port",
     NULL},
    {S("PROXY TCP4 1.2.3.4 5.6.7.8 99999999999 443\r\n"), CIO_EPROTO, 0, 0,
     "bad port", NULL},
    {S("PROXZ TCP4 1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "PROXY v1: bad signature", NULL},
    {S("PROXYTCP4 1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "PROXY v1: bad signature", NULL},
    {S("proxy TCP4 1.2.3.4 5.6.7.8 80 443\r\n"), CIO_EPROTO, 0, 0,
     "no PROXY protocol header", NULL},
    {S("GET / HTTP/1.1\r\n\r\n"), CIO_EPROTO, 0, 0, "no PROXY protocol header",
     NULL},
};

/* v2: the 16-byte fixed part is built from vc, fam and the body length. */
struct v2case {
    uint8_t vc, fam;
    const char *body;
    size_t bodylen;
    int declared; /* -1: bodylen; else the length field */
    int rc;
    int local, family;
    const char *src, *dst;
};

#define INET_BODY "\x01\x02\x03\x04\x05\x06\x07\x08\x12\x34\x01\xbb"
#define INET6_BODY                                                             \
    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"                                       \
    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"                               \
    "\xff\xff\0\x50"

static char unix_body[216];
static char abstract_body[216];

static const struct v2case v2cases[] = {
    {0x21, 0x11, S(INET_BODY), -1, 0, 0, AF_INET, "1.2.3.4:4660",
     "5.6.7.8:443"},
    {0x21, 0x21, S(INET6_BODY), -1, 0, 0, AF_INET6, "[::1]:65535",
     "[2001:db8::2]:80"},
    {0x21, 0x31, unix_body, sizeof unix_body, -1, 0, 0, AF_UNIX,
     "unix:/run/lb.sock", "unix:/run/app.sock"},
    {0x21, 0x31, abstract_body, sizeof abstract_body, -1, 0, 0, AF_UNIX,
     "unix:@lb", "unix:@a?b"},
    /* LOCAL: addresses, if any, are skipped. */
    {0x20, 0x00, S(""), -1, 0, 1, AF_UNSPEC, "", ""},
    {0x20, 0x11, S(INET_BODY), -1, 0, 1, AF_UNSPEC, "", ""},
    {0x20, 0xff, S("junk"), -1, 0, 1, AF_UNSPEC, "", ""},
    {0x21, 0x00, S(""), -1, 0, 1, AF_UNSPEC, "", ""},
    {0x21, 0x00, S("\x01\x02"), -1, 0, 1, AF_UNSPEC, "", ""},
    /* TLVs: NOOP "abc", ALPN "h2", an empty one. */
    {0x21, 0x11,
     S(INET_BODY "\x04\x00\x03"
                 "abc"
                 "\x01\x00\x02"
                 "h2"
                 "\x05\x00\x00"),
     -1, 0, 0, AF_INET, "1.2.3.4:4660", "5.6.7.8:443"},
    /* Faults. */
    {0x21, 0x11,
     S(INET_BODY "\x01\x00\x0a"
                 "h2"),
     -1, CIO_EPROTO, 0, 0, "TLV 0x01 of 10 bytes overruns", NULL},
    {0x21, 0x11, S(INET_BODY "\x01\x00"), -1, CIO_EPROTO, 0, 0,
     "truncated TLV header at 12", NULL},
    {0x21, 0x11, S(INET_BODY "\x01"), -1, CIO_EPROTO, 0, 0,
     "truncated TLV header", NULL},
    {0x11, 0x11, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "version 1, want 2", NULL},
    {0x31, 0x11, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "version 3, want 2", NULL},
    {0x22, 0x11, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "unknown command 2", NULL},
    {0x21, 0x41, S(INET_BODY), -1, CIO_EPROTO, 0, 0,
     "unknown family/transport 0x41", NULL},
    {0x21, 0x13, S(INET_BODY), -1, CIO_EPROTO, 0, 0,
     "unknown family/transport 0x13", NULL},
    {0x21, 0x12, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "not a stream", NULL},
    {0x21, 0x10, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "not a stream", NULL},
    {0x21, 0x01, S(""), -1, CIO_EPROTO, 0, 0, "not a stream", NULL},
    {0x21, 0x11, S("\x01\x02\x03\x04\x05\x06\x07\x08\x12\x34\x01"), -1,
     CIO_EPROTO, 0, 0, "length 11 too short for the addresses (12)", NULL},
    {0x21, 0x21, S(INET_BODY), -1, CIO_EPROTO, 0, 0, "too short", NULL},
    {0x21, 0x11, S(INET_BODY), 0xffff, CIO_EPROTO, 0, 0,
     "length 65535 above the limit 2032", NULL},
    {0x20, 0x00, S(""), 2033, CIO_EPROTO, 0, 0, "above the limit", NULL},
};

static void fill_unix_bodies(void)
{
    memset(unix_body, 0, sizeof unix_body);
    strcpy(unix_body, "/run/lb.sock");
    strcpy(unix_body + 108, "/run/app.sock");
    memset(abstract_body, 0, sizeof abstract_body);
    memcpy(abstract_body, "\0lb", 3);
    memcpy(abstract_body + 108,
           "\0a\x01"
           "b",
           4);
}

/* Parses in[0..len) from an exact-size copy. */
static ptrdiff_t parse_exact(const char *in, size_t len,
                             struct cio__proxy_proto_info *out)
{
    char *copy = malloc(len > 0 ? len : 1);
    cr_assert(copy != NULL);
    memcpy(copy, in, len);
    ptrdiff_t n = cio__proxy_proto_parse(copy, len, out);
    free(copy);
    return n;
}

/* Checks one header: whole, every prefix, and followed by client bytes. */
static void check(const char *what, const char *in, size_t len, int rc,
                  int local, int family, const char *src, const char *dst)
{
    struct cio__proxy_proto_info info, sentinel;
    memset(&sentinel, 0x5a, sizeof sentinel);

    info = sentinel;
    ptrdiff_t n = parse_exact(in, len, &info);
    char msg[300];
    snprintf(msg, sizeof msg, "%s", cio_last_error());
    if (rc == 0) {
        cr_expect_eq(n, (ptrdiff_t)len, "%s: got %td (%s), want %zu", what, n,
                     msg, len);
        cr_expect_eq(info.local, local, "%s: local", what);
        cr_expect_eq(info.family, family, "%s: family", what);
        cr_expect_str_eq(info.src, src, "%s: src", what);
        cr_expect_str_eq(info.dst, dst, "%s: dst", what);
    } else {
        cr_expect_eq(n, rc, "%s: got %td, want %d", what, n, rc);
        cr_expect(strstr(msg, src) != NULL, "%s: message \"%s\", want \"%s\"",
                  what, msg, src);
        cr_expect(memcmp(&info, &sentinel, sizeof info) == 0,
                  "%s: out written on error", what);
    }

    /* Every prefix: incomplete, or the same fault with the same message. */
    for (size_t k = 0; k < len; k++) {
        info = sentinel;
        ptrdiff_t p = parse_exact(in, k, &info);
        if (p == CIO_EMORE) {
            cr_expect(memcmp(&info, &sentinel, sizeof info) == 0,
                      "%s: out written on EMORE", what);
            continue;
        }
        cr_expect(rc != 0 && p == rc, "%s: prefix %zu gave %td", what, k, p);
        cr_expect_str_eq(cio_last_error(), msg, "%s: prefix %zu", what, k);
    }

    /* The client's first bytes after the header are not taken. */
    static const char more[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    char *both = malloc(len + sizeof more);
    cr_assert(both != NULL);
    memcpy(both, in, len);
    memcpy(both + len, more, sizeof more - 1);
    n = parse_exact(both, len + sizeof more - 1, &info);
    if (rc == 0)
        cr_expect_eq(n, (ptrdiff_t)len, "%s: with data after: %td", what, n);
    else
        cr_expect_eq(n, rc, "%s: with data after: %td", what, n);
    free(both);
}

Test(proxy_proto, v1)
{
    for (size_t i = 0; i < COUNTOF(v1cases); i++) {
        const struct pcase *c = &v1cases[i];
        char what[64];
        snprintf(what, sizeof what, "v1 case %zu", i);
        check(what, c->in, c->len, c->rc, c->local, c->family, c->src, c->dst);
    }
}

Test(proxy_proto, v2)
{
    fill_unix_bodies();
    for (size_t i = 0; i < COUNTOF(v2cases); i++) {
        const struct v2case *c = &v2cases[i];
        size_t len = 16 + c->bodylen;
        char *buf = malloc(len);
        cr_assert(buf != NULL);
        memcpy(buf, "\r\n\r\n\0\r\nQUIT\n", 12);
        buf[12] = (char)c->vc;
        buf[13] = (char)c->fam;
        unsigned declared =
            c->declared < 0 ? (unsigned)c->bodylen : (unsigned)c->declared;
        buf[14] = (char)(declared >> 8);
        buf[15] = (char)declared;
        memcpy(buf + 16, c->body, c->bodylen);
        char what[64];
        snprintf(what, sizeof what, "v2 case %zu", i);
        check(what, buf, len, c->rc, c->local, c->family, c->src, c->dst);
        free(buf);
    }
}

Test(proxy_proto, v2_signature)
{
    static const char sig[] = "\r\n\r\n\0\r\nQUIT\n";
    struct cio__proxy_proto_info info;
    for (size_t i = 1; i < 12; i++) {
        char buf[16];
        memcpy(buf, sig, 12);
        buf[i] ^= 0x20;
        memcpy(buf + 12, "\x21\x11\x00\x0c", 4);
        cr_expect_eq(parse_exact(buf, 16, &info), CIO_EPROTO, "byte %zu", i);
        cr_expect(strstr(cio_last_error(), "PROXY v2: bad signature") != NULL);
        /* Decided at the byte that differs. */
        cr_expect_eq(parse_exact(buf, i + 1, &info), CIO_EPROTO, "byte %zu", i);
        cr_expect_eq(parse_exact(buf, i, &info), CIO_EMORE, "byte %zu", i);
    }
    CIO_EXPECT_RC(cio__proxy_proto_parse("", 0, &info), CIO_EMORE);
}

/* A v2 header as long as allowed, full of TLVs, then one byte more. */
Test(proxy_proto, v2_limit)
{
    char buf[CIO__PROXY_V2_MAX + 1];
    struct cio__proxy_proto_info info;
    memcpy(buf, "\r\n\r\n\0\r\nQUIT\n\x21\x11", 14);
    memcpy(buf + 16, INET_BODY, 12);
    size_t body = CIO__PROXY_V2_MAX - 16, off = 12;
    while (off < body) {
        size_t v = body - off - 3 < 200 ? body - off - 3 : 200;
        buf[16 + off] = 0x04;
        buf[16 + off + 1] = (char)(v >> 8);
        buf[16 + off + 2] = (char)v;
        memset(buf + 16 + off + 3, 'n', v);
        off += 3 + v;
    }
    buf[14] = (char)(body >> 8);
    buf[15] = (char)body;
    cr_expect_eq(parse_exact(buf, CIO__PROXY_V2_MAX, &info), CIO__PROXY_V2_MAX);
    cr_expect_str_eq(info.src, "1.2.3.4:4660");
    body++;
    buf[14] = (char)(body >> 8);
    buf[15] = (char)body;
    cr_expect_eq(parse_exact(buf, CIO__PROXY_V2_MAX + 1, &info), CIO_EPROTO);
}
