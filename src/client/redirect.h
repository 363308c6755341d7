/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_REDIRECT_H
#define CIO_CLIENT_REDIRECT_H

/*
 * Redirect policy (pure: no I/O). Given the request that got a 3xx and the
 * Location value, decides the next request: its URL, its method, whether the
 * body goes with it, and which credentials must be dropped (RELIABILITY.md
 * D.38-D.41). The hop limit is counted by the caller (cio__redirect_limit).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>

#define CIO__REDIRECT_MAX_DEFAULT 20

struct cio__redirect {
    cio_url *url;              /* the next URL; owned by the caller */
    const char *method;        /* static "GET", or the method passed in */
    unsigned drop_body : 1;    /* send no body and no Content-* fields */
    unsigned cross_origin : 1; /* scheme, host or port changed: drop
                                * Authorization, Cookie (the explicit
                                * header) and Proxy-Authorization */
    unsigned downgrade : 1;    /* https -> http: also never send Secure
                                * cookies (the jar does that by URL) */
};

/* 1 for 301, 302, 303, 307 and 308 (the statuses that are followed). */
int cio__redirect_status(int status);

/*
 * Computes the next hop for a response `status` (a redirect status) to a
 * request `method` on `cur`, with the raw Location value loc[0..len).
 * body_replayable says whether the request body (if any) can be sent again
 * (a streaming producer cannot). Fills *out (out->url owned by the caller)
 * and returns 0, or:
 *   CIO_EREDIRECT  Location empty or not a valid reference, a scheme other
 *                  than http or https ("file:", "ftp:", "data:",
 *                  "javascript:" ...), or a 307/308 whose body cannot be
 *                  replayed; cio_last_error() says which;
 *   CIO_ENOMEM.
 */
int cio__redirect_next(struct cio__redirect *out, const char *method,
                       int status, const cio_url *cur, const char *loc,
                       size_t len, bool has_body, bool body_replayable);

/*
 * Applies r to the headers of the next request: removes Host (the caller
 * writes the new one), Authorization, Cookie and Proxy-Authorization on a
 * cross-origin hop (names compared case-insensitively), and Content-Type,
 * Content-Length, Content-Encoding, Content-Language, Content-Location,
 * Transfer-Encoding and Expect when the body is dropped. Never fails.
 */
void cio__redirect_strip(cio_headers *h, const struct cio__redirect *r);

/* CIO_EREDIRECT with "too many redirects (<max>)"; for the caller's limit. */
int cio__redirect_limit(uint32_t max);

#endif
