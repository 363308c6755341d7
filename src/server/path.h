/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_PATH_H
#define CIO_SERVER_PATH_H

/*
 * The request path as the router sees it (docs/server.md "Requests"):
 *
 * 1. percent-decoded once, except %2F and %25, which stay encoded (upper
 *    case hex) so the result has exactly one meaning: a %2F is not a
 *    separator, and a %25 never starts a second decoding;
 * 2. if it starts with '/', dot segments ("." and "..", also when they were
 *    written %2e) are removed as in RFC 3986 §5.2.4, except that a ".."
 *    that would climb above "/" is an error instead of being dropped.
 *
 * Empty segments ("//") are kept. A path that does not start with '/'
 * ("*", "" for CONNECT) is only decoded.
 */
#include <stddef.h>

/*
 * Writes the normalised form of src[0..len) to dst (cap >= len + 1 is
 * always enough: the result is never longer than the input), NUL-
 * terminated, and its length to *out_len.
 * Errors: CIO_EPROTO for a malformed %XX or %00 (*why = "percent"), or a
 * path climbing above the root (*why = "above"); dst is then unspecified.
 */
int cio__path_normalize(char *dst, size_t cap, const char *src, size_t len,
                        size_t *out_len, const char **why);

#endif
