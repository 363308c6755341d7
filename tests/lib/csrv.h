/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_CSRV_H
#define CIO_TEST_CSRV_H
/*
 * A scripted HTTP/1.1 test server on the corio runtime, for client tests:
 * it runs as tasks in the test's own loop on 127.0.0.1 (port 0), reads
 * each request head (and a Content-Length or chunked body), records the
 * exact request bytes, and answers with whatever the test's handler
 * writes: exact bytes, so hostile responses are easy to script. It counts
 * connections (accepted, open now, most open at once) so tests can prove
 * reuse and concurrency.
 */
#include <stdbool.h>
#include <stddef.h>

#include <corio/corio.h>

#include "base/buf.h"

struct csrv;

/* What the handler saw. */
struct csrv_req {
    char method[16];
    char target[2048];
    char head[16384]; /* the exact request head bytes */
    size_t head_len;
    char *body; /* the body (decoded from chunked) */
    size_t body_len;
    unsigned conn_requests; /* 1 for the first request on a connection */
};

/* Handler result flags. */
#define CSRV_CLOSE 1 /* close after writing the response */
#define CSRV_HOLD                                                              \
    2 /* write the response, then hold the
                                 * connection silently until the server stops */

/* Writes the response bytes into out; returns CSRV_* flags. */
typedef int (*csrv_fn)(struct csrv *s, const struct csrv_req *req,
                       struct cio__buf *out, void *ud);

struct csrv {
    csrv_fn fn;
    void *ud;
    unsigned delay_ms; /* before each response */
    bool silent;       /* accept, then never read or write */
    bool no_read;      /* accept and read nothing (write timeout) */
    int expect_mode;   /* Expect: 100-continue: 0 = answer 100,
                                 * 1 = answer 417 at once and close,
                                 * 2 = ignore it (read the body anyway) */
    unsigned trickle;  /* > 0: write responses in pieces of this
                                 * many bytes, yielding between them */
    bool close_idle;   /* close a connection right after each
                                 * response is written (keep-alive header
                                 * still says open: a stale connection) */
    /* Results: */
    unsigned port;
    char addr[64];
    unsigned accepted, open_now, open_max, requests;
    struct csrv_req last; /* the last request seen */
    /* Private: */
    cio_listener *ln;
    cio_group *g;
    bool stopping;
};

/* Listens and starts serving in the current task's loop. Returns 0. */
int csrv_start(struct csrv *s);
/* Stops: closes the listener, cancels connection tasks, waits. */
void csrv_stop(struct csrv *s);

/* Convenience: "HTTP/1.1 <status> X\r\nContent-Length: n\r\n\r\n<body>". */
int csrv_reply(struct cio__buf *out, int status, const char *extra_headers,
               const char *body);

#endif
