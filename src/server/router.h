/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_ROUTER_H
#define CIO_SERVER_ROUTER_H

/*
 * The compiled router: method + path -> target, pure code (no I/O, no
 * locks of its own). See docs/internals/router.md for the structure.
 *
 * Pattern syntax: a path starting with '/', made of static text,
 * "{name}" (one non-empty segment: [^/]+) and "{name:regex}" (POSIX ERE,
 * anchored, may span '/', e.g. "/files/{filename:.+}"; braces may nest
 * inside the regex, e.g. "{id:[0-9]{3}}"). Names are [A-Za-z_][A-Za-z0-9_]*
 * and unique within a pattern; at most CIO__ROUTER_MAX_PARAMS of them.
 * Back-references (\1 ...) are refused.
 *
 * Matching is byte-exact on the path given (the router neither decodes nor
 * normalises): the caller chooses raw or decoded and decodes values itself.
 * A trailing slash is significant: "/a/" and "/a" are different routes, and
 * "/a" does not match a request for "/a/". An empty segment ("//") never
 * matches "{name}".
 *
 * Priority, at each trie node: a static segment, then "{name}", then the
 * regex routes starting at that node in registration order; a branch that
 * fails to match is backtracked. Among routes whose path matches, the
 * first (in that order) that accepts the method wins.
 *
 * Thread safety: after cio__router_compile the router is read-only and may
 * be matched from several threads at once. Each thread then matches regex
 * routes on its own copies of the compiled regexes (glibc's regexec locks
 * each regex_t), each compiled the first time the thread runs it: the only
 * times matching allocates, besides the sanitizer builds' copy of the
 * path.
 */
#include <stddef.h>

#include <corio/http/common.h>

#define CIO__ROUTER_MAX_PARAMS 16

struct cio__router;

/* Errors: CIO_ENOMEM. */
int cio__router_new(struct cio__router **out);

/* Frees r and its routes (not the targets). NULL ok. */
void cio__router_free(struct cio__router *r);

/*
 * Adds a route. method is a token ("GET") or "*" for any method; target is
 * returned by a match (not owned). method and pattern are copied.
 * Errors: CIO_EINVAL with a cio__err message naming the fault (pattern
 * syntax: no leading '/', unbalanced braces, empty, invalid or duplicate
 * parameter name, too many parameters, bad or empty regex,
 * back-reference; a method that is not a token; the same method on a
 * pattern of the same shape, i.e. equal once parameter names are erased;
 * a call after cio__router_compile), CIO_ENOMEM.
 */
int cio__router_add(struct cio__router *r, const char *method,
                    const char *pattern, void *target);

/* Freezes r after all adds (a later add is CIO_EINVAL) and indexes nodes
 * with many children by hash. Returns 0: without memory for an index, the
 * node keeps bisection (slower, not wrong). Matching before compile works,
 * by bisection only. */
int cio__router_compile(struct cio__router *r);

struct cio__route_param {
    struct cio_str name;  /* the pattern's name (owned by the router) */
    struct cio_str value; /* points into the matched path, not decoded */
};

struct cio__route_match {
    void *target;        /* FOUND: the route's target; else NULL */
    const char *pattern; /* FOUND: the route's pattern (owned by the router) */
    size_t nparams;      /* FOUND: params[0..nparams) in pattern order */
    struct cio__route_param params[CIO__ROUTER_MAX_PARAMS];
    /* NO_METHOD: the methods of the routes whose path matched, sorted and
     * joined by ", ", with HEAD when GET is there (OPTIONS is not added);
     * truncated at a whole method if it would not fit. Else "". */
    char allow[128];
};

enum {
    CIO__ROUTE_FOUND = 0,
    CIO__ROUTE_NOT_FOUND = 1,
    CIO__ROUTE_NO_METHOD = 2
};

/*
 * Matches method and path (not NUL-terminated; a path not starting with '/'
 * matches nothing) and fills *m. A GET route also matches HEAD (an explicit
 * HEAD route on the same pattern wins); a "*" route matches any method,
 * after the pattern's routes with the exact method. Returns
 * CIO__ROUTE_FOUND, CIO__ROUTE_NOT_FOUND, or CIO__ROUTE_NO_METHOD (some
 * route's path matched, none with this method: answer 405 with m->allow).
 * The views in *m stay valid while path and r are unchanged.
 */
int cio__router_match(const struct cio__router *r, struct cio_str method,
                      struct cio_str path, struct cio__route_match *m);

/* For tests: how many threads have their own copies of r's regexes. */
size_t cio__router_rx_threads(const struct cio__router *r);

/* For tests: how many regex copies the threads have compiled, in all. */
size_t cio__router_rx_copies(const struct cio__router *r);

/*
 * URL building (url_for): writes pattern with each "{name}" and
 * "{name:re}" replaced by the value of the first entry named so in params
 * (ended by {NULL, NULL}; may be NULL when there are none). Values are
 * percent-encoded where a path needs it: every byte outside pchar (RFC
 * 3986 unreserved, sub-delims, ':' and '@'), and '/' for "{name}" (a
 * "{name:re}" value keeps its '/'). A "{name}" value must be non-empty; a
 * "{name:re}" value must match re as a whole, before encoding.
 * Returns the length n of the path (without the NUL): if n < cap, buf holds
 * the path NUL-terminated; otherwise buf is unchanged and the caller retries
 * with cap > n. Errors: CIO_EINVAL (bad pattern, a missing or empty value,
 * a value not matching its regex; the message names it), CIO_ENOMEM.
 */
ptrdiff_t cio__route_format(const char *pattern, const struct cio_kv *params,
                            char *buf, size_t cap);

#endif
