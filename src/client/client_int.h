/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_INT_H
#define CIO_CLIENT_INT_H

/*
 * Client internals shared by client.c (options, preparation, the request
 * loop, responses), h1.c (one HTTP/1.1 exchange) and the policy code
 * (redirect/retry/auth/proxy), which wraps cio__client_attempt().
 *
 *   cio_send(p)                          the request loop (redirects, retries
 *     └─ cio__client_attempt(st, &r)     wrap this); exactly one exchange:
 *          ├─ mock transport             the handler answers, or
 *          └─ pool acquire → connect → cio__h1_exchange()
 */

#include <stdbool.h>
#include <stdint.h>

#include <corio/client.h>
#include <corio/tls.h>

#include "base/buf.h"
#include "base/list.h"
#include "client/pool.h"
#include "client/proxy.h"
#include "client/retry.h"
#include "http/chunked.h"
#include "http/coding.h"
#include "http/h1_parse.h"

#define CIO__CLIENT_MAX_INTERIM 10   /* RELIABILITY C.30 */
#define CIO__CLIENT_CONTINUE_MS 1000 /* Expect: 100-continue wait */
#define CIO__CLIENT_INLINE_BODY                                                \
    (64 * 1024)                           /* sent with the head in one writev */
#define CIO__CLIENT_DRAIN_MAX (64 * 1024) /* drained on an early free */

struct cio_client {
    cio_loop *loop;
    cio_url *base;
    cio_headers *headers;          /* defaults, incl. User-Agent, Accept... */
    struct cio_kv *params;         /* deep copy, {0}-ended; NULL = none */
    char *cookies_everywhere;      /* "a=1; b=2" when base_url is NULL */
    struct cio_timeouts to;        /* defaults filled in */
    struct cio_pool_limits limits; /* defaults filled in */
    struct cio_client_tls tls;     /* strings owned */
    char *proxy;                   /* from opts */
    struct cio__proxy_env env;     /* proxy variables at creation (used
                                      * when trust_env) */
    bool trust_env, follow_redirects, no_decode;
    uint32_t max_redirects, retries;
    struct cio_retry_policy retry; /* statuses owned */
    struct cio_client_hooks hooks;
    cio_cookie_jar *jar;
    char *cookie_file;
    uint64_t max_body;
    cio_mock_fn mock;
    void *mock_ud;
    /* The last request URL as given and parsed (no params): the next
     * request to the same URL copies it instead of parsing again. */
    char *url_key;
    cio_url *url_parsed;
    /* The caller's transport (opts.connect): no TCP, no proxy. */
    int (*connect)(void *ud, const char *host, unsigned port, bool tls,
                   cio_stream **out);
    void *connect_ud;
    bool connect_tls;
    struct cio__pool pool;
    struct cio__pool_host *last_host; /* of the last request (cache) */
    struct cio__list responses;       /* responses holding a connection */
    /* Policy state (policy.c): */
    struct cio__retry_budget budget; /* ratio 0 until the first request */
    uint64_t nrequests, nretries;
    struct cio__list digests; /* Digest nonce cache, most recent
                                      * first (policy.c) */
    size_t ndigests;
};

enum cio__body_kind {
    CIO__BODY_NONE = 0,
    CIO__BODY_MEM,       /* body/body_len (owned) */
    CIO__BODY_FN,        /* producer, fn_len or chunked */
    CIO__BODY_MULTIPART, /* cio_multipart_read */
};

/* A prepared request: what hooks, mocks and tracers see. */
struct cio_request_info {
    cio_client *c;
    char *method; /* method_buf or heap */
    char method_buf[16];
    enum cio__h1_method mid;
    cio_url *url;
    cio_headers *headers; /* merged; Host/Cookie/framing added
                                      * per attempt */
    bool headers_shared;  /* headers is the client's defaults map
                                      * (not owned, never changed): call
                                      * cio__info_own_headers before a change */
    char *cookies;        /* per-request "a=1; b=2", or NULL */
    enum cio__body_kind body_kind;
    char *body;
    size_t body_len;
    cio_body_fn body_fn;
    void *body_ud;
    int64_t body_fn_len;
    cio_multipart *multipart;
    bool expect_continue, stream;
    int follow_redirects; /* resolved: 1 or 0 */
    struct cio_timeouts to;
    char *auth_basic_user, *auth_basic_pass, *auth_bearer;
    char *auth_digest_user, *auth_digest_pass;
};
struct cio_prepared {
    struct cio_request_info info;
};

/* One request in flight (across redirects and retries). */
struct cio__send {
    cio_client *c;
    struct cio_request_info *req; /* the attempt sends exactly this */
    double t0;                    /* monotonic ms at the start */
    cio_time total_deadline;      /* CIO_NEVER = none */
    struct cio_timings tm;
    int cur_phase;      /* the phase running now */
    void *opened_at;    /* caller's return address (debug) */
    bool absolute_form; /* proxy: send abs_target as target */
    bool borrow_req;    /* req is one-shot: the policy loop may
                                      * change its headers in place */
    /* Set by policy.c for each attempt: */
    struct cio_str abs_target; /* absolute-form target: no userinfo,
                                      * no fragment */
    const cio_url *proxy;      /* connect through this proxy, or NULL */
    const char *proxy_auth;    /* "Basic ..." for CONNECT, or NULL */
    /* Connection hook for proxies: NULL = direct (see cio__pool). */
    /* History filled by the redirect loop (policy code). */
    size_t nhist;
    int *hist_status;
    char **hist_url;
};

struct cio_mock_resp {
    int status;
    cio_headers *headers;
    struct cio__buf body;
};

struct cio_response {
    cio_client *c;         /* NULL once orphaned */
    struct cio__list node; /* c->responses while conn != NULL */
    int status, version;
    char *reason; /* reason_buf or heap */
    char reason_buf[32];
    cio_headers *headers;
    cio_url *url;
    size_t nhist;
    int *hist_status;
    char **hist_url;
    struct cio_timings tm;
    double t0;
    void *opened_at;
    bool streaming;
    bool no_decode; /* the client's, copied: r may outlive
                                      * it (r->c is cleared only for
                                      * responses on c->responses) */

    /* The body source: a connection (or the mock's fake one). */
    struct cio__conn *conn;
    enum cio__h1_method mid;
    struct cio__h1_framing fr;
    uint64_t left; /* BODY_LENGTH bytes still due */
    struct cio__chunked ch;
    bool chunked_init;
    size_t span_off, span_len, span_used; /* chunked data pending in rbuf */
    bool raw_eof;                         /* body framing complete */
    bool reusable;                        /* keep-alive allowed by the head */
    struct cio__decoder *dec;
    bool dec_tried, dec_eof, dec_done;
    bool raw_coding; /* unknown Content-Encoding: body kept raw */
    char *dbuf;      /* raw input staged for the decoder */
    size_t dlen, doff;
    uint32_t read_ms;
    cio_time total_deadline;
    int err; /* sticky body error */
    uint64_t max_body;

    /* Whole-body results. */
    struct cio__buf body;
    bool body_read;
    char *text;
    size_t text_len;
    struct json_t *json;
    struct cio__buf line;
    size_t line_off;
    char *cookie_vals; /* cio_response_cookie cache */
    size_t cookie_len;
};

/* Makes q->headers q's own (a copy of the client's defaults) if it is
 * still shared. Errors: CIO_ENOMEM. */
int cio__info_own_headers(struct cio_request_info *q);

/* Performs exactly one exchange of st->req (no redirects, no retries). */
int cio__client_attempt(struct cio__send *st, cio_response **out);

/* The HTTP/1.1 exchange on cn (acquired from the pool). On success the
 * response head is in *out and the body is ready to read. *sent_any tells
 * whether any request byte went out; *got_any whether any response byte
 * came back (for the stale keep-alive retry). */
int cio__h1_exchange(struct cio__send *st, struct cio__conn *cn,
                     const struct cio_kv *extra, cio_response *r,
                     bool *sent_any, bool *got_any);
extern const struct cio__conn_ops cio__h1_ops;

/* Body reading (client.c): undecoded body bytes (framing removed). */
ptrdiff_t cio__resp_read_raw(cio_response *r, void *buf, size_t cap);
/* The body is complete or failed: give the connection back. */
void cio__resp_finish(cio_response *r, bool ok);

/* Blocking I/O with the phase in the timeout message. */
ptrdiff_t cio__conn_read(struct cio__conn *cn, cio_response *r,
                         const char *phase);

void cio__phase(struct cio__send *st, int phase);
double cio__mono_ms(void);

/* Read-aheads of cold multipart file parts run on the executor
 * (src/client/h1.c), for tests. */
extern _Atomic unsigned long cio__client_read_aheads;

#endif
