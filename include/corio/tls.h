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
    unsigned server : 1; /* server context (needs cert_file/key_file) */
    /* Disables certificate and host name verification. Never in production. */
    unsigned insecure_skip_verify : 1;
    /* Server: request a client certificate and fail the handshake
     * (CIO_ECERT) unless one is sent and verifies against ca_file/ca_path
     * (or the system store if both are NULL). */
    unsigned verify_client : 1;
    const char *ca_file;   /* PEM bundle; NULL = system CA store */
    const char *ca_path;   /* hashed directory; NULL = none */
    const char *cert_file; /* PEM chain: server cert, or client cert */
    const char *key_file;  /* PEM private key for cert_file */
    /* ALPN protocols in preference order, NULL-terminated, e.g.
     * (const char *[]){"h2", "http/1.1", NULL}. NULL = no ALPN. */
    const char *const *alpn;
    const char *ciphers; /* TLS 1.2 cipher list; NULL = secure default */
    /* OpenSSL's TLS1_2_VERSION (0x0303) or TLS1_3_VERSION (0x0304);
     * 0 = TLS 1.2. Anything older is refused (CIO_EINVAL). */
    int min_version;
};

/*
 * Creates a context shared by many connections (and, once created, usable
 * from several threads). Client contexts verify by default; server contexts
 * need cert_file and key_file. Host names are matched against DNS SANs only
 * (no fallback to the subject CN; no partial wildcards such as "a*.b").
 * Errors: CIO_EINVAL (opts; an ALPN name longer than 255 bytes; a bad cipher
 * list), CIO_ENOMEM, CIO_ETLS (files; the message names the file and
 * OpenSSL's reason: see cio_tls_last_error).
 */
CIO_API int cio_tls_ctx_new(cio_tls_ctx **out, const struct cio_tls_opts *opts);

/* Drops the caller's reference. Streams created with ctx keep it alive until
 * they are closed, so ctx may be freed while connections use it. NULL ok. */
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

/* Blocking. Server handshake; ownership as for cio_tls_client. A peer that
 * closes or resets mid-handshake gives CIO_EPROTO or CIO_ECONNRESET. */
CIO_API int cio_tls_server(cio_stream **out, cio_stream *inner,
                           cio_tls_ctx *ctx, cio_time deadline);

/*
 * How the stream calls of net.h behave on a TLS stream:
 * - cio_stream_read returns 0 only after the peer's close_notify. A peer
 *   that ends the inner stream without one (a truncation attack, or a
 *   crashed peer) makes the read fail with CIO_EPROTO and
 *   cio_tls_last_error() "unexpected EOF (no close_notify)" (RFC 8446 §6.1).
 * - Writes are cut into records of at most 16 KiB; small iovec pieces are
 *   coalesced into one record. A write that fails with CIO_ETIMEDOUT or
 *   CIO_ECANCELED has sent an unknown prefix, as on a socket (what was
 *   already encrypted goes out before later writes), and the stream stays
 *   usable. After an error of the inner stream, writes keep failing.
 * - cio_stream_shutdown sends close_notify, then shuts the inner stream's
 *   sending side; it does not wait for the peer's close_notify.
 * - cio_stream_close frees the TLS state and closes the inner stream.
 * - cio_stream_sendfile reads the file and encrypts it (no zero-copy).
 * - cio_stream_fd and cio_stream_peer are the inner stream's.
 * - One task may read while another writes (full duplex).
 * - Errors of the inner stream (CIO_ECONNRESET, CIO_EPIPE ...) pass through;
 *   TLS protocol failures are CIO_ETLS, verification failures CIO_ECERT.
 */

/* The ALPN protocol agreed ("h2", "http/1.1") or NULL (none, or tls is not a
 * TLS stream). Borrowed; valid while tls lives. */
CIO_API const char *cio_tls_alpn(const cio_stream *tls);

/* The SNI name a client sent (server side; the name this side sent, client
 * side) or NULL. Borrowed; valid while tls lives. */
CIO_API const char *cio_tls_servername(const cio_stream *tls);

/*
 * A message describing the last TLS failure on this thread (OpenSSL's reason
 * string, or the verification error such as "certificate has expired" or
 * "hostname mismatch"). Never NULL; "" if none. Thread-local: a failure on
 * one thread never shows up on another. Successful calls leave it alone.
 * It is the text of cio_last_error(), so a later failing corio call of
 * another kind replaces it.
 */
CIO_API const char *cio_tls_last_error(void);

#endif
