/* SPDX-License-Identifier: MIT */
/*
 * web_middleware: the onion (the seeds' logging_middleware and
 * auth_middleware):
 *
 *   logging: prints "-> GET /me" before and "<- 200 GET /me" after the rest
 *            of the chain, on stderr
 *   auth:    "Authorization: Bearer <token>" must name a known user, else
 *            401; the user is put in request state ("user"), which the
 *            handler reads (aiohttp's request['user'])
 *
 *   GET /me      -> "hello, alice"    (token "alice-token")
 *   GET /public  -> "public"          (no token needed: auth skips it)
 *
 *   web_middleware [host:port]   (default 127.0.0.1:8080)
 *
 * corio has built-ins for both (cio_app_use_access_log, cio_app_use_auth);
 * this example shows how middleware is written.
 */
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

struct account {
    const char *token;
    const char *name;
};

static const struct account accounts[] = {
    {"alice-token", "alice"},
    {"bob-token", "bob"},
};

static int logging_mw(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    fprintf(stderr, "-> %s %s\n", cio_req_method(req), cio_req_path(req));
    int rc = cio_next(req, res);
    fprintf(stderr, "<- %d %s %s\n", rc < 0 ? 500 : cio_resp_status(res),
            cio_req_method(req), cio_req_path(req));
    return rc;
}

static int auth_mw(cio_req *req, cio_resp *res, void *ud)
{
    const char *auth = cio_req_header(req, "Authorization");
    (void)ud;

    if (strcmp(cio_req_path(req), "/public") == 0)
        return cio_next(req, res);
    if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
        for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++) {
            if (strcmp(auth + 7, accounts[i].token) == 0) {
                /* A static string: nothing to free. */
                int rc = cio_req_set_state(req, "user",
                                           (void *)accounts[i].name, NULL);
                return rc < 0 ? rc : cio_next(req, res);
            }
        }
    }
    /* raise web.HTTPUnauthorized() */
    cio_resp_set_header(res, "WWW-Authenticate", "Bearer realm=\"example\"");
    return cio_resp_error(res, 401, "a valid bearer token is required");
}

static int me(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain; charset=utf-8", "hello, %s",
                           (const char *)cio_req_state(req, "user"));
}

static int public_page(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "public");
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
    /* The first added is the outermost: logging sees auth's 401 too. */
    if ((rc = cio_app_use(app, logging_mw, NULL)) == 0 &&
        (rc = cio_app_use(app, auth_mw, NULL)) == 0 &&
        (rc = cio_app_get(app, "/me", me, NULL)) == 0 &&
        (rc = cio_app_get(app, "/public", public_page, NULL)) == 0) {
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
        fprintf(stderr, "web_middleware: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
