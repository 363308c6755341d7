/* SPDX-License-Identifier: MIT */
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "rt/rt_int.h"

/* Polls *p (from any thread, outside or inside a loop callback) until it
 * equals want or ms pass. Returns the last value seen. */
static int wait_int(atomic_int *p, int want, int ms)
{
    for (int i = 0; i < ms && atomic_load(p) != want; i++)
        usleep(1000);
    return atomic_load(p);
}

/* A job that reports start, waits for a gate (bounded), reports the end. */
struct gated {
    atomic_int started;
    atomic_int open;
    atomic_int finished;
    atomic_int disposed;
    atomic_int runs;
    void *disposed_result;
};

static void *gated_fn(void *arg)
{
    struct gated *g = arg;
    char *buf;

    atomic_fetch_add(&g->runs, 1);
    atomic_store(&g->started, 1);
    wait_int(&g->open, 1, 5000);
    buf = malloc(64); /* freed by dispose when nobody waits any more */
    strcpy(buf, "result");
    atomic_store(&g->finished, 1);
    return buf;
}

static void gated_dispose(void *result, void *arg)
{
    struct gated *g = arg;
    g->disposed_result = result;
    free(result);
    atomic_fetch_add(&g->disposed, 1);
}

/* Inside a task: sleeps in small steps until *p == want (bounded). */
static int await_int(atomic_int *p, int want, int ms)
{
    cio_time dl = cio_after(ms);
    while (atomic_load(p) != want && cio_now() < dl)
        cio_sleep(cio_after(1));
    return atomic_load(p);
}

/* ------------------------------------------------------------- results */

static void *twice(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}

static int results_main(void *arg)
{
    (void)arg;
    for (intptr_t i = 1; i <= 5; i++) {
        void *out = NULL;
        CIO_ASSERT_RC(cio_blocking(twice, (void *)i, &out), 0);
        cr_expect_eq((intptr_t)out, 2 * i);
    }
    CIO_EXPECT_RC(cio_blocking(twice, (void *)1, NULL), 0); /* out optional */
    return 0;
}

Test(executor, results_are_delivered)
{
    cr_assert_eq(cio_run(results_main, NULL), 0);
    cio_test_no_leaks();
}

static void *not_run(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return NULL;
}

static void count_dispose(void *result, void *arg)
{
    (void)result;
    atomic_fetch_add((atomic_int *)arg + 1, 1);
}

static int canceled_main(void *arg)
{
    atomic_int *c = arg; /* [0] runs, [1] disposes */
    struct cio_job job = {.fn = not_run, .arg = c, .dispose = count_dispose};

    job.deadline = cio_now() - 1; /* already passed */
    CIO_EXPECT_RC(cio_blocking_job(&job, NULL), CIO_ETIMEDOUT);
    return 0;
}

Test(executor, errors_outside_task_and_past_deadline)
{
    atomic_int c[2] = {0};
    struct cio_job job = {.fn = not_run, .arg = c, .dispose = count_dispose};

    CIO_EXPECT_RC(cio_blocking(not_run, c, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_blocking_job(&job, NULL), CIO_EINVAL);
    CIO_EXPECT_RC(cio_blocking_job(NULL, NULL), CIO_EINVAL);
    cr_assert_eq(cio_run(canceled_main, c), 0);
    cr_expect_eq(atomic_load(&c[0]), 0, "fn must not run");
    cr_expect_eq(atomic_load(&c[1]), 2, "dispose once per failed call");
    cio_test_no_leaks();
}

static int self_cancel_task(void *arg)
{
    atomic_int *c = arg;
    struct cio_job job = {.fn = not_run, .arg = c, .dispose = count_dispose};
    cio_yield(); /* the spawner cancels us meanwhile */
    CIO_EXPECT_RC(cio_blocking_job(&job, NULL), CIO_ECANCELED);
    return 0;
}

static int already_canceled_main(void *arg)
{
    cio_group *g;
    cio_task *t;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, self_cancel_task, arg, NULL, &t), 0);
    cio_yield();
    cio_task_cancel(t);
    cio_group_wait(g, cio_after(5000));
    cio_group_free(g);
    return 0;
}

Test(executor, canceled_task_never_queues)
{
    atomic_int c[2] = {0};
    cr_assert_eq(cio_run(already_canceled_main, c), 0);
    cr_expect_eq(atomic_load(&c[0]), 0, "fn must not run");
    cr_expect_eq(atomic_load(&c[1]), 1, "dispose(NULL) once");
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- concurrency */

struct many {
    atomic_int inflight, peak, done;
    int ok;
};

static void *many_fn(void *arg)
{
    struct many *m = *(struct many **)arg;
    int now = atomic_fetch_add(&m->inflight, 1) + 1;
    int peak = atomic_load(&m->peak);
    while (now > peak && !atomic_compare_exchange_weak(&m->peak, &peak, now))
        ;
    usleep(20000);
    atomic_fetch_sub(&m->inflight, 1);
    return (char *)arg + 1;
}

struct many_arg {
    struct many *m;
    char pad;
};

static void many_task(void *arg)
{
    struct many_arg *a = arg;
    void *out = NULL;
    if (cio_blocking(many_fn, a, &out) == 0 && out == (char *)a + 1)
        a->m->ok++;
    atomic_fetch_add(&a->m->done, 1);
}

static int many_main(void *arg)
{
    struct many *m = arg;
    static struct many_arg args[100];
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 100; i++) {
        args[i].m = m;
        CIO_ASSERT_RC(cio_go(g, many_task, &args[i]), 0);
    }
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    return 0;
}

Test(executor, hundred_concurrent_calls_from_hundred_tasks)
{
    struct many m = {0};
    cio_executor_set_max_threads(4);
    cr_assert_eq(cio_run(many_main, &m), 0);
    cr_expect_eq(m.ok, 100);
    cr_expect_eq(atomic_load(&m.done), 100);
    int peak = atomic_load(&m.peak);
    cr_expect(peak >= 2 && peak <= 4, "peak concurrency %d, want 2..4", peak);
    cio_test_no_leaks();
}

Test(executor, max_threads_one_serializes)
{
    struct many m = {0};
    cio_executor_set_max_threads(1);
    cr_assert_eq(cio_run(many_main, &m), 0);
    cr_expect_eq(m.ok, 100);
    cr_expect_eq(atomic_load(&m.peak), 1);
    cio_test_no_leaks();
}

static int lower_main(void *arg)
{
    struct many *m = arg;
    static struct many_arg args[40];
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 40; i++) {
        args[i].m = m;
        CIO_ASSERT_RC(cio_go(g, many_task, &args[i]), 0);
    }
    cio_sleep(cio_after(30)); /* some jobs run on 4 threads now */
    cio_executor_set_max_threads(1);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    return 0;
}

Test(executor, lowering_max_while_busy_loses_no_job)
{
    struct many m = {0};
    cio_executor_set_max_threads(4);
    cr_assert_eq(cio_run(lower_main, &m), 0);
    cr_expect_eq(m.ok, 40);
    cr_expect_eq(atomic_load(&m.done), 40);
    cio_test_no_leaks();
}

Test(executor, env_sets_default_max)
{
    struct many m = {0};
    /* Each Criterion test is a fresh process: the pool reads this lazily. */
    setenv("CIO_EXECUTOR_THREADS", "2", 1);
    cr_assert_eq(cio_run(many_main, &m), 0);
    cr_expect_eq(m.ok, 100);
    cr_expect_eq(atomic_load(&m.peak), 2);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- cancel */

struct cq {
    struct gated busy;   /* occupies the only thread */
    struct gated queued; /* must never run */
    int busy_rc, queued_rc;
};

static void busy_task(void *arg)
{
    struct cq *q = arg;
    struct cio_job job = {
        .fn = gated_fn, .arg = &q->busy, .dispose = gated_dispose};
    void *out = NULL;
    q->busy_rc = cio_blocking_job(&job, &out);
    free(out);
}

static int queued_task(void *arg)
{
    struct cq *q = arg;
    struct cio_job job = {
        .fn = gated_fn, .arg = &q->queued, .dispose = gated_dispose};
    q->queued_rc = cio_blocking_job(&job, NULL);
    return 0;
}

static int cancel_queued_main(void *arg)
{
    struct cq *q = arg;
    cio_group *g;
    cio_task *qt;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, busy_task, q), 0);
    cr_assert_eq(await_int(&q->busy.started, 1, 5000), 1);
    CIO_ASSERT_RC(cio_spawn(g, queued_task, q, NULL, &qt), 0);
    cio_yield(); /* queued_task submits and parks */
    cio_task_cancel(qt);
    cio_yield(); /* it returns at once, with the busy job still blocked */
    CIO_EXPECT_RC(q->queued_rc, CIO_ECANCELED);
    cr_expect_eq(atomic_load(&q->busy.finished), 0);
    atomic_store(&q->busy.open, 1);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    return 0;
}

Test(executor, cancel_while_queued_drops_the_job)
{
    struct cq q = {0};
    cio_executor_set_max_threads(1);
    q.queued_rc = 1;
    cr_assert_eq(cio_run(cancel_queued_main, &q), 0);
    CIO_EXPECT_RC(q.busy_rc, 0);
    /* Give a (wrong) worker time to pick the dropped job up. */
    usleep(50000);
    cr_expect_eq(atomic_load(&q.queued.runs), 0, "a dropped job ran");
    cr_expect_eq(atomic_load(&q.queued.disposed), 1, "dispose(NULL, arg) once");
    cr_expect_null(q.queued.disposed_result);
    cr_expect_eq(atomic_load(&q.busy.disposed), 0, "success: no dispose");
    cio_test_no_leaks();
}

struct cr_ {
    struct gated g;
    int rc;
    cio_time deadline;
};

static void running_task(void *arg)
{
    struct cr_ *c = arg;
    struct cio_job job = {.fn = gated_fn,
                          .arg = &c->g,
                          .dispose = gated_dispose,
                          .deadline = c->deadline};
    c->rc = cio_blocking_job(&job, NULL);
}

static int running_task_i(void *arg)
{
    running_task(arg);
    return 0;
}

static int cancel_running_main(void *arg)
{
    struct cr_ *c = arg;
    cio_group *g;
    cio_task *t;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, running_task_i, c, NULL, &t), 0);
    cr_assert_eq(await_int(&c->g.started, 1, 5000), 1);
    cio_task_cancel(t);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    /* The caller is gone while fn still runs. */
    cr_expect_eq(atomic_load(&c->g.finished), 0);
    CIO_EXPECT_RC(c->rc, CIO_ECANCELED);
    atomic_store(&c->g.open, 1);
    cr_expect_eq(await_int(&c->g.disposed, 1, 5000), 1);
    return 0;
}

Test(executor, cancel_while_running_disposes_result)
{
    struct cr_ c = {.deadline = CIO_NEVER};
    cr_assert_eq(cio_run(cancel_running_main, &c), 0);
    cr_expect_eq(atomic_load(&c.g.disposed), 1);
    cr_expect_not_null(c.g.disposed_result, "dispose got fn's result");
    /* ASan's leak check proves the result was freed. */
    cio_test_no_leaks();
}

static int job_deadline_main(void *arg)
{
    struct cr_ *c = arg;
    cio_group *g;

    c->deadline = cio_after(50);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, running_task, c), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(c->rc, CIO_ETIMEDOUT);
    cr_expect_eq(atomic_load(&c->g.started), 1);
    cr_expect_eq(atomic_load(&c->g.finished), 0, "returned before fn ended");
    atomic_store(&c->g.open, 1);
    cr_expect_eq(await_int(&c->g.disposed, 1, 5000), 1);
    return 0;
}

Test(executor, job_deadline_times_out)
{
    struct cr_ c = {0};
    cr_assert_eq(cio_run(job_deadline_main, &c), 0);
    cr_expect_not_null(c.g.disposed_result);
    cio_test_no_leaks();
}

/* The caller is canceled after fn returned and its completion was posted,
 * but before the loop ran the post: the post handler must dispose. */
struct late {
    struct gated g;
    cio_task *victim;
    int rc;
};

static void *quick_fn(void *arg)
{
    struct gated *g = arg;
    char *buf = malloc(16);
    atomic_store(&g->finished, 1);
    return buf;
}

static int late_task(void *arg)
{
    struct late *lt = arg;
    struct cio_job job = {
        .fn = quick_fn, .arg = &lt->g, .dispose = gated_dispose};
    void *out = NULL;
    lt->rc = cio_blocking_job(&job, &out);
    free(out);
    return 0;
}

static int posted(struct cio_loop *l)
{
    int any;
    pthread_mutex_lock(&l->post_mu);
    any = l->post_head != NULL;
    pthread_mutex_unlock(&l->post_mu);
    return any;
}

static int late_main(void *arg)
{
    struct late *lt = arg;
    struct cio_loop *l = cio_loop_current();
    cio_group *g;
    cio_task *t;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, late_task, lt, NULL, &t), 0);
    cio_yield(); /* late_task submits and parks */
    /* Hold the loop thread (no yield) until the completion is queued. */
    for (int i = 0; i < 5000 && !posted(l); i++)
        usleep(1000);
    cr_assert(posted(l), "completion never posted");
    cio_task_cancel(t);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(lt->rc, CIO_ECANCELED);
    cr_expect_eq(await_int(&lt->g.disposed, 1, 5000), 1);
    cio_group_free(g);
    return 0;
}

Test(executor, cancel_after_completion_posted_disposes)
{
    struct late lt = {0};
    cr_assert_eq(cio_run(late_main, &lt), 0);
    cr_expect_not_null(lt.g.disposed_result);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- orphans */

static void orphan_task(void *arg)
{
    struct cr_ *c = arg;
    struct cio_job job = {
        .fn = gated_fn, .arg = &c->g, .dispose = gated_dispose};
    c->rc = cio_blocking_job(&job, NULL);
}

static int orphan_main(void *arg)
{
    struct cr_ *c = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, orphan_task, c), 0);
    cr_assert_eq(await_int(&c->g.started, 1, 5000), 1);
    cio_group_free(g); /* cancels the waiter; the loop ends right after */
    return 0;
}

Test(executor, loop_ends_with_job_running)
{
    struct cr_ c = {0};
    cr_assert_eq(cio_run(orphan_main, &c), 0);
    /* The loop is gone; the job still runs. Let it finish now. */
    cr_expect_eq(atomic_load(&c.g.finished), 0);
    CIO_EXPECT_RC(c.rc, CIO_ECANCELED);
    atomic_store(&c.g.open, 1);
    cr_expect_eq(wait_int(&c.g.disposed, 1, 5000), 1);
    cr_expect_not_null(c.g.disposed_result);
    /* A second loop in the same process still gets service. */
    cr_expect_eq(cio_run(results_main, NULL), 0);
    cio_test_no_leaks();
}

static int cancel_loop_main(void *arg)
{
    struct cr_ *c = arg;
    struct cio_job job = {
        .fn = gated_fn, .arg = &c->g, .dispose = gated_dispose};
    c->rc = cio_blocking_job(&job, NULL);
    return 7;
}

static int loop_cancel_thread(void *arg)
{
    return cancel_loop_main(arg);
}

Test(executor, thread_loop_canceled_during_job)
{
    struct cr_ c = {0};
    cio_thread *th;
    int res = 0;

    CIO_ASSERT_RC(cio_thread_new(&th, loop_cancel_thread, &c), 0);
    cr_assert_eq(wait_int(&c.g.started, 1, 5000), 1);
    CIO_ASSERT_RC(cio_loop_cancel(cio_thread_loop(th)), 0);
    CIO_ASSERT_RC(cio_thread_join(th, cio_after(5000), &res), 0);
    cr_expect_eq(res, 7);
    CIO_EXPECT_RC(c.rc, CIO_ECANCELED);
    cr_expect_eq(atomic_load(&c.g.finished), 0);
    atomic_store(&c.g.open, 1);
    cr_expect_eq(wait_int(&c.g.disposed, 1, 5000), 1);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- the point */

struct tick {
    int ticks;
    int done;
    int via_executor;
};

static void ticker(void *arg)
{
    struct tick *t = arg;
    while (!t->done && t->ticks < 1000) {
        if (cio_sleep(cio_after(10)) < 0)
            break;
        t->ticks++;
    }
}

static void *slow_call(void *arg)
{
    (void)arg;
    usleep(200000);
    return NULL;
}

static void blocker(void *arg)
{
    struct tick *t = arg;
    cio_yield(); /* the ticker is parked in its first sleep now */
    t->ticks = 0;
    if (t->via_executor)
        CIO_EXPECT_RC(cio_blocking(slow_call, NULL, NULL), 0);
    else
        slow_call(NULL); /* stalls the whole loop */
    t->done = 1;
}

static int tick_main(void *arg)
{
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, ticker, arg), 0);
    CIO_ASSERT_RC(cio_go(g, blocker, arg), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    return 0;
}

Test(executor, blocking_call_stalls_loop_unless_offloaded)
{
    struct tick direct = {0}, offloaded = {.via_executor = 1};

    cr_assert_eq(cio_run(tick_main, &direct), 0);
    cr_assert_eq(cio_run(tick_main, &offloaded), 0);
    /* 200 ms of 10 ms ticks: ~20 when offloaded, ~1 when the loop stalls. */
    cr_expect(direct.ticks <= 2, "direct: ticker made %d ticks", direct.ticks);
    cr_expect(offloaded.ticks >= 5, "offloaded: ticker made %d ticks",
              offloaded.ticks);
    cio_test_no_leaks();
}
