/* SPDX-License-Identifier: MIT */
/*
 * The client core against the scripted in-loop server (tests/lib/csrv):
 * request preparation (URL, params, headers, cookies, bodies), keep-alive
 * reuse, framing of the response, hooks and timings, streaming reads.
 */
#include "test.h"

#include <jansson.h>

#include "csrv.h"

struct ctx {
    struct csrv srv;
    cio_client *c;
    struct cio_client_opts opts;
};

typedef void (*body_fn)(struct ctx *x);

static int run_main(void *arg)
{
    void **a = arg;
    struct ctx *x = a[0];
    body_fn fn = (body_fn)a[1];
    if (csrv_start(&x->srv) < 0)
        return -1;
    char base[96];
    snprintf(base, sizeof(base), "%s/", x->srv.addr);
    if (x->opts.base_url == NULL)
        x->opts.base_url = base;
    int rc = cio_client_new(&x->c, &x->opts);
    if (rc == 0) {
        fn(x);
        cio_client_free(x->c);
    }
    csrv_stop(&x->srv);
    return rc;
}

static void run(struct ctx *x, body_fn fn)
{
    void *a[2] = {x, (void *)fn};
    CIO_ASSERT_RC(cio_test_run(run_main, a), 0);
}

/* ---------------------------------------------------------------- GET */

static void t_get(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/a/b?x=1",
                          &(struct cio_request){
                              .params = (struct cio_kv[]){{"q", "a b"}, {0}},
                              .headers = (struct cio_kv[]){{"X-T", "1"}, {0}},
                          },
                          &r),
                  0);
    cr_expect_eq(cio_response_status(r), 200);
    size_t n;
    const char *b = cio_response_body(r, &n);
    cr_expect_str_eq(b, "ok");
    cr_expect_eq(n, 2);
    cr_expect_str_eq(x->srv.last.method, "GET");
    cr_expect_str_eq(x->srv.last.target, "/a/b?x=1&q=a%20b");
    cr_expect(strstr(x->srv.last.head, "\r\nX-T: 1\r\n") != NULL, "%s",
              x->srv.last.head);
    cr_expect(strstr(x->srv.last.head, "\r\nUser-Agent: corio/") != NULL);
    cr_expect(strstr(x->srv.last.head, "\r\nAccept-Encoding: gzip, deflate") !=
              NULL);
    char host[64];
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", x->srv.port);
    cr_expect(strstr(x->srv.last.head, host) != NULL);
    cr_expect(strstr(x->srv.last.head, "Content-Length") == NULL);
    cr_expect_eq(cio_response_version(r), 11);
    cr_expect_str_eq(cio_response_reason(r), "X");
    struct cio_timings tm;
    cio_response_timings(r, &tm);
    cr_expect(tm.connect > 0 && tm.request_sent >= tm.connect &&
              tm.first_byte >= tm.request_sent &&
              tm.body_done >= tm.first_byte);
    cio_response_free(r);
}

Test(client_core, get_params_headers)
{
    struct ctx x = {0};
    run(&x, t_get);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- reuse */

static void t_reuse(struct ctx *x)
{
    for (int i = 0; i < 5; i++) {
        cio_response *r;
        CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
        cio_response_free(r);
    }
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.created, 1);
    cr_expect_eq(st.reused, 4);
    cr_expect_eq(st.idle, 1);
    cr_expect_eq(st.active, 0);
    cr_expect_eq(x->srv.accepted, 1);
    cr_expect_eq(x->srv.requests, 5);
}

Test(client_core, keepalive_reuse)
{
    struct ctx x = {0};
    run(&x, t_reuse);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- bodies */

static int echo(struct csrv *s, const struct csrv_req *req,
                struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    cio__buf_printf(out, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
                    req->body_len);
    cio__buf_append(out, req->body, req->body_len);
    return 0;
}

struct prod {
    int left;
};

static ptrdiff_t producer(void *buf, size_t cap, void *ud)
{
    struct prod *p = ud;
    if (p->left == 0)
        return 0;
    p->left--;
    memset(buf, 'z', cap < 1000 ? cap : 1000);
    return cap < 1000 ? (ptrdiff_t)cap : 1000;
}

static void t_bodies(struct ctx *x)
{
    cio_response *r;
    size_t n;
    /* JSON text */
    CIO_ASSERT_RC(
        cio_post(x->c, "/j", &(struct cio_request){.json = "{\"a\":1}"}, &r),
        0);
    cr_expect_str_eq(cio_response_body(r, &n), "{\"a\":1}");
    cr_expect(strstr(x->srv.last.head, "Content-Type: application/json\r\n") !=
              NULL);
    cr_expect(strstr(x->srv.last.head, "Content-Length: 7\r\n") != NULL);
    json_t *j;
    CIO_ASSERT_RC(cio_response_json(r, &j), 0);
    cr_expect_eq(json_integer_value(json_object_get(j, "a")), 1);
    cio_response_free(r);
    /* jansson value */
    json_t *v = json_pack("{s:s}", "k", "v");
    CIO_ASSERT_RC(
        cio_put(x->c, "/j", &(struct cio_request){.json_value = v}, &r), 0);
    cr_expect_str_eq(cio_response_body(r, &n), "{\"k\":\"v\"}");
    json_decref(v);
    cio_response_free(r);
    /* form */
    CIO_ASSERT_RC(
        cio_post(x->c, "/f",
                 &(struct cio_request){
                     .form = (struct cio_kv[]){{"a", "x y"}, {"b", "&"}, {0}}},
                 &r),
        0);
    cr_expect_str_eq(cio_response_body(r, &n), "a=x+y&b=%26");
    cr_expect(strstr(x->srv.last.head, "application/x-www-form-urlencoded") !=
              NULL);
    cio_response_free(r);
    /* multipart */
    cio_multipart *mp;
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_field(mp, "f", CIO_STR_LIT("v")), 0);
    CIO_ASSERT_RC(
        cio_post(x->c, "/m", &(struct cio_request){.multipart = mp}, &r), 0);
    cr_expect(strstr(cio_response_body(r, &n), "name=\"f\"") != NULL);
    cr_expect(strstr(x->srv.last.head, "multipart/form-data; boundary=") !=
              NULL);
    cio_response_free(r);
    cio_multipart_free(mp);
    /* streaming producer, chunked */
    struct prod p = {.left = 100};
    CIO_ASSERT_RC(cio_post(x->c, "/s",
                           &(struct cio_request){
                               .body_fn = producer,
                               .body_ud = &p,
                               .body_fn_len = -1,
                               .content_type = "application/octet-stream"},
                           &r),
                  0);
    cio_response_body(r, &n);
    cr_expect_eq(n, 100000);
    cr_expect(strstr(x->srv.last.head, "Transfer-Encoding: chunked\r\n") !=
              NULL);
    cio_response_free(r);
    /* producer with a length, Expect: 100-continue */
    p.left = 3;
    CIO_ASSERT_RC(cio_post(x->c, "/s",
                           &(struct cio_request){.body_fn = producer,
                                                 .body_ud = &p,
                                                 .body_fn_len = 3000,
                                                 .expect_continue = true},
                           &r),
                  0);
    cio_response_body(r, &n);
    cr_expect_eq(n, 3000);
    cr_expect(strstr(x->srv.last.head, "Expect: 100-continue\r\n") != NULL);
    cr_expect(strstr(x->srv.last.head, "Content-Length: 3000\r\n") != NULL);
    cio_response_free(r);
    /* a producer that lies about its length */
    p.left = 2;
    CIO_EXPECT_RC(cio_post(x->c, "/s",
                           &(struct cio_request){.body_fn = producer,
                                                 .body_ud = &p,
                                                 .body_fn_len = 3000},
                           &r),
                  CIO_EINVAL);
    /* raw bytes, larger than the inline limit */
    size_t big = 300000;
    char *buf = malloc(big);
    memset(buf, 'q', big);
    CIO_ASSERT_RC(cio_post(x->c, "/r",
                           &(struct cio_request){.body = buf, .body_len = big},
                           &r),
                  0);
    cio_response_body(r, &n);
    cr_expect_eq(n, big);
    free(buf);
    cio_response_free(r);
    /* two body kinds */
    CIO_EXPECT_RC(cio_post(x->c, "/r",
                           &(struct cio_request){
                               .json = "1", .form = (struct cio_kv[]){{0}}},
                           &r),
                  CIO_EINVAL);
}

Test(client_core, bodies)
{
    struct ctx x = {.srv.fn = echo};
    run(&x, t_bodies);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- injection */

static void t_inject(struct ctx *x)
{
    cio_response *r;
    CIO_EXPECT_RC(
        cio_get(x->c, "/",
                &(struct cio_request){
                    .headers = (struct cio_kv[]){{"X", "a\r\nEvil: 1"}, {0}}},
                &r),
        CIO_EHEADER);
    CIO_EXPECT_RC(
        cio_get(x->c, "/",
                &(struct cio_request){
                    .headers = (struct cio_kv[]){{"Authorization ", "x"}, {0}}},
                &r),
        CIO_EHEADER);
    CIO_EXPECT_RC(
        cio_request(x->c, &(struct cio_request){.method = "G T", .url = "/"},
                    &r),
        CIO_EINVAL);
    CIO_EXPECT_RC(cio_get(x->c, "file:///etc/passwd", NULL, &r), CIO_EURL);
    cr_expect_eq(x->srv.requests, 0, "nothing was sent");
}

Test(client_core, injection_refused)
{
    struct ctx x = {0};
    run(&x, t_inject);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- cookies */

static int setck(struct csrv *s, const struct csrv_req *req,
                 struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    if (strcmp(req->target, "/set") == 0)
        return csrv_reply(out, 200,
                          "Set-Cookie: sid=abc; Path=/\r\n"
                          "Set-Cookie: bad=1; Domain=com\r\n",
                          "set"),
               0;
    return csrv_reply(out, 200, NULL, "x"), 0;
}

static void t_cookies(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/set", NULL, &r), 0);
    cr_expect_str_eq(cio_response_cookie(r, "sid"), "abc");
    cr_expect_null(cio_response_cookie(r, "nope"));
    cio_response_free(r);
    CIO_ASSERT_RC(cio_get(x->c, "/next",
                          &(struct cio_request){
                              .cookies = (struct cio_kv[]){{"one", "1"}, {0}}},
                          &r),
                  0);
    cr_expect(strstr(x->srv.last.head, "\r\nCookie: sid=abc; one=1\r\n") !=
                  NULL,
              "%s", x->srv.last.head);
    cr_expect(strstr(x->srv.last.head, "bad=") == NULL);
    cio_response_free(r);
}

Test(client_core, cookies_jar_and_request)
{
    struct ctx x = {.srv.fn = setck};
    run(&x, t_cookies);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- hooks */

static int phases[16], nphases;
static int hook_req(const cio_request_info *req, void *ud)
{
    (void)ud;
    cr_expect_str_eq(cio_request_info_method(req), "GET");
    return 0;
}
static int hook_resp(cio_response *r, void *ud)
{
    (void)ud;
    return cio_response_status(r) == 200 ? 0 : CIO_EPERM;
}
static void hook_phase(const cio_request_info *req, int phase, void *ud)
{
    (void)req;
    (void)ud;
    if (nphases < 16)
        phases[nphases++] = phase;
}

static void t_hooks(struct ctx *x)
{
    cio_response *r;
    nphases = 0;
    CIO_ASSERT_RC(cio_get(x->c, "/", NULL, &r), 0);
    cio_response_free(r);
    int want[] = {CIO_PHASE_POOL_WAIT, CIO_PHASE_RESOLVE,    CIO_PHASE_CONNECT,
                  CIO_PHASE_WRITE,     CIO_PHASE_FIRST_BYTE, CIO_PHASE_BODY,
                  CIO_PHASE_DONE};
    cr_expect_eq(nphases, 7);
    for (int i = 0; i < 7 && i < nphases; i++)
        cr_expect_eq(phases[i], want[i], "phase %d", i);
}

Test(client_core, hooks_and_phases)
{
    struct ctx x = {.opts.hooks = {.on_request = hook_req,
                                   .on_response = hook_resp,
                                   .on_phase = hook_phase}};
    run(&x, t_hooks);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- status */

static int st404(struct csrv *s, const struct csrv_req *req,
                 struct cio__buf *out, void *ud)
{
    (void)s;
    (void)req;
    (void)ud;
    cio__buf_printf(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    return 0;
}

static void t_raise(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/missing", NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 404);
    CIO_EXPECT_RC(cio_response_raise(r), CIO_ESTATUS);
    char want[128];
    snprintf(want, sizeof(want), "404 Not Found for url %s/missing",
             x->srv.addr);
    cr_expect_str_eq(cio_last_error(), want);
    cio_response_free(r);
}

Test(client_core, raise_for_status)
{
    struct ctx x = {.srv.fn = st404};
    run(&x, t_raise);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- streaming */

static int lines(struct csrv *s, const struct csrv_req *req,
                 struct cio__buf *out, void *ud)
{
    (void)s;
    (void)req;
    (void)ud;
    cio__buf_printf(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "4\r\na\r\nb\r\n"
                         "5\r\n\r\ncc\n\r\n"
                         "1\r\nd\r\n0\r\n\r\n");
    return 0;
}

static void t_lines(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_get(x->c, "/", &(struct cio_request){.stream = true}, &r),
                  0);
    const char *want[] = {"a", "b", "cc", "d"};
    const char *l;
    size_t n;
    for (int i = 0; i < 4; i++) {
        CIO_ASSERT_RC(cio_response_read_line(r, &l, &n, 0), 1);
        cr_expect_str_eq(l, want[i]);
    }
    CIO_EXPECT_RC(cio_response_read_line(r, &l, &n, 0), 0);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.idle, 1, "back in the pool at the end of the body");
    cio_response_free(r);
}

Test(client_core, stream_lines_chunked)
{
    struct ctx x = {.srv.fn = lines};
    run(&x, t_lines);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- expect */

static void t_expect_rejected(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_post(x->c, "/",
                           &(struct cio_request){.body = "abc",
                                                 .body_len = 3,
                                                 .expect_continue = true},
                           &r),
                  0);
    cr_expect_eq(cio_response_status(r), 417);
    cio_response_free(r);
    struct cio_pool_stats st;
    cio_client_pool_stats(x->c, &st);
    cr_expect_eq(st.conns, 0, "the declared body was never sent: not reusable");
}

Test(client_core, expect_continue_final_status_skips_body)
{
    struct ctx x = {.srv.expect_mode = 1};
    run(&x, t_expect_rejected);
    cio_test_no_leaks();
}

static void t_expect_ignored(struct ctx *x)
{
    cio_response *r;
    CIO_ASSERT_RC(cio_post(x->c, "/",
                           &(struct cio_request){.body = "abc",
                                                 .body_len = 3,
                                                 .expect_continue = true},
                           &r),
                  0);
    size_t n;
    cr_expect_str_eq(cio_response_body(r, &n), "abc",
                     "sent after the 1 s wait");
    cio_response_free(r);
}

Test(client_core, expect_continue_ignored_by_server)
{
    struct ctx x = {.srv.expect_mode = 2, .srv.fn = echo};
    run(&x, t_expect_ignored);
    cio_test_no_leaks();
}

/* ---------------------------------------------------------------- close */

static int conn_close(struct csrv *s, const struct csrv_req *req,
                      struct cio__buf *out, void *ud)
{
    (void)s;
    (void)ud;
    if (strcmp(req->target, "/close") == 0)
        return csrv_reply(out, 200, "Connection: close\r\n", "bye"), 0;
    if (strcmp(req->target, "/http10") == 0)
        return cio__buf_printf(
                   out, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"),
               0;
    return csrv_reply(out, 200, NULL, "ok"), 0;
}

static void t_conn_close(struct ctx *x)
{
    cio_response *r;
    const char *paths[] = {"/close", "/http10"};
    for (int i = 0; i < 2; i++) {
        CIO_ASSERT_RC(cio_get(x->c, paths[i], NULL, &r), 0);
        cio_response_free(r);
        struct cio_pool_stats st;
        cio_client_pool_stats(x->c, &st);
        cr_expect_eq(st.conns, 0, "%s: not kept", paths[i]);
    }
    CIO_ASSERT_RC(cio_get(x->c, "/http10", NULL, &r), 0);
    cr_expect_eq(cio_response_version(r), 10);
    cio_response_free(r);
}

Test(client_core, connection_close_and_http10_not_reused)
{
    struct ctx x = {.srv.fn = conn_close};
    run(&x, t_conn_close);
    cio_test_no_leaks();
}
