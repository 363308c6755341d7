/* SPDX-License-Identifier: MIT */
/*
 * The server's cross-thread paths, small enough for the ThreadSanitizer run
 * (CMakePresets.json "tsan" filter): several workers accepting on TCP
 * (SO_REUSEPORT) and on one shared Unix socket, cio_server_stats and the
 * metrics page read from other threads, and cio_server_stop from a thread
 * that is no loop of the server, during requests and right after start.
 * Raw sockets only (no fork under TSan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server_fixture.h"
#include "test.h"

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "hi");
}

/* Sleeps in the task (other requests keep flowing), then answers. */
static int nap(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    if (cio_sleep(cio_after(150)) < 0)
        return CIO_ECANCELED;
    return cio_resp_text(res, 200, cio_req_path(req));
}

static cio_app *mk_app(void)
{
    cio_app *app;
    CIO_ASSERT_RC(cio_app_new(&app), 0);
    CIO_ASSERT_RC(cio_app_get(app, "/", hello, NULL), 0);
    CIO_ASSERT_RC(cio_app_get(app, "/nap", nap, NULL), 0);
    CIO_ASSERT_RC(cio_app_use_metrics(app, "/metrics"), 0);
    return app;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {5, 0};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char GET[] =
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

struct client {
    struct srvfx *f;
    const char *upath; /* NULL: TCP */
    int n, ok;
};

static void *client_main(void *p)
{
    struct client *c = p;
    char out[1024];
    int closed;
    for (int i = 0; i < c->n; i++) {
        int fd = c->upath ? unix_connect(c->upath) : srvfx_connect(c->f->port);
        if (fd < 0)
            continue;
        if (srvfx_exchange(fd, GET, sizeof(GET) - 1, out, sizeof(out), 3000,
                           &closed) > 0 &&
            strncmp(out, "HTTP/1.1 200", 12) == 0)
            c->ok++;
        close(fd);
    }
    return NULL;
}

Test(server_mt, workers_share_tcp_and_unix_and_stats_read_anywhere)
{
    struct srvfx f = {0};
    struct cio_listen ls[3] = {{0}};
    char path[108], uaddr[120];
    snprintf(path, sizeof(path), "/tmp/cio-mt-%d.sock", (int)getpid());
    unlink(path);
    snprintf(uaddr, sizeof(uaddr), "unix:%s", path);
    ls[0].addr = "127.0.0.1:0";
    ls[1].addr = uaddr;
    f.opts.listens = ls;
    f.opts.workers = 3;
    f.app = mk_app();
    CIO_ASSERT_RC(srvfx_start(&f), 0);

    struct client cs[4] = {
        {&f, NULL, 40, 0},
        {&f, NULL, 40, 0},
        {&f, path, 40, 0},
        {&f, path, 40, 0},
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, client_main, &cs[i]), 0);
    /* stats from a thread that is no loop, while the workers count */
    struct cio_server_stats st;
    for (int i = 0; i < 50; i++) {
        cio_server_stats(f.srv, &st);
        usleep(1000);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(cs[i].ok, cs[i].n, "client %d: %d of %d", i, cs[i].ok,
                     cs[i].n);
    }
    /* the metrics page reads every worker's lag window */
    char out[16384];
    int closed;
    int fd = srvfx_connect(f.port);
    cr_assert_geq(fd, 0);
    static const char M[] =
        "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    srvfx_exchange(fd, M, sizeof(M) - 1, out, sizeof(out), 3000, &closed);
    close(fd);
    cr_expect(strstr(out, "corio_loop_lag_seconds{worker=\"2\"}") != NULL, "%s",
              out);
    cio_server_stats(f.srv, &st);
    cr_expect_geq(st.requests, 161);
    cr_expect_eq(srvfx_stop(&f), 0);
    cr_expect_neq(access(path, F_OK), 0, "socket file left behind");
}

struct napper {
    unsigned port;
    char out[1024];
};

static void *nap_main(void *p)
{
    struct napper *n = p;
    static const char R[] = "GET /nap HTTP/1.1\r\nHost: a\r\n\r\n";
    int closed;
    int fd = srvfx_connect(n->port);
    if (fd < 0)
        return NULL;
    srvfx_exchange(fd, R, sizeof(R) - 1, n->out, sizeof(n->out), 3000, &closed);
    close(fd);
    return NULL;
}

Test(server_mt, stop_from_another_thread_finishes_inflight_requests)
{
    struct srvfx f = {0};
    f.opts.workers = 2;
    f.app = mk_app();
    CIO_ASSERT_RC(srvfx_start(&f), 0);
    struct napper n[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        n[i] = (struct napper){.port = f.port};
        cr_assert_eq(pthread_create(&th[i], NULL, nap_main, &n[i]), 0);
    }
    struct cio_server_stats st;
    for (int i = 0; i < 500; i++) {
        cio_server_stats(f.srv, &st);
        if (st.inflight == 4)
            break;
        usleep(2000);
    }
    cr_expect_eq(st.inflight, 4);
    /* srvfx_stop: cio_server_stop from this thread, then join and free */
    cr_expect_eq(srvfx_stop(&f), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect(strncmp(n[i].out, "HTTP/1.1 200", 12) == 0, "%d: %s", i,
                  n[i].out);
        cr_expect(strstr(n[i].out, "Connection: close") != NULL, "%d: %s", i,
                  n[i].out);
    }
}

static void *stopper_main(void *p)
{
    cio_server_stop(p);
    return NULL;
}

Test(server_mt, stop_right_after_start_from_other_threads)
{
    for (int round = 0; round < 5; round++) {
        struct srvfx f = {0};
        f.opts.workers = 3;
        f.app = mk_app();
        CIO_ASSERT_RC(srvfx_start(&f), 0);
        /* two threads race to stop; exactly one stop takes effect */
        pthread_t a, b;
        cr_assert_eq(pthread_create(&a, NULL, stopper_main, f.srv), 0);
        cr_assert_eq(pthread_create(&b, NULL, stopper_main, f.srv), 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        cr_expect_eq(srvfx_stop(&f), 0);
    }
}

/* A regex route hammered through several workers: each worker thread
 * matches on its own copies of the route's regex (router.c: glibc's
 * regexec locks each regex_t), and every answer carries its own value. */
static int rx_item(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "item %s v%s",
                           cio_req_param(req, "id"), cio_req_param(req, "ver"));
}

struct rx_client {
    unsigned port;
    int id, n, ok;
};

static void *rx_client_main(void *p)
{
    struct rx_client *c = p;
    for (int i = 0; i < c->n; i++) {
        char req[128], want[64], out[1024];
        int closed;
        snprintf(req, sizeof(req),
                 "GET /v%d/items/%d.json HTTP/1.1\r\nHost: a\r\n"
                 "Connection: close\r\n\r\n",
                 c->id, i);
        snprintf(want, sizeof(want), "item %d v%d", i, c->id);
        int fd = srvfx_connect(c->port);
        if (fd < 0)
            continue;
        if (srvfx_exchange(fd, req, strlen(req), out, sizeof(out), 3000,
                           &closed) > 0 &&
            strncmp(out, "HTTP/1.1 200", 12) == 0 && strstr(out, want) != NULL)
            c->ok++;
        close(fd);
    }
    return NULL;
}

Test(server_mt, regex_route_from_several_workers)
{
    struct srvfx f = {0};
    f.opts.workers = 3;
    CIO_ASSERT_RC(cio_app_new(&f.app), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/v{ver:[0-9]+}/items/{id:[0-9]+}.json",
                              rx_item, NULL),
                  0);
    CIO_ASSERT_RC(srvfx_start(&f), 0);
    struct rx_client cs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        cs[i] = (struct rx_client){.port = f.port, .id = i + 1, .n = 40};
        cr_assert_eq(pthread_create(&th[i], NULL, rx_client_main, &cs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(cs[i].ok, cs[i].n, "client %d: %d of %d", i, cs[i].ok,
                     cs[i].n);
    }
    cr_expect_eq(srvfx_stop(&f), 0);
}
