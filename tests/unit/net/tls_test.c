/* SPDX-License-Identifier: MIT */
/*
 * TLS stream layer: handshakes over TCP and Unix sockets, verification,
 * ALPN, SNI, full duplex, back-pressure, EOF handling, deadlines and
 * cancellation. Certificates come from tests/data/mkcerts.sh (tls_fixture).
 */
#include "test.h"
#include "tls_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/tls_int.h"

#define DL 10000 /* ms: the deadline of every exchange that should succeed */

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()
TestSuite(tls, .init = tls_fixture_require);

/* ------------------------------------------------------------- gate */

/*
 * A stream layered over another that can refuse writes (CIO_EAGAIN) until
 * opened, like a full socket buffer under the test's control. It shows which
 * direction a TLS operation parks on.
 */
struct gate {
    struct cio_stream base;
    cio_stream *inner;
    int shut;       /* writes answer CIO_EAGAIN */
    int refused;    /* writes refused while shut */
    int waited_out; /* wait(CIO__OUT) calls while shut */
    struct cio__list wwait;
};

static ptrdiff_t gate_try_read(cio_stream *s, void *buf, size_t len)
{
    struct gate *g = (struct gate *)s;
    return g->inner->vt->try_read(g->inner, buf, len);
}

static ptrdiff_t gate_try_writev(cio_stream *s, const struct iovec *iov, int n)
{
    struct gate *g = (struct gate *)s;
    if (g->shut) {
        g->refused++;
        return CIO_EAGAIN;
    }
    return g->inner->vt->try_writev(g->inner, iov, n);
}

static int gate_wait(cio_stream *s, unsigned dir, cio_time deadline)
{
    struct gate *g = (struct gate *)s;
    if (dir == CIO__OUT && g->shut) {
        struct cio__wait w = {0};
        g->waited_out++;
        cio__list_push_back(&g->wwait, &w.node);
        return cio__park(&w, deadline, 0);
    }
    return g->inner->vt->wait(g->inner, dir, deadline);
}

static int gate_wait_readable(cio_stream *s, cio_time deadline)
{
    struct gate *g = (struct gate *)s;
    return g->inner->vt->wait_readable(g->inner, deadline);
}

static int gate_shutdown(cio_stream *s, cio_time deadline)
{
    struct gate *g = (struct gate *)s;
    return g->inner->vt->shutdown(g->inner, deadline);
}

static void gate_close(cio_stream *s)
{
    struct gate *g = (struct gate *)s;
    cio__wake_all(&g->wwait, CIO_ECLOSED);
    cio_stream_close(g->inner);
    free(g);
}

static int gate_fd(const cio_stream *s)
{
    const struct gate *g = (const struct gate *)s;
    return g->inner->vt->fd(g->inner);
}

static const struct cio__stream_vt gate_vt = {
    .kind = "gate",
    .try_read = gate_try_read,
    .try_writev = gate_try_writev,
    .wait = gate_wait,
    .wait_readable = gate_wait_readable,
    .shutdown = gate_shutdown,
    .close = gate_close,
    .fd = gate_fd,
};

static cio_stream *gate_new(cio_stream *inner, struct gate **out)
{
    struct gate *g = calloc(1, sizeof(*g));
    cr_assert_not_null(g);
    g->base.vt = &gate_vt;
    g->inner = inner;
    cio__list_init(&g->wwait);
    *out = g;
    return &g->base;
}

static void gate_open(struct gate *g)
{
    g->shut = 0;
    cio__wake_all(&g->wwait, 0);
}

/* ------------------------------------------------------------- harness */

struct pair {
    /* in */
    int use_unix;
    cio_tls_ctx *sctx, *cctx;
    const char *servername;
    int raw_server; /* accept only: no server handshake */
    int use_gate;   /* client TLS runs over a struct gate */
    struct gate *gate;
    /* out */
    cio_listener *ln;
    cio_stream *srv, *cli, *srv_raw;
    int src, crc;
    char serr[256], cerr[256];
};

static void pair_accept(void *arg)
{
    struct pair *p = arg;
    cio_stream *raw;

    p->src = cio_listener_accept(p->ln, &raw, cio_after(DL));
    if (p->src < 0)
        return;
    if (p->raw_server) {
        p->srv_raw = raw;
        return;
    }
    p->src = cio_tls_server(&p->srv, raw, p->sctx, cio_after(DL));
    if (p->src < 0) {
        snprintf(p->serr, sizeof(p->serr), "%s", cio_tls_last_error());
        cio_stream_close(raw);
    }
}

static int pair_listen(struct pair *p)
{
    static unsigned seq;
    char path[64];

    if (!p->use_unix)
        return cio_tcp_listen(&p->ln, "127.0.0.1:0", NULL);
    snprintf(path, sizeof(path), "@corio-tls-test-%d-%u", (int)getpid(), seq++);
    return cio_unix_listen(&p->ln, path, NULL);
}

static int raw_connect(struct pair *p, cio_stream **out)
{
    if (p->use_unix)
        return cio_unix_connect(out, cio_listener_addr(p->ln), cio_after(DL));
    return cio_tcp_connect(out, "127.0.0.1", cio_listener_port(p->ln), NULL,
                           cio_after(DL));
}

/* Runs both handshakes (in a task); returns the client's result. */
static int pair_open(struct pair *p)
{
    cio_group *g;
    cio_stream *raw;
    int rc;

    rc = pair_listen(p);
    if (rc < 0)
        return p->crc = rc;
    rc = cio_group_new(&g);
    if (rc < 0)
        return p->crc = rc;
    rc = cio_go(g, pair_accept, p);
    if (rc == 0) {
        p->crc = raw_connect(p, &raw);
        if (p->crc == 0 && p->use_gate)
            raw = gate_new(raw, &p->gate);
        if (p->crc == 0) {
            p->crc = cio_tls_client(&p->cli, raw, p->cctx, p->servername,
                                    cio_after(DL));
            if (p->crc < 0) {
                snprintf(p->cerr, sizeof(p->cerr), "%s", cio_tls_last_error());
                cio_stream_close(raw);
            }
        }
        cio_group_wait(g, cio_after(DL));
    } else {
        p->crc = rc;
    }
    cio_group_free(g);
    return p->crc;
}

static void pair_close(struct pair *p)
{
    cio_stream_close(p->cli);
    cio_stream_close(p->srv);
    cio_stream_close(p->srv_raw);
    cio_listener_close(p->ln);
    p->cli = p->srv = p->srv_raw = NULL;
    p->ln = NULL;
}

/* The default pair: test CA, "server" certificate, name "localhost". */
static void pair_default(struct pair *p)
{
    memset(p, 0, sizeof(*p));
    cr_assert_eq(tls_fixture_server_ctx(&p->sctx, "server", NULL), 0, "%s",
                 cio_tls_last_error());
    cr_assert_eq(tls_fixture_client_ctx(&p->cctx, NULL, 0, 0), 0, "%s",
                 cio_tls_last_error());
    p->servername = "localhost";
}

static void pair_free_ctx(struct pair *p)
{
    cio_tls_ctx_free(p->sctx);
    cio_tls_ctx_free(p->cctx);
}

/* Reads exactly len bytes; returns len, or the first error / 0 (EOF). */
static ptrdiff_t read_full(cio_stream *s, void *buf, size_t len, cio_time dl)
{
    size_t got = 0;
    while (got < len) {
        ptrdiff_t n = cio_stream_read(s, (char *)buf + got, len - got, dl);
        if (n <= 0)
            return n;
        got += (size_t)n;
    }
    return (ptrdiff_t)got;
}

/* Byte i of the stream that side `seed` sends. */
static unsigned char pattern(uint64_t i, unsigned seed)
{
    return (unsigned char)((i * 131u + (i >> 12) + seed * 7u) & 0xff);
}

static void small_buffers(cio_stream *s)
{
    int v = 32 * 1024;
    setsockopt(cio_stream_fd(s), SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    setsockopt(cio_stream_fd(s), SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* ------------------------------------------------------------- echo */

struct echo {
    struct pair p;
    int nmsgs;
    int ok;            /* messages echoed intact */
    ptrdiff_t srv_end; /* the server's last read: 0 = close_notify */
    ptrdiff_t cli_end;
    int shut_rc;
};

static void echo_server(void *arg)
{
    struct echo *e = arg;
    char buf[8192];
    ptrdiff_t n;
    cio_time dl = cio_after(DL);

    while ((n = cio_stream_read(e->p.srv, buf, sizeof(buf), dl)) > 0)
        if (cio_stream_write(e->p.srv, buf, (size_t)n, dl) != n)
            break;
    e->srv_end = n;
    if (n == 0)
        cio_stream_shutdown(e->p.srv, dl);
}

static int echo_main(void *arg)
{
    struct echo *e = arg;
    cio_group *g;
    static char out[40000], in[40000];

    if (pair_open(&e->p) < 0)
        return 0;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, echo_server, e), 0);
    for (int i = 0; i < e->nmsgs; i++) {
        /* Sizes cross the 16 KiB record boundary. */
        size_t len = 1 + ((size_t)i * 7919u) % sizeof(out);
        for (size_t k = 0; k < len; k++)
            out[k] = (char)pattern(k, (unsigned)i);
        if (cio_stream_write(e->p.cli, out, len, cio_after(DL)) !=
            (ptrdiff_t)len)
            break;
        if (read_full(e->p.cli, in, len, cio_after(DL)) != (ptrdiff_t)len)
            break;
        if (memcmp(in, out, len) == 0)
            e->ok++;
    }
    e->shut_rc = cio_stream_shutdown(e->p.cli, cio_after(DL));
    e->cli_end = cio_stream_read(e->p.cli, in, sizeof(in), cio_after(DL));
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    pair_close(&e->p);
    return 0;
}

static void run_echo(int use_unix)
{
    struct echo e = {.nmsgs = 20};
    pair_default(&e.p);
    e.p.use_unix = use_unix;
    cr_assert_eq(cio_run(echo_main, &e), 0);
    CIO_EXPECT_RC(e.p.crc, 0);
    CIO_EXPECT_RC(e.p.src, 0);
    cr_expect_eq(e.ok, e.nmsgs, "%d of %d messages echoed", e.ok, e.nmsgs);
    CIO_EXPECT_RC(e.shut_rc, 0);
    cr_expect_eq(e.srv_end, 0, "server saw %td (%s), want close_notify",
                 e.srv_end, cio_errname((int)e.srv_end));
    cr_expect_eq(e.cli_end, 0, "client saw %td (%s), want close_notify",
                 e.cli_end, cio_errname((int)e.cli_end));
    pair_free_ctx(&e.p);
}

Test(tls, echo_over_tcp)
{
    run_echo(0);
}

Test(tls, echo_over_unix_socket)
{
    run_echo(1);
}

/* ------------------------------------------------------------- ALPN, SNI */

static int open_close_main(void *arg)
{
    struct pair *p = arg;
    pair_open(p);
    pair_close(p);
    return 0;
}

static const struct {
    const char *srv[3], *cli[3];
    const char *want; /* NULL = no protocol agreed */
} alpn_cases[] = {
    {{"h2", "http/1.1"}, {"http/1.1", "h2"}, "h2"}, /* server's preference */
    {{"http/1.1", "h2"}, {"h2", "http/1.1"}, "http/1.1"},
    {{"http/1.1"}, {"h2", "http/1.1"}, "http/1.1"},
    {{"h2"}, {"http/1.1"}, NULL}, /* no overlap: no ALPN */
    {{NULL}, {"h2"}, NULL},       /* server without ALPN */
    {{"h2"}, {NULL}, NULL},       /* client without ALPN */
};

struct alpn_run {
    struct pair p;
    char srv_alpn[32], cli_alpn[32];
};

static int alpn_main(void *arg)
{
    struct alpn_run *a = arg;
    if (pair_open(&a->p) == 0) {
        const char *s = cio_tls_alpn(a->p.srv), *c = cio_tls_alpn(a->p.cli);
        snprintf(a->srv_alpn, sizeof(a->srv_alpn), "%s", s ? s : "(none)");
        snprintf(a->cli_alpn, sizeof(a->cli_alpn), "%s", c ? c : "(none)");
    }
    pair_close(&a->p);
    return 0;
}

Test(tls, alpn_agreement)
{
    for (size_t i = 0; i < CIO_COUNTOF(alpn_cases); i++) {
        struct alpn_run a = {0};
        const char *const *sa = alpn_cases[i].srv[0] ? alpn_cases[i].srv : NULL;
        const char *const *ca = alpn_cases[i].cli[0] ? alpn_cases[i].cli : NULL;
        const char *want = alpn_cases[i].want ? alpn_cases[i].want : "(none)";

        cr_assert_eq(tls_fixture_server_ctx(&a.p.sctx, "server", sa), 0);
        cr_assert_eq(tls_fixture_client_ctx(&a.p.cctx, ca, 0, 0), 0);
        a.p.servername = "localhost";
        cr_assert_eq(cio_run(alpn_main, &a), 0);
        CIO_EXPECT_RC(a.p.crc, 0);
        cr_expect_str_eq(a.srv_alpn, want, "case %zu: server", i);
        cr_expect_str_eq(a.cli_alpn, want, "case %zu: client", i);
        pair_free_ctx(&a.p);
    }
}

struct sni_run {
    struct pair p;
    char seen[64];
};

static int sni_main(void *arg)
{
    struct sni_run *r = arg;
    if (pair_open(&r->p) == 0) {
        const char *s = cio_tls_servername(r->p.srv);
        snprintf(r->seen, sizeof(r->seen), "%s", s ? s : "(none)");
    }
    pair_close(&r->p);
    return 0;
}

Test(tls, sni_seen_by_server_not_sent_for_ip_literals)
{
    static const struct {
        const char *name, *seen;
    } cases[] = {
        {"localhost", "localhost"},
        {"localhost.", "localhost"}, /* SNI carries no trailing dot */
        {"127.0.0.1", "(none)"},     /* RFC 6066 §3 */
        {"::1", "(none)"},
        {"[::1]", "(none)"},
        {NULL, "(none)"},
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct sni_run r;
        pair_default(&r.p);
        r.p.servername = cases[i].name;
        cr_assert_eq(cio_run(sni_main, &r), 0);
        CIO_EXPECT_RC(r.p.crc, 0);
        cr_expect_str_eq(r.seen, cases[i].seen, "case %zu (%s)", i,
                         cases[i].name ? cases[i].name : "NULL");
        pair_free_ctx(&r.p);
    }
}

/* ------------------------------------------------------------- verification */

static const struct {
    const char *cert, *name;
    int insecure, system_only;
    int want;        /* client's result */
    const char *msg; /* substring of cio_tls_last_error() */
} verify_cases[] = {
    {"server", "localhost", 0, 0, 0, NULL},
    {"server", "LOCALHOST", 0, 0, 0, NULL}, /* names are case-insensitive */
    {"server", "127.0.0.1", 0, 0, 0, NULL}, /* iPAddress SAN */
    {"server", "::1", 0, 0, 0, NULL},
    {"server", NULL, 0, 0, 0, NULL}, /* chain only */
    {"server", "127.0.0.2", 0, 0, CIO_ECERT, "IP address mismatch"},
    {"server", "other.test", 0, 0, CIO_ECERT, "hostname mismatch"},
    {"wrong", "localhost", 0, 0, CIO_ECERT, "hostname mismatch"},
    {"wrong", "localhost", 1, 0, 0, NULL},
    {"self", "localhost", 0, 0, CIO_ECERT, "self-signed certificate"},
    {"self", "localhost", 1, 0, 0, NULL},
    {"expired", "localhost", 0, 0, CIO_ECERT, "certificate has expired"},
    {"future", "localhost", 0, 0, CIO_ECERT, "certificate is not yet valid"},
    {"server", "localhost", 0, 1, CIO_ECERT, "unable to get local issuer"},
    {"server", "localhost", 1, 1, 0, NULL},
    /* RELIABILITY I.80: "*.a.test" covers one label, never the apex. */
    {"wild", "b.a.test", 0, 0, 0, NULL},
    {"wild", "a.test", 0, 0, CIO_ECERT, "hostname mismatch"},
    {"wild", "x.y.a.test", 0, 0, CIO_ECERT, "hostname mismatch"},
};

Test(tls, client_verifies_chain_name_ip_and_dates)
{
    for (size_t i = 0; i < CIO_COUNTOF(verify_cases); i++) {
        struct pair p = {0};
        cr_assert_eq(
            tls_fixture_server_ctx(&p.sctx, verify_cases[i].cert, NULL), 0,
            "%s", cio_tls_last_error());
        cr_assert_eq(tls_fixture_client_ctx(&p.cctx, NULL,
                                            verify_cases[i].insecure,
                                            verify_cases[i].system_only),
                     0);
        p.servername = verify_cases[i].name;
        cr_assert_eq(cio_run(open_close_main, &p), 0);
        cr_expect_eq(p.crc, verify_cases[i].want,
                     "case %zu (%s as %s%s): got %s, want %s (%s)", i,
                     verify_cases[i].cert, verify_cases[i].name,
                     verify_cases[i].insecure ? ", insecure" : "",
                     cio_errname(p.crc), cio_errname(verify_cases[i].want),
                     p.cerr);
        if (verify_cases[i].msg != NULL)
            cr_expect(strstr(p.cerr, verify_cases[i].msg) != NULL,
                      "case %zu: message '%s' lacks '%s'", i, p.cerr,
                      verify_cases[i].msg);
        if (verify_cases[i].want != 0)
            cr_expect(p.src < 0, "case %zu: server handshake succeeded", i);
        else
            CIO_EXPECT_RC(p.src, 0);
        pair_free_ctx(&p);
    }
}

Test(tls, server_verifies_client_certificate)
{
    static const struct {
        int send_cert;
        int want_srv;
    } cases[] = {{1, 0}, {0, CIO_ECERT}};

    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct pair p = {0};
        struct cio_tls_opts so = {
            .server = 1,
            .verify_client = 1,
            .cert_file = tls_fixture_path("server.pem"),
            .key_file = tls_fixture_path("server.key"),
            .ca_file = tls_fixture_path("ca.pem"),
        };
        struct cio_tls_opts co = {.ca_file = tls_fixture_path("ca.pem")};
        if (cases[i].send_cert) {
            co.cert_file = tls_fixture_path("client.pem");
            co.key_file = tls_fixture_path("client.key");
        }
        cr_assert_eq(cio_tls_ctx_new(&p.sctx, &so), 0, "%s",
                     cio_tls_last_error());
        cr_assert_eq(cio_tls_ctx_new(&p.cctx, &co), 0, "%s",
                     cio_tls_last_error());
        p.servername = "localhost";
        cr_assert_eq(cio_run(open_close_main, &p), 0);
        cr_expect_eq(p.src, cases[i].want_srv, "case %zu: server got %s (%s)",
                     i, cio_errname(p.src), p.serr);
        if (cases[i].want_srv != 0)
            cr_expect(strstr(p.serr, "certificate") != NULL, "case %zu: '%s'",
                      i, p.serr);
        pair_free_ctx(&p);
    }
}

/* ------------------------------------------------------------- full duplex */

struct flow {
    cio_stream *s;
    size_t total;
    unsigned seed; /* of the bytes this side sends */
    unsigned peer_seed;
    int small_writes;       /* writev with many small pieces */
    size_t keyupdate_every; /* request a TLS 1.3 KeyUpdate every N bytes */
    ptrdiff_t wrc;          /* bytes written or error */
    size_t rgot;
    int rbad;       /* first mismatching offset + 1, or 0 */
    ptrdiff_t rend; /* last read result: 0 = close_notify */
    char msg[128];  /* cio_tls_last_error() after a failure */
    int wstarted, wdone;
};

static void flow_writer(void *arg)
{
    struct flow *f = arg;
    static __thread unsigned char buf[3][65536];
    unsigned char *b = buf[f->seed % 3];
    size_t off = 0;
    cio_time dl = cio_after(DL);

    f->wstarted = 1;
    while (off < f->total) {
        size_t len =
            f->total - off < sizeof(buf[0]) ? f->total - off : sizeof(buf[0]);
        ptrdiff_t n;
        for (size_t k = 0; k < len; k++)
            b[k] = pattern(off + k, f->seed);
        if (f->keyupdate_every && off % f->keyupdate_every < len)
            SSL_key_update(cio__tls_ssl(f->s), SSL_KEY_UPDATE_REQUESTED);
        if (f->small_writes) {
            /* Many small pieces: the TLS layer coalesces them into records. */
            struct iovec iov[64];
            int cnt = 0;
            size_t used = 0;
            while (cnt < 64 && used < len) {
                size_t k = 1 + (size_t)(cnt * 37 + (int)off) % 300;
                if (k > len - used)
                    k = len - used;
                iov[cnt].iov_base = b + used;
                iov[cnt].iov_len = k;
                used += k;
                cnt++;
            }
            n = cio_stream_writev(f->s, iov, cnt, dl);
            len = used;
        } else {
            n = cio_stream_write(f->s, b, len, dl);
        }
        if (n != (ptrdiff_t)len) {
            f->wrc = n < 0 ? n : CIO_EPROTO;
            snprintf(f->msg, sizeof(f->msg), "%s", cio_tls_last_error());
            f->wdone = 1;
            return;
        }
        off += len;
    }
    f->wrc = (ptrdiff_t)off;
    f->wdone = 1;
    cio_stream_shutdown(f->s, dl);
}

static void flow_reader(void *arg)
{
    struct flow *f = arg;
    static __thread unsigned char buf[3][50000];
    unsigned char *b = buf[f->seed % 3];
    ptrdiff_t n;
    cio_time dl = cio_after(DL);

    while ((n = cio_stream_read(f->s, b, sizeof(buf[0]), dl)) > 0) {
        for (ptrdiff_t k = 0; k < n && !f->rbad; k++)
            if (b[k] != pattern(f->rgot + (size_t)k, f->peer_seed))
                f->rbad = (int)(f->rgot + (size_t)k) + 1;
        f->rgot += (size_t)n;
    }
    f->rend = n;
    if (n < 0)
        snprintf(f->msg, sizeof(f->msg), "%s", cio_tls_last_error());
}

struct duplex {
    struct pair p;
    struct flow cw, cr, sw, sr;
};

static int duplex_main(void *arg)
{
    struct duplex *d = arg;
    cio_group *g;

    if (pair_open(&d->p) < 0)
        return 0;
    small_buffers(d->p.cli);
    small_buffers(d->p.srv);
    d->cw.s = d->cr.s = d->p.cli;
    d->sw.s = d->sr.s = d->p.srv;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, flow_writer, &d->cw), 0);
    cr_assert_eq(cio_go(g, flow_reader, &d->cr), 0);
    cr_assert_eq(cio_go(g, flow_writer, &d->sw), 0);
    cr_assert_eq(cio_go(g, flow_reader, &d->sr), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(2 * DL)), 0);
    cio_group_free(g);
    pair_close(&d->p);
    return 0;
}

static void check_flow(const char *who, const struct flow *w,
                       const struct flow *r)
{
    cr_expect_eq(w->wrc, (ptrdiff_t)w->total, "%s writer: %td (%s: %s)", who,
                 w->wrc, cio_errname((int)w->wrc), w->msg);
    cr_expect_eq(r->rgot, w->total, "%s: reader got %zu of %zu", who, r->rgot,
                 w->total);
    cr_expect_eq(r->rbad, 0, "%s: byte %d differs", who, r->rbad - 1);
    cr_expect_eq(r->rend, 0, "%s: reader ended with %s (%s)", who,
                 cio_errname((int)r->rend), r->msg);
}

/*
 * keyupdate: both writers also request a KeyUpdate every 256 KiB, so each
 * reader must send KeyUpdate replies while its own side's writer keeps the
 * socket full: reads that need to write, interleaved with writes.
 */
static void run_duplex(int keyupdate)
{
    static struct duplex d;
    const size_t total = 4u << 20, every = keyupdate ? 256u << 10 : 0;

    memset(&d, 0, sizeof(d));
    pair_default(&d.p);
    d.cw = (struct flow){.total = total, .seed = 1, .keyupdate_every = every};
    d.sr = (struct flow){.peer_seed = 1};
    d.sw = (struct flow){.total = total, .seed = 2, .keyupdate_every = every};
    d.cr = (struct flow){.peer_seed = 2};
    cr_assert_eq(cio_run(duplex_main, &d), 0);
    CIO_ASSERT_RC(d.p.crc, 0);
    check_flow("client->server", &d.cw, &d.sr);
    check_flow("server->client", &d.sw, &d.cr);
    pair_free_ctx(&d.p);
}

Test(tls, full_duplex_4mib_both_ways)
{
    run_duplex(0);
}

Test(tls, full_duplex_with_key_updates)
{
    run_duplex(1);
}

/* ------------------------------------------------------------- back-pressure */

struct bp {
    struct pair p;
    struct flow w, r;
    int done_before_read; /* the writer finished with no reader */
};

static void bp_reader(void *arg)
{
    struct bp *b = arg;
    while (!b->w.wstarted)
        cio_yield();
    /* The writer cannot finish: 4 MiB do not fit in 32 KiB socket buffers
     * and nobody reads. Waiting longer only makes that more certain. */
    cio_sleep(cio_after(100));
    b->done_before_read = b->w.wdone;
    flow_reader(&b->r);
}

static int bp_main(void *arg)
{
    struct bp *b = arg;
    cio_group *g;

    if (pair_open(&b->p) < 0)
        return 0;
    small_buffers(b->p.cli);
    small_buffers(b->p.srv);
    b->w.s = b->p.cli;
    b->r.s = b->p.srv;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, flow_writer, &b->w), 0);
    cr_assert_eq(cio_go(g, bp_reader, b), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(2 * DL)), 0);
    cio_group_free(g);
    pair_close(&b->p);
    return 0;
}

Test(tls, large_writes_park_under_back_pressure)
{
    for (int small = 0; small <= 1; small++) {
        static struct bp b;
        memset(&b, 0, sizeof(b));
        pair_default(&b.p);
        b.w =
            (struct flow){.total = 4u << 20, .seed = 3, .small_writes = small};
        b.r = (struct flow){.peer_seed = 3};
        cr_assert_eq(cio_run(bp_main, &b), 0);
        CIO_ASSERT_RC(b.p.crc, 0);
        cr_expect_eq(b.done_before_read, 0, "small=%d: no back-pressure",
                     small);
        check_flow(small ? "writev pieces" : "write", &b.w, &b.r);
        pair_free_ctx(&b.p);
    }
}

/* A write that times out has sent a prefix; the stream stays usable. */
struct wto {
    struct pair p;
    ptrdiff_t wrc, mark;
    size_t prefix; /* pattern bytes the server got before MARK */
    int bad;
};

static void wto_reader(void *arg)
{
    struct wto *w = arg;
    static unsigned char all[(4u << 20) + 4], buf[65536];
    size_t got = 0;

    while (got < 4 || memcmp(all + got - 4, "MARK", 4) != 0) {
        ptrdiff_t n =
            cio_stream_read(w->p.srv, buf, sizeof(buf), cio_after(DL));
        if (n <= 0 || got + (size_t)n > sizeof(all)) {
            w->bad = 1;
            return;
        }
        memcpy(all + got, buf, (size_t)n);
        got += (size_t)n;
    }
    w->prefix = got - 4;
    for (size_t i = 0; i < w->prefix && !w->bad; i++)
        w->bad = all[i] != pattern(i, 5);
}

static int wto_main(void *arg)
{
    struct wto *w = arg;
    static unsigned char big[4u << 20];
    cio_group *g;

    if (pair_open(&w->p) < 0)
        return 0;
    small_buffers(w->p.cli);
    small_buffers(w->p.srv);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = pattern(i, 5);
    /* Nobody reads: the write parks, then its deadline passes. */
    w->wrc = cio_stream_write(w->p.cli, big, sizeof(big), cio_after(100));
    /* The next write goes out after whatever the first one had encrypted;
     * the server reads until it sees it. */
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, wto_reader, w), 0);
    w->mark = cio_stream_write(w->p.cli, "MARK", 4, cio_after(DL));
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    pair_close(&w->p);
    return 0;
}

Test(tls, write_timeout_sends_a_prefix_and_keeps_the_stream)
{
    static struct wto w;
    memset(&w, 0, sizeof(w));
    pair_default(&w.p);
    cr_assert_eq(cio_run(wto_main, &w), 0);
    CIO_ASSERT_RC(w.p.crc, 0);
    CIO_EXPECT_RC(w.wrc, CIO_ETIMEDOUT);
    cr_expect_eq(w.mark, 4, "write after the timeout: %s",
                 cio_errname((int)w.mark));
    cr_expect(!w.bad, "server did not get a pattern prefix then MARK");
    cr_expect(w.prefix > 0 && w.prefix < (4u << 20), "prefix %zu", w.prefix);
    pair_free_ctx(&w.p);
}

/* One writev of small pieces is one record: the reader gets it in one read. */
struct coalesce {
    struct pair p;
    ptrdiff_t first;
};

static int coalesce_main(void *arg)
{
    struct coalesce *c = arg;
    char buf[256];
    struct iovec iov[] = {
        {.iov_base = "GET / HTTP/1.1\r\n", .iov_len = 16},
        {.iov_base = "Host: a\r\n", .iov_len = 9},
        {.iov_base = "", .iov_len = 0},
        {.iov_base = "\r\n", .iov_len = 2},
    };

    if (pair_open(&c->p) == 0 &&
        cio_stream_writev(c->p.cli, iov, 4, cio_after(DL)) == 27) {
        /* Let all of it arrive before reading. */
        cio_sleep(cio_after(50));
        c->first = cio_stream_read(c->p.srv, buf, sizeof(buf), cio_after(DL));
    }
    pair_close(&c->p);
    return 0;
}

Test(tls, writev_pieces_share_one_record)
{
    struct coalesce c = {0};
    pair_default(&c.p);
    cr_assert_eq(cio_run(coalesce_main, &c), 0);
    CIO_ASSERT_RC(c.p.crc, 0);
    cr_expect_eq(c.first, 27, "first read got %td bytes", c.first);
    pair_free_ctx(&c.p);
}

/* ------------------------------------------------------------- peer behaviour */

struct rude {
    struct pair p;
    int mode; /* what the raw side does */
    int rc;
    char msg[256];
};

enum {
    HALF_HELLO,
    SERVER_CLOSES,
    SERVER_SPEAKS_HTTP,
    SERVER_SILENT,
    CLIENT_SILENT
};

/* The raw peer of the client-side cases. */
static void rude_server(void *arg)
{
    struct rude *r = arg;
    cio_stream *raw;
    char buf[512];

    if (cio_listener_accept(r->p.ln, &raw, cio_after(DL)) < 0)
        return;
    if (r->mode == SERVER_SPEAKS_HTTP) {
        cio_stream_read(raw, buf, sizeof(buf), cio_after(DL));
        cio_stream_write(raw, "HTTP/1.1 400 Bad Request\r\n\r\n", 28,
                         cio_after(DL));
    } else if (r->mode == SERVER_SILENT) {
        /* Read the ClientHello, answer nothing until the client gives up. */
        while (cio_stream_read(raw, buf, sizeof(buf), cio_after(DL)) > 0)
            ;
    }
    cio_stream_close(raw);
}

static int rude_main(void *arg)
{
    struct rude *r = arg;
    cio_group *g;
    cio_stream *raw;
    cio_time dl = cio_after(
        r->mode == SERVER_SILENT || r->mode == CLIENT_SILENT ? 200 : DL);

    cr_assert_eq(cio_tcp_listen(&r->p.ln, "127.0.0.1:0", NULL), 0);
    cr_assert_eq(cio_group_new(&g), 0);
    if (r->mode == HALF_HELLO || r->mode == CLIENT_SILENT) {
        /* We are the rude client; the server handshake is under test. */
        static const char half[] =
            "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"
            "0123456789";
        cr_assert_eq(cio_tcp_connect(&raw, "127.0.0.1",
                                     cio_listener_port(r->p.ln), NULL,
                                     cio_after(DL)),
                     0);
        cio_stream *acc, *tls = NULL;
        cr_assert_eq(cio_listener_accept(r->p.ln, &acc, cio_after(DL)), 0);
        if (r->mode == HALF_HELLO) {
            cio_stream_write(raw, half, sizeof(half) - 1, cio_after(DL));
            cio_stream_close(raw);
            raw = NULL;
        }
        r->rc = cio_tls_server(&tls, acc, r->p.sctx, dl);
        snprintf(r->msg, sizeof(r->msg), "%s", cio_tls_last_error());
        if (r->rc == 0)
            cio_stream_close(tls);
        else
            cio_stream_close(acc); /* still ours after a failed handshake */
        cio_stream_close(raw);
    } else {
        cr_assert_eq(cio_go(g, rude_server, r), 0);
        cr_assert_eq(cio_tcp_connect(&raw, "127.0.0.1",
                                     cio_listener_port(r->p.ln), NULL,
                                     cio_after(DL)),
                     0);
        cio_stream *tls = NULL;
        r->rc = cio_tls_client(&tls, raw, r->p.cctx, "localhost", dl);
        snprintf(r->msg, sizeof(r->msg), "%s", cio_tls_last_error());
        if (r->rc == 0) {
            cio_stream_close(tls);
        } else {
            /* A failed handshake leaves inner open and ours. */
            cr_expect(cio_stream_fd(raw) >= 0);
            cio_stream_close(raw);
        }
    }
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    cio_listener_close(r->p.ln);
    r->p.ln = NULL;
    return 0;
}

Test(tls, peer_disconnect_or_garbage_mid_handshake)
{
    static const struct {
        int mode;
        int want, alt; /* accepted results */
        const char *msg;
    } cases[] = {
        {HALF_HELLO, CIO_EPROTO, CIO_ECONNRESET, NULL},
        {SERVER_CLOSES, CIO_EPROTO, CIO_ECONNRESET, NULL},
        {SERVER_SPEAKS_HTTP, CIO_ETLS, CIO_ETLS, ""},
        {SERVER_SILENT, CIO_ETIMEDOUT, CIO_ETIMEDOUT, NULL},
        {CLIENT_SILENT, CIO_ETIMEDOUT, CIO_ETIMEDOUT,
         NULL}, /* RELIABILITY I.83 */
    };
    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        struct rude r = {.mode = cases[i].mode};
        pair_default(&r.p);
        cr_assert_eq(cio_run(rude_main, &r), 0);
        cr_expect(r.rc == cases[i].want || r.rc == cases[i].alt,
                  "case %zu: got %s (%s), want %s", i, cio_errname(r.rc), r.msg,
                  cio_errname(cases[i].want));
        if (r.rc == CIO_EPROTO)
            cr_expect(strstr(r.msg, "handshake") != NULL, "case %zu: '%s'", i,
                      r.msg);
        if (cases[i].msg != NULL)
            cr_expect(r.msg[0] != '\0', "case %zu: empty message", i);
        pair_free_ctx(&r.p);
    }
}

/* ------------------------------------------------------------- cancellation */

struct cancel_hs {
    struct pair p;
    int rc;
};

static int cancel_hs_client(void *arg)
{
    struct cancel_hs *c = arg;
    cio_stream *raw, *tls;
    int rc = cio_tcp_connect(&raw, "127.0.0.1", cio_listener_port(c->p.ln),
                             NULL, cio_after(DL));
    if (rc < 0)
        return c->rc = rc;
    c->rc = cio_tls_client(&tls, raw, c->p.cctx, "localhost", CIO_NEVER);
    if (c->rc == 0)
        cio_stream_close(tls);
    else
        cio_stream_close(raw);
    return c->rc;
}

static int cancel_hs_main(void *arg)
{
    struct cancel_hs *c = arg;
    cio_group *g;
    cio_task *t;
    cio_stream *acc;

    cr_assert_eq(cio_tcp_listen(&c->p.ln, "127.0.0.1:0", NULL), 0);
    cr_assert_eq(cio_group_new(&g), 0);
    c->rc = 1;
    cr_assert_eq(cio_spawn(g, cancel_hs_client, c, NULL, &t), 0);
    /* The server accepts and says nothing: the client parks mid-handshake. */
    cr_assert_eq(cio_listener_accept(c->p.ln, &acc, cio_after(DL)), 0);
    cio_sleep(cio_after(50));
    cr_expect_eq(c->rc, 1, "handshake ended early: %s", cio_errname(c->rc));
    cio_task_cancel(t);
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    cio_stream_close(acc);
    cio_listener_close(c->p.ln);
    c->p.ln = NULL;
    return 0;
}

Test(tls, handshake_cancel)
{
    struct cancel_hs c = {0};
    pair_default(&c.p);
    cr_assert_eq(cio_run(cancel_hs_main, &c), 0);
    CIO_EXPECT_RC(c.rc, CIO_ECANCELED);
    pair_free_ctx(&c.p);
}

struct rd {
    struct pair p;
    int timeout_rc, cancel_rc;
    char after[8];
    cio_stream *s;
};

static int rd_reader(void *arg)
{
    struct rd *r = arg;
    char buf[16];
    r->cancel_rc = (int)cio_stream_read(r->s, buf, sizeof(buf), CIO_NEVER);
    return 0;
}

static int rd_main(void *arg)
{
    struct rd *r = arg;
    cio_group *g;
    cio_task *t;
    char buf[16] = {0};

    if (pair_open(&r->p) < 0)
        return 0;
    r->s = r->p.cli;
    /* Deadline: nothing arrives. */
    r->timeout_rc =
        (int)cio_stream_read(r->p.cli, buf, sizeof(buf), cio_after(100));
    /* Cancellation of a parked reader. */
    cr_assert_eq(cio_group_new(&g), 0);
    r->cancel_rc = 1;
    cr_assert_eq(cio_spawn(g, rd_reader, r, NULL, &t), 0);
    cio_sleep(cio_after(50));
    cio_task_cancel(t);
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    /* Neither broke the stream. */
    if (cio_stream_write(r->p.srv, "ping", 4, cio_after(DL)) == 4 &&
        read_full(r->p.cli, buf, 4, cio_after(DL)) == 4)
        memcpy(r->after, buf, 4);
    pair_close(&r->p);
    return 0;
}

Test(tls, read_deadline_and_cancel_keep_stream_usable)
{
    struct rd r = {0};
    pair_default(&r.p);
    cr_assert_eq(cio_run(rd_main, &r), 0);
    CIO_ASSERT_RC(r.p.crc, 0);
    CIO_EXPECT_RC(r.timeout_rc, CIO_ETIMEDOUT);
    CIO_EXPECT_RC(r.cancel_rc, CIO_ECANCELED);
    cr_expect_str_eq(r.after, "ping");
    pair_free_ctx(&r.p);
}

/* ------------------------------------------------------------- EOF */

struct eof {
    struct pair p;
    int clean; /* the server shuts down before closing */
    ptrdiff_t first, second;
    char msg[256];
    ptrdiff_t late_write; /* client write after the server's close_notify */
    ptrdiff_t srv_got;
};

static int eof_main(void *arg)
{
    struct eof *e = arg;
    char buf[64];

    if (pair_open(&e->p) < 0)
        return 0;
    cio_stream_write(e->p.srv, "last", 4, cio_after(DL));
    if (e->clean) {
        cio_stream_shutdown(e->p.srv, cio_after(DL));
    } else {
        cio_stream_close(e->p.srv); /* no close_notify: a truncation */
        e->p.srv = NULL;
    }
    read_full(e->p.cli, buf, 4, cio_after(DL));
    e->first = cio_stream_read(e->p.cli, buf, sizeof(buf), cio_after(DL));
    snprintf(e->msg, sizeof(e->msg), "%s", cio_tls_last_error());
    e->second = cio_stream_read(e->p.cli, buf, sizeof(buf), cio_after(DL));
    if (e->clean) {
        /* close_notify ends one direction: the other still works. */
        e->late_write = cio_stream_write(e->p.cli, "more", 4, cio_after(DL));
        e->srv_got = read_full(e->p.srv, buf, 4, cio_after(DL));
    }
    pair_close(&e->p);
    return 0;
}

Test(tls, eof_without_close_notify_is_an_error)
{
    struct eof e = {0};
    pair_default(&e.p);
    cr_assert_eq(cio_run(eof_main, &e), 0);
    CIO_ASSERT_RC(e.p.crc, 0);
    CIO_EXPECT_RC(e.first, CIO_EPROTO);
    cr_expect_str_eq(e.msg, "unexpected EOF (no close_notify)");
    CIO_EXPECT_RC(e.second, CIO_EPROTO); /* sticky */
    pair_free_ctx(&e.p);
}

Test(tls, close_notify_is_a_clean_eof)
{
    struct eof e = {.clean = 1};
    pair_default(&e.p);
    cr_assert_eq(cio_run(eof_main, &e), 0);
    CIO_ASSERT_RC(e.p.crc, 0);
    cr_expect_eq(e.first, 0, "got %s", cio_errname((int)e.first));
    cr_expect_eq(e.second, 0, "got %s", cio_errname((int)e.second));
    cr_expect_eq(e.late_write, 4, "late write: %s",
                 cio_errname((int)e.late_write));
    cr_expect_eq(e.srv_got, 4, "server read after its shutdown: %s",
                 cio_errname((int)e.srv_got));
    pair_free_ctx(&e.p);
}

/* ------------------------------------------------------------- on_readable */

struct onr {
    struct pair p;
    int fired, status;
    ptrdiff_t rest;
    int fired2, status2;
};

static void onr_cb(cio_stream *s, int status, void *ud)
{
    struct onr *o = ud;
    (void)s;
    o->fired++;
    o->status = status;
}

static void onr_cb2(cio_stream *s, int status, void *ud)
{
    struct onr *o = ud;
    (void)s;
    o->fired2++;
    o->status2 = status;
}

static int onr_main(void *arg)
{
    struct onr *o = arg;
    char buf[256];

    if (pair_open(&o->p) < 0)
        return 0;
    /* 100 bytes in one record; read 10: OpenSSL holds the other 90, the
     * socket has nothing. The callback must still fire. */
    memset(buf, 'x', sizeof(buf));
    cio_stream_write(o->p.srv, buf, 100, cio_after(DL));
    read_full(o->p.cli, buf, 10, cio_after(DL));
    cr_assert_eq(cio_stream_on_readable(o->p.cli, cio_after(1000), onr_cb, o),
                 0);
    for (int i = 0; i < 1000 && !o->fired; i++)
        cio_sleep(cio_after(5));
    o->rest = cio_stream_read(o->p.cli, buf, sizeof(buf), cio_after(DL));
    /* Nothing buffered: the inner stream's readiness decides. */
    cr_assert_eq(cio_stream_on_readable(o->p.cli, cio_after(DL), onr_cb2, o),
                 0);
    cio_sleep(cio_after(20));
    cr_expect_eq(o->fired2, 0, "fired with nothing to read");
    cio_stream_write(o->p.srv, "y", 1, cio_after(DL));
    for (int i = 0; i < 1000 && !o->fired2; i++)
        cio_sleep(cio_after(5));
    pair_close(&o->p);
    return 0;
}

Test(tls, on_readable_sees_buffered_plaintext)
{
    struct onr o = {0};
    pair_default(&o.p);
    cr_assert_eq(cio_run(onr_main, &o), 0);
    CIO_ASSERT_RC(o.p.crc, 0);
    cr_expect_eq(o.fired, 1);
    CIO_EXPECT_RC(o.status, 0);
    cr_expect_eq(o.rest, 90);
    cr_expect_eq(o.fired2, 1);
    CIO_EXPECT_RC(o.status2, 0);
    pair_free_ctx(&o.p);
}

/* ------------------------------------------------------------- sendfile */

struct sf {
    struct pair p;
    int fd;
    size_t len;
    ptrdiff_t sent;
    int same;
};

static int sf_main(void *arg)
{
    struct sf *s = arg;
    struct flow r = {.peer_seed = 9};
    cio_group *g;

    if (pair_open(&s->p) < 0)
        return 0;
    /* Small buffers: the fallback has to park while the reader catches up. */
    small_buffers(s->p.cli);
    small_buffers(s->p.srv);
    r.s = s->p.srv;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, flow_reader, &r), 0);
    s->sent =
        cio_stream_sendfile(s->p.cli, s->fd, 0, s->len + 1000, cio_after(DL));
    cio_stream_shutdown(s->p.cli, cio_after(DL));
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    s->same = r.rgot == s->len && r.rbad == 0 && r.rend == 0;
    pair_close(&s->p);
    return 0;
}

Test(tls, sendfile_falls_back_to_read_and_encrypt)
{
    struct sf s = {.len = 200000};
    char path[] = "/tmp/corio-tls-sf-XXXXXX";
    static unsigned char data[200000];

    s.fd = mkstemp(path);
    cr_assert(s.fd >= 0);
    unlink(path);
    for (size_t i = 0; i < s.len; i++)
        data[i] = pattern(i, 9);
    cr_assert_eq(write(s.fd, data, s.len), (ssize_t)s.len);
    pair_default(&s.p);
    cr_assert_eq(cio_run(sf_main, &s), 0);
    CIO_ASSERT_RC(s.p.crc, 0);
    /* Asked for more than the file has: gets what exists. */
    cr_expect_eq(s.sent, (ptrdiff_t)s.len, "sent %td", s.sent);
    cr_expect(s.same, "received bytes differ");
    close(s.fd);
    pair_free_ctx(&s.p);
}

/* ------------------------------------------------------------- error queue */

struct stale {
    struct pair p;
    ptrdiff_t w, r;
};

static void stale_late_writer(void *arg)
{
    struct stale *s = arg;
    cio_sleep(cio_after(30));
    /* The queue is per thread: this task's entry is the reader's too. */
    ERR_raise(ERR_LIB_USER, 2);
    s->w = cio_stream_write(s->p.cli, "abc", 3, cio_after(DL));
    ERR_raise(ERR_LIB_USER, 3);
}

static int stale_main(void *arg)
{
    struct stale *s = arg;
    cio_group *g;
    char buf[8];

    /*
     * A stale entry left by someone else's OpenSSL call on this thread must
     * not fail our handshake, write or read. The read starts before any data
     * exists, so SSL_read_ex answers "want read", which SSL_get_error would
     * misreport as a failure if the old entry were still queued.
     */
    ERR_raise(ERR_LIB_USER, 1);
    if (pair_open(&s->p) < 0)
        return 0;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, stale_late_writer, s), 0);
    ERR_raise(ERR_LIB_USER, 4);
    s->r = read_full(s->p.srv, buf, 3, cio_after(DL));
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    ERR_clear_error();
    pair_close(&s->p);
    return 0;
}

Test(tls, stale_openssl_errors_do_not_poison_calls)
{
    struct stale s = {0};
    pair_default(&s.p);
    cr_assert_eq(cio_run(stale_main, &s), 0);
    CIO_EXPECT_RC(s.p.crc, 0);
    cr_expect_eq(s.w, 3);
    cr_expect_eq(s.r, 3);
    pair_free_ctx(&s.p);
}

/* ------------------------------------------------------------- key updates */

/*
 * TLS 1.3 KeyUpdate with update_requested: the receiver owes a KeyUpdate of
 * its own, and OpenSSL 3 sends it from the read path when the next
 * handshake message arrives. So a read can need the inner stream to be
 * writable. With the client's writes refused by a gate and no write in
 * progress, the client's read must park on "writable" and send the reply
 * when the gate opens -- not park on "readable" and sit on it.
 */
struct ku {
    struct pair p;
    char buf[16];
    ptrdiff_t got, idle, last;
    int refused, waited_out;
};

static void ku_opener(void *arg)
{
    struct ku *k = arg;
    cio_sleep(cio_after(100));
    gate_open(k->p.gate);
}

static int ku_main(void *arg)
{
    struct ku *k = arg;
    SSL *srv;
    cio_group *g;

    if (pair_open(&k->p) < 0)
        return 0;
    srv = cio__tls_ssl(k->p.srv);
    k->p.gate->shut = 1;
    cr_assert_eq(SSL_key_update(srv, SSL_KEY_UPDATE_REQUESTED), 1);
    cio_stream_write(k->p.srv, "ping", 4, cio_after(DL));
    cr_assert_eq(SSL_key_update(srv, SSL_KEY_UPDATE_REQUESTED), 1);
    cio_stream_write(k->p.srv, "pong", 4, cio_after(DL));
    k->got = read_full(k->p.cli, k->buf, 8, cio_after(DL));
    k->refused = k->p.gate->refused;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, ku_opener, k), 0);
    /* Nothing more to read: this read only has the reply to send. */
    k->idle = cio_stream_read(k->p.cli, k->buf + 8, 4, cio_after(500));
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    k->waited_out = k->p.gate->waited_out;
    /* Still in step both ways after the key changes. */
    cio_stream_write(k->p.srv, "end", 3, cio_after(DL));
    k->last = read_full(k->p.cli, k->buf + 8, 3, cio_after(DL));
    pair_close(&k->p);
    return 0;
}

Test(tls, read_that_must_write_parks_on_writable)
{
    struct ku k = {0};
    pair_default(&k.p);
    k.p.use_gate = 1;
    cr_assert_eq(cio_run(ku_main, &k), 0);
    CIO_ASSERT_RC(k.p.crc, 0);
    cr_expect_eq(k.got, 8, "read: %td (%s)", k.got, cio_errname((int)k.got));
    cr_expect_gt(k.refused, 0, "no read tried to send the KeyUpdate reply");
    CIO_EXPECT_RC(k.idle, CIO_ETIMEDOUT);
    cr_expect_gt(k.waited_out, 0, "the read never waited for writable");
    cr_expect_eq(k.last, 3, "after: %td (%s)", k.last,
                 cio_errname((int)k.last));
    cr_expect(memcmp(k.buf, "pingpongend", 11) == 0, "got %.11s", k.buf);
    pair_free_ctx(&k.p);
}

/* ------------------------------------------------------------- contexts */

static void *other_thread_error(void *arg)
{
    (void)arg;
    return (void *)cio_tls_last_error();
}

Test(tls, context_errors_are_typed_and_named)
{
    cio_tls_ctx *c = NULL;
    const char *alpn_long[] = {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxx"
                               "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                               NULL};
    struct {
        struct cio_tls_opts o;
        int want;
        const char *msg;
    } cases[] = {
        {{.server = 1}, CIO_EINVAL, "cert_file"},
        {{.cert_file = "/nonexistent/x.pem", .key_file = "/nonexistent/x.key"},
         CIO_ETLS,
         "/nonexistent/x.pem"},
        {{.server = 1,
          .cert_file = tls_fixture_path("server.pem"),
          .key_file = tls_fixture_path("wrong.key")},
         CIO_ETLS,
         "key_file"},
        {{.ca_file = "/nonexistent/ca.pem"}, CIO_ETLS, "/nonexistent/ca.pem"},
        {{.alpn = alpn_long}, CIO_EINVAL, "ALPN"},
        {{.min_version = TLS1_1_VERSION}, CIO_EINVAL, "min_version"},
        {{.ciphers = "NO-SUCH-CIPHER"}, CIO_EINVAL, "ciphers"},
        {{.min_version = TLS1_3_VERSION}, 0, NULL},
    };

    for (size_t i = 0; i < CIO_COUNTOF(cases); i++) {
        c = NULL;
        int rc = cio_tls_ctx_new(&c, &cases[i].o);
        cr_expect_eq(rc, cases[i].want, "case %zu: got %s, want %s (%s)", i,
                     cio_errname(rc), cio_errname(cases[i].want),
                     cio_tls_last_error());
        if (cases[i].msg != NULL)
            cr_expect(strstr(cio_tls_last_error(), cases[i].msg) != NULL,
                      "case %zu: '%s' lacks '%s'", i, cio_tls_last_error(),
                      cases[i].msg);
        if (rc == 0)
            cio_tls_ctx_free(c);
        else
            cr_expect_null(c, "case %zu: *out written on failure", i);
    }
    /* The message is per thread. */
    pthread_t th;
    void *seen = NULL;
    cr_assert_eq(pthread_create(&th, NULL, other_thread_error, NULL), 0);
    pthread_join(th, &seen);
    cr_expect_str_eq((const char *)seen, "");
    cr_expect_str_neq(cio_tls_last_error(), "");
    /* Not a TLS stream: no ALPN, no SNI. */
    cr_expect_null(cio_tls_alpn(NULL));
    cr_expect_null(cio_tls_servername(NULL));
}

/* The context may be freed while connections made with it live on. */
static int ctx_lifetime_main(void *arg)
{
    struct pair *p = arg;
    char buf[4];

    if (pair_open(p) < 0)
        return 0;
    cio_tls_ctx_free(p->sctx);
    cio_tls_ctx_free(p->cctx);
    p->sctx = p->cctx = NULL;
    if (cio_stream_write(p->cli, "abcd", 4, cio_after(DL)) != 4 ||
        read_full(p->srv, buf, 4, cio_after(DL)) != 4)
        p->crc = CIO_EPROTO;
    pair_close(p);
    return 0;
}

Test(tls, context_outlives_its_free_while_streams_use_it)
{
    struct pair p;
    pair_default(&p);
    p.servername = "localhost";
    cr_assert_eq(cio_run(ctx_lifetime_main, &p), 0);
    CIO_EXPECT_RC(p.crc, 0);
}

/* ------------------------------------------------------------- over a pipe */

/* TLS is a layer over any stream: here the in-memory pipe, with a small
 * buffer so records straddle reads and writers park on back-pressure. */
struct over_pipe {
    cio_tls_ctx *sctx, *cctx;
    cio_stream *a, *b, *srv, *cli;
    int src, crc;
    ptrdiff_t wrote;
    size_t echoed;
};

static char pipe_out[300000], pipe_in[300000];

/* Writes while the main task reads: with 4 KiB pipes a writer that does not
 * read would deadlock against the echoing server, over TCP too. */
static void pipe_tls_writer(void *arg)
{
    struct over_pipe *o = arg;
    o->wrote =
        cio_stream_write(o->cli, pipe_out, sizeof(pipe_out), cio_after(DL));
}

static void pipe_tls_server(void *arg)
{
    struct over_pipe *o = arg;
    char buf[3000];
    ptrdiff_t n;

    o->src = cio_tls_server(&o->srv, o->b, o->sctx, cio_after(DL));
    if (o->src < 0)
        return;
    o->b = NULL; /* owned by the TLS stream now */
    while ((n = cio_stream_read(o->srv, buf, sizeof(buf), cio_after(DL))) > 0)
        if (cio_stream_write(o->srv, buf, (size_t)n, cio_after(DL)) != n)
            break;
    cio_stream_shutdown(o->srv, cio_after(DL));
}

static int pipe_tls_main(void *arg)
{
    struct over_pipe *o = arg;
    cio_group *g, *w;

    cr_assert_eq(cio_pipe_new(&o->a, &o->b, 4096), 0);
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, pipe_tls_server, o), 0);
    o->crc = cio_tls_client(&o->cli, o->a, o->cctx, "localhost", cio_after(DL));
    if (o->crc == 0) {
        o->a = NULL;
        for (size_t k = 0; k < sizeof(pipe_out); k++)
            pipe_out[k] = (char)pattern(k, 3);
        cr_assert_eq(cio_group_new(&w), 0);
        cr_assert_eq(cio_go(w, pipe_tls_writer, o), 0);
        if (read_full(o->cli, pipe_in, sizeof(pipe_in), cio_after(DL)) ==
                (ptrdiff_t)sizeof(pipe_in) &&
            memcmp(pipe_in, pipe_out, sizeof(pipe_in)) == 0)
            o->echoed = sizeof(pipe_in);
        cio_group_wait(w, cio_after(DL));
        cio_group_free(w);
        cio_stream_shutdown(o->cli, cio_after(DL));
    }
    cio_group_wait(g, cio_after(DL));
    cio_group_free(g);
    cio_stream_close(o->cli);
    cio_stream_close(o->srv);
    cio_stream_close(o->a);
    cio_stream_close(o->b);
    return 0;
}

Test(tls, echo_over_in_memory_pipe)
{
    struct over_pipe o = {0};
    struct pair p;
    pair_default(&p);
    o.sctx = p.sctx;
    o.cctx = p.cctx;
    cr_assert_eq(cio_run(pipe_tls_main, &o), 0);
    CIO_EXPECT_RC(o.crc, 0);
    CIO_EXPECT_RC(o.src, 0);
    cr_expect_eq(o.wrote, 300000, "wrote %td", o.wrote);
    cr_expect_eq(o.echoed, 300000, "echoed %zu bytes", o.echoed);
    pair_free_ctx(&p);
}
