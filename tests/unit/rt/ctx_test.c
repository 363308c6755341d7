/* SPDX-License-Identifier: MIT */
/*
 * The context switch on its own (cio__ctx_make / cio__ctx_switch), outside
 * the scheduler, and the stack a task starts on. Whatever CIO_CTX selects
 * (x86-64 or aarch64 assembly, ucontext) must pass these.
 */
#include <stdint.h>

#include "rawctx.h"
#include "test.h"

/* Through an empty asm the compiler cannot fold "address % 16" to 0 from
 * what it assumes about stack alignment. */
static uintptr_t opaque(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    __asm__ volatile("" : "+r"(v));
    return v;
}

/* ------------------------------------------------------------ ping-pong */

enum { ROUNDS = 10000 };

struct pp {
    struct rawctx main, a, b;
    int log[2 * ROUNDS + 2];
    int n;
};

static void a_entry(void *arg)
{
    struct pp *p = arg;
    rawctx_entered(&p->a, &p->main);
    for (int i = 0; i < ROUNDS; i++) {
        p->log[p->n++] = 2 * i;
        rawctx_switch(&p->a, &p->b);
    }
    rawctx_exit(&p->a, &p->main);
}

static void b_entry(void *arg)
{
    struct pp *p = arg;
    rawctx_entered(&p->b, &p->a);
    for (int i = 0;; i++) {
        p->log[p->n++] = 2 * i + 1;
        rawctx_switch(&p->b, &p->a);
    }
}

Test(ctx, ping_pong_between_two_contexts)
{
    static struct pp p; /* 80 KB: not on Criterion's stack */

    p.n = 0;
    rawctx_main(&p.main);
    cr_assert_eq(rawctx_new(&p.a, 64 * 1024, a_entry, &p), 0);
    cr_assert_eq(rawctx_new(&p.b, 64 * 1024, b_entry, &p), 0);
    rawctx_switch(&p.main, &p.a);
    /* b is left switched out forever: its stack is simply unmapped */
    rawctx_free(&p.a);
    rawctx_free(&p.b);
    cr_assert_eq(p.n, 2 * ROUNDS);
    for (int i = 0; i < p.n; i++)
        if (p.log[i] != i)
            cr_assert_fail("log[%d] = %d", i, p.log[i]);
}

/* ------------------------------------------------------------ registers */

struct regs {
    struct rawctx main, peer;
    int rounds;
    int peer_bad;
};

static void regs_entry(void *arg)
{
    struct regs *r = arg;
    rawctx_entered(&r->peer, &r->main);
    for (int i = 0; i < r->rounds; i++) {
        rawctx_clobber_callee_saved();
        r->peer_bad +=
            rawctx_hold_values(&r->peer, &r->main, 99u * (unsigned)i);
    }
    rawctx_clobber_callee_saved();
    rawctx_exit(&r->peer, &r->main);
}

Test(ctx, callee_saved_registers_survive_switches)
{
    struct regs r = {.rounds = 1000};
    int bad = 0;

    rawctx_main(&r.main);
    cr_assert_eq(rawctx_new(&r.peer, 64 * 1024, regs_entry, &r), 0);
    rawctx_switch(&r.main, &r.peer);
    for (int i = 0; i < r.rounds; i++) {
        rawctx_clobber_callee_saved();
        bad += rawctx_hold_values(&r.main, &r.peer, 12345u + (unsigned)i);
    }
    rawctx_free(&r.peer);
    cr_expect_eq(bad, 0, "main side: %d values changed", bad);
    cr_expect_eq(r.peer_bad, 0, "peer side: %d values changed", r.peer_bad);
}

/* ------------------------------------------------------------ entry */

struct entry_probe {
    struct rawctx main, self;
    uintptr_t frame_mod16, local_mod16;
    void *arg_seen;
    char fmt[32];
};

static void probe_entry(void *arg)
{
    struct entry_probe *e = arg;
    _Alignas(16) char local[16];

    e->arg_seen = arg;
    e->frame_mod16 = opaque(__builtin_frame_address(0)) % 16;
    e->local_mod16 = opaque(local) % 16;
    rawctx_entered(&e->self, &e->main);
    /* varargs with a double: aligned SSE spills on x86-64 */
    snprintf(e->fmt, sizeof(e->fmt), "%.2f|%s", 0.25, "x");
    rawctx_exit(&e->self, &e->main);
}

/* Stack sizes that are not multiples of 16 must still give an aligned
 * entry: make rounds the top down. */
Test(ctx, entry_runs_with_16_byte_aligned_stack_and_its_arg)
{
    static const size_t sizes[] = {8192, 8192 + 8, 8192 + 4, 65536 - 24};

    for (size_t i = 0; i < CIO_COUNTOF(sizes); i++) {
        struct entry_probe e = {.frame_mod16 = 99, .local_mod16 = 99};
        rawctx_main(&e.main);
        cr_assert_eq(rawctx_new(&e.self, 16 * 1024, probe_entry, &e), 0);
        /* re-make on a deliberately odd-sized window of the same stack */
        e.self.size = sizes[i] < e.self.size ? sizes[i] : e.self.size;
        cio__ctx_make(&e.self.ctx, e.self.stack->lo, e.self.size, probe_entry,
                      &e);
        rawctx_switch(&e.main, &e.self);
        rawctx_free(&e.self);
        cr_expect_eq(e.arg_seen, (void *)&e, "size %zu: arg", sizes[i]);
        cr_expect_eq(e.frame_mod16, 0, "size %zu: frame address %% 16 = %zu",
                     sizes[i], (size_t)e.frame_mod16);
        cr_expect_eq(e.local_mod16, 0, "size %zu: aligned local %% 16 = %zu",
                     sizes[i], (size_t)e.local_mod16);
        cr_expect_str_eq(e.fmt, "0.25|x");
    }
}

/* Many contexts, each with its own argument, resumed round-robin: the
 * argument (a full 64-bit pointer, split in two by the ucontext variant)
 * and each context's own stack stay distinct. */
enum { NCTX = 32 };

struct ring {
    struct rawctx main, c[NCTX];
    int visits[NCTX];
    int wrong_arg;
};

struct ring_arg {
    struct ring *r;
    int id;
};

static void ring_entry(void *arg)
{
    struct ring_arg *a = arg;
    struct ring *r = a->r;
    int id = a->id; /* a local: lives on this context's stack */

    rawctx_entered(&r->c[id], &r->main);
    for (int round = 0; round < 3; round++) {
        if (a->id != id || &r->c[id] != &a->r->c[a->id])
            r->wrong_arg++;
        r->visits[id]++;
        rawctx_switch(&r->c[id], &r->main);
    }
    rawctx_exit(&r->c[id], &r->main);
}

Test(ctx, many_contexts_keep_their_args_and_stacks)
{
    static struct ring r;
    struct ring_arg args[NCTX];

    rawctx_main(&r.main);
    for (int i = 0; i < NCTX; i++) {
        args[i] = (struct ring_arg){.r = &r, .id = i};
        cr_assert_eq(rawctx_new(&r.c[i], 16 * 1024, ring_entry, &args[i]), 0);
    }
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < NCTX; i++)
            rawctx_switch(&r.main, &r.c[i]);
    for (int i = 0; i < NCTX; i++) {
        rawctx_free(&r.c[i]);
        cr_expect_eq(r.visits[i], 3, "context %d: %d visits", i, r.visits[i]);
    }
    cr_expect_eq(r.wrong_arg, 0);
}

/* ------------------------------------------------------------ in a task */

struct task_probe {
    uintptr_t frame_mod16, local_mod16;
};

static int task_probe(void *arg)
{
    struct task_probe *p = arg;
    _Alignas(16) char local[16];

    p->frame_mod16 = opaque(__builtin_frame_address(0)) % 16;
    p->local_mod16 = opaque(local) % 16;
    return 0;
}

static int task_probe_main(void *arg)
{
    struct task_probe *p = arg;
    cio_group *g;

    CIO_ASSERT_RC(cio_group_new(&g), 0);
    CIO_ASSERT_RC(cio_spawn(g, task_probe, &p[0], NULL, NULL), 0);
    /* an odd stack size: rounded to pages, still aligned */
    CIO_ASSERT_RC(cio_spawn(g, task_probe, &p[1],
                            &(struct cio_task_opts){.stack_size = 12345}, NULL),
                  0);
    CIO_EXPECT_RC(cio_group_wait(g, cio_after(10000)), 0);
    cio_group_free(g);
    return 0;
}

Test(ctx, task_entry_is_aligned)
{
    struct task_probe p[2] = {{99, 99}, {99, 99}};

    cr_assert_eq(cio_run(task_probe_main, p), 0);
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(p[i].frame_mod16, 0, "task %d: frame %% 16 = %zu", i,
                     (size_t)p[i].frame_mod16);
        cr_expect_eq(p[i].local_mod16, 0, "task %d: local %% 16 = %zu", i,
                     (size_t)p[i].local_mod16);
    }
}
