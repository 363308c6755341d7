/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the PROXY protocol v1/v2 parser (src/server/proxy_proto.c).
 * Oracles:
 *   - the result is bytes consumed (<= len, and <= the version's maximum),
 *     CIO_EMORE or CIO_EPROTO, and nothing else;
 *   - split invariance: every prefix gives CIO_EMORE or the same result and
 *     message as the whole (all prefixes of short inputs, a spread of them
 *     for long ones), and a header gives the same count without the bytes
 *     after it;
 *   - the info is NUL-terminated; addresses of TCP4/TCP6 written back into
 *     a v1 line parse to the same info.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/proxy_proto.h"

#include <corio/error.h>

static ptrdiff_t parse_copy(const uint8_t *data, size_t len,
                            struct cio__proxy_proto_info *info)
{
    char *copy = malloc(len > 0 ? len : 1);
    assert(copy != NULL);
    memcpy(copy, data, len);
    ptrdiff_t n = cio__proxy_proto_parse(copy, len, info);
    free(copy);
    return n;
}

/* "1.2.3.4:80" or "[::1]:80" -> "1.2.3.4 " / "::1 " and "80". */
static void split_addr(const char *s, char *ip, char *port)
{
    const char *colon = strrchr(s, ':');
    assert(colon != NULL);
    size_t n = (size_t)(colon - s);
    if (s[0] == '[') {
        assert(n >= 2 && s[n - 1] == ']');
        memcpy(ip, s + 1, n - 2);
        ip[n - 2] = '\0';
    } else {
        memcpy(ip, s, n);
        ip[n] = '\0';
    }
    strcpy(port, colon + 1);
}

static void check_round_trip(const struct cio__proxy_proto_info *info)
{
    char sip[64], sport[8], dip[64], dport[8], line[160];
    split_addr(info->src, sip, sport);
    split_addr(info->dst, dip, dport);
    int n = snprintf(line, sizeof line, "PROXY %s %s %s %s %s\r\n",
                     info->family == AF_INET ? "TCP4" : "TCP6", sip, dip, sport,
                     dport);
    assert(n > 0 && n <= CIO__PROXY_V1_MAX);
    struct cio__proxy_proto_info again;
    assert(parse_copy((const uint8_t *)line, (size_t)n, &again) == n);
    assert(again.family == info->family && again.local == 0);
    assert(strcmp(again.src, info->src) == 0);
    assert(strcmp(again.dst, info->dst) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cio__proxy_proto_info info;
    char msg[300];
    ptrdiff_t n = parse_copy(data, size, &info);
    snprintf(msg, sizeof msg, "%s", cio_last_error());

    assert(n == CIO_EMORE || n == CIO_EPROTO || (n > 0 && (size_t)n <= size));
    if (n > 0) {
        assert(n <= (data[0] == 'P' ? CIO__PROXY_V1_MAX : CIO__PROXY_V2_MAX));
        assert(memchr(info.src, '\0', sizeof info.src) != NULL);
        assert(memchr(info.dst, '\0', sizeof info.dst) != NULL);
        assert(info.local == (info.family == AF_UNSPEC));
        if (info.local)
            assert(info.src[0] == '\0' && info.dst[0] == '\0');
        if (info.family == AF_INET || info.family == AF_INET6)
            check_round_trip(&info);
        struct cio__proxy_proto_info alone;
        assert(parse_copy(data, (size_t)n, &alone) == n);
        assert(memcmp(&alone, &info, sizeof info) == 0);
    }

    size_t step = size <= 256 ? 1 : size / 97 + 1;
    size_t upto = n > 0 ? (size_t)n : size;
    for (size_t k = 0; k < upto; k += step) {
        struct cio__proxy_proto_info p;
        ptrdiff_t r = parse_copy(data, k, &p);
        if (r == CIO_EMORE)
            continue;
        assert(n == CIO_EPROTO && r == CIO_EPROTO);
        assert(strcmp(cio_last_error(), msg) == 0);
    }
    return 0;
}
