/* SPDX-License-Identifier: MIT */
/*
 * The built-in middleware against real clients (curl and python3-httpx,
 * tests/peers/mw_client.py): access log formats, X-Request-ID, Basic and
 * Bearer auth, CORS, Prometheus metrics, health (503 while stopping) and
 * rate limiting.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"
#include "srvproc.h"
#include "test.h"

static int hello(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(res, 200, "hello");
}

static int show_id(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_text(res, 200, cio_req_state(req, "request_id"));
}

static int show_user(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "user=%s",
                           (const char *)cio_req_state(req, "user"));
}

static void start(struct srvfx *f)
{
    CIO_ASSERT_RC(srvfx_start(f), 0);
}

static cio_app *new_app(void)
{
    cio_app *app;
    CIO_ASSERT_RC(cio_app_new(&app), 0);
    return app;
}

/* curl -sS -i with extra args; the URL is f->url + path. */
static void curl(struct http_res *r, struct srvfx *f, const char *path,
                 const char *const *args)
{
    const char *argv[24];
    char url[256];
    size_t n = 0;
    for (; args != NULL && *args != NULL && n < 22; args++)
        argv[n++] = *args;
    snprintf(url, sizeof(url), "%s%s", f->url, path);
    argv[n++] = url;
    argv[n] = NULL;
    cr_assert_eq(http_curl(r, argv), 0, "curl %s failed", url);
}

static void py(const char *check, const char *arg, const char *arg2)
{
    char cmd[1024], out[8192];
    const char *data = getenv("CIO_TEST_DATA");
    snprintf(
        cmd, sizeof(cmd),
        "timeout 30 /usr/bin/python3 %s/../peers/mw_client.py %s %s %s 2>&1",
        data ? data : "tests/data", check, arg, arg2 ? arg2 : "");
    int st = srvfx_sh(cmd, out, sizeof(out));
    cr_expect_eq(st, 0, "%s:\n%s", cmd, out);
    cr_expect(strncmp(out, "ok ", 3) == 0 || strstr(out, "\nok ") != NULL, "%s",
              out);
}

static struct http_res R;

/* ------------------------------------------------------------ access log */

static size_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    if (fd >= 0) {
        ssize_t k;
        while (n < cap - 1 && (k = read(fd, buf + n, cap - 1 - n)) > 0)
            n += (size_t)k;
        close(fd);
    }
    buf[n] = '\0';
    return n;
}

static void run_log(const char *format, char *path, char *text, size_t cap)
{
    struct srvfx f = {0};
    strcpy(path, "/tmp/cio-alog-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int afd = open(path, O_WRONLY | O_APPEND);
    close(fd);
    f.app = new_app();
    CIO_ASSERT_RC(cio_app_use_access_log(f.app, afd, format), 0);
    CIO_ASSERT_RC(cio_app_use_request_id(f.app), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/a", hello, NULL), 0);
    start(&f);
    curl(&R, &f, "/a?b=1",
         (const char *[]){"-A", "ua \"q\" caf\xc3\xa9", "-e", "http://ref/",
                          NULL});
    cr_expect_eq(R.status, 200);
    curl(&R, &f, "/missing",
         (const char *[]){"-H", "X-Request-ID: rid-7", NULL});
    cr_expect_eq(R.status, 404);
    srvfx_stop(&f);
    close(afd);
    read_file(path, text, cap);
}

Test(server_mw, access_log_common_and_combined)
{
    char path[64], text[8192];

    run_log("common", path, text, sizeof(text));
    unlink(path);
    cr_expect_eq(srvfx_count(text, "\n"), 2, "one line per request:\n%s", text);
    cr_expect(strncmp(text, "127.0.0.1 - - [", 15) == 0, "%s", text);
    cr_expect(strstr(text, " +0000] \"GET /a?b=1 HTTP/1.1\" 200 5\n") != NULL,
              "%s", text);
    cr_expect(strstr(text, "\"GET /missing HTTP/1.1\" 404 ") != NULL, "%s",
              text);

    run_log("combined", path, text, sizeof(text));
    unlink(path);
    cr_expect_eq(srvfx_count(text, "\n"), 2, "%s", text);
    /* Quotes get a backslash, bytes >= 0x80 become \xHH: one line, safe. */
    cr_expect(
        strstr(text,
               "\" 200 5 \"http://ref/\" \"ua \\\"q\\\" caf\\xc3\\xa9\"\n") !=
            NULL,
        "%s", text);
}

Test(server_mw, access_log_json)
{
    char path[64], text[8192];
    run_log("json", path, text, sizeof(text));
    cr_expect_eq(srvfx_count(text, "\n"), 2, "%s", text);
    cr_expect(
        strstr(text,
               "\"method\":\"GET\",\"path\":\"/a?b=1\",\"proto\":\"HTTP/1.1\","
               "\"status\":200,\"bytes\":5,") != NULL,
        "%s", text);
    cr_expect(strstr(text, "\"user_agent\":\"ua \\\"q\\\" caf\xc3\xa9\"") !=
                  NULL,
              "%s", text);
    cr_expect(strstr(text, "\"request_id\":\"rid-7\"") != NULL, "%s", text);
    py("jsonl", path, "2");
    unlink(path);
}

Test(server_mw, access_log_refuses_unknown_format)
{
    cio_app *app = new_app();
    CIO_EXPECT_RC(cio_app_use_access_log(app, 2, "apache"), CIO_EINVAL);
    CIO_EXPECT_RC(cio_app_use_access_log(app, -1, "common"), CIO_EINVAL);
    cio_app_free(app);
}

/* ------------------------------------------------------------ request id */

Test(server_mw, request_id_generated_kept_and_echoed)
{
    struct srvfx f = {0};
    f.app = new_app();
    CIO_ASSERT_RC(cio_app_use_request_id(f.app), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/id", show_id, NULL), 0);
    start(&f);
    curl(&R, &f, "/id", NULL);
    const char *h = http_header(&R, "X-Request-ID");
    cr_assert(h != NULL);
    cr_expect_eq(strlen(h), 32);
    cr_expect_eq(strspn(h, "0123456789abcdef"), 32, "%s", h);
    cr_expect_str_eq(R.body, h);
    curl(&R, &f, "/id",
         (const char *[]){"-H", "X-Request-ID: has space", NULL});
    h = http_header(&R, "X-Request-ID");
    cr_expect(h != NULL && strlen(h) == 32 && strcmp(R.body, h) == 0, "%s",
              R.head);
    char url[160];
    snprintf(url, sizeof(url), "%s/id", f.url);
    py("reqid", url, NULL);
    srvfx_stop(&f);
}

/* ------------------------------------------------------------ auth */

static int check_basic(cio_req *req, const char *user, const char *password,
                       void **out, void *ud)
{
    (void)req;
    (void)ud;
    if (strcmp(user, "alice") == 0 && cio_secure_equal(password, "s3cret")) {
        *out = "alice";
        return 1;
    }
    return 0;
}

static int check_bearer(cio_req *req, const char *token, const char *password,
                        void **out, void *ud)
{
    (void)req;
    (void)ud;
    cr_expect(password == NULL);
    if (cio_secure_equal(token, "tok.123-abc")) {
        *out = "bob";
        return 1;
    }
    return 0;
}

Test(server_mw, basic_auth)
{
    struct srvfx f = {0};
    f.app = new_app();
    const struct cio_auth_opts o = {
        .scheme = "Basic", .realm = "test", .check = check_basic};
    CIO_ASSERT_RC(cio_app_use_auth(f.app, &o), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/me", show_user, NULL), 0);
    start(&f);
    curl(&R, &f, "/me", NULL);
    cr_expect_eq(R.status, 401);
    const char *h = http_header(&R, "WWW-Authenticate");
    cr_expect(h && strcmp(h, "Basic realm=\"test\", charset=\"UTF-8\"") == 0,
              "%s", R.head);
    curl(&R, &f, "/me", (const char *[]){"-u", "alice:nope", NULL});
    cr_expect_eq(R.status, 401);
    curl(&R, &f, "/me", (const char *[]){"-u", "alice:s3cret", NULL});
    cr_expect_eq(R.status, 200);
    cr_expect_str_eq(R.body, "user=alice");
    /* Not base64, no colon, a NUL inside: all 401, never a crash. */
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Basic !!!", NULL});
    cr_expect_eq(R.status, 401);
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Basic YWxpY2U=", NULL});
    cr_expect_eq(R.status, 401);
    /* "alice\0x:s3cret" */
    curl(&R, &f, "/me",
         (const char *[]){"-H",
                          "Authorization: Basic YWxpY2UAeDpzM2NyZXQ=", NULL});
    cr_expect_eq(R.status, 401);
    curl(
        &R, &f, "/me",
        (const char *[]){"-H", "Authorization: Bearer YWxpY2U6czNjcmV0", NULL});
    cr_expect_eq(R.status, 401);
    /* The scheme is case-insensitive. */
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: basic YWxpY2U6czNjcmV0", NULL});
    cr_expect_eq(R.status, 200);
    char url[160];
    snprintf(url, sizeof(url), "%s/me", f.url);
    py("auth", url, NULL);
    srvfx_stop(&f);
}

Test(server_mw, bearer_auth)
{
    struct srvfx f = {0};
    f.app = new_app();
    const struct cio_auth_opts o = {.scheme = "Bearer", .check = check_bearer};
    CIO_ASSERT_RC(cio_app_use_auth(f.app, &o), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/me", show_user, NULL), 0);
    start(&f);
    curl(&R, &f, "/me", NULL);
    cr_expect_eq(R.status, 401);
    const char *h = http_header(&R, "WWW-Authenticate");
    cr_expect(h && strcmp(h, "Bearer realm=\"corio\"") == 0, "%s", R.head);
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Bearer wrong", NULL});
    cr_expect_eq(R.status, 401);
    h = http_header(&R, "WWW-Authenticate");
    cr_expect(
        h && strcmp(h, "Bearer realm=\"corio\", error=\"invalid_token\"") == 0,
        "%s", R.head);
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Bearer tok.123-abc", NULL});
    cr_expect_eq(R.status, 200);
    cr_expect_str_eq(R.body, "user=bob");
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Bearer tok.123-ab", NULL});
    cr_expect_eq(R.status, 401);
    curl(&R, &f, "/me",
         (const char *[]){"-H", "Authorization: Bearer tok 123", NULL});
    cr_expect_eq(R.status, 401);
    srvfx_stop(&f);

    cio_app *app = new_app();
    const struct cio_auth_opts bad = {.scheme = "Digest",
                                      .check = check_bearer};
    CIO_EXPECT_RC(cio_app_use_auth(app, &bad), CIO_EINVAL);
    const struct cio_auth_opts bad_realm = {
        .scheme = "Basic", .realm = "a\"b", .check = check_basic};
    CIO_EXPECT_RC(cio_app_use_auth(app, &bad_realm), CIO_EINVAL);
    cio_app_free(app);
}

/* ------------------------------------------------------------ CORS */

Test(server_mw, cors_listed_origins_with_credentials)
{
    struct srvfx f = {0};
    static const char *const origins[] = {"https://app.example", NULL};
    const struct cio_cors_opts o = {
        .origins = origins, .credentials = true, .expose = "X-Total"};
    f.app = new_app();
    CIO_ASSERT_RC(cio_app_use_cors(f.app, &o), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/api", hello, NULL), 0);
    CIO_ASSERT_RC(cio_app_put(f.app, "/api", hello, NULL), 0);
    start(&f);
    const char *ok = "Origin: https://app.example";
    curl(&R, &f, "/api",
         (const char *[]){"-X", "OPTIONS", "-H", ok, "-H",
                          "Access-Control-Request-Method: PUT", NULL});
    cr_expect_eq(R.status, 204);
    const char *h = http_header(&R, "Access-Control-Allow-Origin");
    cr_expect(h && strcmp(h, "https://app.example") == 0, "%s", R.head);
    cr_expect(strstr(R.head, "Access-Control-Allow-Credentials: true\r\n") !=
                  NULL,
              "%s", R.head);
    cr_expect(strstr(R.head, "Vary: Origin\r\n") != NULL, "%s", R.head);
    cr_expect(strstr(R.head, "Access-Control-Max-Age: 600\r\n") != NULL, "%s",
              R.head);
    /* a method the config does not allow */
    curl(&R, &f, "/api",
         (const char *[]){"-X", "OPTIONS", "-H", ok, "-H",
                          "Access-Control-Request-Method: TRACE", NULL});
    cr_expect_eq(R.status, 403);
    cr_expect(http_header(&R, "Access-Control-Allow-Origin") == NULL, "%s",
              R.head);
    /* an origin not listed */
    curl(&R, &f, "/api",
         (const char *[]){"-X", "OPTIONS", "-H", "Origin: https://evil.example",
                          "-H", "Access-Control-Request-Method: GET", NULL});
    cr_expect_eq(R.status, 403);
    cr_expect(http_header(&R, "Access-Control-Allow-Origin") == NULL, "%s",
              R.head);
    /* actual requests */
    curl(&R, &f, "/api", (const char *[]){"-H", ok, NULL});
    cr_expect_eq(R.status, 200);
    h = http_header(&R, "Access-Control-Allow-Origin");
    cr_expect(h && strcmp(h, "https://app.example") == 0, "%s", R.head);
    cr_expect(strstr(R.head, "Access-Control-Expose-Headers: X-Total\r\n") !=
                  NULL,
              "%s", R.head);
    curl(&R, &f, "/api",
         (const char *[]){"-H", "Origin: https://evil.example", NULL});
    cr_expect_eq(R.status, 200);
    cr_expect(http_header(&R, "Access-Control-Allow-Origin") == NULL, "%s",
              R.head);
    curl(&R, &f, "/api", NULL);
    cr_expect(http_header(&R, "Access-Control-Allow-Origin") == NULL, "%s",
              R.head);
    char url[160];
    snprintf(url, sizeof(url), "%s/api", f.url);
    py("cors", url, NULL);
    srvfx_stop(&f);
}

Test(server_mw, cors_any_origin_star_only_without_credentials)
{
    for (int cred = 0; cred <= 1; cred++) {
        struct srvfx f = {0};
        const struct cio_cors_opts o = {.credentials = cred, .max_age = 60};
        f.app = new_app();
        CIO_ASSERT_RC(cio_app_use_cors(f.app, &o), 0);
        CIO_ASSERT_RC(cio_app_get(f.app, "/api", hello, NULL), 0);
        start(&f);
        curl(&R, &f, "/api",
             (const char *[]){"-H", "Origin: https://x.example", NULL});
        const char *h = http_header(&R, "Access-Control-Allow-Origin");
        /* never "*" together with credentials */
        cr_expect(h && strcmp(h, cred ? "https://x.example" : "*") == 0,
                  "cred=%d %s", cred, R.head);
        curl(&R, &f, "/api",
             (const char *[]){"-X", "OPTIONS", "-H",
                              "Origin: https://x.example", "-H",
                              "Access-Control-Request-Method: POST", "-H",
                              "Access-Control-Request-Headers: X-A", NULL});
        cr_expect_eq(R.status, 204);
        cr_expect(strstr(R.head, "Access-Control-Allow-Headers: X-A\r\n") !=
                      NULL,
                  "%s", R.head);
        cr_expect(strstr(R.head, "Access-Control-Max-Age: 60\r\n") != NULL,
                  "%s", R.head);
        srvfx_stop(&f);
    }
}

/* ------------------------------------------------------------ metrics */

static int user(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "user %s",
                           cio_req_param(req, "id"));
}

/* The value of the sample line starting with key, or -1. */
static long sample(const char *text, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = text; p != NULL && *p != '\0';
         p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
            return strtol(p + kl + 1, NULL, 10);
    return -1;
}

Test(server_mw, prometheus_metrics)
{
    struct srvfx f = {0};
    f.app = new_app();
    CIO_ASSERT_RC(cio_app_use_metrics(f.app, "/metrics"), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/users/{id}", user, NULL), 0);
    start(&f);
    for (int i = 0; i < 3; i++)
        curl(&R, &f, "/users/1", NULL);
    curl(&R, &f, "/users/2", (const char *[]){"-X", "POST", NULL}); /* 405 */
    curl(&R, &f, "/nope", NULL);
    curl(&R, &f, "/metrics", NULL);
    cr_expect_eq(R.status, 200);
    const char *t = R.body;
    cr_expect_eq(sample(t, "corio_http_requests_total{route=\"/users/"
                           "{id}\",method=\"GET\",status=\"200\"}"),
                 3, "%s", t);
    cr_expect_eq(sample(t, "corio_http_requests_total{route=\"\",method="
                           "\"POST\",status=\"405\"}"),
                 1, "%s", t);
    cr_expect_eq(sample(t, "corio_http_requests_total{route=\"\",method="
                           "\"GET\",status=\"404\"}"),
                 1, "%s", t);
    cr_expect_eq(sample(t, "corio_http_request_duration_seconds_count{route=\"/"
                           "users/{id}\",method=\"GET\"}"),
                 3, "%s", t);
    cr_expect_eq(sample(t, "corio_http_request_duration_seconds_bucket{route="
                           "\"/users/{id}\",method=\"GET\",le=\"+Inf\"}"),
                 3, "%s", t);
    /* the scrape's own connection is open */
    cr_expect_geq(sample(t, "corio_http_connections_open"), 1, "%s", t);
    cr_expect(strstr(t, "\ncorio_loop_lag_seconds{worker=\"") != NULL, "%s", t);
    cr_expect(
        strstr(t, "# TYPE corio_http_request_duration_seconds histogram\n") !=
            NULL,
        "%s", t);
    char url[160];
    snprintf(url, sizeof(url), "%s/metrics", f.url);
    py("metrics", url, NULL);
    /* the scrape counted itself */
    curl(&R, &f, "/metrics", NULL);
    cr_expect_geq(sample(R.body, "corio_http_requests_total{route=\"/"
                                 "metrics\",method=\"GET\",status=\"200\"}"),
                  2, "%s", R.body);
    srvfx_stop(&f);
}

/* ------------------------------------------------------------ health */

/* Test-only: "/health?stop=1" begins a graceful stop, then asks health. */
static int stop_first(cio_req *req, cio_resp *res, void *ud)
{
    struct srvfx *f = ud;
    const char *q = cio_req_query(req, "stop");
    if (q != NULL && strcmp(q, "1") == 0)
        cio_server_stop(f->srv);
    return cio_next(req, res);
}

Test(server_mw, health_ok_then_503_while_stopping)
{
    struct srvfx f = {0};
    f.app = new_app();
    CIO_ASSERT_RC(cio_app_use(f.app, stop_first, &f), 0);
    CIO_ASSERT_RC(cio_app_health(f.app, "/health"), 0);
    start(&f);
    curl(&R, &f, "/health", NULL);
    cr_expect_eq(R.status, 200);
    cr_expect_str_eq(R.body, "{\"status\":\"ok\"}");
    cr_expect(strncmp(http_header(&R, "Content-Type") ?: "", "application/json",
                      16) == 0);
    curl(&R, &f, "/health?stop=1", NULL);
    cr_expect_eq(R.status, 503);
    cr_expect_str_eq(R.body, "{\"status\":\"stopping\"}");
    CIO_EXPECT_RC(srvfx_stop(&f), 0);
}

/* ------------------------------------------------------------ rate limit */

static int key_by_header(cio_req *req, char *key, size_t cap, void *ud)
{
    const char *k = cio_req_header(req, "X-Key");
    (void)ud;
    snprintf(key, cap, "%s", k ? k : "none");
    return 0;
}

Test(server_mw, rate_limit_429_with_retry_after_rounded_up)
{
    struct srvfx f = {0};
    f.app = new_app();
    /* 0.1 token/s: an empty bucket is ~10 s from its next token, so the
     * answers do not depend on how fast this test runs. */
    const struct cio_rate_limit_opts o = {.rate = 0.1, .burst = 2};
    CIO_ASSERT_RC(cio_app_use_rate_limit(f.app, &o), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/", hello, NULL), 0);
    start(&f);
    curl(&R, &f, "/", NULL);
    cr_expect_eq(R.status, 200);
    curl(&R, &f, "/", NULL);
    cr_expect_eq(R.status, 200);
    curl(&R, &f, "/", NULL);
    cr_expect_eq(R.status, 429);
    const char *h = http_header(&R, "Retry-After");
    cr_expect(h != NULL && strcmp(h, "10") == 0, "Retry-After: %s",
              h ? h : "(none)");
    srvfx_stop(&f);

    /* Keys from a callback are independent buckets. */
    struct srvfx g = {0};
    g.app = new_app();
    const struct cio_rate_limit_opts k = {
        .rate = 0.5, .burst = 1, .key = key_by_header};
    CIO_ASSERT_RC(cio_app_use_rate_limit(g.app, &k), 0);
    CIO_ASSERT_RC(cio_app_get(g.app, "/", hello, NULL), 0);
    start(&g);
    curl(&R, &g, "/", (const char *[]){"-H", "X-Key: a", NULL});
    cr_expect_eq(R.status, 200);
    curl(&R, &g, "/", (const char *[]){"-H", "X-Key: a", NULL});
    cr_expect_eq(R.status, 429);
    h = http_header(&R, "Retry-After");
    cr_expect(h != NULL && strcmp(h, "2") == 0, "Retry-After: %s",
              h ? h : "(none)");
    curl(&R, &g, "/", (const char *[]){"-H", "X-Key: b", NULL});
    cr_expect_eq(R.status, 200);
    srvfx_stop(&g);

    cio_app *app = new_app();
    const struct cio_rate_limit_opts bad = {.rate = 0, .burst = 1};
    CIO_EXPECT_RC(cio_app_use_rate_limit(app, &bad), CIO_EINVAL);
    cio_app_free(app);
}

/* ------------------------------------------------------------ loop lag */

/* Blocks the worker's loop (no yield) for ms milliseconds. */
static int busy(cio_req *req, cio_resp *res, void *ud)
{
    struct timespec t0, t;
    const char *q = cio_req_query(req, "ms");
    long ms = q ? atol(q) : 0;
    (void)ud;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 <
           ms);
    return cio_resp_text(res, 200, "done");
}

Test(server_mw, loop_lag_shows_a_blocked_loop)
{
    struct srvfx f = {0};
    f.app = new_app();
    f.opts.workers = 1; /* the stall and the lag task share the loop */
    CIO_ASSERT_RC(cio_app_use_metrics(f.app, "/metrics"), 0);
    CIO_ASSERT_RC(cio_app_get(f.app, "/busy", busy, NULL), 0);
    start(&f);
    /* The server's sampler's next deadline is always less than 100 ms
     * away, so a 1500 ms stall makes it fire at least 1400 ms late. */
    curl(&R, &f, "/busy?ms=1500", NULL);
    cr_expect_eq(R.status, 200);
    curl(&R, &f, "/metrics", NULL);
    const char *p = strstr(R.body, "\ncorio_loop_lag_seconds{worker=\"0\"} ");
    cr_assert(p != NULL, "%s", R.body);
    double lag = strtod(strchr(p, '}') + 2, NULL);
    cr_expect(lag >= 1.0, "lag %f after a 1.5 s stall", lag);
    /* one sampler: cio_server_stats reads the same window */
    struct cio_server_stats st;
    cio_server_stats(f.srv, &st);
    cr_expect(st.loop_lag_us >= 1000000, "stats lag %u us", st.loop_lag_us);
    srvfx_stop(&f);
}
