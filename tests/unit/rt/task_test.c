/* SPDX-License-Identifier: MIT */
#include "test.h"

static int ret42(void *arg)
{
    (void)arg;
    return 42;
}

Test(task, run_returns_main_result)
{
    cr_expect_eq(cio_run(ret42, NULL), 42);
}

struct order {
    int log[16];
    int n;
};

static void step(void *arg)
{
    struct order *o = arg;
    o->log[o->n++] = 1;
    cio_yield();
    o->log[o->n++] = 2;
}

static int gather_main(void *arg)
{
    struct order *o = arg;
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 3; i++)
        CIO_ASSERT_RC(cio_go(g, step, o), 0);
    CIO_EXPECT_RC(cio_group_wait(g, CIO_NEVER), 0);
    cio_group_free(g);
    return 0;
}

Test(task, yield_interleaves_in_spawn_order)
{
    struct order o = {0};
    cr_assert_eq(cio_run(gather_main, &o), 0);
    int want[] = {1, 1, 1, 2, 2, 2};
    cr_assert_eq(o.n, 6);
    for (int i = 0; i < 6; i++)
        cr_expect_eq(o.log[i], want[i], "step %d", i);
}

static void sleeper(void *arg)
{
    int *done = arg;
    if (cio_sleep(cio_after(1000)) == 0)
        (*done)++;
}

static int sleep10_main(void *arg)
{
    int *done = arg;
    cio_group *g;
    cio_time t0 = cio_now();
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < 10; i++)
        CIO_ASSERT_RC(cio_go(g, sleeper, done), 0);
    CIO_EXPECT_RC(cio_group_wait(g, CIO_NEVER), 0);
    cio_group_free(g);
    return (int)(cio_now() - t0);
}

Test(task, ten_sleeps_of_one_second_finish_together)
{
    int done = 0;
    int ms = cio_run(sleep10_main, &done);
    cr_expect_eq(done, 10);
    cr_expect(ms >= 1000 && ms < 5000, "took %d ms", ms);
}

static void forever(void *arg)
{
    int *rc = arg;
    *rc = cio_sleep(CIO_NEVER);
}

static int cancel_main(void *arg)
{
    int *rc = arg;
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_go(g, forever, rc), 0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20)), CIO_ETIMEDOUT);
    cio_group_free(g);
    return 0;
}

Test(task, group_free_cancels_sleepers)
{
    int rc = 1;
    cr_assert_eq(cio_run(cancel_main, &rc), 0);
    CIO_EXPECT_RC(rc, CIO_ECANCELED);
}
