/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_H
#define CORIO_HTTP_H

/*
 * The HTTP protocol core: pure code, bytes in and bytes out, no I/O
 * (src/http). URLs, header multimaps, cookies and the cookie jar, forms,
 * multipart bodies, MIME types, dates and status phrases. The HTTP/1.1
 * parser, writer, chunked and content-coding filters are internal to the
 * client and server.
 */

#include <corio/http/common.h>
#include <corio/http/url.h>
#include <corio/http/headers.h>
#include <corio/http/cookie.h>
#include <corio/http/form.h>
#include <corio/http/multipart.h>
#include <corio/http/misc.h>

#endif
