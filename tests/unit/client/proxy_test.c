/* SPDX-License-Identifier: MIT */
/*
 * Proxies: selection from the option and the environment (precedence,
 * lowercase first, httpoxy), NO_PROXY matching, credentials, and the
 * CONNECT exchange over an in-memory pipe (exact bytes written, every
 * kind of refusal and malformed reply).
 */
#include "test.h"
#include "base/alloc.h"
#include "client/proxy.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const *fake_env;

static const char *env_fn(const char *name)
{
    for (size_t i = 0; fake_env[i] != NULL; i += 2)
        if (strcmp(fake_env[i], name) == 0)
            return fake_env[i + 1];
    return NULL;
}

static cio_url *url(const char *s)
{
    cio_url *u;
    cr_assert_eq(cio_url_parse(&u, s, strlen(s), NULL), 0, "%s", s);
    return u;
}

/* The proxy chosen for target under env, as an href, or "direct". */
static const char *pick(const char *target, const char *opt, bool trust,
                        const char *const *env, char *buf)
{
    fake_env = env;
    cio_url *t = url(target), *p = NULL;
    struct cio__proxy_env e;
    cr_assert_eq(cio__proxy_env_load(&e, env_fn), 0);
    int rc = cio__proxy_select(&p, t, opt, trust ? &e : NULL);
    cio__proxy_env_free(&e);
    cio_url_free(t);
    if (rc < 0) {
        snprintf(buf, 128, "%s", cio_errname(rc));
    } else {
        snprintf(buf, 128, "%s", p != NULL ? cio_url_href(p) : "direct");
        cio_url_free(p);
    }
    return buf;
}

Test(proxy, selection)
{
    static const char *const none[] = {NULL};
    static const char *const both[] = {
        "http_proxy",  "http://lower:1", "HTTP_PROXY", "http://upper:2",
        "HTTPS_PROXY", "http://s:3",     NULL};
    static const char *const upper[] = {"HTTP_PROXY", "http://upper:2", NULL};
    static const char *const cgi[] = {"HTTP_PROXY", "http://evil:6666",
                                      "REQUEST_METHOD", "GET", NULL};
    static const char *const cgi_lower[] = {"http_proxy", "http://ok:1",
                                            "REQUEST_METHOD", "GET", NULL};
    static const char *const all[] = {"ALL_PROXY", "a:9", "no_proxy",
                                      "internal.test", NULL};
    static const char *const empty[] = {"http_proxy", "", "ALL_PROXY",
                                        "http://all:4", NULL};
    static const char *const socks[] = {"ALL_PROXY", "socks5://s:1080", NULL};
    char b[128];
    static const struct {
        const char *target, *opt;
        bool trust;
        const char *const *env;
        const char *want;
    } c[] = {
        {"http://x/", NULL, true, none, "direct"},
        {"http://x/", NULL, true, both, "http://lower:1/"},
        {"https://x/", NULL, true, both, "http://s:3/"},
        {"http://x/", NULL, true, upper, "http://upper:2/"},
        {"http://x/", NULL, true, cgi, "direct"}, /* httpoxy */
        {"http://x/", NULL, true, cgi_lower, "http://ok:1/"},
        {"http://x/", NULL, false, both, "direct"}, /* no_trust_env */
        {"http://x/", "http://opt:5", false, both, "http://opt:5/"},
        {"http://x/", "opt:5", true, both, "http://opt:5/"},
        {"https://x/", NULL, true, all, "http://a:9/"},
        {"https://api.internal.test/", NULL, true, all, "direct"},
        {"http://x/", NULL, true, empty, "http://all:4/"}, /* "" is unset */
        {"http://x/", NULL, true, socks, "socks5://s:1080"},
        {"https://x/", NULL, true, socks, "socks5://s:1080"},
        {"http://x/", "https://p:1", true, none, "https://p:1/"},
        {"http://x/", "socks5h://u:p@p", true, none, "socks5h://u:p@p"},
        {"http://x/", "SOCKS5://P:7", true, none, "socks5://p:7"},
        {"http://x/", "socks4://p:1", true, none, "CIO_EPROXY"},
        {"http://x/", "socks5://", true, none, "CIO_EPROXY"},
        {"http://x/", "socks5://p:0", true, none, "CIO_EPROXY"},
        {"http://x/", "ftp://p:1", true, none, "CIO_EPROXY"},
        {"http://x/", "ws://p:1", true, none, "CIO_EPROXY"},
        {"http://x/", "http://a b", true, none, "CIO_EPROXY"},
    };
    for (size_t i = 0; i < COUNTOF(c); i++)
        cr_expect_str_eq(pick(c[i].target, c[i].opt, c[i].trust, c[i].env, b),
                         c[i].want, "case %zu (%s)", i, c[i].target);
    cio_test_no_leaks();
}

Test(proxy, no_proxy_matching)
{
    static const struct {
        const char *list, *target;
        int want;
    } c[] = {
        {"*", "http://anything/", 1},
        {"example.com", "http://example.com/", 1},
        {"example.com", "http://www.example.com/", 1},
        {"example.com", "http://notexample.com/", 0},
        {".example.com", "http://example.com/", 1},
        {".example.com", "http://a.b.example.com/", 1},
        {"*.example.com", "http://a.example.com/", 1},
        {"EXAMPLE.com.", "http://www.Example.COM/", 1},
        {"example.com", "http://example.com.evil.net/", 0},
        {"a.test, b.test", "http://b.test/", 1},
        {"a.test b.test", "http://b.test/", 1},
        {"a.test,,", "http://c.test/", 0},
        {"", "http://a/", 0},
        {"example.com:8080", "http://example.com:8080/", 1},
        {"example.com:8080", "http://example.com/", 0},
        {"127.0.0.1", "http://127.0.0.1:9/", 1},
        {"127.0.0.1", "http://127.0.0.2/", 0},
        {"127.0.0.1:80", "http://127.0.0.1/", 1},
        {"10.0.0.0/8", "http://10.200.3.4/", 1},
        {"10.0.0.0/8", "http://11.0.0.1/", 0},
        {"192.168.1.0/25", "http://192.168.1.127/", 1},
        {"192.168.1.0/25", "http://192.168.1.128/", 0},
        {"0.0.0.0/0", "http://8.8.8.8/", 1},
        {"::1", "http://[::1]/", 1},
        {"[::1]", "http://[::1]/", 1},
        {"[::1]:8080", "http://[::1]:8080/", 1},
        {"[::1]:8080", "http://[::1]/", 0},
        {"fd00::/8", "http://[fd12::5]/", 1},
        {"fd00::/8", "http://[fe80::1]/", 0},
        {"10.0.0.0/8", "http://[::1]/", 0},
        {"127.0.0.1", "http://localhost/", 0}, /* names are not resolved */
        {"1.2.3.4", "http://1.2.3.4.example/", 0},
        {"10.0.0.0/99", "http://10.0.0.1/", 0},
    };
    for (size_t i = 0; i < COUNTOF(c); i++) {
        cio_url *t = url(c[i].target);
        cr_expect_eq(cio__no_proxy_match(c[i].list, t), c[i].want,
                     "case %zu: \"%s\" vs %s", i, c[i].list, c[i].target);
        cio_url_free(t);
    }
}

Test(proxy, credentials_from_url)
{
    cio_url *p;
    char *v;
    CIO_ASSERT_RC(cio__proxy_parse(&p, "http://user:p%40ss@proxy:3128"), 0);
    CIO_ASSERT_RC(cio__proxy_auth(&v, p), 0);
    cr_expect_str_eq(v, "Basic dXNlcjpwQHNz"); /* user:p@ss */
    cio__free(v);
    cio_url_free(p);
    /* Kinds and default ports. */
    static const struct {
        const char *url;
        int kind;
        unsigned port;
    } k[] = {
        {"proxy", CIO__PROXY_HTTP, 80},
        {"https://proxy", CIO__PROXY_HTTPS, 443},
        {"socks5://proxy", CIO__PROXY_SOCKS5, 1080},
        {"socks5h://proxy:9050", CIO__PROXY_SOCKS5H, 9050},
    };
    for (size_t i = 0; i < COUNTOF(k); i++) {
        CIO_ASSERT_RC(cio__proxy_parse(&p, k[i].url), 0);
        cr_expect_eq(cio__proxy_kind(p), k[i].kind, "%s", k[i].url);
        cr_expect_eq(cio__proxy_port(p), k[i].port, "%s", k[i].url);
        cio_url_free(p);
    }
    CIO_ASSERT_RC(cio__proxy_parse(&p, "proxy:3128"), 0);
    v = (char *)"x";
    CIO_ASSERT_RC(cio__proxy_auth(&v, p), 0);
    cr_expect_null(v);
    cio_url_free(p);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------ CONNECT */

struct cx {
    const char *reply; /* what the proxy "sent" before we asked */
    size_t reply_len;
    const char *host;
    unsigned port;
    const char *auth;
    int rc;
    char sent[1024]; /* what cio__proxy_connect wrote */
};

static int connect_task(void *arg)
{
    struct cx *x = arg;
    cio_stream *a, *b;
    int rc = cio_pipe_new(&a, &b, 128 * 1024);
    if (rc < 0)
        return rc;
    if (x->reply_len > 0 &&
        cio_stream_write(b, x->reply, x->reply_len, cio_after(5000)) < 0)
        return -1;
    cio_stream_shutdown(b, cio_after(1000));
    x->rc = cio__proxy_connect(a, x->host, x->port, x->auth, cio_after(5000));
    ptrdiff_t n =
        cio_stream_read(b, x->sent, sizeof(x->sent) - 1, cio_after(1000));
    x->sent[n > 0 ? n : 0] = '\0';
    cio_stream_close(a);
    cio_stream_close(b);
    return 0;
}

static int run_connect(struct cx *x)
{
    if (x->reply_len == 0 && x->reply != NULL)
        x->reply_len = strlen(x->reply);
    CIO_ASSERT_RC(cio_test_run(connect_task, x), 0);
    return x->rc;
}

Test(proxy, connect_exact_bytes_and_success)
{
    struct cx x = {.reply = "HTTP/1.1 200 Connection established\r\n\r\n",
                   .host = "origin.test",
                   .port = 443,
                   .auth = "Basic dTpw"};
    CIO_EXPECT_RC(run_connect(&x), 0);
    cr_expect_str_eq(x.sent, "CONNECT origin.test:443 HTTP/1.1\r\n"
                             "Host: origin.test:443\r\n"
                             "Proxy-Authorization: Basic dTpw\r\n\r\n");
    struct cx y = {.reply = "HTTP/1.0 200 OK\r\nX: y\r\n\r\n",
                   .host = "::1",
                   .port = 8443};
    CIO_EXPECT_RC(run_connect(&y), 0);
    cr_expect_str_eq(y.sent, "CONNECT [::1]:8443 HTTP/1.1\r\n"
                             "Host: [::1]:8443\r\n\r\n");
    cio_test_no_leaks();
}

Test(proxy, connect_refusals_are_typed)
{
    static char big[20000];
    memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
    /* 90 fields of 200 bytes: within the parser's limits, above ours. */
    size_t bl = 17;
    for (int f = 0; f < 90; f++, bl += 200) {
        memset(big + bl, 'a', 200);
        memcpy(big + bl, "X-Pad: ", 7);
        memcpy(big + bl + 198, "\r\n", 2);
    }
    static const struct {
        const char *reply;
        const char *msg;
    } c[] = {
        {"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: "
         "0\r\n\r\n",
         "407 Proxy Authentication Required"},
        {"HTTP/1.1 403 Forbidden\r\n\r\n", "403 Forbidden"},
        {"HTTP/1.1 502 Bad Gateway\r\n\r\n", "502"},
        {"HTTP/1.1 101 Switching\r\n\r\n", "101"},
        {"HTTP/1.1 2OO OK\r\n\r\n", "malformed"},
        {"SSH-2.0-OpenSSH\r\n\r\n", "malformed"},
        {"HTTP/1.1 200 OK\r\n", "closed"}, /* truncated head */
        {"", "closed"},
        {"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01", "3 bytes after"},
    };
    for (size_t i = 0; i < COUNTOF(c); i++) {
        struct cx x = {.reply = c[i].reply,
                       .reply_len = strlen(c[i].reply),
                       .host = "o",
                       .port = 443};
        if (x.reply_len == 0)
            x.reply = NULL;
        cr_expect_eq(run_connect(&x), CIO_EPROXY, "case %zu: %s", i,
                     cio_errname(x.rc));
        cr_expect(strstr(cio_last_error(), c[i].msg) != NULL,
                  "case %zu: \"%s\" lacks \"%s\"", i, cio_last_error(),
                  c[i].msg);
    }
    /* A head that never ends is cut at the limit (memory bounded). */
    struct cx x = {.reply = big, .reply_len = bl, .host = "o", .port = 443};
    cr_expect_eq(run_connect(&x), CIO_EPROXY);
    cr_expect(strstr(cio_last_error(), "16384") != NULL, "%s",
              cio_last_error());
    /* Request injection through the host is refused before anything is sent. */
    struct cx inj = {
        .reply = "HTTP/1.1 200 OK\r\n\r\n", .host = "a\r\nX: y", .port = 443};
    cr_expect_eq(run_connect(&inj), CIO_EINVAL);
    cr_expect_str_eq(inj.sent, "");
    cio_test_no_leaks();
}

/* A proxy URL that does not parse is named in the error message, which
 * ends up in logs: without its credentials. */
Test(proxy, error_messages_hide_credentials)
{
    static const char *const bad[] = {
        "socks5://u:s3cret@h:99999",  /* bad port */
        "http://u:s3cret@h^:80",      /* bad host */
        "socks5h://us3cret:x@:1080",  /* no host */
        "https://u:s3cret@@h:99999",  /* two '@' */
        "http://u:s3cret@h:80x/p@th", /* "@" after the authority */
        "u:s3cret@h:99999",           /* no scheme */
        "ftp://u:s3cret@h:21",        /* another scheme */
    };
    for (size_t i = 0; i < COUNTOF(bad); i++) {
        cio_url *p = NULL;
        CIO_EXPECT_RC(cio__proxy_parse(&p, bad[i]), CIO_EPROXY);
        cr_expect(strstr(cio_last_error(), "s3cr") == NULL, "%s: %s", bad[i],
                  cio_last_error());
        cr_expect(strstr(cio_last_error(), "proxy") != NULL, "%s: %s", bad[i],
                  cio_last_error());
        cio_url_free(p);
    }
    cio_test_no_leaks();
}
