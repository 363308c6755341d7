/* SPDX-License-Identifier: MIT */
#ifndef CIO_BASE_ERRMSG_H
#define CIO_BASE_ERRMSG_H

#include <stdarg.h>

/*
 * Sets the thread's cio_last_error() text (printf-style, truncated at 256
 * bytes) and returns err, so a failure path reads
 *     return cio__err(CIO_EHEADER, "header name \"%.40s\" is not a token", n);
 */
int cio__err(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same with a va_list. */
int cio__verr(int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Clears the text (a call that succeeded leaves it as it was). */
void cio__err_clear(void);

#endif
