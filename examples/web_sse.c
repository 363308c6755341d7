/* SPDX-License-Identifier: MIT */
/*
 * web_sse: Server-Sent Events (the seeds' "支持 Server-Sent Events（实时推送）"
 * use of a streaming response):
 *
 *   GET /events?n=5&interval_ms=1000 -> text/event-stream:
 *       retry: 3000 on the first event, then for each i
 *       "event: tick", "id: <i>", "data: tick <i>", and a ": keep-alive"
 *       comment between events
 *
 * A browser's EventSource reconnects with Last-Event-ID; the stream then
 * resumes after that id.
 *
 *   web_sse [host:port]          (default 127.0.0.1:8080)
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

static int events(cio_req *req, cio_resp *res, void *ud)
{
    long n = query_long(req, "n", 5, 1000);
    long interval = query_long(req, "interval_ms", 1000, 60000);
    long first = 0;
    const char *last = cio_req_header(req, "Last-Event-ID");
    (void)ud;

    if (last != NULL)
        first = strtol(last, NULL, 10) + 1;
    int rc = cio_resp_sse_start(res);
    for (long i = first; rc == 0 && i < first + n; i++) {
        char id[24], data[32];
        snprintf(id, sizeof(id), "%ld", i);
        snprintf(data, sizeof(data), "tick %ld", i);
        const struct cio_sse_event ev = {
            .event = "tick",
            .id = id,
            .retry_ms = i == first ? 3000 : 0,
            .data = data,
        };
        rc = cio_resp_sse_send(res, &ev);
        if (rc == 0 && i + 1 < first + n) {
            rc = cio_sleep(cio_after(interval));
            if (rc == 0)
                rc = cio_resp_sse_comment(res, "keep-alive");
        }
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
    rc = cio_app_get(app, "/events", events, NULL);
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
        fprintf(stderr, "web_sse: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
