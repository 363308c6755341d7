/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_PEERS_H
#define CIO_TEST_PEERS_H

/*
 * Real servers from Debian packages (nginx, h2o), started by a test on
 * 127.0.0.1 with a generated configuration in a private temp directory, and
 * stopped by PID. Plain POSIX (no corio), so tests of any layer can use them.
 */

#include <stddef.h>
#include <sys/types.h>

struct peer {
    const char *name; /* "nginx", "h2o" */
    pid_t pid;
    unsigned port;
    char dir[256]; /* temp dir: config, logs; www/ is the docroot */
    char www[300];
    /* nginx only, optional: also serve www/ over TLS with this certificate
     * chain and key (PEM paths) on tls_port, picked by peer_start. */
    const char *tls_cert, *tls_key;
    const char *tls_client_ca; /* also require a client certificate
                                 * issued by this CA (PEM path) */
    unsigned tls_port;
};

/*
 * Creates the temp dir and its www/ docroot (tests put files there before
 * or after starting). Returns 0, or -1 with a message on stderr.
 */
int peer_prepare(struct peer *p, const char *name);

/*
 * Starts the server on a free loopback port and waits (≤ 10 s) until it
 * accepts connections. nginx serves www/ with gzip on for text types and a
 * few fixed locations (see peers.c); h2o serves www/ with compress: ON.
 * Returns 0, 77 if the binary is missing (the caller skips), or -1.
 */
int peer_start(struct peer *p);

/* Stops the server (SIGTERM, then SIGKILL after 5 s), removes the dir. */
void peer_stop(struct peer *p);

/* Writes len bytes to www/<rel> (creating it). Returns 0 or -1. */
int peer_put_file(struct peer *p, const char *rel, const void *data,
                  size_t len);

/*
 * Sends raw request bytes to 127.0.0.1:port with a blocking socket and reads
 * the whole response until the server closes (send "Connection: close") or
 * 5 s pass. Returns the number of bytes read into buf (at most cap), or -1.
 */
ptrdiff_t peer_exchange(unsigned port, const void *req, size_t reqlen,
                        char *buf, size_t cap);

/*
 * Runs argv (NULL-terminated) with stdout captured into buf (at most cap
 * bytes), bounded by 10 s. Returns the bytes captured, or -1 if it could
 * not run or did not exit with status 0.
 */
ptrdiff_t peer_run_capture(char *const argv[], char *buf, size_t cap);

#endif
