/* SPDX-License-Identifier: MIT */
/*
 * A self-contained runtime self-test: no Criterion, plain checks, one line
 * per test and a last line "rt_selftest: N passed, M failed". Exit status 0
 * only if every test passed. It runs where Criterion does not: on aarch64
 * under qemu-user (scripts/test-aarch64), under Valgrind
 * (scripts/test-valgrind) and in TSan builds (Criterion cannot start under
 * TSan); CTest also runs it natively in every build.
 *
 * Usage: rt_selftest [-q]   (-q: fewer iterations, for slow emulators)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <corio/corio.h>

#include "rawctx.h"
#include "rt/rt_int.h"

static int quick;
static int check_failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond))                                                           \
            check_fail(__LINE__, #cond, __VA_ARGS__);                          \
    } while (0)

__attribute__((format(printf, 3, 4))) static void
check_fail(int line, const char *expr, const char *fmt, ...)
{
    va_list ap;

    check_failures++;
    fprintf(stderr, "  line %d: check failed: %s: ", line, expr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define CHECK_RC(got, want)                                                    \
    do {                                                                       \
        int got_ = (int)(got), want_ = (int)(want);                            \
        CHECK(got_ == want_, "%s: got %s (%d), want %s", #got,                 \
              cio_errname(got_), got_, cio_errname(want_));                    \
    } while (0)

/* ------------------------------------------------------------ raw switch */

struct regs_peer {
    struct rawctx self, *main;
    int rounds;
    int bad;
    uintptr_t misalign;
};

static void regs_peer_entry(void *arg)
{
    struct regs_peer *p = arg;
    uintptr_t fa = (uintptr_t)__builtin_frame_address(0);

    __asm__ volatile("" : "+r"(fa));
    p->misalign = fa % 16; /* the ABI's 16-byte stack alignment at entry */
    rawctx_entered(&p->self, p->main);
    for (int r = 0; r < p->rounds; r++) {
        rawctx_clobber_callee_saved();
        /* Hold values of our own while main checks its values. */
        p->bad += rawctx_hold_values(&p->self, p->main, 1000u + (unsigned)r);
    }
    rawctx_clobber_callee_saved();
    rawctx_exit(&p->self, p->main);
}

/* Both sides keep registers full of live values across switches while the
 * other side overwrites every callee-saved register. */
static int t_ctx_registers(void *arg)
{
    struct rawctx m;
    struct regs_peer p = {.main = &m, .rounds = 1000};
    int bad = 0;

    (void)arg;
    rawctx_main(&m);
    CHECK(rawctx_new(&p.self, 64 * 1024, regs_peer_entry, &p) == 0, "stack");
    rawctx_switch(&m, &p.self); /* to the peer's first hold_values */
    for (int r = 0; r < p.rounds; r++) {
        rawctx_clobber_callee_saved();
        bad += rawctx_hold_values(&m, &p.self, 7u + (unsigned)r);
    }
    rawctx_free(&p.self);
    CHECK(bad == 0, "main side: %d values changed", bad);
    CHECK(p.bad == 0, "peer side: %d values changed", p.bad);
    CHECK(p.misalign == 0, "entry frame misaligned by %zu", (size_t)p.misalign);
    return 0;
}

/* ------------------------------------------------------------ scheduler */

struct pingpong {
    long n;    /* yields per task */
    long turn; /* incremented by each task on its turn */
    long bad;  /* a task found the other had not moved */
};

static void ping(void *arg)
{
    struct pingpong *pp = arg;
    for (long i = 0; i < pp->n; i++) {
        long before = pp->turn;
        pp->turn++;
        if (cio_yield() != 0)
            return;
        /* the other task ran exactly once in between */
        if (pp->turn != before + 2)
            pp->bad++;
    }
}

static int t_switch_many(void *arg)
{
    struct pingpong pp = {.n = quick ? 20000 : 200000};
    cio_group *g;

    (void)arg;
    CHECK_RC(cio_group_new(&g), 0);
    CHECK_RC(cio_go(g, ping, &pp), 0);
    CHECK_RC(cio_go(g, ping, &pp), 0);
    CHECK_RC(cio_group_wait(g, cio_after(60000)), 0);
    cio_group_free(g);
    CHECK(pp.turn == 2 * pp.n, "turns %ld, want %ld", pp.turn, 2 * pp.n);
    /* strict alternation; only the second task's last yield finds its
     * partner already finished */
    CHECK(pp.bad == 1, "%ld turns out of order", pp.bad);
    printf("  %ld task switches\n", 2 * pp.n);
    return 0;
}

struct order {
    int log[64];
    int n;
};

struct stepper {
    struct order *o;
    int id;
};

static void stepper(void *arg)
{
    struct stepper *s = arg;
    for (int step = 0; step < 3; step++) {
        s->o->log[s->o->n++] = step * 10 + s->id;
        cio_yield();
    }
}

static int t_yield_order(void *arg)
{
    struct order o = {0};
    struct stepper s[5];
    cio_group *g;

    (void)arg;
    CHECK_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 5; i++) {
        s[i] = (struct stepper){.o = &o, .id = i};
        CHECK_RC(cio_go(g, stepper, &s[i]), 0);
    }
    CHECK_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    CHECK(o.n == 15, "n %d", o.n);
    for (int i = 0; i < o.n && i < 15; i++)
        CHECK(o.log[i] == (i / 5) * 10 + i % 5, "log[%d] = %d", i, o.log[i]);
    return 0;
}

static int square_or_fail(void *arg)
{
    intptr_t i = (intptr_t)arg;
    cio_yield();
    if (i == 17 || i == 33)
        return i == 17 ? CIO_EPROTO : CIO_ETOOBIG;
    return (int)(i * i);
}

static int t_gather(void *arg)
{
    enum { N = 50 };
    cio_task *h[N];
    cio_group *g;
    int res;

    (void)arg;
    CHECK_RC(cio_group_new(&g), 0);
    for (intptr_t i = 0; i < N; i++)
        CHECK_RC(cio_spawn(g, square_or_fail, (void *)i, NULL, &h[i]), 0);
    CHECK(cio_group_count(g) == N, "count %zu", cio_group_count(g));
    CHECK_RC(cio_task_join(h[3], cio_after(10000), &res), 0);
    CHECK(res == 9, "join result %d", res);
    CHECK_RC(cio_group_wait(g, cio_after(10000)), 0);
    CHECK(cio_group_count(g) == 0, "count %zu", cio_group_count(g));
    for (intptr_t i = 0; i < N; i++) {
        int want = i == 17 ? CIO_EPROTO : i == 33 ? CIO_ETOOBIG : (int)(i * i);
        CHECK_RC(cio_task_result(h[i], &res), 0);
        CHECK(res == want, "task %d: %d, want %d", (int)i, res, want);
    }
    /* tasks finish in spawn order here, so 17 failed first */
    CHECK_RC(cio_group_error(g), CIO_EPROTO);
    cio_group_free(g);
    return 0;
}

struct sleeper {
    cio_time deadline;
    cio_time woke;
    int rc;
    int *log, *n, id;
};

static void sleeper(void *arg)
{
    struct sleeper *s = arg;
    s->rc = cio_sleep(s->deadline);
    s->woke = cio_now();
    s->log[(*s->n)++] = s->id;
}

static int t_sleep_deadlines(void *arg)
{
    enum { N = 20 };
    struct sleeper s[N];
    int log[N], n = 0;
    cio_group *g;
    cio_time t0 = cio_now();

    (void)arg;
    CHECK_RC(cio_group_new(&g), 0);
    /* spawned latest-deadline first: wake order must follow deadlines */
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){.deadline = t0 + 10 + 5 * (N - i),
                                .rc = 1,
                                .log = log,
                                .n = &n,
                                .id = i};
        CHECK_RC(cio_go(g, sleeper, &s[i]), 0);
    }
    CHECK_RC(cio_group_wait(g, t0 + 5), CIO_ETIMEDOUT);
    CHECK(n == 0, "%d woke before their deadline", n);
    CHECK_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    CHECK(n == N, "woke %d", n);
    for (int i = 0; i < n; i++) {
        CHECK(log[i] == N - 1 - i, "wake %d was task %d", i, log[i]);
        CHECK_RC(s[i].rc, 0);
        CHECK(s[i].woke >= s[i].deadline, "task %d woke %lld ms early", i,
              (long long)(s[i].deadline - s[i].woke));
    }
    /* a deadline in the past returns at once */
    CHECK_RC(cio_sleep(t0 - 1), 0);
    return 0;
}

struct victim {
    int rc, rc2, deferred, inner_rc;
};

static void note_deferred(void *arg)
{
    ((struct victim *)arg)->deferred++;
}

static void inner_sleeper(void *arg)
{
    ((struct victim *)arg)->inner_rc = cio_sleep(CIO_NEVER);
}

static int victim(void *arg)
{
    struct victim *v = arg;
    cio_group *inner;

    if (cio_defer(note_deferred, v) != 0)
        return CIO_ENOMEM;
    if (cio_group_new(&inner) != 0)
        return CIO_ENOMEM;
    if (cio_go(inner, inner_sleeper, v) != 0) {
        cio_group_free(inner);
        return CIO_ENOMEM;
    }
    v->rc = cio_sleep(CIO_NEVER);
    /* once canceled, every blocking call fails at once */
    v->rc2 = cio_yield();
    cio_group_free(inner);
    return v->rc;
}

static int t_cancel(void *arg)
{
    enum { N = 8 };
    struct victim v[N];
    cio_task *h[N];
    cio_group *g;
    int res;

    (void)arg;
    memset(v, 0, sizeof(v));
    CHECK_RC(cio_group_new(&g), 0);
    for (int i = 0; i < N; i++) {
        v[i].rc = v[i].rc2 = v[i].inner_rc = 1;
        CHECK_RC(cio_spawn(g, victim, &v[i], NULL, &h[i]), 0);
    }
    CHECK_RC(cio_group_wait(g, cio_after(20)), CIO_ETIMEDOUT);

    /* one task: its own group is canceled with it (structured) */
    cio_task_cancel(h[0]);
    CHECK_RC(cio_task_join(h[0], cio_after(10000), &res), 0);
    CHECK_RC(res, CIO_ECANCELED);
    CHECK_RC(v[0].rc, CIO_ECANCELED);
    CHECK_RC(v[0].rc2, CIO_ECANCELED);
    CHECK_RC(v[0].inner_rc, CIO_ECANCELED);
    CHECK(v[0].deferred == 1, "deferred %d", v[0].deferred);
    for (int i = 1; i < N; i++)
        CHECK(v[i].rc == 1 && v[i].deferred == 0, "task %d ended early", i);
    CHECK(cio_group_count(g) == N - 1, "count %zu", cio_group_count(g));

    /* the rest: through the group */
    cio_group_cancel(g);
    CHECK_RC(cio_group_wait(g, cio_after(10000)), 0);
    for (int i = 1; i < N; i++) {
        CHECK_RC(v[i].rc, CIO_ECANCELED);
        CHECK_RC(v[i].rc2, CIO_ECANCELED);
        CHECK_RC(v[i].inner_rc, CIO_ECANCELED);
        CHECK(v[i].deferred == 1, "task %d deferred %d", i, v[i].deferred);
    }
    CHECK_RC(cio_group_error(g), CIO_ECANCELED);
    /* a canceled group takes no new tasks */
    CHECK_RC(cio_spawn(g, victim, &v[0], NULL, NULL), CIO_ECANCELED);
    cio_group_free(g);
    return 0;
}

/* ------------------------------------------------------------ TCP echo */

struct echo_srv {
    cio_listener *ln;
    cio_group *conns;
    int accepted;
    int errors;
};

static void echo_conn(void *arg)
{
    cio_stream *s = arg;
    char buf[4096];
    cio_time deadline = cio_after(30000);

    for (;;) {
        ptrdiff_t n = cio_stream_read(s, buf, sizeof(buf), deadline);
        if (n <= 0)
            break;
        if (cio_stream_write(s, buf, (size_t)n, deadline) != n)
            break;
    }
    cio_stream_close(s);
}

static void echo_accept(void *arg)
{
    struct echo_srv *srv = arg;

    for (;;) {
        cio_stream *s;
        int rc = cio_listener_accept(srv->ln, &s, CIO_NEVER);
        if (rc < 0) {
            if (rc != CIO_ECANCELED)
                srv->errors++;
            return;
        }
        srv->accepted++;
        if (cio_go(srv->conns, echo_conn, s) < 0) {
            srv->errors++;
            cio_stream_close(s);
        }
    }
}

struct echo_client {
    unsigned port;
    int id;
    int ok;
    int rc;
};

static void echo_client(void *arg)
{
    struct echo_client *c = arg;
    cio_time deadline = cio_after(30000);
    char out[1500], in[1500];
    size_t got = 0;
    cio_stream *s;
    int rc;

    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (char)('a' + (c->id + (int)i) % 26);
    rc = cio_tcp_connect(&s, "127.0.0.1", c->port, NULL, deadline);
    if (rc < 0) {
        c->rc = rc;
        return;
    }
    /* two writes, so the echo side sees more than one read */
    if (cio_stream_write(s, out, 700, deadline) != 700 ||
        cio_stream_write(s, out + 700, sizeof(out) - 700, deadline) !=
            (ptrdiff_t)(sizeof(out) - 700)) {
        c->rc = CIO_EPIPE;
        goto close;
    }
    CHECK_RC(cio_stream_shutdown(s, deadline), 0);
    for (;;) {
        ptrdiff_t n = cio_stream_read(s, in + got, sizeof(in) - got, deadline);
        if (n < 0) {
            c->rc = (int)n;
            goto close;
        }
        if (n == 0 || got + (size_t)n == sizeof(in)) {
            got += (size_t)n;
            break;
        }
        got += (size_t)n;
    }
    c->ok = got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0;
close:
    cio_stream_close(s);
}

static void raise_fd_limit(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int t_tcp_echo(void *arg)
{
    enum { N = 300 };
    struct echo_srv srv = {0};
    static struct echo_client cl[N];
    cio_group *server, *clients;
    int ok = 0;

    (void)arg;
    raise_fd_limit(2 * N + 64);
    CHECK_RC(cio_tcp_listen(&srv.ln, "127.0.0.1:0", NULL), 0);
    CHECK_RC(cio_group_new(&server), 0);
    CHECK_RC(cio_group_new(&srv.conns), 0);
    CHECK_RC(cio_go(server, echo_accept, &srv), 0);
    CHECK_RC(cio_group_new(&clients), 0);
    for (int i = 0; i < N; i++) {
        cl[i] =
            (struct echo_client){.port = cio_listener_port(srv.ln), .id = i};
        CHECK_RC(cio_go(clients, echo_client, &cl[i]), 0);
    }
    CHECK_RC(cio_group_wait(clients, cio_after(60000)), 0);
    cio_group_free(clients);
    for (int i = 0; i < N; i++) {
        ok += cl[i].ok;
        if (!cl[i].ok)
            CHECK(cl[i].ok, "client %d: %s", i, cio_errname(cl[i].rc));
    }
    CHECK(ok == N, "%d of %d echoes intact", ok, N);
    CHECK_RC(cio_group_wait(srv.conns, cio_after(10000)), 0);
    cio_group_free(server); /* cancels the accept loop */
    cio_group_free(srv.conns);
    cio_listener_close(srv.ln);
    CHECK(srv.accepted == N, "accepted %d", srv.accepted);
    CHECK(srv.errors == 0, "server errors %d", srv.errors);
    printf("  %d echo clients\n", ok);
    return 0;
}

/* ------------------------------------------------------------ stacks */

struct depth {
    uintptr_t top, low; /* highest and lowest frame addresses seen */
};

/* Each level keeps a 1 KiB buffer live across the recursive call. */
__attribute__((noinline)) static unsigned recurse(struct depth *d, unsigned n)
{
    volatile char buf[1024];
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);

    if (here < d->low)
        d->low = here;
    buf[0] = (char)n;
    buf[sizeof(buf) - 1] = (char)(n >> 8);
    if (n == 0)
        return 0;
    return recurse(d, n - 1) + (unsigned char)buf[0] + 0 * buf[sizeof(buf) - 1];
}

struct deep {
    unsigned levels;
    unsigned sum;
    size_t used;
    uintptr_t align_bad;
    char fmt[64];
};

static int deep_task(void *arg)
{
    struct deep *dp = arg;
    struct depth d;
    uintptr_t fa = (uintptr_t)__builtin_frame_address(0);

    __asm__ volatile("" : "+r"(fa));
    dp->align_bad = fa % 16;
    /* printf of a double uses aligned vector stores on x86-64 */
    snprintf(dp->fmt, sizeof(dp->fmt), "%.3f", 2.5);
    d.top = d.low = fa;
    dp->sum = recurse(&d, dp->levels);
    dp->used = (size_t)(d.top - d.low);
    return 0;
}

static int t_stacks(void *arg)
{
    /* default 64 KiB stack: 40 levels; 1 MiB stack: 700 levels (> 700 KiB) */
    struct deep small = {.levels = 40}, big = {.levels = 700};
    cio_group *g;
    unsigned want_small = 0, want_big = 0;

    (void)arg;
    for (unsigned i = 1; i <= small.levels; i++)
        want_small += i & 0xff;
    for (unsigned i = 1; i <= big.levels; i++)
        want_big += i & 0xff;
    CHECK_RC(cio_group_new(&g), 0);
    CHECK_RC(cio_spawn(g, deep_task, &small, NULL, NULL), 0);
    CHECK_RC(cio_spawn(g, deep_task, &big,
                       &(struct cio_task_opts){.stack_size = 1024 * 1024,
                                               .name = "deep"},
                       NULL),
             0);
    CHECK_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    CHECK(small.sum == want_small, "sum %u want %u", small.sum, want_small);
    CHECK(big.sum == want_big, "sum %u want %u", big.sum, want_big);
    CHECK(big.used >= 700 * 1024, "deep task used only %zu bytes", big.used);
    CHECK(small.align_bad == 0 && big.align_bad == 0,
          "frame address misaligned by %zu/%zu", (size_t)small.align_bad,
          (size_t)big.align_bad);
    CHECK(strcmp(small.fmt, "2.500") == 0, "fmt '%s'", small.fmt);
    printf("  deep task used %zu KiB of its 1024 KiB stack\n", big.used / 1024);
    return 0;
}

/* ------------------------------------------------------------ main */

struct test {
    const char *name;
    int (*fn)(void *);
};

static const struct test tests[] = {
    {"ctx_registers", t_ctx_registers},
    {"switch_many", t_switch_many},
    {"yield_order", t_yield_order},
    {"gather", t_gather},
    {"sleep_deadlines", t_sleep_deadlines},
    {"cancel", t_cancel},
    {"tcp_echo", t_tcp_echo},
    {"stacks", t_stacks},
};

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-q") == 0)
            quick = 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(300); /* a hang becomes a failure */
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        int before = check_failures;
        int rc = cio_run(tests[i].fn, NULL);
        if (rc != 0)
            check_fail(__LINE__, "cio_run", "returned %s", cio_errname(rc));
        if (check_failures == before) {
            passed++;
            printf("ok %zu - %s\n", i + 1, tests[i].name);
        } else {
            failed++;
            printf("FAIL %zu - %s\n", i + 1, tests[i].name);
        }
    }
    printf("rt_selftest: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
