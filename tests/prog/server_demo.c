/* SPDX-License-Identifier: MIT */
/*
 * A demo server for tests and measurements (public API only):
 *   server_demo [addr] [workers] [cert key]
 * Prints "listening <addr>" once bound; SIGINT/SIGTERM stop it gracefully.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <corio/corio.h>
#include <jansson.h>

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "Hello, World!");
}

static int user(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "application/json",
                           "{\"id\":\"%s\",\"name\":\"user\"}",
                           cio_req_param(req, "id"));
}

static int file(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_text(res, 200, cio_req_param(req, "filename"));
}

static int echo(cio_req *req, cio_resp *res, void *ud)
{
    const char *b;
    size_t n;
    (void)ud;
    int rc = cio_req_body(req, 0, &b, &n);
    if (rc < 0)
        return rc;
    return cio_resp_body(res, b, n, "application/octet-stream");
}

static int json_echo(cio_req *req, cio_resp *res, void *ud)
{
    json_t *j;
    (void)ud;
    if (cio_req_json(req, &j) < 0)
        return cio_resp_error(res, 400, cio_last_error());
    json_t *o = json_pack("{s:O,s:s}", "got", j, "method", cio_req_method(req));
    int rc = cio_resp_json(res, 200, o);
    json_decref(o);
    return rc;
}

static int form(cio_req *req, cio_resp *res, void *ud)
{
    const cio_params *p;
    (void)ud;
    if (cio_req_form(req, &p) < 0)
        return cio_resp_error(res, 400, cio_last_error());
    return cio_resp_printf(res, 200, "text/plain", "a=%s b=%s",
                           cio_params_get(p, "a"), cio_params_get(p, "b"));
}

static int upload(cio_req *req, cio_resp *res, void *ud)
{
    struct cio_part part;
    char out[4096];
    size_t o = 0;
    int rc;
    (void)ud;
    while ((rc = cio_req_part_next(req, &part)) == 1) {
        char buf[1024];
        ptrdiff_t n;
        uint64_t total = 0;
        while ((n = cio_req_part_read(req, buf, sizeof(buf))) > 0)
            total += (uint64_t)n;
        if (n < 0)
            return (int)n;
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s:%s:%llu\n",
                              part.name, part.filename ? part.filename : "-",
                              (unsigned long long)total);
        if (o >= sizeof(out))
            break;
    }
    if (rc < 0)
        return cio_resp_error(res, 400, cio_last_error());
    return cio_resp_text(res, 200, out);
}

static int slow(cio_req *req, cio_resp *res, void *ud)
{
    const char *ms = cio_req_query(req, "ms");
    (void)ud;
    int rc = cio_sleep(cio_after(ms ? atoi(ms) : 500));
    if (rc < 0)
        return rc;
    return cio_resp_text(res, 200, "slept");
}

static int stream(cio_req *req, cio_resp *res, void *ud)
{
    const char *n = cio_req_query(req, "n");
    int count = n ? atoi(n) : 5;
    (void)ud;
    cio_resp_set_header(res, "Content-Type", "text/plain");
    for (int i = 0; i < count; i++) {
        char line[32];
        int k = snprintf(line, sizeof(line), "line %d\n", i);
        int rc = cio_resp_write(res, line, (size_t)k);
        if (rc < 0)
            return rc;
    }
    return cio_resp_finish(res);
}

static int cookie(cio_req *req, cio_resp *res, void *ud)
{
    const char *v = cio_req_cookie(req, "session");
    (void)ud;
    cio_resp_set_cookie(
        res, "seen", "1",
        &(struct cio_cookie_opts){.path = "/", .http_only = true});
    return cio_resp_printf(res, 200, "text/plain", "session=%s",
                           v ? v : "none");
}

static int admin_index(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "admin %s user=%s",
                           cio_req_path(req),
                           (const char *)cio_req_state(req, "user"));
}

static int tag_mw(cio_req *req, cio_resp *res, void *ud)
{
    int rc = cio_next(req, res);
    cio_resp_set_header(res, "X-Tag", ud);
    return rc;
}

static int auth_mw(cio_req *req, cio_resp *res, void *ud)
{
    const char *a = cio_req_header(req, "authorization");
    (void)ud;
    if (a == NULL || strcmp(a, "Bearer secret") != 0)
        return cio_resp_error(res, 401, "no token");
    cio_req_set_state(req, "user", "alice", NULL);
    return cio_next(req, res);
}

static void on_listen(cio_server *srv, void *ud)
{
    static atomic_int once;
    (void)ud;
    if (atomic_fetch_add(&once, 1) == 0) {
        printf("listening %s\n", cio_server_addr(srv, 0));
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    cio_app *app, *admin;
    struct cio_listen ls[2] = {{0}};
    int rc;

    cio_app_new(&app);
    cio_app_new(&admin);
    cio_app_get(app, "/", hello, NULL);
    cio_app_route(app, "GET", "/users/{id}", user, NULL, "user");
    cio_app_get(app, "/files/{filename:.+}", file, NULL);
    cio_app_post(app, "/echo", echo, NULL);
    cio_app_put(app, "/echo", echo, NULL);
    cio_app_post(app, "/json", json_echo, NULL);
    cio_app_post(app, "/form", form, NULL);
    cio_app_post(app, "/upload", upload, NULL);
    cio_app_get(app, "/slow", slow, NULL);
    cio_app_get(app, "/stream", stream, NULL);
    cio_app_get(app, "/cookie", cookie, NULL);
    cio_app_use(app, tag_mw, "root");
    cio_app_get(admin, "/", admin_index, NULL);
    cio_app_get(admin, "/panel", admin_index, NULL);
    cio_app_use(admin, auth_mw, NULL);
    cio_app_mount(app, "/admin", admin);

    ls[0].addr = argc > 1 ? argv[1] : "127.0.0.1:0";
    if (argc > 4) {
        ls[0].tls_cert = argv[3];
        ls[0].tls_key = argv[4];
    }
    rc = cio_serve(app, &(struct cio_server_opts){
                            .listens = ls,
                            .workers = argc > 2 ? (unsigned)atoi(argv[2]) : 1,
                            .on_listen = on_listen,
                            .timeouts = {.idle_ms = 120000},
                        });
    cio_app_free(app);
    if (rc < 0)
        fprintf(stderr, "serve: %s: %s\n", cio_strerror(rc), cio_last_error());
    return rc < 0 ? 1 : 0;
}
