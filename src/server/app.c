/* SPDX-License-Identifier: MIT */
/*
 * Applications: routes, middleware, sub-apps, hooks, state; and their
 * flattening into one compiled router at server start (cio__dispatch).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/server_int.h"

/* Grows a vector of elements of size sz to hold one more. */
static int vec_grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = cio__realloc(*v, nc * sz);
    if (nv == NULL)
        return CIO_ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

int cio_app_new(cio_app **out)
{
    cio_app *app = cio__calloc(1, sizeof(*app));
    if (app == NULL)
        return CIO_ENOMEM;
    *out = app;
    return 0;
}

void cio_app_free(cio_app *app)
{
    if (app == NULL)
        return;
    for (size_t i = 0; i < app->nroutes; i++) {
        cio__free(app->routes[i].method);
        cio__free(app->routes[i].pattern);
        cio__free(app->routes[i].name);
    }
    cio__free(app->routes);
    cio__free(app->mws);
    for (size_t i = 0; i < app->nmounts; i++) {
        cio__free(app->mounts[i].prefix);
        cio_app_free(app->mounts[i].sub);
    }
    cio__free(app->mounts);
    for (int k = 0; k < 3; k++)
        cio__free(app->hooks[k]);
    struct cio__state *s = app->state;
    while (s != NULL) {
        struct cio__state *next = s->next;
        if (s->free_fn != NULL)
            s->free_fn(s->value);
        cio__free(s->key);
        cio__free(s);
        s = next;
    }
    cio__free(app);
}

static const char *name_taken(const cio_app *app, const char *name)
{
    for (size_t i = 0; i < app->nroutes; i++)
        if (app->routes[i].name != NULL &&
            strcmp(app->routes[i].name, name) == 0)
            return name;
    for (size_t i = 0; i < app->nmounts; i++)
        if (name_taken(app->mounts[i].sub, name) != NULL)
            return name;
    return NULL;
}

static int valid_method(const char *m)
{
    if (strcmp(m, "*") == 0)
        return 1;
    return cio_is_token(cio_str_c(m));
}

int cio_app_route(cio_app *app, const char *method, const char *pattern,
                  cio_handler fn, void *ud, const char *name)
{
    struct cio__app_route r = {0};

    if (app == NULL || method == NULL || pattern == NULL || fn == NULL)
        return CIO_EINVAL;
    if (app->serving)
        return cio__err(CIO_EINVAL, "app is serving: routes are read-only");
    if (!valid_method(method))
        return cio__err(CIO_EINVAL, "method \"%.40s\" is not a token", method);
    if (pattern[0] != '/')
        return cio__err(CIO_EINVAL,
                        "route pattern \"%.60s\" must start with '/'", pattern);
    for (size_t i = 0; i < app->nroutes; i++)
        if (strcmp(app->routes[i].method, method) == 0 &&
            strcmp(app->routes[i].pattern, pattern) == 0)
            return cio__err(CIO_EINVAL, "duplicate route %s %s", method,
                            pattern);
    if (name != NULL) {
        const cio_app *root = app;
        while (root->parent != NULL)
            root = root->parent;
        if (name_taken(root, name) != NULL)
            return cio__err(CIO_EINVAL, "duplicate route name \"%.60s\"", name);
    }
    /* Validate the pattern now, so the error surfaces at the call. */
    {
        struct cio__router *tmp;
        int rc = cio__router_new(&tmp);
        if (rc < 0)
            return rc;
        rc = cio__router_add(tmp, method, pattern, app);
        if (rc == 0)
            rc = cio__router_compile(tmp);
        cio__router_free(tmp);
        if (rc < 0)
            return rc;
    }
    if (vec_grow((void **)&app->routes, &app->caproutes, app->nroutes,
                 sizeof(r)) < 0)
        return CIO_ENOMEM;
    r.method = cio__strdup(method);
    r.pattern = cio__strdup(pattern);
    r.name = name != NULL ? cio__strdup(name) : NULL;
    if (r.method == NULL || r.pattern == NULL ||
        (name != NULL && r.name == NULL)) {
        cio__free(r.method);
        cio__free(r.pattern);
        cio__free(r.name);
        return CIO_ENOMEM;
    }
    r.fn = fn;
    r.ud = ud;
    app->routes[app->nroutes++] = r;
    return 0;
}

int cio_app_get(cio_app *app, const char *pattern, cio_handler fn, void *ud)
{
    return cio_app_route(app, "GET", pattern, fn, ud, NULL);
}

int cio_app_post(cio_app *app, const char *pattern, cio_handler fn, void *ud)
{
    return cio_app_route(app, "POST", pattern, fn, ud, NULL);
}

int cio_app_put(cio_app *app, const char *pattern, cio_handler fn, void *ud)
{
    return cio_app_route(app, "PUT", pattern, fn, ud, NULL);
}

int cio_app_patch(cio_app *app, const char *pattern, cio_handler fn, void *ud)
{
    return cio_app_route(app, "PATCH", pattern, fn, ud, NULL);
}

int cio_app_delete(cio_app *app, const char *pattern, cio_handler fn, void *ud)
{
    return cio_app_route(app, "DELETE", pattern, fn, ud, NULL);
}

int cio_app_add_routes(cio_app *app, const struct cio_route *t)
{
    if (t == NULL)
        return CIO_EINVAL;
    for (; t->method != NULL; t++) {
        int rc =
            cio_app_route(app, t->method, t->pattern, t->fn, t->ud, t->name);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cio_app_use(cio_app *app, cio_middleware fn, void *ud)
{
    if (app == NULL || fn == NULL)
        return CIO_EINVAL;
    if (app->serving)
        return cio__err(CIO_EINVAL, "app is serving: middleware is read-only");
    if (vec_grow((void **)&app->mws, &app->capmws, app->nmws,
                 sizeof(struct cio__mw)) < 0)
        return CIO_ENOMEM;
    app->mws[app->nmws++] = (struct cio__mw){fn, ud};
    return 0;
}

int cio_app_mount(cio_app *app, const char *prefix, cio_app *sub)
{
    size_t n;

    if (app == NULL || sub == NULL || prefix == NULL || sub == app ||
        sub->parent != NULL)
        return CIO_EINVAL;
    n = strlen(prefix);
    if (n < 2 || prefix[0] != '/' || prefix[n - 1] == '/' ||
        strchr(prefix, '{') != NULL)
        return cio__err(CIO_EINVAL,
                        "mount prefix \"%.60s\" must be \"/name\" without a "
                        "trailing '/' or parameters",
                        prefix);
    for (size_t i = 0; i < app->nmounts; i++)
        if (strcmp(app->mounts[i].prefix, prefix) == 0)
            return cio__err(CIO_EINVAL, "prefix \"%.60s\" already mounted",
                            prefix);
    if (vec_grow((void **)&app->mounts, &app->capmounts, app->nmounts,
                 sizeof(struct cio__mount)) < 0)
        return CIO_ENOMEM;
    char *p = cio__strdup(prefix);
    if (p == NULL)
        return CIO_ENOMEM;
    app->mounts[app->nmounts++] = (struct cio__mount){p, sub};
    sub->parent = app;
    return 0;
}

static int add_hook(cio_app *app, int k, cio_app_hook fn, void *ud)
{
    if (app == NULL || fn == NULL)
        return CIO_EINVAL;
    if (vec_grow((void **)&app->hooks[k], &app->caphooks[k], app->nhooks[k],
                 sizeof(struct cio__hook)) < 0)
        return CIO_ENOMEM;
    app->hooks[k][app->nhooks[k]++] = (struct cio__hook){fn, ud};
    return 0;
}

int cio_app_on_startup(cio_app *app, cio_app_hook fn, void *ud)
{
    return add_hook(app, 0, fn, ud);
}

int cio_app_on_shutdown(cio_app *app, cio_app_hook fn, void *ud)
{
    return add_hook(app, 1, fn, ud);
}

int cio_app_on_cleanup(cio_app *app, cio_app_hook fn, void *ud)
{
    return add_hook(app, 2, fn, ud);
}

/* startup: parent's hooks, then sub-apps'; shutdown/cleanup: sub-apps
 * first; cleanup hooks of one app in reverse order. */
int cio__app_run_hooks(cio_app *app, int kind)
{
    int rc = 0, r;

    if (kind != 0)
        for (size_t i = app->nmounts; i-- > 0;) {
            r = cio__app_run_hooks(app->mounts[i].sub, kind);
            if (rc == 0)
                rc = r;
        }
    if (kind == 2) {
        for (size_t i = app->nhooks[2]; i-- > 0;) {
            r = app->hooks[2][i].fn(app, app->hooks[2][i].ud);
            if (rc == 0)
                rc = r;
        }
    } else {
        for (size_t i = 0; i < app->nhooks[kind]; i++) {
            r = app->hooks[kind][i].fn(app, app->hooks[kind][i].ud);
            if (r < 0 && kind == 0)
                return r;
            if (rc == 0)
                rc = r;
        }
    }
    if (kind == 0)
        for (size_t i = 0; i < app->nmounts; i++) {
            r = cio__app_run_hooks(app->mounts[i].sub, kind);
            if (r < 0)
                return r;
        }
    return rc;
}

int cio_app_set_state(cio_app *app, const char *key, void *value,
                      void (*free_fn)(void *))
{
    if (app == NULL || key == NULL)
        return CIO_EINVAL;
    struct cio__state *s = cio__state_find(app->state, key);
    if (s != NULL) {
        cio__state_assign(s, value, free_fn);
        return 0;
    }
    s = cio__calloc(1, sizeof(*s));
    if (s == NULL)
        return CIO_ENOMEM;
    s->key = cio__strdup(key);
    if (s->key == NULL) {
        cio__free(s);
        return CIO_ENOMEM;
    }
    s->value = value;
    s->free_fn = free_fn;
    s->next = app->state;
    app->state = s;
    return 0;
}

void *cio_app_state(const cio_app *app, const char *key)
{
    for (; app != NULL && key != NULL; app = app->parent) {
        const struct cio__state *s = cio__state_find(app->state, key);
        if (s != NULL)
            return s->value;
    }
    return NULL;
}

/* ------------------------------------------------------------ url_for */

static const struct cio__app_route *
find_named(const cio_app *app, const char *name, char *prefix, size_t cap)
{
    for (size_t i = 0; i < app->nroutes; i++)
        if (app->routes[i].name != NULL &&
            strcmp(app->routes[i].name, name) == 0)
            return &app->routes[i];
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < app->nmounts; i++) {
        snprintf(prefix + plen, cap - plen, "%s", app->mounts[i].prefix);
        const struct cio__app_route *r =
            find_named(app->mounts[i].sub, name, prefix, cap);
        if (r != NULL)
            return r;
        prefix[plen] = '\0';
    }
    return NULL;
}

ptrdiff_t cio_app_url_for(const cio_app *app, const char *name,
                          const struct cio_kv *params, char *buf, size_t cap)
{
    char prefix[1024] = "";
    const struct cio__app_route *r;
    size_t plen;
    ptrdiff_t n;

    if (app == NULL || name == NULL)
        return CIO_EINVAL;
    r = find_named(app, name, prefix, sizeof(prefix));
    if (r == NULL)
        return cio__err(CIO_ENOENT, "no route named \"%.60s\"", name);
    plen = strlen(prefix);
    if (plen < cap)
        memcpy(buf, prefix, plen);
    n = cio__route_format(r->pattern, params, plen < cap ? buf + plen : NULL,
                          plen < cap ? cap - plen : 0);
    if (n < 0)
        return n;
    if (cap > 0 && plen + (size_t)n >= cap)
        buf[cap - 1] = '\0';
    return (ptrdiff_t)plen + n;
}

/* ------------------------------------------------------------ flatten */

struct flat {
    struct cio__dispatch *d;
    size_t cap, mcap;
};

static int flatten(struct flat *f, cio_app *app, const char *prefix,
                   const struct cio__mw *outer, size_t nouter)
{
    size_t nchain = nouter + app->nmws;
    struct cio__mw *chain = NULL;
    int rc;

    for (size_t i = 0; i < app->nroutes; i++) {
        struct cio__app_route *r = &app->routes[i];
        struct cio__target *t;
        size_t plen = strlen(prefix), len = plen + strlen(r->pattern) + 1;

        if (vec_grow((void **)&f->d->targets, &f->cap, f->d->ntargets,
                     sizeof(*t)) < 0)
            return CIO_ENOMEM;
        t = &f->d->targets[f->d->ntargets];
        memset(t, 0, sizeof(*t));
        t->pattern = cio__malloc(len);
        t->chain = cio__malloc((nchain ? nchain : 1) * sizeof(*chain));
        if (t->pattern == NULL || t->chain == NULL) {
            cio__free(t->pattern);
            cio__free(t->chain);
            return CIO_ENOMEM;
        }
        snprintf(t->pattern, len, "%s%s", prefix, r->pattern);
        if (nouter)
            memcpy(t->chain, outer, nouter * sizeof(*chain));
        if (app->nmws)
            memcpy(t->chain + nouter, app->mws, app->nmws * sizeof(*chain));
        t->nchain = nchain;
        t->app = app;
        t->fn = r->fn;
        t->ud = r->ud;
        t->name = r->name;
        f->d->ntargets++;
    }
    if (app->nmounts == 0)
        return 0;
    chain = cio__malloc((nchain ? nchain : 1) * sizeof(*chain));
    if (chain == NULL)
        return CIO_ENOMEM;
    if (nouter)
        memcpy(chain, outer, nouter * sizeof(*chain));
    if (app->nmws)
        memcpy(chain + nouter, app->mws, app->nmws * sizeof(*chain));
    rc = 0;
    for (size_t i = 0; i < app->nmounts && rc == 0; i++) {
        char p[1024];
        cio_app *sub = app->mounts[i].sub;
        snprintf(p, sizeof(p), "%s%s", prefix, app->mounts[i].prefix);
        if (vec_grow((void **)&f->d->mounts, &f->mcap, f->d->nmounts,
                     sizeof(struct cio__mount_chain)) < 0) {
            rc = CIO_ENOMEM;
            break;
        }
        struct cio__mount_chain *mc = &f->d->mounts[f->d->nmounts];
        size_t n = nchain + sub->nmws;
        memset(mc, 0, sizeof(*mc));
        mc->prefix = cio__strdup(p);
        mc->chain = cio__malloc((n ? n : 1) * sizeof(*chain));
        if (mc->prefix == NULL || mc->chain == NULL) {
            cio__free(mc->prefix);
            cio__free(mc->chain);
            rc = CIO_ENOMEM;
            break;
        }
        if (nchain)
            memcpy(mc->chain, chain, nchain * sizeof(*chain));
        if (sub->nmws)
            memcpy(mc->chain + nchain, sub->mws, sub->nmws * sizeof(*chain));
        mc->plen = strlen(p);
        mc->app = sub;
        mc->nchain = n;
        f->d->nmounts++;
        rc = flatten(f, sub, p, chain, nchain);
    }
    cio__free(chain);
    return rc;
}

void cio__dispatch_fini(struct cio__dispatch *d)
{
    cio__router_free(d->router);
    for (size_t i = 0; i < d->ntargets; i++) {
        cio__free(d->targets[i].pattern);
        cio__free(d->targets[i].chain);
    }
    cio__free(d->targets);
    cio__free(d->root_chain);
    for (size_t i = 0; i < d->nmounts; i++) {
        cio__free(d->mounts[i].prefix);
        cio__free(d->mounts[i].chain);
    }
    cio__free(d->mounts);
    memset(d, 0, sizeof(*d));
}

int cio__dispatch_build(cio_app *app, struct cio__dispatch *d)
{
    struct flat f = {d, 0, 0};
    int rc;

    memset(d, 0, sizeof(*d));
    rc = flatten(&f, app, "", NULL, 0);
    if (rc < 0)
        goto fail;
    /* targets no longer move: hand their addresses to the router */
    rc = cio__router_new(&d->router);
    if (rc < 0)
        goto fail;
    {
        /* second walk in the same order to recover methods */
        size_t k = 0;
        struct {
            cio_app *a;
            size_t i;
        } stack[64];
        size_t sp = 0;
        stack[sp++] = (typeof(stack[0])){app, 0};
        /* iterative pre-order walk matching flatten's recursion */
        while (sp > 0) {
            cio_app *a = stack[sp - 1].a;
            if (stack[sp - 1].i == 0) {
                for (size_t i = 0; i < a->nroutes; i++, k++) {
                    rc = cio__router_add(d->router, a->routes[i].method,
                                         d->targets[k].pattern, &d->targets[k]);
                    if (rc < 0)
                        goto fail;
                    /* a sub-app's "/" also answers at the bare prefix */
                    if (a != app && strcmp(a->routes[i].pattern, "/") == 0) {
                        size_t pl = strlen(d->targets[k].pattern);
                        d->targets[k].pattern[pl - 1] = '\0';
                        (void)cio__router_add(d->router, a->routes[i].method,
                                              d->targets[k].pattern,
                                              &d->targets[k]);
                        d->targets[k].pattern[pl - 1] = '/';
                    }
                }
            }
            if (stack[sp - 1].i < a->nmounts) {
                if (sp == 64) {
                    rc = cio__err(CIO_EINVAL, "sub-apps nested too deep");
                    goto fail;
                }
                cio_app *sub = a->mounts[stack[sp - 1].i++].sub;
                stack[sp++] = (typeof(stack[0])){sub, 0};
            } else {
                sp--;
            }
        }
    }
    rc = cio__router_compile(d->router);
    if (rc < 0)
        goto fail;
    /* deepest prefix first, so the first prefix that matches wins */
    for (size_t i = 1; i < d->nmounts; i++)
        for (size_t j = i; j > 0 && d->mounts[j].plen > d->mounts[j - 1].plen;
             j--) {
            struct cio__mount_chain t = d->mounts[j];
            d->mounts[j] = d->mounts[j - 1];
            d->mounts[j - 1] = t;
        }
    d->nroot = app->nmws;
    d->root_chain =
        cio__malloc((app->nmws ? app->nmws : 1) * sizeof(struct cio__mw));
    if (d->root_chain == NULL) {
        rc = CIO_ENOMEM;
        goto fail;
    }
    if (app->nmws)
        memcpy(d->root_chain, app->mws, app->nmws * sizeof(struct cio__mw));
    return 0;
fail:
    cio__dispatch_fini(d);
    return rc;
}
