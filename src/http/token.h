/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_TOKEN_H
#define CIO_HTTP_TOKEN_H

/*
 * Character classes of HTTP (RFC 9110 §5.6, RFC 3986 §2-3) as one 256-entry
 * table of bit sets, so that every parser tests a byte with one load and one
 * AND. The table is a compile-time constant (token.c).
 */
#include <stddef.h>
#include <stdint.h>

enum {
    /* tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA (field names, methods,
     * transfer codings, connection options). */
    CIO__TOK_TCHAR = 0x01,
    /* A byte allowed inside a field value or reason phrase: HTAB, SP,
     * VCHAR and obs-text (0x80-0xFF). Not: other CTLs, DEL. */
    CIO__TOK_VALUE = 0x02,
    /* A byte allowed in a request-target: VCHAR except '#'. Not: SP, CTLs,
     * DEL, 0x80-0xFF (raw non-ASCII must be percent-encoded). */
    CIO__TOK_TARGET = 0x04,
    /* reg-name bytes other than '%': unreserved and sub-delims. */
    CIO__TOK_HOST = 0x08,
    CIO__TOK_DIGIT = 0x10,
    CIO__TOK_HEX = 0x20,
    /* Bytes after the first in a URI scheme: ALPHA, DIGIT, '+', '-', '.'. */
    CIO__TOK_SCHEME = 0x40,
};

extern const uint8_t cio__tok_cls[256];

static inline int cio__tok_is(char c, unsigned cls)
{
    return (cio__tok_cls[(unsigned char)c] & cls) != 0;
}

/* 1 if s[0..len) is a non-empty token (1*tchar), else 0. */
static inline int cio__tok_is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!cio__tok_is(s[i], CIO__TOK_TCHAR))
            return 0;
    return 1;
}

/* 1 if s[0..len) equals the lowercase literal lc ignoring ASCII case: only
 * A-Z in s are folded, every other byte must match exactly, so lc must not
 * hold uppercase letters. */
static inline int cio__tok_ieq(const char *s, size_t len, const char *lc,
                               size_t lclen)
{
    if (len != lclen)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c | 0x20);
        if (c != (unsigned char)lc[i])
            return 0;
    }
    return 1;
}

#define CIO__TOK_IEQ(s, len, lit) cio__tok_ieq((s), (len), lit, sizeof(lit) - 1)

#endif
