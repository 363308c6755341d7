/* SPDX-License-Identifier: MIT */
/*
 * URLs: strict RFC 3986 parsing that always normalises (see url.h for the
 * rules), reference resolution, percent-encoding and query strings.
 *
 * Parsing runs in three steps: scan() rejects control bytes, spaces and bad
 * escapes with their offset; split() cuts the string into its five parts
 * (RFC 3986 Appendix B, plus the authority's pieces); build() writes the
 * normalised href into a bounded builder, recording where each part is.
 * make_url() then copies the href and each part, NUL-terminated, into one
 * allocation.
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <corio/http/url.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/url_int.h"

/* ------------------------------------------------------------ characters */

static const char hexdig[] = "0123456789ABCDEF";

static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static bool is_subdelim(unsigned char c)
{
    switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
        return true;
    default:
        return false;
    }
}

/* Bytes that RFC 3986 allows nowhere but that we percent-encode in the
 * path, query, fragment and userinfo instead of refusing the URL: what
 * users type and what browsers encode (WHATWG's percent-encode sets). */
static bool must_escape(unsigned char c)
{
    if (c >= 0x80)
        return true;
    switch (c) {
    case '"':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
    case '[':
    case ']':
        return true;
    default:
        return false;
    }
}

/* A printable form of c for error messages. */
static const char *show(unsigned char c, char buf[8])
{
    static const char hx[] = "0123456789abcdef";
    if (c > 0x20 && c < 0x7f) {
        buf[0] = '\'';
        buf[1] = (char)c;
        buf[2] = '\'';
        buf[3] = '\0';
    } else {
        memcpy(buf, "0x", 2);
        buf[2] = hx[c >> 4];
        buf[3] = hx[c & 15];
        buf[4] = '\0';
    }
    return buf;
}

/* ----------------------------------------------------------------- builder */

/*
 * An output string with a ceiling: it grows up to max bytes (plus a NUL)
 * and then fails with CIO_ETOOBIG. Errors are sticky, so a sequence of
 * puts is checked once at the end.
 */
struct sb {
    char *p;
    size_t len; /* len <= max; p[len] is not kept NUL */
    size_t cap; /* allocated; len + 1 <= cap once p != NULL */
    size_t max;
    int err; /* 0, CIO_ETOOBIG or CIO_ENOMEM */
};

static bool sb_room(struct sb *b, size_t n)
{
    if (b->err != 0)
        return false;
    if (n > b->max - b->len) {
        b->err = CIO_ETOOBIG;
        return false;
    }
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap > 0 ? b->cap * 2 : 256;
        if (ncap < b->len + n + 1)
            ncap = b->len + n + 1;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        char *np = cio__realloc(b->p, ncap);
        if (np == NULL) {
            b->err = CIO_ENOMEM;
            return false;
        }
        b->p = np;
        b->cap = ncap;
    }
    return true;
}

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (n > 0 && sb_room(b, n)) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static void sb_putc(struct sb *b, unsigned char c)
{
    if (sb_room(b, 1))
        b->p[b->len++] = (char)c;
}

static void sb_pct(struct sb *b, unsigned char c)
{
    if (sb_room(b, 3)) {
        b->p[b->len++] = '%';
        b->p[b->len++] = hexdig[c >> 4];
        b->p[b->len++] = hexdig[c & 15];
    }
}

/* ------------------------------------------------------------ scan, split */

/* Rejects what is invalid in every part of a URL: control bytes, spaces
 * and '%' not followed by two hex digits. */
static int scan(const char *s, size_t len, const char *what)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return cio__err(CIO_EURL,
                            "%s: control character 0x%02x at "
                            "offset %zu",
                            what, c, i);
        if (c == ' ')
            return cio__err(CIO_EURL, "%s: space at offset %zu", what, i);
        if (c == '%' && (len - i < 3 || hexval((unsigned char)s[i + 1]) < 0 ||
                         hexval((unsigned char)s[i + 2]) < 0))
            return cio__err(CIO_EURL,
                            "%s: invalid percent-escape at offset "
                            "%zu (want %%XX, write %%25 for '%%')",
                            what, i);
    }
    return 0;
}

struct span {
    const char *p;
    size_t n;
};

struct parts {
    struct span scheme, auth, user, host, port, path, query, frag;
    bool has_scheme, has_auth, has_user, has_port, has_query, has_frag;
};

static int split_auth(struct parts *pt, const char *a, size_t n)
{
    const char *at = memchr(a, '@', n);
    const char *hp = a;
    size_t hn = n;

    if (at != NULL) {
        if (memchr(at + 1, '@', n - (size_t)(at + 1 - a)) != NULL)
            return cio__err(CIO_EURL,
                            "more than one '@' in the authority "
                            "(write %%40 in a user name or password)");
        pt->has_user = true;
        pt->user = (struct span){a, (size_t)(at - a)};
        hp = at + 1;
        hn = n - (size_t)(hp - a);
    }
    const char *colon;
    if (hn > 0 && hp[0] == '[') {
        const char *close = memchr(hp, ']', hn);
        if (close == NULL)
            return cio__err(CIO_EURL, "IPv6 literal without ']'");
        pt->host = (struct span){hp, (size_t)(close + 1 - hp)};
        size_t rest = hn - pt->host.n;
        if (rest > 0 && close[1] != ':')
            return cio__err(CIO_EURL,
                            "'%c' after the IPv6 literal, want ':' "
                            "and a port",
                            close[1]);
        colon = rest > 0 ? close + 1 : NULL;
    } else {
        colon = memchr(hp, ':', hn);
        pt->host = (struct span){hp, colon != NULL ? (size_t)(colon - hp) : hn};
    }
    if (colon != NULL) {
        pt->has_port = true;
        pt->port = (struct span){colon + 1, hn - (size_t)(colon + 1 - hp)};
        for (size_t i = 0; i < pt->port.n; i++)
            if (!is_digit((unsigned char)pt->port.p[i]))
                return cio__err(CIO_EURL,
                                "port \"%.*s\" is not a decimal "
                                "number",
                                (int)(pt->port.n > 32 ? 32 : pt->port.n),
                                pt->port.p);
    }
    return 0;
}

/* RFC 3986 Appendix B, strict about the scheme: a ':' before any of "/?#"
 * must end a valid scheme (a relative path cannot have ':' in its first
 * segment). */
static int split(const char *s, size_t len, struct parts *pt)
{
    size_t i = 0, k = 0;

    memset(pt, 0, sizeof(*pt));
    while (k < len && s[k] != ':' && s[k] != '/' && s[k] != '?' && s[k] != '#')
        k++;
    if (k < len && s[k] == ':') {
        if (k == 0)
            return cio__err(CIO_EURL, "empty scheme before ':'");
        if (!is_alpha((unsigned char)s[0]))
            return cio__err(CIO_EURL,
                            "scheme \"%.*s\" does not start with a "
                            "letter",
                            (int)(k > 32 ? 32 : k), s);
        for (size_t j = 1; j < k; j++) {
            unsigned char c = (unsigned char)s[j];
            if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
                c != '.') {
                char b[8];
                return cio__err(CIO_EURL, "invalid character %s in scheme",
                                show(c, b));
            }
        }
        pt->has_scheme = true;
        pt->scheme = (struct span){s, k};
        i = k + 1;
    }
    if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t a = i += 2;
        while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
            i++;
        pt->has_auth = true;
        pt->auth = (struct span){s + a, i - a};
        int rc = split_auth(pt, s + a, i - a);
        if (rc < 0)
            return rc;
    }
    size_t a = i;
    while (i < len && s[i] != '?' && s[i] != '#')
        i++;
    pt->path = (struct span){s + a, i - a};
    if (i < len && s[i] == '?') {
        a = ++i;
        while (i < len && s[i] != '#')
            i++;
        pt->has_query = true;
        pt->query = (struct span){s + a, i - a};
    }
    if (i < len && s[i] == '#') {
        i++;
        pt->has_frag = true;
        pt->frag = (struct span){s + i, len - i};
    }
    return 0;
}

/* ------------------------------------------------------- dot segments */

size_t cio__url_remove_dots(char *buf, size_t len)
{
    /* The RFC's loop with the input as buf[i..len) and the output as
     * buf[0..o): o <= i always, so both live in one buffer. */
    size_t i = 0, o = 0;

    while (i < len) {
        const char *p = buf + i;
        size_t r = len - i;
        if (r >= 3 && memcmp(p, "../", 3) == 0) {
            i += 3; /* A */
        } else if (r >= 2 && memcmp(p, "./", 2) == 0) {
            i += 2; /* A */
        } else if (r >= 3 && memcmp(p, "/./", 3) == 0) {
            i += 2; /* B: "/" stays */
        } else if (r == 2 && memcmp(p, "/.", 2) == 0) {
            buf[o++] = '/'; /* B, then E on "/" */
            i = len;
        } else if ((r >= 4 && memcmp(p, "/../", 4) == 0) ||
                   (r == 3 && memcmp(p, "/..", 3) == 0)) {
            while (o > 0 && buf[o - 1] != '/') /* C */
                o--;
            if (o > 0)
                o--;
            if (r == 3) {
                buf[o++] = '/';
                i = len;
            } else {
                i += 3;
            }
        } else if ((r == 1 && p[0] == '.') ||
                   (r == 2 && p[0] == '.' && p[1] == '.')) {
            i = len; /* D */
        } else {
            size_t j = i + (p[0] == '/' ? 1 : 0); /* E */
            while (j < len && buf[j] != '/')
                j++;
            memmove(buf + o, buf + i, j - i);
            o += j - i;
            i = j;
        }
    }
    return o;
}

/* ------------------------------------------------------- normalisation */

enum comp { C_USER, C_PATH, C_QUERY, C_FRAG, C_HOST };

/* Writes s[0..n) (scanned: escapes valid) with escapes normalised: those of
 * unreserved characters decoded, the rest in upper case; must_escape bytes
 * (and '#' in a fragment) encoded; a generic host in lower case. */
static void put_component(struct sb *b, const char *s, size_t n, enum comp c)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            unsigned char v =
                (unsigned char)(hexval((unsigned char)s[i + 1]) << 4 |
                                hexval((unsigned char)s[i + 2]));
            i += 2;
            if (is_unreserved(v))
                sb_putc(b, c == C_HOST ? lower(v) : v);
            else
                sb_pct(b, v);
        } else if (must_escape(ch) || (ch == '#' && c == C_FRAG)) {
            sb_pct(b, ch);
        } else {
            sb_putc(b, c == C_HOST ? lower(ch) : ch);
        }
    }
}

/* Decodes the valid escapes of s[0..n) into d; returns the length. */
static size_t decode_valid(char *d, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && n - i >= 3) {
            d[o++] = (char)(hexval((unsigned char)s[i + 1]) << 4 |
                            hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    return o;
}

static int host_ipv6(struct sb *b, const char *h, size_t n)
{
    char in[INET6_ADDRSTRLEN], out[INET6_ADDRSTRLEN];
    struct in6_addr a;

    /* h is "[...]" */
    if (n > 2 && (h[1] == 'v' || h[1] == 'V'))
        return cio__err(CIO_EURL, "IPvFuture address literals are not "
                                  "supported");
    if (memchr(h, '%', n) != NULL)
        return cio__err(CIO_EURL, "'%%' in the IPv6 literal (zone "
                                  "identifiers, RFC 6874, are not supported)");
    if (n - 2 >= sizeof(in))
        return cio__err(CIO_EURL, "invalid IPv6 address \"%.*s\"",
                        (int)(n > 64 ? 64 : n), h);
    memcpy(in, h + 1, n - 2);
    in[n - 2] = '\0';
    if (inet_pton(AF_INET6, in, &a) != 1)
        return cio__err(CIO_EURL, "invalid IPv6 address \"%s\"", in);
    if (inet_ntop(AF_INET6, &a, out, sizeof(out)) == NULL)
        return cio__err(CIO_EURL, "invalid IPv6 address \"%s\"", in);
    sb_putc(b, '[');
    sb_putn(b, out, strlen(out));
    sb_putc(b, ']');
    return 0;
}

static bool is_host_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* The last label of h[0..n) (no trailing dot) is a number, decimal or
 * 0x-hex, as WHATWG's "ends in a number": then the host is read as an IPv4
 * address by inet_aton and getaddrinfo, so we insist on the one strict
 * form. */
static bool ends_in_number(const char *h, size_t n)
{
    size_t s = n;
    while (s > 0 && h[s - 1] != '.')
        s--;
    const char *l = h + s;
    size_t ln = n - s;
    if (ln == 0)
        return false;
    size_t j = 0;
    if (ln >= 2 && l[0] == '0' && l[1] == 'x') {
        for (j = 2; j < ln && hexval((unsigned char)l[j]) >= 0; j++)
            ;
        return j == ln;
    }
    for (j = 0; j < ln && is_digit((unsigned char)l[j]); j++)
        ;
    return j == ln;
}

static bool strict_ipv4(const char *h, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || h[i] != '.')
                return false;
            i++;
        }
        size_t s = i;
        unsigned v = 0;
        while (i < n && is_digit((unsigned char)h[i]) && i - s < 3)
            v = v * 10 + (unsigned)(h[i++] - '0');
        if (i == s || v > 255 || (i - s > 1 && h[s] == '0'))
            return false;
    }
    return i == n;
}

#define HOST_BUF 1024

static int host_special(struct sb *b, const char *h, size_t n,
                        enum cio_url_host_kind *kind)
{
    char buf[HOST_BUF + 1], cb[8];
    bool ascii = true;
    size_t len = 0;

    if (n == 0)
        return cio__err(CIO_EURL, "empty host");
    if (h[0] == '[') {
        *kind = CIO_HOST_IPV6;
        return host_ipv6(b, h, n);
    }
    /* Percent-decode: a DNS name has no escapes, and "%31%32%37.0.0.1" must
     * not slip past the IPv4 rule. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '%') {
            c = (unsigned char)(hexval((unsigned char)h[i + 1]) << 4 |
                                hexval((unsigned char)h[i + 2]));
            i += 2;
        }
        if (len == HOST_BUF)
            return cio__err(CIO_EURL, "host longer than %d bytes", HOST_BUF);
        if (c >= 0x80)
            ascii = false;
        else if (!is_host_char(c))
            return cio__err(CIO_EURL, "invalid character %s in host",
                            show(c, cb));
        buf[len++] = (char)c;
    }
    buf[len] = '\0';
    if (!ascii) {
        char *a = NULL;
        /* Not IDN2_USE_STD3_ASCII_RULES: libidn2 2.3 then deletes the
         * characters STD3 disallows ("a_b" -> "ab") instead of failing;
         * the ASCII check below refuses them instead. */
        int rc =
            idn2_to_ascii_8z(buf, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK)
            return cio__err(CIO_EURL, "international host name: %s",
                            idn2_strerror(rc));
        len = strlen(a);
        if (len > HOST_BUF) {
            idn2_free(a);
            return cio__err(CIO_EURL, "host longer than %d bytes", HOST_BUF);
        }
        memcpy(buf, a, len + 1);
        idn2_free(a);
        for (size_t i = 0; i < len; i++)
            if (!is_host_char((unsigned char)buf[i]))
                return cio__err(CIO_EURL,
                                "international host name maps to "
                                "the invalid character %s",
                                show((unsigned char)buf[i], cb));
    }
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)lower((unsigned char)buf[i]);

    size_t n2 = len > 0 && buf[len - 1] == '.' ? len - 1 : len;
    if (n2 == 0)
        return cio__err(CIO_EURL, "empty host");
    if (ends_in_number(buf, n2)) {
        if (n2 != len || !strict_ipv4(buf, len))
            return cio__err(CIO_EURL,
                            "host \"%.64s\" ends in a number but is "
                            "not a dotted-decimal IPv4 address",
                            buf);
        *kind = CIO_HOST_IPV4;
        sb_putn(b, buf, len);
        return 0;
    }
    if (n2 > 253)
        return cio__err(CIO_EURL, "host name longer than 253 bytes");
    for (size_t s = 0, i = 0; i <= n2; i++) {
        if (i < n2 && buf[i] != '.')
            continue;
        if (i == s)
            return cio__err(CIO_EURL, "empty label in host \"%.64s\"", buf);
        if (i - s > 63)
            return cio__err(CIO_EURL, "host label longer than 63 bytes");
        s = i + 1;
    }
    *kind = CIO_HOST_NAME;
    sb_putn(b, buf, len);
    return 0;
}

static int host_generic(struct sb *b, const char *h, size_t n,
                        enum cio_url_host_kind *kind)
{
    char cb[8];
    if (n > 0 && h[0] == '[') {
        *kind = CIO_HOST_IPV6;
        return host_ipv6(b, h, n);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!is_unreserved(c) && !is_subdelim(c) && c != '%' && c < 0x80)
            return cio__err(CIO_EURL, "invalid character %s in host",
                            show(c, cb));
    }
    *kind = CIO_HOST_NAME;
    put_component(b, h, n, C_HOST);
    return 0;
}

/* ------------------------------------------------------------------ build */

static const struct {
    const char *name;
    int port;
} schemes[] = {
    [CIO_SCHEME_OTHER] = {"", -1},       [CIO_SCHEME_HTTP] = {"http", 80},
    [CIO_SCHEME_HTTPS] = {"https", 443}, [CIO_SCHEME_WS] = {"ws", 80},
    [CIO_SCHEME_WSS] = {"wss", 443},
};

/* Where each part sits in the href. */
struct layout {
    size_t scheme_len;
    size_t ui_off, ui_len; /* "user:pass@", len 0 if none */
    size_t user_off, user_len, pass_off, pass_len;
    size_t host_off, host_len; /* IPv6 with its brackets */
    size_t hp_len;             /* host and ":port" */
    size_t path_off, path_len;
    size_t query_off, query_len; /* after '?' */
    size_t frag_off, frag_len;   /* after '#' */
    int port;
    enum cio_url_scheme_id sid;
    enum cio_url_host_kind kind;
    bool has_query, has_frag;
};

static int build(struct sb *b, const struct parts *pt, struct layout *L)
{
    int rc;

    memset(L, 0, sizeof(*L));
    for (size_t i = 0; i < pt->scheme.n; i++)
        sb_putc(b, lower((unsigned char)pt->scheme.p[i]));
    L->scheme_len = pt->scheme.n;
    L->sid = CIO_SCHEME_OTHER;
    for (int i = CIO_SCHEME_HTTP; i <= CIO_SCHEME_WSS && b->err == 0; i++)
        if (strlen(schemes[i].name) == b->len &&
            memcmp(schemes[i].name, b->p, b->len) == 0)
            L->sid = (enum cio_url_scheme_id)i;
    bool special = L->sid != CIO_SCHEME_OTHER;
    sb_putc(b, ':');
    L->port = -1;
    if (special && !pt->has_auth)
        return cio__err(CIO_EURL, "%s URL without \"//\" and a host",
                        schemes[L->sid].name);

    if (pt->has_auth) {
        sb_putn(b, "//", 2);
        if (pt->has_user) {
            const char *colon = memchr(pt->user.p, ':', pt->user.n);
            size_t un = colon ? (size_t)(colon - pt->user.p) : pt->user.n;
            L->ui_off = L->user_off = b->len;
            put_component(b, pt->user.p, un, C_USER);
            L->user_len = b->len - L->user_off;
            if (colon != NULL) {
                size_t at = b->len;
                sb_putc(b, ':');
                L->pass_off = b->len;
                put_component(b, colon + 1, pt->user.n - un - 1, C_USER);
                L->pass_len = b->len - L->pass_off;
                if (L->pass_len == 0 && b->err == 0)
                    b->len = at; /* "user:@" is "user@" */
            }
            if (b->len > L->ui_off)
                sb_putc(b, '@');
            L->ui_len = b->len - L->ui_off;
            if (L->pass_len == 0)
                L->pass_off = L->user_off;
        }
        L->host_off = b->len;
        rc = special ? host_special(b, pt->host.p, pt->host.n, &L->kind)
                     : host_generic(b, pt->host.p, pt->host.n, &L->kind);
        if (rc < 0)
            return rc;
        L->host_len = b->len - L->host_off;
        L->port = schemes[L->sid].port;
        if (pt->has_port && pt->port.n > 0) {
            const char *d = pt->port.p;
            size_t dn = pt->port.n;
            while (dn > 1 && d[0] == '0') { /* leading zeros */
                d++;
                dn--;
            }
            unsigned v = 0;
            for (size_t i = 0; i < dn && v <= 65535; i++)
                v = v * 10 + (unsigned)(d[i] - '0');
            if (dn > 5 || v > 65535)
                return cio__err(CIO_EURL, "port %.*s is above 65535",
                                (int)(dn > 32 ? 32 : dn), d);
            if (v == 0 && special)
                return cio__err(CIO_EURL, "port 0 in a %s URL",
                                schemes[L->sid].name);
            if ((int)v != schemes[L->sid].port) {
                sb_putc(b, ':');
                sb_putn(b, d, dn);
            }
            L->port = (int)v;
        }
        L->hp_len = b->len - L->host_off;
    }

    L->path_off = b->len;
    put_component(b, pt->path.p, pt->path.n, C_PATH);
    if (b->err == 0) {
        size_t n =
            cio__url_remove_dots(b->p + L->path_off, b->len - L->path_off);
        b->len = L->path_off + n;
        if (special && n == 0)
            sb_putc(b, '/');
        if (!pt->has_auth && n >= 2 && b->p[L->path_off] == '/' &&
            b->p[L->path_off + 1] == '/' && sb_room(b, 2)) {
            /* Keep "//x" from reading back as an authority. */
            memmove(b->p + L->path_off + 2, b->p + L->path_off, n);
            memcpy(b->p + L->path_off, "/.", 2);
            b->len += 2;
        }
    }
    L->path_len = b->len - L->path_off;
    if (pt->has_query) {
        sb_putc(b, '?');
        L->query_off = b->len;
        put_component(b, pt->query.p, pt->query.n, C_QUERY);
        L->query_len = b->len - L->query_off;
        L->has_query = true;
    }
    if (pt->has_frag) {
        sb_putc(b, '#');
        L->frag_off = b->len;
        put_component(b, pt->frag.p, pt->frag.n, C_FRAG);
        L->frag_len = b->len - L->frag_off;
        L->has_frag = true;
    }
    if (b->err == CIO_ETOOBIG)
        return cio__err(CIO_ETOOBIG, "normalised URL longer than %zu bytes",
                        b->max);
    return b->err;
}

/* --------------------------------------------------------------- objects */

enum {
    F_HREF,
    F_SCHEME,
    F_USER,
    F_PASS,
    F_HOST,
    F_HOSTPORT,
    F_PATH,
    F_QUERY,
    F_FRAG,
    F_TARGET,
    F_ORIGIN,
    F_COUNT
};

struct cio_url {
    size_t size;                       /* of this allocation, for dup */
    size_t max_len;                    /* limit inherited by derived URLs */
    size_t off[F_COUNT], len[F_COUNT]; /* data[off..off+len) + NUL */
    size_t ui_off, ui_len;             /* "user:pass@" within the href */
    int port;
    enum cio_url_scheme_id sid;
    enum cio_url_host_kind kind;
    bool has_query, has_frag;
    char data[];
};

static int make_url(cio_url **out, const char *href, size_t href_len,
                    const struct layout *L, size_t max_len)
{
    struct span f[F_COUNT];
    bool special = L->sid != CIO_SCHEME_OTHER;

    f[F_HREF] = (struct span){href, href_len};
    f[F_SCHEME] = (struct span){href, L->scheme_len};
    f[F_USER] = (struct span){href + L->user_off, L->user_len};
    f[F_PASS] = (struct span){href + L->pass_off, L->pass_len};
    f[F_HOST] = (struct span){href + L->host_off, L->host_len};
    if (L->kind == CIO_HOST_IPV6)
        f[F_HOST] = (struct span){href + L->host_off + 1, L->host_len - 2};
    f[F_HOSTPORT] = (struct span){href + L->host_off, L->hp_len};
    f[F_PATH] = (struct span){href + L->path_off, L->path_len};
    f[F_QUERY] = (struct span){href + L->query_off, L->query_len};
    f[F_FRAG] = (struct span){href + L->frag_off, L->frag_len};
    f[F_TARGET] = (struct span){
        href + L->path_off,
        L->has_query ? L->query_off + L->query_len - L->path_off : L->path_len};
    size_t origin_len = special ? L->scheme_len + 3 + L->hp_len : 4;

    size_t total = sizeof(struct cio_url) + origin_len + 1;
    for (int i = 0; i < F_ORIGIN; i++)
        total += f[i].n + 1;
    cio_url *u = cio__malloc(total);
    if (u == NULL)
        return CIO_ENOMEM;
    memset(u, 0, sizeof(*u));
    u->size = total;
    u->max_len = max_len;
    size_t o = 0;
    for (int i = 0; i < F_ORIGIN; i++) {
        u->off[i] = o;
        if (i == F_USER || i == F_PASS)
            u->len[i] = decode_valid(u->data + o, f[i].p, f[i].n);
        else
            memcpy(u->data + o, f[i].p, u->len[i] = f[i].n);
        o += u->len[i];
        u->data[o++] = '\0';
    }
    u->off[F_ORIGIN] = o;
    u->len[F_ORIGIN] = origin_len;
    if (special) {
        memcpy(u->data + o, href, L->scheme_len);
        memcpy(u->data + o + L->scheme_len, "://", 3);
        memcpy(u->data + o + L->scheme_len + 3, href + L->host_off, L->hp_len);
    } else {
        memcpy(u->data + o, "null", 4);
    }
    u->data[o + origin_len] = '\0';
    u->ui_off = L->ui_off;
    u->ui_len = L->ui_len;
    u->port = L->port;
    u->sid = L->sid;
    u->kind = L->kind;
    u->has_query = L->has_query;
    u->has_frag = L->has_frag;
    *out = u;
    return 0;
}

static int parse_max(cio_url **out, const char *s, size_t len, size_t max)
{
    struct parts pt;
    struct layout L;
    struct sb b = {.max = max};
    int rc;

    if (len > max)
        return cio__err(CIO_ETOOBIG, "URL of %zu bytes, the limit is %zu", len,
                        max);
    rc = scan(s, len, "URL");
    if (rc < 0)
        return rc;
    rc = split(s, len, &pt);
    if (rc < 0)
        return rc;
    if (!pt.has_scheme)
        return cio__err(CIO_EURL, "no scheme (a relative reference needs a "
                                  "base URL)");
    rc = build(&b, &pt, &L);
    if (rc == 0)
        rc = make_url(out, b.p, b.len, &L, max);
    cio__free(b.p);
    return rc;
}

int cio_url_parse(cio_url **out, const char *s, size_t len,
                  const struct cio_url_opts *opts)
{
    if (out == NULL || (s == NULL && len > 0))
        return cio__err(CIO_EINVAL, "cio_url_parse: NULL argument");
    size_t max =
        opts != NULL && opts->max_len > 0 ? opts->max_len : CIO_URL_MAX_LEN;
    if (max > SIZE_MAX / 4) /* keeps the size arithmetic exact */
        max = SIZE_MAX / 4;
    return parse_max(out, s != NULL ? s : "", len, max);
}

/* -------------------------------------------------------------- resolve */

struct wr {
    char *p;
    size_t len, cap;
    bool over;
};

static void wr_put(struct wr *w, const char *s, size_t n)
{
    if (w->over || n >= w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

ptrdiff_t cio__url_resolve_str(char *dst, size_t cap, const char *base,
                               size_t blen, const char *ref, size_t rlen)
{
    struct parts B, R;
    struct wr w = {dst, 0, cap, cap == 0};
    int rc;

    rc = split(base, blen, &B);
    if (rc < 0)
        return rc;
    if (!B.has_scheme)
        return cio__err(CIO_EURL, "base URL without a scheme");
    rc = split(ref, rlen, &R);
    if (rc < 0)
        return rc;

    const struct parts *auth_from = &R, *query_from = &R;
    bool own_path = true; /* T.path = remove_dots(R.path) */
    if (R.has_scheme) {
        wr_put(&w, R.scheme.p, R.scheme.n);
    } else {
        wr_put(&w, B.scheme.p, B.scheme.n);
        if (!R.has_auth) {
            auth_from = &B;
            if (R.path.n == 0) {
                own_path = false;
                if (!R.has_query)
                    query_from = &B;
            }
        }
    }
    wr_put(&w, ":", 1);
    if (auth_from->has_auth) {
        wr_put(&w, "//", 2);
        wr_put(&w, auth_from->auth.p, auth_from->auth.n);
    }
    size_t path_off = w.len;
    if (!own_path) {
        wr_put(&w, B.path.p, B.path.n);
    } else {
        if (R.has_scheme || R.has_auth ||
            (R.path.n > 0 && R.path.p[0] == '/')) {
            wr_put(&w, R.path.p, R.path.n);
        } else {
            /* §5.2.3 merge */
            if (B.has_auth && B.path.n == 0) {
                wr_put(&w, "/", 1);
            } else {
                size_t k = B.path.n;
                while (k > 0 && B.path.p[k - 1] != '/')
                    k--;
                wr_put(&w, B.path.p, k);
            }
            wr_put(&w, R.path.p, R.path.n);
        }
        if (!w.over)
            w.len = path_off +
                    cio__url_remove_dots(w.p + path_off, w.len - path_off);
    }
    if (!auth_from->has_auth && w.len - path_off >= 2 && !w.over &&
        w.p[path_off] == '/' && w.p[path_off + 1] == '/') {
        if (w.cap - w.len <= 2) {
            w.over = true;
        } else {
            memmove(w.p + path_off + 2, w.p + path_off, w.len - path_off);
            memcpy(w.p + path_off, "/.", 2);
            w.len += 2;
        }
    }
    if (query_from->has_query) {
        wr_put(&w, "?", 1);
        wr_put(&w, query_from->query.p, query_from->query.n);
    }
    if (R.has_frag) {
        wr_put(&w, "#", 1);
        wr_put(&w, R.frag.p, R.frag.n);
    }
    if (w.over)
        return cio__err(CIO_ETOOBIG, "resolved URL longer than %zu bytes",
                        cap > 0 ? cap - 1 : 0);
    dst[w.len] = '\0';
    return (ptrdiff_t)w.len;
}

int cio_url_resolve(cio_url **out, const cio_url *base, const char *ref,
                    size_t len)
{
    if (out == NULL || base == NULL || (ref == NULL && len > 0))
        return cio__err(CIO_EINVAL, "cio_url_resolve: NULL argument");
    if (ref == NULL)
        ref = "";
    if (len > base->max_len)
        return cio__err(CIO_ETOOBIG,
                        "reference of %zu bytes, the limit is "
                        "%zu",
                        len, base->max_len);
    int rc = scan(ref, len, "reference");
    if (rc < 0)
        return rc;
    size_t cap = base->len[F_HREF] + len + 8;
    char *tmp = cio__malloc(cap);
    if (tmp == NULL)
        return CIO_ENOMEM;
    ptrdiff_t n = cio__url_resolve_str(tmp, cap, base->data + base->off[F_HREF],
                                       base->len[F_HREF], ref, len);
    rc = n < 0 ? (int)n : parse_max(out, tmp, (size_t)n, base->max_len);
    cio__free(tmp);
    return rc;
}

/* ------------------------------------------------------ other operations */

int cio_url_dup(cio_url **out, const cio_url *u)
{
    if (out == NULL || u == NULL)
        return cio__err(CIO_EINVAL, "cio_url_dup: NULL argument");
    cio_url *c = cio__malloc(u->size);
    if (c == NULL)
        return CIO_ENOMEM;
    memcpy(c, u, u->size);
    *out = c;
    return 0;
}

void cio_url_free(cio_url *u)
{
    cio__free(u);
}

int cio_url_add_params(cio_url **out, const cio_url *u,
                       const struct cio_kv *params)
{
    if (out == NULL || u == NULL)
        return cio__err(CIO_EINVAL, "cio_url_add_params: NULL argument");
    if (params == NULL || params[0].name == NULL)
        return cio_url_dup(out, u);
    ptrdiff_t qn = cio_query_encode(NULL, 0, params, 0);
    if (qn < 0)
        return (int)qn;
    const char *href = u->data + u->off[F_HREF];
    /* The href up to the end of the query, then the new pairs, then the
     * fragment: all already normalised, so this is the final length. */
    size_t pre =
        u->has_frag ? u->len[F_HREF] - u->len[F_FRAG] - 1 : u->len[F_HREF];
    size_t sep = !u->has_query || u->len[F_QUERY] > 0;
    size_t total =
        pre + sep + (size_t)qn + (u->has_frag ? 1 + u->len[F_FRAG] : 0);
    if (total > u->max_len)
        return cio__err(CIO_ETOOBIG,
                        "URL with parameters is %zu bytes, the "
                        "limit is %zu",
                        total, u->max_len);
    char *tmp = cio__malloc(total + 1);
    if (tmp == NULL)
        return CIO_ENOMEM;
    size_t n = pre;
    memcpy(tmp, href, pre);
    if (!u->has_query)
        tmp[n++] = '?';
    else if (u->len[F_QUERY] > 0)
        tmp[n++] = '&';
    cio_query_encode(tmp + n, (size_t)qn + 1, params, 0);
    n += (size_t)qn;
    if (u->has_frag) {
        tmp[n++] = '#';
        memcpy(tmp + n, u->data + u->off[F_FRAG], u->len[F_FRAG]);
        n += u->len[F_FRAG];
    }
    int rc = parse_max(out, tmp, n, u->max_len);
    cio__free(tmp);
    return rc;
}

ptrdiff_t cio_url_format(const cio_url *u, char *dst, size_t cap,
                         unsigned flags)
{
    const char *href = u->data + u->off[F_HREF];
    size_t n = u->len[F_HREF];
    size_t cut = (flags & CIO_URL_FMT_NO_USERINFO) ? u->ui_len : 0;
    if ((flags & CIO_URL_FMT_NO_FRAGMENT) && u->has_frag)
        n -= u->len[F_FRAG] + 1;
    size_t need = n - cut;
    if (dst == NULL && cap == 0)
        return (ptrdiff_t)need;
    if (dst == NULL || need + 1 > cap)
        return cio__err(CIO_ETOOBIG, "URL needs %zu bytes, buffer has %zu",
                        need + 1, cap);
    memcpy(dst, href, u->ui_off + (cut ? 0 : u->ui_len));
    size_t o = u->ui_off + (cut ? 0 : u->ui_len);
    memcpy(dst + o, href + u->ui_off + u->ui_len, n - u->ui_off - u->ui_len);
    dst[need] = '\0';
    return (ptrdiff_t)need;
}

static struct cio_str field(const cio_url *u, int i)
{
    return (struct cio_str){u->data + u->off[i], u->len[i]};
}

const char *cio_url_href(const cio_url *u)
{
    return u->data + u->off[F_HREF];
}
struct cio_str cio_url_href_str(const cio_url *u)
{
    return field(u, F_HREF);
}
struct cio_str cio_url_scheme(const cio_url *u)
{
    return field(u, F_SCHEME);
}
struct cio_str cio_url_username(const cio_url *u)
{
    return field(u, F_USER);
}
struct cio_str cio_url_password(const cio_url *u)
{
    return field(u, F_PASS);
}
struct cio_str cio_url_host(const cio_url *u)
{
    return field(u, F_HOST);
}
struct cio_str cio_url_hostport(const cio_url *u)
{
    return field(u, F_HOSTPORT);
}
struct cio_str cio_url_path(const cio_url *u)
{
    return field(u, F_PATH);
}
struct cio_str cio_url_query(const cio_url *u)
{
    return field(u, F_QUERY);
}
struct cio_str cio_url_fragment(const cio_url *u)
{
    return field(u, F_FRAG);
}
struct cio_str cio_url_target(const cio_url *u)
{
    return field(u, F_TARGET);
}
struct cio_str cio_url_origin(const cio_url *u)
{
    return field(u, F_ORIGIN);
}
enum cio_url_scheme_id cio_url_scheme_id(const cio_url *u)
{
    return u->sid;
}
enum cio_url_host_kind cio_url_host_kind(const cio_url *u)
{
    return u->kind;
}
int cio_url_port(const cio_url *u)
{
    return u->port;
}
int cio_url_has_query(const cio_url *u)
{
    return u->has_query;
}
int cio_url_has_fragment(const cio_url *u)
{
    return u->has_frag;
}
int cio_url_has_userinfo(const cio_url *u)
{
    return u->ui_len > 0;
}

int cio_url_is_secure(const cio_url *u)
{
    return u->sid == CIO_SCHEME_HTTPS || u->sid == CIO_SCHEME_WSS;
}

int cio_url_same_origin(const cio_url *a, const cio_url *b)
{
    return a->sid != CIO_SCHEME_OTHER && a->sid == b->sid &&
           a->port == b->port && a->len[F_HOST] == b->len[F_HOST] &&
           memcmp(a->data + a->off[F_HOST], b->data + b->off[F_HOST],
                  a->len[F_HOST]) == 0;
}

/* ------------------------------------------------------ percent-encoding */

static bool keep(unsigned char c, enum cio_pct_set set)
{
    if (is_unreserved(c))
        return true;
    switch (set) {
    case CIO_PCT_PATH:
        return is_subdelim(c) || c == ':' || c == '@' || c == '/';
    case CIO_PCT_SEGMENT:
        return is_subdelim(c) || c == ':' || c == '@';
    case CIO_PCT_USERINFO:
        return is_subdelim(c);
    default:
        return false;
    }
}

static size_t enc_len(const char *s, size_t n, enum cio_pct_set set)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        need += keep(c, set) || (c == ' ' && set == CIO_PCT_FORM) ? 1 : 3;
    }
    return need;
}

static char *enc_put(char *d, const char *s, size_t n, enum cio_pct_set set)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (keep(c, set)) {
            *d++ = (char)c;
        } else if (c == ' ' && set == CIO_PCT_FORM) {
            *d++ = '+';
        } else {
            *d++ = '%';
            *d++ = hexdig[c >> 4];
            *d++ = hexdig[c & 15];
        }
    }
    return d;
}

ptrdiff_t cio_pct_encode(char *dst, size_t cap, const char *src, size_t len,
                         enum cio_pct_set set)
{
    if ((unsigned)set > CIO_PCT_USERINFO || (src == NULL && len > 0))
        return cio__err(CIO_EINVAL, "cio_pct_encode: bad argument");
    size_t need = enc_len(src, len, set);
    if (dst == NULL && cap == 0)
        return (ptrdiff_t)need;
    if (dst == NULL || need + 1 > cap)
        return cio__err(CIO_ETOOBIG,
                        "encoding needs %zu bytes, buffer has "
                        "%zu",
                        need + 1, cap);
    *enc_put(dst, src, len, set) = '\0';
    return (ptrdiff_t)need;
}

/* Decodes s[0..n) into d (if not NULL); returns the length, or err for an
 * invalid escape in strict mode, naming its offset (plus base). */
static ptrdiff_t dec(char *d, const char *s, size_t n, unsigned flags, int err,
                     const char *what, size_t base)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int h = n - i >= 3 ? hexval((unsigned char)s[i + 1]) : -1;
            int l = n - i >= 3 ? hexval((unsigned char)s[i + 2]) : -1;
            if (h >= 0 && l >= 0) {
                c = (unsigned char)(h << 4 | l);
                i += 2;
            } else if (!(flags & CIO_PCT_LENIENT)) {
                return cio__err(err,
                                "%s: invalid percent-escape at offset "
                                "%zu",
                                what, base + i);
            }
        } else if (c == '+' && (flags & CIO_PCT_PLUS)) {
            c = ' ';
        }
        if (d != NULL)
            d[o] = (char)c;
        o++;
    }
    return (ptrdiff_t)o;
}

ptrdiff_t cio_pct_decode(char *dst, size_t cap, const char *src, size_t len,
                         unsigned flags)
{
    if (src == NULL && len > 0)
        return cio__err(CIO_EINVAL, "cio_pct_decode: NULL source");
    ptrdiff_t need = dec(NULL, src, len, flags, CIO_EURL, "percent-decode", 0);
    if (need < 0 || (dst == NULL && cap == 0))
        return need;
    if (dst == NULL || (size_t)need + 1 > cap)
        return cio__err(CIO_ETOOBIG,
                        "decoding needs %zu bytes, buffer has "
                        "%zu",
                        (size_t)need + 1, cap);
    dec(dst, src, len, flags, CIO_EURL, "percent-decode", 0);
    dst[need] = '\0';
    return need;
}

/* --------------------------------------------------------- query strings */

static size_t pair_len(struct cio_str name, struct cio_str value,
                       enum cio_pct_set set)
{
    size_t n = enc_len(name.ptr, name.len, set);
    if (value.ptr != NULL)
        n += 1 + enc_len(value.ptr, value.len, set);
    return n;
}

static char *pair_put(char *d, struct cio_str name, struct cio_str value,
                      enum cio_pct_set set)
{
    d = enc_put(d, name.ptr, name.len, set);
    if (value.ptr != NULL) {
        *d++ = '=';
        d = enc_put(d, value.ptr, value.len, set);
    }
    return d;
}

ptrdiff_t cio_query_append(char *dst, size_t cap, size_t len,
                           struct cio_str name, struct cio_str value,
                           unsigned flags)
{
    enum cio_pct_set set =
        flags & CIO_QUERY_FORM ? CIO_PCT_FORM : CIO_PCT_COMPONENT;
    if (name.ptr == NULL && name.len > 0)
        return cio__err(CIO_EINVAL, "cio_query_append: NULL name");
    size_t need = len + (len > 0) + pair_len(name, value, set);
    if (dst == NULL && cap == 0)
        return (ptrdiff_t)need;
    if (dst == NULL || need + 1 > cap)
        return cio__err(CIO_ETOOBIG, "query needs %zu bytes, buffer has %zu",
                        need + 1, cap);
    char *d = dst + len;
    if (len > 0)
        *d++ = '&';
    *pair_put(d, name, value, set) = '\0';
    return (ptrdiff_t)need;
}

ptrdiff_t cio_query_encode(char *dst, size_t cap, const struct cio_kv *params,
                           unsigned flags)
{
    enum cio_pct_set set =
        flags & CIO_QUERY_FORM ? CIO_PCT_FORM : CIO_PCT_COMPONENT;
    size_t need = 0;
    for (size_t i = 0; params != NULL && params[i].name != NULL; i++)
        need += (i > 0) +
                pair_len(cio_str_c(params[i].name),
                         (struct cio_str){
                             params[i].value,
                             params[i].value ? strlen(params[i].value) : 0},
                         set);
    if (dst == NULL && cap == 0)
        return (ptrdiff_t)need;
    if (dst == NULL || need + 1 > cap)
        return cio__err(CIO_ETOOBIG, "query needs %zu bytes, buffer has %zu",
                        need + 1, cap);
    char *d = dst;
    for (size_t i = 0; params != NULL && params[i].name != NULL; i++) {
        if (i > 0)
            *d++ = '&';
        d = pair_put(
            d, cio_str_c(params[i].name),
            (struct cio_str){params[i].value,
                             params[i].value ? strlen(params[i].value) : 0},
            set);
    }
    *d = '\0';
    return (ptrdiff_t)need;
}

struct pair {
    struct cio_str name, value;
};

struct cio_params {
    size_t n;
    struct pair pairs[]; /* then the decoded strings */
};

int cio__params_parse(cio_params **out, const char *s, size_t len,
                      const struct cio_query_opts *opts, size_t def_max_len,
                      unsigned force_flags, int err, const char *what)
{
    size_t max_pairs =
        opts && opts->max_pairs ? opts->max_pairs : CIO__PARAMS_MAX_PAIRS;
    size_t max_len = opts && opts->max_len ? opts->max_len : def_max_len;
    unsigned qf = (opts ? opts->flags : 0) | force_flags;
    unsigned df = (qf & CIO_QUERY_FORM ? CIO_PCT_PLUS : 0) |
                  (qf & CIO_QUERY_LENIENT ? CIO_PCT_LENIENT : 0);
    size_t n = 0;

    if (out == NULL || (s == NULL && len > 0))
        return cio__err(CIO_EINVAL, "%s parse: NULL argument", what);
    if (len > max_len)
        return cio__err(CIO_ETOOBIG, "%s of %zu bytes, the limit is %zu", what,
                        len, max_len);
    /* First pass: count the pairs and check the escapes. */
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t e = amp ? (size_t)(amp - s) : len;
        if (e > i) {
            if (++n > max_pairs)
                return cio__err(CIO_ETOOBIG, "%s has more than %zu pairs", what,
                                max_pairs);
            ptrdiff_t rc = dec(NULL, s + i, e - i, df, err, what, i);
            if (rc < 0)
                return (int)rc;
        }
        i = e + 1;
    }
    /* Decoded strings are never longer than their input; each gets a NUL
     * for its name and one for its value. */
    size_t size = sizeof(cio_params) + n * sizeof(struct pair) + len + 2 * n;
    cio_params *p = cio__malloc(size);
    if (p == NULL)
        return CIO_ENOMEM;
    p->n = n;
    char *d = (char *)(p->pairs + n);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t e = amp ? (size_t)(amp - s) : len;
        if (e > i) {
            const char *eq = memchr(s + i, '=', e - i);
            size_t ne = eq ? (size_t)(eq - s) : e;
            size_t nl = (size_t)dec(d, s + i, ne - i, df, err, what, i);
            p->pairs[k].name = (struct cio_str){d, nl};
            d += nl;
            *d++ = '\0';
            size_t vl =
                eq ? (size_t)dec(d, eq + 1, e - ne - 1, df, err, what, ne + 1)
                   : 0;
            p->pairs[k].value = (struct cio_str){d, vl};
            d += vl;
            *d++ = '\0';
            k++;
        }
        i = e + 1;
    }
    *out = p;
    return 0;
}

int cio_query_parse(cio_params **out, const char *s, size_t len,
                    const struct cio_query_opts *opts)
{
    return cio__params_parse(out, s, len, opts, CIO__QUERY_MAX_LEN, 0, CIO_EURL,
                             "query");
}

size_t cio_params_count(const cio_params *p)
{
    return p->n;
}

struct cio_str cio_params_name(const cio_params *p, size_t i)
{
    return p->pairs[i].name;
}

struct cio_str cio_params_value(const cio_params *p, size_t i)
{
    return p->pairs[i].value;
}

const char *cio_params_get(const cio_params *p, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < p->n; i++)
        if (p->pairs[i].name.len == n &&
            memcmp(p->pairs[i].name.ptr, name, n) == 0)
            return p->pairs[i].value.ptr;
    return NULL;
}

void cio_params_free(cio_params *p)
{
    cio__free(p);
}
