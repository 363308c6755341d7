/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 head parser and framing rules (src/http/h1_parse.c).
 *
 * Every vector of the tables is run through every byte scanner the CPU has
 * (portable, SSE2, AVX2) and fed four ways: all at once, one byte at a time
 * in one growing buffer, one byte at a time in a buffer that moves on every
 * call (views must be rebased), and in seeded random splits. All must give
 * the same result as the first, and that result must be the expected one.
 * Names say which defence a vector checks (RELIABILITY.md items in
 * brackets).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "http/h1_parse.h"

enum {
    KA = 1,       /* keep_alive */
    UPG = 2,      /* upgrade */
    CONN = 4,     /* connect */
    EXP = 8,      /* expect_continue */
    INTERIM = 16, /* interim */
    CLTE = 32,    /* cl_and_te */
    TEO = 64,     /* te_other */
};

enum {
    NONE = CIO__H1_BODY_NONE,
    LEN = CIO__H1_BODY_LENGTH,
    CHUNKED = CIO__H1_BODY_CHUNKED,
    CLOSE = CIO__H1_BODY_CLOSE
};

struct vec {
    const char *name; /* what it defends */
    const char *in;
    size_t len;
    int resp;                 /* a response head (else a request head) */
    int rc;                   /* 0 = parsed and framed; else the CIO_E* */
    int status;               /* rc != 0: expected err_status */
    size_t used;              /* rc == 0: bytes consumed; 0 = len */
    int body;                 /* rc == 0: enum cio__h1_body */
    uint64_t length;          /* body == LEN */
    unsigned flags;           /* rc == 0: KA, UPG, ... exactly */
    enum cio__h1_method reqm; /* resp: the request method */
    int upgreq;               /* resp: an upgrade was requested */
    const struct cio__h1_limits *lim;
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define OK(b, l, f) .rc = 0, .body = (b), .length = (l), .flags = (f)
#define ERR(code, st) .rc = (code), .status = (st)
#define E400 ERR(CIO_EPROTO, 400)
#define E502 ERR(CIO_EPROTO, 502)
#define MORE ERR(CIO_EMORE, 0)

static const struct cio__h1_limits small = {
    .max_line = 32,
    .max_field = 24,
    .max_head = 64,
    .max_fields = 3,
};
static const struct cio__h1_limits nobody = {.max_body = UINT64_MAX};

/* One vector a line: the tables read better unwrapped. */
/* clang-format off */
#define H "Host: a\r\n"
#define G "GET / HTTP/1.1\r\n" H

static const struct vec reqs[] = {
    /* ---- valid requests, framing and connection handling */
    {"minimal", IN(G "\r\n"), OK(NONE, 0, KA)},
    {"http10 closes by default", IN("GET / HTTP/1.0\r\n\r\n"), OK(NONE, 0, 0)},
    {"http10 with host", IN("GET / HTTP/1.0\r\n" H "\r\n"), OK(NONE, 0, 0)},
    {"http10 keep-alive", IN("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), OK(NONE, 0, KA)},
    {"http11 close", IN(G "Connection: close\r\n\r\n"), OK(NONE, 0, 0)},
    {"close is case-insensitive", IN(G "Connection: ClOsE\r\n\r\n"), OK(NONE, 0, 0)},
    {"close wins over keep-alive", IN(G "Connection: keep-alive, close\r\n\r\n"), OK(NONE, 0, 0)},
    {"close in a second Connection line", IN(G "Connection: te\r\nConnection: close\r\n\r\n"), OK(NONE, 0, 0)},
    {"http10 keep-alive and close", IN("GET / HTTP/1.0\r\nConnection: keep-alive,close\r\n\r\n"), OK(NONE, 0, 0)},
    {"content-length body not consumed", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\n\r\nhello"), OK(LEN, 5, KA), .used = 47},
    {"content-length 0 has no body [A.17]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n"), OK(NONE, 0, KA)},
    {"content-length leading zeros", IN("POST / HTTP/1.1\r\n" H "Content-Length: 007\r\n\r\n"), OK(LEN, 7, KA)},
    {"content-length OWS trimmed", IN("POST / HTTP/1.1\r\n" H "Content-Length: \t 12 \t\r\n\r\n"), OK(LEN, 12, KA)},
    {"content-length name case", IN("POST / HTTP/1.1\r\n" H "CONTENT-length: 3\r\n\r\n"), OK(LEN, 3, KA)},
    {"content-length at the body limit", IN("POST / HTTP/1.1\r\n" H "Content-Length: 1048576\r\n\r\n"), OK(LEN, 1048576, KA)},
    {"content-length 2^63-1 without limit", IN("POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775807\r\n\r\n"), OK(LEN, INT64_MAX, KA), .lim = &nobody},
    {"chunked", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"), OK(CHUNKED, 0, KA)},
    {"Chunked is chunked [A.5]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: Chunked\r\n\r\n"), OK(CHUNKED, 0, KA)},
    {"empty list elements ignored [A.5]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: ,chunked\r\n\r\n"), OK(CHUNKED, 0, KA)},
    {"empty elements around chunked", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: , ,chunked , \r\n\r\n"), OK(CHUNKED, 0, KA)},
    {"transfer-encoding name case", IN("POST / HTTP/1.1\r\n" H "TRANSFER-ENCODING: CHUNKED\r\n\r\n"), OK(CHUNKED, 0, KA)},
    {"one empty line skipped [B.27]", IN("\r\n" G "\r\n"), OK(NONE, 0, KA)},
    {"two empty lines skipped [B.27]", IN("\r\n\r\n" G "\r\n"), OK(NONE, 0, KA)},
    {"absolute-form", IN("GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n"), OK(NONE, 0, KA)},
    {"absolute-form https with port", IN("GET HTTPS://A.example:8443/x?y HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"absolute-form without path", IN("GET http://a HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"absolute-form with query only", IN("GET http://a?q HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"absolute-form ipv6", IN("GET http://[::1]:80/ HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"connect", IN("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"), OK(NONE, 0, KA | CONN)},
    {"connect ipv6", IN("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"), OK(NONE, 0, KA | CONN)},
    {"options asterisk", IN("OPTIONS * HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"upgrade websocket", IN(G "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), OK(NONE, 0, KA | UPG)},
    {"upgrade among connection options", IN(G "Connection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n\r\n"), OK(NONE, 0, KA | UPG)},
    {"upgrade without connection option", IN(G "Upgrade: websocket\r\n\r\n"), OK(NONE, 0, KA)},
    {"upgrade ignored in http10", IN("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"), OK(NONE, 0, 0)},
    {"upgrade with close", IN(G "Connection: upgrade, close\r\nUpgrade: websocket\r\n\r\n"), OK(NONE, 0, UPG)},
    {"expect 100-continue", IN("PUT / HTTP/1.1\r\n" H "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"), OK(LEN, 3, KA | EXP)},
    {"expect is case-insensitive", IN("PUT / HTTP/1.1\r\n" H "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n"), OK(LEN, 3, KA | EXP)},
    {"expect ignored in http10", IN("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"), OK(LEN, 3, 0)},
    {"unknown expectation ignored", IN(G "Expect: foo\r\n\r\n"), OK(NONE, 0, KA)},
    {"lowercase method is a token [B.23]", IN("get / HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"extension method", IN("PROPFIND /x HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"method with tchar symbols", IN("M-!#$%&'*+.^_`|~9 / HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"obs-text in a value kept", IN(G "X: caf\xc3\xa9 \xa0\x85\r\n\r\n"), OK(NONE, 0, KA)},
    {"htab inside a value", IN(G "X: a\tb\r\n\r\n"), OK(NONE, 0, KA)},
    {"empty value", IN(G "X:\r\n\r\n"), OK(NONE, 0, KA)},
    {"value only OWS", IN(G "X: \t \r\n\r\n"), OK(NONE, 0, KA)},
    {"all tchar in a name", IN(G "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"), OK(NONE, 0, KA)},
    {"host with port", IN("GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n"), OK(NONE, 0, KA)},
    {"host ipv4", IN("GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"), OK(NONE, 0, KA)},
    {"host ipv6", IN("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n"), OK(NONE, 0, KA)},
    {"host percent-encoded", IN("GET / HTTP/1.1\r\nHost: a%2Db\r\n\r\n"), OK(NONE, 0, KA)},
    {"host port 65535", IN("GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n"), OK(NONE, 0, KA)},
    {"host empty port", IN("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"), OK(NONE, 0, KA)},
    {"host empty value", IN("GET / HTTP/1.1\r\nHost:\r\n\r\n"), OK(NONE, 0, KA)},
    {"http/1.2 read as 1.1", IN("GET / HTTP/1.2\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"target with query and specials", IN("GET /a/b;c?d=e&f=%20|{}\"<>^`\\ HTTP/1.1\r\n" H "\r\n"), OK(NONE, 0, KA)},
    {"pipelined: first of two [A.17]", IN(G "\r\n" G "\r\n"), OK(NONE, 0, KA), .used = 27},
    {"content-length 0 never absorbs the next request [A.17]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n" G "\r\n"), OK(NONE, 0, KA), .used = 47},
    {"request line at the limit", IN("GET /234567890123456789 HTTP/1.0\r\n\r\n"), OK(NONE, 0, 0), .lim = &small},
    {"field line at the limit", IN("GET / HTTP/1.0\r\nX: 345678901234567890123\r\n\r\n"), OK(NONE, 0, 0), .lim = &small},
    {"fields at the count limit", IN("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), OK(NONE, 0, 0), .lim = &small},
    {"header section at the limit", IN("GET / HTTP/1.0\r\nA: 345678901234567890123\r\nB: 3456789012345\r\nC: 3456789012345\r\n\r\n"), OK(NONE, 0, 0), .lim = &small},

    /* ---- incomplete */
    {"empty input", IN(""), MORE},
    {"lone CR [B.27]", IN("\r"), MORE},
    {"empty line only", IN("\r\n"), MORE},
    {"method only", IN("GET"), MORE},
    {"request line without LF", IN("GET / HTTP/1.1\r"), MORE},
    {"no final empty line", IN(G), MORE},
    {"final CR without LF", IN(G "\r"), MORE},
    {"inside a value", IN(G "X: abc"), MORE},

    /* ---- framing: Content-Length and Transfer-Encoding [A.1-A.6] */
    {"CL and TE [A.1]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), E400},
    {"TE and CL [A.1]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), E400},
    {"two differing CL [A.2]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), E400},
    {"two equal CL lines [A.2]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"), E400},
    {"CL list 5, 6 [A.2]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5, 6\r\n\r\n"), E400},
    {"CL list 5, 5 refused (decision) [A.2]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\n"), E400},
    {"CL +5 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: +5\r\n\r\n"), E400},
    {"CL -1 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n"), E400},
    {"CL 0x5 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 0x5\r\n\r\n"), E400},
    {"CL 5_0 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5_0\r\n\r\n"), E400},
    {"CL empty [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: \r\n\r\n"), E400},
    {"CL 5 5 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 5 5\r\n\r\n"), E400},
    {"CL 2^64 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 18446744073709551616\r\n\r\n"), E400, .lim = &nobody},
    {"CL 2^63 [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 9223372036854775808\r\n\r\n"), E400, .lim = &nobody},
    {"CL 30 digits [A.3]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 999999999999999999999999999999\r\n\r\n"), E400, .lim = &nobody},
    {"CL 1.5", IN("POST / HTTP/1.1\r\n" H "Content-Length: 1.5\r\n\r\n"), E400},
    {"CL above the body limit [A.19]", IN("POST / HTTP/1.1\r\n" H "Content-Length: 1048577\r\n\r\n"), ERR(CIO_ETOOBIG, 413)},
    {"CL above the limit with 100-continue [A.19]", IN("POST / HTTP/1.1\r\n" H "Expect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"), ERR(CIO_ETOOBIG, 413)},
    {"chunked, chunked [A.4]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n"), E400},
    {"two chunked lines [A.4]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), E400},
    {"chunked not last [A.4]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n"), E400},
    {"chunked not last over two lines [A.4]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"), E400},
    {"gzip only (not chunked last)", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\n\r\n"), E400},
    {"unknown coding xchunked [A.4]", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n"), ERR(CIO_EPROTO, 501)},
    {"unknown coding before chunked", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: foo, chunked\r\n\r\n"), ERR(CIO_EPROTO, 501)},
    {"gzip then chunked not implemented", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n"), ERR(CIO_EPROTO, 501)},
    {"parameters on chunked", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chunked;a=b\r\n\r\n"), E400},
    {"TE with a space inside a coding", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: chun ked\r\n\r\n"), E400},
    {"TE with a non-token", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \"chunked\"\r\n\r\n"), E400},
    {"TE unterminated quote", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: gzip;q=\"1, chunked\r\n\r\n"), E400},
    {"TE empty", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: \r\n\r\n"), E400},
    {"TE only commas", IN("POST / HTTP/1.1\r\n" H "Transfer-Encoding: , ,\r\n\r\n"), E400},
    {"TE in http10 [A.6]", IN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), E400},
    {"malformed Connection", IN(G "Connection: a b\r\n\r\n"), E400},
    {"Connection unterminated quote", IN(G "Connection: \"close\r\n\r\n"), E400},
    {"Connection escaped quote at the end", IN(G "Connection: \"a\\\r\n\r\n"), E400},

    /* ---- field syntax [A.7-A.12] */
    {"space before colon [A.7]", IN("POST / HTTP/1.1\r\n" H "Content-Length : 5\r\n\r\n"), E400},
    {"tab before colon [A.7]", IN(G "X\t: 5\r\n\r\n"), E400},
    {"leading space on the first field line [A.7]", IN("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), E400},
    {"leading tab on the first field line [A.7]", IN("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"), E400},
    {"obs-fold [A.8]", IN(G "X: a\r\n b\r\n\r\n"), E400},
    {"obs-fold with tab [A.8]", IN(G "X: a\r\n\tb\r\n\r\n"), E400},
    {"NUL in a name [A.9]", IN(G "X\0Y: a\r\n\r\n"), E400},
    {"0x80 in a name [A.9]", IN(G "X\x80: a\r\n\r\n"), E400},
    {"0xff in a name [A.9]", IN(G "\xff: a\r\n\r\n"), E400},
    {"quote in a name [A.9]", IN(G "X\"Y: a\r\n\r\n"), E400},
    {"paren in a name [A.9]", IN(G "X(Y): a\r\n\r\n"), E400},
    {"space in a name [A.9]", IN(G "X Y: a\r\n\r\n"), E400},
    {"slash in a name [A.9]", IN(G "X/Y: a\r\n\r\n"), E400},
    {"empty name [A.9]", IN(G ": v\r\n\r\n"), E400},
    {"no colon [A.9]", IN(G "Foo\r\n\r\n"), E400},
    {"NUL in a value [A.10]", IN(G "X: a\0b\r\n\r\n"), E400},
    {"bare CR in a value [A.10]", IN(G "X: a\rb\r\n\r\n"), E400},
    {"bare LF in a value [A.10]", IN(G "X: a\nb\r\n\r\n"), E400},
    {"CTL 0x01 in a value [A.10]", IN(G "X: a\x01\r\n\r\n"), E400},
    {"CTL 0x1f in a value [A.10]", IN(G "X: \x1f\r\n\r\n"), E400},
    {"DEL in a value [A.10]", IN(G "X: a\x7f\r\n\r\n"), E400},
    {"CR LF CR X is not the end [A.11]", IN(G "\r\rX"), E400},
    {"bare CR ends the section [A.11]", IN(G "\rX\r\n"), E400},
    {"bare CR in the request line [A.11]", IN("GET / HTTP/1.1\rX\r\n\r\n"), E400},
    {"bare CR in the method [A.11]", IN("GE\rT / HTTP/1.1\r\n\r\n"), E400},
    {"bare LF after the request line [A.12]", IN("GET / HTTP/1.1\nHost: a\r\n\r\n"), E400},
    {"bare LF after a field [A.12]", IN("GET / HTTP/1.1\r\nHost: a\n\r\n"), E400},
    {"bare LF as the end [A.12]", IN(G "\n"), E400},
    {"all bare LF [A.12]", IN("GET / HTTP/1.1\nHost: a\n\n"), E400},
    {"bare LF before the request line [A.12]", IN("\nGET / HTTP/1.1\r\n" H "\r\n"), E400},

    /* ---- request line, target, Host, version [B.21-B.25] */
    {"no Host in 1.1 [B.21]", IN("GET / HTTP/1.1\r\n\r\n"), E400},
    {"two Host lines [B.21]", IN(G H "\r\n"), E400},
    {"two Host lines in 1.0 [B.21]", IN("GET / HTTP/1.0\r\n" H H "\r\n"), E400},
    {"Host a b [B.21]", IN("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), E400},
    {"Host a@b [B.21]", IN("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n"), E400},
    {"Host a:99999 [B.21]", IN("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"), E400},
    {"Host a:65536 [B.21]", IN("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"), E400},
    {"Host a:8x", IN("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"), E400},
    {"Host a:80:80", IN("GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n"), E400},
    {"Host with a path", IN("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), E400},
    {"Host :80", IN("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), E400},
    {"Host bad percent", IN("GET / HTTP/1.1\r\nHost: a%4\r\n\r\n"), E400},
    {"Host unclosed bracket", IN("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), E400},
    {"Host empty brackets", IN("GET / HTTP/1.1\r\nHost: []\r\n\r\n"), E400},
    {"Host bad byte in brackets", IN("GET / HTTP/1.1\r\nHost: [::1/8]\r\n\r\n"), E400},
    {"Host bracket then garbage", IN("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), E400},
    {"Host port with 6 digits", IN("GET / HTTP/1.1\r\nHost: a:000080\r\n\r\n"), E400},
    {"Host obs-text", IN("GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n"), E400},
    {"absolute-form with userinfo [B.22]", IN("GET http://u@a/ HTTP/1.1\r\n" H "\r\n"), E400},
    {"absolute-form empty host", IN("GET http:///x HTTP/1.1\r\n" H "\r\n"), E400},
    {"absolute-form other scheme", IN("GET ftp://a/ HTTP/1.1\r\n" H "\r\n"), E400},
    {"relative target", IN("GET a/b HTTP/1.1\r\n" H "\r\n"), E400},
    {"authority-form without CONNECT", IN("GET a:80 HTTP/1.1\r\n" H "\r\n"), E400},
    {"asterisk without OPTIONS", IN("GET * HTTP/1.1\r\n" H "\r\n"), E400},
    {"CONNECT origin-form", IN("CONNECT / HTTP/1.1\r\n" H "\r\n"), E400},
    {"CONNECT without port", IN("CONNECT a HTTP/1.1\r\n" H "\r\n"), E400},
    {"CONNECT with userinfo", IN("CONNECT u@a:443 HTTP/1.1\r\n" H "\r\n"), E400},
    {"method G(ET [B.23]", IN("G(ET / HTTP/1.1\r\n" H "\r\n"), E400},
    {"method with a slash", IN("GE/T / HTTP/1.1\r\n" H "\r\n"), E400},
    {"leading space before the method", IN(" GET / HTTP/1.1\r\n" H "\r\n"), E400},
    {"no method", IN("/ HTTP/1.1\r\n" H "\r\n"), E400},
    {"two spaces after the method", IN("GET  / HTTP/1.1\r\n" H "\r\n"), E400},
    {"two spaces before the version", IN("GET /  HTTP/1.1\r\n" H "\r\n"), E400},
    {"space after the version", IN("GET / HTTP/1.1 \r\n" H "\r\n"), E400},
    {"tab as separator", IN("GET\t/ HTTP/1.1\r\n" H "\r\n"), E400},
    {"HTTP/1.32 [B.24]", IN("GET / HTTP/1.32\r\n" H "\r\n"), E400},
    {"HTTP/1.1x [B.24]", IN("GET / HTTP/1.1x\r\n" H "\r\n"), E400},
    {"HTTP/01.1 [B.24]", IN("GET / HTTP/01.1\r\n" H "\r\n"), E400},
    {"HTTP/11 [B.24]", IN("GET / HTTP/11\r\n" H "\r\n"), E400},
    {"HTTP/1 [B.24]", IN("GET / HTTP/1\r\n" H "\r\n"), E400},
    {"lowercase http [B.24]", IN("GET / http/1.1\r\n" H "\r\n"), E400},
    {"HTTP/1.a [B.24]", IN("GET / HTTP/1.a\r\n" H "\r\n"), E400},
    {"HTTP/2.0 is 505 [B.24]", IN("GET / HTTP/2.0\r\n" H "\r\n"), ERR(CIO_EPROTO, 505)},
    {"HTTP/3.0 is 505 [B.24]", IN("GET / HTTP/3.0\r\n" H "\r\n"), ERR(CIO_EPROTO, 505)},
    {"HTTP/0.9 version is 505", IN("GET / HTTP/0.9\r\n" H "\r\n"), ERR(CIO_EPROTO, 505)},
    {"LF inside the request line [B.24]", IN("GET /\nHTTP/1.1\r\n" H "\r\n"), E400},
    {"HTTP/0.9 simple request [B.25]", IN("GET /\r\n"), E400},
    {"NUL in the target [B.25]", IN("GET /a\0b HTTP/1.1\r\n" H "\r\n"), E400},
    {"CTL in the target [B.25]", IN("GET /a\x01 HTTP/1.1\r\n" H "\r\n"), E400},
    {"tab in the target [B.25]", IN("GET /a\tb HTTP/1.1\r\n" H "\r\n"), E400},
    {"DEL in the target [B.25]", IN("GET /a\x7f HTTP/1.1\r\n" H "\r\n"), E400},
    {"fragment in the target [B.25]", IN("GET /a#b HTTP/1.1\r\n" H "\r\n"), E400},
    {"raw non-ASCII in the target [B.25]", IN("GET /caf\xc3\xa9 HTTP/1.1\r\n" H "\r\n"), E400},
    {"three empty lines [B.27]", IN("\r\n\r\n\r\n" G "\r\n"), E400},
    {"CR X before the request line", IN("\rXGET / HTTP/1.1\r\n" H "\r\n"), E400},

    /* ---- limits [B.26] */
    {"request line over the limit: 414 [B.26]", IN("GET /2345678901234567890 HTTP/1.0\r\n\r\n"), ERR(CIO_ETOOBIG, 414), .lim = &small},
    {"endless request line: 414 [B.26]", IN("GET /2345678901234567890123456789012345678901234567890"), ERR(CIO_ETOOBIG, 414), .lim = &small},
    {"endless method: 414", IN("GETGETGETGETGETGETGETGETGETGETGETGETGET"), ERR(CIO_ETOOBIG, 414), .lim = &small},
    {"field line over the limit: 431 [B.26]", IN("GET / HTTP/1.0\r\nX: 3456789012345678901234\r\n\r\n"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"endless field line: 431 [B.26]", IN("GET / HTTP/1.0\r\nX: 3456789012345678901234567890"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"endless field name: 431", IN("GET / HTTP/1.0\r\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"too many fields: 431 [B.26]", IN("GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"header section over the limit: 431 [B.26]", IN("GET / HTTP/1.0\r\nA: 345678901234567890123\r\nB: 345678901234567890123\r\nC: 345678901234567890123\r\n\r\n"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"final CRLF over the section limit: 431", IN("GET / HTTP/1.0\r\nA: 345678901234567890123\r\nB: 34567890123456\r\nC: 3456789012345\r\n\r\n"), ERR(CIO_ETOOBIG, 431), .lim = &small},
    {"bad byte before the limit is 400", IN("GET / HTTP/1.0\r\nX: 3\x01" "4567890123456789012345\r\n\r\n"), E400, .lim = &small},
};

#define R200 "HTTP/1.1 200 OK\r\n"

static const struct vec resps[] = {
    {"response with content-length", IN(R200 "Content-Length: 5\r\n\r\nhello"), OK(LEN, 5, KA), .resp = 1, .used = 38},
    {"response until close [C.33]", IN(R200 "\r\n"), OK(CLOSE, 0, 0), .resp = 1},
    {"response chunked", IN(R200 "Transfer-Encoding: chunked\r\n\r\n"), OK(CHUNKED, 0, KA), .resp = 1},
    {"response CL+TE: chunked, no reuse [C.28]", IN(R200 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), OK(CHUNKED, 0, CLTE), .resp = 1},
    {"response TE gzip, chunked", IN(R200 "Transfer-Encoding: gzip, chunked\r\n\r\n"), OK(CHUNKED, 0, KA | TEO), .resp = 1},
    {"response TE gzip: until close", IN(R200 "Transfer-Encoding: gzip\r\n\r\n"), OK(CLOSE, 0, TEO), .resp = 1},
    {"response TE chunked, gzip: until close", IN(R200 "Transfer-Encoding: chunked, gzip\r\n\r\n"), OK(CLOSE, 0, TEO), .resp = 1},
    {"response TE in 1.0: no reuse", IN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"), OK(CHUNKED, 0, 0), .resp = 1},
    {"response 1.0 until close", IN("HTTP/1.0 200 OK\r\n\r\n"), OK(CLOSE, 0, 0), .resp = 1},
    {"response 1.0 keep-alive", IN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n"), OK(LEN, 1, KA), .resp = 1},
    {"response close", IN(R200 "Connection: close\r\nContent-Length: 1\r\n\r\n"), OK(LEN, 1, 0), .resp = 1},
    {"response content-length 0", IN(R200 "Content-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"HEAD response has no body [C.32]", IN(R200 "Content-Length: 100\r\n\r\n"), OK(NONE, 0, KA), .resp = 1, .reqm = CIO__H1_M_HEAD},
    {"HEAD response chunked has no body [C.32]", IN(R200 "Transfer-Encoding: chunked\r\n\r\n"), OK(NONE, 0, KA), .resp = 1, .reqm = CIO__H1_M_HEAD},
    {"HEAD response without CL keeps the connection", IN(R200 "\r\n"), OK(NONE, 0, KA), .resp = 1, .reqm = CIO__H1_M_HEAD},
    {"204 has no body", IN("HTTP/1.1 204 No Content\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"204 with CL 0", IN("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"204 announcing a body: no reuse [C.32]", IN("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), OK(NONE, 0, 0), .resp = 1},
    {"204 chunked: no reuse [C.32]", IN("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"), OK(NONE, 0, 0), .resp = 1},
    {"304 has no body [C.32]", IN("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"100 continue is interim", IN("HTTP/1.1 100 Continue\r\n\r\n"), OK(NONE, 0, KA | INTERIM), .resp = 1},
    {"103 early hints is interim", IN("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"), OK(NONE, 0, KA | INTERIM), .resp = 1},
    {"101 after an upgrade request", IN("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"), OK(NONE, 0, UPG), .resp = 1, .upgreq = 1},
    {"101 not requested [C.30]", IN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), E502, .resp = 1},
    {"101 without Upgrade", IN("HTTP/1.1 101 Switching Protocols\r\n\r\n"), E502, .resp = 1, .upgreq = 1},
    {"2xx to CONNECT is a tunnel", IN("HTTP/1.1 200 Connection established\r\n\r\n"), OK(NONE, 0, CONN), .resp = 1, .reqm = CIO__H1_M_CONNECT},
    {"407 to CONNECT has a body", IN("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n"), OK(LEN, 2, KA), .resp = 1, .reqm = CIO__H1_M_CONNECT},
    {"no reason phrase", IN("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"empty reason phrase", IN("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"reason with obs-text and tab", IN("HTTP/1.1 200 \xc3\x89tat\tbon\r\nContent-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"response 1.1 after an empty line", IN("\r\n" R200 "Content-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"status 599", IN("HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n"), OK(NONE, 0, KA), .resp = 1},
    {"response incomplete", IN(R200 "Content-Length: 0\r\n"), MORE, .resp = 1},
    {"response status incomplete", IN("HTTP/1.1 20"), MORE, .resp = 1},
    {"conflicting CL in a response [C.28]", IN(R200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), E502, .resp = 1},
    {"CL list in a response [C.28]", IN(R200 "Content-Length: 5, 5\r\n\r\n"), E502, .resp = 1},
    {"malformed CL in a response", IN(R200 "Content-Length: 5a\r\n\r\n"), E502, .resp = 1},
    {"malformed CL in a HEAD response", IN(R200 "Content-Length: -1\r\n\r\n"), E502, .resp = 1, .reqm = CIO__H1_M_HEAD},
    {"chunked twice in a response", IN(R200 "Transfer-Encoding: chunked, chunked\r\n\r\n"), E502, .resp = 1},
    {"empty TE in a response", IN(R200 "Transfer-Encoding:\r\n\r\n"), E502, .resp = 1},
    {"malformed TE in a response", IN(R200 "Transfer-Encoding: \"chunked\"\r\n\r\n"), E502, .resp = 1},
    {"malformed Connection in a response", IN(R200 "Connection: @\r\nContent-Length: 0\r\n\r\n"), E502, .resp = 1},
    {"status 2OO [C.31]", IN("HTTP/1.1 2OO OK\r\n\r\n"), E502, .resp = 1},
    {"status 2 digits [C.31]", IN("HTTP/1.1 20 OK\r\n\r\n"), E502, .resp = 1},
    {"status 4 digits [C.31]", IN("HTTP/1.1 2000 OK\r\n\r\n"), E502, .resp = 1},
    {"status 099", IN("HTTP/1.1 099 X\r\n\r\n"), E502, .resp = 1},
    {"status 600", IN("HTTP/1.1 600 X\r\n\r\n"), E502, .resp = 1},
    {"missing version [C.31]", IN("200 OK\r\n\r\n"), E502, .resp = 1},
    {"two spaces before the status", IN("HTTP/1.1  200 OK\r\n\r\n"), E502, .resp = 1},
    {"HTTP/2.0 response", IN("HTTP/2.0 200 OK\r\n\r\n"), E502, .resp = 1},
    {"HTTP/1.10 response", IN("HTTP/1.10 200 OK\r\n\r\n"), E502, .resp = 1},
    {"bare LF after the status line", IN("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), E502, .resp = 1},
    {"bare LF after the status code", IN("HTTP/1.1 200\nContent-Length: 0\r\n\r\n"), E502, .resp = 1},
    {"CTL in the reason", IN("HTTP/1.1 200 O\x01K\r\n\r\n"), E502, .resp = 1},
    {"bare CR in the reason", IN("HTTP/1.1 200 O\rK\r\n\r\n"), E502, .resp = 1},
    {"obs-fold in a response", IN(R200 "X: a\r\n b\r\n\r\n"), E502, .resp = 1},
    {"space before colon in a response", IN(R200 "Content-Length : 0\r\n\r\n"), E502, .resp = 1},
    {"endless status line [C.29]", IN("HTTP/1.1 200 OKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOKOK"), ERR(CIO_ETOOBIG, 502), .resp = 1, .lim = &small},
    {"endless response headers [C.29]", IN("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"), ERR(CIO_ETOOBIG, 502), .resp = 1, .lim = &small},
};

/* clang-format on */

/* ------------------------------------------------------------ runner */

/* Everything a parse produced, as offsets into the input, so that results
 * from different buffers compare with memcmp. */
struct snap {
    ptrdiff_t rc;
    int err_status;
    size_t method[2], target[2], reason[2];
    int minor, status;
    size_t nheaders;
    size_t hdr[40][4];
};

static void view(size_t out[2], struct cio_str s, const char *buf)
{
    out[0] = s.ptr != NULL ? (size_t)(s.ptr - buf) : SIZE_MAX;
    out[1] = s.len;
}

static void take(struct snap *s, ptrdiff_t rc, const struct cio__h1_head *h,
                 const char *buf)
{
    memset(s, 0, sizeof(*s));
    s->rc = rc;
    if (rc == CIO_EPROTO || rc == CIO_ETOOBIG) {
        s->err_status = h->err_status;
        cr_assert(h->err_msg != NULL && h->err_msg[0] != '\0');
        cr_assert(cio_last_error()[0] != '\0');
        return;
    }
    if (rc <= 0)
        return;
    view(s->method, h->method, buf);
    view(s->target, h->target, buf);
    view(s->reason, h->reason, buf);
    s->minor = h->minor;
    s->status = h->status;
    s->nheaders = h->nheaders;
    cr_assert_leq(h->nheaders, 40);
    for (size_t i = 0; i < h->nheaders; i++) {
        view(&s->hdr[i][0], h->headers[i].name, buf);
        view(&s->hdr[i][2], h->headers[i].value, buf);
        /* Views lie inside the consumed bytes. */
        cr_assert_leq(s->hdr[i][2] + s->hdr[i][3], (size_t)rc);
    }
}

struct feeder {
    struct cio__h1_header hs[40];
    struct cio__h1_head h;
};

static void feeder_init(struct feeder *f, const struct vec *v)
{
    /* Garbage first: the parser must not read anything _init leaves. */
    memset(f, 0xa5, sizeof(*f));
    cio__h1_head_init(&f->h, f->hs, CIO_COUNTOF(f->hs), v->lim);
}

static ptrdiff_t call(const struct vec *v, const char *buf, size_t len,
                      struct cio__h1_head *h)
{
    return v->resp ? cio__h1_parse_response(buf, len, h)
                   : cio__h1_parse_request(buf, len, h);
}

/* Feeds v->in in pieces ending at cuts[0..ncuts) (the last is v->len).
 * With move, each call sees a fresh copy of exactly the bytes so far. */
static void feed(const struct vec *v, const size_t *cuts, size_t ncuts,
                 int move, struct snap *out)
{
    struct feeder f;
    char *whole = malloc(v->len + 1);
    char *prev = NULL;
    ptrdiff_t rc = CIO_EMORE;
    const char *buf = whole;

    cr_assert(whole != NULL);
    memcpy(whole, v->in, v->len);
    feeder_init(&f, v);
    for (size_t i = 0; i < ncuts; i++) {
        size_t len = cuts[i];
        if (move) {
            char *copy = malloc(len + 1);
            cr_assert(copy != NULL);
            memcpy(copy, v->in, len);
            rc = call(v, copy, len, &f.h);
            free(prev);
            prev = copy;
            buf = copy;
        } else {
            rc = call(v, whole, len, &f.h);
        }
        if (rc != CIO_EMORE)
            break;
    }
    take(out, rc, &f.h, buf);
    free(prev);
    free(whole);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* xorshift64*: reproducible from the seed printed on failure */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static const char *simd_name(enum cio__h1_simd s)
{
    return s == CIO__H1_SIMD_AVX2   ? "avx2"
           : s == CIO__H1_SIMD_SSE2 ? "sse2"
                                    : "portable";
}

static void check_result(const struct vec *v, const struct snap *s,
                         const char *mode)
{
    const char *sn = simd_name(cio__h1_simd_get());
    if (v->rc != 0 && v->rc != CIO_EMORE && s->rc < 0) {
        CIO_EXPECT_RC(s->rc, v->rc);
        cr_expect_eq(s->err_status, v->status, "%s [%s %s]: status %d, want %d",
                     v->name, mode, sn, s->err_status, v->status);
        return;
    }
    if (v->rc == CIO_EMORE || s->rc <= 0) {
        cr_expect_eq(s->rc, v->rc, "%s [%s %s]: got %s, want %s (%s)", v->name,
                     mode, sn, cio_errname((int)s->rc), cio_errname(v->rc),
                     cio_last_error());
        return;
    }
    /* Parsed: the framing decides the rest. */
    size_t used = v->used != 0 ? v->used : v->len;
    if (v->rc == 0)
        cr_expect_eq((size_t)s->rc, used, "%s [%s %s]: consumed %td, want %zu",
                     v->name, mode, sn, s->rc, used);
}

/* Runs the framing step on a whole-input parse and checks it. */
static void check_framing(const struct vec *v)
{
    struct feeder f;
    struct cio__h1_framing fr;
    const char *sn = simd_name(cio__h1_simd_get());

    feeder_init(&f, v);
    ptrdiff_t n = call(v, v->in, v->len, &f.h);
    if (n <= 0)
        return;
    memset(&fr, 0xa5, sizeof(fr));
    int rc = v->resp ? cio__h1_response_framing(&f.h, v->reqm, v->upgreq, &fr)
                     : cio__h1_request_framing(&f.h, &fr);
    if (v->rc != 0) {
        cr_expect_eq(rc, v->rc, "%s [%s]: framing %s, want %s (%s)", v->name,
                     sn, cio_errname(rc), cio_errname(v->rc), cio_last_error());
        if (rc < 0)
            cr_expect_eq(fr.err_status, v->status,
                         "%s [%s]: framing status %d, want %d (%s)", v->name,
                         sn, fr.err_status, v->status, fr.err_msg);
        return;
    }
    cr_expect_eq(rc, 0, "%s [%s]: framing %s: %s", v->name, sn, cio_errname(rc),
                 cio_last_error());
    if (rc != 0)
        return;
    unsigned flags = (fr.keep_alive ? KA : 0) | (fr.upgrade ? UPG : 0) |
                     (fr.connect ? CONN : 0) | (fr.expect_continue ? EXP : 0) |
                     (fr.interim ? INTERIM : 0) | (fr.cl_and_te ? CLTE : 0) |
                     (fr.te_other ? TEO : 0);
    cr_expect_eq((int)fr.body, v->body, "%s [%s]: body %d, want %d", v->name,
                 sn, fr.body, v->body);
    if (v->body == LEN)
        cr_expect_eq(fr.length, v->length, "%s: length %llu, want %llu",
                     v->name, (unsigned long long)fr.length,
                     (unsigned long long)v->length);
    cr_expect_eq(flags, v->flags, "%s [%s]: flags %#x, want %#x", v->name, sn,
                 flags, v->flags);
}

static void run_vec(const struct vec *v, uint64_t seed)
{
    struct snap whole, other;
    size_t *cuts = malloc((v->len + 1) * sizeof(*cuts));
    size_t n;

    cr_assert(cuts != NULL);
    cuts[0] = v->len;
    feed(v, cuts, 1, 0, &whole);
    check_result(v, &whole, "whole");
    check_framing(v);

    /* one byte at a time, in place and moving */
    for (n = 0; n < v->len; n++)
        cuts[n] = n + 1;
    if (v->len == 0)
        cuts[n++] = 0;
    for (int move = 0; move <= 1; move++) {
        feed(v, cuts, n, move, &other);
        cr_expect(memcmp(&whole, &other, sizeof(whole)) == 0,
                  "%s [%s]: byte-by-byte (move=%d) differs: rc %td vs %td",
                  v->name, simd_name(cio__h1_simd_get()), move, other.rc,
                  whole.rc);
    }
    /* seeded random splits */
    rng_state = seed;
    for (int round = 0; round < 16; round++) {
        size_t at = 0;
        n = 0;
        while (at < v->len) {
            size_t step = 1 + (size_t)(rng() % (round < 8 ? 8 : 64));
            at = at + step < v->len ? at + step : v->len;
            cuts[n++] = at;
        }
        if (n == 0)
            cuts[n++] = 0;
        feed(v, cuts, n, round & 1, &other);
        cr_expect(memcmp(&whole, &other, sizeof(whole)) == 0,
                  "%s [%s]: random split (seed %llu round %d) differs: rc "
                  "%td vs %td",
                  v->name, simd_name(cio__h1_simd_get()),
                  (unsigned long long)seed, round, other.rc, whole.rc);
    }
    free(cuts);
}

/* Runs body once per scanner the CPU supports; at least the portable one. */
#define FOR_EACH_SIMD(lvl)                                                     \
    for (int lvl = CIO__H1_SIMD_NONE; lvl <= CIO__H1_SIMD_AVX2; lvl++)         \
        if ((int)cio__h1_simd_set((enum cio__h1_simd)lvl) == lvl)

static void run_table(const struct vec *t, size_t n)
{
    int levels = 0;
    FOR_EACH_SIMD(lvl)
    {
        levels++;
        for (size_t i = 0; i < n; i++)
            run_vec(&t[i], 0x9e3779b97f4a7c15ULL ^ (i * 7919 + 1));
    }
    cr_assert_geq(levels, 1);
#if defined(__x86_64__)
    cr_assert_geq(levels, 2, "x86-64 always has SSE2");
#endif
}

Test(h1_parse, request_vectors)
{
    run_table(reqs, CIO_COUNTOF(reqs));
}

Test(h1_parse, response_vectors)
{
    run_table(resps, CIO_COUNTOF(resps));
}

Test(h1_parse, at_least_150_vectors)
{
    cr_expect_geq(CIO_COUNTOF(reqs) + CIO_COUNTOF(resps), 150);
}

/* ------------------------------------------------------------ details */

static int eq(struct cio_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static const char browser[] =
    "GET /search?q=corio&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
    "image/avif,image/webp,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Referer: https://www.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=4f1c9a2b7d; theme=dark\r\n"
    "\r\n";

Test(h1_parse, browser_request_views)
{
    FOR_EACH_SIMD(lvl)
    {
        struct cio__h1_header hs[16];
        struct cio__h1_head h = {.headers = hs, .maxheaders = 16};
        struct cio__h1_framing f;

        ptrdiff_t n = cio__h1_parse_request(browser, sizeof(browser) - 1, &h);
        cr_assert_eq(n, (ptrdiff_t)sizeof(browser) - 1, "lvl %d: %td %s", lvl,
                     n, cio_last_error());
        cr_expect(eq(h.method, "GET"));
        cr_expect(eq(h.target, "/search?q=corio&lang=en"));
        cr_expect_eq(h.minor, 1);
        cr_assert_eq(h.nheaders, 12);
        cr_expect(eq(hs[0].name, "Host"));
        cr_expect(eq(hs[0].value, "www.example.com"));
        cr_expect(eq(hs[2].name, "sec-ch-ua"));
        cr_expect(eq(hs[2].value,
                     "\"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\""));
        cr_expect(eq(hs[11].name, "Cookie"));
        cr_expect(eq(hs[11].value, "session=4f1c9a2b7d; theme=dark"));
        for (size_t i = 0; i < h.nheaders; i++) {
            cr_expect(hs[i].name.ptr >= browser &&
                      hs[i].value.ptr + hs[i].value.len <= browser + n);
        }
        cr_assert_eq(cio__h1_request_framing(&h, &f), 0);
        cr_expect(eq(f.authority, "www.example.com"));
        cr_expect_eq(f.method, CIO__H1_M_GET);
        cr_expect_eq(f.body, CIO__H1_BODY_NONE);
        cr_expect(f.keep_alive);
    }
}

Test(h1_parse, values_are_trimmed_not_stripped)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\n"
                             "X: \t a b \t \r\nY:\xa0z\x85\r\nZ:\r\n\r\n";
    struct cio__h1_header hs[8];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 8};

    cr_assert_eq(cio__h1_parse_request(in, sizeof(in) - 1, &h),
                 (ptrdiff_t)sizeof(in) - 1);
    cr_expect(eq(hs[1].value, "a b"));
    /* RELIABILITY A.10: 0xa0 and 0x85 are not whitespace */
    cr_expect(eq(hs[2].value, "\xa0z\x85"));
    cr_expect_eq(hs[3].value.len, 0);
}

Test(h1_parse, absolute_form_authority_wins_over_host)
{
    static const char in[] =
        "GET http://a.example:81/p?q HTTP/1.1\r\nHost: b.example\r\n\r\n";
    struct cio__h1_header hs[8];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 8};
    struct cio__h1_framing f;

    cr_assert_gt(cio__h1_parse_request(in, sizeof(in) - 1, &h), 0);
    cr_assert_eq(cio__h1_request_framing(&h, &f), 0);
    /* RELIABILITY B.22: routing and ACLs see a, never b */
    cr_expect(eq(f.authority, "a.example:81"), "%.*s", (int)f.authority.len,
              f.authority.ptr);
}

Test(h1_parse, connect_and_upgrade_details)
{
    static const char c[] = "CONNECT a.example:443 HTTP/1.1\r\n"
                            "Host: a.example:443\r\n\r\n";
    static const char u[] = "GET /chat HTTP/1.1\r\nHost: a\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    struct cio__h1_header hs[8];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 8};
    struct cio__h1_framing f;

    cr_assert_gt(cio__h1_parse_request(c, sizeof(c) - 1, &h), 0);
    cr_assert_eq(cio__h1_request_framing(&h, &f), 0);
    cr_expect(f.connect && f.method == CIO__H1_M_CONNECT);
    cr_expect(eq(f.authority, "a.example:443"));

    cio__h1_head_reset(&h);
    cr_assert_gt(cio__h1_parse_request(u, sizeof(u) - 1, &h), 0);
    cr_assert_eq(cio__h1_request_framing(&h, &f), 0);
    cr_expect(f.upgrade);
    cr_expect(eq(f.upgrade_proto, "websocket"));
}

Test(h1_parse, response_views)
{
    static const char in[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
                             "Content-Type: text/plain\r\n\r\nnot found";
    struct cio__h1_header hs[8];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 8};
    struct cio__h1_framing f;

    ptrdiff_t n = cio__h1_parse_response(in, sizeof(in) - 1, &h);
    cr_assert_eq(n, (ptrdiff_t)sizeof(in) - 1 - 9);
    cr_expect_eq(h.status, 404);
    cr_expect(eq(h.reason, "Not Found"));
    cr_expect_eq(h.minor, 1);
    cr_assert_eq(cio__h1_response_framing(&h, CIO__H1_M_GET, 0, &f), 0);
    cr_expect_eq(f.body, CIO__H1_BODY_LENGTH);
    cr_expect_eq(f.length, 9);
}

/* RELIABILITY A.17: two requests in one segment are two messages, in
 * order; a valid one then an invalid one gives the first, then an error. */
Test(h1_parse, pipelining)
{
    static const char two[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char bad2[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                               "GET /2 HTTP/1.1\r\nHost : a\r\n\r\n";
    struct cio__h1_header hs[8];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 8};

    FOR_EACH_SIMD(lvl)
    {
        size_t at = 0;
        cio__h1_head_reset(&h);
        ptrdiff_t n = cio__h1_parse_request(two, sizeof(two) - 1, &h);
        cr_assert_eq(n, 28);
        cr_expect(eq(h.target, "/1"));
        at += (size_t)n;
        cio__h1_head_reset(&h);
        n = cio__h1_parse_request(two + at, sizeof(two) - 1 - at, &h);
        cr_assert_eq(n, 28);
        cr_expect(eq(h.target, "/2"));

        cio__h1_head_reset(&h);
        n = cio__h1_parse_request(bad2, sizeof(bad2) - 1, &h);
        cr_assert_eq(n, 28);
        cio__h1_head_reset(&h);
        n = cio__h1_parse_request(bad2 + 28, sizeof(bad2) - 1 - 28, &h);
        CIO_EXPECT_RC(n, CIO_EPROTO);
        cr_expect_eq(h.err_status, 400);
    }
}

Test(h1_parse, call_after_a_result_is_einval)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    struct cio__h1_header hs[4];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 4};

    cr_assert_gt(cio__h1_parse_request(in, sizeof(in) - 1, &h), 0);
    CIO_EXPECT_RC(cio__h1_parse_request(in, sizeof(in) - 1, &h), CIO_EINVAL);
    cio__h1_head_reset(&h);
    CIO_EXPECT_RC(cio__h1_parse_request(in, 20, &h), CIO_EMORE);
    CIO_EXPECT_RC(cio__h1_parse_request(in, 10, &h), CIO_EINVAL);
}

Test(h1_parse, error_messages_name_the_problem)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5"
                             "\r\n\r\n";
    struct cio__h1_header hs[4];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 4};

    CIO_EXPECT_RC(cio__h1_parse_request(in, sizeof(in) - 1, &h), CIO_EPROTO);
    cr_expect_str_eq(h.err_msg, "whitespace between field name and colon");
    cr_expect(strstr(cio_last_error(), "colon") != NULL, "%s",
              cio_last_error());
    cr_expect(strstr(cio_last_error(), "byte 39") != NULL, "%s",
              cio_last_error());
}

Test(h1_parse, default_limits)
{
    /* 100 fields pass, 101 fail with 431; an 8 KiB request line passes,
     * one byte more is 414 (RELIABILITY B.26, defaults). */
    size_t cap = 64 * 1024;
    char *buf = malloc(cap);
    struct cio__h1_header hs[128];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 128};
    cr_assert(buf != NULL);

    for (int nf = 100; nf <= 101; nf++) {
        size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < nf; i++)
            len += (size_t)snprintf(buf + len, cap - len, "X%d: v\r\n", i);
        len += (size_t)snprintf(buf + len, cap - len, "\r\n");
        cio__h1_head_reset(&h);
        ptrdiff_t n = cio__h1_parse_request(buf, len, &h);
        if (nf == 100) {
            cr_expect_eq(n, (ptrdiff_t)len);
        } else {
            CIO_EXPECT_RC(n, CIO_ETOOBIG);
            cr_expect_eq(h.err_status, 431);
        }
    }
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t tlen = 8192 - 4 - 9 + extra; /* "GET " + " HTTP/1.1" */
        size_t len = 0;
        memcpy(buf, "GET /", 5);
        len = 5;
        memset(buf + len, 'a', tlen - 1);
        len += tlen - 1;
        memcpy(buf + len, " HTTP/1.0\r\n\r\n", 13);
        len += 13;
        cio__h1_head_reset(&h);
        ptrdiff_t n = cio__h1_parse_request(buf, len, &h);
        if (extra == 0) {
            cr_expect_eq(n, (ptrdiff_t)len, "%s", cio_last_error());
        } else {
            CIO_EXPECT_RC(n, CIO_ETOOBIG);
            cr_expect_eq(h.err_status, 414);
        }
    }
    /* one field line of 8 KiB passes, one byte more is 431 */
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.0\r\nX: ");
        memset(buf + len, 'v', 8192 - 3 + extra);
        len += 8192 - 3 + extra;
        memcpy(buf + len, "\r\n\r\n", 4);
        len += 4;
        cio__h1_head_reset(&h);
        ptrdiff_t n = cio__h1_parse_request(buf, len, &h);
        if (extra == 0) {
            cr_expect_eq(n, (ptrdiff_t)len, "%s", cio_last_error());
        } else {
            CIO_EXPECT_RC(n, CIO_ETOOBIG);
            cr_expect_eq(h.err_status, 431);
        }
    }
    /* 5 field lines of 7 KiB (35 KiB) exceed the 32 KiB section: 431 */
    size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.0\r\n");
    for (int i = 0; i < 5; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "X%d: ", i);
        memset(buf + len, 'v', 7 * 1024);
        len += 7 * 1024;
        memcpy(buf + len, "\r\n", 2);
        len += 2;
    }
    memcpy(buf + len, "\r\n", 2);
    len += 2;
    cio__h1_head_reset(&h);
    CIO_EXPECT_RC(cio__h1_parse_request(buf, len, &h), CIO_ETOOBIG);
    cr_expect_eq(h.err_status, 431);
    free(buf);
}

Test(h1_parse, caller_array_caps_fields)
{
    static const char in[] = "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\n\r\n";
    struct cio__h1_header hs[1];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 1};

    CIO_EXPECT_RC(cio__h1_parse_request(in, sizeof(in) - 1, &h), CIO_ETOOBIG);
    cr_expect_eq(h.err_status, 431);
}

/* The vector scanners look at 16 or 32 bytes at a time: an invalid byte
 * must be found at every offset of a long value or target, and valid
 * obs-text must pass at every offset, with each scanner. */
Test(h1_parse, scanners_find_every_offset)
{
    static const char bads[] = {'\0', '\x01', '\x1f', '\x7f', '\n', '\x0b'};
    char buf[256];
    struct cio__h1_header hs[4];
    struct cio__h1_head h = {.headers = hs, .maxheaders = 4};

    FOR_EACH_SIMD(lvl)
    {
        for (size_t off = 0; off < 100; off++) {
            for (size_t b = 0; b <= sizeof(bads); b++) {
                /* value: "X: " + 100 bytes + CRLF CRLF */
                size_t len =
                    (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.0\r\nX: ");
                size_t vstart = len;
                memset(buf + len, 'v', 100);
                buf[len + 50] = '\t';
                len += 100;
                memcpy(buf + len, "\r\n\r\n", 4);
                len += 4;
                char c = b < sizeof(bads) ? bads[b] : (char)0xa0;
                buf[vstart + off] = c;
                cio__h1_head_reset(&h);
                ptrdiff_t n = cio__h1_parse_request(buf, len, &h);
                if (b == sizeof(bads)) {
                    cr_expect_eq(n, (ptrdiff_t)len, "lvl %d off %zu", lvl, off);
                } else {
                    CIO_EXPECT_RC(n, CIO_EPROTO);
                    cr_expect(strstr(cio_last_error(), "byte") != NULL);
                }
            }
            /* target: "GET /" + 100 bytes + " HTTP/1.0" */
            static const char tbads[] = {' ',    '\t',   '#',  '\x7f',
                                         '\x80', '\xff', '\0', '\x20' - 1};
            for (size_t b = 0; b <= sizeof(tbads); b++) {
                size_t len = 5;
                memcpy(buf, "GET /", 5);
                memset(buf + len, 't', 100);
                len += 100;
                memcpy(buf + len, " HTTP/1.0\r\n\r\n", 13);
                len += 13;
                char c = b < sizeof(tbads) ? tbads[b] : '~';
                buf[5 + off] = c;
                cio__h1_head_reset(&h);
                ptrdiff_t n = cio__h1_parse_request(buf, len, &h);
                if (b == sizeof(tbads)) {
                    cr_expect_eq(n, (ptrdiff_t)len, "lvl %d off %zu", lvl, off);
                    cr_expect_eq(h.target.len, 101);
                } else {
                    /* A space splits the target: the rest is not a
                     * version. Anything else is an invalid byte. */
                    CIO_EXPECT_RC(n, CIO_EPROTO);
                    cr_expect_eq(h.err_status, 400, "lvl %d off %zu byte %#x",
                                 lvl, off, (unsigned char)c);
                }
            }
        }
    }
}

Test(h1_parse, env_and_hook_select_the_scanner)
{
    enum cio__h1_simd best = cio__h1_simd_set(CIO__H1_SIMD_AVX2);
    cr_expect_eq(cio__h1_simd_set(CIO__H1_SIMD_NONE), CIO__H1_SIMD_NONE);
    cr_expect_eq(cio__h1_simd_get(), CIO__H1_SIMD_NONE);
    cr_expect_eq(cio__h1_simd_set(CIO__H1_SIMD_AVX2), best);
    cr_log_info("h1 scanners: best is %s", simd_name(best));
}

Test(h1_parse, method_classification)
{
    static const struct {
        const char *m;
        enum cio__h1_method want;
    } ms[] = {
        {"GET", CIO__H1_M_GET},         {"HEAD", CIO__H1_M_HEAD},
        {"POST", CIO__H1_M_POST},       {"PUT", CIO__H1_M_PUT},
        {"DELETE", CIO__H1_M_DELETE},   {"CONNECT", CIO__H1_M_CONNECT},
        {"OPTIONS", CIO__H1_M_OPTIONS}, {"TRACE", CIO__H1_M_TRACE},
        {"PATCH", CIO__H1_M_PATCH},     {"get", CIO__H1_M_OTHER},
        {"GETS", CIO__H1_M_OTHER},      {"GE", CIO__H1_M_OTHER},
    };
    for (size_t i = 0; i < CIO_COUNTOF(ms); i++)
        cr_expect_eq(cio__h1_method(cio_str_c(ms[i].m)), ms[i].want, "%s",
                     ms[i].m);
}
