/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_FORM_H
#define CORIO_HTTP_FORM_H

/*
 * application/x-www-form-urlencoded bodies. The same code as query strings
 * (corio/http/url.h) with CIO_QUERY_FORM always on: names and values are
 * percent-encoded except for ALPHA DIGIT - . _ ~, a space is written '+',
 * and '+' reads back as a space. Parsed fields are a cio_params (url.h):
 * cio_params_count / _name / _value / _get / _free.
 */

#include <stddef.h>

#include <corio/http/common.h>
#include <corio/http/url.h>

#define CIO_FORM_CONTENT_TYPE "application/x-www-form-urlencoded"

/* Default cio_query_opts.max_len for cio_form_parse: 1 MiB. */
#define CIO_FORM_MAX_LEN (1024u * 1024)

/*
 * Writes fields (ended by a NULL name) as "a=1&b=x+y" and a NUL into
 * dst[0..cap). A NULL value writes the name alone. Returns the length
 * without the NUL, or CIO_ETOOBIG if cap is too small (dst untouched).
 * dst == NULL with cap == 0 returns the length needed.
 */
CIO_API ptrdiff_t cio_form_encode(char *dst, size_t cap,
                                  const struct cio_kv *fields);

/* Appends one field (byte strings; value.ptr == NULL: the name alone) to
 * the body in dst[0..len), as cio_query_append() does. */
CIO_API ptrdiff_t cio_form_append(char *dst, size_t cap, size_t len,
                                  struct cio_str name, struct cio_str value);

/*
 * Parses body[0..len) into fields, in order, duplicates kept, as
 * cio_query_parse() does with CIO_QUERY_FORM. opts may be NULL; its
 * max_len defaults to CIO_FORM_MAX_LEN, max_pairs to 1000, and
 * CIO_QUERY_LENIENT passes invalid escapes through. Errors: CIO_EPROTO
 * (invalid escape: the body came from a peer), CIO_ETOOBIG (limits),
 * CIO_ENOMEM, CIO_EINVAL.
 */
CIO_API int cio_form_parse(cio_params **out, const char *body, size_t len,
                           const struct cio_query_opts *opts);

#endif
