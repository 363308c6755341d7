/* SPDX-License-Identifier: MIT */
/*
 * Redirects, credentials, retries and cookies through the whole client
 * (RELIABILITY.md D.38-D.41, C.36-C.37), against the scripted raw server:
 * the exact bytes of every request are checked, so "the second request
 * carries no Authorization" is asserted on the wire, not on a struct.
 * Host-name cases (public suffixes, Secure over http) use the mock
 * transport, which needs no DNS.
 */
#include <strings.h>

#include "test.h"
#include "rawsrv.h"

#define SCRIPTS(...) ((const struct raw_step *const[]){__VA_ARGS__, NULL})

struct run {
    struct cio_client_opts opts;
    struct cio_request req;
    const char *url;
    const char *url2; /* a second request with the same client */
    int rc, rc2, status;
    char body[512];
    char msg[256];
    size_t nhist;
    int hist_status[4];
    char hist_url[4][128];
    char final_url[128];
    int connects; /* CIO_PHASE_CONNECT events */
};

static void on_phase(const cio_request_info *r, int phase, void *ud)
{
    struct run *x = ud;
    if (phase == CIO_PHASE_CONNECT)
        x->connects++;
}

static int run_main(void *arg)
{
    struct run *x = arg;
    cio_client *c;
    x->opts.hooks.on_phase = on_phase;
    x->opts.hooks.ud = x;
    int rc = cio_client_new(&c, &x->opts);
    if (rc < 0)
        return rc;
    struct cio_request req = x->req;
    req.url = x->url;
    cio_response *r = NULL;
    x->rc = cio_request(c, &req, &r);
    snprintf(x->msg, sizeof(x->msg), "%s", cio_last_error());
    if (x->rc == 0) {
        x->status = cio_response_status(r);
        size_t n;
        const char *b = cio_response_body(r, &n);
        snprintf(x->body, sizeof(x->body), "%.*s", b ? (int)n : 0, b ? b : "");
        x->nhist = cio_response_history(r);
        for (size_t i = 0; i < x->nhist && i < 4; i++) {
            const char *u;
            cio_response_history_at(r, i, &x->hist_status[i], &u);
            snprintf(x->hist_url[i], sizeof(x->hist_url[i]), "%s", u);
        }
        snprintf(x->final_url, sizeof(x->final_url), "%s", cio_response_url(r));
        cio_response_free(r);
    }
    if (x->url2 != NULL) {
        req.url = x->url2;
        x->rc2 = cio_request(c, &req, &r);
        if (x->rc2 == 0)
            cio_response_free(r);
    }
    cio_client_free(c);
    return 0;
}

static void run(struct run *x)
{
    CIO_ASSERT_RC(cio_test_run(run_main, x), 0);
}

/* 1 if the request head contains a field called name (any case). */
static int has_field(const char *req, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(req, "\r\n"); p != NULL;
         p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':')
            return 1;
        if (p[2] == '\r')
            break;
    }
    return 0;
}

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* D.38, D.39, D.40: a redirect to another port of the same host is
 * cross-origin: no Authorization (header, Basic, URL userinfo), no Cookie,
 * no Proxy-Authorization on the second request. */
Test(client_redirect, cross_origin_redirect_sends_no_credentials)
{
    static const struct raw_step b[] = {RAW_READ, RAW_SEND(OK), RAW_END};
    struct rawsrv *sb, *sa;
    cr_assert_eq(rawsrv_start(&sb, SCRIPTS(b)), 0);
    static char redir[256];
    snprintf(redir, sizeof(redir),
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/there\r\n"
             "Content-Length: 0\r\n\r\n",
             rawsrv_port(sb));
    struct raw_step a[] = {RAW_READ, RAW_SEND(redir), RAW_DRAIN(200), RAW_END};
    cr_assert_eq(rawsrv_start(&sa, SCRIPTS(a)), 0);

    /* Every kind of credential, one request per kind. */
    static const struct cio_kv hdrs[] = {
        {"authorization", "Bearer s3cret"},
        {"Cookie", "session=s3cret"},
        {"Proxy-Authorization", "Basic s3cret"},
        {NULL, NULL}};
    struct run x = {
        .req = {.headers = hdrs,
                .cookies = (struct cio_kv[]){{"c", "s3cret"}, {0}}}};
    x.url = rawsrv_url(sa, "/here");
    run(&x);
    CIO_ASSERT_RC(x.rc, 0);
    cr_expect_str_eq(x.body, "ok");
    rawsrv_wait(sb, 2000);
    size_t len;
    const char *first = rawsrv_request(sa, 0, &len);
    cr_expect(has_field(first, "Authorization") && has_field(first, "Cookie") &&
                  has_field(first, "Proxy-Authorization"),
              "%s", first);
    const char *second = rawsrv_request(sb, 0, &len);
    cr_assert_not_null(second);
    cr_expect(strstr(second, "s3cret") == NULL,
              "credentials crossed origins:\n%s", second);
    cr_expect(!has_field(second, "Authorization") &&
                  !has_field(second, "Cookie") &&
                  !has_field(second, "Proxy-Authorization"),
              "%s", second);
    rawsrv_stop(sa);
    rawsrv_stop(sb);

    /* The same with Basic, Bearer and URL-userinfo credentials. */
    for (int kind = 0; kind < 4; kind++) {
        cr_assert_eq(rawsrv_start(&sb, SCRIPTS(b)), 0);
        snprintf(redir, sizeof(redir),
                 "HTTP/1.1 %d Moved\r\nLocation: http://127.0.0.1:%u/there\r\n"
                 "Content-Length: 0\r\n\r\n",
                 kind == 3 ? 307 : 302, rawsrv_port(sb));
        cr_assert_eq(rawsrv_start(&sa, SCRIPTS(a)), 0);
        struct run y = {0};
        char url[128];
        if (kind == 0)
            y.req = (struct cio_request){.auth_basic_user = "u",
                                         .auth_basic_pass = "s3cret"};
        else if (kind == 1)
            y.req = (struct cio_request){.auth_bearer = "s3cret"};
        else if (kind == 3)
            y.req = (struct cio_request){.auth_digest_user = "u",
                                         .auth_digest_pass = "s3cret"};
        if (kind == 2)
            snprintf(url, sizeof(url), "http://u:s3cret@127.0.0.1:%u/here",
                     rawsrv_port(sa));
        else
            snprintf(url, sizeof(url), "%s", rawsrv_url(sa, "/here"));
        y.url = url;
        run(&y);
        CIO_EXPECT_RC(y.rc, 0);
        rawsrv_wait(sb, 2000);
        first = rawsrv_request(sa, 0, &len);
        if (kind < 3)
            cr_expect(has_field(first, "Authorization"), "kind %d: %s", kind,
                      first);
        second = rawsrv_request(sb, 0, &len);
        cr_assert_not_null(second, "kind %d", kind);
        cr_expect(!has_field(second, "Authorization"), "kind %d:\n%s", kind,
                  second);
        rawsrv_stop(sa);
        rawsrv_stop(sb);
    }
    cio_test_no_leaks();
}

/* Same origin: credentials and the body follow where the status says. */
Test(client_redirect, same_origin_keeps_auth_and_307_keeps_body)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                 "/next\r\nContent-Length: 0\r\n\r\n"),
        RAW_READ,
        RAW_SEND("HTTP/1.1 302 Found\r\nLocation: "
                 "/final?x=1\r\nContent-Length: 0\r\n\r\n"),
        RAW_READ,
        RAW_SEND(OK),
        RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct run x = {.req = {.method = "POST",
                            .body = "abc",
                            .body_len = 3,
                            .content_type = "text/plain",
                            .auth_basic_user = "u",
                            .auth_basic_pass = "p"}};
    char url[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/start"));
    x.url = url;
    run(&x);
    cr_assert_eq(x.rc, 0, "%s: %s (%zu conns)", cio_errname(x.rc), x.msg,
                 rawsrv_nconns(srv));
    rawsrv_wait(srv, 2000);
    size_t len;
    const char *r1 = rawsrv_request(srv, 1, &len);
    cr_expect(strncmp(r1, "POST /next HTTP/1.1\r\n", 21) == 0, "%s", r1);
    cr_expect(strstr(r1, "\r\n\r\nabc") != NULL &&
                  has_field(r1, "Content-Type"),
              "307 lost the body:\n%s", r1);
    cr_expect(strstr(r1, "Authorization: Basic dTpw\r\n") != NULL, "%s", r1);
    /* RFC 9110 §15.4.3: POST after 302 becomes GET without body or Content-*. */
    const char *r2 = rawsrv_request(srv, 2, &len);
    cr_expect(strncmp(r2, "GET /final?x=1 HTTP/1.1\r\n", 25) == 0, "%s", r2);
    cr_expect(!has_field(r2, "Content-Length") &&
                  !has_field(r2, "Content-Type"),
              "%s", r2);
    cr_expect(len >= 4 && strcmp(r2 + len - 4, "\r\n\r\n") == 0,
              "a body went with the GET");
    cr_expect(has_field(r2, "Authorization"), "%s", r2);
    /* History: both hops with their status and URL. */
    cr_expect_eq(x.nhist, 2);
    cr_expect_eq(x.hist_status[0], 307);
    cr_expect_eq(x.hist_status[1], 302);
    cr_expect(strstr(x.hist_url[0], "/start") != NULL, "%s", x.hist_url[0]);
    cr_expect(strstr(x.hist_url[1], "/next") != NULL, "%s", x.hist_url[1]);
    cr_expect(strstr(x.final_url, "/final?x=1") != NULL, "%s", x.final_url);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}

/* D.41: a loop ends at the limit with a typed error; the option lowers it. */
Test(client_redirect, redirect_loop_stops_at_the_limit)
{
    static struct raw_step s[2 * 25 + 1];
    for (int i = 0; i < 25; i++) {
        s[2 * i] = (struct raw_step)RAW_READ;
        s[2 * i + 1] =
            (struct raw_step)RAW_SEND("HTTP/1.1 302 Found\r\nLocation: "
                                      "/loop\r\nContent-Length: 0\r\n\r\n");
    }
    s[50] = (struct raw_step)RAW_END;
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct run x = {0};
    char url[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/loop"));
    x.url = url;
    run(&x);
    CIO_EXPECT_RC(x.rc, CIO_EREDIRECT);
    cr_expect_str_eq(x.msg, "too many redirects (20)");
    cr_expect_eq(rawsrv_nrequests(srv), 21);
    rawsrv_stop(srv);

    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct run y = {.opts = {.max_redirects = 3}};
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/loop"));
    y.url = url;
    run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EREDIRECT);
    cr_expect_str_eq(y.msg, "too many redirects (3)");
    rawsrv_wait(srv, 1000);
    cr_expect_eq(rawsrv_nrequests(srv), 4);
    rawsrv_stop(srv);

    /* Not following: the 302 itself is the answer. */
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct run z = {.req = {.follow_redirects = -1}};
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/loop"));
    z.url = url;
    run(&z);
    CIO_EXPECT_RC(z.rc, 0);
    cr_expect_eq(z.status, 302);
    cr_expect_eq(z.nhist, 0);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}

/* D.41: non-HTTP schemes are never fetched. */
Test(client_redirect, redirect_to_other_schemes_is_refused)
{
    static const char *const locs[] = {
        "file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi",
        "javascript:alert(1)", "gopher://127.0.0.1:70/"};
    for (size_t i = 0; i < sizeof(locs) / sizeof(locs[0]); i++) {
        char resp[160];
        snprintf(
            resp, sizeof(resp),
            "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n",
            locs[i]);
        struct raw_step s[] = {RAW_READ, RAW_SEND(resp), RAW_DRAIN(200),
                               RAW_END};
        struct rawsrv *srv;
        cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
        struct run x = {0};
        char url[96];
        snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/"));
        x.url = url;
        run(&x);
        cr_expect_eq(x.rc, CIO_EREDIRECT, "%s: %s", locs[i], cio_errname(x.rc));
        cr_expect(strstr(x.msg, "refused") != NULL, "%s", x.msg);
        rawsrv_stop(srv);
    }
    cio_test_no_leaks();
}

/* D.41: a streamed body cannot be replayed for a 307. */
static ptrdiff_t once(void *buf, size_t cap, void *ud)
{
    int *n = ud;
    if ((*n)++ > 0)
        return 0;
    memcpy(buf, "xyz", 3);
    return 3;
}

Test(client_redirect, streamed_body_is_not_replayed_on_307)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                 "/b\r\nContent-Length: 0\r\n\r\n"),
        RAW_DRAIN(200),
        RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    int calls = 0;
    struct run x = {.req = {.method = "PUT",
                            .body_fn = once,
                            .body_ud = &calls,
                            .body_fn_len = 3}};
    char url[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/a"));
    x.url = url;
    run(&x);
    CIO_EXPECT_RC(x.rc, CIO_EREDIRECT);
    cr_expect_eq(rawsrv_nrequests(srv), 1);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}

/* Retries on statuses: Retry-After honoured, idempotent methods only. */
Test(client_redirect, status_retries_follow_policy)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND(
            "HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"),
        RAW_READ,
        RAW_SEND("HTTP/1.1 429 Slow\r\nRetry-After: Thu, 01 Jan 1970 00:00:00 "
                 "GMT\r\nContent-Length: 0\r\n\r\n"),
        RAW_READ,
        RAW_SEND(OK),
        RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct cio_retry_policy pol = {.statuses = (int[]){429, 503, 0},
                                   .respect_retry_after = true,
                                   .backoff_ms = 1};
    struct run x = {.opts = {.retry = pol}};
    char url[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/r"));
    x.url = url;
    run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(x.status, 200, "status %d", x.status);
    cr_expect_eq(rawsrv_nrequests(srv), 3, "%zu", rawsrv_nrequests(srv));
    rawsrv_stop(srv);

    /* POST is not retried unless asked. */
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    struct run y = {.opts = {.retry = pol},
                    .req = {.method = "POST", .body = "a", .body_len = 1}};
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/r"));
    y.url = url;
    run(&y);
    CIO_EXPECT_RC(y.rc, 0);
    cr_expect_eq(y.status, 503);
    rawsrv_wait(srv, 1000);
    cr_expect_eq(rawsrv_nrequests(srv), 1);
    rawsrv_stop(srv);

    /* max_retries bounds it: the last answer is returned. */
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    pol.max_retries = 1;
    struct run z = {.opts = {.retry = pol}};
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/r"));
    z.url = url;
    run(&z);
    CIO_EXPECT_RC(z.rc, 0);
    cr_expect_eq(z.status, 429);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}

/* Transport retries: connect failures only, counted. */
Test(client_redirect, connect_failures_are_retried_count_times)
{
    struct rawsrv *srv;
    static const struct raw_step s[] = {RAW_END};
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    char url[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/"));
    rawsrv_stop(srv); /* the port is now closed: connections are refused */
    struct run x = {.opts = {.retries = 2}};
    x.url = url;
    run(&x);
    CIO_EXPECT_RC(x.rc, CIO_ECONNREFUSED);
    cr_expect_eq(x.connects, 3, "1 try + 2 retries, got %d", x.connects);
    struct run y = {0};
    y.url = url;
    run(&y);
    cr_expect_eq(y.connects, 1);

    /* A reset after the request was sent is not retried by this rule. */
    static const struct raw_step rst[] = {RAW_READ, RAW_RESET};
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(rst)), 0);
    struct run z = {.opts = {.retries = 3}};
    snprintf(url, sizeof(url), "%s", rawsrv_url(srv, "/"));
    z.url = url;
    run(&z);
    cr_expect_neq(z.rc, 0);
    rawsrv_wait(srv, 1000);
    cr_expect_eq(rawsrv_nrequests(srv), 1);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------ cookies */

struct cookie_run {
    const char *set_cookie;
    const char *urls[3];
    const char *check; /* the jar's Cookie header for this URL */
    char sent[256];
    size_t jar_count;
};

static int mock(const cio_request_info *req, cio_mock_resp *m, void *ud)
{
    struct cookie_run *x = ud;
    if (strstr(cio_request_info_url(req), "/set") != NULL)
        cio_mock_header(m, "Set-Cookie", x->set_cookie);
    return 0;
}

static int cookie_main(void *arg)
{
    struct cookie_run *x = arg;
    cio_client *c;
    struct cio_client_opts o = {.mock = mock, .mock_ud = x};
    int rc = cio_client_new(&c, &o);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 3 && x->urls[i] != NULL; i++) {
        cio_response *r;
        if (cio_get(c, x->urls[i], NULL, &r) == 0)
            cio_response_free(r);
    }
    int64_t now = time(NULL);
    x->jar_count = cio_cookie_jar_count(cio_client_cookies(c), now);
    cio_url *u;
    if (cio_url_parse(&u, x->check, strlen(x->check), NULL) == 0) {
        struct cio_cookie_req cr = {.scheme = cio_url_scheme(u),
                                    .host = cio_url_host(u),
                                    .path = cio_url_path(u)};
        ptrdiff_t n = cio_cookie_jar_header(cio_client_cookies(c), &cr, now,
                                            x->sent, sizeof(x->sent));
        if (n < 0)
            x->sent[0] = '\0';
        cio_url_free(u);
    }
    cio_client_free(c);
    return 0;
}

/* C.36: Domain=<public suffix> is refused through libpsl. */
Test(client_redirect, public_suffix_cookies_are_refused)
{
    static const char *const bad[] = {"a=1; Domain=co.uk", "a=1; Domain=CO.UK",
                                      "a=1; Domain=uk",
                                      "a=1; Domain=example.org"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cookie_run x = {.set_cookie = bad[i],
                               .urls = {"http://shop.example.co.uk/set"},
                               .check = "http://other.example.co.uk/get"};
        CIO_ASSERT_RC(cio_test_run(cookie_main, &x), 0);
        cr_expect_eq(x.jar_count, 0, "%s was stored", bad[i]);
        cr_expect_str_eq(x.sent, "", "%s would be sent", bad[i]);
    }
    struct cookie_run ok = {.set_cookie = "a=1; Domain=example.co.uk",
                            .urls = {"http://shop.example.co.uk/set"},
                            .check = "http://other.example.co.uk/get"};
    CIO_ASSERT_RC(cio_test_run(cookie_main, &ok), 0);
    cr_expect_str_eq(ok.sent, "a=1");
    /* C.37: Secure over http is refused. */
    struct cookie_run sec = {.set_cookie = "s=1; Secure",
                             .urls = {"http://a.example.com/set"},
                             .check = "https://a.example.com/"};
    CIO_ASSERT_RC(cio_test_run(cookie_main, &sec), 0);
    cr_expect_eq(sec.jar_count, 0, "Secure cookie over http stored");
    cio_test_no_leaks();
}

/* C.37, D.38: jar cookies are chosen per URL on every hop: a cookie of
 * 127.0.0.2 goes back to 127.0.0.2, never to 127.0.0.3 after a redirect
 * (checked on the wire). */
Test(client_redirect, jar_cookies_are_reevaluated_per_hop)
{
    static const struct raw_step b[] = {RAW_READ, RAW_SEND(OK), RAW_END};
    struct rawsrv *sa, *sb;
    if (rawsrv_start_at(&sb, SCRIPTS(b), "127.0.0.3") != 0)
        cr_skip_test("no 127.0.0.3 on this machine");
    static char redir[256];
    snprintf(redir, sizeof(redir),
             "HTTP/1.1 302 Found\r\nSet-Cookie: t=1; Path=/\r\n"
             "Location: http://127.0.0.3:%u/b\r\nContent-Length: 0\r\n\r\n",
             rawsrv_port(sb));
    struct raw_step a[] = {RAW_READ, RAW_SEND(redir), RAW_READ, RAW_SEND(OK),
                           RAW_END};
    cr_assert_eq(rawsrv_start_at(&sa, SCRIPTS(a), "127.0.0.2"), 0);
    struct run x = {0};
    char url[96], url2[96];
    snprintf(url, sizeof(url), "%s", rawsrv_url(sa, "/a"));
    snprintf(url2, sizeof(url2), "%s", rawsrv_url(sa, "/again"));
    x.url = url;
    x.url2 = url2; /* ... and it does go back home */
    run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    CIO_EXPECT_RC(x.rc2, 0);
    rawsrv_wait(sb, 2000);
    rawsrv_wait(sa, 2000);
    size_t len;
    const char *rb = rawsrv_request(sb, 0, &len);
    cr_assert_not_null(rb);
    cr_expect(!has_field(rb, "Cookie"),
              "127.0.0.2's cookie went to 127.0.0.3:\n%s", rb);
    const char *ra = rawsrv_request(sa, 1, &len);
    cr_assert_not_null(ra);
    cr_expect(strstr(ra, "\r\nCookie: t=1\r\n") != NULL, "%s", ra);
    rawsrv_stop(sa);
    rawsrv_stop(sb);
    cio_test_no_leaks();
}

/* D.43 (CVE-2018-12116): non-ASCII in a path, a query or a Location is
 * sent as percent-encoded UTF-8, never raw or truncated to Latin-1. */
Test(client_redirect, non_ascii_is_percent_encoded_on_the_wire)
{
    static const struct raw_step s[] = {
        RAW_READ,
        RAW_SEND("HTTP/1.1 302 Found\r\nLocation: "
                 "/d\xc3\xa9j\xc3\xa0?x=\xe2\x82\xac\r\n"
                 "Content-Length: 0\r\n\r\n"),
        RAW_READ,
        RAW_SEND(OK),
        RAW_END,
    };
    struct rawsrv *srv;
    cr_assert_eq(rawsrv_start(&srv, SCRIPTS(s)), 0);
    char url[128];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%u/caf\xc3\xa9/\xc4\xb0?q=\xc3\xa4\xc4\x8a",
             rawsrv_port(srv));
    struct run x = {0};
    x.url = url;
    run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    rawsrv_wait(srv, 2000);
    size_t len;
    const char *r0 = rawsrv_request(srv, 0, &len);
    cr_assert_not_null(r0);
    cr_expect(strncmp(r0, "GET /caf%C3%A9/%C4%B0?q=%C3%A4%C4%8A HTTP/1.1\r\n",
                      46) == 0,
              "%s", r0);
    const char *r1 = rawsrv_request(srv, 1, &len);
    cr_assert_not_null(r1);
    cr_expect(strncmp(r1, "GET /d%C3%A9j%C3%A0?x=%E2%82%AC HTTP/1.1\r\n", 42) ==
                  0,
              "%s", r1);
    for (size_t i = 0; i < len; i++)
        cr_expect((unsigned char)r1[i] < 0x80, "raw byte 0x%02x on the wire",
                  (unsigned char)r1[i]);
    rawsrv_stop(srv);
    cio_test_no_leaks();
}
