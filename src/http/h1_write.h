/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_H1_WRITE_H
#define CIO_HTTP_H1_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <corio/http/common.h>
#include <corio/http/headers.h>
#include <corio/http/misc.h>

/*
 * HTTP/1.1 message heads and chunked framing, serialized into the caller's
 * memory. Pure code: no I/O, no allocation.
 *
 * Everything is validated again here, whatever its source, so that no call
 * can put a CR, LF or NUL on the wire where it would start a new line
 * (request splitting, response splitting; RELIABILITY.md D.42-44). A
 * rejected head returns CIO_EHEADER (a field) or CIO_EINVAL (method,
 * target, version, status or reason), with cio_last_error() naming the
 * culprit. After any error the bytes in buf are unspecified (a prefix may
 * have been written) and must not be sent.
 */

struct cio__h1_request {
    struct cio_str method;      /* a token, e.g. "GET" */
    struct cio_str target;      /* "/p?q", "http://h/p", "h:443" or "*" */
    int minor;                  /* HTTP/1.<minor>: 0 or 1 */
    const cio_headers *headers; /* may be NULL */
    const struct cio_kv
        *extra; /* written after headers; {NULL} ends; NULL ok */
};

struct cio__h1_response {
    int status;                 /* 100..599 */
    struct cio_str reason;      /* ptr NULL = cio_http_status_reason(status) */
    int minor;                  /* 0 or 1 */
    const cio_headers *headers; /* may be NULL */
    const struct cio_kv *extra; /* as for requests */
    unsigned add_date : 1;      /* append Date (cached) unless one is present */
    /* The caller vouches for headers and extra (every cio_headers map
     * validates its fields on insertion; extra built from constants and
     * values validated once): they are not checked again per head. */
    unsigned checked : 1;
    /* Fields the writer formats itself, after the map's and extra's
     * (no strlen, no trim): Content-Length when has_length, Transfer-
     * Encoding: chunked when chunked, Connection when connection is not
     * NULL (a constant token), Server when server.ptr is not NULL (the
     * caller checked it once). */
    unsigned has_length : 1;
    unsigned chunked : 1;
    uint64_t length;
    const char *connection;
    struct cio_str server;
    /* With add_date: the line to write (CIO__H1_DATE_LINE_LEN bytes, from
     * cio__h1_date_line() earlier in the same turn, say), or NULL to
     * take cio__h1_date_line() now. */
    const char *date_line;
};

/*
 * Writes the head (start line, fields, empty line) into buf[0..cap) and
 * returns its length. Errors: CIO_EINVAL / CIO_EHEADER (see above) and
 * CIO_ETOOBIG if cap is too small; then, if need is not NULL, *need is the
 * size the head requires (the only case where *need is written).
 *
 * The request target may hold visible ASCII only (0x21-0x7e, never '#':
 * fragments are not sent; non-ASCII must be percent-encoded first, CVE-
 * 2018-12116). The reason phrase may hold HTAB, SP, VCHAR and obs-text.
 * Field values are written as stored (trimmed); extra values are trimmed
 * of SP/HTAB like map values.
 */
ptrdiff_t cio__h1_write_request(char *buf, size_t cap,
                                const struct cio__h1_request *r, size_t *need);
ptrdiff_t cio__h1_write_response(char *buf, size_t cap,
                                 const struct cio__h1_response *r,
                                 size_t *need);

/*
 * The current time as an IMF-fixdate, for the Date header: formatted at
 * most once per second per thread (a thread-local cache keyed on
 * time(NULL)). The pointer is to thread-local storage: valid on this
 * thread until it exits, its content changes when the second does.
 */
const char *cio__h1_date(void);

/* The same as a head line, "Date: <IMF-fixdate>\r\n": exactly
 * CIO__H1_DATE_LINE_LEN bytes (NUL-terminated). */
#define CIO__H1_DATE_LINE_LEN (6 + CIO_HTTP_DATE_LEN + 2)
const char *cio__h1_date_line(void);

/* Longest chunk header: 16 hex digits + CRLF. */
#define CIO__H1_CHUNK_HEAD_MAX 18

/*
 * Chunked encoding (RFC 9112 §7.1). A chunk of len > 0 bytes is sent as
 * three pieces: the size line (written into head, returned length), the
 * data itself (never copied) and CRLF. cio__h1_chunk_iov fills iov[0..3)
 * with those pieces and returns 3, or returns 0 when len is 0 (a zero-size
 * chunk would end the body: use cio__h1_write_last_chunk for that).
 */
size_t cio__h1_chunk_head(char head[CIO__H1_CHUNK_HEAD_MAX], uint64_t len);
int cio__h1_chunk_iov(struct iovec iov[3], char head[CIO__H1_CHUNK_HEAD_MAX],
                      const void *data, size_t len);

/*
 * Writes the last chunk, the trailer section and the final CRLF ("0\r\n"
 * fields "\r\n") into buf[0..cap); trailers may be NULL. Fields that must
 * not appear in a trailer (see cio__chunked_is_forbidden_trailer in
 * chunked.h: framing, routing, authentication ...) are refused with
 * CIO_EHEADER rather than sent. Errors and *need as for the heads.
 */
ptrdiff_t cio__h1_write_last_chunk(char *buf, size_t cap,
                                   const cio_headers *trailers, size_t *need);

#endif
