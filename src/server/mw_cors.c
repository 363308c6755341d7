/* SPDX-License-Identifier: MIT */
/*
 * CORS (the Fetch standard's CORS protocol): preflight OPTIONS requests
 * are answered here with 204; actual requests get the response headers
 * before the handler runs (a streaming handler sends its head from inside
 * the chain). Requests without Origin are not CORS and pass untouched.
 *
 * Credentials: with credentials on, Access-Control-Allow-Origin is the
 * request's (allowed) Origin echoed, never "*": browsers refuse "*" with
 * credentials. Allowing any origin together with credentials echoes every
 * origin, which lets any site read cookie-authenticated answers: list the
 * origins instead (docs/server-middleware.md).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/mw_util.h"
#include "server/server_int.h"

struct cors {
    char **origins; /* NULL-terminated; NULL = any */
    char *methods;
    char *headers; /* NULL = echo the request's */
    char *expose;  /* NULL = none */
    int credentials;
    char max_age[16];
};

static int origin_allowed(const struct cors *c, const char *origin)
{
    if (c->origins == NULL)
        return 1;
    /* Origins compare exactly (scheme, host and port, lower case from
     * browsers); "null" is only allowed when listed. */
    for (char **o = c->origins; *o != NULL; o++)
        if (strcmp(*o, origin) == 0)
            return 1;
    return 0;
}

/* Is the token m in the comma-separated list? */
static int list_has(const char *list, const char *m)
{
    size_t ml = strlen(m);
    for (const char *p = list; *p != '\0';) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == ml && strncmp(p, m, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static int set_origin(cio_resp *res, const struct cors *c, const char *origin)
{
    int rc;
    if (c->origins == NULL && !c->credentials) {
        rc = cio_resp_set_header(res, "Access-Control-Allow-Origin", "*");
    } else {
        rc = cio_resp_set_header(res, "Access-Control-Allow-Origin", origin);
        /* The answer depends on Origin: caches must key on it. */
        if (rc == 0)
            rc = cio_resp_add_header(res, "Vary", "Origin");
    }
    if (rc == 0 && c->credentials)
        rc = cio_resp_set_header(res, "Access-Control-Allow-Credentials",
                                 "true");
    return rc;
}

static int preflight(cio_req *req, cio_resp *res, const struct cors *c,
                     const char *origin)
{
    const char *want = cio_req_header(req, "Access-Control-Request-Method");
    const char *want_h = cio_req_header(req, "Access-Control-Request-Headers");
    int rc;

    if (!origin_allowed(c, origin) || !list_has(c->methods, want)) {
        /* No CORS headers: the browser refuses the actual request. */
        cio_resp_error(res, 403, "CORS preflight refused");
        return c->origins != NULL ? cio_resp_add_header(res, "Vary", "Origin")
                                  : 0;
    }
    cio_resp_set_status(res, 204);
    rc = set_origin(res, c, origin);
    if (rc == 0)
        rc = cio_resp_set_header(res, "Access-Control-Allow-Methods",
                                 c->methods);
    if (rc == 0 && c->headers != NULL)
        rc = cio_resp_set_header(res, "Access-Control-Allow-Headers",
                                 c->headers);
    else if (rc == 0 && want_h != NULL) {
        rc = cio_resp_set_header(res, "Access-Control-Allow-Headers", want_h);
        if (rc == 0)
            rc = cio_resp_add_header(res, "Vary",
                                     "Access-Control-Request-Headers");
    }
    if (rc == 0)
        rc = cio_resp_set_header(res, "Access-Control-Max-Age", c->max_age);
    return rc;
}

static int cors_mw(cio_req *req, cio_resp *res, void *ud)
{
    const struct cors *c = ud;
    const char *origin = cio_req_header(req, "Origin");
    int rc = 0;

    if (origin == NULL)
        return cio_next(req, res);
    if (strcmp(cio_req_method(req), "OPTIONS") == 0 &&
        cio_req_header(req, "Access-Control-Request-Method") != NULL)
        return preflight(req, res, c, origin);
    if (origin_allowed(c, origin)) {
        rc = set_origin(res, c, origin);
        if (rc == 0 && c->expose != NULL)
            rc = cio_resp_set_header(res, "Access-Control-Expose-Headers",
                                     c->expose);
    } else if (c->origins != NULL) {
        rc = cio_resp_add_header(res, "Vary", "Origin");
    }
    return rc < 0 ? rc : cio_next(req, res);
}

static void cors_free(void *p)
{
    struct cors *c = p;
    if (c->origins != NULL)
        for (char **o = c->origins; *o != NULL; o++)
            cio__free(*o);
    cio__free(c->origins);
    cio__free(c->methods);
    cio__free(c->headers);
    cio__free(c->expose);
    cio__free(c);
}

static int header_ok(const char *v)
{
    for (; *v != '\0'; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 0;
    return 1;
}

int cio_app_use_cors(cio_app *app, const struct cio_cors_opts *opts)
{
    static const struct cio_cors_opts none = {0};
    if (app == NULL)
        return CIO_EINVAL;
    if (opts == NULL)
        opts = &none;
    const char *methods =
        opts->methods ? opts->methods : "GET, HEAD, POST, PUT, PATCH, DELETE";
    if (!header_ok(methods) || (opts->headers && !header_ok(opts->headers)) ||
        (opts->expose && !header_ok(opts->expose)))
        return cio__err(CIO_EHEADER, "CORS option with a control character");
    struct cors *c = cio__calloc(1, sizeof(*c));
    if (c == NULL)
        return CIO_ENOMEM;
    c->credentials = opts->credentials;
    snprintf(c->max_age, sizeof(c->max_age), "%u",
             opts->max_age ? opts->max_age : 600);
    int any = opts->origins == NULL ||
              (opts->origins[0] != NULL && strcmp(opts->origins[0], "*") == 0);
    int rc = CIO_ENOMEM;
    if (!any) {
        size_t n = 0;
        while (opts->origins[n] != NULL)
            n++;
        c->origins = cio__calloc(n + 1, sizeof(char *));
        if (c->origins == NULL)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            if (!header_ok(opts->origins[i])) {
                rc = cio__err(CIO_EHEADER,
                              "CORS origin with a control character");
                goto fail;
            }
            if ((c->origins[i] = cio__strdup(opts->origins[i])) == NULL)
                goto fail;
        }
    }
    if ((c->methods = cio__strdup(methods)) == NULL ||
        (opts->headers && (c->headers = cio__strdup(opts->headers)) == NULL) ||
        (opts->expose && (c->expose = cio__strdup(opts->expose)) == NULL))
        goto fail;
    rc = cio__mw_keep(app, c, cors_free);
    if (rc < 0)
        return rc;
    return cio_app_use(app, cors_mw, c);
fail:
    cors_free(c);
    return rc;
}
