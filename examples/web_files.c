/* SPDX-License-Identifier: MIT */
/*
 * web_files: a regex route parameter that spans segments (the seeds'
 * web.get('/files/{filename:.+}', file_handler)):
 *
 *   GET /files/docs/readme.txt  -> "file: docs/readme.txt"
 *
 * The captured value is percent-decoded ("/files/a%20b" gives "a b"). This
 * only echoes the name: to serve files from a directory, use
 * cio_app_static, which cannot escape its root.
 *
 *   web_files [host:port]        (default 127.0.0.1:8080)
 */
#include <stdio.h>

#include <corio/corio.h>

static int file_handler(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain; charset=utf-8", "file: %s",
                           cio_req_param(req, "filename"));
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
    rc = cio_app_get(app, "/files/{filename:.+}", file_handler, NULL);
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
        fprintf(stderr, "web_files: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
