/* SPDX-License-Identifier: MIT */
/*
 * Task stacks: layout of a mapping (guard page, usable range, control
 * block), the loop's pool of default-size stacks, and custom sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "rt/rt_int.h"
#include "test.h"

/* The protection string ("rw-p", "---p") of the mapping that starts at
 * addr, from /proc/self/maps; "" if there is none. */
static const char *prot_at(const void *addr, char out[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];

    out[0] = '\0';
    if (f == NULL)
        return out;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 &&
            lo <= (uintptr_t)addr && (uintptr_t)addr < hi) {
            snprintf(out, 8, "%s", perms);
            break;
        }
    }
    fclose(f);
    return out;
}

Test(stack, layout_guard_page_and_usable_range)
{
    static const size_t sizes[] = {
        0, 1, 4096, 12345, 64 * 1024, 64 * 1024 + 1, 1024 * 1024};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    for (size_t i = 0; i < CIO_COUNTOF(sizes); i++) {
        size_t want = sizes[i];
        struct cio__task *t = cio__stack_new(want);
        char prot[8];

        cr_assert_not_null(t, "size %zu", want);
        size_t usable = (size_t)((char *)t - t->lo);
        cr_expect_eq(t->lo, t->map + page, "size %zu: one guard page", want);
        cr_expect_eq((uintptr_t)t->lo % page, 0);
        cr_expect_eq((uintptr_t)t % 64, 0, "control block alignment");
        cr_expect(usable >= want && usable >= 2 * page,
                  "size %zu: only %zu usable", want, usable);
        cr_expect_eq(t->maplen % page, 0);
        cr_expect((char *)(t + 1) <= t->map + t->maplen,
                  "control block inside the mapping");
        cr_expect_eq(t->stack_size, want < 2 * page ? 2 * page : want);
        cr_expect_str_eq(prot_at(t->map, prot), "---p", "size %zu: guard",
                         want);
        cr_expect_eq(prot[0], '-');
        cr_expect_str_eq(prot_at(t->lo, prot), "rw-p", "size %zu: stack", want);
        /* both ends of the usable range are writable */
        t->lo[0] = 1;
        ((char *)t)[-1] = 1;
        cio__stack_free(t);
    }
}

/* ------------------------------------------------------------ pool */

struct pool_run {
    char *lo[3000];
    size_t npool_after_first, npool_after_second, npool_after_big;
    size_t npool_after_custom, pool_max;
    int reused, fresh;
};

struct slot {
    struct pool_run *r;
    int i;
};

static void record_stack(void *arg)
{
    struct slot *s = arg;
    s->r->lo[s->i] = cio__current()->lo;
    cio_yield(); /* all of a batch are alive at once */
}

static int spawn_batch(struct pool_run *r, struct slot *slots, int from, int n)
{
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    for (int i = 0; i < n; i++) {
        slots[from + i] = (struct slot){.r = r, .i = from + i};
        CIO_ASSERT_RC(cio_go(g, record_stack, &slots[from + i]), 0);
    }
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(20000)), 0);
    cio_group_free(g);
    return 0;
}

static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static int pool_main(void *arg)
{
    struct pool_run *r = arg;
    static struct slot slots[3000];
    struct cio_loop *l = cio__loop_tls;

    r->pool_max = l->pool_max;
    cr_expect_eq(l->npool, 0, "a fresh loop has an empty pool");

    /* 100 at once: 100 fresh stacks, all back in the pool afterwards */
    spawn_batch(r, slots, 0, 100);
    r->npool_after_first = l->npool;

    /* 100 more: every one reuses a stack of the first batch */
    spawn_batch(r, slots, 100, 100);
    r->npool_after_second = l->npool;
    for (int i = 100; i < 200; i++) {
        int found = 0;
        for (int j = 0; j < 100 && !found; j++)
            found = r->lo[i] == r->lo[j];
        r->reused += found;
    }

    /* more at once than the pool keeps: the pool is capped */
    spawn_batch(r, slots, 200, (int)l->pool_max + 100);
    r->npool_after_big = l->npool;

    /* a custom size never enters the pool */
    cio_group *g;
    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, noop, NULL,
                            &(struct cio_task_opts){.stack_size = 256 * 1024},
                            NULL),
                  0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    r->npool_after_custom = l->npool;
    return 0;
}

Test(stack, pool_reuses_default_stacks_up_to_its_cap)
{
    static struct pool_run r;

    cr_assert_eq(cio_run(pool_main, &r), 0);
    cr_assert_leq(r.pool_max + 300, CIO_COUNTOF(r.lo));
    cr_expect_eq(r.npool_after_first, 100);
    cr_expect_eq(r.npool_after_second, 100, "second batch took from the pool");
    cr_expect_eq(r.reused, 100, "%d of 100 stacks reused", r.reused);
    cr_expect_eq(r.npool_after_big, r.pool_max);
    cr_expect_eq(r.npool_after_custom, r.pool_max);
}

/* ------------------------------------------------------------ custom size */

struct deep {
    uintptr_t top, low;
    unsigned sum;
};

/* Each level keeps 2 KiB live across the recursive call. */
__attribute__((noinline)) static unsigned recurse(struct deep *d, unsigned n)
{
    volatile char buf[2048];
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);

    if (here < d->low)
        d->low = here;
    buf[0] = 1;
    buf[sizeof(buf) - 1] = 1;
    if (n == 0)
        return 0;
    return recurse(d, n - 1) + (unsigned)buf[0] + 0u * (unsigned)buf[2047];
}

static int deep_task(void *arg)
{
    struct deep *d = arg;
    d->top = d->low = (uintptr_t)__builtin_frame_address(0);
    d->sum = recurse(d, 600); /* >= 600 * 2 KiB = 1.2 MiB */
    return 0;
}

static int deep_main(void *arg)
{
    struct deep *d = arg;
    cio_group *g;
    cio_task *h;
    int res = -1;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, deep_task, d,
                            &(struct cio_task_opts){.stack_size = 2 << 20,
                                                    .name = "deep"},
                            &h),
                  0);
    CIO_EXPECT_RC(cio_task_join(h, cio_after(10000), &res), 0);
    cr_expect_eq(res, 0);
    cio_group_free(g);
    return 0;
}

Test(stack, custom_size_holds_a_recursion_the_default_cannot)
{
    struct deep d = {0};

    cr_assert_eq(cio_run(deep_main, &d), 0);
    cr_expect_eq(d.sum, 600);
    size_t used = (size_t)(d.top - d.low);
    cr_expect(used >= 1024 * 1024 && used < 2 * 1024 * 1024,
              "recursion used %zu bytes", used);
    cr_expect_gt(used, CIO__DEFAULT_STACK * 8, "well past the default size");
}
