/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"

static int wait_int(atomic_int *p, int want, int ms)
{
    for (int i = 0; i < ms && atomic_load(p) != want; i++)
        usleep(1000);
    return atomic_load(p);
}

/* ------------------------------------------------------------- N loops */

struct worker {
    int id;
    int steps; /* loop-local: no atomics needed */
    pthread_t self;
    atomic_int *go; /* set once the test has every loop */
};

static void stepper(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 5; i++) {
        if (cio_sleep(cio_after(1)) < 0)
            return;
        w->steps++;
    }
}

static int worker_main(void *arg)
{
    struct worker *w = arg;
    cio_group *g;

    w->self = pthread_self();
    /* A loop lives as long as its thread: stay alive until the test has
     * compared every loop, or a finished thread's loop memory could be
     * reused by a later one and compare equal. */
    for (int i = 0; i < 10000 && !atomic_load(w->go); i++)
        CIO_ASSERT_RC(cio_sleep(cio_after(1)), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 10; i++)
        CIO_ASSERT_RC(cio_go(g, stepper, w), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    return 100 + w->id;
}

Test(thread, n_loops_on_n_threads)
{
    enum { N = 4 };
    struct worker w[N] = {0};
    cio_thread *t[N];
    cio_loop *loops[N];
    atomic_int go = 0;

    for (int i = 0; i < N; i++) {
        w[i].id = i;
        w[i].go = &go;
        CIO_ASSERT_RC(cio_thread_new(&t[i], worker_main, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        loops[i] = cio_thread_loop(t[i]);
        for (int j = 0; j < i; j++)
            cr_expect_neq(loops[i], loops[j], "one loop per thread");
    }
    atomic_store(&go, 1);
    for (int i = 0; i < N; i++) {
        int res = 0;
        CIO_ASSERT_RC(cio_thread_join(t[i], cio_after(10000), &res), 0);
        cr_expect_eq(res, 100 + i);
        cr_expect_eq(w[i].steps, 50, "thread %d made %d steps", i, w[i].steps);
        cr_expect(!pthread_equal(w[i].self, pthread_self()));
    }
    cr_expect_null(cio_loop_current(), "the test thread has no loop");
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- posting */

/* Inside a task: sleeps in 1 ms steps until *flag (loop-local) is set. */
static int await_flag(const int *flag, int ms)
{
    cio_time dl = cio_after(ms);
    while (!*flag && cio_now() < dl)
        if (cio_sleep(cio_after(1)) < 0)
            break;
    return *flag ? 0 : CIO_ETIMEDOUT;
}

struct postbox {
    int done;         /* set by posted_fn on the target loop */
    atomic_int ready; /* the target loop runs */
    pthread_t loop_thread;
    pthread_t ran_on;
    cio_loop *ran_in;
    int runs;
};

static void posted_fn(void *arg)
{
    struct postbox *p = arg;
    p->ran_on = pthread_self();
    p->ran_in = cio_loop_current();
    p->runs++;
    cr_expect_eq(cio_canceled(), 0);
    p->done = 1; /* loop-local: fn runs on the target loop's thread */
}

static int post_target_main(void *arg)
{
    struct postbox *p = arg;

    p->loop_thread = pthread_self();
    atomic_store(&p->ready, 1);
    return await_flag(&p->done, 10000);
}

Test(thread, post_from_plain_thread_runs_on_target_loop)
{
    struct postbox p = {0};
    cio_thread *t;
    cio_loop *l;
    int res = -1;

    CIO_ASSERT_RC(cio_thread_new(&t, post_target_main, &p), 0);
    l = cio_thread_loop(t);
    cr_assert_not_null(l);
    cr_assert_eq(wait_int(&p.ready, 1, 5000), 1);
    CIO_ASSERT_RC(cio_loop_post(l, posted_fn, &p), 0);
    CIO_ASSERT_RC(cio_thread_join(t, cio_after(10000), &res), 0);
    CIO_EXPECT_RC(res, 0);
    cr_expect_eq(p.runs, 1);
    cr_expect(pthread_equal(p.ran_on, p.loop_thread),
              "fn ran on another thread");
    cr_expect_eq(p.ran_in, l);
    CIO_EXPECT_RC(cio_loop_post(NULL, posted_fn, &p), CIO_EINVAL);
    cio_test_no_leaks();
}

/* From a task of one loop to another loop, many times. */
struct counter {
    int n; /* touched on the target loop only */
    int done;
    atomic_int ready;
};

static void bump(void *arg)
{
    struct counter *c = arg;
    if (++c->n == 1000)
        c->done = 1;
}

static int count_main(void *arg)
{
    struct counter *c = arg;
    atomic_store(&c->ready, 1);
    return await_flag(&c->done, 20000);
}

struct cross {
    cio_thread *t;
    struct counter c;
};

static int cross_main(void *arg)
{
    struct cross *x = arg;
    cio_loop *l = cio_thread_loop(x->t);
    int res = -1;

    cr_assert_not_null(l);
    while (!atomic_load(&x->c.ready))
        cio_sleep(cio_after(1));
    for (int i = 0; i < 1000; i++) {
        CIO_ASSERT_RC(cio_loop_post(l, bump, &x->c), 0);
        if (i % 100 == 0)
            cio_yield();
    }
    /* Join from a task: parks this task only. */
    CIO_EXPECT_RC(cio_thread_join(x->t, cio_after(20000), &res), 0);
    return res;
}

Test(thread, post_from_task_of_another_loop)
{
    struct cross x = {0};
    CIO_ASSERT_RC(cio_thread_new(&x.t, count_main, &x.c), 0);
    CIO_EXPECT_RC(cio_run(cross_main, &x), 0);
    cr_expect_eq(x.c.n, 1000, "ran %d of 1000 posts", x.c.n);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- cancel */

static int sleep_forever(void *arg)
{
    atomic_store((atomic_int *)arg, 1);
    return cio_sleep(CIO_NEVER);
}

Test(thread, loop_cancel_stops_main)
{
    atomic_int started = 0;
    cio_thread *t;
    int res = 0;

    CIO_ASSERT_RC(cio_thread_new(&t, sleep_forever, &started), 0);
    cr_assert_eq(wait_int(&started, 1, 5000), 1);
    CIO_ASSERT_RC(cio_loop_cancel(cio_thread_loop(t)), 0);
    CIO_ASSERT_RC(cio_thread_join(t, cio_after(10000), &res), 0);
    CIO_EXPECT_RC(res, CIO_ECANCELED);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- join */

struct slow {
    atomic_int release;
    atomic_int finishing;
};

static int slow_main(void *arg)
{
    struct slow *s = arg;
    /* Waits for the test's word (bounded), not for a wall-clock time. */
    for (int i = 0; i < 10000 && !atomic_load(&s->release); i++)
        cio_sleep(cio_after(1));
    atomic_store(&s->finishing, 1);
    return 5;
}

struct joiner {
    cio_thread *t;
    struct slow s;
    int ticks;
    int stop;
};

static void ticker(void *arg)
{
    struct joiner *j = arg;
    while (!j->stop && j->ticks < 100000) {
        if (cio_sleep(cio_after(1)) < 0)
            break;
        j->ticks++;
    }
}

static int join_task_main(void *arg)
{
    struct joiner *j = arg;
    cio_group *g;
    int res = 0, before;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, ticker, j), 0);
    /* The thread waits for release: this join must time out, and the
     * ticker keeps running meanwhile (only the task parks). */
    before = j->ticks;
    CIO_EXPECT_RC(cio_thread_join(j->t, cio_after(50), &res), CIO_ETIMEDOUT);
    cr_expect_gt(j->ticks, before, "the loop stalled during the join");
    cr_expect_eq(res, 0, "result written on failure");
    atomic_store(&j->s.release, 1);
    CIO_EXPECT_RC(cio_thread_join(j->t, cio_after(10000), &res), 0);
    cr_expect_eq(res, 5);
    j->stop = 1;
    cio_group_wait(g, cio_after(5000));
    cio_group_free(g);
    return 0;
}

Test(thread, join_in_task_with_deadline)
{
    struct joiner j = {0};
    CIO_ASSERT_RC(cio_thread_new(&j.t, slow_main, &j.s), 0);
    CIO_EXPECT_RC(cio_run(join_task_main, &j), 0);
    cio_test_no_leaks();
}

Test(thread, join_outside_task_with_deadline)
{
    struct slow s = {0};
    cio_thread *t;
    int res = 0;

    CIO_ASSERT_RC(cio_thread_new(&t, slow_main, &s), 0);
    CIO_EXPECT_RC(cio_thread_join(t, cio_after(30), &res), CIO_ETIMEDOUT);
    CIO_EXPECT_RC(cio_thread_join(t, cio_now() - 1, &res), CIO_ETIMEDOUT);
    atomic_store(&s.release, 1);
    CIO_ASSERT_RC(cio_thread_join(t, CIO_NEVER, &res), 0);
    cr_expect_eq(res, 5);
    cio_test_no_leaks();
}

/* The joiner is canceled after the ending thread already posted its wake-up
 * but before the joiner's loop ran it: the request must be freed by the
 * post, the thread stays joinable. */
struct race {
    cio_thread *t;
    struct slow s;
    cio_task *victim;
    int first_rc;
};

static int join_victim(void *arg)
{
    struct race *r = arg;
    int res = 0;
    r->first_rc = cio_thread_join(r->t, cio_after(10000), &res);
    return 0;
}

static int race_main(void *arg)
{
    struct race *r = arg;
    cio_group *g;
    int res = 0;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, join_victim, r, NULL, &r->victim), 0);
    cio_yield(); /* the victim registers and parks */
    atomic_store(&r->s.release, 1);
    /* Hold this loop (no yield) until the thread has ended and posted. */
    wait_int(&r->s.finishing, 1, 5000);
    usleep(100000);
    cio_task_cancel(r->victim);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(r->first_rc, CIO_ECANCELED);
    CIO_EXPECT_RC(cio_thread_join(r->t, cio_after(5000), &res), 0);
    cr_expect_eq(res, 5);
    return 0;
}

Test(thread, joiner_canceled_after_wakeup_was_posted)
{
    struct race r = {0};
    CIO_ASSERT_RC(cio_thread_new(&r.t, slow_main, &r.s), 0);
    CIO_EXPECT_RC(cio_run(race_main, &r), 0);
    cio_test_no_leaks();
}

static int cancel_join_main(void *arg)
{
    struct race *r = arg;
    cio_group *g;
    int res = 0;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, join_victim, r, NULL, &r->victim), 0);
    cio_yield();
    cio_task_cancel(r->victim);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(r->first_rc, CIO_ECANCELED);
    atomic_store(&r->s.release, 1);
    CIO_EXPECT_RC(cio_thread_join(r->t, cio_after(10000), &res), 0);
    cr_expect_eq(res, 5);
    return 0;
}

Test(thread, canceled_join_leaves_thread_joinable)
{
    struct race r = {0};
    CIO_ASSERT_RC(cio_thread_new(&r.t, slow_main, &r.s), 0);
    CIO_EXPECT_RC(cio_run(cancel_join_main, &r), 0);
    cio_test_no_leaks();
}

struct self_join {
    _Atomic(cio_thread *) t;
};

static int self_join_main(void *arg)
{
    struct self_join *s = arg;
    cio_thread *t;
    while ((t = atomic_load(&s->t)) == NULL)
        cio_sleep(cio_after(1));
    return cio_thread_join(t, cio_after(1000), NULL);
}

Test(thread, join_self_is_deadlock)
{
    struct self_join s = {0};
    cio_thread *t;
    int res = 0;

    CIO_ASSERT_RC(cio_thread_new(&t, self_join_main, &s), 0);
    atomic_store(&s.t, t);
    CIO_ASSERT_RC(cio_thread_join(t, cio_after(10000), &res), 0);
    CIO_EXPECT_RC(res, CIO_EDEADLOCK);
    CIO_EXPECT_RC(cio_thread_new(NULL, self_join_main, &s), CIO_EINVAL);
    cio_test_no_leaks();
}
