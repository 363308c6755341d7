/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_SOCKS_H
#define CIO_CLIENT_SOCKS_H

/*
 * The client side of a SOCKS5 CONNECT (RFC 1928), with username/password
 * authentication (RFC 1929) when the proxy URL has a userinfo. It runs on
 * a stream already connected to the proxy, before anything else: the
 * stream then carries the origin's bytes (TLS or plain HTTP in
 * origin-form). Every read takes exactly what the current message still
 * needs, so no byte of the tunnel is consumed by the handshake.
 */

#include <stdbool.h>
#include <stddef.h>

#include <corio/net.h>

/* The proxy's messages, in the order they arrive. */
enum cio__socks_stage {
    CIO__SOCKS_METHOD, /* VER METHOD: the authentication method chosen */
    CIO__SOCKS_AUTH,   /* VER STATUS: the RFC 1929 verdict */
    CIO__SOCKS_REPLY,  /* VER REP RSV ATYP BND.ADDR BND.PORT */
};

/* The longest message: a CONNECT reply with a 255-byte domain. */
#define CIO__SOCKS_MAX_REPLY (4 + 1 + 255 + 2)

/*
 * Parses the proxy's message of stage from p[0..n) (no I/O). proxy names
 * the proxy ("host:port") in messages. auth_offered: the greeting offered
 * username/password too (METHOD stage only).
 * Returns, when the message is complete and accepting, its length in *need
 * and: METHOD: the method chosen (0 none, 2 username/password); AUTH and
 * REPLY: 0. CIO_EMORE when more bytes are needed: *need (> n, at most
 * CIO__SOCKS_MAX_REPLY) is the length known so far. CIO_EPROXY (message
 * set) for a refusal, named in words with its code ("connection refused
 * by destination host (reply 5)"), a rejected username/password, a
 * method we did not offer, or a peer that does not speak SOCKS5 (a wrong
 * version byte, a bad address type). *need is written only on 0 and
 * CIO_EMORE.
 */
int cio__socks5_parse(int stage, const unsigned char *p, size_t n,
                      bool auth_offered, const char *proxy, size_t *need);

/* The words for a CONNECT reply code (RFC 1928 §6): "succeeded",
 * "general SOCKS server failure", ..., "unassigned reply code". */
const char *cio__socks5_reply_str(unsigned rep);

struct cio__socks_opts {
    const char *proxy; /* "host:port" for messages */
    bool remote_dns;   /* socks5h: the proxy resolves names */
    /* Username/password (RFC 1929), 1..255 bytes each; user NULL = none. */
    const char *user, *pass;
    size_t ulen, plen;
};

/*
 * Blocking. Runs the handshake on s (connected to the proxy) for a tunnel
 * to host:port: greeting, authentication if the proxy asks for it, then
 * CONNECT. An address literal is sent as an address; a name is sent as a
 * name (ATYP 3) when o->remote_dns, otherwise resolved here and its first
 * address sent. Every read ends at deadline. Returns 0 with s carrying
 * the tunnel. Errors: CIO_EPROXY (as cio__socks5_parse; the proxy closed
 * the connection mid-handshake; a name above 255 bytes), CIO_EINVAL (bad
 * credentials length), resolver errors (socks5), stream errors
 * (CIO_ETIMEDOUT ...).
 */
int cio__socks5_open(cio_stream *s, const struct cio__socks_opts *o,
                     const char *host, unsigned port, cio_time deadline);

#endif
