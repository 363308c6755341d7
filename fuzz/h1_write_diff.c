/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the response head writer's fast path (src/http/h1_write.c
 * write_response_fast: a vouched-for map and no extra list, the server's
 * case) against the general path (the same input with an empty extra
 * list) and the field-by-field path (the map not vouched for).
 *
 * Input: a program of ops, each starting with an op byte:
 *   0: add, 1: set, 2: remove, 3: clear, 4: set_trusted (a constant),
 *   5: clone  -- name = NAMES[next byte], value = the next bytes up to '\n'
 * then, after the byte 0xff: status (2 bytes), flags (1 byte: minor,
 * add_date, has_length, chunked, connection (2 bits), server, reason),
 * length (8 bytes), cap (2 bytes), then the reason and the server name,
 * split at the first '\n'.
 *
 * Oracles: the three calls agree on the result, on *need when the head
 * does not fit, and on every byte when it does; nothing is written past
 * cap; the map's known-name bits equal a recount after every op.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1_write.h"
#include "http/headers_int.h"

static const char *const NAMES[] = {
    "Content-Length",
    "content-length",
    "Transfer-Encoding",
    "TRANSFER-ENCODING",
    "Connection",
    "connection",
    "Date",
    "dAtE",
    "Server",
    "X-A",
    "Content-Type",
    "Datf",
    "Connectioo",
    "Set-Cookie",
    "D",
    "Content-Lengtx",
};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static unsigned recount(const cio_headers *h)
{
    return (cio_headers_count_name(h, "content-length") ? CIO__HK_CONTENT_LENGTH
                                                        : 0) |
           (cio_headers_count_name(h, "transfer-encoding")
                ? CIO__HK_TRANSFER_ENCODING
                : 0) |
           (cio_headers_count_name(h, "connection") ? CIO__HK_CONNECTION : 0) |
           (cio_headers_count_name(h, "date") ? CIO__HK_DATE : 0);
}

static const char *take_line(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
    *len = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
    *p = nl != NULL ? nl + 1 : end;
    return (const char *)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    cio_headers *h;
    struct cio_headers_opts o = {.max_bytes = 4096, .max_fields = 32};
    if (cio_headers_new(&h, &o) < 0)
        return 0;

    while (p < end && *p != 0xff) {
        unsigned op = *p++ % 6;
        const char *name = NAMES[(p < end ? *p++ : 0) % NNAMES];
        size_t vlen;
        const char *v = take_line(&p, end, &vlen);
        char *val = malloc(vlen + 1);
        assert(val != NULL);
        memcpy(val, v, vlen);
        val[vlen] = '\0';
        switch (op) {
        case 0:
            (void)cio_headers_add(h, name, val);
            break;
        case 1:
            (void)cio_headers_set(h, name, val);
            break;
        case 2:
            (void)cio_headers_remove(h, name);
            break;
        case 3:
            cio_headers_clear(h);
            break;
        case 4:
            (void)cio__headers_set_trusted(
                h, cio_str_c(name), CIO_STR_LIT("text/plain; charset=utf-8"));
            break;
        default: {
            cio_headers *c;
            if (cio_headers_clone(&c, h) == 0) {
                assert(cio__headers_known(c) == cio__headers_known(h));
                cio_headers_free(h);
                h = c;
            }
        }
        }
        free(val);
        assert(cio__headers_known(h) == recount(h));
    }
    if (p < end)
        p++; /* 0xff */
    uint8_t hdr[13] = {0};
    size_t k = (size_t)(end - p) < sizeof hdr ? (size_t)(end - p) : sizeof hdr;
    memcpy(hdr, p, k);
    p += k;
    static const char *const CONNS[] = {NULL, "close", "keep-alive", "upgrade"};
    static const char date[] = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
    struct cio__h1_response r = {
        .status = 100 + (hdr[0] << 8 | hdr[1]) % 500,
        .minor = hdr[2] & 1,
        .add_date = (hdr[2] >> 1) & 1,
        .has_length = (hdr[2] >> 2) & 1,
        .chunked = (hdr[2] >> 3) & 1,
        .connection = CONNS[(hdr[2] >> 4) & 3],
        .headers = h,
        .checked = 1,
        .date_line = date, /* pinned: the clock may tick between calls */
    };
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len = len << 8 | hdr[3 + i];
    r.length = len;
    size_t cap = (size_t)(hdr[11] << 8 | hdr[12]) % 8192;
    size_t rlen, slen;
    const char *reason = take_line(&p, end, &rlen);
    const char *server = take_line(&p, end, &slen);
    if (hdr[2] & 0x40)
        r.server = (struct cio_str){server, slen};
    if (hdr[2] & 0x80)
        r.reason = (struct cio_str){reason, rlen};

    static const struct cio_kv none[] = {{NULL, NULL}};
    char *a = malloc(cap + 1), *b = malloc(cap + 1), *c = malloc(cap + 1);
    assert(a != NULL && b != NULL && c != NULL);
    a[cap] = b[cap] = c[cap] = 'Z';
    struct cio__h1_response g = r, f = r;
    g.extra = none;
    f.checked = 0;
    size_t na = 1, nb = 1, nc = 1;
    ptrdiff_t ra = cio__h1_write_response(a, cap, &r, &na);
    ptrdiff_t rb = cio__h1_write_response(b, cap, &g, &nb);
    ptrdiff_t rc = cio__h1_write_response(c, cap, &f, &nc);
    assert(ra == rb && ra == rc);
    assert(na == nb && na == nc);
    if (ra >= 0) {
        assert((size_t)ra <= cap);
        assert(memcmp(a, b, (size_t)ra) == 0 && memcmp(a, c, (size_t)ra) == 0);
    }
    assert(a[cap] == 'Z' && b[cap] == 'Z' && c[cap] == 'Z');
    free(a);
    free(b);
    free(c);
    cio_headers_free(h);
    return 0;
}
