/* SPDX-License-Identifier: MIT */
/*
 * Idle connections without a task (cio_stream_on_readable): a server that
 * keeps no task and no buffer per idle connection, only the armed stream.
 */
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "rt/rt_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* from <sanitizer/allocator_interface.h>, which gcc does not install */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define DL() cio_after(10000)

/* A one-shot flag a task can wait for (the sync primitives live on another
 * branch; this needs only the runtime's wait list). */
struct flag {
    int set;
    struct cio__list waiters;
};

static void flag_init(struct flag *f)
{
    f->set = 0;
    cio__list_init(&f->waiters);
}

static void flag_set(struct flag *f)
{
    f->set = 1;
    cio__wake_all(&f->waiters, 0);
}

static int flag_wait(struct flag *f, cio_time deadline)
{
    struct cio__wait w = {0};
    if (f->set)
        return 0;
    cio__list_push_back(&f->waiters, &w.node);
    return cio__park(&w, deadline, 0);
}

/* Tasks alive on this loop (main included). */
static size_t live_tasks(void)
{
    return cio__loop()->ntasks;
}

/* ------------------------------------------------------------- the server */

/*
 * One message in, the same message out, then back to idle. Per connection
 * the server keeps only its slot (the stream pointer) in conns[]; the
 * callback's ud is that slot.
 */
struct srv {
    cio_group *group;   /* tasks serving one message each */
    cio_stream **conns; /* slot per connection; NULL once closed */
    int served, closed, timeouts, errors;
    int nconns;
    cio_time idle_deadline;
    struct flag *all_closed;
};

static struct srv *g_srv;

static void conn_readable(cio_stream *s, int status, void *ud);

static void close_slot(cio_stream **slot)
{
    cio_stream_close(*slot);
    *slot = NULL;
    if (++g_srv->closed == g_srv->nconns && g_srv->all_closed != NULL)
        flag_set(g_srv->all_closed);
}

static void serve_one_message(void *arg)
{
    cio_stream **slot = arg;
    char buf[256];
    ptrdiff_t n = cio_stream_read(*slot, buf, sizeof(buf), DL());

    if (n <= 0) { /* EOF or error: the client is gone */
        close_slot(slot);
        return;
    }
    if (cio_stream_write(*slot, buf, (size_t)n, DL()) != n) {
        g_srv->errors++;
        close_slot(slot);
        return;
    }
    g_srv->served++;
    /* back to idle: this task ends, the stream waits in the poller */
    if (cio_stream_on_readable(*slot, g_srv->idle_deadline, conn_readable,
                               slot) < 0) {
        g_srv->errors++;
        close_slot(slot);
    }
}

static void conn_readable(cio_stream *s, int status, void *ud)
{
    cio_stream **slot = ud;
    (void)s;
    if (status < 0) {
        g_srv->timeouts++;
        close_slot(slot);
        return;
    }
    if (cio_go(g_srv->group, serve_one_message, slot) < 0) {
        g_srv->errors++;
        close_slot(slot);
    }
}

/* ------------------------------------------------------------- 1000 conns */

#define N_IDLE 1000

static int idle_main(void *arg)
{
    struct srv v = {.nconns = N_IDLE, .idle_deadline = CIO_NEVER};
    cio_listener *ln;
    cio_stream **cli = calloc(N_IDLE, sizeof(*cli));
    int *echoes = arg;
    struct flag all_closed;

    flag_init(&all_closed);
    v.all_closed = &all_closed;
    g_srv = &v;
    v.conns = calloc(N_IDLE, sizeof(*v.conns));
    CIO_ASSERT_RC(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    CIO_ASSERT_RC(cio_group_new(&v.group), 0);
    /* The clients connect through the backlog, then main accepts them and
     * arms each: no task per connection at any point. */
    for (int i = 0; i < N_IDLE; i++)
        CIO_ASSERT_RC(cio_tcp_connect(&cli[i], "127.0.0.1",
                                      cio_listener_port(ln), NULL, DL()),
                      0);
    for (int i = 0; i < N_IDLE; i++) {
        CIO_ASSERT_RC(cio_listener_accept(ln, &v.conns[i], DL()), 0);
        CIO_ASSERT_RC(cio_stream_on_readable(v.conns[i], v.idle_deadline,
                                             conn_readable, &v.conns[i]),
                      0);
    }
    cr_expect_eq(cio_group_count(v.group), 0);
    cr_expect_eq(live_tasks(), 1, "only main is alive");

    for (int round = 1; round <= 2; round++) {
        char msg[32], buf[32];
        for (int i = 0; i < N_IDLE; i++) {
            int len = snprintf(msg, sizeof(msg), "r%d-c%d", round, i);
            CIO_EXPECT_RC(cio_stream_write(cli[i], msg, (size_t)len, DL()),
                          len);
        }
        for (int i = 0; i < N_IDLE; i++) {
            int len = snprintf(msg, sizeof(msg), "r%d-c%d", round, i);
            ptrdiff_t got = 0, n = 1;
            while (got < len && n > 0) {
                n = cio_stream_read(cli[i], buf + got, (size_t)(len - got),
                                    DL());
                if (n > 0)
                    got += n;
            }
            if (got == len && memcmp(buf, msg, (size_t)len) == 0)
                echoes[round - 1]++;
        }
        /* every echo is back: the connections are idle again, and no task
         * is alive for them */
        cr_expect_eq(cio_group_count(v.group), 0, "round %d", round);
        cr_expect_eq(live_tasks(), 1, "round %d", round);
        cr_expect_eq(v.served, round * N_IDLE);
    }

    /* the clients leave: each EOF wakes its stream once more */
    for (int i = 0; i < N_IDLE; i++)
        cio_stream_close(cli[i]);
    CIO_EXPECT_RC(flag_wait(v.all_closed, DL()), 0);
    cr_expect_eq(v.closed, N_IDLE);
    cr_expect_eq(v.timeouts, 0);
    cr_expect_eq(v.errors, 0);
    CIO_EXPECT_RC(cio_group_wait(v.group, DL()), 0);
    cio_group_free(v.group);
    cio_listener_close(ln);
    free(v.conns);
    free(cli);
    return 0;
}

Test(idle, thousand_connections_hold_no_task_between_messages)
{
    int echoes[2] = {0, 0};
    cr_assert_eq(cio_run(idle_main, echoes), 0);
    cr_expect_eq(echoes[0], N_IDLE);
    cr_expect_eq(echoes[1], N_IDLE);
}

/* ------------------------------------------------------------- contract */

struct cbrec {
    int calls, status;
    int in_task; /* cio_defer worked: the callback ran inside a task */
    struct flag ev;
};

static void noop(void *arg)
{
    (void)arg;
}

static void rec_cb(cio_stream *s, int status, void *ud)
{
    struct cbrec *r = ud;
    (void)s;
    r->calls++;
    r->status = status;
    r->in_task = cio_defer(noop, NULL) == 0;
    flag_set(&r->ev);
}

static int read_forever(void *arg)
{
    char c;
    return (int)cio_stream_read(arg, &c, 1, DL());
}

static int contract_main(void *arg)
{
    cio_listener *ln;
    cio_stream *c[3], *s[3];
    struct cbrec r = {0};
    cio_group *g;
    cio_task *t;
    char buf[4];
    int res;
    (void)arg;

    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    for (int i = 0; i < 3; i++) {
        CIO_ASSERT_RC(cio_tcp_connect(&c[i], "127.0.0.1", cio_listener_port(ln),
                                      NULL, DL()),
                      0);
        CIO_ASSERT_RC(cio_listener_accept(ln, &s[i], DL()), 0);
    }

    /* deadline expiry calls back with CIO_ETIMEDOUT, on the loop */
    CIO_ASSERT_RC(cio_stream_on_readable(s[0], cio_after(20), rec_cb, &r), 0);
    CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
    cr_expect_eq(r.calls, 1);
    CIO_EXPECT_RC(r.status, CIO_ETIMEDOUT);
    cr_expect_eq(r.in_task, 0, "the callback ran inside a task");

    /* data calls back with 0; one shot: more data, no second call */
    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_stream_on_readable(s[0], DL(), rec_cb, &r), 0);
    CIO_EXPECT_RC(cio_stream_write(c[0], "a", 1, DL()), 1);
    CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
    cr_expect_eq(r.calls, 2);
    CIO_EXPECT_RC(r.status, 0);
    CIO_EXPECT_RC(cio_stream_write(c[0], "b", 1, DL()), 1);
    CIO_ASSERT_RC(cio_sleep(cio_after(30)), 0);
    cr_expect_eq(r.calls, 2);
    CIO_EXPECT_RC(cio_stream_read(s[0], buf, sizeof(buf), DL()), 2);

    /* close disarms without calling back, although data and the deadline
     * both come afterwards */
    CIO_ASSERT_RC(cio_stream_on_readable(s[1], cio_after(20), rec_cb, &r), 0);
    cio_stream_close(s[1]);
    s[1] = NULL;
    CIO_EXPECT_RC(cio_stream_write(c[1], "c", 1, DL()), 1);
    CIO_ASSERT_RC(cio_sleep(cio_after(60)), 0);
    cr_expect_eq(r.calls, 2);

    /* EOF is "readable": status 0, and the read then returns 0 */
    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_stream_on_readable(s[2], DL(), rec_cb, &r), 0);
    cio_stream_close(c[2]);
    c[2] = NULL;
    CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
    cr_expect_eq(r.calls, 3);
    CIO_EXPECT_RC(r.status, 0);
    CIO_EXPECT_RC(cio_stream_read(s[2], buf, sizeof(buf), DL()), 0);

    /* a task blocked on the stream: arming is refused */
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, read_forever, s[0], NULL, &t), 0);
    CIO_ASSERT_RC(cio_yield(), 0);
    CIO_EXPECT_RC(cio_stream_on_readable(s[0], DL(), rec_cb, &r), CIO_EINVAL);
    CIO_EXPECT_RC(cio_stream_write(c[0], "d", 1, DL()), 1);
    CIO_EXPECT_RC(cio_task_join(t, DL(), &res), 0);
    CIO_EXPECT_RC(res, 1);
    cio_group_free(g);

    for (int i = 0; i < 3; i++) {
        cio_stream_close(c[i]);
        cio_stream_close(s[i]);
    }
    cio_listener_close(ln);
    return 0;
}

Test(idle, on_readable_timeout_close_eof_and_busy)
{
    cr_assert_eq(cio_run(contract_main, NULL), 0);
}

/*
 * The callback's deadline timer is lazy (src/rt/loop.c fd_cb_timeout): a
 * timer left from an earlier arming must neither fire the callback before
 * its own deadline nor delay a deadline earlier than its own.
 */
static int lazy_main(void *arg)
{
    cio_listener *ln;
    cio_stream *c, *s;
    struct cbrec r = {0};
    char buf[4];
    (void)arg;

    CIO_ASSERT_RC(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    CIO_ASSERT_RC(
        cio_tcp_connect(&c, "127.0.0.1", cio_listener_port(ln), NULL, DL()), 0);
    CIO_ASSERT_RC(cio_listener_accept(ln, &s, DL()), 0);

    for (int round = 0; round < 3; round++) {
        /* armed for +50, answered by data: the +50 timer is left behind */
        flag_init(&r.ev);
        CIO_ASSERT_RC(cio_stream_on_readable(s, cio_after(50), rec_cb, &r), 0);
        CIO_EXPECT_RC(cio_stream_write(c, "a", 1, DL()), 1);
        CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
        CIO_EXPECT_RC(r.status, 0);
        CIO_EXPECT_RC(cio_stream_read(s, buf, sizeof(buf), DL()), 1);
        /* re-armed for later: the old timer's moment passes in silence */
        int calls = r.calls;
        flag_init(&r.ev);
        cio_time later = cio_after(250);
        CIO_ASSERT_RC(cio_stream_on_readable(s, later, rec_cb, &r), 0);
        CIO_ASSERT_RC(cio_sleep(cio_after(120)), 0);
        cr_expect_eq(r.calls, calls, "round %d: fired at the stale deadline",
                     round);
        CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
        CIO_EXPECT_RC(r.status, CIO_ETIMEDOUT);
        cr_expect_geq(cio_now(), later, "round %d: fired before its deadline",
                      round);
    }

    /* armed for +5 s and answered by data; re-armed for +30 ms: it times
     * out long before the old timer would have woken anything */
    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_stream_on_readable(s, cio_after(5000), rec_cb, &r), 0);
    CIO_EXPECT_RC(cio_stream_write(c, "b", 1, DL()), 1);
    CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
    CIO_EXPECT_RC(cio_stream_read(s, buf, sizeof(buf), DL()), 1);
    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_stream_on_readable(s, cio_after(30), rec_cb, &r), 0);
    CIO_EXPECT_RC(flag_wait(&r.ev, cio_after(4000)), 0);
    CIO_EXPECT_RC(r.status, CIO_ETIMEDOUT);

    /* no deadline after a deadline: never times out */
    flag_init(&r.ev);
    CIO_ASSERT_RC(cio_stream_on_readable(s, cio_after(20), rec_cb, &r), 0);
    CIO_EXPECT_RC(cio_stream_write(c, "c", 1, DL()), 1);
    CIO_EXPECT_RC(flag_wait(&r.ev, DL()), 0);
    CIO_EXPECT_RC(cio_stream_read(s, buf, sizeof(buf), DL()), 1);
    int calls = r.calls;
    CIO_ASSERT_RC(cio_stream_on_readable(s, CIO_NEVER, rec_cb, &r), 0);
    CIO_ASSERT_RC(cio_sleep(cio_after(80)), 0);
    cr_expect_eq(r.calls, calls);

    cio_stream_close(s);
    cio_stream_close(c);
    cio_listener_close(ln);
    return 0;
}

Test(idle, on_readable_deadline_is_exact_with_a_lazy_timer)
{
    cr_assert_eq(cio_run(lazy_main, NULL), 0);
}

/* ------------------------------------------------------------- memory */

/*
 * Measures (does not assert) the user-space heap per idle connection: the
 * server-side streams of 10,000 connections, each armed with a deadline,
 * after one echo each. The clients live in a forked child, so this
 * process's heap and descriptors hold only the server side.
 */
#define N_MEM 10000

static size_t heap_bytes(const char **how)
{
#ifdef HAVE_ASAN
    /* ASan replaces malloc: glibc's mallinfo2 does not see its heap */
    *how = "ASan allocated bytes";
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    *how = "mallinfo2 uordblks";
    return mi.uordblks;
#endif
}

static long rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

struct mem {
    int ctl; /* socketpair end to the child */
    pid_t child;
    size_t before, after;
    long rss_before, rss_after;
    const char *how;
    int accepted, served;
};

/* The child: N_MEM blocking clients, one echo each, then wait. */
static void mem_child(int ctl)
{
    static int fds[N_MEM];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    unsigned short port;
    char c = 0, buf[16];

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (read(ctl, &port, sizeof(port)) != sizeof(port))
        _exit(2);
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < N_MEM; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 ||
            connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(3);
    }
    for (int i = 0; i < N_MEM; i++)
        if (write(fds[i], "ping", 4) != 4)
            _exit(4);
    for (int i = 0; i < N_MEM; i++) {
        size_t got = 0;
        while (got < 4) {
            ssize_t n = read(fds[i], buf + got, 4 - got);
            if (n <= 0)
                _exit(5);
            got += (size_t)n;
        }
    }
    /* all echoed: tell the parent, then stay connected until it says bye */
    if (write(ctl, &c, 1) != 1 || read(ctl, &c, 1) < 0)
        _exit(6);
    _exit(0);
}

static int mem_main(void *arg)
{
    struct mem *m = arg;
    struct srv v = {.nconns = N_MEM};
    cio_listener *ln;
    cio_stream *ctl;
    unsigned short port;
    char c;

    g_srv = &v;
    v.conns = calloc(N_MEM, sizeof(*v.conns));
    v.idle_deadline =
        cio_after(120000); /* a keep-alive timeout, as a server has */
    CIO_ASSERT_RC(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    CIO_ASSERT_RC(cio_group_new(&v.group), 0);
    CIO_ASSERT_RC(cio_stream_from_fd(&ctl, m->ctl), 0);
    port = (unsigned short)cio_listener_port(ln);
    CIO_ASSERT_RC(cio_stream_write(ctl, &port, sizeof(port), DL()),
                  sizeof(port));

    m->before = heap_bytes(&m->how);
    m->rss_before = rss_kib();
    for (int i = 0; i < N_MEM; i++) {
        int rc = cio_listener_accept(ln, &v.conns[i], cio_after(30000));
        CIO_ASSERT_RC(rc, 0);
        m->accepted++;
        CIO_ASSERT_RC(cio_stream_on_readable(v.conns[i], v.idle_deadline,
                                             conn_readable, &v.conns[i]),
                      0);
    }
    /* the child has its echoes: every connection is idle again */
    CIO_EXPECT_RC(cio_stream_read(ctl, &c, 1, cio_after(30000)), 1);
    CIO_EXPECT_RC(cio_group_wait(v.group, DL()), 0);
    cr_expect_eq(cio_group_count(v.group), 0);
    cr_expect_eq(live_tasks(), 1);
    m->served = v.served;
    m->after = heap_bytes(&m->how);
    m->rss_after = rss_kib();

    for (int i = 0; i < N_MEM; i++)
        if (v.conns[i] != NULL)
            cio_stream_close(v.conns[i]);
    CIO_EXPECT_RC(cio_stream_write(ctl, "x", 1, DL()), 1);
    cio_stream_close(ctl);
    cio_group_free(v.group);
    cio_listener_close(ln);
    free(v.conns);
    return 0;
}

Test(idle, bytes_per_idle_connection_10k)
{
    struct mem m = {0};
    int sv[2], status = 0;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    m.child = fork();
    cr_assert_geq(m.child, 0);
    if (m.child == 0) {
        close(sv[0]);
        mem_child(sv[1]);
    }
    close(sv[1]);
    m.ctl = sv[0];
    cr_assert_eq(cio_run(mem_main, &m), 0);
    cr_assert_eq(waitpid(m.child, &status, 0), m.child);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "client child status 0x%x", status);
    cr_expect_eq(m.accepted, N_MEM);
    cr_expect_eq(m.served, N_MEM);
    {
        double per = ((double)m.after - (double)m.before) / N_MEM;
        double rss =
            ((double)m.rss_after - (double)m.rss_before) * 1024 / N_MEM;
        cr_log_info("idle: %.0f heap bytes per idle connection (%s delta over "
                    "%d connections, server side, after one echo each); "
                    "RSS delta %.0f bytes per connection (includes pooled task "
                    "stacks)",
                    per, m.how, N_MEM, rss);
        fprintf(stderr,
                "idle: %.0f heap bytes per idle connection (%s, %d conns); "
                "RSS delta %.0f B/conn\n",
                per, m.how, N_MEM, rss);
    }
}
