/* SPDX-License-Identifier: MIT */
/*
 * PROXY protocol v1 and v2 (HAProxy's proxy-protocol.txt). The header comes
 * from the load balancer, but a listener with proxy_protocol on also takes
 * connections from whoever reaches it, so every field is checked and every
 * length bounded before use.
 *
 * Split invariance: the parser only looks at buf[0..len) and answers
 * CIO_EMORE until it can decide. Faults are found in byte order, and a
 * fault found in a prefix is one the whole header has too, so the verdict
 * and its message do not depend on how the header was split.
 */
#include "server/proxy_proto.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "base/errmsg.h"

static const char v2_sig[12] = "\r\n\r\n\0\r\nQUIT\n";

/* ------------------------------------------------------------------ v1 */

/* A decimal port, 0-65535, without sign or leading zeros. */
static int v1_port(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = v;
    return 0;
}

/* Checks an address of family af and writes "ip:port" or "[ip]:port". */
static int v1_addr(int af, const char *s, size_t n, unsigned port, char *out,
                   size_t cap)
{
    char tmp[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    /* inet_pton is strict: no leading zeros or short forms in IPv4, no
     * zone in IPv6. */
    if (inet_pton(af, tmp, bin) != 1)
        return -1;
    if (inet_ntop(af, bin, tmp, sizeof tmp) == NULL)
        return -1;
    snprintf(out, cap, af == AF_INET6 ? "[%s]:%u" : "%s:%u", tmp, port);
    return 0;
}

static ptrdiff_t v1_parse(const char *buf, size_t len,
                          struct cio__proxy_proto_info *out)
{
    static const char magic[] = "PROXY ";
    size_t n = len < 6 ? len : 6;
    if (memcmp(buf, magic, n) != 0)
        return cio__err(CIO_EPROTO, "PROXY v1: bad signature");

    /* The line: bytes up to CRLF, printable ASCII only. */
    size_t end = 0;
    size_t lim = len < CIO__PROXY_V1_MAX ? len : CIO__PROXY_V1_MAX;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r') {
            if (i + 1 == len)
                return CIO_EMORE;
            if (buf[i + 1] != '\n')
                return cio__err(CIO_EPROTO, "PROXY v1: CR without LF");
            if (i + 2 > CIO__PROXY_V1_MAX)
                break;
            end = i;
            break;
        }
        if (c < 0x20 || c > 0x7e)
            return cio__err(CIO_EPROTO,
                            "PROXY v1: control or non-ASCII byte at offset %zu",
                            i);
    }
    if (end == 0) {
        if (len < CIO__PROXY_V1_MAX)
            return CIO_EMORE;
        return cio__err(CIO_EPROTO, "PROXY v1: no CRLF within %d bytes",
                        CIO__PROXY_V1_MAX);
    }

    /* Fields separated by exactly one space. */
    struct cio_str f[6];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= end; i++) {
        if (i == end || buf[i] == ' ') {
            if (nf == 6)
                return cio__err(CIO_EPROTO, "PROXY v1: too many fields");
            f[nf++] = (struct cio_str){buf + start, i - start};
            start = i + 1;
            /* UNKNOWN: the rest of the line is ignored (spec §2.1). */
            if (nf == 2 && f[1].len == 7 && memcmp(f[1].ptr, "UNKNOWN", 7) == 0)
                break;
        }
    }
    struct cio__proxy_proto_info info = {0};
    if (nf >= 2 && f[1].len == 7 && memcmp(f[1].ptr, "UNKNOWN", 7) == 0) {
        info.local = 1;
        info.family = AF_UNSPEC;
        *out = info;
        return (ptrdiff_t)(end + 2);
    }
    int af;
    if (nf >= 2 && f[1].len == 4 && memcmp(f[1].ptr, "TCP4", 4) == 0)
        af = AF_INET;
    else if (nf >= 2 && f[1].len == 4 && memcmp(f[1].ptr, "TCP6", 4) == 0)
        af = AF_INET6;
    else
        return cio__err(CIO_EPROTO,
                        "PROXY v1: protocol is not TCP4, TCP6 or UNKNOWN");
    if (nf != 6)
        return cio__err(CIO_EPROTO, "PROXY v1: %zu fields, want 6", nf);
    unsigned sport, dport;
    if (v1_port(f[4].ptr, f[4].len, &sport) < 0 ||
        v1_port(f[5].ptr, f[5].len, &dport) < 0)
        return cio__err(CIO_EPROTO, "PROXY v1: bad port");
    if (v1_addr(af, f[2].ptr, f[2].len, sport, info.src, sizeof info.src) < 0)
        return cio__err(CIO_EPROTO, "PROXY v1: bad source address");
    if (v1_addr(af, f[3].ptr, f[3].len, dport, info.dst, sizeof info.dst) < 0)
        return cio__err(CIO_EPROTO, "PROXY v1: bad destination address");
    info.family = af;
    *out = info;
    return (ptrdiff_t)(end + 2);
}

/* ------------------------------------------------------------------ v2 */

enum {
    V2_LOCAL = 0x0,
    V2_PROXY = 0x1,
    V2_AF_UNSPEC = 0x0,
    V2_AF_INET = 0x1,
    V2_AF_INET6 = 0x2,
    V2_AF_UNIX = 0x3,
    V2_UNSPEC = 0x0,
    V2_STREAM = 0x1,
    V2_DGRAM = 0x2,
};

static unsigned get16(const char *p)
{
    return (unsigned)(unsigned char)p[0] << 8 | (unsigned char)p[1];
}

static void fmt_inet(int af, const char *ip, const char *port, char *out,
                     size_t cap)
{
    char tmp[INET6_ADDRSTRLEN];
    inet_ntop(af, ip, tmp, sizeof tmp);
    snprintf(out, cap, af == AF_INET6 ? "[%s]:%u" : "%s:%u", tmp, get16(port));
}

/* "unix:/path" or "unix:@abstract" from a 108-byte sun_path field. */
static void fmt_unix(const char *p, char *out, size_t cap)
{
    size_t w = (size_t)snprintf(out, cap, "unix:");
    size_t i = 0, n = 108;
    if (p[0] == '\0') {
        /* Abstract: a name of the whole field length; shown up to its
         * trailing NULs. */
        while (n > 1 && p[n - 1] == '\0')
            n--;
        if (w + 1 < cap)
            out[w++] = '@';
        i = 1;
    } else {
        n = strnlen(p, n);
    }
    for (; i < n && w + 1 < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        out[w++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[w] = '\0';
}

static ptrdiff_t v2_parse(const char *buf, size_t len,
                          struct cio__proxy_proto_info *out)
{
    size_t n = len < 12 ? len : 12;
    if (memcmp(buf, v2_sig, n) != 0)
        return cio__err(CIO_EPROTO, "PROXY v2: bad signature");
    if (len < 13)
        return CIO_EMORE;
    unsigned vc = (unsigned char)buf[12];
    if (vc >> 4 != 2)
        return cio__err(CIO_EPROTO, "PROXY v2: version %u, want 2", vc >> 4);
    unsigned cmd = vc & 15;
    if (cmd != V2_LOCAL && cmd != V2_PROXY)
        return cio__err(CIO_EPROTO, "PROXY v2: unknown command %u", cmd);
    if (len < 14)
        return CIO_EMORE;
    /* LOCAL (health checks from the proxy itself): the spec has the
     * receiver discard the whole block, family included, so only the
     * length is checked. */
    unsigned fam = (unsigned char)buf[13] >> 4,
             tr = (unsigned char)buf[13] & 15;
    int skip = cmd == V2_LOCAL || fam == V2_AF_UNSPEC;
    if (cmd == V2_PROXY && (fam > V2_AF_UNIX || tr > V2_DGRAM))
        return cio__err(CIO_EPROTO, "PROXY v2: unknown family/transport 0x%02x",
                        (unsigned char)buf[13]);
    if (cmd == V2_PROXY &&
        (fam == V2_AF_UNSPEC ? tr != V2_UNSPEC : tr != V2_STREAM))
        return cio__err(CIO_EPROTO,
                        "PROXY v2: transport 0x%02x is not a stream",
                        (unsigned char)buf[13]);
    if (len < 16)
        return CIO_EMORE;
    size_t body = get16(buf + 14), total = 16 + body;
    size_t need = 0;
    if (!skip)
        need = fam == V2_AF_INET ? 12 : fam == V2_AF_INET6 ? 36 : 216;
    if (body < need)
        return cio__err(
            CIO_EPROTO,
            "PROXY v2: length %zu too short for the addresses (%zu)", body,
            need);
    if (total > CIO__PROXY_V2_MAX)
        return cio__err(CIO_EPROTO, "PROXY v2: length %zu above the limit %d",
                        body, CIO__PROXY_V2_MAX - 16);

    /* TLVs: type, 16-bit length, value; they must tile the rest exactly.
     * Checked as far as the bytes go, so a bad one fails early. */
    const char *p = buf + 16;
    size_t off = skip ? body : need;
    while (off < body) {
        if (off + 3 > body)
            return cio__err(CIO_EPROTO, "PROXY v2: truncated TLV header at %zu",
                            off);
        if (16 + off + 3 > len)
            return CIO_EMORE;
        size_t vlen = get16(p + off + 1);
        if (off + 3 + vlen > body)
            return cio__err(
                CIO_EPROTO,
                "PROXY v2: TLV 0x%02x of %zu bytes overruns the header",
                (unsigned char)p[off], vlen);
        off += 3 + vlen;
    }
    if (len < total)
        return CIO_EMORE;

    struct cio__proxy_proto_info info = {0};
    if (skip) {
        info.local = 1;
        info.family = AF_UNSPEC;
    } else if (fam == V2_AF_INET) {
        info.family = AF_INET;
        fmt_inet(AF_INET, p, p + 8, info.src, sizeof info.src);
        fmt_inet(AF_INET, p + 4, p + 10, info.dst, sizeof info.dst);
    } else if (fam == V2_AF_INET6) {
        info.family = AF_INET6;
        fmt_inet(AF_INET6, p, p + 32, info.src, sizeof info.src);
        fmt_inet(AF_INET6, p + 16, p + 34, info.dst, sizeof info.dst);
    } else {
        info.family = AF_UNIX;
        fmt_unix(p, info.src, sizeof info.src);
        fmt_unix(p + 108, info.dst, sizeof info.dst);
    }
    *out = info;
    return (ptrdiff_t)total;
}

ptrdiff_t cio__proxy_proto_parse(const char *buf, size_t len,
                                 struct cio__proxy_proto_info *out)
{
    if (len == 0)
        return CIO_EMORE;
    if (buf[0] == 'P')
        return v1_parse(buf, len, out);
    if (buf[0] == '\r')
        return v2_parse(buf, len, out);
    return cio__err(CIO_EPROTO, "no PROXY protocol header");
}
