/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_SRVPROC_H
#define CIO_TEST_SRVPROC_H

/*
 * A server program (an example, a test helper) run as a child process: it
 * is started with "127.0.0.1:0" (plus extra arguments), prints its bound
 * address on the first line of stdout, and is stopped by PID. Its stderr
 * goes to a file the test can read. Plus a curl wrapper that splits the
 * status, the head and the body. Plain POSIX; every wait is bounded.
 */

#include <stddef.h>
#include <sys/types.h>

struct srvproc {
    pid_t pid;
    char addr[64];     /* "127.0.0.1:41234" */
    char base[80];     /* "http://127.0.0.1:41234" */
    char errpath[128]; /* the child's stderr */
    int status;        /* wait status after srvproc_stop */
};

/*
 * Runs path with argv[1] = "127.0.0.1:0" then the NULL-terminated extra
 * arguments, and waits (<= 10 s) for the address line. Returns 0, or -1
 * with a message on stderr (the child is then stopped).
 */
int srvproc_start(struct srvproc *s, const char *path,
                  const char *const *extra);

/* The path of build/<dir>/<name> from CIO_TEST_BIN, in a static buffer. */
const char *srvproc_bin(const char *dir, const char *name);

/*
 * Sends SIGTERM, waits up to 10 s (then SIGKILL). Returns 0 if the child
 * exited with status 0, else -1. Keeps the stderr file until
 * srvproc_cleanup.
 */
int srvproc_stop(struct srvproc *s);

/* Reads the child's stderr (NUL-terminated, at most cap - 1 bytes). */
size_t srvproc_stderr(const struct srvproc *s, char *buf, size_t cap);

/* Removes the stderr file. */
void srvproc_cleanup(struct srvproc *s);

struct http_res {
    int status;       /* of the last response curl printed (after 1xx) */
    char head[8192];  /* the last response's head, CRLF lines */
    char body[65536]; /* NUL-terminated */
    size_t body_len;
};

/*
 * Runs "curl -sS -i --max-time 5 <args...>" (NULL-terminated) and parses
 * its output. Returns 0, or -1 if curl failed or printed no response.
 */
int http_curl(struct http_res *r, const char *const *args);

/* The value of header name in r->head (case-insensitive), copied to a
 * static buffer; NULL if absent. */
const char *http_header(const struct http_res *r, const char *name);

#endif
