/* SPDX-License-Identifier: MIT */
/*
 * Rate limiting: a token bucket per key (server/token_bucket.h), shared by
 * every worker behind one mutex (a per-worker table would multiply the
 * allowed rate by the number of workers). The critical section is one
 * hash lookup. An empty bucket is 429 with Retry-After in whole seconds,
 * rounded up so a client that waits that long finds a token.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/mw_util.h"
#include "server/server_int.h"
#include "server/token_bucket.h"

struct rate {
    pthread_mutex_t mu;
    struct cio__tb *tb;
    int (*key)(cio_req *req, char *key, size_t cap, void *ud);
    void *ud;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rate_mw(cio_req *req, cio_resp *res, void *ud)
{
    struct rate *r = ud;
    char key[256];
    int64_t wait_ms = 0;
    int rc;

    if (r->key != NULL) {
        rc = r->key(req, key, sizeof(key), r->ud);
        if (rc < 0)
            return rc;
        key[sizeof(key) - 1] = '\0';
    } else {
        cio__peer_host(cio_req_peer(req), key, sizeof(key));
    }
    pthread_mutex_lock(&r->mu);
    rc = cio__tb_take(r->tb, key, mono_ms(), &wait_ms);
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return cio_next(req, res);
    char secs[24];
    snprintf(secs, sizeof(secs), "%lld", (long long)((wait_ms + 999) / 1000));
    rc = cio_resp_error(res, 429, "rate limit exceeded");
    if (rc == 0)
        rc = cio_resp_set_header(res, "Retry-After", secs);
    return rc;
}

static void rate_free(void *p)
{
    struct rate *r = p;
    cio__tb_free(r->tb);
    pthread_mutex_destroy(&r->mu);
    cio__free(r);
}

int cio_app_use_rate_limit(cio_app *app, const struct cio_rate_limit_opts *opts)
{
    if (app == NULL || opts == NULL || !(opts->rate > 0) ||
        !(opts->burst >= 1) || opts->burst > 1e6)
        return cio__err(CIO_EINVAL,
                        "rate limit: rate > 0 and 1 <= burst <= 1e6");
    struct rate *r = cio__calloc(1, sizeof(*r));
    if (r == NULL)
        return CIO_ENOMEM;
    const struct cio__tb_opts to = {
        .rate = opts->rate,
        .burst = (uint32_t)opts->burst, /* whole tokens */
        .max_keys = opts->max_keys ? opts->max_keys : 100000,
    };
    int rc = cio__tb_new(&r->tb, &to);
    if (rc < 0) {
        cio__free(r);
        return rc;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->key = opts->key;
    r->ud = opts->ud;
    rc = cio__mw_keep(app, r, rate_free);
    if (rc < 0)
        return rc;
    return cio_app_use(app, rate_mw, r);
}
