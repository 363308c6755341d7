/* SPDX-License-Identifier: MIT */
/*
 * The policy loop through the mock transport (no network, host names
 * without DNS): a prepared request is unchanged by the redirects it went
 * through and can be sent again; what each hop looked like to the server
 * (method, URL, credentials); Digest challenge-response; hooks see every
 * attempt; the total deadline bounds a Retry-After pause.
 */
#include "test.h"

struct seen {
    int n;
    char line[8][160]; /* "METHOD URL auth=<Authorization or ->" */
    int digest_calls;
};

static int mock(const cio_request_info *req, cio_mock_resp *m, void *ud)
{
    struct seen *s = ud;
    const char *url = cio_request_info_url(req);
    const char *auth =
        cio_headers_get(cio_request_info_headers(req), "Authorization");
    if (s->n < 8)
        snprintf(s->line[s->n], sizeof(s->line[0]), "%s %s auth=%s",
                 cio_request_info_method(req), url, auth ? auth : "-");
    s->n++;
    if (strstr(url, "/hop") != NULL) {
        cio_mock_status(m, 302);
        cio_mock_header(m, "Location", "http://b.test/landed");
    } else if (strstr(url, "/abs") != NULL) {
        cio_mock_status(m, 302);
        cio_mock_header(m, "Location", "http://a.test/landed");
    } else if (strstr(url, "/away") != NULL) {
        cio_mock_status(m, 302);
        cio_mock_header(m, "Location", "http://b.test/abs");
    } else if (strstr(url, "/same") != NULL) {
        cio_mock_status(m, 301);
        cio_mock_header(m, "Location", "/landed");
    } else if (strstr(url, "/digest") != NULL) {
        s->digest_calls++;
        if (auth == NULL || strncmp(auth, "Digest ", 7) != 0) {
            cio_mock_status(m, 401);
            cio_mock_header(m, "WWW-Authenticate", "Basic realm=\"x\"");
            cio_mock_header(m, "WWW-Authenticate",
                            "Digest realm=\"r\", nonce=\"abc\", qop=\"auth\", "
                            "algorithm=SHA-256");
        }
    } else if (strstr(url, "/busy") != NULL) {
        cio_mock_status(m, 503);
        cio_mock_header(m, "Retry-After", "5");
    }
    cio_mock_body(m, "x", 1);
    return 0;
}

struct run {
    struct seen s;
    int rc[2];
    int status[2];
    size_t hist[2];
    bool prepared_auth_kept;
    char final_url[128];
};

static int prepared_main(void *arg)
{
    struct run *x = arg;
    cio_client *c;
    struct cio_client_opts o = {.mock = mock, .mock_ud = &x->s};
    int rc = cio_client_new(&c, &o);
    if (rc < 0)
        return rc;
    cio_prepared *p;
    rc = cio_prepare(
        c,
        &(struct cio_request){
            .method = "POST",
            .url = "http://a.test/hop",
            .body = "abc",
            .body_len = 3,
            .headers = (struct cio_kv[]){{"Authorization", "Bearer t"}, {0}}},
        &p);
    if (rc == 0) {
        for (int i = 0; i < 2; i++) {
            cio_response *r;
            x->rc[i] = cio_send(c, p, &r);
            if (x->rc[i] == 0) {
                x->status[i] = cio_response_status(r);
                x->hist[i] = cio_response_history(r);
                snprintf(x->final_url, sizeof(x->final_url), "%s",
                         cio_response_url(r));
                cio_response_free(r);
            }
        }
        const char *a =
            cio_headers_get(cio_prepared_headers(p), "Authorization");
        x->prepared_auth_kept = a != NULL && strcmp(a, "Bearer t") == 0;
        cio_prepared_free(p);
    }
    cio_client_free(c);
    return rc;
}

Test(policy, prepared_request_survives_redirects)
{
    struct run x = {0};
    CIO_ASSERT_RC(cio_test_run(prepared_main, &x), 0);
    for (int i = 0; i < 2; i++) {
        CIO_EXPECT_RC(x.rc[i], 0);
        cr_expect_eq(x.status[i], 200);
        cr_expect_eq(x.hist[i], 1);
    }
    cr_expect_str_eq(x.final_url, "http://b.test/landed");
    cr_expect(x.prepared_auth_kept,
              "the redirect stripped the prepared request");
    cr_assert_eq(x.s.n, 4);
    for (int i = 0; i < 4; i += 2) {
        cr_expect_str_eq(x.s.line[i], "POST http://a.test/hop auth=Bearer t");
        cr_expect_str_eq(x.s.line[i + 1], "GET http://b.test/landed auth=-");
    }
    cio_test_no_leaks();
}

struct one {
    const char *url;
    struct cio_request req;
    struct cio_client_opts opts;
    struct seen s;
    int rc, status;
};

static int one_main(void *arg)
{
    struct one *x = arg;
    cio_client *c;
    x->opts.mock = mock;
    x->opts.mock_ud = &x->s;
    int rc = cio_client_new(&c, &x->opts);
    if (rc < 0)
        return rc;
    struct cio_request q = x->req;
    q.url = x->url;
    cio_response *r;
    x->rc = cio_request(c, &q, &r);
    if (x->rc == 0) {
        x->status = cio_response_status(r);
        cio_response_free(r);
    }
    cio_client_free(c);
    return 0;
}

Test(policy, same_origin_keeps_credentials_of_every_kind)
{
    struct one x = {.url = "http://u:p@a.test/same"};
    CIO_ASSERT_RC(cio_test_run(one_main, &x), 0);
    CIO_EXPECT_RC(x.rc, 0);
    cr_assert_eq(x.s.n, 2);
    cr_expect_str_eq(x.s.line[0], "GET http://u:p@a.test/same auth=Basic dTpw");
    cr_expect_str_eq(x.s.line[1],
                     "GET http://u:p@a.test/landed auth=Basic dTpw");
    struct one y = {.url = "http://a.test/same", .req = {.auth_bearer = "tok"}};
    CIO_ASSERT_RC(cio_test_run(one_main, &y), 0);
    cr_expect_str_eq(y.s.line[1], "GET http://a.test/landed auth=Bearer tok");
    struct one z = {.url = "http://a.test/hop", .req = {.auth_bearer = "tok"}};
    CIO_ASSERT_RC(cio_test_run(one_main, &z), 0);
    cr_expect_str_eq(z.s.line[1], "GET http://b.test/landed auth=-");
    cio_test_no_leaks();
}

Test(policy, digest_challenge_is_answered_once)
{
    struct one x = {.url = "http://a.test/digest?q=1",
                    .req = {.auth_digest_user = "u", .auth_digest_pass = "p"}};
    CIO_ASSERT_RC(cio_test_run(one_main, &x), 0);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(x.status, 200);
    cr_expect_eq(x.s.digest_calls, 2);
    cr_expect(strstr(x.s.line[1],
                     "auth=Digest username=\"u\", realm=\"r\", "
                     "uri=\"/digest?q=1\", algorithm=SHA-256") != NULL,
              "%s", x.s.line[1]);
    cr_expect(strstr(x.s.line[1], "nc=00000001") != NULL, "%s", x.s.line[1]);
    /* Basic credentials do not answer a Digest challenge (no downgrade). */
    struct one y = {.url = "http://a.test/digest",
                    .req = {.auth_basic_user = "u"}};
    CIO_ASSERT_RC(cio_test_run(one_main, &y), 0);
    cr_expect_eq(y.status, 401);
    cr_expect_eq(y.s.digest_calls, 1);
    cio_test_no_leaks();
}

Test(policy, total_deadline_bounds_retry_after)
{
    /* Retry-After: 5 s, but only 300 ms in all: the 503 comes back at once
     * instead of a pause past the deadline. */
    struct one x = {.url = "http://a.test/busy",
                    .opts = {.timeouts = {.total_ms = 300},
                             .retry = {.statuses = (int[]){503, 0},
                                       .respect_retry_after = true}}};
    CIO_ASSERT_RC(cio_test_run(one_main, &x), 0);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(x.status, 503);
    cr_expect_eq(x.s.n, 1, "retried after a pause past the deadline");
    cio_test_no_leaks();
}

/* A one-shot request shares the client's default headers until it changes
 * them: a cross-origin redirect strips a default Authorization from that
 * request only, never from the client's defaults. */
static int defaults_main(void *arg)
{
    struct seen *s = arg;
    cio_client *c;
    struct cio_client_opts o = {
        .mock = mock,
        .mock_ud = s,
        .headers = (struct cio_kv[]){{"Authorization", "Bearer dflt"},
                                     {"Content-Length", "99"},
                                     {0}},
    };
    int rc = cio_client_new(&c, &o);
    if (rc < 0)
        return rc;
    const char *urls[] = {"http://a.test/hop", "http://a.test/plain"};
    for (int i = 0; i < 2 && rc == 0; i++) {
        cio_response *r;
        rc = cio_get(c, urls[i], NULL, &r);
        if (rc == 0)
            cio_response_free(r);
    }
    cio_client_free(c);
    return rc;
}

Test(policy, default_headers_are_not_changed_by_a_request)
{
    struct seen s = {0};
    CIO_ASSERT_RC(cio_test_run(defaults_main, &s), 0);
    cr_assert_eq(s.n, 3);
    cr_expect_str_eq(s.line[0], "GET http://a.test/hop auth=Bearer dflt");
    cr_expect_str_eq(s.line[1], "GET http://b.test/landed auth=-");
    cr_expect_str_eq(s.line[2], "GET http://a.test/plain auth=Bearer dflt");
    cio_test_no_leaks();
}

/* The URL's user:pass@ belongs to its origin, not to the spelling of the
 * Location: an absolute same-origin redirect, or a return to the first
 * origin after leaving it, still carries them (docs/client.md). */
Test(policy, url_credentials_follow_their_origin)
{
    struct one x = {.url = "http://u:p@a.test/abs"};
    CIO_ASSERT_RC(cio_test_run(one_main, &x), 0);
    CIO_EXPECT_RC(x.rc, 0);
    cr_assert_eq(x.s.n, 2);
    cr_expect_str_eq(x.s.line[0], "GET http://u:p@a.test/abs auth=Basic dTpw");
    cr_expect_str_eq(x.s.line[1], "GET http://a.test/landed auth=Basic dTpw");
    struct one y = {.url = "http://u:p@a.test/away"};
    CIO_ASSERT_RC(cio_test_run(one_main, &y), 0);
    CIO_EXPECT_RC(y.rc, 0);
    cr_assert_eq(y.s.n, 3);
    cr_expect_str_eq(y.s.line[1], "GET http://b.test/abs auth=-");
    cr_expect_str_eq(y.s.line[2], "GET http://a.test/landed auth=Basic dTpw");
    cio_test_no_leaks();
}
