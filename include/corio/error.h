/* SPDX-License-Identifier: MIT */
#ifndef CORIO_ERROR_H
#define CORIO_ERROR_H

#include <errno.h>

#include <corio/version.h>

/*
 * Every corio function returns 0 (or a size >= 0) on success and a negative
 * CIO_E* code on failure. System errors pass through as -errno, so any -errno
 * value may appear even if it is not listed here; cio_strerror() and
 * cio_errname() handle those too. Protocol-level errors use the -10000 range.
 */
#define CIO_ERROR_MAP(X)                                                       \
    X(NOMEM, -ENOMEM, "out of memory")                                         \
    X(INVAL, -EINVAL, "invalid argument")                                      \
    X(TIMEDOUT, -ETIMEDOUT, "deadline expired")                                \
    X(CANCELED, -ECANCELED, "canceled by owner")                               \
    X(AGAIN, -EAGAIN, "operation would block")                                 \
    X(PIPE, -EPIPE, "broken pipe")                                             \
    X(CONNRESET, -ECONNRESET, "connection reset by peer")                      \
    X(CONNREFUSED, -ECONNREFUSED, "connection refused")                        \
    X(ADDRINUSE, -EADDRINUSE, "address already in use")                        \
    X(NOTSUP, -ENOTSUP, "operation not supported")                             \
    X(BUSY, -EBUSY, "resource busy")                                           \
    X(PERM, -EPERM, "operation not permitted")                                 \
    X(MFILE, -EMFILE, "too many open files")                                   \
    X(NOENT, -ENOENT, "no such file or directory")                             \
    X(MORE, -10001, "need more input")                                         \
    X(PROTO, -10002, "protocol violation by peer")                             \
    X(TOOBIG, -10003, "input exceeds configured limit")                        \
    X(TLS, -10004, "TLS failure")                                              \
    X(CLOSED, -10005, "closed")                                                \
    X(RESOLVE, -10006, "name resolution failed")                               \
    X(NOHOST, -10007, "host not found")                                        \
    X(CERT, -10008, "certificate verification failed")                         \
    X(DEADLOCK, -10009, "operation would deadlock")                            \
    X(URL, -10010, "malformed URL")                                            \
    X(HEADER, -10011, "invalid header name or value")                          \
    X(CODING, -10012, "content coding error")                                  \
    X(STATUS, -10013, "HTTP error status")                                     \
    X(REDIRECT, -10014, "redirect refused or limit reached")                   \
    X(PROXY, -10015, "proxy failure")                                          \
    X(AUTH, -10016, "authentication failed")                                   \
    X(UNSENT, -10017, "request not sent: connection closed before reuse")

enum cio_error {
#define X(name, code, text) CIO_E##name = (code),
    CIO_ERROR_MAP(X)
#undef X
};

/* A short English description; never NULL, also for unknown codes. */
CIO_API const char *cio_strerror(int err);

/* The symbolic name ("CIO_ETIMEDOUT", or "ENOBUFS" for other -errno values);
 * never NULL. For logs and tests. */
CIO_API const char *cio_errname(int err);

/*
 * Details of the last error returned on the calling thread by a corio
 * function that documents them, naming what was wrong (e.g. "header name
 * \"X:Y\" is not a token"). Never NULL; "" if none. Valid until the next
 * corio call on this thread.
 */
CIO_API const char *cio_last_error(void);

#endif
