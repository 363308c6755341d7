/* SPDX-License-Identifier: MIT */
#ifndef CORIO_CLIENT_H
#define CORIO_CLIENT_H

/*
 * The HTTP client (httpx's AsyncClient / aiohttp's ClientSession in C).
 *
 * One cio_client is shared by every task on its loop: it owns the
 * connection pool, the cookie jar and the defaults. Each task sends a
 * request with one call and gets a cio_response back. The client is bound
 * to the loop that created it (one client per loop for multi-threaded
 * programs); every call that sends blocks only the calling task.
 *
 * Requests and responses are protocol neutral: the pool hands out
 * "exchanges" on connections that carry one at a time (HTTP/1.1) or many
 * (HTTP/2 later), so nothing here changes when HTTP/2 arrives.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>
#include <corio/net.h>
#include <corio/rt.h>

typedef struct cio_client cio_client;
typedef struct cio_response cio_response;
struct json_t; /* jansson */

/* ------------------------------------------------------------ options */

/* Timeouts in milliseconds; 0 = the default; UINT32_MAX = none. */
struct cio_timeouts {
    uint32_t connect_ms; /* resolve + TCP connect + TLS handshake; 0 = 10 s */
    uint32_t read_ms;    /* gap between received bytes; 0 = 30 s */
    uint32_t write_ms;   /* no write progress; 0 = 30 s */
    uint32_t pool_ms;    /* waiting for a connection slot; 0 = 30 s */
    uint32_t total_ms;   /* the whole request incl. redirects and retries,
                          * until the body is read; 0 = none */
};

struct cio_pool_limits {
    uint32_t max_conns;          /* all hosts; 0 = see docs/client.md */
    uint32_t max_conns_per_host; /* 0 = see docs/client.md */
    uint32_t max_idle_per_host;  /* kept alive; 0 = max_conns_per_host */
    uint32_t keepalive_ms;       /* idle expiry; 0 = 60 s */
};

/* Retries of a request on statuses (optional; off unless statuses set). */
struct cio_retry_policy {
    const int *statuses;       /* ended by 0, e.g. (int[]){429, 503, 0} */
    uint32_t max_retries;      /* 0 = 3 */
    uint32_t backoff_ms;       /* first delay; doubles; 0 = 100 */
    uint32_t max_backoff_ms;   /* 0 = 10 s; also caps Retry-After */
    bool respect_retry_after;  /* default false: set true to honour it */
    bool retry_non_idempotent; /* POST/PATCH too (default: no) */
    /* A client-wide budget: retries may add at most this fraction of
     * requests (0.2 = 20 %); 0 = 0.2. */
    double budget_ratio;
};

struct cio_client_tls {
    const char *ca_file;   /* PEM bundle; NULL = system CA store */
    const char *cert_file; /* client certificate */
    const char *key_file;
    /* Disables certificate and host name verification. Never in production. */
    bool insecure_skip_verify;
};

/* Event hooks: called in the requesting task; a negative return aborts the
 * request with that error. */
typedef struct cio_request_info cio_request_info; /* see below */
struct cio_client_hooks {
    int (*on_request)(const cio_request_info *req, void *ud);
    int (*on_response)(cio_response *resp, void *ud);
    /* Phase events for tracing (see enum cio_phase). */
    void (*on_phase)(const cio_request_info *req, int phase, void *ud);
    void *ud;
};

enum cio_phase {
    CIO_PHASE_POOL_WAIT = 1, /* waiting for a connection slot */
    CIO_PHASE_RESOLVE,
    CIO_PHASE_CONNECT,
    CIO_PHASE_TLS,
    CIO_PHASE_WRITE,      /* writing the request */
    CIO_PHASE_FIRST_BYTE, /* waiting for the response head */
    CIO_PHASE_BODY,       /* reading the response body */
    CIO_PHASE_DONE,
};

/*
 * A transport replaces the network (httpx's MockTransport): fn gets the
 * final request and fills a response with cio_mock_* calls. Runs in the
 * requesting task (may block). See cio_mock_*.
 */
typedef struct cio_mock_resp cio_mock_resp;
typedef int (*cio_mock_fn)(const cio_request_info *req, cio_mock_resp *resp,
                           void *ud);

struct cio_client_opts {
    const char *base_url;         /* relative request URLs resolve here */
    const struct cio_kv *headers; /* default headers, ended by {0} */
    const struct cio_kv *params;  /* default query params */
    const struct cio_kv *cookies; /* default cookies (put in the jar for
                                  * base_url's host, or sent everywhere
                                  * when base_url is NULL) */
    const char *user_agent;       /* NULL = "corio/<version>"; "" = none */
    struct cio_timeouts timeouts;
    struct cio_pool_limits limits;
    struct cio_client_tls tls;
    /* "scheme://[user:pass@]host[:port]" or "host:port" (http assumed).
     * http:// and https:// (TLS to the proxy, verified with .tls):
     * absolute-form for http:// targets, a CONNECT tunnel for https://.
     * socks5:// (names resolved by the client) and socks5h:// (by the
     * proxy): a SOCKS5 tunnel for every target, userinfo as RFC 1929
     * username/password; the default port is 1080. Other schemes fail
     * with CIO_EPROXY. NULL = from the environment (http_proxy,
     * https_proxy, all_proxy, no_proxy, lowercase first) unless
     * no_trust_env. See docs/client.md. */
    const char *proxy;
    bool no_trust_env; /* ignore HTTP_PROXY/HTTPS_PROXY/NO_PROXY */
    /* Redirects: followed by default (like aiohttp and requests; httpx's
     * default is not to: see docs/client.md). */
    bool no_follow_redirects;
    uint32_t max_redirects; /* 0 = 20 */
    uint32_t retries;       /* connect-failure retries; 0 = none */
    struct cio_retry_policy retry;
    struct cio_client_hooks hooks;
    bool no_cookies;         /* no jar */
    const char *cookie_file; /* Netscape file: loaded now, saved on free */
    bool no_decode;          /* keep Content-Encoding as received */
    uint64_t max_body;       /* cio_response_body() cap; 0 = 64 MiB */
    cio_mock_fn mock;        /* non-NULL: no network, mock transport */
    void *mock_ud;
    /* Opens the stream of a new connection instead of a TCP connect (and
     * without a proxy): the in-process transport is
     * `.connect = cio_server_connect_hook, .connect_ud = srv` (server.h).
     * host/port/tls name the request's origin; the pool key, limits and
     * keep-alive are unchanged. Called in the requesting task; returns 0
     * with *out or a negative error. NULL = the network. */
    int (*connect)(void *ud, const char *host, unsigned port, bool tls,
                   cio_stream **out);
    void *connect_ud;
    bool connect_tls; /* https over connect streams gets a TLS
                                  * handshake too (default: none) */
};

/*
 * Creates a client bound to the calling thread's loop. opts may be NULL.
 * Errors: CIO_EINVAL (the message names the field), CIO_ETLS (CA or
 * certificate files), CIO_ENOMEM.
 */
CIO_API int cio_client_new(cio_client **out,
                           const struct cio_client_opts *opts);

/* Closes idle connections, saves the cookie file, frees. Responses still
 * open keep their connection until freed. No task may be inside a call on
 * c (sending, or waiting for a pool slot) when it is freed: end or wait for
 * those tasks first (free the group that runs them). NULL ok. */
CIO_API void cio_client_free(cio_client *c);

/* The client's jar (NULL with no_cookies). */
CIO_API cio_cookie_jar *cio_client_cookies(cio_client *c);

struct cio_pool_stats {
    uint32_t conns; /* open */
    uint32_t idle;
    uint32_t active;  /* carrying an exchange */
    uint32_t waiting; /* tasks waiting for a slot */
    uint64_t created, reused;
    uint64_t wait_ms_total; /* summed pool wait */
    uint32_t max_active;    /* most connections active at once so far */
};
CIO_API void cio_client_pool_stats(const cio_client *c,
                                   struct cio_pool_stats *out);

/* ------------------------------------------------------------ requests */

/* A request body producer (streaming upload): return bytes written into
 * buf (> 0), 0 at the end, or a negative error. May block. */
typedef ptrdiff_t (*cio_body_fn)(void *buf, size_t cap, void *ud);

struct cio_request {
    const char *method;           /* NULL = "GET" */
    const char *url;              /* absolute, or relative to base_url */
    const struct cio_kv *params;  /* appended to the query, ended by {0} */
    const struct cio_kv *headers; /* override the client's by name */
    const struct cio_kv *cookies; /* sent with this request only */

    /* At most one body kind: */
    const void *body; /* raw bytes (body_len of them) */
    size_t body_len;
    const char *json;                /* a JSON text */
    const struct json_t *json_value; /* a jansson value (not stolen) */
    const struct cio_kv *form;       /* application/x-www-form-urlencoded */
    cio_multipart *multipart;        /* multipart/form-data (not freed) */
    cio_body_fn body_fn;             /* streaming upload ... */
    void *body_ud;
    int64_t body_fn_len;      /* ... of this length, or -1 = chunked */
    const char *content_type; /* for body/body_fn; NULL = none */

    bool expect_continue; /* send Expect: 100-continue */
    bool stream;          /* return after the head: read the body with
                                  * cio_response_read*, then free */
    int follow_redirects; /* 0 = client's setting, 1 = yes, -1 = no */
    const struct cio_timeouts *timeouts; /* NULL = client's */

    /* Authentication (sent to the request's first origin only, never
     * after a redirect to another scheme, host or port). Digest answers
     * the server's 401 challenge with a second request. */
    const char *auth_basic_user, *auth_basic_pass;
    const char *auth_bearer;
    const char *auth_digest_user, *auth_digest_pass;
};

/*
 * Sends a request and returns its response in *out. Without .stream the
 * body has been read (and decoded) when this returns. A response with an
 * HTTP error status is still a success (see cio_response_raise).
 * Errors: CIO_EURL, CIO_EINVAL, CIO_ERESOLVE/CIO_ENOHOST,
 * CIO_ECONNREFUSED, CIO_ETIMEDOUT (the message names the phase),
 * CIO_ECERT/CIO_ETLS, CIO_EPROTO (a malformed response; the message says
 * what), CIO_ETOOBIG, CIO_ECODING, CIO_EREDIRECT, CIO_EPROXY, CIO_ECANCELED.
 */
CIO_API int cio_request(cio_client *c, const struct cio_request *req,
                        cio_response **out);

/* Shorthands; req may be NULL or give params/headers/body/etc. (its
 * method and url are ignored). */
CIO_API int cio_get(cio_client *c, const char *url,
                    const struct cio_request *req, cio_response **out);
CIO_API int cio_head(cio_client *c, const char *url,
                     const struct cio_request *req, cio_response **out);
CIO_API int cio_options(cio_client *c, const char *url,
                        const struct cio_request *req, cio_response **out);
CIO_API int cio_post(cio_client *c, const char *url,
                     const struct cio_request *req, cio_response **out);
CIO_API int cio_put(cio_client *c, const char *url,
                    const struct cio_request *req, cio_response **out);
CIO_API int cio_patch(cio_client *c, const char *url,
                      const struct cio_request *req, cio_response **out);
CIO_API int cio_delete(cio_client *c, const char *url,
                       const struct cio_request *req, cio_response **out);

/*
 * A prepared request (httpx's build_request + send): the URL resolved, the
 * headers merged, the body encoded. It can be inspected, changed and sent
 * several times.
 */
typedef struct cio_prepared cio_prepared;
CIO_API int cio_prepare(cio_client *c, const struct cio_request *req,
                        cio_prepared **out);
CIO_API const cio_request_info *cio_prepared_info(const cio_prepared *p);
CIO_API cio_headers *cio_prepared_headers(cio_prepared *p);
CIO_API int cio_send(cio_client *c, cio_prepared *p, cio_response **out);
CIO_API void cio_prepared_free(cio_prepared *p);

/* What a hook, a mock or a tracer sees of a request. */
CIO_API const char *cio_request_info_method(const cio_request_info *r);
CIO_API const char *cio_request_info_url(const cio_request_info *r);
CIO_API const cio_headers *cio_request_info_headers(const cio_request_info *r);
/* The whole body if it is in memory (NULL for a streamed body). */
CIO_API const void *cio_request_info_body(const cio_request_info *r,
                                          size_t *len);

/*
 * The blocking one-call API (httpx's sync API): runs its own loop and
 * client for one request. For programs that are not in a task.
 */
CIO_API int cio_fetch(const struct cio_request *req,
                      const struct cio_client_opts *opts, cio_response **out);

/* ------------------------------------------------------------ responses */

CIO_API int cio_response_status(const cio_response *r);
CIO_API const char *cio_response_reason(const cio_response *r);
/* 10, 11 or 20. */
CIO_API int cio_response_version(const cio_response *r);
CIO_API const char *cio_response_header(const cio_response *r,
                                        const char *name);
CIO_API const cio_headers *cio_response_headers(const cio_response *r);
/* A cookie set by this response (Set-Cookie), NULL if none. */
CIO_API const char *cio_response_cookie(const cio_response *r,
                                        const char *name);
/* The final URL (after redirects). */
CIO_API const char *cio_response_url(const cio_response *r);
/* Redirects followed: their count, and status/URL of hop i (0 = first). */
CIO_API size_t cio_response_history(const cio_response *r);
CIO_API int cio_response_history_at(const cio_response *r, size_t i,
                                    int *status, const char **url);

/* Milliseconds since the request started, per phase end (0 = not reached). */
struct cio_timings {
    double pool_wait, resolve, connect, tls, request_sent, first_byte,
        body_done;
    double elapsed;
};
CIO_API void cio_response_timings(const cio_response *r,
                                  struct cio_timings *out);

/* The whole body (read on first call when streaming), decoded;
 * NUL-terminated; owned by r. NULL with *len 0 on error: see
 * cio_response_error(). */
CIO_API const char *cio_response_body(cio_response *r, size_t *len);
/* The body as UTF-8 text (converted from the Content-Type charset when it
 * is ISO-8859-1/Latin-1 or US-ASCII; other charsets: CIO_ENOTSUP). */
CIO_API int cio_response_text(cio_response *r, const char **text, size_t *len);
/* The body parsed as JSON (owned by r). Errors: CIO_EPROTO, CIO_ENOTSUP. */
CIO_API int cio_response_json(cio_response *r, struct json_t **out);
/* The error that ended a body read, or 0. CIO_ENOTSUP (with the body
 * intact) when the Content-Encoding is unknown: the body is the raw,
 * still-encoded bytes. */
CIO_API int cio_response_error(const cio_response *r);

/* CIO_ESTATUS (message "404 Not Found for url ...") for 4xx and 5xx, else 0. */
CIO_API int cio_response_raise(const cio_response *r);

/* Streaming reads (request sent with .stream). Each returns bytes (> 0),
 * 0 at the end, or an error; the read timeout applies to each call. */
CIO_API ptrdiff_t cio_response_read(cio_response *r, void *buf, size_t cap);
/* Undecoded body bytes (Content-Encoding kept; chunked framing removed). */
CIO_API ptrdiff_t cio_response_read_raw(cio_response *r, void *buf, size_t cap);
/* One line without its LF (and CR), owned by r until the next call;
 * lines longer than max (0 = 64 KiB) fail with CIO_ETOOBIG.
 * Returns 1 with a line, 0 at the end. */
CIO_API int cio_response_read_line(cio_response *r, const char **line,
                                   size_t *len, size_t max);

/*
 * Releases the response. An unread body: the connection is drained and
 * reused if the rest is small and quick (<= 64 KiB already framed), else
 * closed. A debug build reports streaming responses never freed (with the
 * address that opened them) when the client is freed.
 */
CIO_API void cio_response_free(cio_response *r);

/* ------------------------------------------------------------ mocks */

CIO_API int cio_mock_status(cio_mock_resp *m, int status);
CIO_API int cio_mock_header(cio_mock_resp *m, const char *name,
                            const char *value);
CIO_API int cio_mock_body(cio_mock_resp *m, const void *data, size_t len);

#endif
