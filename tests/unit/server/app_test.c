/* SPDX-License-Identifier: MIT */
/* Application building without a server: route and mount validation,
 * url_for with prefixes, state fallback, hooks order, read-only once served. */
#include <string.h>

#include "test.h"

static int h(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "x");
}

Test(server_app, route_and_mount_errors)
{
    cio_app *app, *sub, *sub2;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_new(&sub), 0);
    cr_assert_eq(cio_app_new(&sub2), 0);
    CIO_EXPECT_RC(cio_app_get(app, "/a", h, NULL), 0);
    CIO_EXPECT_RC(cio_app_get(app, "/a", h, NULL), CIO_EINVAL); /* duplicate */
    CIO_EXPECT_RC(cio_app_post(app, "/a", h, NULL), 0); /* other method */
    CIO_EXPECT_RC(cio_app_get(app, "a", h, NULL), CIO_EINVAL);   /* no '/' */
    CIO_EXPECT_RC(cio_app_get(app, "/{x", h, NULL), CIO_EINVAL); /* syntax */
    CIO_EXPECT_RC(cio_app_route(app, "G T", "/b", h, NULL, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_route(app, "GET", "/n", h, NULL, "name"), 0);
    CIO_EXPECT_RC(cio_app_route(app, "GET", "/m", h, NULL, "name"), CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_mount(app, "/", sub), CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_mount(app, "/s/", sub), CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_mount(app, "/s", sub), 0);
    CIO_EXPECT_RC(cio_app_mount(app, "/s", sub2),
                  CIO_EINVAL); /* prefix taken */
    CIO_EXPECT_RC(cio_app_mount(app, "/t", sub),
                  CIO_EINVAL); /* already mounted */
    /* a name is unique across the whole tree */
    CIO_EXPECT_RC(cio_app_route(sub, "GET", "/q", h, NULL, "name"), CIO_EINVAL);
    cio_app_free(sub2);
    cio_app_free(app);
}

Test(server_app, url_for_with_prefixes_and_encoding)
{
    cio_app *app, *sub, *subsub;
    char buf[128];
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_new(&sub), 0);
    cr_assert_eq(cio_app_new(&subsub), 0);
    cr_assert_eq(cio_app_route(app, "GET", "/users/{id}", h, NULL, "user"), 0);
    cr_assert_eq(cio_app_route(subsub, "GET", "/f/{path:.+}", h, NULL, "file"),
                 0);
    cr_assert_eq(cio_app_mount(sub, "/b", subsub), 0);
    cr_assert_eq(cio_app_mount(app, "/a", sub), 0);
    struct cio_kv id[] = {{"id", "x y"}, {NULL, NULL}};
    cr_expect_eq(cio_app_url_for(app, "user", id, buf, sizeof(buf)), 12);
    cr_expect_str_eq(buf, "/users/x%20y");
    struct cio_kv p[] = {{"path", "d/e.txt"}, {NULL, NULL}};
    ptrdiff_t n = cio_app_url_for(app, "file", p, buf, sizeof(buf));
    cr_expect_eq(n, (ptrdiff_t)strlen("/a/b/f/d/e.txt"));
    cr_expect_str_eq(buf, "/a/b/f/d/e.txt");
    /* too small: the length needed */
    cr_expect_eq(cio_app_url_for(app, "file", p, buf, 4), n);
    CIO_EXPECT_RC(cio_app_url_for(app, "user", NULL, buf, sizeof(buf)),
                  CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_url_for(app, "none", id, buf, sizeof(buf)),
                  CIO_ENOENT);
    cio_app_free(app);
}

static int freed;
static void count_free(void *p)
{
    (void)p;
    freed++;
}

Test(server_app, state_falls_back_to_parents_and_is_freed)
{
    cio_app *app, *sub;
    static int a = 1, b = 2, c = 3;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_new(&sub), 0);
    cr_assert_eq(cio_app_mount(app, "/s", sub), 0);
    cr_assert_eq(cio_app_set_state(app, "db", &a, count_free), 0);
    cr_assert_eq(cio_app_set_state(app, "cfg", &b, count_free), 0);
    cr_assert_eq(cio_app_set_state(sub, "cfg", &c, count_free), 0);
    cr_expect_eq(cio_app_state(sub, "db"), &a);
    cr_expect_eq(cio_app_state(sub, "cfg"), &c);
    cr_expect_eq(cio_app_state(app, "cfg"), &b);
    cr_expect_null(cio_app_state(app, "nope"));
    cr_assert_eq(cio_app_set_state(app, "db", &c, count_free),
                 0); /* replaces */
    cr_expect_eq(freed, 1);
    cio_app_free(app);
    cr_expect_eq(freed, 4);
}

static char order[64];
static int hook(cio_app *app, void *ud)
{
    (void)app;
    strcat(order, ud);
    return 0;
}

static void *g_app;
static int serve_then_stop(void *arg)
{
    cio_app *app = arg;
    cio_server *srv;
    int rc = cio_server_new(
        &srv, app,
        &(struct cio_server_opts){.listen = "127.0.0.1:0", .workers = 1});
    if (rc < 0)
        return rc;
    /* read-only while served */
    if (cio_app_get(app, "/late", h, NULL) != CIO_EINVAL)
        return -1;
    cio_server_stop(srv);
    rc = cio_server_run(srv);
    cio_server_free(srv);
    return rc;
}

Test(server_app, hooks_run_in_order_around_a_run)
{
    cio_app *app, *sub;
    cr_assert_eq(cio_app_new(&app), 0);
    cr_assert_eq(cio_app_new(&sub), 0);
    g_app = app;
    cr_assert_eq(cio_app_get(app, "/", h, NULL), 0);
    cr_assert_eq(cio_app_on_startup(app, hook, "S1"), 0);
    cr_assert_eq(cio_app_on_startup(app, hook, "S2"), 0);
    cr_assert_eq(cio_app_on_startup(sub, hook, "s"), 0);
    cr_assert_eq(cio_app_on_shutdown(app, hook, "D"), 0);
    cr_assert_eq(cio_app_on_shutdown(sub, hook, "d"), 0);
    cr_assert_eq(cio_app_on_cleanup(app, hook, "C1"), 0);
    cr_assert_eq(cio_app_on_cleanup(app, hook, "C2"), 0);
    cr_assert_eq(cio_app_on_cleanup(sub, hook, "c"), 0);
    cr_assert_eq(cio_app_mount(app, "/s", sub), 0);
    CIO_EXPECT_RC(cio_test_run(serve_then_stop, app), 0);
    cr_expect_str_eq(order, "S1S2sdDcC2C1");
    /* after the server is freed the app can change again */
    CIO_EXPECT_RC(cio_app_get(app, "/late", h, NULL), 0);
    cio_app_free(app);
}
