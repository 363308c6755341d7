/* SPDX-License-Identifier: MIT */
/*
 * hello_server: the program bench/server/run measures. One worker, a real
 * router with two routes: "/" answers "Hello, World!" as text/plain and
 * "/json" a small JSON object. No middleware, no access log (the peers run
 * without one too). Public API only.
 *
 *   hello_server [host:port]      (default 127.0.0.1:8080)
 *
 * Prints the bound address on one line once listening.
 */
#include <stdio.h>

#include <corio/corio.h>

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello, World!");
}

static int json(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    /* A constant, as nginx's `return 200 '...'` is: this measures the
     * server, not a JSON encoder. */
    return cio_resp_json_str(res, 200, "{\"message\":\"Hello, World!\"}");
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
    if ((rc = cio_app_get(app, "/", hello, NULL)) < 0 ||
        (rc = cio_app_get(app, "/json", json, NULL)) < 0)
        goto fail_app;
    struct cio_server_opts opts = {
        .listen = argc > 1 ? argv[1] : "127.0.0.1:8080",
        .workers = 1,
        .timeouts = {.idle_ms = 300000}, /* as the peers' keepalive 300 s */
        .on_listen = on_listen,
    };
    rc = cio_serve(app, &opts);
fail_app:
    cio_app_free(app);
fail:
    if (rc < 0) {
        fprintf(stderr, "hello_server: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
