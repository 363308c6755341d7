/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_PROXY_PROTO_H
#define CIO_SERVER_PROXY_PROTO_H

/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt), version 1
 * (text) and version 2 (binary), which a load balancer sends before the
 * first byte of the connection. Pure code: no I/O, no allocation.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include <corio/http/common.h>

/* The longest v1 header, CRLF included (spec §2.1). */
#define CIO__PROXY_V1_MAX 107
/* The longest v2 header accepted, the 16-byte fixed part included: the
 * addresses (216 bytes at most, AF_UNIX) plus TLVs. A longer declared
 * length is refused rather than buffered. */
#define CIO__PROXY_V2_MAX 2048

struct cio__proxy_proto_info {
    /* 1 when the header carries no address to use (v2 LOCAL command, v2
     * AF_UNSPEC, v1 UNKNOWN): keep the socket's addresses. */
    int local;
    int family; /* AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when local */
    /* "1.2.3.4:80", "[2001:db8::1]:443" (as cio_stream_peer writes them),
     * "unix:/path" (truncated to fit; "unix:@name" for the abstract
     * namespace; bytes outside printable ASCII as '?'), or "" when local. */
    char src[INET6_ADDRSTRLEN + 8];
    char dst[INET6_ADDRSTRLEN + 8];
};

/*
 * Parses one PROXY header at the start of buf[0..len). Returns the number
 * of bytes it takes (the data after it is the client's), CIO_EMORE if the
 * header is incomplete, or CIO_EPROTO with a cio__err message naming the
 * fault. Split-invariant: every prefix of a valid header gives CIO_EMORE,
 * a prefix gives CIO_EPROTO only if every extension would (with the same
 * message), and the verdict on the whole header does not depend on how it
 * arrived. *out is written only on success.
 *
 * v1 is strict: "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" with
 * single spaces, addresses of the named family (no leading zeros in IPv4),
 * decimal ports 0-65535 without leading zeros; or "PROXY UNKNOWN" and
 * anything up to CRLF; at most 107 bytes. v2: the 12-byte signature,
 * version 2, command LOCAL or PROXY, and at most CIO__PROXY_V2_MAX bytes
 * in all. LOCAL: the block is skipped whatever its family (spec §2.2).
 * PROXY: family INET/INET6/UNIX with transport STREAM, a length that holds
 * the addresses, and TLVs that are skipped but must tile the rest exactly;
 * or family UNSPEC with transport UNSPEC, block skipped (local = 1).
 */
ptrdiff_t cio__proxy_proto_parse(const char *buf, size_t len,
                                 struct cio__proxy_proto_info *out);

#endif
