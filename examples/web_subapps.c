/* SPDX-License-Identifier: MIT */
/*
 * web_subapps: sub-applications mounted at a prefix, each with its own
 * routes and middleware (the seeds' add_subapp('/users', users_app) and
 * add_subapp('/admin', admin_app)):
 *
 *   GET /users/          -> "users: list"
 *   GET /users/{id}      -> "users: user <id>"   (route pattern "/{id}")
 *   GET /admin/dashboard -> "admin: dashboard"   (needs X-Admin-Token:
 *                           letmein, checked by admin_app's own middleware)
 *   GET /                -> "main app"
 *
 * The admin middleware runs only for paths under /admin.
 *
 *   web_subapps [host:port]      (default 127.0.0.1:8080)
 */
#include <stdio.h>
#include <string.h>

#include <corio/corio.h>

static int users_list(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "users: list");
}

static int users_get(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain; charset=utf-8",
                           "users: user %s", cio_req_param(req, "id"));
}

static int admin_dashboard(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "admin: dashboard");
}

static int admin_only(cio_req *req, cio_resp *res, void *ud)
{
    const char *tok = cio_req_header(req, "X-Admin-Token");
    (void)ud;

    if (tok == NULL || strcmp(tok, "letmein") != 0)
        return cio_resp_error(res, 403, "admins only");
    return cio_next(req, res);
}

static int root(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "main app");
}

static void on_listen(cio_server *srv, void *ud)
{
    (void)ud;
    printf("%s\n", cio_server_addr(srv, 0));
    fflush(stdout);
}

static int build(cio_app *main_app)
{
    cio_app *users_app, *admin_app;
    int rc;

    if ((rc = cio_app_get(main_app, "/", root, NULL)) < 0)
        return rc;

    if ((rc = cio_app_new(&users_app)) < 0)
        return rc;
    if ((rc = cio_app_get(users_app, "/", users_list, NULL)) < 0 ||
        (rc = cio_app_get(users_app, "/{id}", users_get, NULL)) < 0 ||
        (rc = cio_app_mount(main_app, "/users", users_app)) < 0) {
        cio_app_free(users_app);
        return rc;
    }

    if ((rc = cio_app_new(&admin_app)) < 0)
        return rc;
    if ((rc = cio_app_use(admin_app, admin_only, NULL)) < 0 ||
        (rc = cio_app_get(admin_app, "/dashboard", admin_dashboard, NULL)) <
            0 ||
        (rc = cio_app_mount(main_app, "/admin", admin_app)) < 0) {
        cio_app_free(admin_app);
        return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cio_app *app;
    int rc = cio_app_new(&app);

    if (rc < 0)
        goto fail;
    rc = build(app);
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
        fprintf(stderr, "web_subapps: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
