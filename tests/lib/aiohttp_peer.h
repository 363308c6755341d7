/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_AIOHTTP_PEER_H
#define CIO_TEST_AIOHTTP_PEER_H

/*
 * The python3-aiohttp test server (tests/peers/aiohttp_server.py), started
 * by a test and stopped by PID. It listens on two loopback ports (two
 * origins). Plain POSIX: no corio.
 */

#include <sys/types.h>

struct aiohttp_peer {
    pid_t pid;
    int stdin_fd; /* closing it also stops the server */
    unsigned port, port2;
    char url[160];
};

/*
 * Starts the server and waits (<= 15 s) for its ports. Returns 0, 77 if
 * /usr/bin/python3 or its aiohttp module is missing (the caller skips),
 * or -1 (message on stderr).
 */
int aiohttp_peer_start(struct aiohttp_peer *p);

/*
 * The same for any script in tests/peers (name "mini_proxy.py"), with
 * arguments (NULL-terminated, may be NULL). The script prints one or two
 * ports on its first line (port2 = 0 when one).
 */
int py_peer_start(struct aiohttp_peer *p, const char *script,
                  const char *const *args);

/* "http://127.0.0.1:<port><path>" (port2 when second is set), in p->url. */
const char *aiohttp_peer_url(struct aiohttp_peer *p, const char *path,
                             int second);

/* SIGTERM, then SIGKILL after 5 s; reaps the process. */
void aiohttp_peer_stop(struct aiohttp_peer *p);

#endif
