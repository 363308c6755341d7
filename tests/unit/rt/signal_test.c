/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "test.h"

static sigset_t one(int sig)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    return s;
}

static void (*handler_of(int sig))(int)
{
    struct sigaction cur;
    sigaction(sig, NULL, &cur);
    return cur.sa_handler;
}

/* corio's handler is in place for sig (neither default nor the test's). */
static int installed(int sig, void (*other)(int))
{
    void (*h)(int) = handler_of(sig);
    return h != SIG_DFL && h != SIG_IGN && h != other;
}

/* Inside a task: waits (1 ms steps, bounded) until corio's handler is in. */
static int await_installed(int sig, void (*other)(int))
{
    cio_time dl = cio_after(5000);
    while (!installed(sig, other) && cio_now() < dl)
        cio_sleep(cio_after(1));
    return installed(sig, other);
}

/* ------------------------------------------------------------- delivery */

struct waitone {
    int sig; /* to wait for */
    int got;
    cio_time deadline;
};

static void waiter(void *arg)
{
    struct waitone *w = arg;
    sigset_t s = one(w->sig);
    w->got = cio_signal_wait(&s, w->deadline);
}

struct deliver {
    int sig;
    int use_kill;
    int got;
};

static int deliver_main(void *arg)
{
    struct deliver *d = arg;
    struct waitone w = {.sig = d->sig, .deadline = cio_after(5000)};
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, waiter, &w), 0);
    cr_assert(await_installed(d->sig, NULL), "handler for %d not installed",
              d->sig);
    if (d->use_kill)
        kill(getpid(), d->sig);
    else
        raise(d->sig);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    d->got = w.got;
    return 0;
}

Test(signal, raise_and_kill_reach_the_waiting_task)
{
    static const struct {
        int sig;
        int use_kill;
    } cases[] = {
        {SIGUSR1, 0}, {SIGTERM, 1}, {SIGUSR2, 0}, {SIGHUP, 1}, {SIGINT, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct deliver d = {.sig = cases[i].sig, .use_kill = cases[i].use_kill};
        cr_assert_eq(cio_run(deliver_main, &d), 0);
        cr_expect_eq(d.got, cases[i].sig, "case %zu: got %d (%s)", i, d.got,
                     d.got < 0 ? cio_errname(d.got) : "signal");
        cr_expect_eq(handler_of(cases[i].sig), SIG_DFL,
                     "case %zu: disposition not restored", i);
    }
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- errors */

static int timeout_main(void *arg)
{
    sigset_t s = one(SIGUSR2);
    (void)arg;
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_after(30)), CIO_ETIMEDOUT);
    cr_expect_eq(handler_of(SIGUSR2), SIG_DFL);
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_now() - 1), CIO_ETIMEDOUT);
    return 0;
}

Test(signal, deadline_gives_timeout)
{
    cr_assert_eq(cio_run(timeout_main, NULL), 0);
    cr_expect_eq(handler_of(SIGUSR2), SIG_DFL);
    cio_test_no_leaks();
}

static int cancel_main(void *arg)
{
    struct waitone w = {.sig = SIGUSR1, .deadline = cio_after(10000)};
    cio_group *g;
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, waiter, &w), 0);
    cr_assert(await_installed(SIGUSR1, NULL));
    cio_group_cancel(g);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    CIO_EXPECT_RC(w.got, CIO_ECANCELED);
    cr_expect_eq(handler_of(SIGUSR1), SIG_DFL, "restored after cancel");
    return 0;
}

Test(signal, cancel_returns_at_once)
{
    cr_assert_eq(cio_run(cancel_main, NULL), 0);
    cio_test_no_leaks();
}

static int invalid_main(void *arg)
{
    sigset_t s;
    (void)arg;
    sigemptyset(&s);
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_after(10)), CIO_EINVAL);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGSEGV);
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_after(10)), CIO_EINVAL);
    CIO_EXPECT_RC(cio_signal_wait(NULL, cio_after(10)), CIO_EINVAL);
    cr_expect_eq(handler_of(SIGUSR1), SIG_DFL, "nothing installed on EINVAL");
    return 0;
}

Test(signal, unsupported_and_outside_task)
{
    sigset_t s = one(SIGUSR1);
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_after(10)), CIO_EINVAL);
    cr_assert_eq(cio_run(invalid_main, NULL), 0);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- disposition */

static atomic_int user_hits;

static void user_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&user_hits, 1);
}

static int user_main(void *arg)
{
    struct waitone w = {.sig = SIGUSR1, .deadline = cio_after(5000)};
    cio_group *g;
    (void)arg;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, waiter, &w), 0);
    cr_assert(await_installed(SIGUSR1, user_handler));
    raise(SIGUSR1);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    cr_expect_eq(w.got, SIGUSR1);
    return 0;
}

Test(signal, previous_handler_restored_and_not_called)
{
    struct sigaction sa = {0};
    sa.sa_handler = user_handler;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);

    cr_assert_eq(cio_run(user_main, NULL), 0);
    cr_expect_eq(atomic_load(&user_hits), 0,
                 "corio's signal leaked to the user handler");
    cr_expect_eq(handler_of(SIGUSR1), user_handler,
                 "previous handler not restored");
    raise(SIGUSR1);
    cr_expect_eq(atomic_load(&user_hits), 1, "restored handler is not called");
    cio_test_no_leaks();
}

/* ------------------------------------------------------------- pending */

/* Two waiters on one loop for the same signal: each signal wakes one, in
 * the order they started waiting. */
struct pair {
    struct waitone a, b;
};

static int fifo_main(void *arg)
{
    struct pair *p = arg;
    cio_group *g;

    p->a =
        (struct waitone){.sig = SIGUSR2, .deadline = cio_after(5000), .got = 1};
    p->b = p->a;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, waiter, &p->a), 0);
    CIO_ASSERT_RC(cio_go(g, waiter, &p->b), 0);
    cr_assert(await_installed(SIGUSR2, NULL));
    raise(SIGUSR2);
    for (int i = 0; i < 5000 && p->a.got == 1 && p->b.got == 1; i++)
        cio_sleep(cio_after(1));
    cr_expect_eq(p->a.got, SIGUSR2, "the first waiter takes the signal");
    cr_expect_eq(p->b.got, 1, "one signal woke two waiters");
    cr_assert(installed(SIGUSR2, NULL), "b still waits: still installed");
    raise(SIGUSR2);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    cr_expect_eq(p->b.got, SIGUSR2);
    return 0;
}

Test(signal, one_signal_wakes_one_waiter_per_loop)
{
    struct pair p;
    cr_assert_eq(cio_run(fifo_main, &p), 0);
    cio_test_no_leaks();
}

/*
 * Loop A (the test's) has waited for SIGUSR1 once, so it is in the signal
 * table. Loop B (another thread) waits for SIGUSR1, so the handler is in.
 * A raises SIGUSR1 while nobody on A waits: B's waiter gets it, and A keeps
 * it for its next waiter -- which gets it at once even though the handler
 * has been removed by then.
 */
static int b_main(void *arg)
{
    sigset_t s = one(SIGUSR1);
    (void)arg;
    return cio_signal_wait(&s, cio_after(10000));
}

static int kept_main(void *arg)
{
    sigset_t s = one(SIGUSR1);
    cio_thread *b;
    int res = 0;
    (void)arg;

    /* Join the table: an already-passed deadline returns at once. */
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_now() - 1), CIO_ETIMEDOUT);
    CIO_ASSERT_RC(cio_thread_new(&b, b_main, NULL), 0);
    cr_assert(await_installed(SIGUSR1, NULL), "B never waited");
    raise(SIGUSR1);
    CIO_ASSERT_RC(cio_thread_join(b, cio_after(10000), &res), 0);
    cr_expect_eq(res, SIGUSR1, "B: %s", res < 0 ? cio_errname(res) : "signal");
    cr_expect_eq(handler_of(SIGUSR1), SIG_DFL, "nobody waits: restored");
    /* Kept for this loop's next waiter; the deadline bounds a failure. */
    cr_expect_eq(cio_signal_wait(&s, cio_after(2000)), SIGUSR1);
    /* Delivered once only. */
    CIO_EXPECT_RC(cio_signal_wait(&s, cio_after(20)), CIO_ETIMEDOUT);
    return 0;
}

Test(signal, signal_without_waiter_is_kept_for_the_next)
{
    cr_assert_eq(cio_run(kept_main, NULL), 0);
    cio_test_no_leaks();
}

/* A set of several signals returns whichever came. */
struct setwait {
    int got;
};

static void set_waiter(void *arg)
{
    struct setwait *w = arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGWINCH);
    sigaddset(&s, SIGCHLD);
    w->got = cio_signal_wait(&s, cio_after(5000));
}

static int set_run(void *arg)
{
    struct setwait *w = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, set_waiter, w), 0);
    cr_assert(await_installed(SIGWINCH, NULL));
    cr_assert(installed(SIGTERM, NULL) && installed(SIGCHLD, NULL));
    raise(SIGWINCH);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(5000)), 0);
    cio_group_free(g);
    return 0;
}

Test(signal, waits_for_any_of_a_set)
{
    struct setwait w = {0};
    cr_assert_eq(cio_run(set_run, &w), 0);
    cr_expect_eq(w.got, SIGWINCH);
    cr_expect_eq(handler_of(SIGTERM), SIG_DFL);
    cr_expect_eq(handler_of(SIGWINCH), SIG_DFL);
    cr_expect_eq(handler_of(SIGCHLD), SIG_DFL);
    cio_test_no_leaks();
}
