/* SPDX-License-Identifier: MIT */
/*
 * 10,000 concurrent client tasks in one process, one loop: each connects to
 * a loopback echo server on the same loop, sends, receives its echo and
 * closes. The server holds no task for a connection between messages
 * (cio_stream_on_readable).
 */
#include <sys/resource.h>

#include "test.h"

#include "rt/rt_int.h"

#define N_CLIENTS 10000
#define FD_SPARE 64 /* stdio, Criterion, epoll, eventfd, listener, spare */

/*
 * A FIFO gate on connections, used only when the descriptor limit cannot
 * hold every connection at once (each costs two descriptors here). A client
 * enters before connecting; the server leaves when it closes its end, so
 * both descriptors are counted. Built on the runtime's wait list; the sync
 * primitives live on another branch.
 */
struct gate {
    long avail; /* < 0: no gate */
    struct cio__list waiters;
};

static int gate_enter(struct gate *g, cio_time deadline)
{
    struct cio__wait w = {0};
    if (g->avail < 0)
        return 0;
    if (g->avail > 0 && cio__list_empty(&g->waiters)) {
        g->avail--;
        return 0;
    }
    cio__list_push_back(&g->waiters, &w.node);
    return cio__park(&w, deadline, 0); /* woken: the permit was handed over */
}

static void gate_leave(struct gate *g)
{
    if (g->avail < 0)
        return;
    if (cio__wake_one(&g->waiters, 0) == NULL)
        g->avail++;
}

struct echo {
    cio_listener *ln;
    cio_group *conns; /* server: one short task per message */
    struct gate gate;
    cio_time deadline; /* one budget for the whole run */
    int ok, failed, last_err;
    int open, peak_open; /* client connections */
    int accepted, srv_closed;
    struct cio__list drained; /* main waits here for srv_closed == accepted */
    int accepting;
};

static struct echo *E;

static void srv_readable(cio_stream *s, int status, void *ud);

static void srv_close(cio_stream *s)
{
    cio_stream_close(s);
    /* both descriptors of the connection are free only now */
    gate_leave(&E->gate);
    E->srv_closed++;
    if (!E->accepting && E->srv_closed == E->accepted)
        cio__wake_all(&E->drained, 0);
}

static void srv_message(void *arg)
{
    cio_stream *s = arg;
    char buf[128];
    ptrdiff_t n = cio_stream_read(s, buf, sizeof(buf), E->deadline);

    if (n <= 0 || cio_stream_write(s, buf, (size_t)n, E->deadline) != n ||
        cio_stream_on_readable(s, E->deadline, srv_readable, NULL) < 0)
        srv_close(s);
}

static void srv_readable(cio_stream *s, int status, void *ud)
{
    (void)ud;
    if (status < 0 || cio_go(E->conns, srv_message, s) < 0)
        srv_close(s);
}

static void acceptor(void *arg)
{
    (void)arg;
    for (;;) {
        cio_stream *s;
        int rc = cio_listener_accept(E->ln, &s, E->deadline);
        if (rc < 0) {
            if (rc != CIO_ECLOSED)
                CIO_EXPECT_RC(rc, CIO_ECLOSED);
            return;
        }
        E->accepted++;
        if (cio_stream_on_readable(s, E->deadline, srv_readable, NULL) < 0)
            srv_close(s);
    }
}

static void client(void *arg)
{
    int id = (int)(intptr_t)arg;
    cio_stream *s;
    char out[64], in[64];
    int len = snprintf(out, sizeof(out), "client %05d says hello", id);
    ptrdiff_t got = 0, n = 1;
    int rc = gate_enter(&E->gate, E->deadline);

    if (rc < 0) {
        E->failed++;
        E->last_err = rc;
        return;
    }
    rc = cio_tcp_connect(&s, "127.0.0.1", cio_listener_port(E->ln), NULL,
                         E->deadline);
    if (rc < 0) {
        gate_leave(&E->gate);
        E->failed++;
        E->last_err = rc;
        return;
    }
    if (++E->open > E->peak_open)
        E->peak_open = E->open;
    rc = (int)cio_stream_write(s, out, (size_t)len, E->deadline);
    if (rc == len) {
        while (got < len && n > 0) {
            n = cio_stream_read(s, in + got, sizeof(in) - (size_t)got,
                                E->deadline);
            if (n > 0)
                got += n;
        }
        rc = n < 0 ? (int)n : 0;
    }
    cio_stream_close(s);
    E->open--;
    if (got == len && memcmp(in, out, (size_t)len) == 0) {
        E->ok++;
    } else {
        E->failed++;
        E->last_err = rc < 0 ? rc : CIO_EPROTO;
    }
}

static int echo_main(void *arg)
{
    struct echo *e = arg;
    cio_group *srv, *clients;
    struct cio_listen_opts lo = {.backlog = 4096};

    E = e;
    e->deadline = cio_after(100000);
    cio__list_init(&e->drained);
    cio__list_init(&e->gate.waiters);
    CIO_ASSERT_RC(cio_tcp_listen(&e->ln, "127.0.0.1:0", &lo), 0);
    CIO_ASSERT_RC(cio_group_new(&e->conns), 0);
    CIO_ASSERT_RC(cio_group_new(&srv), 0);
    CIO_ASSERT_RC(cio_group_new(&clients), 0);
    e->accepting = 1;
    CIO_ASSERT_RC(cio_go(srv, acceptor, NULL), 0);
    for (int i = 0; i < N_CLIENTS; i++)
        CIO_ASSERT_RC(cio_go(clients, client, (void *)(intptr_t)i), 0);
    /* all of them exist at once, none has run yet */
    cr_expect_eq(cio_group_count(clients), N_CLIENTS);
    CIO_EXPECT_RC(cio_group_wait(clients, e->deadline), 0);
    cio_group_free(clients);

    /* shut the server down: stop accepting, let it see every EOF */
    cio_listener_close(e->ln);
    CIO_EXPECT_RC(cio_group_wait(srv, e->deadline), 0);
    cio_group_free(srv);
    e->accepting = 0;
    if (e->srv_closed < e->accepted) {
        struct cio__wait w = {0};
        cio__list_push_back(&e->drained, &w.node);
        CIO_EXPECT_RC(cio__park(&w, e->deadline, 0), 0);
    }
    CIO_EXPECT_RC(cio_group_wait(e->conns, e->deadline), 0);
    cio_group_free(e->conns);
    return 0;
}

Test(echo10k, ten_thousand_concurrent_clients)
{
    static struct echo e;
    struct rlimit rl;
    rlim_t need = 2 * (rlim_t)N_CLIENTS + FD_SPARE;

    /* Raise the soft limit as far as needed (this is Criterion's forked
     * test process: the change dies with it). */
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
                          ? need
                          : rl.rlim_max;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    e.gate.avail = -1;
    if (rl.rlim_cur < need) {
        /* Every connection needs 2 descriptors in this one process. With
         * less than N_CLIENTS + spare we would not even test 5,000
         * connections at once: fail clearly. Between that and `need`, the
         * 10,000 tasks still run at once and connections queue at a gate. */
        cr_assert_geq(rl.rlim_cur, (rlim_t)N_CLIENTS + FD_SPARE,
                      "RLIMIT_NOFILE hard limit %lu is too low for this test "
                      "(wants %lu: 2 descriptors per connection): raise it "
                      "with ulimit -Hn or /etc/security/limits.conf",
                      (unsigned long)rl.rlim_max, (unsigned long)need);
        e.gate.avail = (long)(rl.rlim_cur - FD_SPARE) / 2;
        cr_log_info("echo10k: RLIMIT_NOFILE hard limit %lu < %lu: at most %ld "
                    "connections open at once (all %d tasks still run "
                    "concurrently)",
                    (unsigned long)rl.rlim_max, (unsigned long)need,
                    e.gate.avail, N_CLIENTS);
    }
    cr_assert_eq(cio_run(echo_main, &e), 0);
    cr_log_info("echo10k: %d ok, %d failed, peak %d client connections open, "
                "%d accepted",
                e.ok, e.failed, e.peak_open, e.accepted);
    cr_expect_eq(e.ok, N_CLIENTS, "%d failed, last %s", e.failed,
                 cio_errname(e.last_err));
    cr_expect_eq(e.accepted, N_CLIENTS);
    cr_expect_eq(e.srv_closed, e.accepted);
}
