/* SPDX-License-Identifier: MIT */
#ifndef CIO_NET_RESOLVE_H
#define CIO_NET_RESOLVE_H

#include <sys/socket.h>

#include <corio/rt.h>

struct cio__addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

#define CIO__RESOLVE_V4 1u
#define CIO__RESOLVE_V6 2u
#define CIO__RESOLVE_PASSIVE 4u /* for bind: NULL/"" host = any */

/*
 * Blocking. Resolves host (name or literal; "[v6]" brackets allowed) and
 * port into a malloc'd array of *n addresses (free with cio__free). Literals
 * and the RFC 6761 special names ("localhost", "*.localhost": the loopback
 * addresses, IPv4 first; "*.invalid": CIO_ENOHOST) never leave the loop;
 * other names are looked up with getaddrinfo on the executor and cached for
 * 30 s. A canceled or timed-out caller returns at once and the lookup
 * finishes on its own. Outside a task (a loop callback) the lookup runs
 * inline and blocks the thread. Errors: CIO_ENOHOST, CIO_ERESOLVE,
 * CIO_ETIMEDOUT, CIO_ECANCELED, CIO_ENOMEM.
 */
int cio__resolve(const char *host, unsigned port, unsigned flags,
                 struct cio__addr **out, size_t *n, cio_time deadline);

/* Splits "host:port", "[v6]:port" or ":port" into host (without brackets;
 * "" for none) and port. Errors: CIO_EINVAL. */
int cio__split_hostport(const char *s, char *host, size_t hostcap,
                        unsigned *port);

/* Test hooks. The getaddrinfo the resolver calls on the executor (default:
 * the libc one; a replacement must return lists freeable by freeaddrinfo),
 * and a way to empty the process-wide cache. Set them before any lookup. */
struct addrinfo;
extern int (*cio__resolve_gai)(const char *host, const char *service,
                               const struct addrinfo *hints,
                               struct addrinfo **res);
void cio__resolve_cache_clear(void);

#endif
