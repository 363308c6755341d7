/* SPDX-License-Identifier: MIT */
/*
 * web_download: a file download with Range and conditional requests (the
 * seeds' web.FileResponse with Content-Disposition: attachment):
 *
 *   GET /download  -> the file, "attachment; filename=report.txt";
 *                     Range: bytes=a-b gives 206 (resumable downloads),
 *                     If-None-Match with its ETag gives 304; sendfile
 *
 *   web_download [host:port] [file]   (default 127.0.0.1:8080)
 *
 * Without a file argument, a startup hook writes a demo file (the alphabet
 * 1000 times, 26000 bytes) to a temp file that a cleanup hook removes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>

struct download {
    char path[256];
    int owned; /* written by make_demo_file: removed at cleanup */
};

static int make_demo_file(cio_app *app, void *ud)
{
    struct download *d = ud;
    (void)app;

    if (d->path[0] != '\0')
        return 0;
    const char *dir = getenv("TMPDIR");
    snprintf(d->path, sizeof(d->path), "%s/corio-report-XXXXXX",
             dir ? dir : "/tmp");
    int fd = mkstemp(d->path);
    if (fd < 0) {
        d->path[0] = '\0';
        return CIO_EPERM;
    }
    d->owned = 1;
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 1000; i++) {
        if (write(fd, abc, 26) != 26) {
            close(fd);
            return CIO_EPERM;
        }
    }
    close(fd);
    return 0;
}

static int remove_demo_file(cio_app *app, void *ud)
{
    struct download *d = ud;
    (void)app;

    if (d->owned)
        unlink(d->path);
    return 0;
}

static int download(cio_req *req, cio_resp *res, void *ud)
{
    struct download *d = ud;
    const struct cio_file_opts opts = {.content_type =
                                           "text/plain; charset=utf-8"};

    int rc = cio_resp_set_header(res, "Content-Disposition",
                                 "attachment; filename=\"report.txt\"");
    return rc < 0 ? rc : cio_resp_file(req, res, d->path, &opts);
}

static void on_listen(cio_server *srv, void *ud)
{
    (void)ud;
    printf("%s\n", cio_server_addr(srv, 0));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static struct download d;
    cio_app *app;
    int rc;

    if (argc > 2)
        snprintf(d.path, sizeof(d.path), "%s", argv[2]);
    rc = cio_app_new(&app);
    if (rc < 0)
        goto fail;
    if ((rc = cio_app_on_startup(app, make_demo_file, &d)) == 0 &&
        (rc = cio_app_on_cleanup(app, remove_demo_file, &d)) == 0 &&
        (rc = cio_app_get(app, "/download", download, &d)) == 0) {
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
        fprintf(stderr, "web_download: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
