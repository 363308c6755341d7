/* SPDX-License-Identifier: MIT */
#ifndef CIO_NET_TLS_INT_H
#define CIO_NET_TLS_INT_H

/* TLS internals shared with other layers and tests. */

#include <openssl/ssl.h>

#include <corio/tls.h>

/*
 * The OpenSSL connection behind a TLS stream, or NULL if s is not one.
 * Borrowed. Callers may query it, or queue work that the next read or write
 * performs (SSL_key_update), but must not do I/O on it themselves.
 */
SSL *cio__tls_ssl(cio_stream *s);

#endif
