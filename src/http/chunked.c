/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/chunked.h"
#include "http/headers_int.h"

#define DEFAULT_MAX_EXT 4096u
#define DEFAULT_MAX_TRAILER_BYTES (32u * 1024)
#define DEFAULT_MAX_TRAILERS 100u
/* Sizes above this are refused (RELIABILITY.md A.13: no wraparound). */
#define MAX_CHUNK_SIZE ((uint64_t)INT64_MAX)

/*
 * One state per position in the RFC 9112 §7.1 grammar, so that a split
 * can fall anywhere: the next byte alone decides the next state.
 *
 *   SIZE_START -hex-> SIZE -CR-> SIZE_LF -LF-> DATA (size > 0) -> DATA_CR
 *        -> DATA_LF -> SIZE_START ...;  SIZE_LF -LF-> TR_START (size 0)
 *   SIZE -;-> EXT_NAME_START -> EXT_NAME [-=-> EXT_VAL_START -> EXT_VAL |
 *        EXT_QUOTED ...] -;-> EXT_NAME_START ... -CR-> SIZE_LF
 *   TR_START -CR-> END_LF -LF-> DONE;  TR_START -byte-> TR_LINE -CR->
 *        TR_LF -LF-> TR_START
 */
enum {
    S_SIZE_START,
    S_SIZE,
    S_SIZE_WS,        /* BWS after the size: only ';' may follow */
    S_EXT_NAME_START, /* after ';' (BWS allowed) */
    S_EXT_NAME,
    S_EXT_NAME_WS,    /* BWS after a name: '=' or ';' must follow */
    S_EXT_VAL_START,  /* after '=' (BWS allowed) */
    S_EXT_VAL,        /* in a token value */
    S_EXT_QUOTED,     /* in a quoted-string value */
    S_EXT_QUOTED_ESC, /* after a backslash in a quoted-string */
    S_EXT_VAL_END,    /* after a closing quote */
    S_EXT_VAL_WS,     /* BWS after a value: ';' must follow */
    S_SIZE_LF,
    S_DATA,
    S_DATA_CR,
    S_DATA_LF,
    S_TR_START, /* at the start of a trailer line */
    S_TR_LINE,
    S_TR_LF,
    S_END_LF, /* the final CRLF's LF */
    S_DONE,
    S_ERROR,
};

static const char *const forbidden[] = {
    "content-length",
    "transfer-encoding",
    "trailer",
    "te",
    "connection",
    "keep-alive",
    "proxy-connection",
    "upgrade",
    "host",
    "content-encoding",
    "content-type",
    "content-range",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "cookie",
    "set-cookie",
    "expect",
    "max-forwards",
    "range",
};

bool cio__chunked_is_forbidden_trailer(struct cio_str name)
{
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        if (cio__headers_eq(name.ptr, name.len, forbidden[i],
                            strlen(forbidden[i])))
            return true;
    }
    return false;
}

void cio__chunked_init(struct cio__chunked *d,
                       const struct cio__chunked_opts *opts)
{
    memset(d, 0, sizeof(*d));
    if (opts != NULL)
        d->o = *opts;
    if (d->o.max_ext_bytes == 0)
        d->o.max_ext_bytes = DEFAULT_MAX_EXT;
    if (d->o.max_trailer_bytes == 0)
        d->o.max_trailer_bytes = DEFAULT_MAX_TRAILER_BYTES;
    if (d->o.max_trailers == 0)
        d->o.max_trailers = DEFAULT_MAX_TRAILERS;
    d->state = S_SIZE_START;
}

void cio__chunked_fini(struct cio__chunked *d)
{
    cio__free(d->line);
    d->line = NULL;
    d->line_len = d->line_cap = 0;
    cio_headers_free(d->trailers);
    d->trailers = NULL;
}

bool cio__chunked_done(const struct cio__chunked *d)
{
    return d->state == S_DONE;
}

const cio_headers *cio__chunked_trailers(const struct cio__chunked *d)
{
    return d->trailers;
}

cio_headers *cio__chunked_take_trailers(struct cio__chunked *d)
{
    cio_headers *t = d->trailers;
    d->trailers = NULL;
    return t;
}

/* Records a sticky error; the message was set by the caller. */
static int fail(struct cio__chunked *d, int err)
{
    d->state = S_ERROR;
    d->err = err;
    return err;
}

static int bad(struct cio__chunked *d, const char *what, unsigned char c)
{
    if (c == '\r' || c == '\n')
        cio__err(CIO_EPROTO, "chunked: bare %s %s", c == '\r' ? "CR" : "LF",
                 what);
    else
        cio__err(CIO_EPROTO, "chunked: byte 0x%02x %s", c, what);
    return fail(d, CIO_EPROTO);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = cio__lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 §5.6.4 qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
static bool is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

static int size_digit(struct cio__chunked *d, int v)
{
    if (d->ndigits == 16) {
        cio__err(CIO_EPROTO, "chunked: chunk size has more than 16 hex digits");
        return fail(d, CIO_EPROTO);
    }
    /* 16 digits fit in 64 bits; the check keeps sizes below 2^63. */
    if (d->size > (MAX_CHUNK_SIZE - (uint64_t)v) >> 4) {
        cio__err(CIO_EPROTO, "chunked: chunk size above 2^63-1");
        return fail(d, CIO_EPROTO);
    }
    d->size = d->size << 4 | (uint64_t)v;
    d->ndigits++;
    if (d->o.max_body != 0 && d->size > d->o.max_body - d->declared) {
        cio__err(CIO_ETOOBIG,
                 "chunked: chunk size exceeds the body limit of %llu bytes",
                 (unsigned long long)d->o.max_body);
        return fail(d, CIO_ETOOBIG);
    }
    return 0;
}

/* Parses one complete trailer line (without its CRLF) and keeps it. */
static int trailer_line(struct cio__chunked *d)
{
    const char *colon = memchr(d->line, ':', d->line_len);
    if (colon == NULL) {
        char q[64];
        cio__err(CIO_EPROTO, "chunked: trailer line \"%s\" has no colon",
                 cio__headers_quote(q, sizeof(q), d->line, d->line_len));
        return fail(d, CIO_EPROTO);
    }
    struct cio_str name = {d->line, (size_t)(colon - d->line)};
    struct cio_str value = cio__headers_trim(
        (struct cio_str){colon + 1, d->line_len - name.len - 1});
    /* Also refuses "Name : v" (RFC 9112 §5.1) and CTLs in the value. */
    if (cio__headers_check("trailer", name, value) < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", cio_last_error());
        cio__err(CIO_EPROTO, "chunked: %s", msg);
        return fail(d, CIO_EPROTO);
    }
    if (d->ntrailers == d->o.max_trailers) {
        cio__err(CIO_ETOOBIG, "chunked: more than %u trailer fields",
                 d->o.max_trailers);
        return fail(d, CIO_ETOOBIG);
    }
    d->ntrailers++;
    if (cio__chunked_is_forbidden_trailer(name)) {
        d->ndropped++;
        return 0;
    }
    if (d->trailers == NULL) {
        /* The section limit is enforced above on raw bytes; the map's
         * own limits only need to be no tighter. */
        struct cio_headers_opts ho = {
            .max_bytes = 2 * (size_t)d->o.max_trailer_bytes + 64,
            .max_fields = d->o.max_trailers,
        };
        if (cio_headers_new(&d->trailers, &ho) < 0)
            return fail(d, CIO_ENOMEM);
    }
    int rc = cio_headers_add_str(d->trailers, name, value);
    if (rc < 0)
        return fail(d, rc == CIO_EHEADER ? CIO_EPROTO : rc);
    return 0;
}

/* Appends to the trailer line; the section limit bounds the buffer. */
static int line_append(struct cio__chunked *d, const char *p, size_t n)
{
    if (d->line_len + n > d->line_cap) {
        size_t ncap = d->line_cap != 0 ? d->line_cap : 128;
        while (ncap < d->line_len + n)
            ncap *= 2;
        char *nl = cio__realloc(d->line, ncap);
        if (nl == NULL)
            return fail(d, CIO_ENOMEM);
        d->line = nl;
        d->line_cap = ncap;
    }
    memcpy(d->line + d->line_len, p, n);
    d->line_len += n;
    return 0;
}

static int trailer_count(struct cio__chunked *d, size_t n)
{
    if (n > d->o.max_trailer_bytes - d->trailer_bytes) {
        cio__err(CIO_ETOOBIG, "chunked: trailer section exceeds %u bytes",
                 d->o.max_trailer_bytes);
        return fail(d, CIO_ETOOBIG);
    }
    d->trailer_bytes += (uint32_t)n;
    return 0;
}

static int ext_count(struct cio__chunked *d)
{
    if (d->ext_bytes == d->o.max_ext_bytes) {
        cio__err(CIO_ETOOBIG, "chunked: chunk extensions exceed %u bytes",
                 d->o.max_ext_bytes);
        return fail(d, CIO_ETOOBIG);
    }
    d->ext_bytes++;
    return 0;
}

/*
 * One byte of everything but data and trailer-line runs. Returns 0 or an
 * error (already recorded).
 */
static int step(struct cio__chunked *d, unsigned char c)
{
    int v;

    switch (d->state) {
    case S_SIZE_START:
        v = hexval(c);
        if (v < 0) {
            if (c == '\r')
                cio__err(CIO_EPROTO, "chunked: empty chunk size");
            else
                cio__err(CIO_EPROTO,
                         "chunked: chunk size starts with byte 0x%02x", c);
            return fail(d, CIO_EPROTO);
        }
        d->size = 0;
        d->ndigits = 0;
        d->state = S_SIZE;
        return size_digit(d, v);
    case S_SIZE:
        v = hexval(c);
        if (v >= 0)
            return size_digit(d, v);
        if (c == '\r') {
            d->state = S_SIZE_LF;
            return 0;
        }
        if (c == ';')
            d->state = S_EXT_NAME_START;
        else if (is_ws(c))
            d->state = S_SIZE_WS;
        else
            return bad(d, "in chunk size", c);
        return ext_count(d);
    case S_SIZE_LF:
        if (c != '\n')
            return bad(d, "after chunk size line (want CRLF)", c);
        if (d->size == 0) {
            d->state = S_TR_START;
        } else {
            d->declared += d->size;
            d->left = d->size;
            d->state = S_DATA;
        }
        return 0;
    case S_DATA_CR:
        if (c != '\r')
            return bad(d, "after chunk data (want CRLF)", c);
        d->state = S_DATA_LF;
        return 0;
    case S_DATA_LF:
        if (c != '\n')
            return bad(d, "after chunk data (want CRLF)", c);
        d->state = S_SIZE_START;
        return 0;
    case S_TR_START:
    case S_TR_LF:
    case S_END_LF: {
        int rc = trailer_count(d, 1);
        if (rc < 0)
            return rc;
        if (d->state == S_END_LF) {
            if (c != '\n')
                return bad(d, "after the trailer section (want CRLF)", c);
            d->state = S_DONE;
        } else if (d->state == S_TR_LF) {
            if (c != '\n')
                return bad(d, "in trailer line (want CRLF)", c);
            rc = trailer_line(d);
            if (rc < 0)
                return rc; /* the state stays S_ERROR */
            d->line_len = 0;
            d->state = S_TR_START;
            return 0;
        } else if (c == '\r') {
            d->state = S_END_LF;
        } else if (is_ws(c)) {
            /* RFC 9112 §5.2: obs-fold is refused. */
            cio__err(CIO_EPROTO, "chunked: obs-fold in trailer section");
            return fail(d, CIO_EPROTO);
        } else if (c == '\n') {
            return bad(d, "in trailer section", c);
        } else {
            d->state = S_TR_LINE;
            return line_append(d, (const char *)&c, 1);
        }
        return 0;
    }
    default:
        break;
    }

    /* Chunk extensions (RFC 9112 §7.1.1): every byte up to the line's CR
     * counts against the limit. */
    if (c != '\r') {
        int rc = ext_count(d);
        if (rc < 0)
            return rc;
    }
    switch (d->state) {
    case S_SIZE_WS:
        if (is_ws(c))
            return 0;
        if (c == ';') {
            d->state = S_EXT_NAME_START;
            return 0;
        }
        return bad(d, "after whitespace in chunk size line", c);
    case S_EXT_NAME_START:
        if (is_ws(c))
            return 0;
        if (!cio__is_tchar(c))
            return bad(d, "at start of chunk extension name", c);
        d->state = S_EXT_NAME;
        return 0;
    case S_EXT_NAME:
        if (cio__is_tchar(c))
            return 0;
        if (is_ws(c))
            d->state = S_EXT_NAME_WS;
        else if (c == '=')
            d->state = S_EXT_VAL_START;
        else if (c == ';')
            d->state = S_EXT_NAME_START;
        else if (c == '\r')
            d->state = S_SIZE_LF;
        else
            return bad(d, "in chunk extension name", c);
        return 0;
    case S_EXT_NAME_WS:
        if (is_ws(c))
            return 0;
        if (c == '=')
            d->state = S_EXT_VAL_START;
        else if (c == ';')
            d->state = S_EXT_NAME_START;
        else
            return bad(d, "after chunk extension name", c);
        return 0;
    case S_EXT_VAL_START:
        if (is_ws(c))
            return 0;
        if (c == '"')
            d->state = S_EXT_QUOTED;
        else if (cio__is_tchar(c))
            d->state = S_EXT_VAL;
        else
            return bad(d, "at start of chunk extension value", c);
        return 0;
    case S_EXT_VAL:
        if (cio__is_tchar(c))
            return 0;
        if (is_ws(c))
            d->state = S_EXT_VAL_WS;
        else if (c == ';')
            d->state = S_EXT_NAME_START;
        else if (c == '\r')
            d->state = S_SIZE_LF;
        else
            return bad(d, "in chunk extension value", c);
        return 0;
    case S_EXT_QUOTED:
        if (c == '"')
            d->state = S_EXT_VAL_END;
        else if (c == '\\')
            d->state = S_EXT_QUOTED_ESC;
        else if (!is_qdtext(c))
            return bad(d, "in quoted chunk extension value", c);
        return 0;
    case S_EXT_QUOTED_ESC:
        /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
        if (!cio__tok_is((char)c, CIO__TOK_VALUE))
            return bad(d, "after backslash in chunk extension", c);
        d->state = S_EXT_QUOTED;
        return 0;
    case S_EXT_VAL_END:
        if (is_ws(c))
            d->state = S_EXT_VAL_WS;
        else if (c == ';')
            d->state = S_EXT_NAME_START;
        else if (c == '\r')
            d->state = S_SIZE_LF;
        else
            return bad(d, "after quoted chunk extension value", c);
        return 0;
    case S_EXT_VAL_WS:
        if (is_ws(c))
            return 0;
        if (c != ';')
            return bad(d, "after chunk extension value", c);
        d->state = S_EXT_NAME_START;
        return 0;
    default:
        /* S_DATA, S_TR_LINE, S_DONE and S_ERROR never reach step(). */
        return bad(d, "in an impossible decoder state", c);
    }
}

int cio__chunked_feed(struct cio__chunked *d, const char *in, size_t len,
                      size_t *used, struct cio_str *data)
{
    const char *p = in, *end = in + len;
    struct cio_str out = {in, 0};
    int rc;

    if (d->state == S_ERROR)
        return d->err;
    while (p < end && d->state != S_DONE) {
        if (d->state == S_DATA) {
            size_t n = (size_t)(end - p);
            if ((uint64_t)n > d->left)
                n = (size_t)d->left;
            out = (struct cio_str){p, n};
            p += n;
            d->left -= n;
            d->total += n;
            if (d->left == 0)
                d->state = S_DATA_CR;
            break; /* one span per call */
        }
        if (d->state == S_TR_LINE) {
            /* A run up to the line's CR at once. */
            const char *q = p;
            while (q < end && *q != '\r' && *q != '\n')
                q++;
            size_t n = (size_t)(q - p);
            rc = trailer_count(d, n);
            if (rc == 0)
                rc = line_append(d, p, n);
            if (rc < 0)
                return rc;
            p = q;
            if (p == end)
                break;
            rc = trailer_count(d, 1);
            if (rc < 0)
                return rc;
            if (*p == '\n')
                return bad(d, "in trailer line", '\n');
            p++;
            d->state = S_TR_LF;
            continue;
        }
        rc = step(d, (unsigned char)*p);
        if (rc < 0)
            return rc;
        p++;
    }
    *used = (size_t)(p - in);
    *data = out;
    return d->state == S_DONE ? CIO__CHUNKED_DONE : 0;
}

int cio__chunked_eof(struct cio__chunked *d)
{
    const char *where;

    switch (d->state) {
    case S_DONE:
        return 0;
    case S_ERROR:
        return d->err;
    case S_DATA:
    case S_DATA_CR:
    case S_DATA_LF:
        where = "inside chunk data";
        break;
    case S_TR_START:
    case S_TR_LINE:
    case S_TR_LF:
    case S_END_LF:
        where = "inside the trailer section";
        break;
    default:
        where = "inside a chunk size line";
        break;
    }
    cio__err(CIO_EPROTO, "chunked: body ended %s", where);
    return fail(d, CIO_EPROTO);
}
