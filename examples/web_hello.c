/* SPDX-License-Identifier: MIT */
/*
 * web_hello: the smallest server (the seeds' "最小可用服务示例"):
 *
 *   app = web.Application()
 *   app.add_routes([web.get('/', hello)])
 *   web.run_app(app, host='127.0.0.1', port=8080)
 *
 *   web_hello [host:port]        (default 127.0.0.1:8080; port 0 = any)
 *
 * Prints the bound address on one line, then serves until SIGINT/SIGTERM.
 */
#include <stdio.h>

#include <corio/corio.h>

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello, corio!");
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
    rc = cio_app_get(app, "/", hello, NULL);
    if (rc == 0) {
        struct cio_server_opts opts = {
            .listen = argc > 1 ? argv[1] : "127.0.0.1:8080",
            .workers = 1,
            .on_listen = on_listen,
        };
        rc = cio_serve(app, &opts);
    }
    cio_app_free(app);
fail:
    if (rc < 0) {
        fprintf(stderr, "web_hello: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
