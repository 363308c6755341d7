/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_HEADERS_INT_H
#define CIO_HTTP_HEADERS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http/headers.h>

#include "http/token.h"

/* RFC 9110 §5.6.2 tchar, from the one byte-class table (http/token.h). */
static inline bool cio__is_tchar(unsigned char c)
{
    return cio__tok_is((char)c, CIO__TOK_TCHAR);
}

static inline unsigned char cio__lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality of two views. */
bool cio__headers_eq(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Writes s[0..len) quoted for an error message into out (cap >= 8): at
 * most about 40 bytes, unprintable bytes as \xNN, "..." when cut. Returns
 * out.
 */
const char *cio__headers_quote(char *out, size_t cap, const char *s,
                               size_t len);

/*
 * Checks one field as cio_headers_add does (token name; value without NUL,
 * CR, LF or other CTL except HTAB). The value is checked as given: the
 * caller trims it first if it wants to. `what` prefixes the message
 * ("header", "trailer"). Returns 0 or CIO_EHEADER with cio__err set.
 */
int cio__headers_check(const char *what, struct cio_str name,
                       struct cio_str value);

/*
 * Names the HTTP/1.1 head writers treat specially, tracked per map (set
 * when a field of that name is stored, cleared by remove/clear) so that
 * writing a head needs no lookup to learn whether the map carries one.
 */
enum {
    CIO__HK_CONTENT_LENGTH = 1u << 0,
    CIO__HK_TRANSFER_ENCODING = 1u << 1,
    CIO__HK_CONNECTION = 1u << 2,
    CIO__HK_DATE = 1u << 3,
};
unsigned cio__headers_known(const cio_headers *h);

/* cio_headers_set_str without the check and trim: for constant names and
 * values the caller knows valid (a server's own Content-Type). Same limits
 * and errors otherwise. */
int cio__headers_set_trusted(cio_headers *h, struct cio_str name,
                             struct cio_str value);

/* Writes every field as "Name: value\r\n" at out, exactly
 * cio_headers_bytes(h) bytes; returns the end. */
char *cio__headers_wire(const cio_headers *h, char *out);

/* Trims SP and HTAB from both ends. */
struct cio_str cio__headers_trim(struct cio_str s);

#endif
