/* SPDX-License-Identifier: MIT */
/*
 * web_stream: a streaming response (the seeds' web.StreamResponse):
 *
 *   resp = web.StreamResponse(headers={'Content-Type': 'text/plain'})
 *   await resp.prepare(request)
 *   for i in range(10):
 *       await resp.write(f"Chunk {i}\n".encode())
 *       await asyncio.sleep(1)
 *
 *   GET /stream?n=10&delay_ms=1000 -> "Chunk 0\n" ... "Chunk 9\n", chunked
 *
 * Each write waits while the client is slow (back-pressure); the sleep
 * only parks this request's task.
 *
 *   web_stream [host:port]       (default 127.0.0.1:8080)
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>

static long query_long(cio_req *req, const char *name, long dflt, long max)
{
    const char *s = cio_req_query(req, name);
    char *end;

    if (s == NULL)
        return dflt;
    long v = strtol(s, &end, 10);
    return *end != '\0' || v < 0 ? dflt : v > max ? max : v;
}

static int stream_handler(cio_req *req, cio_resp *res, void *ud)
{
    long n = query_long(req, "n", 10, 1000);
    long delay = query_long(req, "delay_ms", 1000, 10000);
    (void)ud;

    int rc =
        cio_resp_set_header(res, "Content-Type", "text/plain; charset=utf-8");
    if (rc == 0)
        rc = cio_resp_prepare(res);
    for (long i = 0; rc == 0 && i < n; i++) {
        char line[32];
        int len = snprintf(line, sizeof(line), "Chunk %ld\n", i);
        rc = cio_resp_write(res, line, (size_t)len);
        if (rc == 0 && i + 1 < n)
            rc = cio_sleep(cio_after(delay));
    }
    return rc < 0 ? rc : cio_resp_finish(res);
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
    rc = cio_app_get(app, "/stream", stream_handler, NULL);
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
        fprintf(stderr, "web_stream: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
