/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_MISC_H
#define CORIO_HTTP_MISC_H

#include <stddef.h>
#include <time.h>

#include <corio/http/common.h>

/*
 * The reason phrase of a status code: every code registered by RFC 9110
 * (413 "Content Too Large", 422 "Unprocessable Content" ...) and the common
 * extensions (102, 103, 207, 208, 226, 418, 423-425, 428, 429, 431, 451,
 * 506-508, 510, 511). Unknown codes give "" (an empty reason phrase is
 * valid on the wire, RFC 9112 §4). Never NULL; static storage.
 */
CIO_API const char *cio_http_status_reason(int status);

/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". */
#define CIO_HTTP_DATE_LEN 29

/*
 * Formats t as an IMF-fixdate (RFC 9110 §5.6.7) into buf, which must hold
 * CIO_HTTP_DATE_LEN + 1 bytes, NUL-terminated. Returns CIO_HTTP_DATE_LEN,
 * or CIO_EINVAL if t is before year 1 or after year 9999.
 */
CIO_API int cio_http_date_format(time_t t, char *buf);

/*
 * Parses an HTTP date (RFC 9110 §5.6.7) from s[0..len): IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form ("Sunday,
 * 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
 * Strict: exactly one of these forms with no leading or trailing bytes
 * (callers trim the field value), names in the RFC's case, the day of the
 * month valid for that month and year, hours < 24, minutes < 60, seconds
 * <= 60 (a leap second reads as the next second). The weekday name must
 * be a real one but is not checked against the date. An RFC 850 two-digit
 * year is taken in the century that puts it at most 50 years in the future
 * (RFC 9110 §5.6.7). Writes *out (seconds since the epoch, UTC) and returns
 * 0, or returns CIO_EPROTO (with cio_last_error() saying what is wrong).
 */
CIO_API int cio_http_date_parse(const char *s, size_t len, time_t *out);

/*
 * The media type for a file name, by its extension, case-insensitive:
 * "index.HTML", "a/b.tar.gz" (→ the last extension, "gz"), ".css" or a bare
 * extension "css". About 340 common types; text types carry
 * "; charset=utf-8" ("text/html; charset=utf-8"). cio_mime_lookup returns
 * NULL for an unknown extension, cio_mime_type returns
 * "application/octet-stream". Static storage.
 */
CIO_API const char *cio_mime_lookup(const char *name);
CIO_API const char *cio_mime_type(const char *name);

#endif
