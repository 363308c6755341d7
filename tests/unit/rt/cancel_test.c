/* SPDX-License-Identifier: MIT */
/*
 * Cancellation and deadlines of the task-level blocking calls (task.c):
 * cio_sleep, cio_yield, cio_task_join, cio_group_wait; nested groups;
 * cio_defer and cio_scoped_alloc on return and on cancellation.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define HAVE_ASAN 1
#else
#define HAVE_ASAN 0
#endif

/*
 * LeakSanitizer's exit-time report does not fail a Criterion test (the
 * worker has already reported its result), so tests that are about freeing
 * run the leak check themselves.
 */
static void expect_no_leaks(void)
{
#if HAVE_ASAN
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0,
                 "LeakSanitizer found leaks (see its report above)");
#endif
}

static void settle(void)
{
    for (int i = 0; i < 4; i++)
        cio_yield();
}

struct log {
    int v[32];
    int n;
};

static void log_add(struct log *l, int x)
{
    if (l->n < 32)
        l->v[l->n++] = x;
}

static void expect_log(const struct log *l, const int *want, int n)
{
    cr_expect_eq(l->n, n, "log has %d entries, want %d", l->n, n);
    for (int i = 0; i < n && i < l->n; i++)
        cr_expect_eq(l->v[i], want[i], "log[%d] = %d, want %d", i, l->v[i],
                     want[i]);
}

/* ================================================================ sleep */

struct sleeper {
    cio_time deadline;
    int rc;
    int rc2; /* a second blocking call afterwards */
    int done;
};

static void sleeper_fn(void *arg)
{
    struct sleeper *s = arg;
    s->rc = cio_sleep(s->deadline);
    s->rc2 = cio_sleep(cio_now()); /* expired: 0 unless canceled */
    s->done = 1;
}

static int sleep_main(void *arg)
{
    struct sleeper a = {.deadline = CIO_NEVER}; /* canceled parked */
    struct sleeper b = {.deadline = CIO_NEVER}; /* canceled before */
    struct sleeper c = {.deadline = 0};         /* set below */
    struct sleeper d = {.deadline = 0};         /* long expired */
    cio_group *ga, *gb, *g;
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&ga), 0);
    CIO_ASSERT_RC(cio_group_new(&gb), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    c.deadline = cio_after(20);
    CIO_ASSERT_RC(cio_go(ga, sleeper_fn, &a), 0);
    CIO_ASSERT_RC(cio_go(gb, sleeper_fn, &b), 0);
    CIO_ASSERT_RC(cio_go(g, sleeper_fn, &c), 0);
    CIO_ASSERT_RC(cio_go(g, sleeper_fn, &d), 0);
    cio_group_cancel(gb); /* b has not run yet */
    settle();
    cr_expect_eq(a.done, 0);
    cio_group_cancel(ga);
    CIO_ASSERT_RC(cio_group_wait(ga, cio_after(5000)), 0);
    CIO_ASSERT_RC(cio_group_wait(gb, cio_after(5000)), 0);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(a.rc, CIO_ECANCELED);
    CIO_EXPECT_RC(a.rc2, CIO_ECANCELED);
    CIO_EXPECT_RC(b.rc, CIO_ECANCELED);
    CIO_EXPECT_RC(b.rc2, CIO_ECANCELED);
    CIO_EXPECT_RC(c.rc, 0);
    CIO_EXPECT_RC(c.rc2, 0);
    CIO_EXPECT_RC(d.rc, 0);
    cr_expect(cio_now() >= c.deadline);
    cio_group_free(ga);
    cio_group_free(gb);
    cio_group_free(g);
    return 0;
}

Test(cancel, sleep)
{
    cr_assert_eq(cio_run(sleep_main, NULL), 0);
    CIO_EXPECT_RC(cio_sleep(CIO_NEVER), CIO_EINVAL); /* not in a task */
}

/* ================================================================ yield */

struct yielder {
    struct log *log;
    int id;
    int rc[3];
};

static int yielder_fn(void *arg)
{
    struct yielder *y = arg;
    for (int i = 0; i < 3; i++) {
        y->rc[i] = cio_yield();
        log_add(y->log, y->id * 10 + i);
    }
    return 0;
}

static int yield_main(void *arg)
{
    struct log *log = arg;
    struct yielder a = {log, 1, {1, 1, 1}}, b = {log, 2, {1, 1, 1}};
    struct yielder c = {log, 3, {1, 1, 1}};
    cio_group *ga, *gb, *gc;
    cio_task *hb;

    CIO_ASSERT_RC(cio_group_new(&ga), 0);
    CIO_ASSERT_RC(cio_group_new(&gb), 0);
    CIO_ASSERT_RC(cio_group_new(&gc), 0);
    CIO_ASSERT_RC(cio_spawn(ga, yielder_fn, &a, NULL, NULL), 0);
    CIO_ASSERT_RC(cio_spawn(gb, yielder_fn, &b, NULL, &hb), 0);
    CIO_ASSERT_RC(cio_spawn(gc, yielder_fn, &c, NULL, NULL), 0);
    cio_group_cancel(gc); /* c: canceled before it runs */
    cio_yield();          /* a and b run once, and yield */
    log_add(log, 0);
    cio_task_cancel(hb); /* b is ready, inside its first yield */
    CIO_ASSERT_RC(cio_group_wait(ga, cio_after(5000)), 0);
    CIO_ASSERT_RC(cio_group_wait(gb, cio_after(5000)), 0);
    CIO_ASSERT_RC(cio_group_wait(gc, cio_after(5000)), 0);
    for (int i = 0; i < 3; i++) {
        CIO_EXPECT_RC(a.rc[i], 0);
        CIO_EXPECT_RC(b.rc[i], CIO_ECANCELED); /* also the pending one */
        CIO_EXPECT_RC(c.rc[i], CIO_ECANCELED);
    }
    cio_group_free(ga);
    cio_group_free(gb);
    cio_group_free(gc);
    return 0;
}

Test(cancel, yield)
{
    struct log log = {0};
    cr_assert_eq(cio_run(yield_main, &log), 0);
    /* c never really yields; b stops yielding once canceled */
    int want[] = {30, 31, 32, 0, 10, 20, 21, 22, 11, 12};
    expect_log(&log, want, 10);
    CIO_EXPECT_RC(cio_yield(), CIO_EINVAL);
}

/* ================================================================ join */

struct worker {
    int ret;
    int yields;
    cio_time until; /* sleep first; 0 = no sleep */
    int rc;         /* of that sleep */
};

static int worker_fn(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->yields; i++)
        cio_yield();
    if (w->until != 0)
        w->rc = cio_sleep(w->until);
    return w->ret;
}

struct joiner {
    cio_task *target;
    cio_time deadline;
    int rc;
    int result;
};

static int joiner_fn(void *arg)
{
    struct joiner *j = arg;
    j->result = 12345;
    j->rc = cio_task_join(j->target, j->deadline, &j->result);
    return 0;
}

static int self_join_fn(void *arg)
{
    cio_task **self = arg;
    int r = 0;
    while (*self == NULL)
        cio_yield();
    return cio_task_join(*self, CIO_NEVER, &r);
}

static int join_main(void *arg)
{
    struct worker w[4] = {
        {.ret = 7},
        {.ret = CIO_EPROTO, .yields = 1},
        {.ret = CIO_ETLS, .yields = 3},
        {.ret = 0},
    };
    cio_task *h[4], *hs = NULL, *hself;
    cio_group *g, *gj;
    int r;
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_group_new(&gj), 0);
    w[3].until = cio_after(200);
    for (int i = 0; i < 4; i++)
        CIO_ASSERT_RC(cio_spawn(g, worker_fn, &w[i], NULL, &h[i]), 0);
    CIO_EXPECT_RC(cio_task_result(h[0], &r), CIO_EBUSY);
    cr_expect_eq(cio_group_error(g), 0);

    /* results through handles, waiting or not */
    r = 0;
    CIO_EXPECT_RC(cio_task_join(h[0], CIO_NEVER, &r), 0);
    cr_expect_eq(r, 7);
    CIO_EXPECT_RC(cio_task_join(h[2], cio_after(5000), &r), 0);
    cr_expect_eq(r, CIO_ETLS);
    CIO_EXPECT_RC(cio_task_join(h[1], cio_now(), &r), 0); /* done: no wait */
    cr_expect_eq(r, CIO_EPROTO);
    CIO_EXPECT_RC(cio_task_join(h[1], CIO_NEVER, NULL), 0);
    CIO_EXPECT_RC(cio_task_result(h[0], &r), 0);
    cr_expect_eq(r, 7);
    /* the first negative result to finish is the group's error */
    cr_expect_eq(cio_group_error(g), CIO_EPROTO, "got %s",
                 cio_errname(cio_group_error(g)));

    /* deadline: h[3] sleeps 200 ms */
    r = 99;
    CIO_EXPECT_RC(cio_task_join(h[3], cio_after(20), &r), CIO_ETIMEDOUT);
    cr_expect_eq(r, 99, "result written on failure");
    CIO_EXPECT_RC(cio_task_join(h[3], cio_now(), &r), CIO_ETIMEDOUT);

    /* a joiner canceled while parked, one canceled before it runs, and one
     * canceled before it joins a task that has already finished */
    struct joiner ja = {h[3], CIO_NEVER, 1, 0};
    struct joiner jb = {h[3], CIO_NEVER, 1, 0};
    struct joiner jc = {h[0], CIO_NEVER, 1, 0};
    CIO_ASSERT_RC(cio_spawn(gj, joiner_fn, &ja, NULL, NULL), 0);
    settle();
    CIO_ASSERT_RC(cio_spawn(gj, joiner_fn, &jb, NULL, NULL), 0);
    CIO_ASSERT_RC(cio_spawn(gj, joiner_fn, &jc, NULL, NULL), 0);
    cio_group_cancel(gj);
    CIO_ASSERT_RC(cio_group_wait(gj, cio_after(5000)), 0);
    CIO_EXPECT_RC(ja.rc, CIO_ECANCELED);
    CIO_EXPECT_RC(jb.rc, CIO_ECANCELED);
    CIO_EXPECT_RC(jc.rc, CIO_ECANCELED);
    cr_expect_eq(ja.result, 12345);
    cr_expect_eq(jc.result, 12345);
    cr_expect_eq(cio_group_error(gj), 0); /* joiners returned 0 */
    cio_group_free(gj);

    /* the canceled joiners did not disturb the joined task */
    CIO_EXPECT_RC(cio_task_join(h[3], CIO_NEVER, &r), 0);
    cr_expect_eq(r, 0);
    CIO_EXPECT_RC(w[3].rc, 0);

    /* self-join */
    CIO_ASSERT_RC(cio_group_new(&gj), 0);
    CIO_ASSERT_RC(cio_spawn(gj, self_join_fn, &hs, NULL, &hself), 0);
    hs = hself;
    CIO_EXPECT_RC(cio_task_join(hself, cio_after(5000), &r), 0);
    CIO_EXPECT_RC(r, CIO_EDEADLOCK);
    cio_group_free(gj);

    cio_group_free(g);
    return 0;
}

Test(cancel, task_join)
{
    cr_assert_eq(cio_run(join_main, NULL), 0);
}

/* ================================================================ group wait */

struct naps {
    cio_event *go;
    int ok;
};

static void nap(void *arg)
{
    struct naps *n = arg;
    if (cio_event_wait(n->go, cio_after(5000)) == 0)
        n->ok++;
}

struct gwaiter {
    cio_group *g;
    int rc;
};

static void group_waiter(void *arg)
{
    struct gwaiter *w = arg;
    w->rc = cio_group_wait(w->g, CIO_NEVER);
}

static int group_wait_main(void *arg)
{
    cio_group *g, *gw, *empty;
    struct naps n = {0};
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&empty), 0);
    CIO_EXPECT_RC(cio_group_wait(empty, CIO_NEVER), 0);
    CIO_EXPECT_RC(cio_group_wait(empty, cio_now()), 0);
    cio_group_free(empty);

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_group_new(&gw), 0);
    CIO_ASSERT_RC(cio_event_new(&n.go), 0);
    for (int i = 0; i < 3; i++)
        CIO_ASSERT_RC(cio_go(g, nap, &n), 0);
    cio_time d = cio_after(20);
    CIO_EXPECT_RC(cio_group_wait(g, d), CIO_ETIMEDOUT);
    cr_expect(cio_now() >= d);
    CIO_EXPECT_RC(cio_group_wait(g, cio_now()), CIO_ETIMEDOUT);
    /* the tasks keep running after a timeout */
    cr_expect_eq(cio_group_count(g), 3);
    cr_expect_eq(n.ok, 0);

    /* a waiter canceled while parked; one canceled before it runs */
    struct gwaiter a = {g, 1}, b = {g, 1};
    CIO_ASSERT_RC(cio_go(gw, group_waiter, &a), 0);
    settle();
    cio_group_cancel(gw);
    CIO_ASSERT_RC(cio_go(gw, group_waiter, &b), CIO_ECANCELED);
    CIO_ASSERT_RC(cio_group_wait(gw, cio_after(5000)), 0);
    CIO_EXPECT_RC(a.rc, CIO_ECANCELED);
    cio_group_free(gw);

    CIO_ASSERT_RC(cio_group_new(&gw), 0);
    CIO_ASSERT_RC(cio_go(gw, group_waiter, &b), 0);
    cio_group_cancel(gw);
    CIO_ASSERT_RC(cio_group_wait(gw, cio_after(5000)), 0);
    CIO_EXPECT_RC(b.rc, CIO_ECANCELED);
    cio_group_free(gw);

    cr_expect_eq(cio_group_count(g), 3, "canceled waiters touched the group");
    cio_event_set(n.go);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(n.ok, 3);
    cr_expect_eq(cio_group_count(g), 0);
    cio_group_free(g);
    cio_event_free(n.go);
    return 0;
}

Test(cancel, group_wait_deadline_and_cancel)
{
    cr_assert_eq(cio_run(group_wait_main, NULL), 0);
}

/* ================================================================ nesting */

/*
 * main -> G1 -> t1 -> G2 -> {t2a, t2b -> G3 -> t3}: canceling G1 reaches
 * every level; each level's waiter sees CIO_ECANCELED, and a group created
 * by a canceled task starts canceled.
 */
struct nest {
    int leaf_rc[3]; /* t2a, t3, and the late spawn */
    int wait_rc[2]; /* t1 on G2, t2b on G3 */
    int late_go_rc;
    struct log order;
};

static void leaf(void *arg)
{
    int *rc = arg;
    *rc = cio_sleep(CIO_NEVER);
}

static void mid(void *arg)
{
    struct nest *n = arg;
    cio_group *g3;
    CIO_ASSERT_RC(cio_group_new(&g3), 0);
    CIO_ASSERT_RC(cio_go(g3, leaf, &n->leaf_rc[1]), 0);
    n->wait_rc[1] = cio_group_wait(g3, CIO_NEVER);
    cio_group_free(g3);
    log_add(&n->order, 2);
}

static void top(void *arg)
{
    struct nest *n = arg;
    cio_group *g2, *late;
    CIO_ASSERT_RC(cio_group_new(&g2), 0);
    CIO_ASSERT_RC(cio_go(g2, leaf, &n->leaf_rc[0]), 0);
    CIO_ASSERT_RC(cio_go(g2, mid, n), 0);
    n->wait_rc[0] = cio_group_wait(g2, CIO_NEVER);
    cio_group_free(g2); /* waits for all of them */
    log_add(&n->order, 1);
    /* canceled now: a new group is born canceled */
    CIO_ASSERT_RC(cio_group_new(&late), 0);
    n->late_go_rc = cio_go(late, leaf, &n->leaf_rc[2]);
    cio_group_free(late);
}

static int nest_main(void *arg)
{
    struct nest *n = arg;
    cio_group *g1;

    CIO_ASSERT_RC(cio_group_new(&g1), 0);
    CIO_ASSERT_RC(cio_go(g1, top, n), 0);
    settle();
    cr_expect_eq(cio_group_count(g1), 1);
    cio_group_cancel(g1);
    CIO_EXPECT_RC(cio_go(g1, top, n), CIO_ECANCELED);
    CIO_ASSERT_RC(cio_group_wait(g1, cio_after(5000)), 0);
    log_add(&n->order, 0);
    cio_group_free(g1);
    return 0;
}

Test(cancel, nested_groups)
{
    struct nest n = {.leaf_rc = {1, 1, 1}, .wait_rc = {1, 1}};
    cr_assert_eq(cio_run(nest_main, &n), 0);
    CIO_EXPECT_RC(n.leaf_rc[0], CIO_ECANCELED);
    CIO_EXPECT_RC(n.leaf_rc[1], CIO_ECANCELED);
    cr_expect_eq(n.leaf_rc[2], 1, "a task started in a canceled group ran");
    CIO_EXPECT_RC(n.wait_rc[0], CIO_ECANCELED);
    CIO_EXPECT_RC(n.wait_rc[1], CIO_ECANCELED);
    CIO_EXPECT_RC(n.late_go_rc, CIO_ECANCELED);
    int want[] = {2, 1, 0}; /* inner groups are freed first */
    expect_log(&n.order, want, 3);
}

/* ================================================================ defer */

struct deferred {
    struct log log;
    int body_rc;
};

struct mark {
    struct log *log;
    int v;
};

static void mark_fn(void *arg)
{
    struct mark *m = arg;
    log_add(m->log, m->v);
}

static int deferring(void *arg)
{
    struct deferred *d = arg;
    struct mark *m = cio_scoped_alloc(3 * sizeof(*m));
    cr_assert_not_null(m);
    for (int i = 0; i < 3; i++) {
        m[i] = (struct mark){&d->log, i + 1};
        CIO_ASSERT_RC(cio_defer(mark_fn, &m[i]), 0);
    }
    d->body_rc = cio_sleep(cio_after(30));
    log_add(&d->log, 9); /* the body ends */
    return 0;
}

static int defer_main(void *arg)
{
    struct deferred *d = arg; /* [0]: returns, [1]: canceled */
    cio_group *g;

    CIO_EXPECT_RC(cio_defer(NULL, NULL), CIO_EINVAL);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, deferring, &d[0], NULL, NULL), 0);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_ASSERT_RC(cio_spawn(g, deferring, &d[1], NULL, NULL), 0);
    settle();
    cio_group_cancel(g);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    return 0;
}

static void never(void *arg)
{
    (void)arg;
}

Test(cancel, defer_runs_lifo_on_return_and_on_cancel)
{
    struct deferred d[2] = {0};
    cr_assert_eq(cio_run(defer_main, d), 0);
    CIO_EXPECT_RC(d[0].body_rc, 0);
    CIO_EXPECT_RC(d[1].body_rc, CIO_ECANCELED);
    int want[] = {9, 3, 2, 1};
    expect_log(&d[0].log, want, 4);
    expect_log(&d[1].log, want, 4);
    CIO_EXPECT_RC(cio_defer(never, NULL), CIO_EINVAL); /* not in a task */
    expect_no_leaks();
}

/* ================================================================ scoped alloc */

#define NBLOCKS 8

struct scoped {
    void *p[2][NBLOCKS];
    int rc;
};

static int scoped_fn(void *arg)
{
    void **p = arg;
    for (int i = 0; i < NBLOCKS; i++) {
        size_t size = (size_t)1 << (i * 2); /* 1 B .. 16 KiB */
        p[i] = cio_scoped_alloc(size);
        cr_assert_not_null(p[i]);
        cr_expect_eq((uintptr_t)p[i] % alignof(max_align_t), 0,
                     "block %d misaligned", i);
        memset(p[i], 0xa5, size); /* ASan: the whole size is usable */
    }
    return cio_sleep(CIO_NEVER);
}

static int scoped_main(void *arg)
{
    struct scoped *s = arg;
    cio_group *g;

    cr_expect_null(cio_scoped_alloc(SIZE_MAX));
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, scoped_fn, s->p[0], NULL, NULL), 0);
    CIO_ASSERT_RC(cio_spawn(g, scoped_fn, s->p[1], NULL, NULL), 0);
    settle();
#if HAVE_ASAN
    cr_expect_eq(__asan_address_is_poisoned(s->p[0][0]), 0);
#endif
    cio_group_cancel(g);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    s->rc = cio_group_error(g);
    cio_group_free(g);
    return 0;
}

Test(cancel, scoped_alloc_is_freed_when_the_task_ends)
{
    struct scoped s = {0};
    cr_expect_null(cio_scoped_alloc(16)); /* not in a task */
    cr_assert_eq(cio_run(scoped_main, &s), 0);
    CIO_EXPECT_RC(s.rc, CIO_ECANCELED);
#if HAVE_ASAN
    /* freed blocks are poisoned (quarantined); the exit-time leak check
     * would also catch one that was never freed */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < NBLOCKS; i++)
            cr_expect_neq(__asan_address_is_poisoned(s.p[t][i]), 0,
                          "task %d block %d not freed", t, i);
#endif
    expect_no_leaks();
}
