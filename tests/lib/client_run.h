/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_CLIENT_RUN_H
#define CIO_TEST_CLIENT_RUN_H

/*
 * One client, a few GETs of one URL on a fresh loop, and what came back:
 * the shared driver of the proxy tests (client_proxy_test,
 * client_socks_test), plus reading a peer's log file.
 */

#include <corio/client.h>

#include "aiohttp_peer.h"

struct client_run {
    struct cio_client_opts opts;
    const char *url;
    int times; /* requests in a row on one client; 0 = 1 */
    /* Of the last request (the first that failed, if one did): */
    int rc, status;
    char body[4096];          /* truncated to fit */
    char msg[256];            /* cio_last_error() after it */
    struct cio_pool_stats ps; /* the client's, before it is freed */
};

/* Runs x (asserts that the client could be made and the loop ran). */
void client_run(struct client_run *x);

/* Starts tests/peers/aiohttp_server.py as the origin, with TLS (the
 * fixture's certificate `cert`.pem/.key, e.g. "server" or "self") when
 * cert is not NULL. Skips the test without python3-aiohttp. */
void client_run_origin(struct aiohttp_peer *p, const char *cert);

/* The whole of a small text file (at most 4 KiB), "" if it is missing, in
 * a static buffer overwritten by the next call. */
const char *client_run_file(const char *path);

#endif
