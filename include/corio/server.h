/* SPDX-License-Identifier: MIT */
#ifndef CORIO_SERVER_H
#define CORIO_SERVER_H

/*
 * The HTTP server framework (aiohttp.web in C).
 *
 * An application (cio_app) holds routes, middleware, sub-apps, hooks and
 * state. A server (cio_server) serves one application on one or more
 * listeners, with one loop per worker thread. Every request is handled in its
 * own task: a handler may call the client, sleep, wait on a semaphore or run
 * blocking work with cio_blocking() without stalling other requests.
 *
 * The request (cio_req) and response (cio_resp) handles are protocol
 * neutral: HTTP/1.1 today, HTTP/2 later, with the same handlers.
 *
 * Lifetimes: req and res are valid from the call of the first middleware
 * until the handler chain returns. Every string returned by a cio_req_*
 * function is owned by the request and valid as long as req. Application
 * setup (routes, middleware, mount) must be complete before the server
 * starts; afterwards the app is read-only and shared by all workers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <corio/http.h>
#include <corio/net.h>
#include <corio/rt.h>

typedef struct cio_app cio_app;
typedef struct cio_req cio_req;
typedef struct cio_resp cio_resp;
typedef struct cio_server cio_server;
struct json_t; /* jansson */

/*
 * A request handler, called in the request's own task. It prepares the
 * response with the cio_resp_* calls (or streams it) and returns 0. A
 * negative CIO_E* return is an internal error: the client gets a 500 unless
 * the response head was already sent, in which case the connection is
 * closed. HTTP errors (404, 429 ...) are responses, not return codes: see
 * cio_resp_error().
 */
typedef int (*cio_handler)(cio_req *req, cio_resp *res, void *ud);

/*
 * Middleware wraps everything inside it (onion): it may act before calling
 * cio_next(), after it (inspecting or changing the response not yet sent),
 * or return without calling it (short-circuit). Same return contract as a
 * handler.
 */
typedef int (*cio_middleware)(cio_req *req, cio_resp *res, void *ud);

/* Runs the rest of the chain (inner middleware, then the handler). */
CIO_API int cio_next(cio_req *req, cio_resp *res);

/* ------------------------------------------------------------ application */

/* Errors: CIO_ENOMEM. */
CIO_API int cio_app_new(cio_app **out);

/* Frees the app, its routes and mounted sub-apps, and runs the free
 * functions of its state. Must not be serving. NULL ok. */
CIO_API void cio_app_free(cio_app *app);

/*
 * Adds a route. method is a token ("GET", ...) or "*" for any method.
 * pattern is a path starting with '/', made of static text, "{name}" (one
 * segment, no '/') and "{name:regex}" (POSIX extended regex, anchored, may
 * span segments, e.g. "/files/{filename:.+}"). Captured values are
 * percent-decoded (cio_req_param). A GET route also serves HEAD. name (may
 * be NULL) names the route for cio_app_url_for().
 * Errors: CIO_EINVAL (pattern syntax, bad regex, duplicate method+pattern or
 * name; the message names it), CIO_ENOMEM.
 */
CIO_API int cio_app_route(cio_app *app, const char *method, const char *pattern,
                          cio_handler fn, void *ud, const char *name);

CIO_API int cio_app_get(cio_app *app, const char *pattern, cio_handler fn,
                        void *ud);
CIO_API int cio_app_post(cio_app *app, const char *pattern, cio_handler fn,
                         void *ud);
CIO_API int cio_app_put(cio_app *app, const char *pattern, cio_handler fn,
                        void *ud);
CIO_API int cio_app_patch(cio_app *app, const char *pattern, cio_handler fn,
                          void *ud);
CIO_API int cio_app_delete(cio_app *app, const char *pattern, cio_handler fn,
                           void *ud);

/* A route table (aiohttp's RouteTableDef): an array ended by {0}. */
struct cio_route {
    const char *method;
    const char *pattern;
    cio_handler fn;
    void *ud;
    const char *name; /* may be NULL */
};
CIO_API int cio_app_add_routes(cio_app *app, const struct cio_route *table);

/*
 * Builds the path of a named route (searched in app and its sub-apps, with
 * their prefixes) from values for its parameters (an array ended by
 * {NULL, NULL}); values are percent-encoded as the segment needs.
 * Returns the length written (NUL-terminated) or the length needed.
 * Errors: CIO_ENOENT (no such name), CIO_EINVAL (a parameter missing, or a
 * value that does not match its regex).
 */
CIO_API ptrdiff_t cio_app_url_for(const cio_app *app, const char *name,
                                  const struct cio_kv *params, char *buf,
                                  size_t cap);

/* Adds middleware; the first added is the outermost. */
CIO_API int cio_app_use(cio_app *app, cio_middleware fn, void *ud);

/*
 * Mounts sub at prefix ("/admin": serves "/admin" and "/admin/..."); the
 * sub-app's routes see the path with the prefix; its middleware runs inside
 * the parent's. app takes ownership of sub. Errors: CIO_EINVAL, CIO_ENOMEM.
 */
CIO_API int cio_app_mount(cio_app *app, const char *prefix, cio_app *sub);

/*
 * Lifecycle hooks, run in a task on the serving loop: startup hooks in
 * order before the first connection is accepted (a failure stops the
 * server with that error), shutdown hooks in order when a graceful stop
 * begins, cleanup hooks in reverse order after the last connection ended.
 * Sub-apps' hooks run after (startup) or before (shutdown, cleanup) their
 * parent's.
 */
typedef int (*cio_app_hook)(cio_app *app, void *ud);
CIO_API int cio_app_on_startup(cio_app *app, cio_app_hook fn, void *ud);
CIO_API int cio_app_on_shutdown(cio_app *app, cio_app_hook fn, void *ud);
CIO_API int cio_app_on_cleanup(cio_app *app, cio_app_hook fn, void *ud);

/*
 * App state (aiohttp's app['db']): a value by key, freed with free_fn (may
 * be NULL) when replaced or when the app is freed. A sub-app's lookup falls
 * back to its parents. Errors: CIO_ENOMEM.
 */
CIO_API int cio_app_set_state(cio_app *app, const char *key, void *value,
                              void (*free_fn)(void *));
CIO_API void *cio_app_state(const cio_app *app, const char *key);

/* ------------------------------------------------------------ request */

CIO_API const char *cio_req_method(const cio_req *req);
/* The path, percent-decoded (a "%2F" stays "%2F": it is not a separator). */
CIO_API const char *cio_req_path(const cio_req *req);
/* The request target as received (path and query, not decoded). */
CIO_API const char *cio_req_raw_path(const cio_req *req);
/* The query string without '?', not decoded; "" if none. */
CIO_API const char *cio_req_query_string(const cio_req *req);
/* The first value of a query parameter, decoded; NULL if absent. */
CIO_API const char *cio_req_query(const cio_req *req, const char *name);
/* All query parameters (multimap, in order). Errors: CIO_ENOMEM. */
CIO_API int cio_req_query_params(cio_req *req, const cio_params **out);
/* 10 for HTTP/1.0, 11 for HTTP/1.1, 20 for HTTP/2. */
CIO_API int cio_req_version(const cio_req *req);
CIO_API const char *cio_req_header(const cio_req *req, const char *name);
CIO_API const cio_headers *cio_req_headers(const cio_req *req);
/* A cookie's value from the Cookie header(s); NULL if absent. */
CIO_API const char *cio_req_cookie(cio_req *req, const char *name);
/* A captured route parameter ("{id}"), decoded; NULL if there is none. */
CIO_API const char *cio_req_param(const cio_req *req, const char *name);
/* The name of the matched route, or NULL. */
CIO_API const char *cio_req_route_name(const cio_req *req);
/* The route pattern that matched, with mount prefixes ("/users/{id}"), or
 * NULL when no route matched (for metrics labels). */
CIO_API const char *cio_req_route_pattern(const cio_req *req);
/* "ip:port" of the client: from the PROXY protocol header when the
 * listener enables it, else the socket peer. */
CIO_API const char *cio_req_peer(const cio_req *req);
/* 1 if the connection is TLS. */
CIO_API int cio_req_secure(const cio_req *req);
/* The app that owns the matched route (a sub-app inside a mount). */
CIO_API cio_app *cio_req_app(const cio_req *req);

/* Request-scoped state set by middleware (aiohttp's request['user']). */
CIO_API int cio_req_set_state(cio_req *req, const char *key, void *value,
                              void (*free_fn)(void *));
CIO_API void *cio_req_state(const cio_req *req, const char *key);

/*
 * Request body as a stream: reads up to cap bytes (decoded from chunked;
 * Content-Encoding is not removed). Returns the count, 0 at the end, or an
 * error. The first read sends "100 Continue" when the client asked for it.
 * Errors: CIO_ETOOBIG (over the server's max_body: the response is 413),
 * CIO_ETIMEDOUT (body rate timeout), CIO_EPROTO, CIO_ECONNRESET.
 */
CIO_API ptrdiff_t cio_req_read(cio_req *req, void *buf, size_t cap);

/* Reads the whole body (at most max bytes; 0 = server's max_body) into
 * memory owned by req; NUL-terminated. Errors: as cio_req_read. */
CIO_API int cio_req_body(cio_req *req, size_t max, const char **body,
                         size_t *len);
/* The JSON body (jansson; owned by req). Errors: CIO_EPROTO (not JSON or
 * wrong Content-Type: the message says which), CIO_ENOTSUP (no jansson). */
CIO_API int cio_req_json(cio_req *req, struct json_t **out);
/* The urlencoded form body (multipart forms: use the part reader). */
CIO_API int cio_req_form(cio_req *req, const cio_params **out);

/* One multipart/form-data part; strings owned by req until the next call. */
struct cio_part {
    const char *name;         /* form field name */
    const char *filename;     /* NULL for a plain field */
    const char *content_type; /* NULL if absent */
    const cio_headers *headers;
};
/*
 * Iterates the parts of a multipart body: returns 1 with *out filled,
 * 0 after the last part. The part's data is read with cio_req_part_read
 * (returns 0 at the end of the part); unread data is skipped by the next
 * cio_req_part_next. Errors: CIO_EPROTO (not multipart, malformed),
 * CIO_ETOOBIG, plus those of cio_req_read.
 */
CIO_API int cio_req_part_next(cio_req *req, struct cio_part *out);
CIO_API ptrdiff_t cio_req_part_read(cio_req *req, void *buf, size_t cap);
/* Writes the current part's data to a file created with O_EXCL (mode 0600);
 * returns the number of bytes written. */
CIO_API int64_t cio_req_part_save(cio_req *req, const char *path, uint64_t max);

/* ------------------------------------------------------------ response */

/*
 * A buffered response is built with the setters and sent after the handler
 * chain returns (so middleware can still change it). Defaults: status 200,
 * no body. Date, Server (if configured), Content-Length and Connection are
 * written by the server.
 */
CIO_API int cio_resp_status(const cio_resp *res);
CIO_API void cio_resp_set_status(cio_resp *res, int status);
/* Header setters; a name or value with CR, LF or NUL is refused
 * (CIO_EHEADER). set replaces, add appends. */
CIO_API int cio_resp_set_header(cio_resp *res, const char *name,
                                const char *value);
CIO_API int cio_resp_add_header(cio_resp *res, const char *name,
                                const char *value);
CIO_API const char *cio_resp_header(const cio_resp *res, const char *name);
CIO_API cio_headers *cio_resp_headers(cio_resp *res);

/* Sets the body (copied) and its Content-Type (NULL = keep). */
CIO_API int cio_resp_body(cio_resp *res, const void *data, size_t len,
                          const char *content_type);
/* Status, text/plain; charset=utf-8 body. */
CIO_API int cio_resp_text(cio_resp *res, int status, const char *text);
/* Status, application/json body from a string (trusted to be JSON). */
CIO_API int cio_resp_json_str(cio_resp *res, int status, const char *json);
/* Status, application/json body from a jansson value (not stolen). */
CIO_API int cio_resp_json(cio_resp *res, int status, const struct json_t *v);
/* printf-style body with a content type. */
CIO_API int cio_resp_printf(cio_resp *res, int status, const char *content_type,
                            const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A redirect (301, 302, 303, 307, 308) to location. */
CIO_API int cio_resp_redirect(cio_resp *res, int status, const char *location);

/*
 * An HTTP error response with the server's consistent error body:
 * JSON {"status":404,"error":"Not Found","message":msg} when the request
 * prefers JSON, else text "404 Not Found: msg". msg may be NULL. Returns 0
 * so a handler can `return cio_resp_error(res, 404, "no such user");`.
 */
CIO_API int cio_resp_error(cio_resp *res, int status, const char *msg);

struct cio_cookie_opts {
    const char *path;   /* NULL = none (the browser's default) */
    const char *domain; /* NULL = host-only */
    int64_t max_age;    /* seconds; 0 = session cookie; < 0 = delete */
    bool secure;
    bool http_only;
    const char *same_site; /* "Strict", "Lax", "None" or NULL */
};
CIO_API int cio_resp_set_cookie(cio_resp *res, const char *name,
                                const char *value,
                                const struct cio_cookie_opts *opts);
CIO_API int cio_resp_del_cookie(cio_resp *res, const char *name,
                                const char *path, const char *domain);

/*
 * Streaming (aiohttp's StreamResponse): cio_resp_prepare sends the head;
 * after it, headers and status can no longer change. Without a
 * Content-Length header set before prepare, HTTP/1.1 uses chunked (and
 * HTTP/1.0 closes at the end). Writes block while the peer is slow
 * (back-pressure) up to the server's write timeout. cio_resp_finish ends
 * the body; the server calls it if the handler does not.
 * Errors: CIO_EPIPE/CIO_ECONNRESET (client gone), CIO_ETIMEDOUT,
 * CIO_EPROTO (more bytes than Content-Length), CIO_EINVAL (after finish).
 */
CIO_API int cio_resp_prepare(cio_resp *res);
CIO_API int cio_resp_write(cio_resp *res, const void *data, size_t len);
CIO_API int cio_resp_writev(cio_resp *res, const struct iovec *iov, int iovcnt);
/* len bytes of fd from off, zero-copy (sendfile) on cleartext HTTP/1.1. */
CIO_API int cio_resp_sendfile(cio_resp *res, int fd, off_t off, uint64_t len);
CIO_API int cio_resp_flush(cio_resp *res);
CIO_API int cio_resp_finish(cio_resp *res);
/* 1 once the head has been sent. */
CIO_API int cio_resp_prepared(const cio_resp *res);

/* Server-Sent Events on a prepared text/event-stream response. */
CIO_API int cio_resp_sse_start(cio_resp *res);
struct cio_sse_event {
    const char *event; /* NULL = message */
    const char *id;    /* NULL = none */
    int64_t retry_ms;  /* 0 = none */
    const char *data;  /* split into data: lines at each LF */
};
CIO_API int cio_resp_sse_send(cio_resp *res, const struct cio_sse_event *ev);
/* A ": comment" line, e.g. a keep-alive ping. */
CIO_API int cio_resp_sse_comment(cio_resp *res, const char *text);

/* ------------------------------------------------------------ files */

struct cio_file_opts {
    const char *content_type; /* NULL = from the file name */
    bool no_etag;
    bool no_range;
    bool no_compress;          /* no on-the-fly compression */
    bool precompressed;        /* serve path.br / path.zst / path.gz siblings
                               * when present and accepted */
    uint32_t max_ranges;       /* 0 = 16, at most 64 (more left after
                               * merging overlaps: the whole file, 200) */
    const char *cache_control; /* NULL = none */
};

/*
 * Serves a file with conditional requests (ETag, Last-Modified,
 * If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since,
 * If-Range → 304/412), Range (single → 206, several → multipart/byteranges,
 * unsatisfiable → 416) and sendfile. Errors before the head is sent become
 * 404/403 responses (returns 0).
 */
CIO_API int cio_resp_file(cio_req *req, cio_resp *res, const char *path,
                          const struct cio_file_opts *opts);

struct cio_static_opts {
    struct cio_file_opts file;
    const char *index;    /* "index.html" by default; "" = none */
    bool show_dotfiles;   /* hidden (404) by default */
    bool follow_symlinks; /* inside the root only, even when true */
    bool list_dirs;       /* an HTML listing for a directory without an
                            * index (off: 404); hidden entries, symlinks
                            * (unless followed) and special files are left
                            * out; at most 10000 entries */
};
/*
 * Serves the directory root under prefix ("/static"; "" = the whole
 * site) by adding the GET route "<prefix>/{path:.*}". root is opened
 * once, here; the rest of the path is resolved beneath it by the kernel
 * (openat2 RESOLVE_BENEATH; a per-component O_NOFOLLOW walk where openat2
 * is missing, which never follows symlinks), so "..", absolute symlinks
 * and symlinks out of root give 404; dotfiles and an encoded NUL give 404;
 * FIFOs, devices and sockets give 403. A directory serves its index
 * ("/dir" redirects to "/dir/" first), else its listing if list_dirs is
 * set, else 404.
 * Errors: CIO_EINVAL (prefix not "" or "/...", root not a directory, index
 * with a '/'), CIO_ENOMEM, and those of cio_app_route.
 */
CIO_API int cio_app_static(cio_app *app, const char *prefix, const char *root,
                           const struct cio_static_opts *opts);

/* ------------------------------------------------------------ serving */

struct cio_server_limits {
    uint32_t max_head;              /* header section; 0 = 16 KiB (431); the
                                 * request line and each field line have
                                 * their own 8 KiB limits (414, 431) */
    uint32_t max_fields;            /* 0 = 100 (431) */
    uint64_t max_body;              /* 0 = 1 MiB (413); UINT64_MAX = none */
    uint32_t max_conns;             /* per worker; 0 = 10000 */
    uint32_t max_requests_per_conn; /* 0 = unlimited */
    uint32_t max_pipeline;          /* requests parsed ahead; 0 = 16 */
};

struct cio_server_timeouts {
    uint32_t head_ms;       /* whole request head (slowloris); 0 = 10 s */
    uint32_t idle_ms;       /* keep-alive idle; 0 = 60 s */
    uint32_t body_min_rate; /* bytes/s after a 5 s grace (408); 0 = 1024 */
    uint32_t write_ms;      /* write progress: the peer taking no byte of
                              * a pending write for this long ends the
                              * connection (the deadline moves on with
                              * every byte taken, so a slow reader that
                              * keeps reading is served); 0 = 30 s */
    uint32_t grace_ms;      /* graceful stop before canceling; 0 = 10 s */
};

struct cio_listen {
    const char *addr;     /* "host:port" ("[::1]:0", "0.0.0.0:8080") or
                              * "unix:/path" / "unix:@abstract" */
    const char *tls_cert; /* PEM chain; NULL = cleartext */
    const char *tls_key;
    /* More certificates chosen by SNI: arrays ended by NULL, same length. */
    const char *const *sni_certs;
    const char *const *sni_keys;
    bool proxy_protocol; /* expect a PROXY v1/v2 header first */
};

struct cio_server_opts {
    const char *listen;               /* shorthand for one cleartext listener */
    const struct cio_listen *listens; /* array ended by {0}; or NULL */
    unsigned workers;                 /* threads with their own loop;
                                       * 0 = one per online CPU */
    struct cio_server_limits limits;
    struct cio_server_timeouts timeouts;
    const char *server_name; /* Server header; NULL = none */
    bool handle_signals;     /* cio_serve: SIGINT/SIGTERM → graceful
                                       * stop (always on in cio_serve) */
    /* Called (on each worker) with the bound addresses, e.g. to print the
     * ephemeral port. */
    void (*on_listen)(cio_server *srv, void *ud);
    void *ud;
};

/*
 * Creates a server for app and binds its listeners (with SO_REUSEPORT for
 * workers > 1). Must be called in a task. Does not accept yet. Without any
 * listener the server has one worker and serves in-process connections
 * only (cio_server_connect).
 * Errors: CIO_EINVAL, CIO_EADDRINUSE, CIO_ETLS, CIO_ENOMEM.
 */
CIO_API int cio_server_new(cio_server **out, cio_app *app,
                           const struct cio_server_opts *opts);

/*
 * Runs startup hooks, then serves (on the calling loop, plus workers - 1
 * threads) until cio_server_stop() or the calling task is canceled, then
 * stops gracefully: stop accepting, run shutdown hooks, let in-flight
 * requests finish within grace_ms, cancel the rest, run cleanup hooks.
 * Returns 0 after a stop, or the first startup hook's error; CIO_EINVAL
 * when the server is already running (one cio_server_run at a time).
 * If SIGPIPE is at its default disposition it is set to ignored, for the
 * process, as nginx does: sendfile(2) cannot be told not to raise it, and
 * its default action would end the process when a client goes away
 * mid-file (writes then fail with CIO_EPIPE instead). An application that
 * installed its own SIGPIPE disposition keeps it.
 */
CIO_API int cio_server_run(cio_server *srv);

/* Asks a running server to stop gracefully; from any task on any thread
 * of the process (thread-safe). */
CIO_API void cio_server_stop(cio_server *srv);

/*
 * In-process connections (no sockets, no descriptors): creates an
 * in-memory pipe (cio_pipe_new) and hands one end to the server's
 * HTTP/1.1 connection handling on the calling loop exactly as an accepted
 * cleartext connection (same limits, timeouts, middleware, streaming both
 * ways); returns the other end, to be closed by the caller. Call it in a
 * task of the loop that created the server while cio_server_run runs
 * there (on_listen tells when). A server created without any listener
 * (listen and listens NULL) serves only these connections, on one worker.
 * The request's peer is "pipe". Errors: CIO_EINVAL (not running, or
 * another loop), CIO_EBUSY (max_conns reached or stopping), CIO_ENOMEM.
 */
CIO_API int cio_server_connect(cio_server *srv, cio_stream **out);

/* The same as a client transport (httpx's ASGITransport):
 * `struct cio_client_opts o = {.base_url = "http://app",
 *  .connect = cio_server_connect_hook, .connect_ud = srv};`
 * srv is the cio_server; the origin (host, port, tls) is not looked at. */
CIO_API int cio_server_connect_hook(void *srv, const char *host, unsigned port,
                                    bool tls, cio_stream **out);

/* The bound address of listener i ("127.0.0.1:41234"); NULL past the end. */
CIO_API const char *cio_server_addr(const cio_server *srv, size_t i);
CIO_API unsigned cio_server_port(const cio_server *srv, size_t i);

struct cio_server_stats {
    uint64_t requests;   /* completed */
    uint32_t conns;      /* open now */
    uint32_t conns_idle; /* of which idle keep-alive */
    uint32_t inflight;   /* requests being handled */
    /* Loop lag: how late a 100 ms timer fired on a worker's loop, the
     * worst over the last 5 to 10 s and over all workers, in microseconds
     * (a busy or blocked loop shows here first; the same sampler feeds
     * corio_loop_lag_seconds). */
    uint32_t loop_lag_us;
    uint64_t accepted; /* connections accepted since start */
    uint64_t shed;     /* connections closed at once: over max_conns */
};
CIO_API void cio_server_stats(const cio_server *srv,
                              struct cio_server_stats *out);

/*
 * Frees a server that is not running: cio_server_run has returned, or was
 * never called. NULL ok. Freeing a running server (from one of its
 * handlers, hooks or on_listen, or from another thread while cio_server_run
 * is in progress) is a programming error that would pull the server from
 * under its workers: it prints "corio: cio_server_free on a running server"
 * on stderr and aborts. To stop and free from elsewhere: cio_server_stop,
 * then let the task that called cio_server_run free the server when it
 * returns.
 */
CIO_API void cio_server_free(cio_server *srv);

/*
 * The one-call entry point for programs: runs its own loop(s), serves app
 * until SIGINT or SIGTERM, stops gracefully, returns 0 (or an error).
 */
CIO_API int cio_serve(cio_app *app, const struct cio_server_opts *opts);

/* ------------------------------------------------------------ built-ins */

/* Access log to fd: format "common", "combined" or "json". */
CIO_API int cio_app_use_access_log(cio_app *app, int fd, const char *format);
/* X-Request-ID: kept when valid (<= 200 visible ASCII), else generated;
 * echoed on the response; cio_req_state(req, "request_id"). */
CIO_API int cio_app_use_request_id(cio_app *app);

/* Auth checker: returns 1 if the credentials are valid; on success the
 * user (any pointer) is stored as cio_req_state(req, "user"). */
typedef int (*cio_auth_check)(cio_req *req, const char *user_or_token,
                              const char *password, void **user, void *ud);
struct cio_auth_opts {
    const char *scheme; /* "Basic" or "Bearer" */
    const char *realm;  /* WWW-Authenticate realm; NULL = "corio" */
    cio_auth_check check;
    void *ud;
};
CIO_API int cio_app_use_auth(cio_app *app, const struct cio_auth_opts *opts);
/* For checkers: 1 if given equals expected, else 0, in a time that depends
 * only on expected's length (not on where the first difference is). */
CIO_API int cio_secure_equal(const char *given, const char *expected);

struct cio_rate_limit_opts {
    double rate;  /* tokens per second */
    double burst; /* bucket size */
    /* The key of a request (copied into key, NUL-terminated); NULL = peer IP. */
    int (*key)(cio_req *req, char *key, size_t cap, void *ud);
    void *ud;
    uint32_t max_keys; /* 0 = 100000 (least recently used dropped) */
};
/* Token bucket per key: 429 with Retry-After when empty. */
CIO_API int cio_app_use_rate_limit(cio_app *app,
                                   const struct cio_rate_limit_opts *opts);

struct cio_cors_opts {
    const char *const *origins; /* NULL-terminated; NULL or {"*"} = any */
    const char *methods; /* NULL = "GET, HEAD, POST, PUT, PATCH, DELETE" */
    const char *headers; /* allowed request headers; NULL = echo */
    const char *expose;  /* NULL = none */
    bool credentials;
    uint32_t max_age; /* preflight cache seconds; 0 = 600 */
};
CIO_API int cio_app_use_cors(cio_app *app, const struct cio_cors_opts *opts);

/* Prometheus text at path (e.g. "/metrics"): requests by route and status,
 * a latency histogram, open connections, loop lag. */
CIO_API int cio_app_use_metrics(cio_app *app, const char *path);
/* A health endpoint answering 200 {"status":"ok"} (503 while stopping). */
CIO_API int cio_app_health(cio_app *app, const char *path);

#endif
