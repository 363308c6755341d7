/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the "host:port" / "[v6]:port" splitter used by listeners.
 * Oracles: on success the port is in range, an unbracketed host has no
 * colon, and joining the parts back and splitting again gives the same
 * parts (the parse is stable).
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "net/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[512], host[256], host2[256], joined[600];
    unsigned port, port2;

    if (size >= sizeof(in))
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (cio__split_hostport(in, host, sizeof(host), &port) != 0)
        return 0;
    assert(port <= 65535);
    assert(strlen(host) < sizeof(host));
    if (in[0] != '[')
        assert(strchr(host, ':') == NULL);
    if (strchr(host, ':') != NULL || strchr(host, ']') != NULL)
        snprintf(joined, sizeof(joined), "[%s]:%u", host, port);
    else
        snprintf(joined, sizeof(joined), "%s:%u", host, port);
    if (cio__split_hostport(joined, host2, sizeof(host2), &port2) == 0) {
        assert(port2 == port);
        assert(strcmp(host2, host) == 0);
    }
    return 0;
}
