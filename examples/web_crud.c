/* SPDX-License-Identifier: MIT */
/*
 * web_crud: a RESTful route table (the seeds' RouteTableDef):
 *
 *   GET    /api/users        -> [{"id": 1, "name": "Ada"}, ...]
 *   POST   /api/users        {"name": "Ada"} -> 201 {"id": 1, "name": "Ada"}
 *   GET    /api/users/{id}   -> {"id": 1, "name": "Ada"} or 404
 *   PUT    /api/users/{id}   {"name": "Grace"} -> 200 the updated user
 *   DELETE /api/users/{id}   -> 204
 *
 * Any other method on those paths gets 405 with Allow (the router does it).
 * The users live in memory, in app state ("store"). One worker: every
 * handler runs on the same loop and a task is only switched at a blocking
 * call, so the store needs no lock.
 *
 *   web_crud [host:port]         (default 127.0.0.1:8080)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <corio/corio.h>

#define MAX_USERS 256

struct user {
    long id; /* 0 = free slot */
    char name[64];
};

struct store {
    struct user users[MAX_USERS];
    long next_id;
};

static struct store *store_of(cio_req *req)
{
    return cio_app_state(cio_req_app(req), "store");
}

static struct user *find(cio_req *req)
{
    struct store *st = store_of(req);
    char *end;
    long id = strtol(cio_req_param(req, "id"), &end, 10);

    if (*end != '\0' || id <= 0)
        return NULL;
    for (size_t i = 0; i < MAX_USERS; i++)
        if (st->users[i].id == id)
            return &st->users[i];
    return NULL;
}

static int send_user(cio_resp *res, int status, const struct user *u)
{
    json_t *v =
        json_pack("{s:I, s:s}", "id", (json_int_t)u->id, "name", u->name);
    if (v == NULL)
        return CIO_ENOMEM;
    int rc = cio_resp_json(res, status, v);
    json_decref(v);
    return rc;
}

/* The "name" of a JSON body {"name": "..."}; answers 400 itself if bad. */
static const char *body_name(cio_req *req, cio_resp *res)
{
    json_t *body;
    const char *name = NULL;

    if (cio_req_json(req, &body) < 0) {
        cio_resp_error(res, 400, "expected a JSON body");
        return NULL;
    }
    if (json_unpack(body, "{s:s}", "name", &name) < 0 || name[0] == '\0' ||
        strlen(name) >= sizeof(((struct user *)0)->name)) {
        cio_resp_error(res, 400, "\"name\": a string of 1 to 63 bytes");
        return NULL;
    }
    return name;
}

static int list_users(cio_req *req, cio_resp *res, void *ud)
{
    struct store *st = store_of(req);
    json_t *arr = json_array();
    (void)ud;

    if (arr == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < MAX_USERS; i++) {
        const struct user *u = &st->users[i];
        if (u->id != 0)
            json_array_append_new(arr, json_pack("{s:I, s:s}", "id",
                                                 (json_int_t)u->id, "name",
                                                 u->name));
    }
    int rc = cio_resp_json(res, 200, arr);
    json_decref(arr);
    return rc;
}

static int create_user(cio_req *req, cio_resp *res, void *ud)
{
    struct store *st = store_of(req);
    const char *name = body_name(req, res);
    (void)ud;

    if (name == NULL)
        return 0; /* the 400 is set */
    for (size_t i = 0; i < MAX_USERS; i++) {
        struct user *u = &st->users[i];
        if (u->id == 0) {
            u->id = ++st->next_id;
            snprintf(u->name, sizeof(u->name), "%s", name);
            return send_user(res, 201, u);
        }
    }
    return cio_resp_error(res, 507, "the store is full");
}

static int get_user(cio_req *req, cio_resp *res, void *ud)
{
    const struct user *u = find(req);
    (void)ud;
    return u ? send_user(res, 200, u)
             : cio_resp_error(res, 404, "no such user");
}

static int update_user(cio_req *req, cio_resp *res, void *ud)
{
    struct user *u = find(req);
    (void)ud;

    if (u == NULL)
        return cio_resp_error(res, 404, "no such user");
    const char *name = body_name(req, res);
    if (name == NULL)
        return 0;
    snprintf(u->name, sizeof(u->name), "%s", name);
    return send_user(res, 200, u);
}

static int delete_user(cio_req *req, cio_resp *res, void *ud)
{
    struct user *u = find(req);
    (void)ud;

    if (u == NULL)
        return cio_resp_error(res, 404, "no such user");
    u->id = 0;
    cio_resp_set_status(res, 204);
    return 0;
}

/* routes = web.RouteTableDef(); @routes.get('/api/users') ... */
static const struct cio_route routes[] = {
    {"GET", "/api/users", list_users, NULL, "users"},
    {"POST", "/api/users", create_user, NULL, NULL},
    {"GET", "/api/users/{id}", get_user, NULL, "user"},
    {"PUT", "/api/users/{id}", update_user, NULL, NULL},
    {"DELETE", "/api/users/{id}", delete_user, NULL, NULL},
    {0},
};

static void on_listen(cio_server *srv, void *ud)
{
    (void)ud;
    printf("%s\n", cio_server_addr(srv, 0));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    cio_app *app;
    struct store *st;
    int rc = cio_app_new(&app);

    if (rc < 0)
        goto fail;
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        rc = CIO_ENOMEM;
        goto fail_app;
    }
    rc = cio_app_set_state(app, "store", st, free);
    if (rc < 0) {
        free(st);
        goto fail_app;
    }
    rc = cio_app_add_routes(app, routes);
    if (rc == 0) {
        struct cio_server_opts opts = {
            .listen = argc > 1 ? argv[1] : "127.0.0.1:8080",
            .workers = 1,
            .on_listen = on_listen,
        };
        rc = cio_serve(app, &opts);
    }
fail_app:
    cio_app_free(app);
fail:
    if (rc < 0) {
        fprintf(stderr, "web_crud: %s\n", cio_strerror(rc));
        return 1;
    }
    return 0;
}
