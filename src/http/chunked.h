/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_CHUNKED_H
#define CIO_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>
#include <corio/http/headers.h>

/*
 * Streaming decoder for the chunked transfer coding (RFC 9112 §7.1):
 * bytes in, data spans out. Incremental across any split of the input:
 * feeding the same bytes whole, byte by byte or in any pieces gives the
 * same data, trailers and verdict. Data spans are views into the caller's
 * input (never copied). The decoder allocates only to hold trailer fields
 * (a line buffer and a cio_headers map, both bounded by the trailer
 * limits), so a body without trailers costs no allocation.
 *
 * Strict (RELIABILITY.md A.13-16), every violation is an error, never
 * repaired:
 *   - chunk-size is 1 to 16 hex digits, nothing else: no "0x", sign,
 *     leading or trailing whitespace, or empty size (CIO_EPROTO); sizes
 *     above 2^63 - 1 are refused before any arithmetic could wrap
 *     (CIO_EPROTO), sizes above the max_body budget as soon as the digits
 *     say so (CIO_ETOOBIG);
 *   - chunk extensions follow RFC 9112 §7.1.1 exactly (BWS only before ';'
 *     and around '=', token names, token or quoted-string values) and are
 *     ignored; a bare CR/LF or control byte in them is CIO_EPROTO, more
 *     than max_ext_bytes of them in one message CIO_ETOOBIG;
 *   - every line ends with CRLF (a bare CR or LF is CIO_EPROTO), and chunk
 *     data is followed by exactly CRLF;
 *   - trailer fields are checked like header fields (token name, no
 *     whitespace before the colon, no obs-fold, no CTL but HTAB in the
 *     value: CIO_EPROTO); the trailer section counts against
 *     max_trailer_bytes and max_trailers (CIO_ETOOBIG, a 431 on a server).
 *     Fields that must not be trailers (cio__chunked_is_forbidden_trailer:
 *     Content-Length, Transfer-Encoding, Host ...) are dropped and counted
 *     in ndropped, never exposed, so they cannot be merged into the head.
 * Errors are sticky: after one, every call returns it again. Each sets
 * cio_last_error(), e.g. "chunk size has more than 16 hex digits".
 */

struct cio__chunked_opts {
    uint64_t max_body;          /* sum of chunk sizes; 0 = unlimited */
    uint32_t max_ext_bytes;     /* chunk extensions per message; 0 = 4 KiB */
    uint32_t max_trailer_bytes; /* trailer section incl. CRLFs; 0 = 32 KiB */
    uint32_t max_trailers;      /* trailer fields incl. dropped; 0 = 100 */
};

struct cio__chunked {
    /* Read-only for callers: */
    uint64_t declared;  /* sum of the chunk sizes seen; total <= declared */
    uint64_t total;     /* data bytes returned so far */
    uint32_t ndropped;  /* forbidden trailer fields dropped */
    uint32_t ntrailers; /* trailer fields seen, dropped ones included */

    /* Private: */
    struct cio__chunked_opts o; /* limits, defaults filled in */
    uint8_t state;
    uint8_t ndigits;        /* hex digits of the size being read, <= 16 */
    int err;                /* sticky error, 0 if none */
    uint64_t size;          /* the size being read */
    uint64_t left;          /* data bytes left in the current chunk */
    uint32_t ext_bytes;     /* extension bytes in this message */
    uint32_t trailer_bytes; /* trailer section bytes so far */
    char *line;             /* trailer line being read: line_len of line_cap */
    size_t line_len, line_cap;
    cio_headers *trailers; /* created at the first kept trailer field */
};

/* Sets up a decoder for one message body; opts may be NULL. */
void cio__chunked_init(struct cio__chunked *d,
                       const struct cio__chunked_opts *opts);

/* Frees what the decoder holds (trailers not taken). Safe to call twice. */
void cio__chunked_fini(struct cio__chunked *d);

/* cio__chunked_feed's result when the body is complete. */
#define CIO__CHUNKED_DONE 1

/*
 * Decodes from in[0..len). Consumes a prefix of the input, sets *used to
 * its length and *data to the chunk data found in it (a view into in,
 * possibly empty), and returns:
 *   0                  more input is needed (all of it was used), or a
 *                      data span ends where the consumption stopped: call
 *                      again with the rest;
 *   CIO__CHUNKED_DONE  the last chunk and the trailer section were read;
 *                      *used stops right after them (a pipelined message
 *                      may follow). Later calls use nothing and return it
 *                      again;
 *   < 0                CIO_EPROTO, CIO_ETOOBIG or CIO_ENOMEM (*used and
 *                      *data untouched).
 * Each call returns at most one span, so that it can be handed on before
 * more is decoded. A call with len > 0 that returns 0 uses at least one
 * byte, so `while (len > 0)` loops always progress.
 */
int cio__chunked_feed(struct cio__chunked *d, const char *in, size_t len,
                      size_t *used, struct cio_str *data);

/*
 * The input has ended. Returns 0 if the body was complete, or CIO_EPROTO
 * (a body cut short is an error, never a success: RELIABILITY.md C.33).
 */
int cio__chunked_eof(struct cio__chunked *d);

/* True once CIO__CHUNKED_DONE has been returned. */
bool cio__chunked_done(const struct cio__chunked *d);

/*
 * The kept trailer fields, in order; NULL if there were none. Owned by the
 * decoder (until cio__chunked_fini) unless taken: cio__chunked_take_trailers
 * hands the map to the caller, who frees it with cio_headers_free.
 */
const cio_headers *cio__chunked_trailers(const struct cio__chunked *d);
cio_headers *cio__chunked_take_trailers(struct cio__chunked *d);

/*
 * True for a field that a trailer must not carry (RFC 9110 §6.5.1): message
 * framing (Content-Length, Transfer-Encoding, Trailer, TE, Connection,
 * Keep-Alive, Proxy-Connection, Upgrade), routing (Host), content handling
 * (Content-Encoding, Content-Type, Content-Range), authentication
 * (Authorization, Proxy-Authorization, WWW-Authenticate,
 * Proxy-Authenticate), cookies (Cookie, Set-Cookie) and request control
 * (Expect, Max-Forwards, Range). Case-insensitive.
 */
bool cio__chunked_is_forbidden_trailer(struct cio_str name);

#endif
