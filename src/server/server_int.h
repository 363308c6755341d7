/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_INT_H
#define CIO_SERVER_INT_H

/*
 * Server internals shared by app.c, req.c, resp.c, h1conn.c and server.c.
 * docs/internals/server.md has the connection state machine.
 *
 * Memory model: an idle keep-alive connection is a struct cio__conn (a few
 * dozen bytes) plus its stream; everything a request needs (read and write
 * buffers, the request and response objects, the parsed field array, a small
 * arena) lives in a struct cio__hctx taken from the worker's pool when bytes
 * arrive and given back when the connection goes idle again.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <corio/net.h>
#include <corio/server.h>
#include <corio/tls.h>

#include "base/buf.h"
#include "base/list.h"
#include "http/chunked.h"
#include "http/h1_parse.h"
#include "server/metrics.h"
#include "server/router.h"

/* ------------------------------------------------------------ app */

struct cio__mw {
    cio_middleware fn;
    void *ud;
};

struct cio__hook {
    cio_app_hook fn;
    void *ud;
};

struct cio__state {
    struct cio__state *next;
    char *key; /* app state: owned; request state: arena */
    void *value;
    void (*free_fn)(void *);
};

/* The entry for key in a state list, or NULL. */
static inline struct cio__state *cio__state_find(const struct cio__state *s,
                                                 const char *key)
{
    for (; s != NULL; s = s->next)
        if (strcmp(s->key, key) == 0)
            return (struct cio__state *)s;
    return NULL;
}

/* Replaces an entry's value, freeing the old one (unless it is the same). */
static inline void cio__state_assign(struct cio__state *s, void *value,
                                     void (*free_fn)(void *))
{
    if (s->free_fn != NULL && s->value != value)
        s->free_fn(s->value);
    s->value = value;
    s->free_fn = free_fn;
}

struct cio__app_route {
    char *method, *pattern, *name;
    cio_handler fn;
    void *ud;
};

struct cio__mount {
    char *prefix;
    cio_app *sub;
};

struct cio_app {
    cio_app *parent;
    struct cio__app_route *routes;
    size_t nroutes, caproutes;
    struct cio__mw *mws;
    size_t nmws, capmws;
    struct cio__mount *mounts;
    size_t nmounts, capmounts;
    struct cio__hook *hooks[3]; /* startup, shutdown, cleanup */
    size_t nhooks[3], caphooks[3];
    struct cio__state *state;
    int serving;
};

/* What a compiled route points at: everything dispatch needs, so its cost
 * does not depend on the number of routes or the depth of mounts. */
struct cio__target {
    cio_app *app;
    cio_handler fn;
    void *ud;
    const char *name;      /* route name or NULL */
    char *pattern;         /* full pattern, with mount prefixes */
    struct cio__mw *chain; /* middleware, outermost first */
    size_t nchain;
};

/* A mounted sub-app, for answers without a route (404/405/OPTIONS) under
 * its prefix: its middleware chain runs around them. */
struct cio__mount_chain {
    char *prefix; /* full prefix, e.g. "/admin" */
    size_t plen;
    cio_app *app;
    struct cio__mw *chain;
    size_t nchain;
};

/* The flattened app: one router, all targets. Read-only once built. */
struct cio__dispatch {
    struct cio__mount_chain *mounts; /* deepest prefix first */
    size_t nmounts;
    struct cio__router *router;
    struct cio__target *targets;
    size_t ntargets;
    struct cio__mw *root_chain; /* root middleware, for 404/405/OPTIONS */
    size_t nroot;
};

int cio__dispatch_build(cio_app *app, struct cio__dispatch *d);
void cio__dispatch_fini(struct cio__dispatch *d);
/* Runs the hooks of kind k (0 startup, 1 shutdown, 2 cleanup) in order. */
int cio__app_run_hooks(cio_app *app, int kind);

/* ------------------------------------------------------------ arena */

/* A bump allocator reset per request: a fixed block, then heap chunks. */
#define CIO__ARENA_FIXED 2048
struct cio__arena {
    size_t used;
    void *chunks; /* linked heap chunks */
    char fixed[CIO__ARENA_FIXED] __attribute__((aligned(16)));
};

void *cio__arena_alloc(struct cio__arena *a, size_t n);
char *cio__arena_strndup(struct cio__arena *a, const char *s, size_t n);
void cio__arena_reset(struct cio__arena *a);

/* ------------------------------------------------------------ req/resp */

/* The protocol side of a request: HTTP/1.1 today, HTTP/2 later. */
struct cio__req_ops {
    const char *(*peer)(cio_req *req);
    ptrdiff_t (*read)(cio_req *req, void *buf, size_t cap);
    int (*prepare)(cio_resp *res);
    int (*writev)(cio_resp *res, const struct iovec *iov, int iovcnt);
    int (*sendfile)(cio_resp *res, int fd, off_t off, uint64_t len);
    int (*flush)(cio_resp *res);
    int (*finish)(cio_resp *res);
};

enum cio__body_kind {
    CIO__BODY_NONE = 0,
    CIO__BODY_LENGTH,
    CIO__BODY_CHUNKED,
};

struct cio_req {
    const struct cio__req_ops *ops;
    void *conn;
    struct cio_server *srv;
    struct cio__arena *arena;
    cio_resp *res;

    const char *method; /* NUL-terminated (in place or static) */
    int mid;            /* enum cio__h1_method */
    const char *target; /* raw, NUL-terminated */
    const char *path;   /* decoded, NUL-terminated */
    size_t path_len;
    const char *query; /* after '?', "" if none */
    int version;
    const struct cio__h1_header *fields; /* NUL-terminated in place */
    size_t nfields;
    cio_headers *hmap;   /* built on first cio_req_headers */
    cio_params *qparams; /* built on first query lookup */
    cio_params *form;
    const char *peer;
    int secure;

    const struct cio__target *tgt;
    struct cio__route_match m;
    const char **param_vals; /* decoded values, lazily */

    /* the onion */
    const struct cio__mw *chain;
    size_t nchain, next;
    cio_handler fn;
    void *fn_ud;
    cio_app *app;

    struct cio__state *state;

    /* body */
    enum cio__body_kind body;
    uint64_t remaining; /* LENGTH: bytes not yet read */
    uint64_t received;  /* body bytes delivered */
    uint64_t max_body;
    struct cio__chunked chunked;
    uint8_t expect_continue; /* 100 Continue still owed */
    uint8_t body_done;
    int body_err; /* sticky */
    cio_time body_start;
    char *whole; /* cio_req_body result (heap) */
    size_t whole_len;
    uint8_t whole_read;
    void *json; /* json_t */
    /* multipart */
    cio_multipart_parser *mp;
    char *mp_buf;
    size_t mp_len, mp_off; /* unconsumed bytes of mp_buf */
    int mp_state;          /* 0 none, 1 in part, 2 between parts, 3 end */
    struct cio_multipart_event mp_ev;
    uint8_t mp_have_ev;
    cio_headers *mp_headers;
    char *mp_strs[3];
};

struct cio_resp {
    cio_req *req;
    int status;
    cio_headers *headers;
    struct cio__buf body; /* buffered body */
    uint8_t prepared;
    uint8_t finished;
    uint8_t chunked;     /* streaming with chunked coding */
    uint8_t head_only;   /* HEAD: no body on the wire */
    uint8_t close;       /* Connection: close on this response */
    uint8_t until_close; /* HTTP/1.0 streaming without length */
    uint8_t sized;       /* streaming with a Content-Length */
    uint8_t failed;      /* cio__resp_fail made the error response */
    uint64_t length, sent;
};

void cio__req_reset(cio_req *req);
/* Runs the chain from the start (dispatch). */
int cio__req_run(cio_req *req, cio_resp *res);
/* A chain that returned an error (or left a body error) before the head
 * was sent: replaces the response with the error the server sends (the
 * body error's 413/408/400, else 500), once. The access log calls it too,
 * so it logs the status and size that go on the wire. */
void cio__resp_fail(cio_req *req, cio_resp *res);
/* The consistent error body, used by the connection for parse errors. */
int cio__resp_error_body(char *buf, size_t cap, int status, const char *msg,
                         int json);

/* ------------------------------------------------------------ server */

struct cio__lsn_conf {
    char *addr;
    cio_tls_ctx *tls;
    bool proxy;
    bool is_unix;
    unsigned port; /* resolved after the first bind */
    char *bound;   /* "127.0.0.1:41234" */
};

struct cio__hctx;

struct cio__worker {
    struct cio_server *srv;
    unsigned idx;
    cio_loop *loop; /* under srv->stop_mu: set while posts to it are safe */
    cio_thread *thr;
    cio_group *conns;                /* connection tasks */
    struct cio__list all;            /* every struct cio__conn */
    struct cio__conn *qhead, *qtail; /* readable, waiting for a serving task */
    unsigned nstarting;    /* serving tasks spawned, not yet running */
    const char *date_line; /* turn_date's cache (this loop's thread) */
    cio_time date_at;
    struct cio__list pool; /* free struct cio__hctx */
    size_t npool;
    cio_listener **lns;
    size_t nlns;
    int *ufds; /* workers > 0: dups of worker 0's Unix
                              * listening sockets (-1 once adopted) */
    cio_event *stop_ev;
    int stopping; /* loop-local copy of srv->stopping */
    /* stats (read racily by cio_server_stats: counters only) */
    _Atomic uint64_t requests;
    _Atomic uint32_t nconns, nidle, inflight;
    struct cio__lag_window lag; /* written by lag_loop (server.c) */
    _Atomic uint64_t accepted, shed;
    int rc;
};

struct cio_server {
    cio_app *app;
    struct cio__dispatch d;
    struct cio_server_limits lim;
    struct cio_server_timeouts to;
    struct cio__h1_limits h1lim;
    char *server_name; /* trimmed, checked once; NULL: no Server */
    size_t server_name_len;
    void (*on_listen)(cio_server *srv, void *ud);
    void *ud;
    struct cio__lsn_conf *lsn;
    size_t nlsn;
    struct cio__lsn_conf inproc; /* what cio_server_connect's pipes are */
    unsigned nworkers;
    struct cio__worker *workers;
    atomic_int stopping;
    pthread_mutex_t stop_mu; /* orders stop's posts with workers' exits */
    int running;
    int started_hooks;
    int handle_signals;
};

/* h1conn.c */
int cio__h1_accept(struct cio__worker *w, const struct cio__lsn_conf *lc,
                   cio_stream *s);
void cio__worker_close_idle(struct cio__worker *w);
void cio__worker_pool_free(struct cio__worker *w);

#endif
