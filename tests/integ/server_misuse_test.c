/* SPDX-License-Identifier: MIT */
/*
 * cio_server_free on a running server: it used to free the workers,
 * listeners and connections from under cio_server_run (a use-after-free).
 * It now prints "corio: cio_server_free on a running server" and aborts.
 * Each misuse runs in a child process (fork) whose stderr is read back, so
 * the test checks both the signal and the message; every wait is bounded.
 * Plus: a second cio_server_run on a running server returns CIO_EINVAL,
 * and freeing after cio_server_run returned stays fine.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Runs fn in a child process, its stderr into err; returns the wait
 * status. The child is killed after 20 s. */
static int in_child(void (*fn)(void), char *err, size_t cap)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        fn();
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    long t0 = now_ms();
    for (;;) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        long left = 20000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t k = read(p[0], err + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == cap - 1)
            break;
    }
    err[n] = '\0';
    close(p[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static void expect_abort(void (*fn)(void), const char *what)
{
    char err[8192];
    int st = in_child(fn, err, sizeof(err));
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
              "%s: wait status %#x, stderr: %s", what, st, err);
    cr_expect(strstr(err, "corio: cio_server_free on a running server") != NULL,
              "%s: stderr: %s", what, err);
}

/* ---------------------------------------------------------------- the server */

static cio_server *the_srv; /* for the handler and the other thread */
static cio_event *up;       /* set by on_listen (same loop) */
static int up_flag;         /* set by on_listen (any thread), atomic */
static int free_on_listen;  /* on_listen frees the server itself */

static int h_free(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    cio_server_free(the_srv); /* aborts */
    return cio_resp_text(res, 200, "freed?");
}

static void on_listen(cio_server *srv, void *ud)
{
    (void)ud;
    if (free_on_listen)
        cio_server_free(srv); /* aborts */
    if (up != NULL)
        cio_event_set(up);
    __atomic_store_n(&up_flag, 1, __ATOMIC_RELEASE);
}

/* An app with the freeing handler, a server without listeners (in-process
 * connections only). */
static int make_server(cio_app **app)
{
    struct cio_server_opts so = {.on_listen = on_listen};
    int rc = cio_app_new(app);
    if (rc == 0)
        rc = cio_app_get(*app, "/free", h_free, NULL);
    if (rc == 0)
        rc = cio_server_new(&the_srv, *app, &so);
    return rc;
}

static void serve_task(void *arg)
{
    (void)arg;
    (void)cio_server_run(the_srv);
}

/* ---------------------------------------------------------------- the misuses */

static int serve_main(void *arg)
{
    (void)arg;
    cio_app *app;
    if (make_server(&app) < 0)
        return -1;
    int rc = cio_server_run(the_srv);
    cio_server_free(the_srv);
    cio_app_free(app);
    return rc;
}

static void child_free_in_on_listen(void)
{
    free_on_listen = 1;
    (void)cio_run(serve_main, NULL);
}

/* Serves in a task, waits for on_listen, then sends one request to the
 * handler, which frees its own server, through an in-process pipe. */
static int free_in_handler_main(void *arg)
{
    (void)arg;
    cio_app *app;
    cio_group *g;
    cio_stream *s;
    char buf[256];
    if (cio_event_new(&up) < 0 || make_server(&app) < 0 ||
        cio_group_new(&g) < 0 || cio_go(g, serve_task, NULL) < 0 ||
        cio_event_wait(up, cio_after(5000)) < 0 ||
        cio_server_connect(the_srv, &s) < 0)
        return -1;
    static const char req[] = "GET /free HTTP/1.1\r\nHost: x\r\n\r\n";
    if (cio_stream_write(s, req, sizeof(req) - 1, cio_after(5000)) < 0)
        return -1;
    (void)cio_stream_read(s, buf, sizeof(buf), cio_after(5000));
    return -1; /* not reached: the handler aborts */
}

static void child_free_in_handler(void)
{
    (void)cio_run(free_in_handler_main, NULL);
}

static void *serve_thread(void *arg)
{
    (void)arg;
    (void)cio_run(serve_main, NULL);
    return NULL;
}

/* The server runs on its own thread and loop; this thread frees it. */
static void child_free_from_other_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, serve_thread, NULL) != 0)
        return;
    long t0 = now_ms();
    while (!__atomic_load_n(&up_flag, __ATOMIC_ACQUIRE) &&
           now_ms() - t0 < 10000)
        usleep(1000);
    cio_server_free(the_srv); /* aborts */
}

Test(server_misuse, free_in_on_listen_aborts)
{
    expect_abort(child_free_in_on_listen, "on_listen");
}

Test(server_misuse, free_in_handler_aborts)
{
    expect_abort(child_free_in_handler, "handler");
}

Test(server_misuse, free_from_other_thread_aborts)
{
    expect_abort(child_free_from_other_thread, "other thread");
}

/* ---------------------------------------------------------------- return codes */

/* A second cio_server_run while one runs returns CIO_EINVAL (and names the
 * misuse); after a stop, run returns and the free is the ordinary one. */
static int run_twice_main(void *arg)
{
    (void)arg;
    cio_app *app;
    cio_group *g;
    CIO_EXPECT_RC(cio_event_new(&up), 0);
    CIO_EXPECT_RC(make_server(&app), 0);
    CIO_EXPECT_RC(cio_group_new(&g), 0);
    CIO_EXPECT_RC(cio_go(g, serve_task, NULL), 0);
    CIO_EXPECT_RC(cio_event_wait(up, cio_after(5000)), 0);
    CIO_EXPECT_RC(cio_server_run(the_srv), CIO_EINVAL);
    cr_expect(strstr(cio_last_error(), "already running") != NULL, "%s",
              cio_last_error());
    cio_server_stop(the_srv);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    cio_server_free(the_srv); /* not running any more: no abort */
    cio_app_free(app);
    cio_event_free(up);
    up = NULL;
    return 0;
}

Test(server_misuse, run_twice_is_einval)
{
    CIO_ASSERT_RC(cio_test_run(run_twice_main, NULL), 0);
    cio_test_no_leaks();
}
