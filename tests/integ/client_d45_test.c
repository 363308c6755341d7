/* SPDX-License-Identifier: MIT */
/*
 * RELIABILITY.md D.45: verified and unverified TLS connections are never
 * mixed (CVE-2022-27782, CVE-2021-22924). A corio TLS server on 127.0.0.1
 * with a certificate of the test CA is asked, on one loop, by clients
 * with different TLS settings: one that skips verification, one that
 * verifies against the system store (the test CA is not in it), one that
 * verifies against the test CA. Each handshake is its own: the verifying
 * client fails while the other holds an idle connection to the same
 * origin, and the server counts one accepted connection per client.
 * Also: a caller's transport (opts.connect) gets TLS only with connect_tls.
 */
#include <stdio.h>

#include "test.h"

/* In a task: an assert would longjmp off the task's stack. */
#define CHECK_RC(got, want)                                                    \
    do {                                                                       \
        int g_ = (int)(got);                                                   \
        CIO_EXPECT_RC(g_, want);                                               \
        if (g_ != (int)(want))                                                 \
            return -1;                                                         \
    } while (0)
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

static int h_ok(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return cio_resp_printf(res, 200, "text/plain", "ok %d",
                           cio_req_secure(req));
}

struct env {
    cio_server *srv;
    cio_event *up;
};

static void on_listen(cio_server *srv, void *ud)
{
    (void)srv;
    cio_event_set(((struct env *)ud)->up);
}

static void serve_task(void *arg)
{
    struct env *e = arg;
    CIO_EXPECT_RC(cio_server_run(e->srv), 0);
}

static int get(cio_client *c, const char *url, char *body, size_t cap)
{
    cio_response *r;
    int rc = cio_get(c, url, NULL, &r);
    if (rc < 0)
        return rc;
    snprintf(body, cap, "%s", cio_response_body(r, NULL));
    cio_response_free(r);
    return 0;
}

static uint64_t accepted(cio_server *srv)
{
    struct cio_server_stats ss;
    cio_server_stats(srv, &ss);
    return ss.accepted;
}

static int hook_calls;

/* A transport: TCP to the test server, whatever origin the URL names
 * (the requests name https://localhost/, port 443: a name the test
 * certificate has, so verification runs on the hook's stream). */
static int tcp_hook(void *ud, const char *host, unsigned port, bool tls,
                    cio_stream **out)
{
    (void)host;
    (void)port;
    (void)tls;
    hook_calls++;
    return cio_tcp_connect(out, "127.0.0.1", cio_server_port(ud, 0), NULL,
                           cio_after(5000));
}

static int d45_main(void *arg)
{
    (void)arg;
    struct env e = {0};
    cio_app *app;
    CHECK_RC(cio_app_new(&app), 0);
    CHECK_RC(cio_app_get(app, "/", h_ok, NULL), 0);
    CHECK_RC(cio_event_new(&e.up), 0);
    char crt[512], key[512];
    snprintf(crt, sizeof(crt), "%s", tls_fixture_path("server.pem"));
    snprintf(key, sizeof(key), "%s", tls_fixture_path("server.key"));
    struct cio_listen ls[] = {
        {.addr = "127.0.0.1:0", .tls_cert = crt, .tls_key = key},
        {0},
    };
    struct cio_server_opts so = {
        .listens = ls, .workers = 1, .on_listen = on_listen, .ud = &e};
    int rc = cio_server_new(&e.srv, app, &so);
    cr_expect_eq(rc, 0, "server: %s", cio_last_error());
    CHECK_RC(rc, 0);
    cio_group *g;
    CHECK_RC(cio_group_new(&g), 0);
    CHECK_RC(cio_go(g, serve_task, &e), 0);
    CHECK_RC(cio_event_wait(e.up, cio_after(5000)), 0);
    char url[64], body[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/",
             cio_server_port(e.srv, 0));

    /* Unverified first: it succeeds and keeps its connection idle. */
    cio_client *insecure, *system, *ca;
    struct cio_client_opts oi = {.tls.insecure_skip_verify = true,
                                 .no_trust_env = true};
    struct cio_client_opts os = {.no_trust_env = true};
    struct cio_client_opts oc = {.tls.ca_file = tls_fixture_path("ca.pem"),
                                 .no_trust_env = true};
    CHECK_RC(cio_client_new(&insecure, &oi), 0);
    CHECK_RC(cio_client_new(&system, &os), 0);
    CHECK_RC(cio_client_new(&ca, &oc), 0);
    CHECK_RC(get(insecure, url, body, sizeof(body)), 0);
    cr_expect_str_eq(body, "ok 1");
    cr_expect_eq(accepted(e.srv), 1);

    /* A verifying client never borrows it: its own handshake fails. */
    CIO_EXPECT_RC(get(system, url, body, sizeof(body)), CIO_ECERT);
    cr_expect_eq(accepted(e.srv), 2);

    /* Verified against the test CA: a connection of its own. */
    CHECK_RC(get(ca, url, body, sizeof(body)), 0);
    cr_expect_eq(accepted(e.srv), 3);
    CHECK_RC(get(ca, url, body, sizeof(body)), 0);
    /* ... and the unverified one keeps using only its own. */
    CHECK_RC(get(insecure, url, body, sizeof(body)), 0);
    cr_expect_eq(accepted(e.srv), 3);

    struct cio_pool_stats pi, pc, psys;
    cio_client_pool_stats(insecure, &pi);
    cio_client_pool_stats(ca, &pc);
    cio_client_pool_stats(system, &psys);
    cr_expect(pi.created == 1 && pi.reused == 1,
              "insecure: %llu created, "
              "%llu reused",
              (unsigned long long)pi.created, (unsigned long long)pi.reused);
    cr_expect(pc.created == 1 && pc.reused == 1,
              "ca: %llu created, %llu "
              "reused",
              (unsigned long long)pc.created, (unsigned long long)pc.reused);
    cr_expect(psys.conns == 0 && psys.idle == 0,
              "the failed handshake left "
              "%u connections",
              psys.conns);

    /* A caller's transport (opts.connect) gets TLS only when asked: the
     * same TCP stream, with connect_tls a verified https exchange; without
     * it the TLS listener hears cleartext and the exchange fails. */
    cio_client *hooked, *raw;
    struct cio_client_opts oh = oc;
    oh.connect = tcp_hook;
    oh.connect_ud = e.srv;
    oh.connect_tls = true;
    struct cio_client_opts orw = oh;
    orw.connect_tls = false;
    CHECK_RC(cio_client_new(&hooked, &oh), 0);
    CHECK_RC(cio_client_new(&raw, &orw), 0);
    hook_calls = 0;
    CHECK_RC(get(hooked, "https://localhost/", body, sizeof(body)), 0);
    cr_expect_str_eq(body, "ok 1");
    cr_expect_eq(hook_calls, 1);
    cr_expect_neq(get(raw, "https://localhost/", body, sizeof(body)), 0);
    cr_expect_eq(hook_calls, 2);
    cio_client_free(hooked);
    cio_client_free(raw);

    cio_client_free(insecure);
    cio_client_free(system);
    cio_client_free(ca);
    cio_server_stop(e.srv);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    cio_server_free(e.srv);
    cio_app_free(app);
    cio_event_free(e.up);
    return 0;
}

Test(client_d45, verified_and_unverified_connections_never_mix)
{
    tls_fixture_require();
    CIO_ASSERT_RC(cio_test_run(d45_main, NULL), 0);
    cio_test_no_leaks();
}
