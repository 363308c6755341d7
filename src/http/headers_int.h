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

/* Trims SP and HTAB from both ends. */
struct cio_str cio__headers_trim(struct cio_str s);

#endif
