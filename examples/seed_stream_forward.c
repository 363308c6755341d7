/* SPDX-License-Identifier: MIT */
/*
 * seed_stream_forward: the httpx docs' "Async Support", section
 * "Streaming responses", the "manual mode" example: a web endpoint that
 * sends a request with stream=True and forwards the upstream body to its
 * own client chunk by chunk, closing the upstream response at the end.
 *
 *   client = httpx.AsyncClient()
 *   async def home(request):
 *       req = client.build_request("GET", "https://www.example.com/")
 *       r = await client.send(req, stream=True)
 *       return StreamingResponse(r.aiter_text(), background=BackgroundTask(r.aclose))
 *
 *   seed_stream_forward [host:port [BASE_URL]]
 *       (defaults 127.0.0.1:8081, port 0 = any, and http://127.0.0.1:8080;
 *       the listen address comes first, as for the web_* servers)
 *
 * Every GET is forwarded to BASE_URL + the same path and query, e.g.
 * `curl localhost:8081/stream/3` streams corio serve's /stream/3. Prints
 * the bound address on one line, then serves until SIGINT/SIGTERM. The
 * client is made by a startup hook on the serving loop (a client belongs
 * to one loop), kept in the app's state and freed by a cleanup hook.
 */
#include <stdio.h>

#include <corio/corio.h>

static const char *upstream = "http://127.0.0.1:8080";

static void client_free(void *c)
{
    cio_client_free(c);
}

static int make_client(cio_app *app, void *ud)
{
    (void)ud;
    cio_client *client;
    int rc = cio_client_new(&client, NULL);
    if (rc == 0 &&
        (rc = cio_app_set_state(app, "client", client, client_free)) < 0)
        cio_client_free(client);
    return rc;
}

/* The client must be freed on its loop: the cleanup hook runs there, while
 * the app (and its state) outlives the loop. Replacing the state frees it. */
static int free_client(cio_app *app, void *ud)
{
    (void)ud;
    return cio_app_set_state(app, "client", NULL, NULL);
}

static int home(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    cio_client *client = cio_app_state(cio_req_app(req), "client");
    char url[1024], chunk[16384];
    cio_prepared *p;
    cio_response *r;
    ptrdiff_t n;

    snprintf(url, sizeof(url), "%s%s", upstream, cio_req_raw_path(req));
    /* client.build_request(...) then client.send(req, stream=True) */
    int rc = cio_prepare(client,
                         &(struct cio_request){.url = url, .stream = true}, &p);
    if (rc < 0)
        return cio_resp_error(res, 502, cio_last_error());
    rc = cio_send(client, p, &r);
    cio_prepared_free(p);
    if (rc < 0)
        return cio_resp_error(res, 502, cio_last_error());

    cio_resp_set_status(res, cio_response_status(r));
    const char *type = cio_response_header(r, "Content-Type");
    if (type != NULL)
        rc = cio_resp_set_header(res, "Content-Type", type);
    if (rc == 0)
        rc = cio_resp_prepare(res);
    while (rc == 0 && (n = cio_response_read(r, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            rc = (int)n; /* the upstream failed mid-body: cut ours short */
            break;
        }
        if ((rc = cio_resp_write(res, chunk, (size_t)n)) == 0)
            rc = cio_resp_flush(res);
    }
    cio_response_free(r); /* the BackgroundTask(r.aclose) */
    return rc;
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

    if (argc > 2)
        upstream = argv[2];
    if (rc == 0 && (rc = cio_app_on_startup(app, make_client, NULL)) == 0 &&
        (rc = cio_app_on_cleanup(app, free_client, NULL)) == 0 &&
        (rc = cio_app_get(app, "/{path:.*}", home, NULL)) == 0)
        rc = cio_serve(app, &(struct cio_server_opts){
                                .listen = argc > 1 ? argv[1] : "127.0.0.1:8081",
                                .workers = 1,
                                .on_listen = on_listen,
                            });
    cio_app_free(app);
    if (rc < 0) {
        fprintf(stderr, "seed_stream_forward: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return 1;
    }
    return 0;
}
