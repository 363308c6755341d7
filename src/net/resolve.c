/* SPDX-License-Identifier: MIT */
/*
 * Name resolution. FIRST VERSION: literals are parsed inline; names go to a
 * blocking getaddrinfo call (to be moved to the executor with a cache).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "net/resolve.h"

int cio__split_hostport(const char *s, char *host, size_t hostcap,
                        unsigned *port)
{
    const char *colon, *h = s;
    size_t hlen;
    char *end;
    unsigned long p;

    if (s == NULL)
        return CIO_EINVAL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || rb[1] != ':')
            return CIO_EINVAL;
        h = s + 1;
        hlen = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return CIO_EINVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL)
            return CIO_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hlen >= hostcap || colon[1] == '\0')
        return CIO_EINVAL;
    p = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || p > 65535 || colon[1] < '0' || colon[1] > '9')
        return CIO_EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (unsigned)p;
    return 0;
}

static int literal(const char *host, unsigned port, unsigned flags,
                   struct cio__addr *a)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

    memset(a, 0, sizeof(*a));
    if (!(flags & CIO__RESOLVE_V6) && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        a->len = sizeof(*s4);
        return 1;
    }
    if (!(flags & CIO__RESOLVE_V4) && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        a->len = sizeof(*s6);
        return 1;
    }
    return 0;
}

int cio__resolve(const char *host, unsigned port, unsigned flags,
                 struct cio__addr **out, size_t *n, cio_time deadline)
{
    char buf[256];
    size_t len = host != NULL ? strlen(host) : 0;
    struct cio__addr *v;
    struct addrinfo hints, *res, *ai;
    char portstr[8];
    size_t cnt = 0;
    int rc;

    (void)deadline;
    if (len >= sizeof(buf))
        return CIO_ENOHOST;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
    } else if (len > 0) {
        memcpy(buf, host, len + 1);
    } else if (flags & CIO__RESOLVE_PASSIVE) {
        strcpy(buf, (flags & CIO__RESOLVE_V4) ? "0.0.0.0" : "::");
    } else {
        return CIO_ENOHOST;
    }
    v = cio__malloc(sizeof(*v));
    if (v == NULL)
        return CIO_ENOMEM;
    if (literal(buf, port, flags, v)) {
        *out = v;
        *n = 1;
        return 0;
    }
    cio__free(v);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = (flags & CIO__RESOLVE_V4)   ? AF_INET
                      : (flags & CIO__RESOLVE_V6) ? AF_INET6
                                                  : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | ((flags & CIO__RESOLVE_PASSIVE) ? AI_PASSIVE : 0);
    snprintf(portstr, sizeof(portstr), "%u", port);
    rc = getaddrinfo(buf, portstr, &hints, &res);
    if (rc != 0)
        return rc == EAI_NONAME || rc == EAI_NODATA ? CIO_ENOHOST
               : rc == EAI_MEMORY                   ? CIO_ENOMEM
                                                    : CIO_ERESOLVE;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        cnt++;
    v = cio__calloc(cnt ? cnt : 1, sizeof(*v));
    if (v == NULL) {
        freeaddrinfo(res);
        return CIO_ENOMEM;
    }
    cnt = 0;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(v[cnt].ss))
            continue;
        memcpy(&v[cnt].ss, ai->ai_addr, ai->ai_addrlen);
        v[cnt].len = ai->ai_addrlen;
        cnt++;
    }
    freeaddrinfo(res);
    if (cnt == 0) {
        cio__free(v);
        return CIO_ENOHOST;
    }
    *out = v;
    *n = cnt;
    return 0;
}
