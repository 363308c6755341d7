/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_URL_INT_H
#define CIO_HTTP_URL_INT_H

#include <stddef.h>

#include <corio/http/url.h>

/*
 * RFC 3986 §5.2.4 remove_dot_segments, in place on buf[0..len): returns the
 * new length (never more than len). Works on any path, rootless ones
 * included, exactly as the RFC's loop does; no percent-decoding.
 */
size_t cio__url_remove_dots(char *buf, size_t len);

/*
 * RFC 3986 §5.2.2 (strict) and §5.3 on strings, without normalisation:
 * resolves ref[0..rlen) against the absolute URI base[0..blen) and writes
 * the result and a NUL into dst[0..cap). If the result has no authority and
 * its path starts with "//", the path is written "/.//..." so that it does
 * not read back as an authority. Returns the length, CIO_EURL (a base
 * without scheme, a bad scheme or authority in either), or CIO_ETOOBIG.
 * The characters themselves are not checked.
 */
ptrdiff_t cio__url_resolve_str(char *dst, size_t cap, const char *base,
                               size_t blen, const char *ref, size_t rlen);

/*
 * The query/form parser shared by cio_query_parse and cio_form_parse:
 * def_max_len is the max_len used when opts leaves it 0, err the code for
 * an invalid escape (CIO_EURL for queries, CIO_EPROTO for form bodies),
 * what names the input in messages ("query", "form body").
 */
int cio__params_parse(cio_params **out, const char *s, size_t len,
                      const struct cio_query_opts *opts, size_t def_max_len,
                      unsigned force_flags, int err, const char *what);

#define CIO__PARAMS_MAX_PAIRS 1000
#define CIO__QUERY_MAX_LEN (64u * 1024)

#endif
