/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_SERVER_FIXTURE_H
#define CIO_TEST_SERVER_FIXTURE_H

/*
 * An in-process corio server on its own thread (its own loop), so a test
 * body can talk to it with blocking sockets, curl or Python on the main
 * thread. Everything waits with a bound.
 */
#include <stdatomic.h>
#include <stddef.h>

#include <corio/corio.h>

struct srvfx {
    cio_app *app;                /* the test's; freed by srvfx_stop */
    struct cio_server_opts opts; /* listen defaults to 127.0.0.1:0 */
    cio_server *srv;
    cio_thread *thr;
    atomic_int state; /* 0 starting, 1 serving, -1 failed */
    int rc;           /* cio_server_new / run result */
    unsigned port;
    char url[96]; /* "http://127.0.0.1:<port>" */
};

/* Starts serving f->app; returns 0 once it accepts (<= 10 s) or an error. */
int srvfx_start(struct srvfx *f);
/* Stops gracefully, joins the thread, frees the server and the app;
 * returns cio_server_run's result. */
int srvfx_stop(struct srvfx *f);

/* A connected blocking socket to 127.0.0.1:port with a 5 s receive
 * timeout, or -1. */
int srvfx_connect(unsigned port);
/* Sends req; reads until EOF, cap bytes or timeout_ms. Returns the bytes
 * read (NUL-terminated, so cap must leave room) or -1. *closed is set to 1
 * if the server closed the connection. */
ptrdiff_t srvfx_exchange(int fd, const char *req, size_t len, char *out,
                         size_t cap, int timeout_ms, int *closed);
/* Runs a shell command (bounded by the command itself), captures stdout
 * into out (NUL-terminated). Returns the exit status or -1. */
int srvfx_sh(const char *cmd, char *out, size_t cap);
/* Counts occurrences of needle in hay. */
int srvfx_count(const char *hay, const char *needle);

#endif
