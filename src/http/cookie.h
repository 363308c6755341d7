/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_COOKIE_H
#define CIO_HTTP_COOKIE_H

/* Internals of the cookie jar (include/corio/http/cookie.h), for tests and
 * fuzz targets. */

#include <stdint.h>

#include <corio/http/cookie.h>

/* Size rules of RFC 6265bis §5.6 and this jar. */
#define CIO__COOKIE_NV_MAX 4096   /* name + value */
#define CIO__COOKIE_AV_MAX 1024   /* one attribute value; also a path */
#define CIO__COOKIE_HOST_MAX 253  /* a canonical host or domain */
#define CIO__COOKIE_LINE_MAX 8192 /* one line of a cookie file */

/*
 * Checks every invariant of the jar: the list order (path length
 * descending, then creation order), the counters, the limits (total, per
 * site, bytes), unique (name, domain, host-only, path) keys, and the rules
 * each stored cookie obeys (no control bytes or tabs, prefix rules, Secure
 * for SameSite=None, a domain cookie never on a public suffix or an IP).
 * Returns 0, or CIO_EPROTO with cio_last_error() naming the broken one.
 */
int cio__cookie_jar_check(cio_cookie_jar *jar);

#endif
