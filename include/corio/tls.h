/* SPDX-License-Identifier: MIT */
#ifndef CORIO_TLS_H
#define CORIO_TLS_H

/*
 * TLS (OpenSSL 3) as a stream layer over any cio_stream.
 *
 * Clients verify the peer's certificate chain against the system CA store
 * (or ca_file) and its host name or IP address by default; turning that off
 * takes a field whose name says what it does.
 */

#include <corio/net.h>

typedef struct cio_tls_ctx cio_tls_ctx;

struct cio_tls_opts {
    unsigned server : 1;            /* server context (needs cert_file/key_file) */
    /* Disables certificate and host name verification. Never in production. */
    unsigned insecure_skip_verify : 1;
    const char *ca_file;            /* PEM bundle; NULL = system CA store */
    const char *ca_path;            /* hashed directory; NULL = none */
    const char *cert_file;          /* PEM chain: server cert, or client cert */
    const char *key_file;           /* PEM private key for cert_file */
    /* ALPN protocols in preference order, NULL-terminated, e.g.
     * (const char *[]){"h2", "http/1.1", NULL}. NULL = no ALPN. */
    const char *const *alpn;
    const char *ciphers;            /* TLS 1.2 cipher list; NULL = secure default */
    int min_version;                /* e.g. TLS1_2_VERSION; 0 = TLS 1.2 */
};

/*
 * Creates a context shared by many connections (and, once created, usable
 * from several threads). Errors: CIO_EINVAL, CIO_ENOMEM, CIO_ETLS (files;
 * the message names OpenSSL's reason: see cio_tls_last_error).
 */
CIO_API int cio_tls_ctx_new(cio_tls_ctx **out, const struct cio_tls_opts *opts);
CIO_API void cio_tls_ctx_free(cio_tls_ctx *ctx);

/*
 * Blocking. Runs a client handshake over inner and, on success, returns a
 * TLS stream in *out that owns inner. servername is sent as SNI (not for IP
 * literals) and verified against the certificate; NULL skips both. On failure
 * inner is left open and still owned by the caller.
 * Errors: CIO_ECERT (verification; see cio_tls_last_error), CIO_ETLS,
 * CIO_ETIMEDOUT, CIO_ECANCELED, CIO_ECONNRESET, CIO_EPROTO (peer closed).
 */
CIO_API int cio_tls_client(cio_stream **out, cio_stream *inner,
                           cio_tls_ctx *ctx, const char *servername,
                           cio_time deadline);

/* Blocking. Server handshake; ownership as for cio_tls_client. */
CIO_API int cio_tls_server(cio_stream **out, cio_stream *inner,
                           cio_tls_ctx *ctx, cio_time deadline);

/* The ALPN protocol agreed ("h2", "http/1.1") or NULL. Borrowed. */
CIO_API const char *cio_tls_alpn(const cio_stream *tls);

/* The SNI name a client sent (server side) or NULL. Borrowed. */
CIO_API const char *cio_tls_servername(const cio_stream *tls);

/*
 * A message describing the last TLS failure on this thread (OpenSSL's reason
 * string, or the verification error such as "certificate has expired" or
 * "hostname mismatch"). Never NULL; "" if none.
 */
CIO_API const char *cio_tls_last_error(void);

#endif
