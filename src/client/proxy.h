/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_PROXY_H
#define CIO_CLIENT_PROXY_H

/*
 * Proxies for the client: which proxy a request goes through (the
 * option, else HTTP_PROXY / HTTPS_PROXY / ALL_PROXY and NO_PROXY from the
 * environment), its credentials, and the CONNECT tunnel used for https://
 * targets through http:// and https:// proxies. http:// targets go to
 * those in absolute-form (the request loop writes the full URL as the
 * request-target). SOCKS5 proxies (socks.h) tunnel every target; the
 * request inside is in origin-form.
 */

#include <stdbool.h>

#include <corio/http.h>
#include <corio/net.h>

/* An environment lookup (getenv by default; tests pass their own). */
typedef const char *(*cio__getenv_fn)(const char *name);

/*
 * Parses a proxy setting: "scheme://[user:pass@]host[:port]" with scheme
 * http, https, socks5 or socks5h, or "host:port" (http:// assumed).
 * Errors: CIO_EPROXY (another scheme; a URL that does not parse, or
 * without a host; the message says which), CIO_ENOMEM.
 */
int cio__proxy_parse(cio_url **out, const char *s);

enum cio__proxy_kind {
    CIO__PROXY_HTTP,    /* absolute-form, CONNECT for https targets */
    CIO__PROXY_HTTPS,   /* the same inside TLS to the proxy */
    CIO__PROXY_SOCKS5,  /* SOCKS5, names resolved by the client */
    CIO__PROXY_SOCKS5H, /* SOCKS5, names resolved by the proxy */
};

/* The kind of a proxy URL (from its scheme), or -1 for another scheme. */
int cio__proxy_kind(const cio_url *proxy);

/* The port to connect to: explicit, else 80, 443 or 1080 (SOCKS); 0 for an
 * explicit port 0. */
unsigned cio__proxy_port(const cio_url *proxy);

/*
 * The proxy variables of the environment, copied once (when a client is
 * created, as httpx reads them): a request then costs no getenv, and a
 * setenv on another thread cannot race with it. Empty values count as
 * unset.
 */
enum {
    CIO__PE_https_proxy,
    CIO__PE_HTTPS_PROXY,
    CIO__PE_http_proxy,
    CIO__PE_HTTP_PROXY,
    CIO__PE_REQUEST_METHOD,
    CIO__PE_all_proxy,
    CIO__PE_ALL_PROXY,
    CIO__PE_no_proxy,
    CIO__PE_NO_PROXY,
    CIO__PE_N
};
struct cio__proxy_env {
    char *v[CIO__PE_N]; /* cio__malloc'd copies, NULL when unset */
};

/* Copies the variables (env NULL = getenv). Errors: CIO_ENOMEM (nothing
 * is kept). */
int cio__proxy_env_load(struct cio__proxy_env *e, cio__getenv_fn env);
void cio__proxy_env_free(struct cio__proxy_env *e);

/*
 * The proxy for a request to target, or *out = NULL for a direct
 * connection. An explicit proxy (the client option) is used for every
 * request. Otherwise, when env is not NULL (the client trusts the
 * environment), the snapshot env:
 *   https targets: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY;
 *   http targets:  http_proxy, HTTP_PROXY, all_proxy, ALL_PROXY;
 * the first one set and non-empty wins. Uppercase HTTP_PROXY is ignored
 * when REQUEST_METHOD is set (a CGI program, where a request's "Proxy:"
 * header becomes HTTP_PROXY: "httpoxy", as curl and httpx do). Then
 * no_proxy / NO_PROXY may exempt the target (cio__no_proxy_match).
 * Errors: as cio__proxy_parse.
 */
int cio__proxy_select(cio_url **out, const cio_url *target,
                      const char *explicit_proxy,
                      const struct cio__proxy_env *env);

/*
 * 1 if the NO_PROXY list exempts target: entries separated by commas or
 * spaces, case-insensitive; "*" matches every host; "example.com" and
 * ".example.com" match example.com and every name under it ("*.x" is read
 * as ".x"); an IPv4 or IPv6 address (brackets optional) matches that
 * address; "10.0.0.0/8" or "fd00::/8" match addresses in the block; any
 * entry may end in ":port" to match only that port.
 */
int cio__no_proxy_match(const char *list, const cio_url *target);

/* "Basic ..." from the proxy URL's userinfo into *out (cio__malloc'd), or
 * *out = NULL when it has none. Errors: as cio__auth_basic. */
int cio__proxy_auth(char **out, const cio_url *proxy);

/* The largest CONNECT reply head read. */
#define CIO__PROXY_MAX_HEAD 16384

/*
 * Opens a tunnel on s (connected to the proxy) to host:port: writes
 * "CONNECT host:port HTTP/1.1" with Host and, if proxy_auth is not NULL,
 * Proxy-Authorization, then reads the reply head (at most
 * CIO__PROXY_MAX_HEAD bytes). Returns 0 when the proxy answered 2xx; s
 * then carries the tunnel (start TLS on it). Errors: CIO_EPROXY (a non-2xx
 * status, named in the message with its reason; a malformed, oversized or
 * truncated reply; bytes after a 2xx head), CIO_EINVAL (a host with bytes
 * that cannot be in an authority), stream errors (CIO_ETIMEDOUT ...).
 */
int cio__proxy_connect(cio_stream *s, const char *host, unsigned port,
                       const char *proxy_auth, cio_time deadline);

#endif
