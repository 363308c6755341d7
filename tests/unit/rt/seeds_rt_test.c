/* SPDX-License-Identifier: MIT */
/*
 * The seeds' asyncio story, told with the runtime alone:
 *   - asyncio.Semaphore(3) over 10 tasks that each hold it across a sleep
 *     runs them in waves of three;
 *   - asyncio.Barrier(N) releases every waiting task in the same loop turn,
 *     each with its own arrival index.
 * Order and counts only; the loop clock is used for lower bounds that the
 * runtime guarantees, never for tight timing.
 */
#include "test.h"

/* ================================================================ semaphore */

#define NTASKS 10
#define PERMITS 3
#define HOLD_MS 20

struct waves {
    cio_sem *sem;
    int inside, max_inside;
    int ran;
    int released;      /* permits given back so far */
    int order[NTASKS]; /* task ids in acquisition order */
    int norder;
    int wave[NTASKS];        /* released / PERMITS, seen on acquisition */
    cio_time got_at[NTASKS]; /* loop clock on acquisition */
    int rc[NTASKS];
};

struct holder {
    struct waves *w;
    int id;
};

static void holder_fn(void *arg)
{
    struct holder *h = arg;
    struct waves *w = h->w;
    int rc = cio_sem_acquire(w->sem, cio_after(10000));

    w->rc[h->id] = rc;
    if (rc < 0)
        return;
    w->order[w->norder++] = h->id;
    w->wave[h->id] = w->released / PERMITS;
    w->got_at[h->id] = cio_now();
    if (++w->inside > w->max_inside)
        w->max_inside = w->inside;
    cio_sleep(cio_after(HOLD_MS));
    w->inside--;
    w->ran++;
    w->released++;
    cio_sem_release(w->sem);
}

static int waves_main(void *arg)
{
    struct waves *w = arg;
    struct holder h[NTASKS];
    cio_group *g;

    CIO_ASSERT_RC(cio_sem_new(&w->sem, PERMITS), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < NTASKS; i++) {
        h[i] = (struct holder){w, i};
        CIO_ASSERT_RC(cio_go(g, holder_fn, &h[i]), 0);
    }
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cr_expect_eq(cio_sem_value(w->sem), PERMITS, "permits lost or made up");
    cio_group_free(g);
    cio_sem_free(w->sem);
    return 0;
}

Test(seeds_rt, semaphore_of_3_runs_10_tasks_in_waves)
{
    struct waves w = {0};
    cr_assert_eq(cio_run(waves_main, &w), 0);

    cr_expect_eq(w.ran, NTASKS, "all tasks ran");
    cr_expect_eq(w.max_inside, PERMITS, "max concurrency");
    cr_assert_eq(w.norder, NTASKS);
    for (int i = 0; i < NTASKS; i++) {
        CIO_EXPECT_RC(w.rc[i], 0);
        /* first come, first served */
        cr_expect_eq(w.order[i], i, "acquisition %d was task %d", i,
                     w.order[i]);
        /* task i starts in wave i / 3: the whole previous wave has
         * released before it runs */
        cr_expect_eq(w.wave[i], i / PERMITS, "task %d in wave %d", i,
                     w.wave[i]);
    }
    /* a wave starts only after the previous one held for HOLD_MS */
    for (int i = PERMITS; i < NTASKS; i++)
        cr_expect(w.got_at[i] >= w.got_at[i - PERMITS] + HOLD_MS,
                  "task %d got a permit %lld ms after task %d", i,
                  (long long)(w.got_at[i] - w.got_at[i - PERMITS]),
                  i - PERMITS);
}

/* ================================================================ barrier */

#define PARTIES 6

/* A task that runs exactly once per loop turn and counts the turns. */
struct ticker {
    long turns;
    int stop;
};

static void ticker_fn(void *arg)
{
    struct ticker *t = arg;
    while (!t->stop) {
        t->turns++;
        if (cio_yield() < 0)
            break;
    }
}

struct party_log {
    cio_barrier *b;
    struct ticker *tick;
    long arrived_turn[PARTIES];
    long released_turn[PARTIES];
    cio_time released_at[PARTIES];
    int idx[PARTIES];
};

struct party {
    struct party_log *pl;
    int id;
};

static void party_fn(void *arg)
{
    struct party *p = arg;
    struct party_log *pl = p->pl;

    /* party i arrives in the i-th turn after the start */
    for (int i = 0; i < p->id; i++)
        cio_yield();
    pl->arrived_turn[p->id] = pl->tick->turns;
    pl->idx[p->id] = cio_barrier_wait(pl->b, cio_after(10000));
    pl->released_turn[p->id] = pl->tick->turns;
    pl->released_at[p->id] = cio_now();
}

static int barrier_main(void *arg)
{
    struct party_log *pl = arg;
    struct party p[PARTIES];
    cio_group *g, *gt;

    CIO_ASSERT_RC(cio_barrier_new(&pl->b, PARTIES), 0);
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_group_new(&gt), 0);
    CIO_ASSERT_RC(cio_go(gt, ticker_fn, pl->tick), 0);
    for (int i = 0; i < PARTIES; i++) {
        p[i] = (struct party){pl, i};
        CIO_ASSERT_RC(cio_go(g, party_fn, &p[i]), 0);
    }
    CIO_ASSERT_RC(cio_group_wait(g, cio_after(10000)), 0);
    pl->tick->stop = 1;
    CIO_ASSERT_RC(cio_group_wait(gt, cio_after(10000)), 0);
    cio_group_free(g);
    cio_group_free(gt);
    cio_barrier_free(pl->b);
    return 0;
}

Test(seeds_rt, barrier_releases_all_in_one_turn)
{
    struct ticker tick = {0};
    struct party_log pl = {.tick = &tick};
    int seen[PARTIES] = {0};

    cr_assert_eq(cio_run(barrier_main, &pl), 0);
    for (int i = 0; i < PARTIES; i++) {
        cr_expect(pl.idx[i] >= 0 && pl.idx[i] < PARTIES, "party %d got %d", i,
                  pl.idx[i]);
        if (pl.idx[i] >= 0 && pl.idx[i] < PARTIES)
            seen[pl.idx[i]]++;
        /* they arrived in id order, one turn apart */
        cr_expect_eq(pl.idx[i], i, "party %d got index %d", i, pl.idx[i]);
        if (i > 0)
            cr_expect_gt(pl.arrived_turn[i], pl.arrived_turn[i - 1],
                         "parties %d and %d arrived in the same turn", i - 1,
                         i);
        /* nobody left before the last arrival */
        cr_expect_gt(pl.released_turn[i], pl.arrived_turn[PARTIES - 1] - 1,
                     "party %d released before the last arrival", i);
        /* the same turn for everyone: same turn count, same loop clock */
        cr_expect_eq(pl.released_turn[i], pl.released_turn[0],
                     "party %d released in turn %ld, party 0 in %ld", i,
                     pl.released_turn[i], pl.released_turn[0]);
        cr_expect_eq(pl.released_at[i], pl.released_at[0],
                     "party %d resumed at %lld, party 0 at %lld", i,
                     (long long)pl.released_at[i],
                     (long long)pl.released_at[0]);
    }
    for (int i = 0; i < PARTIES; i++)
        cr_expect_eq(seen[i], 1, "index %d given %d times", i, seen[i]);
}
