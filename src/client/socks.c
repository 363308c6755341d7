/* SPDX-License-Identifier: MIT */
#include "client/socks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "net/resolve.h"

const char *cio__socks5_reply_str(unsigned rep)
{
    static const char *const words[] = {
        "succeeded",
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused by destination host",
        "TTL expired",
        "command not supported",
        "address type not supported",
    };
    return rep < sizeof(words) / sizeof(words[0]) ? words[rep]
                                                  : "unassigned reply code";
}

static const char *const stage_names[] = {
    [CIO__SOCKS_METHOD] = "method selection",
    [CIO__SOCKS_AUTH] = "authentication",
    [CIO__SOCKS_REPLY] = "CONNECT",
};

/* A first byte that is not ours: say what it looks like (an HTTP proxy
 * answers "HTTP/1.1 400 ..." to our greeting, a SOCKS4 server 0x00). */
static int not_socks5(const char *proxy, int stage, unsigned char b)
{
    bool printable = b >= 0x20 && b < 0x7f;
    return cio__err(CIO_EPROXY,
                    "SOCKS5 proxy %s does not speak SOCKS5: its %s reply "
                    "starts with 0x%02x%s%c%s%s",
                    proxy, stage_names[stage], b, printable ? " '" : "",
                    printable ? (char)b : ' ', printable ? "'" : "",
                    b == 'H' ? " (an HTTP server?)" : "");
}

int cio__socks5_parse(int stage, const unsigned char *p, size_t n,
                      bool auth_offered, const char *proxy, size_t *need)
{
    if (stage < CIO__SOCKS_METHOD || stage > CIO__SOCKS_REPLY)
        return CIO_EINVAL;
    if (n == 0) {
        *need = 2;
        return CIO_EMORE;
    }
    if (stage == CIO__SOCKS_AUTH) {
        /* RFC 1929: VER is the subnegotiation version, 1; a few servers
         * answer with the SOCKS version, 5: accepted too. */
        if (p[0] != 1 && p[0] != 5)
            return not_socks5(proxy, stage, p[0]);
        if (n < 2) {
            *need = 2;
            return CIO_EMORE;
        }
        if (p[1] != 0)
            return cio__err(CIO_EPROXY,
                            "SOCKS5 proxy %s rejected the username "
                            "and password (status %u)",
                            proxy, p[1]);
        *need = 2;
        return 0;
    }
    if (p[0] != 5)
        return not_socks5(proxy, stage, p[0]);
    if (n < 2) {
        *need = 2;
        return CIO_EMORE;
    }
    if (stage == CIO__SOCKS_METHOD) {
        if (p[1] == 0xff)
            return cio__err(CIO_EPROXY,
                            "SOCKS5 proxy %s accepts none of our "
                            "authentication methods (%s)",
                            proxy,
                            auth_offered ? "none, username/password"
                                         : "none offered: it may want a "
                                           "username and password");
        if (p[1] != 0 && !(p[1] == 2 && auth_offered))
            return cio__err(CIO_EPROXY,
                            "SOCKS5 proxy %s chose authentication "
                            "method %u, which we did not offer",
                            proxy, p[1]);
        *need = 2;
        return p[1];
    }
    /* CONNECT reply. The code first: a refusing server may close right
     * after it, without the rest of the message. */
    if (p[1] != 0)
        return cio__err(CIO_EPROXY, "SOCKS5 proxy %s refused: %s (reply %u)",
                        proxy, cio__socks5_reply_str(p[1]), p[1]);
    if (n < 4) {
        *need = 4;
        return CIO_EMORE;
    }
    size_t alen;
    switch (p[3]) {
    case 1:
        alen = 4;
        break;
    case 4:
        alen = 16;
        break;
    case 3:
        if (n < 5) {
            *need = 5;
            return CIO_EMORE;
        }
        if (p[4] == 0)
            return cio__err(CIO_EPROXY,
                            "SOCKS5 proxy %s replied with an "
                            "empty bound domain name",
                            proxy);
        alen = 1 + (size_t)p[4];
        break;
    default:
        return cio__err(CIO_EPROXY,
                        "SOCKS5 proxy %s replied with address "
                        "type %u (not 1, 3 or 4)",
                        proxy, p[3]);
    }
    size_t total = 4 + alen + 2;
    *need = total;
    return n < total ? CIO_EMORE : 0;
}

/* Reads the proxy's message of stage into buf, never past its end. */
static int read_msg(cio_stream *s, int stage, bool auth_offered,
                    const char *proxy, cio_time deadline)
{
    unsigned char buf[CIO__SOCKS_MAX_REPLY];
    size_t have = 0, need = 2;
    for (;;) {
        while (have < need) {
            ptrdiff_t r = cio_stream_read(s, buf + have, need - have, deadline);
            if (r < 0)
                return (int)r;
            if (r == 0)
                return cio__err(CIO_EPROXY,
                                "SOCKS5 proxy %s closed the "
                                "connection during %s (after %zu bytes of "
                                "its reply)",
                                proxy, stage_names[stage], have);
            have += (size_t)r;
        }
        int rc =
            cio__socks5_parse(stage, buf, have, auth_offered, proxy, &need);
        if (rc != CIO_EMORE)
            return rc;
    }
}

static int write_all(cio_stream *s, const unsigned char *p, size_t n,
                     cio_time deadline)
{
    ptrdiff_t w = cio_stream_write(s, p, n, deadline);
    return w < 0 ? (int)w : 0;
}

/* The DST.ADDR of the request: an address literal as an address, a name
 * as a name (socks5h) or as its first resolved address (socks5). Writes
 * ATYP and the address at p; returns their length or an error. */
static int put_dest(unsigned char *p, const struct cio__socks_opts *o,
                    const char *host, unsigned port, cio_time deadline)
{
    char lit[64];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' &&
        hl - 2 < sizeof(lit)) {
        memcpy(lit, host + 1, hl - 2);
        lit[hl - 2] = '\0';
    } else {
        snprintf(lit, sizeof(lit), "%s", hl < sizeof(lit) ? host : "");
    }
    if (inet_pton(AF_INET, lit, p + 1) == 1) {
        p[0] = 1;
        return 5;
    }
    if (inet_pton(AF_INET6, lit, p + 1) == 1) {
        p[0] = 4;
        return 17;
    }
    if (o->remote_dns) {
        if (hl == 0 || hl > 255)
            return cio__err(CIO_EPROXY,
                            "host name of %zu bytes cannot go to "
                            "SOCKS5 proxy %s (1 to 255)",
                            hl, o->proxy);
        p[0] = 3;
        p[1] = (unsigned char)hl;
        memcpy(p + 2, host, hl);
        return (int)(2 + hl);
    }
    struct cio__addr *addrs;
    size_t naddrs;
    int rc = cio__resolve(host, port, 0, &addrs, &naddrs, deadline);
    if (rc < 0)
        return rc;
    const struct sockaddr *sa = (const struct sockaddr *)&addrs[0].ss;
    if (sa->sa_family == AF_INET) {
        p[0] = 1;
        memcpy(p + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        rc = 5;
    } else if (sa->sa_family == AF_INET6) {
        p[0] = 4;
        memcpy(p + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        rc = 17;
    } else {
        rc = cio__err(CIO_ERESOLVE, "%s resolved to no IP address", host);
    }
    cio__free(addrs);
    return rc;
}

int cio__socks5_open(cio_stream *s, const struct cio__socks_opts *o,
                     const char *host, unsigned port, cio_time deadline)
{
    if (s == NULL || o == NULL || o->proxy == NULL || host == NULL ||
        port == 0 || port > 65535)
        return CIO_EINVAL;
    bool auth = o->user != NULL;
    if (auth && (o->ulen == 0 || o->ulen > 255 || o->plen > 255))
        return cio__err(CIO_EINVAL, "SOCKS5 user name (1 to 255 bytes) or "
                                    "password (up to 255) of the wrong length");

    /* Greeting: no authentication, and username/password when we have
     * credentials (the proxy picks; one that wants none still works). */
    unsigned char m[3 + 255 + 255];
    m[0] = 5;
    m[1] = auth ? 2 : 1;
    m[2] = 0;
    m[3] = 2;
    int rc = write_all(s, m, auth ? 4 : 3, deadline);
    if (rc < 0)
        return rc;
    int method = read_msg(s, CIO__SOCKS_METHOD, auth, o->proxy, deadline);
    if (method < 0)
        return method;

    if (method == 2) {
        m[0] = 1;
        m[1] = (unsigned char)o->ulen;
        memcpy(m + 2, o->user, o->ulen);
        m[2 + o->ulen] = (unsigned char)o->plen;
        memcpy(m + 3 + o->ulen, o->pass, o->plen);
        rc = write_all(s, m, 3 + o->ulen + o->plen, deadline);
        explicit_bzero(m, sizeof(m));
        if (rc < 0)
            return rc;
        if ((rc = read_msg(s, CIO__SOCKS_AUTH, auth, o->proxy, deadline)) < 0)
            return rc;
    }

    unsigned char q[4 + 1 + 255 + 2] = {5, 1, 0};
    int dl = put_dest(q + 3, o, host, port, deadline);
    if (dl < 0)
        return dl;
    q[3 + dl] = (unsigned char)(port >> 8);
    q[4 + dl] = (unsigned char)port;
    if ((rc = write_all(s, q, 5 + (size_t)dl, deadline)) < 0)
        return rc;
    return read_msg(s, CIO__SOCKS_REPLY, auth, o->proxy, deadline);
}
