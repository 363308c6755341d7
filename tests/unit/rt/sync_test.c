/* SPDX-License-Identifier: MIT */
/*
 * Synchronisation primitives: behaviour, FIFO order, deadlines, cancellation
 * and the hand-off races (a release in the same turn as a timeout or a
 * cancellation never loses nor duplicates what is handed over).
 */
#include <signal.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "rt/rt_int.h" /* cio__clock_ms: spin past a deadline */

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Runs fn as a loop's main task, then checks for leaks: LeakSanitizer's
 * exit-time report does not fail a Criterion test (the worker has already
 * sent its result), so the check runs here.
 */
static int run(int (*fn)(void *arg), void *arg)
{
    int rc = cio_run(fn, arg);
#if defined(__SANITIZE_ADDRESS__)
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0,
                 "LeakSanitizer found leaks (see its report above)");
#endif
    return rc;
}

/* Lets every ready task run until it parks again (a few loop turns). */
static void settle(void)
{
    for (int i = 0; i < 4; i++)
        cio_yield();
}

struct log {
    int v[64];
    int n;
};

static void log_add(struct log *l, int x)
{
    if (l->n < (int)COUNTOF(l->v))
        l->v[l->n++] = x;
}

static void expect_log(const struct log *l, const int *want, int n)
{
    cr_expect_eq(l->n, n, "log has %d entries, want %d", l->n, n);
    for (int i = 0; i < n && i < l->n; i++)
        cr_expect_eq(l->v[i], want[i], "log[%d] = %d, want %d", i, l->v[i],
                     want[i]);
}

/* ================================================================ table */

/*
 * One row per blocking point. setup() leaves the object in a state where op()
 * blocks; give() (run by main, never blocking) makes exactly one op succeed,
 * or makes the resource available if nobody waits; consistent() checks, once
 * everything settled, that the unit given was neither lost nor duplicated.
 * op() wrappers give back what they got (unlock, release) so a test only has
 * to look at the object.
 */
struct fx {
    const struct prim *p;
    cio_mutex *m;
    cio_cond *c;
    cio_event *e;
    cio_sem *s;
    cio_barrier *b;
    cio_chan *ch;
    int ok;   /* successful op() calls */
    int gave; /* units give() created */
};

struct prim {
    const char *name;
    void (*setup)(struct fx *f);
    int (*op)(struct fx *f, cio_time deadline);
    void (*give)(struct fx *f);      /* NULL: no non-blocking release */
    int (*consistent)(struct fx *f); /* NULL: nothing is conserved */
};

/* mutex: main holds it; op locks then unlocks. */
static void mx_setup(struct fx *f)
{
    cr_assert_eq(cio_mutex_new(&f->m), 0);
    CIO_ASSERT_RC(cio_mutex_trylock(f->m), 0);
}
static int mx_op(struct fx *f, cio_time d)
{
    int rc = cio_mutex_lock(f->m, d);
    if (rc == 0) {
        f->ok++;
        cio_mutex_unlock(f->m);
    }
    return rc;
}
static void mx_give(struct fx *f)
{
    cio_mutex_unlock(f->m);
    f->gave++;
}
static int mx_consistent(struct fx *f)
{
    /* handed to a task that left, it would stay locked forever */
    if (cio_mutex_trylock(f->m) != 0)
        return 0;
    cio_mutex_unlock(f->m);
    return 1;
}

/* cond: op takes the (free) mutex, waits, unlocks. */
static void cv_setup(struct fx *f)
{
    cr_assert_eq(cio_mutex_new(&f->m), 0);
    cr_assert_eq(cio_cond_new(&f->c), 0);
}
static int cv_op(struct fx *f, cio_time d)
{
    cr_assert_eq(cio_mutex_trylock(f->m), 0);
    int rc = cio_cond_wait(f->c, f->m, d);
    /* relocked on every path, so this unlock must not abort */
    cio_mutex_unlock(f->m);
    if (rc == 0)
        f->ok++;
    return rc;
}
static void cv_give(struct fx *f)
{
    cio_cond_signal(f->c);
    f->gave++;
}

/* event */
static void ev_setup(struct fx *f)
{
    cr_assert_eq(cio_event_new(&f->e), 0);
}
static int ev_op(struct fx *f, cio_time d)
{
    int rc = cio_event_wait(f->e, d);
    if (rc == 0)
        f->ok++;
    return rc;
}
static void ev_give(struct fx *f)
{
    cio_event_set(f->e);
    f->gave++;
}
static int ev_consistent(struct fx *f)
{
    return cio_event_is_set(f->e);
}

/* semaphore of 0; op acquires then releases. */
static void sm_setup(struct fx *f)
{
    cr_assert_eq(cio_sem_new(&f->s, 0), 0);
}
static int sm_op(struct fx *f, cio_time d)
{
    int rc = cio_sem_acquire(f->s, d);
    if (rc == 0) {
        f->ok++;
        cio_sem_release(f->s);
    }
    return rc;
}
static void sm_give(struct fx *f)
{
    cio_sem_release(f->s);
    f->gave++;
}
static int sm_consistent(struct fx *f)
{
    return cio_sem_value(f->s) == (unsigned)f->gave;
}

/* barrier of 2: a lone waiter blocks; no non-blocking release exists. */
static void br_setup(struct fx *f)
{
    cr_assert_eq(cio_barrier_new(&f->b, 2), 0);
}
static int br_op(struct fx *f, cio_time d)
{
    int rc = cio_barrier_wait(f->b, d);
    if (rc >= 0)
        f->ok++;
    return rc < 0 ? rc : 0;
}

/* Non-blocking receive from main: CIO_ETIMEDOUT if nothing is there. */
static int try_recv(cio_chan *ch, int *v)
{
    return cio_chan_recv(ch, v, cio_now());
}

/* chan recv, capacity 1, empty; give sends 7. */
static void cr_setup1(struct fx *f)
{
    cr_assert_eq(cio_chan_new(&f->ch, sizeof(int), 1), 0);
}
static void cr_setup0(struct fx *f)
{
    cr_assert_eq(cio_chan_new(&f->ch, sizeof(int), 0), 0);
}
static int cr_op(struct fx *f, cio_time d)
{
    int v = -1;
    int rc = cio_chan_recv(f->ch, &v, d);
    if (rc == 0) {
        cr_expect_eq(v, 7);
        f->ok++;
    } else {
        cr_expect_eq(v, -1, "recv wrote its output on failure");
    }
    return rc;
}
static void cr_give(struct fx *f)
{
    int v = 7;
    /* expired deadline: succeeds only without blocking (unbuffered: only if
     * a receiver waits) */
    if (cio_chan_send(f->ch, &v, cio_now()) == 0)
        f->gave++;
}
static int cr_consistent(struct fx *f)
{
    int v = 0, left = try_recv(f->ch, &v) == 0 && v == 7;
    return f->ok + left == f->gave;
}

/* chan send, capacity 1 holding 1 (full), or unbuffered; op sends 2;
 * give receives once. */
static void cs_setup1(struct fx *f)
{
    int v = 1;
    cr_assert_eq(cio_chan_new(&f->ch, sizeof(int), 1), 0);
    CIO_ASSERT_RC(cio_chan_send(f->ch, &v, CIO_NEVER), 0);
}
static int cs_op(struct fx *f, cio_time d)
{
    int v = 2;
    int rc = cio_chan_send(f->ch, &v, d);
    if (rc == 0)
        f->ok++;
    return rc;
}
static void cs_give(struct fx *f)
{
    int v = 0;
    if (try_recv(f->ch, &v) == 0) {
        if (v == 2)
            f->gave++; /* unbuffered: took the waiter's value directly */
    }
}
static int cs_consistent(struct fx *f)
{
    /* the waiter succeeded <=> its 2 is in the channel or was taken */
    int v = 0, left = try_recv(f->ch, &v) == 0 && v == 2;
    return f->ok == f->gave + left;
}

static void fx_free(struct fx *f)
{
    cio_cond_free(f->c);
    cio_mutex_free(f->m);
    cio_event_free(f->e);
    cio_sem_free(f->s);
    cio_barrier_free(f->b);
    cio_chan_free(f->ch);
}

static const struct prim prims[] = {
    {"mutex_lock", mx_setup, mx_op, mx_give, mx_consistent},
    {"cond_wait", cv_setup, cv_op, cv_give, NULL},
    {"event_wait", ev_setup, ev_op, ev_give, ev_consistent},
    {"sem_acquire", sm_setup, sm_op, sm_give, sm_consistent},
    {"barrier_wait", br_setup, br_op, NULL, NULL},
    {"chan_recv/1", cr_setup1, cr_op, cr_give, cr_consistent},
    {"chan_recv/0", cr_setup0, cr_op, cr_give, cr_consistent},
    {"chan_send/1", cs_setup1, cs_op, cs_give, cs_consistent},
    {"chan_send/0", cr_setup0, cs_op, cs_give, cs_consistent},
};

struct waiter {
    struct fx *f;
    cio_time deadline;
    int rc;
    int next_rc; /* a later blocking call (cio_yield) */
    int done;
};

static int waiter_fn(void *arg)
{
    struct waiter *w = arg;
    w->rc = w->f->p->op(w->f, w->deadline);
    w->next_rc = cio_yield();
    w->done = 1;
    return 0;
}

static void start(cio_group *g, struct waiter *w, cio_task **h)
{
    CIO_ASSERT_RC(cio_spawn(g, waiter_fn, w, NULL, h), 0);
}

static void check_consistent(struct fx *f, const char *when)
{
    if (f->p->consistent != NULL)
        cr_expect(f->p->consistent(f),
                  "%s: %s: unit lost or duplicated "
                  "(ok %d, gave %d)",
                  f->p->name, when, f->ok, f->gave);
}

/* ---- deadline */

static int timeout_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f};
    cio_group *g;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    w.deadline = cio_after(20);
    start(g, &w, NULL);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(w.rc, CIO_ETIMEDOUT, "%s: got %s", p->name, cio_errname(w.rc));
    cr_expect_eq(f.ok, 0, "%s", p->name);
    cr_expect(cio_now() >= w.deadline, "%s: returned before its deadline",
              p->name);
    /* an already expired deadline fails without parking */
    struct waiter w2 = {.f = &f, .deadline = cio_now()};
    start(g, &w2, NULL);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(w2.rc, CIO_ETIMEDOUT, "%s: expired: got %s", p->name,
                 cio_errname(w2.rc));
    if (p->give != NULL) {
        p->give(&f);
        check_consistent(&f, "after timeouts");
    }
    cio_group_free(g);
    fx_free(&f);
    return 0;
}

Test(sync, each_blocking_call_times_out)
{
    for (size_t i = 0; i < COUNTOF(prims); i++)
        cr_expect_eq(run(timeout_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
}

/* ---- cancellation while parked, and of an already canceled task */

static int cancel_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f, .deadline = CIO_NEVER};
    cio_group *g;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    start(g, &w, NULL);
    settle();
    cr_assert_eq(w.done, 0, "%s: did not block", p->name);
    cio_group_cancel(g);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(w.rc, CIO_ECANCELED, "%s: got %s", p->name, cio_errname(w.rc));
    cr_expect_eq(w.next_rc, CIO_ECANCELED, "%s", p->name);
    if (p->give != NULL) {
        p->give(&f);
        check_consistent(&f, "after cancel");
    }
    cio_group_free(g);
    fx_free(&f);
    return 0;
}

Test(sync, each_blocking_call_is_canceled_while_parked)
{
    for (size_t i = 0; i < COUNTOF(prims); i++)
        cr_expect_eq(run(cancel_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
}

static int precanceled_main(void *arg)
{
    const struct prim *p = arg;

    for (int avail = 0; avail <= 1; avail++) {
        struct fx f = {.p = p};
        struct waiter w = {.f = &f, .deadline = CIO_NEVER};
        cio_group *g;

        p->setup(&f);
        if (avail && p->give != NULL)
            p->give(&f); /* even a call that would not block fails */
        CIO_ASSERT_RC(cio_group_new(&g), 0);
        start(g, &w, NULL);
        cio_group_cancel(g); /* before the task first runs */
        CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
        cr_expect_eq(w.rc, CIO_ECANCELED, "%s avail=%d: got %s", p->name, avail,
                     cio_errname(w.rc));
        cr_expect_eq(f.ok, 0, "%s", p->name);
        if (avail && p->give != NULL)
            check_consistent(&f, "pre-canceled");
        cio_group_free(g);
        fx_free(&f);
    }
    return 0;
}

Test(sync, each_blocking_call_fails_at_once_when_already_canceled)
{
    for (size_t i = 0; i < COUNTOF(prims); i++)
        cr_expect_eq(run(precanceled_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
}

/* ---- the races */

/* The waiter's deadline and main's release fall in the same loop turn. */
static int same_turn_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f};
    cio_group *g;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    w.deadline = cio_after(30);
    start(g, &w, NULL);
    CIO_ASSERT_RC(cio_sleep(w.deadline), 0);
    p->give(&f);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect(w.rc == 0 || w.rc == CIO_ETIMEDOUT, "%s: got %s", p->name,
              cio_errname(w.rc));
    cr_expect_eq(f.ok, w.rc == 0, "%s", p->name);
    check_consistent(&f, "timeout in the release turn");
    cio_group_free(g);
    fx_free(&f);
    return 0;
}

Test(sync, timeout_in_the_release_turn_loses_nothing)
{
    for (size_t i = 0; i < COUNTOF(prims); i++) {
        if (prims[i].give == NULL)
            continue;
        cr_expect_eq(run(same_turn_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
    }
}

/*
 * Released, then the deadline passes (and the loop runs its timers) before
 * the waiter resumes: the hand-off stands, the waiter succeeds.
 */
static int late_resume_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f};
    cio_group *g;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    w.deadline = cio_after(50);
    start(g, &w, NULL);
    settle();
    cr_assert_eq(w.done, 0, "%s: did not block", p->name);
    p->give(&f);
    while (cio__clock_ms() <= w.deadline)
        ; /* bounded: 50 ms of loop clock */
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(w.rc, 0);
    cr_expect_eq(f.ok, 1, "%s", p->name);
    check_consistent(&f, "late resume");
    cio_group_free(g);
    fx_free(&f);
    return 0;
}

Test(sync, release_wins_over_a_deadline_passing_before_resume)
{
    for (size_t i = 0; i < COUNTOF(prims); i++) {
        if (prims[i].give == NULL)
            continue;
        cr_expect_eq(run(late_resume_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
    }
}

/* Released, then canceled in the same turn: the waiter keeps what it got,
 * and its next blocking call fails. */
static int give_then_cancel_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f, .deadline = CIO_NEVER};
    cio_group *g;
    cio_task *h;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    start(g, &w, &h);
    settle();
    cr_assert_eq(w.done, 0, "%s: did not block", p->name);
    p->give(&f);
    cio_task_cancel(h);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(w.rc, 0, "%s: got %s", p->name, cio_errname(w.rc));
    cr_expect_eq(w.next_rc, CIO_ECANCELED, "%s", p->name);
    check_consistent(&f, "give then cancel");
    cio_group_free(g);
    fx_free(&f);
    return 0;
}

Test(sync, release_then_cancel_in_one_turn_keeps_the_unit)
{
    for (size_t i = 0; i < COUNTOF(prims); i++) {
        if (prims[i].give == NULL)
            continue;
        cr_expect_eq(run(give_then_cancel_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
    }
}

/* Two waiters; the first leaves (canceled, then one times out); a single
 * release goes to the one still waiting. */
static int next_in_line_main(void *arg)
{
    const struct prim *p = arg;

    for (int how = 0; how < 2; how++) {
        struct fx f = {.p = p};
        struct waiter a = {.f = &f,
                           .deadline = how ? cio_after(20) : CIO_NEVER};
        struct waiter b = {.f = &f, .deadline = CIO_NEVER};
        cio_group *ga, *gb;

        p->setup(&f);
        CIO_ASSERT_RC(cio_group_new(&ga), 0);
        CIO_ASSERT_RC(cio_group_new(&gb), 0);
        start(ga, &a, NULL);
        settle();
        start(gb, &b, NULL);
        settle();
        if (how == 0)
            cio_group_cancel(ga);
        CIO_ASSERT_RC(cio_group_wait(ga, cio_after(5000)), 0);
        cr_expect_eq(a.rc, how ? CIO_ETIMEDOUT : CIO_ECANCELED, "%s: a got %s",
                     p->name, cio_errname(a.rc));
        cr_expect_eq(b.done, 0, "%s", p->name);
        p->give(&f);
        CIO_ASSERT_RC(cio_group_wait(gb, cio_after(5000)), 0);
        cr_expect_eq(b.rc, 0, "%s how=%d: b got %s", p->name, how,
                     cio_errname(b.rc));
        check_consistent(&f, "next in line");
        cio_group_free(ga);
        cio_group_free(gb);
        fx_free(&f);
    }
    return 0;
}

Test(sync, release_skips_waiters_that_left)
{
    for (size_t i = 0; i < COUNTOF(prims); i++) {
        if (prims[i].give == NULL)
            continue;
        cr_expect_eq(run(next_in_line_main, (void *)&prims[i]), 0, "%s",
                     prims[i].name);
    }
}

/* ---- non-task callers */

struct objs {
    cio_mutex *m;
    cio_cond *c;
    cio_event *e;
    cio_sem *s;
    cio_barrier *b;
    cio_chan *ch;
    int rc[7];
    int ran;
};

static void objs_new(struct objs *o)
{
    cr_assert_eq(cio_mutex_new(&o->m), 0);
    cr_assert_eq(cio_cond_new(&o->c), 0);
    cr_assert_eq(cio_event_new(&o->e), 0);
    cr_assert_eq(cio_sem_new(&o->s, 5), 0);
    cr_assert_eq(cio_barrier_new(&o->b, 1), 0);
    cr_assert_eq(cio_chan_new(&o->ch, sizeof(int), 4), 0);
}

static void objs_call(void *arg)
{
    struct objs *o = arg;
    int v = 1;
    /* every one of these would succeed at once inside a task */
    o->rc[0] = cio_mutex_lock(o->m, CIO_NEVER);
    o->rc[1] = cio_cond_wait(o->c, o->m, CIO_NEVER);
    o->rc[2] = cio_event_wait(o->e, CIO_NEVER);
    o->rc[3] = cio_sem_acquire(o->s, CIO_NEVER);
    o->rc[4] = cio_barrier_wait(o->b, CIO_NEVER);
    o->rc[5] = cio_chan_send(o->ch, &v, CIO_NEVER);
    o->rc[6] = cio_chan_recv(o->ch, &v, CIO_NEVER);
    o->ran = 1;
}

static void objs_check(struct objs *o, const char *where)
{
    for (int i = 0; i < 7; i++)
        cr_expect_eq(o->rc[i], CIO_EINVAL, "%s: call %d got %s", where, i,
                     cio_errname(o->rc[i]));
    cr_expect_eq(cio_sem_value(o->s), 5u, "%s", where);
    cr_expect_eq(cio_mutex_trylock(o->m), 0, "%s", where);
    cio_mutex_unlock(o->m);
    cio_cond_free(o->c);
    cio_mutex_free(o->m);
    cio_event_free(o->e);
    cio_sem_free(o->s);
    cio_barrier_free(o->b);
    cio_chan_free(o->ch);
}

static int from_callback_main(void *arg)
{
    struct objs *o = arg;
    objs_new(o);
    cio_event_set(o->e);
    CIO_ASSERT_RC(cio_loop_post(cio_loop_current(), objs_call, o), 0);
    for (int i = 0; i < 100 && !o->ran; i++)
        cio_sleep(cio_after(1));
    cr_assert(o->ran);
    return 0;
}

Test(sync, blocking_calls_outside_a_task_are_einval)
{
    struct objs o = {0};
    objs_new(&o);
    cio_event_set(o.e);
    objs_call(&o); /* no loop at all */
    objs_check(&o, "no loop");

    struct objs o2 = {0};
    cr_assert_eq(run(from_callback_main, &o2), 0);
    objs_check(&o2, "loop callback");
}

/* ---- free with waiters is a programming error */

static int free_with_waiter_main(void *arg)
{
    const struct prim *p = arg;
    struct fx f = {.p = p};
    struct waiter w = {.f = &f, .deadline = CIO_NEVER};
    cio_group *g;

    p->setup(&f);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    start(g, &w, NULL);
    settle();
    fx_free(&f); /* aborts */
    return 0;
}

#define FREE_ABORTS(i, nm)                                                     \
    Test(sync, free_with_waiter_aborts_##nm, .signal = SIGABRT)                \
    {                                                                          \
        cio_run(free_with_waiter_main, (void *)&prims[i]);                     \
    }
FREE_ABORTS(0, mutex)
FREE_ABORTS(1, cond)
FREE_ABORTS(2, event)
FREE_ABORTS(3, sem)
FREE_ABORTS(4, barrier)
FREE_ABORTS(5, chan_recv)
FREE_ABORTS(7, chan_send)

/* ================================================================ mutex */

struct lockers {
    cio_mutex *m;
    struct log log;
    int inside, max_inside;
};

struct locker {
    struct lockers *ls;
    int id;
};

static void locker_fn(void *arg)
{
    struct locker *k = arg;
    struct lockers *ls = k->ls;
    CIO_ASSERT_RC(cio_mutex_lock(ls->m, CIO_NEVER), 0);
    if (++ls->inside > ls->max_inside)
        ls->max_inside = ls->inside;
    log_add(&ls->log, k->id);
    cio_yield(); /* hold it across a switch */
    ls->inside--;
    cio_mutex_unlock(ls->m);
}

static int mutex_main(void *arg)
{
    struct lockers *ls = arg;
    struct locker k[5];
    cio_group *g;

    cr_assert_eq(cio_mutex_new(&ls->m), 0);
    CIO_EXPECT_RC(cio_mutex_trylock(ls->m), 0);
    CIO_EXPECT_RC(cio_mutex_trylock(ls->m), CIO_EBUSY);
    CIO_EXPECT_RC(cio_mutex_lock(ls->m, CIO_NEVER), CIO_EDEADLOCK);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 5; i++) {
        k[i] = (struct locker){ls, i};
        CIO_ASSERT_RC(cio_go(g, locker_fn, &k[i]), 0);
        cio_yield(); /* queue them in id order */
    }
    cio_mutex_unlock(ls->m);
    /* handed to locker 0: nobody can barge in, not even the unlocker */
    CIO_EXPECT_RC(cio_mutex_trylock(ls->m), CIO_EBUSY);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(cio_mutex_trylock(ls->m), 0);
    cio_mutex_unlock(ls->m);
    cio_group_free(g);
    cio_mutex_free(ls->m);
    return 0;
}

Test(mutex, fifo_hand_off_and_exclusion)
{
    struct lockers ls = {0};
    cr_assert_eq(run(mutex_main, &ls), 0);
    int want[] = {0, 1, 2, 3, 4};
    expect_log(&ls.log, want, 5);
    cr_expect_eq(ls.max_inside, 1);
}

static void bad_unlock(void *arg)
{
    cio_mutex_unlock(arg);
}

static int bad_unlock_main(void *arg)
{
    cio_mutex *m;
    cio_group *g;
    (void)arg;
    cr_assert_eq(cio_mutex_new(&m), 0);
    CIO_ASSERT_RC(cio_mutex_trylock(m), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, bad_unlock, m), 0);
    cio_group_wait(g, cio_after(5000));
    return 0;
}

Test(mutex, unlock_by_non_owner_aborts, .signal = SIGABRT)
{
    cio_run(bad_unlock_main, NULL);
}

/* ================================================================ cond */

struct cv {
    cio_mutex *m;
    cio_cond *c;
    int ready; /* the predicate */
    int woken;
    struct log log;
};

struct cv_waiter {
    struct cv *cv;
    int id;
    int rc;
};

static void cv_waiter_fn(void *arg)
{
    struct cv_waiter *w = arg;
    struct cv *cv = w->cv;
    CIO_ASSERT_RC(cio_mutex_lock(cv->m, CIO_NEVER), 0);
    while (cv->ready == 0) {
        w->rc = cio_cond_wait(cv->c, cv->m, cio_after(5000));
        if (w->rc < 0)
            break;
    }
    if (w->rc == 0) {
        cv->ready--; /* consume one */
        cv->woken++;
        log_add(&cv->log, w->id);
    }
    cio_mutex_unlock(cv->m);
}

static int cond_main(void *arg)
{
    struct cv *cv = arg;
    struct cv_waiter w[4];
    cio_group *g;

    cr_assert_eq(cio_mutex_new(&cv->m), 0);
    cr_assert_eq(cio_cond_new(&cv->c), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct cv_waiter){cv, i, 1};
        CIO_ASSERT_RC(cio_go(g, cv_waiter_fn, &w[i]), 0);
    }
    settle();
    cr_expect_eq(cv->woken, 0);

    /* signal wakes exactly one, the first */
    CIO_ASSERT_RC(cio_mutex_lock(cv->m, CIO_NEVER), 0);
    cv->ready = 1;
    cio_cond_signal(cv->c);
    cio_mutex_unlock(cv->m);
    settle();
    cr_expect_eq(cv->woken, 1);

    /* broadcast wakes the other three, in order */
    CIO_ASSERT_RC(cio_mutex_lock(cv->m, CIO_NEVER), 0);
    cv->ready = 3;
    cio_cond_broadcast(cv->c);
    cio_mutex_unlock(cv->m);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(cv->woken, 4);
    for (int i = 0; i < 4; i++)
        CIO_EXPECT_RC(w[i].rc, 0);
    cio_group_free(g);
    cio_cond_free(cv->c);
    cio_mutex_free(cv->m);
    return 0;
}

Test(cond, signal_wakes_one_broadcast_wakes_all_fifo)
{
    struct cv cv = {0};
    cr_assert_eq(run(cond_main, &cv), 0);
    int want[] = {0, 1, 2, 3};
    expect_log(&cv.log, want, 4);
}

/* A canceled (or timed-out) cond_wait returns only once it holds the mutex
 * again, even if another task holds it for a while. */
struct relock {
    cio_mutex *m;
    cio_cond *c;
    struct log log;
    int rc;
    cio_time deadline;
};

static void relock_waiter(void *arg)
{
    struct relock *r = arg;
    CIO_ASSERT_RC(cio_mutex_lock(r->m, CIO_NEVER), 0);
    r->rc = cio_cond_wait(r->c, r->m, r->deadline);
    log_add(&r->log, 2); /* returned */
    cr_expect_eq(cio_mutex_trylock(r->m), CIO_EBUSY, "not relocked");
    cio_mutex_unlock(r->m); /* aborts unless we own it */
}

static int relock_main(void *arg)
{
    struct relock *r = arg;
    cio_group *g;

    for (int how = 0; how < 2; how++) {
        r->log.n = 0;
        r->deadline = how ? cio_after(20) : CIO_NEVER;
        cr_assert_eq(cio_mutex_new(&r->m), 0);
        cr_assert_eq(cio_cond_new(&r->c), 0);
        CIO_ASSERT_RC(cio_group_new(&g), 0);
        CIO_ASSERT_RC(cio_go(g, relock_waiter, r), 0);
        settle();
        CIO_ASSERT_RC(cio_mutex_lock(r->m, CIO_NEVER), 0);
        if (how == 0)
            cio_group_cancel(g);
        else
            cio_sleep(r->deadline + 10);
        settle();
        log_add(&r->log, 1); /* main still holds m */
        cio_mutex_unlock(r->m);
        CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
        CIO_EXPECT_RC(r->rc, how ? CIO_ETIMEDOUT : CIO_ECANCELED);
        int want[] = {1, 2};
        expect_log(&r->log, want, 2);
        cio_group_free(g);
        cio_cond_free(r->c);
        cio_mutex_free(r->m);
    }
    return 0;
}

Test(cond, wait_relocks_after_cancel_and_timeout)
{
    struct relock r = {0};
    cr_assert_eq(run(relock_main, &r), 0);
}

/* An expired deadline fails before unlocking: a contended mutex is not
 * handed to the next locker (which would make the caller wait to relock). */
static void cv_locker(void *arg)
{
    struct relock *r = arg;
    CIO_ASSERT_RC(cio_mutex_lock(r->m, CIO_NEVER), 0);
    log_add(&r->log, 2);
    cio_mutex_unlock(r->m);
}

static int expired_main(void *arg)
{
    struct relock *r = arg;
    cio_group *g;

    cr_assert_eq(cio_mutex_new(&r->m), 0);
    cr_assert_eq(cio_cond_new(&r->c), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_mutex_lock(r->m, CIO_NEVER), 0);
    CIO_ASSERT_RC(cio_go(g, cv_locker, r), 0);
    settle(); /* the locker waits for m */
    CIO_EXPECT_RC(cio_cond_wait(r->c, r->m, cio_now()), CIO_ETIMEDOUT);
    log_add(&r->log, 1); /* we kept m throughout */
    cio_mutex_unlock(r->m);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    cio_cond_free(r->c);
    cio_mutex_free(r->m);
    return 0;
}

Test(cond, expired_deadline_keeps_the_mutex)
{
    struct relock r = {0};
    cr_assert_eq(run(expired_main, &r), 0);
    int want[] = {1, 2};
    expect_log(&r.log, want, 2);
}

/* ================================================================ event */

struct evs {
    cio_event *e;
    struct log log;
};

struct ev_waiter {
    struct evs *es;
    int id;
};

static void ev_waiter_fn(void *arg)
{
    struct ev_waiter *w = arg;
    CIO_ASSERT_RC(cio_event_wait(w->es->e, cio_after(5000)), 0);
    log_add(&w->es->log, w->id);
}

static int event_main(void *arg)
{
    struct evs *es = arg;
    struct ev_waiter w[3];
    cio_group *g;

    cr_assert_eq(cio_event_new(&es->e), 0);
    cr_expect_eq(cio_event_is_set(es->e), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 3; i++) {
        w[i] = (struct ev_waiter){es, i};
        CIO_ASSERT_RC(cio_go(g, ev_waiter_fn, &w[i]), 0);
    }
    settle();
    cr_expect_eq(es->log.n, 0);
    cio_event_set(es->e);
    cio_event_clear(es->e); /* the waiters were woken already: still succeed */
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cr_expect_eq(cio_event_is_set(es->e), 0);
    CIO_EXPECT_RC(cio_event_wait(es->e, cio_now()), CIO_ETIMEDOUT);
    cio_event_set(es->e);
    cr_expect_neq(cio_event_is_set(es->e), 0);
    CIO_EXPECT_RC(cio_event_wait(es->e, CIO_NEVER), 0); /* set: no wait */
    CIO_EXPECT_RC(cio_event_wait(es->e, cio_now()), 0);
    cio_group_free(g);
    cio_event_free(es->e);
    return 0;
}

Test(event, set_wakes_all_waiters_in_order)
{
    struct evs es = {0};
    cr_assert_eq(run(event_main, &es), 0);
    int want[] = {0, 1, 2};
    expect_log(&es.log, want, 3);
}

/* ================================================================ semaphore */

struct sems {
    cio_sem *s;
    struct log log;
};

struct sem_waiter {
    struct sems *ss;
    int id;
};

static void sem_waiter_fn(void *arg)
{
    struct sem_waiter *w = arg;
    CIO_ASSERT_RC(cio_sem_acquire(w->ss->s, cio_after(5000)), 0);
    log_add(&w->ss->log, w->id);
}

static int sem_main(void *arg)
{
    struct sems *ss = arg;
    struct sem_waiter w[4];
    cio_group *g;

    cr_assert_eq(cio_sem_new(&ss->s, 2), 0);
    cr_expect_eq(cio_sem_value(ss->s), 2u);
    CIO_EXPECT_RC(cio_sem_tryacquire(ss->s), 0);
    CIO_EXPECT_RC(cio_sem_acquire(ss->s, cio_now()), 0); /* no wait needed */
    CIO_EXPECT_RC(cio_sem_tryacquire(ss->s), CIO_EBUSY);
    CIO_EXPECT_RC(cio_sem_acquire(ss->s, cio_now()), CIO_ETIMEDOUT);
    cr_expect_eq(cio_sem_value(ss->s), 0u);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct sem_waiter){ss, i};
        CIO_ASSERT_RC(cio_go(g, sem_waiter_fn, &w[i]), 0);
        cio_yield();
    }
    settle();
    cr_expect_eq(ss->log.n, 0);
    for (int i = 0; i < 4; i++) {
        cio_sem_release(ss->s);
        /* handed over: the count never shows the permit */
        cr_expect_eq(cio_sem_value(ss->s), 0u);
        CIO_EXPECT_RC(cio_sem_tryacquire(ss->s), CIO_EBUSY);
    }
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_sem_release(ss->s);
    cio_sem_release(ss->s);
    cr_expect_eq(cio_sem_value(ss->s), 2u);
    cio_group_free(g);
    cio_sem_free(ss->s);
    return 0;
}

Test(sem, counts_and_serves_waiters_fifo)
{
    struct sems ss = {0};
    cr_assert_eq(run(sem_main, &ss), 0);
    int want[] = {0, 1, 2, 3};
    expect_log(&ss.log, want, 4);
}

/* ================================================================ barrier */

struct bars {
    cio_barrier *b;
    int idx[16];
    int rc[16];
};

struct bar_party {
    struct bars *bs;
    int id;
    int delay; /* turns to wait before arriving */
    cio_time deadline;
};

static void bar_party_fn(void *arg)
{
    struct bar_party *p = arg;
    for (int i = 0; i < p->delay; i++)
        cio_yield();
    int rc = cio_barrier_wait(p->bs->b, p->deadline);
    p->bs->rc[p->id] = rc < 0 ? rc : 0;
    p->bs->idx[p->id] = rc;
}

static void expect_permutation(const int *idx, int n, const char *what)
{
    int seen[16] = {0};
    for (int i = 0; i < n; i++) {
        cr_expect(idx[i] >= 0 && idx[i] < n, "%s: party %d got %d", what, i,
                  idx[i]);
        if (idx[i] >= 0 && idx[i] < n)
            seen[idx[i]]++;
    }
    for (int i = 0; i < n; i++)
        cr_expect_eq(seen[i], 1, "%s: index %d given %d times", what, i,
                     seen[i]);
}

static int barrier_main(void *arg)
{
    struct bars *bs = arg;
    struct bar_party p[4];
    cio_group *g;

    CIO_EXPECT_RC(cio_barrier_new(&bs->b, 0), CIO_EINVAL);
    cr_assert_eq(cio_barrier_new(&bs->b, 4), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int cycle = 0; cycle < 3; cycle++) {
        for (int i = 0; i < 4; i++) {
            /* arrive in the order 3, 1, 0, 2 */
            static const int delay[4] = {2, 1, 3, 0};
            p[i] = (struct bar_party){bs, i, delay[i], cio_after(5000)};
            bs->idx[i] = -1;
            CIO_ASSERT_RC(cio_go(g, bar_party_fn, &p[i]), 0);
        }
        CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
        expect_permutation(bs->idx, 4, "cycle");
        /* arrival order */
        cr_expect_eq(bs->idx[3], 0);
        cr_expect_eq(bs->idx[1], 1);
        cr_expect_eq(bs->idx[0], 2);
        cr_expect_eq(bs->idx[2], 3);
    }
    cio_group_free(g);
    cio_barrier_free(bs->b);

    cr_assert_eq(cio_barrier_new(&bs->b, 1), 0);
    CIO_EXPECT_RC(cio_barrier_wait(bs->b, CIO_NEVER), 0);
    CIO_EXPECT_RC(cio_barrier_wait(bs->b, cio_now()), 0);
    cio_barrier_free(bs->b);
    return 0;
}

Test(barrier, releases_every_cycle_with_arrival_indices)
{
    struct bars bs = {0};
    cr_assert_eq(run(barrier_main, &bs), 0);
}

/* A waiter that leaves no longer counts: with 3 parties, one timeout and one
 * cancellation, the barrier still needs three live arrivals. */
static int barrier_leave_main(void *arg)
{
    struct bars *bs = arg;
    struct bar_party p[5];
    cio_group *g, *gc;

    cr_assert_eq(cio_barrier_new(&bs->b, 3), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_group_new(&gc), 0);
    for (int i = 0; i < 5; i++)
        p[i] = (struct bar_party){bs, i, 0, CIO_NEVER};
    p[0].deadline = cio_after(20);
    CIO_ASSERT_RC(cio_go(g, bar_party_fn, &p[0]), 0);  /* will time out */
    CIO_ASSERT_RC(cio_go(gc, bar_party_fn, &p[1]), 0); /* will be canceled */
    settle();
    cio_group_cancel(gc);
    CIO_ASSERT_RC(cio_group_wait(gc, cio_after(5000)), 0);
    CIO_EXPECT_RC(bs->rc[1], CIO_ECANCELED);
    cio_sleep(p[0].deadline + 5);
    CIO_EXPECT_RC(bs->rc[0], CIO_ETIMEDOUT);
    cr_expect_eq(cio_group_count(g), 0);
    /* nobody waits now: two more arrivals must not release */
    CIO_ASSERT_RC(cio_go(g, bar_party_fn, &p[2]), 0);
    CIO_ASSERT_RC(cio_go(g, bar_party_fn, &p[3]), 0);
    settle();
    cr_expect_eq(cio_group_count(g), 2, "released too early");
    CIO_ASSERT_RC(cio_go(g, bar_party_fn, &p[4]), 0);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    int idx[3] = {bs->idx[2], bs->idx[3], bs->idx[4]};
    cr_expect_eq(idx[0], 0);
    cr_expect_eq(idx[1], 1);
    cr_expect_eq(idx[2], 2);
    cio_group_free(g);
    cio_group_free(gc);
    cio_barrier_free(bs->b);
    return 0;
}

Test(barrier, leaving_waiters_do_not_count)
{
    struct bars bs = {0};
    cr_assert_eq(run(barrier_leave_main, &bs), 0);
}

/* ================================================================ channel */

static int chan_basic_main(void *arg)
{
    cio_chan *ch;
    int v;
    (void)arg;

    CIO_EXPECT_RC(cio_chan_new(&ch, 0, 4), CIO_EINVAL);
    CIO_EXPECT_RC(cio_chan_new(&ch, 8, SIZE_MAX / 4), CIO_EINVAL);
    cr_assert_eq(cio_chan_new(&ch, sizeof(int), 3), 0);
    for (v = 0; v < 3; v++)
        CIO_EXPECT_RC(cio_chan_send(ch, &v, cio_now()), 0);
    CIO_EXPECT_RC(cio_chan_send(ch, &v, cio_now()), CIO_ETIMEDOUT); /* full */
    /* wrap around the ring a few times */
    for (int i = 0; i < 10; i++) {
        int got = -1;
        CIO_EXPECT_RC(cio_chan_recv(ch, &got, cio_now()), 0);
        cr_expect_eq(got, i);
        v = i + 3;
        CIO_EXPECT_RC(cio_chan_send(ch, &v, cio_now()), 0);
    }
    cio_chan_close(ch);
    CIO_EXPECT_RC(cio_chan_send(ch, &v, CIO_NEVER), CIO_ECLOSED);
    for (int i = 10; i < 13; i++) {
        int got = -1;
        CIO_EXPECT_RC(cio_chan_recv(ch, &got, CIO_NEVER), 0); /* drains */
        cr_expect_eq(got, i);
    }
    v = -1;
    CIO_EXPECT_RC(cio_chan_recv(ch, &v, CIO_NEVER), CIO_ECLOSED);
    cr_expect_eq(v, -1);
    cio_chan_close(ch); /* idempotent */
    cio_chan_free(ch);
    return 0;
}

Test(chan, buffered_fifo_close_and_drain)
{
    cr_assert_eq(run(chan_basic_main, NULL), 0);
}

/* Blocked senders keep their order when room appears; close wakes blocked
 * senders and receivers with CIO_ECLOSED. */
struct chs {
    cio_chan *ch;
    struct log log;
};

struct ch_task {
    struct chs *cs;
    int v;
    int rc;
};

static void sender_fn(void *arg)
{
    struct ch_task *t = arg;
    log_add(&t->cs->log, 100 + t->v); /* send starts */
    t->rc = cio_chan_send(t->cs->ch, &t->v, cio_after(5000));
    log_add(&t->cs->log, 200 + t->v); /* send done */
}

static void receiver_fn(void *arg)
{
    struct ch_task *t = arg;
    t->v = -1;
    t->rc = cio_chan_recv(t->cs->ch, &t->v, cio_after(5000));
    log_add(&t->cs->log, 300 + t->v);
}

static int chan_block_main(void *arg)
{
    struct chs *cs = arg;
    struct ch_task s[3], r[2];
    cio_group *g;
    int v;

    cr_assert_eq(cio_chan_new(&cs->ch, sizeof(int), 1), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    v = 0;
    CIO_ASSERT_RC(cio_chan_send(cs->ch, &v, CIO_NEVER), 0);
    for (int i = 0; i < 3; i++) {
        s[i] = (struct ch_task){cs, i + 1, 1};
        CIO_ASSERT_RC(cio_go(g, sender_fn, &s[i]), 0);
        cio_yield();
    }
    settle();
    for (int i = 0; i < 3; i++) {
        v = -1;
        CIO_EXPECT_RC(cio_chan_recv(cs->ch, &v, cio_now()), 0);
        cr_expect_eq(v, i, "values out of send order");
        settle();
    }
    /* 3 is buffered now; two receivers: one gets it, the other blocks */
    for (int i = 0; i < 2; i++) {
        r[i] = (struct ch_task){cs, 0, 1};
        CIO_ASSERT_RC(cio_go(g, receiver_fn, &r[i]), 0);
    }
    settle();
    cio_chan_close(cs->ch);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    for (int i = 0; i < 3; i++)
        CIO_EXPECT_RC(s[i].rc, 0);
    CIO_EXPECT_RC(r[0].rc, 0);
    cr_expect_eq(r[0].v, 3);
    CIO_EXPECT_RC(r[1].rc, CIO_ECLOSED);
    cr_expect_eq(r[1].v, -1);
    cio_chan_free(cs->ch);

    /* a sender blocked on a full channel fails when it is closed */
    cr_assert_eq(cio_chan_new(&cs->ch, sizeof(int), 1), 0);
    CIO_ASSERT_RC(cio_chan_send(cs->ch, &v, CIO_NEVER), 0);
    s[0] = (struct ch_task){cs, 9, 1};
    CIO_ASSERT_RC(cio_go(g, sender_fn, &s[0]), 0);
    settle();
    cio_chan_close(cs->ch);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(s[0].rc, CIO_ECLOSED);
    cio_group_free(g);
    cio_chan_free(cs->ch);
    return 0;
}

Test(chan, blocked_senders_keep_order_and_close_wakes_all)
{
    struct chs cs = {0};
    cr_assert_eq(run(chan_block_main, &cs), 0);
    int want[] = {101, 102, 103, 201, 202, 203, 303, 299, 109, 209};
    expect_log(&cs.log, want, (int)COUNTOF(want));
}

/* Unbuffered: a send completes only once a receiver has taken the value. */
static int rendezvous_main(void *arg)
{
    struct chs *cs = arg;
    struct ch_task s, r;
    cio_group *g;
    int v = 5;

    cr_assert_eq(cio_chan_new(&cs->ch, sizeof(int), 0), 0);
    CIO_EXPECT_RC(cio_chan_send(cs->ch, &v, cio_now()), CIO_ETIMEDOUT);
    CIO_EXPECT_RC(cio_chan_recv(cs->ch, &v, cio_now()), CIO_ETIMEDOUT);
    CIO_ASSERT_RC(cio_group_new(&g), 0);

    /* sender first: it blocks until the receiver comes */
    s = (struct ch_task){cs, 1, 1};
    CIO_ASSERT_RC(cio_go(g, sender_fn, &s), 0);
    settle();
    log_add(&cs->log, 0); /* sender still blocked */
    r = (struct ch_task){cs, 0, 1};
    CIO_ASSERT_RC(cio_go(g, receiver_fn, &r), 0);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(s.rc, 0);
    CIO_EXPECT_RC(r.rc, 0);
    cr_expect_eq(r.v, 1);

    /* receiver first: the send completes without blocking */
    r = (struct ch_task){cs, 0, 1};
    CIO_ASSERT_RC(cio_go(g, receiver_fn, &r), 0);
    settle();
    log_add(&cs->log, 0);
    v = 2;
    CIO_EXPECT_RC(cio_chan_send(cs->ch, &v, cio_now()), 0);
    log_add(&cs->log, 1);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(r.rc, 0);
    cr_expect_eq(r.v, 2);

    /* close wakes a sender blocked on an unbuffered channel */
    s = (struct ch_task){cs, 3, 1};
    CIO_ASSERT_RC(cio_go(g, sender_fn, &s), 0);
    settle();
    cio_chan_close(cs->ch);
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    CIO_EXPECT_RC(s.rc, CIO_ECLOSED);
    CIO_EXPECT_RC(cio_chan_recv(cs->ch, &v, CIO_NEVER), CIO_ECLOSED);
    cio_group_free(g);
    cio_chan_free(cs->ch);
    return 0;
}

Test(chan, unbuffered_rendezvous)
{
    struct chs cs = {0};
    cr_assert_eq(run(rendezvous_main, &cs), 0);
    int want[] = {101, 0, 301, 201, 0, 1, 302, 103, 203};
    expect_log(&cs.log, want, (int)COUNTOF(want));
}

/* Senders blocked on an unbuffered channel are served in arrival order. */
static int unbuffered_fifo_main(void *arg)
{
    struct chs *cs = arg;
    struct ch_task s[3];
    cio_group *g;

    cr_assert_eq(cio_chan_new(&cs->ch, sizeof(int), 0), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 3; i++) {
        s[i] = (struct ch_task){cs, i + 1, 1};
        CIO_ASSERT_RC(cio_go(g, sender_fn, &s[i]), 0);
        cio_yield();
    }
    settle();
    for (int i = 0; i < 3; i++) {
        int v = -1;
        CIO_EXPECT_RC(cio_chan_recv(cs->ch, &v, cio_now()), 0);
        cr_expect_eq(v, i + 1, "receive %d took sender %d's value", i, v);
    }
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    cio_chan_free(cs->ch);
    return 0;
}

Test(chan, unbuffered_senders_fifo)
{
    struct chs cs = {0};
    cr_assert_eq(run(unbuffered_fifo_main, &cs), 0);
}

/* Many producers and consumers through a small channel: every value arrives
 * exactly once; with one consumer, each producer's values arrive in order. */
#define NPROD 4
#define PER 200

struct mpmc {
    cio_chan *ch;
    unsigned char seen[NPROD][PER];
    int last[NPROD];
    int count[NPROD];
    int bad;
    int ordered; /* one consumer: check per-producer order */
};

struct prod {
    struct mpmc *mc;
    int id;
};

static void producer(void *arg)
{
    struct prod *p = arg;
    for (int i = 0; i < PER; i++) {
        int v = p->id * 10000 + i;
        CIO_ASSERT_RC(cio_chan_send(p->mc->ch, &v, cio_after(5000)), 0);
        if (i % 7 == 0)
            cio_yield();
    }
}

static void consumer(void *arg)
{
    struct mpmc *mc = arg;
    int v;
    while (cio_chan_recv(mc->ch, &v, cio_after(5000)) == 0) {
        int id = v / 10000, i = v % 10000;
        if (id < 0 || id >= NPROD || i >= PER || mc->seen[id][i]++ != 0) {
            mc->bad++;
            continue;
        }
        if (mc->ordered && i != mc->last[id] + 1)
            mc->bad++;
        mc->last[id] = i;
        mc->count[id]++;
    }
}

static int mpmc_main(void *arg)
{
    struct mpmc *mc = arg;
    struct prod p[NPROD];
    cio_group *gp, *gc;

    for (int run = 0; run < 6; run++) {
        size_t cap = (size_t)run % 3;
        int ncons = run < 3 ? 1 : 3;
        memset(mc, 0, sizeof(*mc));
        mc->ordered = ncons == 1;
        for (int i = 0; i < NPROD; i++)
            mc->last[i] = -1;
        cr_assert_eq(cio_chan_new(&mc->ch, sizeof(int), cap), 0);
        CIO_ASSERT_RC(cio_group_new(&gp), 0);
        CIO_ASSERT_RC(cio_group_new(&gc), 0);
        for (int i = 0; i < ncons; i++)
            CIO_ASSERT_RC(cio_go(gc, consumer, mc), 0);
        for (int i = 0; i < NPROD; i++) {
            p[i] = (struct prod){mc, i};
            CIO_ASSERT_RC(cio_go(gp, producer, &p[i]), 0);
        }
        CIO_ASSERT_RC(cio_group_wait(gp, cio_after(5000)), 0);
        cio_chan_close(mc->ch);
        CIO_ASSERT_RC(cio_group_wait(gc, cio_after(5000)), 0);
        cr_expect_eq(mc->bad, 0, "cap %zu, %d consumers: bad values", cap,
                     ncons);
        for (int i = 0; i < NPROD; i++)
            cr_expect_eq(mc->count[i], PER, "cap %zu producer %d", cap, i);
        cio_group_free(gp);
        cio_group_free(gc);
        cio_chan_free(mc->ch);
    }
    return 0;
}

Test(chan, many_producers_and_consumers)
{
    struct mpmc mc;
    cr_assert_eq(run(mpmc_main, &mc), 0);
}
