/* SPDX-License-Identifier: MIT */
/*
 * TLS end to end: many concurrent TLS echo clients against a corio TLS
 * server in one process, and real peers (curl, openssl s_client) against
 * corio TLS listeners. Certificates come from tests/data/mkcerts.sh.
 */
#include "test.h"
#include "tls_fixture.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()
TestSuite(tls_echo, .init = tls_fixture_require);

extern char **environ;

/* ------------------------------------------------------------- many clients */

/*
 * 10,000 clients in all, at most MAX_LIVE connected at once. Both ends live
 * in this process, so each connection costs two descriptors, and the hard
 * RLIMIT_NOFILE of the CI machine is 20,000: 10,000 at once cannot fit.
 * 4,000 also stays below the listen backlog (somaxconn 4096), so no SYN is
 * dropped while the acceptor waits for its turn on the loop.
 */
#define N_CLIENTS 10000
#define MAX_LIVE 4000
#define MANY_DL 90000 /* ms: the whole run */

struct many {
    cio_listener *ln;
    cio_tls_ctx *sctx, *cctx;
    cio_time deadline;
    int next;             /* next client index to run */
    int ok;               /* clients whose echo came back intact */
    int srv_ok;           /* server connections ended by close_notify */
    int cli_err, srv_err; /* first error seen on each side */
    char cli_msg[256], srv_msg[256];
};

struct conn {
    struct many *m;
    cio_stream *raw;
};

static void note(int *err, char *msg, size_t cap, int rc)
{
    if (*err == 0) {
        *err = rc;
        snprintf(msg, cap, "%s", cio_tls_last_error());
    }
}

static void many_serve(void *arg)
{
    struct conn c = *(struct conn *)arg;
    struct many *m = c.m;
    cio_stream *s;
    char buf[256];
    ptrdiff_t n;
    int rc;

    free(arg);
    rc = cio_tls_server(&s, c.raw, m->sctx, m->deadline);
    if (rc < 0) {
        note(&m->srv_err, m->srv_msg, sizeof(m->srv_msg), rc);
        cio_stream_close(c.raw);
        return;
    }
    while ((n = cio_stream_read(s, buf, sizeof(buf), m->deadline)) > 0)
        if (cio_stream_write(s, buf, (size_t)n, m->deadline) != n)
            break;
    if (n == 0 && cio_stream_shutdown(s, m->deadline) == 0)
        m->srv_ok++;
    else
        note(&m->srv_err, m->srv_msg, sizeof(m->srv_msg),
             n < 0 ? (int)n : CIO_EPROTO);
    cio_stream_close(s);
}

static void many_accept(void *arg)
{
    struct many *m = arg;
    cio_group *g;

    if (cio_group_new(&g) < 0)
        return;
    for (int i = 0; i < N_CLIENTS; i++) {
        struct conn *c = malloc(sizeof(*c));
        cio_stream *raw;
        int rc = c ? cio_listener_accept(m->ln, &raw, m->deadline) : CIO_ENOMEM;
        if (rc < 0) {
            free(c);
            note(&m->srv_err, m->srv_msg, sizeof(m->srv_msg), rc);
            break;
        }
        *c = (struct conn){.m = m, .raw = raw};
        if (cio_go(g, many_serve, c) < 0) {
            free(c);
            cio_stream_close(raw);
        }
    }
    cio_group_wait(g, m->deadline);
    cio_group_free(g);
}

static int one_client(struct many *m, int id)
{
    cio_stream *raw, *s;
    char out[64], in[64];
    int len = snprintf(out, sizeof(out), "client %d says hello\n", id);
    int rc;

    rc = cio_tcp_connect(&raw, "127.0.0.1", cio_listener_port(m->ln), NULL,
                         m->deadline);
    if (rc < 0)
        return rc;
    rc = cio_tls_client(&s, raw, m->cctx, "localhost", m->deadline);
    if (rc < 0) {
        cio_stream_close(raw);
        return rc;
    }
    ptrdiff_t n = cio_stream_write(s, out, (size_t)len, m->deadline);
    if (n == len) {
        ptrdiff_t got = 0;
        while (got < len &&
               (n = cio_stream_read(s, in + got, sizeof(in) - (size_t)got,
                                    m->deadline)) > 0)
            got += n;
        if (got == len && memcmp(in, out, (size_t)len) == 0)
            n = cio_stream_shutdown(s, m->deadline);
        else if (n >= 0)
            n = CIO_EPROTO;
    }
    if (n >= 0) /* the server's close_notify ends it */
        n = cio_stream_read(s, in, sizeof(in), m->deadline);
    cio_stream_close(s);
    return n < 0 ? (int)n : 0;
}

static void many_worker(void *arg)
{
    struct many *m = arg;

    while (m->next < N_CLIENTS) {
        int rc = one_client(m, m->next++);
        if (rc == 0)
            m->ok++;
        else
            note(&m->cli_err, m->cli_msg, sizeof(m->cli_msg), rc);
    }
}

static int many_main(void *arg)
{
    struct many *m = arg;
    cio_group *g;

    m->deadline = cio_after(MANY_DL);
    CIO_ASSERT_RC(cio_tcp_listen(&m->ln, "127.0.0.1:0", NULL), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, many_accept, m), 0);
    for (int i = 0; i < MAX_LIVE; i++)
        CIO_ASSERT_RC(cio_go(g, many_worker, m), 0);
    CIO_EXPECT_RC(cio_group_wait(g, m->deadline), 0);
    cio_group_free(g);
    cio_listener_close(m->ln);
    return 0;
}

Test(tls_echo, ten_thousand_clients_4000_at_once)
{
    struct many m = {0};

    cr_assert_eq(tls_fixture_server_ctx(&m.sctx, "server", NULL), 0, "%s",
                 cio_tls_last_error());
    cr_assert_eq(tls_fixture_client_ctx(&m.cctx, NULL, 0, 0), 0);
    cr_assert_eq(cio_run(many_main, &m), 0);
    cr_expect_eq(m.ok, N_CLIENTS, "%d of %d clients ok; first error %s (%s)",
                 m.ok, N_CLIENTS, cio_errname(m.cli_err), m.cli_msg);
    cr_expect_eq(m.srv_ok, N_CLIENTS,
                 "%d of %d server ends clean; first %s (%s)", m.srv_ok,
                 N_CLIENTS, cio_errname(m.srv_err), m.srv_msg);
    cio_tls_ctx_free(m.sctx);
    cio_tls_ctx_free(m.cctx);
}

/* ------------------------------------------------------------- real peers */

struct child {
    pid_t pid;
    cio_stream *io; /* our end of the child's stdin/stdout */
    int status;     /* waitpid status, or -1 if killed by us */
};

/* Starts argv with stdin and stdout on one end of a socketpair (a socket,
 * so corio's stream can use it) and stderr inherited. */
static int child_start(struct child *c, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    int sv[2], rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    rc = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        return -rc;
    }
    return cio_stream_from_fd(&c->io, sv[0]);
}

/* Waits for the child without blocking the loop; kills it (by its PID) at
 * the deadline. */
static void child_wait(struct child *c, cio_time deadline)
{
    for (;;) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid || (r < 0 && errno != EINTR))
            break;
        if (cio_now() >= deadline) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->status = -1;
            break;
        }
        cio_sleep(cio_after(10));
    }
    cio_stream_close(c->io);
    c->io = NULL;
}

/* Reads until EOF or cap-1 bytes. */
static ptrdiff_t read_all(cio_stream *s, char *buf, size_t cap, cio_time dl)
{
    size_t got = 0;
    ptrdiff_t n = 0;
    while (got + 1 < cap &&
           (n = cio_stream_read(s, buf + got, cap - 1 - got, dl)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    return n < 0 ? n : (ptrdiff_t)got;
}

struct peer {
    cio_listener *ln;
    cio_tls_ctx *sctx;
    int srv_rc;
    char request[1024]; /* what the peer sent */
    char alpn[32], sni[64];
    char out[1024]; /* what the peer printed */
    int status;
};

static void record_names(struct peer *p, cio_stream *s)
{
    const char *a = cio_tls_alpn(s), *n = cio_tls_servername(s);
    snprintf(p->alpn, sizeof(p->alpn), "%s", a ? a : "(none)");
    snprintf(p->sni, sizeof(p->sni), "%s", n ? n : "(none)");
}

/* A tiny HTTP/1.0-style server: one request, one response, close. */
static void http_once(void *arg)
{
    struct peer *p = arg;
    static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 12\r\nConnection: close\r\n\r\n"
                               "hello corio\n";
    cio_time dl = cio_after(10000);
    cio_stream *raw, *s;
    size_t got = 0;

    p->srv_rc = cio_listener_accept(p->ln, &raw, dl);
    if (p->srv_rc < 0)
        return;
    p->srv_rc = cio_tls_server(&s, raw, p->sctx, dl);
    if (p->srv_rc < 0) {
        cio_stream_close(raw);
        return;
    }
    record_names(p, s);
    while (got + 1 < sizeof(p->request) && !strstr(p->request, "\r\n\r\n")) {
        ptrdiff_t n = cio_stream_read(s, p->request + got,
                                      sizeof(p->request) - 1 - got, dl);
        if (n <= 0) {
            p->srv_rc = n < 0 ? (int)n : CIO_EPROTO;
            break;
        }
        got += (size_t)n;
        p->request[got] = '\0';
    }
    if (p->srv_rc == 0 && cio_stream_write(s, resp, sizeof(resp) - 1, dl) < 0)
        p->srv_rc = CIO_EPIPE;
    /* curl closes as soon as it has the body, maybe before our close_notify
     * arrives (then the FIN fails with ENOTCONN): not checked. */
    if (p->srv_rc == 0)
        cio_stream_shutdown(s, dl);
    cio_stream_close(s);
}

/* Echoes the first line, then ends the session with close_notify. */
static void echo_line_once(void *arg)
{
    struct peer *p = arg;
    cio_time dl = cio_after(10000);
    cio_stream *raw, *s;
    size_t got = 0;

    p->srv_rc = cio_listener_accept(p->ln, &raw, dl);
    if (p->srv_rc < 0)
        return;
    p->srv_rc = cio_tls_server(&s, raw, p->sctx, dl);
    if (p->srv_rc < 0) {
        cio_stream_close(raw);
        return;
    }
    record_names(p, s);
    while (got + 1 < sizeof(p->request) && !strchr(p->request, '\n')) {
        ptrdiff_t n = cio_stream_read(s, p->request + got,
                                      sizeof(p->request) - 1 - got, dl);
        if (n <= 0) {
            p->srv_rc = n < 0 ? (int)n : CIO_EPROTO;
            break;
        }
        got += (size_t)n;
        p->request[got] = '\0';
    }
    if (p->srv_rc == 0 && cio_stream_write(s, p->request, got, dl) < 0)
        p->srv_rc = CIO_EPIPE;
    if (p->srv_rc == 0)
        p->srv_rc = cio_stream_shutdown(s, dl);
    cio_stream_close(s);
}

struct peer_run {
    struct peer p;
    void (*server)(void *arg);
    /* The child's argv; "%u" in an entry becomes the listener's port. */
    const char *argv_fmt[24];
    const char *input; /* written to the child's stdin, or NULL */
};

static int peer_main(void *arg)
{
    struct peer_run *r = arg;
    struct child c = {0};
    cio_group *g;
    cio_time dl = cio_after(15000);
    static char store[24][512];
    char *argv[24] = {0};

    CIO_ASSERT_RC(cio_tcp_listen(&r->p.ln, "127.0.0.1:0", NULL), 0);
    for (size_t i = 0; i + 1 < CIO_COUNTOF(argv) && r->argv_fmt[i]; i++) {
        if (strstr(r->argv_fmt[i], "%u"))
            snprintf(store[i], sizeof(store[i]), r->argv_fmt[i],
                     cio_listener_port(r->p.ln));
        else
            snprintf(store[i], sizeof(store[i]), "%s", r->argv_fmt[i]);
        argv[i] = store[i];
    }
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, r->server, &r->p), 0);
    int rc = child_start(&c, argv);
    cr_expect_eq(rc, 0, "spawn %s: %s", argv[0], cio_errname(rc));
    if (rc == 0) {
        if (r->input != NULL)
            cio_stream_write(c.io, r->input, strlen(r->input), dl);
        read_all(c.io, r->p.out, sizeof(r->p.out), dl);
        child_wait(&c, dl);
        r->p.status = c.status;
    }
    cio_group_wait(g, dl);
    cio_group_free(g);
    cio_listener_close(r->p.ln);
    return 0;
}

Test(tls_echo, curl_fetches_from_a_corio_tls_listener)
{
    static struct peer_run r;
    const char *alpn[] = {"http/1.1", NULL};

    if (!tls_fixture_have("curl"))
        cr_skip_test("curl is not installed");
    cr_assert_eq(tls_fixture_server_ctx(&r.p.sctx, "server", alpn), 0);
    r.server = http_once;
    const char *argv[] = {
        "curl", "--silent", "--show-error", "--max-time", "10", "--cacert",
        tls_fixture_path("ca.pem"),
        /* Pin localhost to the listener's address (no ::1 attempt). */
        "--resolve", "localhost:%u:127.0.0.1", "--write-out",
        " status=%{http_code}", "https://localhost:%u/hello", NULL};
    memcpy(r.argv_fmt, argv, sizeof(argv));
    cr_assert_eq(cio_run(peer_main, &r), 0);
    CIO_EXPECT_RC(r.p.srv_rc, 0);
    cr_expect(WIFEXITED(r.p.status) && WEXITSTATUS(r.p.status) == 0,
              "curl status %#x", (unsigned)r.p.status);
    cr_expect_str_eq(r.p.out, "hello corio\n status=200");
    cr_expect(strncmp(r.p.request, "GET /hello HTTP/1.1\r\n", 21) == 0,
              "request: %s", r.p.request);
    cr_expect_str_eq(r.p.alpn, "http/1.1");
    cr_expect_str_eq(r.p.sni, "localhost");
    cio_tls_ctx_free(r.p.sctx);
}

Test(tls_echo, openssl_s_client_echo_with_sni_and_alpn)
{
    static struct peer_run r;
    const char *alpn[] = {"h2", "http/1.1", NULL};

    if (!tls_fixture_have("openssl"))
        cr_skip_test("openssl is not installed");
    cr_assert_eq(tls_fixture_server_ctx(&r.p.sctx, "server", alpn), 0);
    r.server = echo_line_once;
    r.input = "hello from s_client\n";
    const char *argv[] = {"openssl",
                          "s_client",
                          "-connect",
                          "127.0.0.1:%u",
                          "-servername",
                          "localhost",
                          "-alpn",
                          "h2",
                          "-CAfile",
                          tls_fixture_path("ca.pem"),
                          "-verify_return_error",
                          "-verify_hostname",
                          "localhost",
                          "-quiet",
                          NULL};
    memcpy(r.argv_fmt, argv, sizeof(argv));
    cr_assert_eq(cio_run(peer_main, &r), 0);
    CIO_EXPECT_RC(r.p.srv_rc, 0);
    cr_expect_str_eq(r.p.request, "hello from s_client\n");
    cr_expect_str_eq(r.p.out, "hello from s_client\n");
    cr_expect_str_eq(r.p.alpn, "h2");
    cr_expect_str_eq(r.p.sni, "localhost");
    cr_expect(r.p.status != -1, "s_client had to be killed");
    cio_tls_ctx_free(r.p.sctx);
}
