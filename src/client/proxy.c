/* SPDX-License-Identifier: MIT */
#include "client/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/errmsg.h"
#include "client/auth.h"
#include "http/h1_parse.h"
#include "http/token.h"

/* s for an error message, cut to about 60 bytes, its userinfo (everything
 * before the last '@': the URL did not parse, so where the authority ends
 * is unknown) replaced by "***": messages end up in logs. */
static const char *redact(char out[80], const char *s)
{
    const char *at = strrchr(s, '@');
    if (at == NULL) {
        snprintf(out, 80, "%.60s", s);
        return out;
    }
    const char *sep = strstr(s, "://");
    int sl = sep != NULL && sep < at ? (int)(sep - s) + 3 : 0;
    snprintf(out, 80, "%.*s***%.40s", sl > 20 ? 20 : sl, s, at);
    return out;
}

int cio__proxy_parse(cio_url **out, const char *s)
{
    char shown[80];
    if (s == NULL || s[0] == '\0')
        return cio__err(CIO_EPROXY, "empty proxy URL");
    char tmp[1024];
    const char *u = s;
    if (strstr(s, "://") == NULL) {
        int n = snprintf(tmp, sizeof(tmp), "http://%s", s);
        if (n < 0 || (size_t)n >= sizeof(tmp))
            return cio__err(CIO_EPROXY, "proxy URL too long");
        u = tmp;
    }
    cio_url *url;
    int rc = cio_url_parse(&url, u, strlen(u), NULL);
    if (rc == CIO_ENOMEM)
        return rc;
    if (rc < 0)
        return cio__err(CIO_EPROXY, "bad proxy URL \"%s\"", redact(shown, s));
    if (cio__proxy_kind(url) < 0) {
        struct cio_str sc = cio_url_scheme(url);
        cio__err(CIO_EPROXY,
                 "proxy scheme \"%.*s\" is not supported (http, "
                 "https, socks5, socks5h)",
                 (int)(sc.len > 20 ? 20 : sc.len), sc.ptr);
        cio_url_free(url);
        return CIO_EPROXY;
    }
    /* socks5 URLs parse generically: the host may be empty there. */
    if (cio_url_host(url).len == 0 || cio__proxy_port(url) == 0) {
        cio__err(CIO_EPROXY, "proxy URL \"%s\" has no host or port",
                 redact(shown, s));
        cio_url_free(url);
        return CIO_EPROXY;
    }
    *out = url;
    return 0;
}

int cio__proxy_kind(const cio_url *proxy)
{
    switch (cio_url_scheme_id(proxy)) {
    case CIO_SCHEME_HTTP:
        return CIO__PROXY_HTTP;
    case CIO_SCHEME_HTTPS:
        return CIO__PROXY_HTTPS;
    case CIO_SCHEME_OTHER:
        break;
    default:
        return -1;
    }
    struct cio_str sc = cio_url_scheme(proxy);
    if (sc.len == 6 && memcmp(sc.ptr, "socks5", 6) == 0)
        return CIO__PROXY_SOCKS5;
    if (sc.len == 7 && memcmp(sc.ptr, "socks5h", 7) == 0)
        return CIO__PROXY_SOCKS5H;
    return -1;
}

unsigned cio__proxy_port(const cio_url *proxy)
{
    int p = cio_url_port(proxy);
    if (p > 0 && p <= 65535)
        return (unsigned)p;
    /* A generic scheme without a port: socks5's registered one. */
    return p < 0 ? 1080u : 0u;
}

static const char *const env_names[CIO__PE_N] = {
    [CIO__PE_https_proxy] = "https_proxy",
    [CIO__PE_HTTPS_PROXY] = "HTTPS_PROXY",
    [CIO__PE_http_proxy] = "http_proxy",
    [CIO__PE_HTTP_PROXY] = "HTTP_PROXY",
    [CIO__PE_REQUEST_METHOD] = "REQUEST_METHOD",
    [CIO__PE_all_proxy] = "all_proxy",
    [CIO__PE_ALL_PROXY] = "ALL_PROXY",
    [CIO__PE_no_proxy] = "no_proxy",
    [CIO__PE_NO_PROXY] = "NO_PROXY",
};

static const char *std_getenv(const char *name)
{
    return getenv(name);
}

int cio__proxy_env_load(struct cio__proxy_env *e, cio__getenv_fn env)
{
    if (env == NULL)
        env = std_getenv;
    memset(e, 0, sizeof(*e));
    for (int i = 0; i < CIO__PE_N; i++) {
        const char *v = env(env_names[i]);
        if (v == NULL || v[0] == '\0')
            continue;
        size_t n = strlen(v) + 1;
        if ((e->v[i] = cio__malloc(n)) == NULL) {
            cio__proxy_env_free(e);
            return CIO_ENOMEM;
        }
        memcpy(e->v[i], v, n);
    }
    return 0;
}

void cio__proxy_env_free(struct cio__proxy_env *e)
{
    for (int i = 0; i < CIO__PE_N; i++) {
        cio__free(e->v[i]);
        e->v[i] = NULL;
    }
}

/* The first of two variables that is set (lowercase wins, as in curl). */
static const char *first(const struct cio__proxy_env *e, int a, int b)
{
    return e->v[a] != NULL ? e->v[a] : e->v[b];
}

int cio__proxy_select(cio_url **out, const cio_url *target,
                      const char *explicit_proxy,
                      const struct cio__proxy_env *env)
{
    if (explicit_proxy != NULL)
        return cio__proxy_parse(out, explicit_proxy);
    *out = NULL;
    if (env == NULL)
        return 0;

    const char *p;
    if (cio_url_is_secure(target)) {
        p = first(env, CIO__PE_https_proxy, CIO__PE_HTTPS_PROXY);
    } else {
        p = env->v[CIO__PE_http_proxy];
        /* httpoxy (CVE-2016-5385): under CGI a request header "Proxy: x"
         * arrives as HTTP_PROXY. */
        if (p == NULL && env->v[CIO__PE_REQUEST_METHOD] == NULL)
            p = env->v[CIO__PE_HTTP_PROXY];
    }
    if (p == NULL)
        p = first(env, CIO__PE_all_proxy, CIO__PE_ALL_PROXY);
    if (p == NULL)
        return 0;
    const char *np = first(env, CIO__PE_no_proxy, CIO__PE_NO_PROXY);
    if (np != NULL && cio__no_proxy_match(np, target))
        return 0;
    return cio__proxy_parse(out, p);
}

/* ------------------------------------------------------------ NO_PROXY */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Parses an address into 16 bytes; returns its family or 0. */
static int parse_ip(const char *s, size_t len, unsigned char out[16])
{
    char tmp[64];
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, out) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, tmp, out) == 1)
        return AF_INET6;
    return 0;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b,
                     unsigned bits)
{
    unsigned bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return 0;
    if (rem == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rem));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

static int entry_match(const char *e, size_t len, const char *host, size_t hlen,
                       int hfam, const unsigned char *hip, int port)
{
    if (len == 1 && e[0] == '*')
        return 1;
    /* An optional ":port": after "]" for a bracketed IPv6 address, or
     * after the only ':' of the entry (a bare IPv6 address has several). */
    int want_port = -1;
    const char *colon = NULL;
    if (e[0] == '[') {
        const char *rb = memchr(e, ']', len);
        if (rb == NULL)
            return 0;
        if ((size_t)(rb - e) + 1 < len) {
            if (rb[1] != ':')
                return 0;
            colon = rb + 1;
        }
    } else {
        const char *c1 = memchr(e, ':', len);
        if (c1 != NULL &&
            memchr(c1 + 1, ':', len - (size_t)(c1 - e) - 1) == NULL)
            colon = c1;
    }
    if (colon != NULL) {
        size_t pl = len - (size_t)(colon - e) - 1;
        if (pl == 0 || pl > 5)
            return 0;
        want_port = 0;
        for (size_t i = 0; i < pl; i++) {
            if (colon[1 + i] < '0' || colon[1 + i] > '9')
                return 0;
            want_port = want_port * 10 + (colon[1 + i] - '0');
        }
        len = (size_t)(colon - e);
    }
    if (want_port >= 0 && want_port != port)
        return 0;
    if (len >= 2 && e[0] == '[' && e[len - 1] == ']') {
        e++;
        len -= 2;
    }

    const char *slash = memchr(e, '/', len);
    if (slash != NULL) {
        unsigned char net[16];
        int fam = parse_ip(e, (size_t)(slash - e), net);
        size_t bl = len - (size_t)(slash - e) - 1;
        if (fam == 0 || bl == 0 || bl > 3 || hfam != fam)
            return 0;
        unsigned bits = 0;
        for (size_t i = 0; i < bl; i++) {
            if (slash[1 + i] < '0' || slash[1 + i] > '9')
                return 0;
            bits = bits * 10 + (unsigned)(slash[1 + i] - '0');
        }
        if (bits > (fam == AF_INET ? 32u : 128u))
            return 0;
        return prefix_eq(net, hip, bits);
    }
    unsigned char ip[16];
    int fam = parse_ip(e, len, ip);
    if (fam != 0)
        return fam == hfam && memcmp(ip, hip, fam == AF_INET ? 4 : 16) == 0;
    if (hfam != 0)
        return 0; /* a name never matches an address */

    if (len >= 2 && e[0] == '*' && e[1] == '.') {
        e++;
        len--;
    }
    if (len > 0 && e[0] == '.') {
        e++;
        len--;
    }
    if (len > 0 && e[len - 1] == '.')
        len--;
    if (len == 0)
        return 0;
    if (hlen == len)
        return ieq_n(host, e, len);
    return hlen > len && host[hlen - len - 1] == '.' &&
           ieq_n(host + hlen - len, e, len);
}

int cio__no_proxy_match(const char *list, const cio_url *target)
{
    if (list == NULL)
        return 0;
    struct cio_str h = cio_url_host(target);
    size_t hlen = h.len;
    if (hlen > 0 && h.ptr[hlen - 1] == '.')
        hlen--;
    unsigned char hip[16] = {0};
    int hfam = cio_url_host_kind(target) == CIO_HOST_NAME
                   ? 0
                   : parse_ip(h.ptr, h.len, hip);
    int port = cio_url_port(target);

    const char *p = list;
    while (*p != '\0') {
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        const char *e = p;
        while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if (p > e &&
            entry_match(e, (size_t)(p - e), h.ptr, hlen, hfam, hip, port))
            return 1;
    }
    return 0;
}

int cio__proxy_auth(char **out, const cio_url *proxy)
{
    if (!cio_url_has_userinfo(proxy)) {
        *out = NULL;
        return 0;
    }
    struct cio_str u = cio_url_username(proxy), p = cio_url_password(proxy);
    /* Decoded parts may hold a NUL; Basic cannot carry it. */
    if (strlen(u.ptr) != u.len || strlen(p.ptr) != p.len)
        return cio__err(CIO_EINVAL, "proxy credentials contain a NUL byte");
    return cio__auth_basic(out, u.ptr, p.ptr);
}

/* ------------------------------------------------------------ CONNECT */

int cio__proxy_connect(cio_stream *s, const char *host, unsigned port,
                       const char *proxy_auth, cio_time deadline)
{
    if (s == NULL || host == NULL || host[0] == '\0' || port == 0 ||
        port > 65535)
        return CIO_EINVAL;
    for (const char *c = host; *c != '\0'; c++)
        if (!cio__tok_is(*c, CIO__TOK_HOST) && *c != ':' && *c != '%')
            return cio__err(CIO_EINVAL,
                            "CONNECT host \"%.60s\" is not an "
                            "authority",
                            host);
    if (proxy_auth != NULL)
        for (const char *c = proxy_auth; *c != '\0'; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                return cio__err(CIO_EINVAL,
                                "control byte in Proxy-Authorization");

    bool v6 = strchr(host, ':') != NULL;
    struct cio__buf b;
    cio__buf_init(&b, CIO__PROXY_MAX_HEAD);
    int rc = cio__buf_printf(
        &b, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n", v6 ? "[" : "",
        host, v6 ? "]" : "", port, v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (rc == 0 && proxy_auth != NULL)
        rc = cio__buf_printf(&b, "Proxy-Authorization: %s\r\n", proxy_auth);
    if (rc == 0)
        rc = cio__buf_append(&b, "\r\n", 2);
    if (rc < 0)
        goto fail_buf;
    ptrdiff_t w = cio_stream_write(s, b.base, b.len, deadline);
    if (w < 0) {
        rc = (int)w;
        goto fail_buf;
    }
    b.len = 0;

    struct cio__h1_header hs[CIO__H1_MAX_FIELDS];
    struct cio__h1_head h;
    cio__h1_head_init(&h, hs, CIO__H1_MAX_FIELDS, NULL);
    ptrdiff_t n;
    for (;;) {
        n = b.len > 0 ? cio__h1_parse_response(b.base, b.len, &h) : CIO_EMORE;
        if (n != CIO_EMORE)
            break;
        if (b.len == b.max) {
            rc = cio__err(CIO_EPROXY, "CONNECT reply head above %d bytes",
                          CIO__PROXY_MAX_HEAD);
            goto fail_buf;
        }
        size_t want = b.max - b.len < 4096 ? b.max - b.len : 4096;
        if ((rc = cio__buf_reserve(&b, want)) < 0)
            goto fail_buf;
        ptrdiff_t r =
            cio_stream_read(s, cio__buf_tail(&b), cio__buf_room(&b), deadline);
        if (r < 0) {
            rc = (int)r;
            goto fail_buf;
        }
        if (r == 0) {
            rc = cio__err(CIO_EPROXY, "proxy closed the connection during "
                                      "CONNECT");
            goto fail_buf;
        }
        cio__buf_commit(&b, (size_t)r);
    }
    if (n < 0) {
        rc = cio__err(CIO_EPROXY, "malformed CONNECT reply: %s",
                      h.err_msg != NULL ? h.err_msg : "?");
        goto fail_buf;
    }
    if (h.status < 200 || h.status > 299) {
        rc = cio__err(CIO_EPROXY, "proxy answered CONNECT with %d %.*s",
                      h.status, (int)(h.reason.len > 60 ? 60 : h.reason.len),
                      h.reason.ptr);
        goto fail_buf;
    }
    /* The tunnel starts with our TLS ClientHello: anything the proxy sent
     * after its head would be taken as the origin's bytes. */
    if ((size_t)n != b.len) {
        rc =
            cio__err(CIO_EPROXY, "proxy sent %zu bytes after its CONNECT reply",
                     b.len - (size_t)n);
        goto fail_buf;
    }
    rc = 0;
fail_buf:
    cio__buf_fini(&b);
    return rc;
}
