/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: a middleware that counts every request in the
 * calling worker's shard (server/metrics.h: no lock on the hot path) and a
 * GET route that renders the sum of the shards. Loop lag comes from one
 * small task per worker, started by the first request the worker serves:
 * it waits for the worker's stop event with a deadline of LAG_TICK_MS and
 * records how late the timeout fired; it ends at once when the worker
 * begins a graceful stop, so it never holds the stop up.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/metrics.h"
#include "server/mw_util.h"
#include "server/server_int.h"

#define LAG_TICK_MS 250
#define MAX_SCRAPE (16u << 20)

struct mx {
    struct cio__metrics *m;
};

struct lag {
    struct cio__metrics *m;
    struct cio__worker *w;
};

/* The worker whose lag task runs on this thread (NULL = none). */
static _Thread_local struct cio__worker *lag_worker;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lag_task(void *arg)
{
    struct lag l = *(struct lag *)arg;
    cio__free(arg);
    while (!l.w->stopping) {
        uint64_t t0 = mono_ns();
        int rc = cio_event_wait(l.w->stop_ev, cio_after(LAG_TICK_MS));
        if (rc != CIO_ETIMEDOUT)
            break; /* the stop event, or canceled */
        uint64_t late_ns = mono_ns() - t0;
        /* The loop clock has millisecond steps: up to 1 ms of "lag" is the
         * timer's own granularity. */
        uint64_t tick_ns = (uint64_t)LAG_TICK_MS * 1000000u;
        uint64_t lag_us = late_ns > tick_ns ? (late_ns - tick_ns) / 1000 : 0;
        cio__metrics_set_lag(l.m, (int64_t)(mono_ns() / 1000000u), lag_us);
    }
    lag_worker = NULL;
}

/* Starts the lag task of the worker running this request, once. */
static void lag_start(struct cio__metrics *m, cio_req *req)
{
    struct cio_server *srv = req->srv;
    cio_loop *loop = cio_loop_current();
    struct cio__worker *mine = NULL;

    if (srv == NULL)
        return;
    /* Other workers publish their loop pointers under stop_mu; this
     * worker's conns and stop_ev were set by this very thread. */
    pthread_mutex_lock(&srv->stop_mu);
    for (unsigned i = 0; i < srv->nworkers && mine == NULL; i++)
        if (srv->workers[i].loop == loop)
            mine = &srv->workers[i];
    pthread_mutex_unlock(&srv->stop_mu);
    if (mine == NULL || mine->conns == NULL || mine->stop_ev == NULL || mine->stopping ||
        lag_worker == mine)
        return;
    struct lag *l = cio__malloc(sizeof(*l));
    if (l == NULL)
        return;
    *l = (struct lag){m, mine};
    if (cio_go(mine->conns, lag_task, l) < 0) {
        cio__free(l);
        return;
    }
    lag_worker = mine;
}

static int metrics_mw(cio_req *req, cio_resp *res, void *ud)
{
    const struct mx *x = ud;
    uint64_t t0 = mono_ns();
    int rc = cio_next(req, res);
    int status = rc < 0 && !res->prepared ? 500 : cio_resp_status(res);

    cio__metrics_observe(x->m, cio_req_route_pattern(req), cio_req_method(req), status,
                         mono_ns() - t0);
    if (lag_worker == NULL || lag_worker->srv != req->srv || lag_worker->stopping)
        lag_start(x->m, req);
    return rc;
}

static int metrics_page(cio_req *req, cio_resp *res, void *ud)
{
    const struct mx *x = ud;
    struct cio__buf b;
    struct cio__metrics_gauges g = {0};

    if (req->srv != NULL) {
        struct cio_server_stats st;
        cio_server_stats(req->srv, &st);
        g.have_conns = 1;
        g.conns_open = st.conns;
    }
    cio__buf_init(&b, MAX_SCRAPE);
    int rc = cio__metrics_render(x->m, &b, &g);
    if (rc == 0)
        rc = cio_resp_body(res, b.base, b.len, "text/plain; version=0.0.4; charset=utf-8");
    cio__buf_fini(&b);
    if (rc == 0)
        cio_resp_set_status(res, 200);
    return rc;
}

static void mx_free(void *p)
{
    struct mx *x = p;
    cio__metrics_free(x->m);
    cio__free(x);
}

int cio_app_use_metrics(cio_app *app, const char *path)
{
    if (app == NULL || path == NULL || path[0] != '/')
        return CIO_EINVAL;
    struct mx *x = cio__calloc(1, sizeof(*x));
    if (x == NULL)
        return CIO_ENOMEM;
    int rc = cio__metrics_new(&x->m);
    if (rc < 0) {
        cio__free(x);
        return rc;
    }
    rc = cio__mw_keep(app, x, mx_free);
    if (rc < 0)
        return rc;
    rc = cio_app_route(app, "GET", path, metrics_page, x, NULL);
    return rc < 0 ? rc : cio_app_use(app, metrics_mw, x);
}

/* ------------------------------------------------------------ health */

static int health(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    /* srv->stopping is set by cio_server_stop before anything else: a
     * load balancer polling here sees 503 for the whole grace period. */
    int stopping = req->srv != NULL && atomic_load(&req->srv->stopping);
    int rc = cio_resp_json_str(res, stopping ? 503 : 200,
                               stopping ? "{\"status\":\"stopping\"}" : "{\"status\":\"ok\"}");
    if (rc == 0)
        rc = cio_resp_set_header(res, "Cache-Control", "no-store");
    return rc;
}

int cio_app_health(cio_app *app, const char *path)
{
    if (app == NULL || path == NULL || path[0] != '/')
        return CIO_EINVAL;
    return cio_app_route(app, "GET", path, health, NULL, NULL);
}
