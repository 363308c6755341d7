/* SPDX-License-Identifier: MIT */
/*
 * How a worker schedules readable connections (docs/internals/server.md
 * "One task per turn"): one serving task takes the connections that
 * became readable in one poll, in turn; when a handler blocks, the rest of
 * the queue must go on in another task, or a request queued behind a
 * blocked one would wait for it (or, as here, deadlock with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "server_fixture.h"
#include "test.h"

/* Made on the server's loop by the first handler that needs it. */
static cio_event *gate;

static int get_gate(void)
{
    return gate != NULL ? 0 : cio_event_new(&gate);
}

/* Holds the loop thread without yielding, so that requests sent meanwhile
 * reach the next poll together. */
static int busy(cio_req *req, cio_resp *res, void *ud)
{
    struct timespec a, b;
    (void)req;
    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 <
           300);
    return cio_resp_text(res, 200, "busy");
}

static int wait_gate(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    int rc = get_gate();
    if (rc < 0)
        return rc;
    rc = cio_event_wait(gate, cio_after(3000));
    if (rc == CIO_ETIMEDOUT)
        return cio_resp_text(res, 504, "nobody opened the gate");
    return rc < 0 ? rc : cio_resp_text(res, 200, "through");
}

static int open_gate(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    int rc = get_gate();
    if (rc < 0)
        return rc;
    cio_event_set(gate);
    return cio_resp_text(res, 200, "opened");
}

/* Set by /flag, awaited by /spin (the server's loop thread only). */
static int flag;

/* Waits for the flag by yielding, as a long computation that yields now
 * and then lets other requests run: a yield is a switch away like a park,
 * so the connections queued behind it must go on meanwhile. */
static int spin(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_time end = cio_after(3000);
    while (!flag && cio_now() < end) {
        int rc = cio_yield();
        if (rc < 0)
            return rc;
    }
    if (!flag)
        return cio_resp_text(res, 504, "nobody raised the flag");
    flag = 0;
    return cio_resp_text(res, 200, "raised");
}

static int raise_flag(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    flag = 1;
    return cio_resp_text(res, 200, "flag");
}

/* Waits on the gate (never opened here) far longer than the grace
 * period: only the stop's cancel ends it. */
static int hold(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    int rc = get_gate();
    if (rc < 0)
        return rc;
    rc = cio_event_wait(gate, cio_after(20000));
    return rc < 0 ? rc : cio_resp_text(res, 200, "held");
}

static cio_server *stop_srv;

/* Stops the server from its own loop, with requests queued behind. */
static int stop_now(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_server_stop(stop_srv);
    return cio_resp_text(res, 200, "stopping");
}

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello");
}

static int on_cleanup(cio_app *app, void *ud)
{
    (void)app;
    (void)ud;
    cio_event_free(gate);
    gate = NULL;
    return 0;
}

static void start(struct srvfx *f)
{
    cio_app *app;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_get(app, "/", hello, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/busy", busy, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/wait", wait_gate, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/open", open_gate, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/spin", spin, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/flag", raise_flag, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/hold", hold, NULL), 0);
    cr_assert_eq(cio_app_get(app, "/stop", stop_now, NULL), 0);
    cr_assert_eq(cio_app_on_cleanup(app, on_cleanup, NULL), 0);
    f->app = app;
    f->opts.workers = 1;
    CIO_ASSERT_RC(srvfx_start(f), 0);
}

/* Reads one response into out until its body holds `want` or the body is
 * complete (the socket's 5 s receive timeout bounds it); returns out. */
static const char *read_resp(int fd, const char *want, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    while (n < cap - 1) {
        const char *end = strstr(out, "\r\n\r\n");
        const char *cl = strstr(out, "Content-Length: ");
        if (end != NULL && cl != NULL &&
            strlen(end + 4) >= (size_t)atoi(cl + 16))
            break;
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        out[n] = '\0';
    }
    (void)want;
    return out;
}

static void send_req(int fd, const char *path);

static void roundtrip(int fd, const char *path, const char *want)
{
    char out[2048];
    send_req(fd, path);
    read_resp(fd, want, out, sizeof(out));
    cr_assert(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s: %s", path, out);
    cr_assert(strstr(out, want) != NULL, "%s: %s", path, out);
}

static void send_req(int fd, const char *path)
{
    char req[128];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    cr_assert_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
}

/*
 * A waits on the gate, B opens it; both requests arrive while the loop is
 * held by C, so they are served from one queue. If the task serving A kept
 * B queued behind it, A would wait its 3 s out and answer 504.
 */
Test(server_sched, a_blocked_handler_hands_the_queue_on)
{
    struct srvfx f = {0};
    start(&f);
    int c = srvfx_connect(f.port), a = srvfx_connect(f.port),
        b = srvfx_connect(f.port);
    cr_assert(c >= 0 && a >= 0 && b >= 0);
    /* every connection accepted and idle before the test proper */
    roundtrip(c, "/", "Hello");
    roundtrip(a, "/", "Hello");
    roundtrip(b, "/", "Hello");
    for (int round = 0; round < 3; round++) {
        send_req(c, "/busy");
        usleep(100 * 1000); /* the server is inside /busy now */
        send_req(a, "/wait");
        send_req(b, "/open");
        char out[1024];
        read_resp(c, "busy", out, sizeof(out));
        cr_assert(strstr(out, "busy") != NULL, "%s", out);
        read_resp(b, "opened", out, sizeof(out));
        cr_assert(strstr(out, "opened") != NULL, "%s", out);
        read_resp(a, "through", out, sizeof(out));
        cr_assert(strncmp(out, "HTTP/1.1 200 ", 13) == 0 &&
                      strstr(out, "through"),
                  "round %d: %s", round, out);
        cio_event_clear(gate); /* the server is idle: no race with it */
    }
    close(a);
    close(b);
    close(c);
    CIO_ASSERT_RC(srvfx_stop(&f), 0);
}

/*
 * The same with a handler that yields instead of parking: A spins on
 * cio_yield until B's handler raises a flag. If the task serving A kept B
 * queued behind it, A would spin its 3 s out and answer 504.
 */
Test(server_sched, a_yielding_handler_hands_the_queue_on)
{
    struct srvfx f = {0};
    start(&f);
    int c = srvfx_connect(f.port), a = srvfx_connect(f.port),
        b = srvfx_connect(f.port);
    cr_assert(c >= 0 && a >= 0 && b >= 0);
    roundtrip(c, "/", "Hello");
    roundtrip(a, "/", "Hello");
    roundtrip(b, "/", "Hello");
    for (int round = 0; round < 3; round++) {
        send_req(c, "/busy");
        usleep(100 * 1000); /* the server is inside /busy now */
        send_req(a, "/spin");
        send_req(b, "/flag");
        char out[1024];
        read_resp(c, "busy", out, sizeof(out));
        cr_assert(strstr(out, "busy") != NULL, "%s", out);
        read_resp(b, "flag", out, sizeof(out));
        cr_assert(strstr(out, "flag") != NULL, "%s", out);
        read_resp(a, "raised", out, sizeof(out));
        cr_assert(strncmp(out, "HTTP/1.1 200 ", 13) == 0 &&
                      strstr(out, "raised"),
                  "round %d: %s", round, out);
    }
    close(a);
    close(b);
    close(c);
    CIO_ASSERT_RC(srvfx_stop(&f), 0);
}

/* Reads until the server closes (0) or the 5 s receive timeout (-1);
 * the bytes read are in out. */
static int read_to_eof(int fd, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r == 0)
            return 0;
        if (r < 0)
            return -1;
        n += (size_t)r;
        out[n] = '\0';
        if (n == cap - 1)
            return -1;
    }
}

/*
 * A stop with connections queued behind the request that asks for it, one
 * of them a handler that outlives the grace period: every connection is
 * answered or closed, the one held is canceled at the end of the grace
 * period (not at its own 20 s), and nothing leaks (the sanitizers look).
 */
Test(server_sched, a_stop_with_connections_queued)
{
    struct srvfx f = {0};
    f.opts.timeouts.grace_ms = 300;
    start(&f);
    stop_srv = f.srv;
    int c = srvfx_connect(f.port), d = srvfx_connect(f.port),
        a = srvfx_connect(f.port), b = srvfx_connect(f.port);
    cr_assert(c >= 0 && d >= 0 && a >= 0 && b >= 0);
    roundtrip(c, "/", "Hello");
    roundtrip(d, "/", "Hello");
    roundtrip(a, "/", "Hello");
    roundtrip(b, "/", "Hello");
    send_req(c, "/busy");
    usleep(100 * 1000); /* the server is inside /busy now */
    send_req(d, "/stop");
    send_req(a, "/hold");
    send_req(b, "/");
    char out[2048];
    cr_assert_eq(read_to_eof(d, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "stopping") != NULL, "%s", out);
    cr_assert_eq(read_to_eof(b, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "Hello") != NULL, "%s", out);
    cr_assert_eq(read_to_eof(a, out, sizeof(out)), 0,
                 "held past the grace period: %s", out);
    cr_assert_null(strstr(out, "held"), "%s", out);
    cr_assert_eq(read_to_eof(c, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "busy") != NULL, "%s", out);
    close(a);
    close(b);
    close(c);
    close(d);
    CIO_ASSERT_RC(srvfx_stop(&f), 0);
}

/*
 * More connections readable in one poll than one serving task takes
 * before it yields (SERVE_BATCH): every one is answered, on each of
 * several rounds, and the connections stay usable.
 */
Test(server_sched, a_big_batch_is_served_whole)
{
    enum { N = 600 };
    static int fds[N];
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * N + 64) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    cr_assert_geq(rl.rlim_cur, 2 * N + 64, "RLIMIT_NOFILE %llu too low",
                  (unsigned long long)rl.rlim_cur);
    struct srvfx f = {0};
    start(&f);
    int hold = srvfx_connect(f.port);
    cr_assert(hold >= 0);
    for (int i = 0; i < N; i++) {
        fds[i] = srvfx_connect(f.port);
        cr_assert(fds[i] >= 0, "connection %d", i);
    }
    roundtrip(hold, "/", "Hello"); /* all accepted by now (FIFO backlog) */
    for (int round = 0; round < 2; round++) {
        send_req(hold, "/busy");
        usleep(50 * 1000);
        for (int i = 0; i < N; i++)
            send_req(fds[i], "/");
        char out[1024];
        read_resp(hold, "busy", out, sizeof(out));
        cr_assert(strstr(out, "busy") != NULL, "%s", out);
        for (int i = 0; i < N; i++) {
            read_resp(fds[i], "Hello", out, sizeof(out));
            cr_assert(strncmp(out, "HTTP/1.1 200 ", 13) == 0 &&
                          strstr(out, "Hello"),
                      "round %d connection %d: %s", round, i, out);
        }
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    close(hold);
    CIO_ASSERT_RC(srvfx_stop(&f), 0);
}

/* The Server name is written as configured, trimmed (it is checked once,
 * when the server is made, not per response). */
Test(server_sched, server_name_is_trimmed_once)
{
    struct srvfx f = {0};
    cio_app *app;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_get(app, "/", hello, NULL), 0);
    f.app = app;
    f.opts.server_name = "  corio-test/1 \t";
    CIO_ASSERT_RC(srvfx_start(&f), 0);
    int fd = srvfx_connect(f.port);
    char out[1024];
    int closed = 0;
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_gt(
        srvfx_exchange(fd, req, strlen(req), out, sizeof(out), 2000, &closed),
        0);
    cr_assert(strstr(out, "\r\nServer: corio-test/1\r\n") != NULL, "%s", out);
    cr_assert(strstr(out, "\r\nConnection: close\r\n") != NULL, "%s", out);
    close(fd);
    CIO_ASSERT_RC(srvfx_stop(&f), 0);
}

static void on_pipe(int sig)
{
    (void)sig;
}

/* cio_server_run ignores SIGPIPE when it is at its default (sendfile(2)
 * cannot be told not to raise it) and keeps an application's own. */
Test(server_sched, sigpipe_default_is_ignored_custom_kept)
{
    struct sigaction sa = {0}, now;
    sa.sa_handler = SIG_DFL;
    cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
    struct srvfx f = {0};
    start(&f);
    cr_assert_eq(sigaction(SIGPIPE, NULL, &now), 0);
    cr_expect(now.sa_handler == SIG_IGN, "SIGPIPE left at its default");
    CIO_ASSERT_RC(srvfx_stop(&f), 0);

    sa.sa_handler = on_pipe;
    cr_assert_eq(sigaction(SIGPIPE, &sa, NULL), 0);
    struct srvfx g = {0};
    start(&g);
    cr_assert_eq(sigaction(SIGPIPE, NULL, &now), 0);
    cr_expect(now.sa_handler == on_pipe,
              "the application's handler was replaced");
    CIO_ASSERT_RC(srvfx_stop(&g), 0);
}
