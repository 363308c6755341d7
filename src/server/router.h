/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_ROUTER_H
#define CIO_SERVER_ROUTER_H

/*
 * The compiled router (internal). Patterns: static text, "{name}" (one
 * segment) and "{name:regex}" (POSIX ERE, anchored, may span segments).
 * Routes are added, then compiled once; matching is read-only and may run
 * on several threads at once.
 */

#include <stddef.h>

#include <corio/http/common.h>

#define CIO__ROUTER_MAX_PARAMS 16

enum {
    CIO__ROUTE_FOUND = 0,
    CIO__ROUTE_NOT_FOUND = 1,
    CIO__ROUTE_NO_METHOD = 2,
};

struct cio__router;

struct cio__route_param {
    struct cio_str name, value; /* value points into the matched path */
};

struct cio__route_match {
    void *target;
    const char *pattern;
    size_t nparams;
    struct cio__route_param params[CIO__ROUTER_MAX_PARAMS];
    char allow[128]; /* for 405: "GET, HEAD, POST" */
};

int cio__router_new(struct cio__router **out);
void cio__router_free(struct cio__router *r);
/* method "*" = any. Errors: CIO_EINVAL (bad pattern, duplicate), CIO_ENOMEM. */
int cio__router_add(struct cio__router *r, const char *method,
                    const char *pattern, void *target);
int cio__router_compile(struct cio__router *r);
/* Returns CIO__ROUTE_FOUND, _NOT_FOUND or _NO_METHOD (allow filled); a GET
 * route matches HEAD. */
int cio__router_match(const struct cio__router *r, struct cio_str method,
                      struct cio_str path, struct cio__route_match *m);
/* Builds a path from a pattern and parameter values (url_for). Returns the
 * length written (NUL-terminated) or needed. */
ptrdiff_t cio__route_format(const char *pattern, const struct cio_kv *params,
                            char *buf, size_t cap);

#endif
