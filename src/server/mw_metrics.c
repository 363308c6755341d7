/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics: a middleware that counts every request in the
 * calling worker's shard (server/metrics.h: no lock on the hot path) and a
 * GET route that renders the sum of the shards. Loop lag is the server's
 * own per-worker sampler (server.c lag_loop, the worst over a window).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/metrics.h"
#include "server/mw_util.h"
#include "server/server_int.h"

#define MAX_SCRAPE (16u << 20)

struct mx {
    struct cio__metrics *m;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int metrics_mw(cio_req *req, cio_resp *res, void *ud)
{
    const struct mx *x = ud;
    uint64_t t0 = mono_ns();
    int rc = cio_next(req, res);
    int status = rc < 0 && !res->prepared ? 500 : cio_resp_status(res);

    cio__metrics_observe(x->m, cio_req_route_pattern(req), cio_req_method(req),
                         status, mono_ns() - t0);
    return rc;
}

static int metrics_page(cio_req *req, cio_resp *res, void *ud)
{
    const struct mx *x = ud;
    struct cio__buf b;
    struct cio__metrics_gauges g = {0};
    uint32_t lag[256];

    if (req->srv != NULL) {
        struct cio_server_stats st;
        cio_server_stats(req->srv, &st);
        g.have_conns = 1;
        g.conns_open = st.conns;
        g.nlag = req->srv->nworkers < 256 ? req->srv->nworkers : 256;
        for (unsigned i = 0; i < g.nlag; i++)
            lag[i] = cio__lag_worst(&req->srv->workers[i].lag);
        g.lag_us = lag;
    }
    cio__buf_init(&b, MAX_SCRAPE);
    int rc = cio__metrics_render(x->m, &b, &g);
    if (rc == 0)
        rc = cio_resp_body(res, b.base, b.len,
                           "text/plain; version=0.0.4; charset=utf-8");
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
                               stopping ? "{\"status\":\"stopping\"}"
                                        : "{\"status\":\"ok\"}");
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
