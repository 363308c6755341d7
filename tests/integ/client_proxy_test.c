/* SPDX-License-Identifier: MIT */
/*
 * The client through an HTTP proxy (tests/peers/mini_proxy.py, a small
 * forwarding proxy: nginx cannot CONNECT) to the aiohttp test server:
 * absolute-form for http:// (no userinfo or fragment in the target, proxy
 * credentials to the proxy only), a CONNECT tunnel for https:// (TLS to
 * the origin verified against the test CA), refusals as CIO_EPROXY, and
 * the environment (HTTP_PROXY, NO_PROXY). https:// proxies: the same
 * inside TLS to the proxy (verified, SNI = the proxy's name), so an https
 * target gets TLS inside TLS.
 */
#include <jansson.h>
#include <stdlib.h>

#include "test.h"
#include "aiohttp_peer.h"
#include "client_run.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

static struct aiohttp_peer origin, proxy;
static char logpath[256];

static void start2(int tls, const char *auth, int proxy_tls);

static void start(int tls, const char *auth)
{
    start2(tls, auth, 0);
}

static void start2(int tls, const char *auth, int proxy_tls)
{
    client_run_origin(&origin, tls ? "server" : NULL);
    int rc;
    snprintf(logpath, sizeof(logpath), "/tmp/cio_proxy_log.%d", (int)getpid());
    unlink(logpath);
    char cert[512], key[512];
    snprintf(cert, sizeof(cert), "%s", tls_fixture_path("server.pem"));
    snprintf(key, sizeof(key), "%s", tls_fixture_path("server.key"));
    const char *args[8] = {"--log", logpath, NULL, NULL,
                           NULL,    NULL,    NULL, NULL};
    int na = 2;
    if (auth != NULL) {
        args[na++] = "--auth";
        args[na++] = auth;
    }
    if (proxy_tls) {
        args[na++] = "--tls";
        args[na++] = cert;
        args[na++] = key;
    }
    rc = py_peer_start(&proxy, "mini_proxy.py", args);
    cr_assert_eq(rc, 0);
}

static void stop(void)
{
    aiohttp_peer_stop(&proxy);
    aiohttp_peer_stop(&origin);
    unlink(logpath);
}

static const char *proxy_log(void)
{
    return client_run_file(logpath);
}

Test(client_proxy, http_goes_in_absolute_form_with_proxy_credentials)
{
    start(0, "pu:pp");
    char purl[96], url[160], want[200];
    snprintf(purl, sizeof(purl), "http://pu:pp@127.0.0.1:%u", proxy.port);
    /* Userinfo and fragment of the target never reach the proxy. */
    snprintf(url, sizeof(url), "http://ou:op@127.0.0.1:%u/headers#frag",
             origin.port);
    struct client_run x = {.opts = {.proxy = purl}, .url = url};
    client_run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(x.status, 200, "%d %s", x.status, x.body);
    snprintf(want, sizeof(want),
             "GET http://127.0.0.1:%u/headers HTTP/1.1 auth=yes\n",
             origin.port);
    cr_expect_str_eq(proxy_log(), want);
    /* The origin saw its own Basic credentials, not the proxy's. */
    json_t *j = json_loads(x.body, 0, NULL);
    cr_assert_not_null(j, "%s", x.body);
    cr_expect_null(json_object_get(j, "Proxy-Authorization"));
    cr_expect_str_eq(json_string_value(json_object_get(j, "Authorization")),
                     "Basic b3U6b3A=");
    json_decref(j);

    /* Without credentials the proxy's 407 is the response. */
    snprintf(purl, sizeof(purl), "127.0.0.1:%u", proxy.port);
    struct client_run y = {.opts = {.proxy = purl}, .url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, 0);
    cr_expect_eq(y.status, 407);
    stop();
    cio_test_no_leaks();
}

Test(client_proxy, https_goes_through_a_connect_tunnel)
{
    start(1, "pu:pp");
    char purl[96], url[160], want[200];
    snprintf(purl, sizeof(purl), "http://pu:pp@127.0.0.1:%u", proxy.port);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/headers", origin.port);
    struct client_run x = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    snprintf(want, sizeof(want), "CONNECT 127.0.0.1:%u HTTP/1.1 auth=yes\n",
             origin.port);
    cr_expect_str_eq(proxy_log(), want);
    /* The proxy's credentials stayed outside the tunnel. */
    cr_expect(strstr(x.body, "Proxy-Authorization") == NULL, "%s", x.body);

    /* Verification still applies inside the tunnel: no CA, no trust. */
    struct client_run v = {.opts = {.proxy = purl}, .url = url};
    client_run(&v);
    CIO_EXPECT_RC(v.rc, CIO_ECERT);

    /* A refused CONNECT is a typed error naming the status. */
    snprintf(purl, sizeof(purl), "http://pu:wrong@127.0.0.1:%u", proxy.port);
    struct client_run y = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EPROXY);
    cr_expect(strstr(y.msg, "407") != NULL, "%s", y.msg);
    stop();
    cio_test_no_leaks();
}

Test(client_proxy, environment_and_no_proxy)
{
    start(0, NULL);
    char purl[96], url[160];
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%u", proxy.port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/json", origin.port);
    setenv("http_proxy", purl, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    struct client_run x = {.url = url};
    client_run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect(strstr(proxy_log(), "GET http://127.0.0.1") != NULL, "[%s]",
              proxy_log());
    unlink(logpath);

    /* NO_PROXY exempts the host; no_trust_env ignores everything. */
    setenv("NO_PROXY", "localhost, 127.0.0.0/8", 1);
    struct client_run y = {.url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, 0);
    cr_expect_str_eq(proxy_log(), "");
    unsetenv("NO_PROXY");
    struct client_run z = {.url = url, .opts = {.no_trust_env = true}};
    client_run(&z);
    CIO_EXPECT_RC(z.rc, 0);
    cr_expect_str_eq(proxy_log(), "");
    unsetenv("http_proxy");
    stop();
    cio_test_no_leaks();
}

Test(client_proxy, https_proxy_for_http_targets)
{
    start2(0, "pu:pp", 1);
    char purl[96], url[160], want[300];
    snprintf(purl, sizeof(purl), "https://pu:pp@localhost:%u", proxy.port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/headers", origin.port);
    struct client_run x = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200, "%d %s", x.status, x.body);
    /* TLS to the proxy with its name, then absolute-form inside. */
    snprintf(
        want, sizeof(want),
        "sni=localhost\nGET http://127.0.0.1:%u/headers HTTP/1.1 auth=yes\n",
        origin.port);
    cr_expect_str_eq(proxy_log(), want);
    cr_expect(strstr(x.body, "Proxy-Authorization") == NULL, "%s", x.body);
    unlink(logpath);

    /* The proxy's certificate is verified: without the CA, a typed error
     * naming the proxy, and nothing sent. */
    struct client_run v = {.opts = {.proxy = purl}, .url = url};
    client_run(&v);
    CIO_EXPECT_RC(v.rc, CIO_ECERT);
    snprintf(want, sizeof(want), "TLS with proxy localhost:%u: ", proxy.port);
    cr_expect(strncmp(v.msg, want, strlen(want)) == 0, "%s", v.msg);
    cr_expect(strstr(proxy_log(), "GET") == NULL, "%s", proxy_log());

    /* Plain http:// to a TLS proxy fails, typed, and does not hang. */
    snprintf(purl, sizeof(purl), "http://localhost:%u", proxy.port);
    struct client_run p = {.opts = {.proxy = purl, .timeouts.read_ms = 2000},
                           .url = url};
    client_run(&p);
    cr_expect(p.rc < 0 || p.status >= 400, "%s: %s", cio_errname(p.rc), p.msg);
    stop();
    cio_test_no_leaks();
}

Test(client_proxy, https_proxy_for_https_targets_is_tls_in_tls)
{
    start2(1, "pu:pp", 1);
    char purl[96], url[160], want[300];
    snprintf(purl, sizeof(purl), "https://pu:pp@localhost:%u", proxy.port);
    snprintf(url, sizeof(url), "https://localhost:%u/headers", origin.port);
    struct client_run x = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    snprintf(want, sizeof(want),
             "sni=localhost\nCONNECT localhost:%u HTTP/1.1 auth=yes\n",
             origin.port);
    cr_expect_str_eq(proxy_log(), want);
    cr_expect(strstr(x.body, "Proxy-Authorization") == NULL, "%s", x.body);
    unlink(logpath);

    /* The origin's certificate is verified inside, apart from the
     * proxy's: a self-signed origin fails as the origin, not the proxy. */
    struct aiohttp_peer self;
    client_run_origin(&self, "self");
    snprintf(url, sizeof(url), "https://localhost:%u/headers", self.port);
    struct client_run v = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&v);
    aiohttp_peer_stop(&self);
    CIO_EXPECT_RC(v.rc, CIO_ECERT);
    snprintf(want, sizeof(want), "TLS with localhost:%u: ", self.port);
    cr_expect(strncmp(v.msg, want, strlen(want)) == 0, "%s", v.msg);
    cr_expect(strstr(proxy_log(), "CONNECT localhost") != NULL, "%s",
              proxy_log());

    /* A refused CONNECT inside the TLS is typed as with http:// proxies. */
    snprintf(purl, sizeof(purl), "https://pu:wrong@localhost:%u", proxy.port);
    snprintf(url, sizeof(url), "https://localhost:%u/headers", origin.port);
    struct client_run y = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EPROXY);
    cr_expect(strstr(y.msg, "407") != NULL, "%s", y.msg);
    stop();
    cio_test_no_leaks();
}

/* The application's own Proxy-Authorization (for a scheme the proxy URL
 * cannot carry) goes on every CONNECT of the request, not the first one
 * only: here a same-origin redirect on a connection that closed needs a
 * second tunnel. */
Test(client_proxy, application_proxy_authorization_on_every_connect)
{
    start(1, "pu:pp");
    char purl[96], url[160], want[200];
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%u", proxy.port);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/redirect/1", origin.port);
    static const struct cio_kv hdrs[] = {
        {"Proxy-Authorization", "Basic cHU6cHA="},
        {"Connection", "close"},
        {0}};
    struct client_run x = {.opts = {.proxy = purl,
                                    .headers = hdrs,
                                    .tls.ca_file = tls_fixture_path("ca.pem")},
                           .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    snprintf(want, sizeof(want),
             "CONNECT 127.0.0.1:%u HTTP/1.1 auth=yes\n"
             "CONNECT 127.0.0.1:%u HTTP/1.1 auth=yes\n",
             origin.port, origin.port);
    cr_expect_str_eq(proxy_log(), want);
    cr_expect(strstr(x.body, "Proxy-Authorization") == NULL, "%s", x.body);
    stop();
    cio_test_no_leaks();
}

/* Error paths of TLS in TLS, each a typed error with no stream left open
 * (the leak check): TLS to a proxy that does not speak it, and an origin
 * that does not speak TLS behind an https:// proxy's tunnel. */
Test(client_proxy, tls_in_tls_error_paths_close_every_stream)
{
    start2(0, NULL, 1);
    char purl[96], url[160];
    /* The origin is plain HTTP: the inner handshake fails, the outer TLS
     * and the socket under it are closed. */
    snprintf(purl, sizeof(purl), "https://localhost:%u", proxy.port);
    snprintf(url, sizeof(url), "https://127.0.0.1:%u/json", origin.port);
    struct client_run x = {.opts = {.proxy = purl,
                                    .tls.ca_file = tls_fixture_path("ca.pem"),
                                    .timeouts.connect_ms = 3000},
                           .url = url};
    client_run(&x);
    cr_expect(x.rc == CIO_ETLS || x.rc == CIO_EPROTO || x.rc == CIO_ECONNRESET,
              "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect(strstr(proxy_log(), "CONNECT 127.0.0.1") != NULL, "%s",
              proxy_log());

    /* An https:// proxy URL for a proxy that speaks plain HTTP (the
     * origin): TLS to it fails before any CONNECT. */
    snprintf(purl, sizeof(purl), "https://localhost:%u", origin.port);
    struct client_run y = {.opts = {.proxy = purl,
                                    .tls.ca_file = tls_fixture_path("ca.pem"),
                                    .timeouts.connect_ms = 3000},
                           .url = url};
    client_run(&y);
    cr_expect(y.rc == CIO_ETLS || y.rc == CIO_EPROTO || y.rc == CIO_ECONNRESET,
              "%s: %s", cio_errname(y.rc), y.msg);
    stop();
    cio_test_no_leaks();
}
