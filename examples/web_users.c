/* SPDX-License-Identifier: MIT */
/*
 * web_users: dynamic routes and the request object (the seeds'
 * "Request 对象详解" and "标准 JSON 响应"):
 *
 *   GET /users/{id}  -> {"user_id": id, "query": {...}, "agent": User-Agent}
 *   GET /profile     -> {"name": "Alice", "age": 30} with X-API-Version: 1.0
 *
 *   web_users [host:port]        (default 127.0.0.1:8080)
 *
 * JSON is built with jansson (the examples build it when corio has it).
 */
#include <stdio.h>

#include <jansson.h>

#include <corio/corio.h>

static int user_handler(cio_req *req, cio_resp *res, void *ud)
{
    const cio_params *q;
    (void)ud;

    int rc = cio_req_query_params(req, &q);
    if (rc < 0)
        return rc;
    json_t *query = json_object();
    for (size_t i = 0; query != NULL && i < cio_params_count(q); i++) {
        /* Like Python's dict(request.query): the last duplicate wins. */
        json_object_set_new(query, cio_params_name(q, i).ptr,
                            json_string(cio_params_value(q, i).ptr));
    }
    const char *agent = cio_req_header(req, "User-Agent");
    json_t *v =
        json_pack("{s:s, s:o*, s:s}", "user_id", cio_req_param(req, "id"),
                  "query", query, "agent", agent ? agent : "Unknown");
    if (v == NULL)
        return CIO_ENOMEM;
    rc = cio_resp_json(res, 200, v);
    json_decref(v);
    return rc;
}

static int profile(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    int rc = cio_resp_json_str(res, 200, "{\"name\": \"Alice\", \"age\": 30}");
    if (rc == 0)
        rc = cio_resp_set_header(res, "X-API-Version", "1.0");
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

    if (rc < 0)
        goto fail;
    if ((rc = cio_app_get(app, "/users/{id}", user_handler, NULL)) == 0 &&
        (rc = cio_app_get(app, "/profile", profile, NULL)) == 0) {
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
        fprintf(stderr, "web_users: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
