/* SPDX-License-Identifier: MIT */
/*
 * The client through a SOCKS5 proxy (tests/peers/socks5_server.py) to the
 * aiohttp test server: socks5 resolves names here (ATYP 1), socks5h sends
 * them (ATYP 3); the request inside the tunnel is in origin-form;
 * username/password accepted and refused; each reply code, hostile and
 * silent proxies as typed errors; https through the tunnel (verified);
 * ALL_PROXY and NO_PROXY; one handshake for reused connections.
 */
#include <stdlib.h>

#include "test.h"
#include "aiohttp_peer.h"
#include "client_run.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

static struct aiohttp_peer origin, socks;
static char logpath[256];

/* The SOCKS server with up to two extra "--opt value" pairs. */
static void start_socks(const char *o1, const char *v1, const char *o2,
                        const char *v2)
{
    snprintf(logpath, sizeof(logpath), "/tmp/cio_socks_log.%d", (int)getpid());
    unlink(logpath);
    const char *args[7] = {"--log", logpath, o1, v1, o2, v2, NULL};
    cr_assert_eq(py_peer_start(&socks, "socks5_server.py", args), 0);
}

static void stop_socks(void)
{
    aiohttp_peer_stop(&socks);
    unlink(logpath);
}

static const char *socks_log(void)
{
    return client_run_file(logpath);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

Test(client_socks, socks5_resolves_here_socks5h_sends_the_name)
{
    client_run_origin(&origin, NULL);
    start_socks(NULL, NULL, NULL, NULL);
    char purl[96], url[160], want[200];
    snprintf(url, sizeof(url), "http://localhost:%u/anything?a=1", origin.port);

    snprintf(purl, sizeof(purl), "socks5://127.0.0.1:%u", socks.port);
    struct client_run x = {.opts = {.proxy = purl}, .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    /* Resolved by the client: the proxy got an address; the request went
     * through the tunnel in origin-form, with the origin's Host. */
    snprintf(want, sizeof(want),
             "methods=0 method=0 user=- pass=- atyp=1 dest=127.0.0.1:%u\n"
             "first=GET /anything?a=1 HTTP/1.1\n",
             origin.port);
    cr_expect_str_eq(socks_log(), want);
    snprintf(want, sizeof(want), "\"Host\": \"localhost:%u\"", origin.port);
    cr_expect(strstr(x.body, want) != NULL, "%s", x.body);
    unlink(logpath);

    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    struct client_run y = {.opts = {.proxy = purl}, .url = url};
    client_run(&y);
    cr_expect_eq(y.rc, 0, "%s: %s", cio_errname(y.rc), y.msg);
    cr_expect_eq(y.status, 200);
    snprintf(want, sizeof(want),
             "methods=0 method=0 user=- pass=- atyp=3 dest=localhost:%u\n"
             "first=GET /anything?a=1 HTTP/1.1\n",
             origin.port);
    cr_expect_str_eq(socks_log(), want);
    unlink(logpath);

    /* An address literal goes as an address even with socks5h. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/json", origin.port);
    struct client_run z = {.opts = {.proxy = purl}, .url = url};
    client_run(&z);
    CIO_EXPECT_RC(z.rc, 0);
    cr_expect(strstr(socks_log(), " atyp=1 dest=127.0.0.1:") != NULL, "%s",
              socks_log());
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

Test(client_socks, username_and_password)
{
    client_run_origin(&origin, NULL);
    start_socks("--auth", "pu:p@ss", NULL, NULL);
    char purl[96], url[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/json", origin.port);
    snprintf(purl, sizeof(purl), "socks5h://pu:p%%40ss@127.0.0.1:%u",
             socks.port);
    struct client_run x = {.opts = {.proxy = purl}, .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    cr_expect(strstr(socks_log(),
                     "methods=0,2 method=2 user=pu pass=p@ss atyp=1") != NULL,
              "%s", socks_log());
    unlink(logpath);

    snprintf(purl, sizeof(purl), "socks5://pu:wrong@127.0.0.1:%u", socks.port);
    struct client_run y = {.opts = {.proxy = purl}, .url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EPROXY);
    cr_expect(strstr(y.msg, "rejected the username and password") != NULL, "%s",
              y.msg);
    cr_expect(strstr(y.msg, "127.0.0.1:") != NULL, "%s", y.msg);

    /* No credentials for a proxy that wants them. */
    snprintf(purl, sizeof(purl), "socks5://127.0.0.1:%u", socks.port);
    struct client_run z = {.opts = {.proxy = purl}, .url = url};
    client_run(&z);
    CIO_EXPECT_RC(z.rc, CIO_EPROXY);
    cr_expect(strstr(z.msg, "accepts none of our authentication methods") !=
                  NULL,
              "%s", z.msg);
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

Test(client_socks, each_reply_code_is_named)
{
    static const char *const words[] = {
        NULL,
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused by destination host",
        "TTL expired",
        "command not supported",
        "address type not supported",
        "unassigned reply code",
    };
    /* One server: it answers with the destination port as the code. */
    start_socks("--reply", "-1", NULL, NULL);
    char purl[96];
    snprintf(purl, sizeof(purl), "socks5://127.0.0.1:%u", socks.port);
    for (int code = 1; code <= 9; code++) {
        char url[64], want[200];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/", code);
        struct client_run x = {.opts = {.proxy = purl}, .url = url};
        client_run(&x);
        CIO_EXPECT_RC(x.rc, CIO_EPROXY);
        snprintf(want, sizeof(want),
                 "SOCKS5 proxy 127.0.0.1:%u refused: %s (reply %d)", socks.port,
                 words[code], code);
        cr_expect_str_eq(x.msg, want);
    }
    stop_socks();
    cio_test_no_leaks();
}

Test(client_socks, hostile_and_silent_proxies)
{
    static const struct {
        const char *mode;
        int rc;
        const char *msg;
    } t[] = {
        {"method-short", CIO_EPROXY,
         "closed the connection during method selection"},
        {"method-version", CIO_EPROXY,
         "does not speak SOCKS5: its method "
         "selection reply starts with 0x04"},
        {"http", CIO_EPROXY, "starts with 0x48 'H' (an HTTP server?)"},
        {"reply-short", CIO_EPROXY,
         "closed the connection during CONNECT "
         "(after 3 bytes"},
        {"reply-atyp", CIO_EPROXY, "address type 9"},
        {"reply-domain", CIO_EPROXY,
         "closed the connection during CONNECT "
         "(after 15 bytes"},
        {"silent", CIO_ETIMEDOUT, "connect timeout"},
        {"reply-silent", CIO_ETIMEDOUT, "connect timeout"},
    };
    /* One server, one mode per connection in this order. */
    char modes[256] = "", purl[96];
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        snprintf(modes + strlen(modes), sizeof(modes) - strlen(modes), "%s%s",
                 i > 0 ? "," : "", t[i].mode);
    start_socks("--garbage", modes, NULL, NULL);
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct client_run x = {
            .opts = {.proxy = purl, .timeouts.connect_ms = 300},
            .url = "http://example.invalid/"};
        client_run(&x);
        cr_expect_eq(x.rc, t[i].rc, "%s: %s: %s", t[i].mode, cio_errname(x.rc),
                     x.msg);
        cr_expect(strstr(x.msg, t[i].msg) != NULL, "%s: %s", t[i].mode, x.msg);
        /* A timeout names the proxy that stalled, not only the origin. */
        char via[64];
        snprintf(via, sizeof(via), "proxy 127.0.0.1:%u", socks.port);
        cr_expect(strstr(x.msg, via) != NULL, "%s: %s", t[i].mode, x.msg);
    }
    stop_socks();
    cio_test_no_leaks();
}

Test(client_socks, https_through_the_tunnel)
{
    client_run_origin(&origin, "server");
    start_socks(NULL, NULL, NULL, NULL);
    char purl[96], url[160];
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    snprintf(url, sizeof(url), "https://localhost:%u/json", origin.port);
    struct client_run x = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    cr_expect(strstr(socks_log(), "atyp=3 dest=localhost:") != NULL, "%s",
              socks_log());
    cr_expect(strstr(socks_log(), "first=tls\n") != NULL, "%s", socks_log());

    /* Verification applies inside the tunnel: without the CA, no trust. */
    struct client_run v = {.opts = {.proxy = purl}, .url = url};
    client_run(&v);
    CIO_EXPECT_RC(v.rc, CIO_ECERT);

    /* A tunnel the proxy garbles (bytes before the origin's) fails TLS. */
    stop_socks();
    start_socks("--garbage", "reply-extra", NULL, NULL);
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    struct client_run g = {
        .opts = {.proxy = purl, .tls.ca_file = tls_fixture_path("ca.pem")},
        .url = url};
    client_run(&g);
    cr_expect(g.rc == CIO_ETLS || g.rc == CIO_EPROTO, "%s: %s",
              cio_errname(g.rc), g.msg);
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

Test(client_socks, all_proxy_no_proxy_and_reuse)
{
    client_run_origin(&origin, NULL);
    start_socks(NULL, NULL, NULL, NULL);
    char purl[96], url[160];
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    snprintf(url, sizeof(url), "http://localhost:%u/json", origin.port);
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    setenv("ALL_PROXY", purl, 1);
    /* Three requests, one connection: one handshake. */
    struct client_run x = {.url = url, .times = 3};
    client_run(&x);
    CIO_EXPECT_RC(x.rc, 0);
    cr_expect_eq(count(socks_log(), "atyp=3 dest=localhost:"), 1, "%s",
                 socks_log());
    cr_expect_eq(x.ps.created, 1);
    cr_expect_eq(x.ps.reused, 2);
    unlink(logpath);

    /* all_proxy (lowercase) wins over ALL_PROXY. */
    setenv("all_proxy", "socks5h://127.0.0.1:9", 1);
    struct client_run w = {.url = url};
    client_run(&w);
    CIO_EXPECT_RC(w.rc, CIO_ECONNREFUSED);
    cr_expect(strstr(w.msg, "proxy 127.0.0.1:9") != NULL, "%s", w.msg);
    unsetenv("all_proxy");

    /* NO_PROXY: direct. */
    setenv("NO_PROXY", "localhost", 1);
    struct client_run y = {.url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, 0);
    cr_expect_str_eq(socks_log(), "");
    unsetenv("NO_PROXY");
    unsetenv("ALL_PROXY");
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

Test(client_socks, proxy_urls)
{
    /* socks4 is not supported: a typed error before any connection. */
    struct client_run x = {.opts = {.proxy = "socks4://127.0.0.1:1080"},
                           .url = "http://127.0.0.1:9/"};
    client_run(&x);
    CIO_EXPECT_RC(x.rc, CIO_EPROXY);
    cr_expect(strstr(x.msg, "\"socks4\" is not supported") != NULL, "%s",
              x.msg);
    struct client_run y = {.opts = {.proxy = "socks5://:1080"},
                           .url = "http://127.0.0.1:9/"};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EPROXY);
    cio_test_no_leaks();
}

/* A Proxy-Authorization field of the application's is for a proxy: a
 * SOCKS5 proxy cannot take it (its credentials go in the handshake), so it
 * must not travel through the tunnel to the origin, as it does not through
 * a CONNECT tunnel. */
Test(client_socks, no_proxy_authorization_through_the_tunnel)
{
    client_run_origin(&origin, NULL);
    start_socks(NULL, NULL, NULL, NULL);
    char purl[96], url[160];
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/headers", origin.port);
    static const struct cio_kv hdrs[] = {
        {"Proxy-Authorization", "Basic cHU6c2VjcmV0"}, {"X-Mine", "1"}, {0}};
    struct client_run x = {.opts = {.proxy = purl, .headers = hdrs},
                           .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    cr_expect(strstr(x.body, "X-Mine") != NULL, "%s", x.body);
    cr_expect(strstr(x.body, "Proxy-Authorization") == NULL, "%s", x.body);
    cr_expect(strstr(x.body, "cHU6c2VjcmV0") == NULL, "%s", x.body);
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

/* An IPv6 proxy (bracketed in the URL, named so in messages) and an IPv6
 * target: its address goes as ATYP 4 with socks5h too. */
Test(client_socks, ipv6_proxy_and_target)
{
    client_run_origin(&origin, NULL);
    start_socks("--listen", "::1", NULL, NULL);
    char purl[96], url[160];
    snprintf(purl, sizeof(purl), "socks5h://[::1]:%u", socks.port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/json", origin.port);
    struct client_run x = {.opts = {.proxy = purl}, .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    cr_expect(strstr(socks_log(), "atyp=1 dest=127.0.0.1:") != NULL, "%s",
              socks_log());
    unlink(logpath);

    /* Nothing listens on [::1] at the origin's port: the proxy says so,
     * and the message names the proxy with brackets. */
    char url6[160], want[200];
    snprintf(url6, sizeof(url6), "http://[::1]:%u/json", origin.port);
    struct client_run y = {.opts = {.proxy = purl}, .url = url6};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EPROXY);
    snprintf(want, sizeof(want),
             "SOCKS5 proxy [::1]:%u refused: connection refused by "
             "destination host (reply 5)",
             socks.port);
    cr_expect_str_eq(y.msg, want);
    snprintf(want, sizeof(want), "atyp=4 dest=::1:%u", origin.port);
    cr_expect(strstr(socks_log(), want) != NULL, "%s", socks_log());
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

/* RFC 1929 lengths from the proxy URL: a 255-byte user name goes whole;
 * 256 bytes fail, typed, and are never cut to fit. */
Test(client_socks, credential_lengths)
{
    client_run_origin(&origin, NULL);
    char user[257], auth[300], purl[400], url[160];
    memset(user, 'u', 255);
    user[255] = '\0';
    snprintf(auth, sizeof(auth), "%s:pw", user);
    start_socks("--auth", auth, NULL, NULL);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/json", origin.port);
    snprintf(purl, sizeof(purl), "socks5://%s:pw@127.0.0.1:%u", user,
             socks.port);
    struct client_run x = {.opts = {.proxy = purl}, .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);

    memset(user, 'u', 256);
    user[256] = '\0';
    snprintf(purl, sizeof(purl), "socks5://%s:pw@127.0.0.1:%u", user,
             socks.port);
    struct client_run y = {.opts = {.proxy = purl}, .url = url};
    client_run(&y);
    CIO_EXPECT_RC(y.rc, CIO_EINVAL);
    cr_expect(strstr(y.msg, "255") != NULL, "%s", y.msg);
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}

/* A redirect to another origin through the proxy: a handshake for each
 * origin, and the first origin's Authorization does not follow. */
Test(client_socks, cross_origin_redirect)
{
    client_run_origin(&origin, NULL);
    start_socks(NULL, NULL, NULL, NULL);
    char purl[96], url[160], want[200];
    snprintf(purl, sizeof(purl), "socks5h://127.0.0.1:%u", socks.port);
    snprintf(url, sizeof(url), "http://localhost:%u/cross-origin?path=/headers",
             origin.port);
    static const struct cio_kv hdrs[] = {{"Authorization", "Bearer home"}, {0}};
    struct client_run x = {.opts = {.proxy = purl, .headers = hdrs},
                           .url = url};
    client_run(&x);
    cr_expect_eq(x.rc, 0, "%s: %s", cio_errname(x.rc), x.msg);
    cr_expect_eq(x.status, 200);
    /* The server redirects to 127.0.0.1 on its other port. */
    snprintf(want, sizeof(want), "\"Host\": \"127.0.0.1:%u\"", origin.port2);
    cr_expect(strstr(x.body, want) != NULL, "%s", x.body);
    cr_expect(strstr(x.body, "Bearer home") == NULL, "%s", x.body);
    snprintf(want, sizeof(want), "dest=localhost:%u\n", origin.port);
    cr_expect(strstr(socks_log(), want) != NULL, "%s", socks_log());
    snprintf(want, sizeof(want), "atyp=1 dest=127.0.0.1:%u\n", origin.port2);
    cr_expect(strstr(socks_log(), want) != NULL, "%s", socks_log());
    stop_socks();
    aiohttp_peer_stop(&origin);
    cio_test_no_leaks();
}
