/* SPDX-License-Identifier: MIT */
/*
 * web_lifecycle: startup and shutdown hooks with app state (the seeds'
 * on_startup init_db / on_shutdown close_db with app['db']):
 *
 *   async def init_db(app):  app['db'] = await asyncpg.create_pool(dsn)
 *   async def close_db(app): await app['db'].close()
 *
 * The "database pool" is a stand-in: a semaphore of POOL_SIZE connections
 * and a 20 ms sleep per query, so at most POOL_SIZE queries run at once
 * and the others wait their turn without blocking the loop.
 *
 *   GET /query -> {"rows": [{"id": 1, "name": "Ada Lovelace"}], "conn": k}
 *
 * stderr shows "db: pool opened", "db: pool closed" and "db: cleanup" as
 * the hooks run (SIGINT or SIGTERM starts the graceful stop).
 *
 *   web_lifecycle [host:port]    (default 127.0.0.1:8080)
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>

#define POOL_SIZE 4

struct pool {
    cio_sem *free_conns; /* one permit per idle connection */
    unsigned next;       /* round-robin "connection" number, for show */
    int closed;          /* set by close_db: queries then fail with 503 */
};

static void pool_free(void *p)
{
    struct pool *pool = p;
    cio_sem_free(pool->free_conns);
    free(pool);
}

static int init_db(cio_app *app, void *ud)
{
    struct pool *pool = calloc(1, sizeof(*pool));
    (void)ud;

    if (pool == NULL)
        return CIO_ENOMEM;
    int rc = cio_sem_new(&pool->free_conns, POOL_SIZE);
    if (rc < 0) {
        free(pool);
        return rc;
    }
    rc = cio_app_set_state(app, "db", pool, pool_free);
    if (rc < 0) {
        pool_free(pool);
        return rc;
    }
    fprintf(stderr, "db: pool opened (%d connections)\n", POOL_SIZE);
    return 0;
}

static int close_db(cio_app *app, void *ud)
{
    struct pool *pool = cio_app_state(app, "db");
    (void)ud;

    if (pool != NULL)
        pool->closed = 1;
    fprintf(stderr, "db: pool closed\n");
    return 0;
}

static int cleanup(cio_app *app, void *ud)
{
    (void)app;
    (void)ud;
    fprintf(stderr, "db: cleanup\n");
    return 0;
}

static int query(cio_req *req, cio_resp *res, void *ud)
{
    struct pool *pool = cio_app_state(cio_req_app(req), "db");
    (void)ud;

    if (pool == NULL || pool->closed)
        return cio_resp_error(res, 503, "the database is closed");
    /* Waiting for a free connection is bounded like any other wait. */
    int rc = cio_sem_acquire(pool->free_conns, cio_after(5000));
    if (rc == CIO_ETIMEDOUT)
        return cio_resp_error(res, 503, "no database connection free");
    if (rc < 0)
        return rc;
    unsigned conn = pool->next++ % POOL_SIZE;
    rc = cio_sleep(cio_after(20)); /* the "query" */
    cio_sem_release(pool->free_conns);
    if (rc < 0)
        return rc;
    return cio_resp_printf(
        res, 200, "application/json",
        "{\"rows\": [{\"id\": 1, \"name\": \"Ada Lovelace\"}], "
        "\"conn\": %u}",
        conn);
}

static void on_listen(cio_server *srv, void *ud)
{
    (void)ud;
    printf("%s\n", cio_server_addr(srv, 0));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    cio_app *app;
    int rc = cio_app_new(&app);

    if (rc < 0)
        goto fail;
    if ((rc = cio_app_on_startup(app, init_db, NULL)) == 0 &&
        (rc = cio_app_on_shutdown(app, close_db, NULL)) == 0 &&
        (rc = cio_app_on_cleanup(app, cleanup, NULL)) == 0 &&
        (rc = cio_app_get(app, "/query", query, NULL)) == 0) {
        struct cio_server_opts opts = {
            .listen = argc > 1 ? argv[1] : "127.0.0.1:8080",
            .workers = 1,
            .on_listen = on_listen,
        };
        rc = cio_serve(app, &opts);
    }
    cio_app_free(app); /* frees the pool (its state free function) */
fail:
    if (rc < 0) {
        fprintf(stderr, "web_lifecycle: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
