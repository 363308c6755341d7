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

/*
 * Server contexts: adds alt (a server context with another certificate) to
 * the ones ctx chooses from by the client's SNI: the first whose
 * certificate matches the name (X509_check_host) serves the handshake;
 * no match or no SNI: ctx's own. ctx takes over the caller's reference to
 * alt. Not thread-safe: call before ctx is used. Errors: CIO_EINVAL,
 * CIO_ENOMEM (alt is then still the caller's).
 */
int cio__tls_ctx_add_sni(cio_tls_ctx *ctx, cio_tls_ctx *alt);

#endif
