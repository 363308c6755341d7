/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_RAWCTX_H
#define CIO_TEST_RAWCTX_H

/*
 * Raw use of cio__ctx_make/cio__ctx_switch outside the scheduler, for tests
 * of the switch itself. Carries the same ASan/TSan fiber annotations as
 * task.c so the tests also run in sanitizer builds. Header-only: used by
 * Criterion tests and by the plain self-test program (tests/prog).
 *
 * Protocol: rawctx_main(&m) for the thread's own context; rawctx_new(&c, ...)
 * for a coroutine; the coroutine's entry calls rawctx_entered(&c, &m) first;
 * both sides call rawctx_switch; the coroutine's last switch is
 * rawctx_exit(&c, &m), after which rawctx_free(&c) may run.
 */

#include <stdint.h>
#include <stdlib.h>

#include "rt/ctx.h"
#include "rt/rt_int.h"
#include "rt/sanitize.h"

struct rawctx {
    struct cio__ctx ctx;
    struct cio__task *stack; /* NULL for the thread's own context */
    const void *lo;          /* ASan: stack bottom and size */
    size_t size;
    void *fake; /* ASan fake stack while switched out */
    void *tsan; /* TSan fiber */
};

static inline void rawctx_main(struct rawctx *m)
{
    m->stack = NULL;
    m->lo = NULL;
    m->size = 0;
    m->fake = NULL;
#if CIO_TSAN
    m->tsan = __tsan_get_current_fiber();
#else
    m->tsan = NULL;
#endif
}

/* Maps a stack with cio__stack_new (guard page, Valgrind registration). */
static inline int rawctx_new(struct rawctx *c, size_t size,
                             void (*entry)(void *), void *arg)
{
    c->stack = cio__stack_new(size);
    if (c->stack == NULL)
        return -1;
    c->lo = c->stack->lo;
    c->size = (size_t)((char *)c->stack - c->stack->lo);
    c->fake = NULL;
#if CIO_TSAN
    c->tsan = __tsan_create_fiber(0);
#else
    c->tsan = NULL;
#endif
    cio__ctx_make(&c->ctx, c->stack->lo, c->size, entry, arg);
    return 0;
}

static inline void rawctx_free(struct rawctx *c)
{
#if CIO_TSAN
    __tsan_destroy_fiber(c->tsan);
#endif
    cio__stack_free(c->stack);
}

static inline void rawctx_switch_(struct rawctx *from, struct rawctx *to,
                                  int last)
{
#if CIO_ASAN
    __sanitizer_start_switch_fiber(last ? NULL : &from->fake, to->lo, to->size);
#else
    (void)last;
#endif
#if CIO_TSAN
    __tsan_switch_to_fiber(to->tsan, 0);
#endif
    cio__ctx_switch(&from->ctx, &to->ctx);
#if CIO_ASAN
    __sanitizer_finish_switch_fiber(from->fake, NULL, NULL);
#endif
}

static inline void rawctx_switch(struct rawctx *from, struct rawctx *to)
{
    rawctx_switch_(from, to, 0);
}

/* First thing a coroutine does: learns the bounds of the context it came
 * from (ASan needs them to switch back). */
static inline void rawctx_entered(struct rawctx *self, struct rawctx *from)
{
#if CIO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &from->lo, &from->size);
#else
    (void)from;
#endif
    (void)self;
}

/* The coroutine's final switch: never returns. */
static inline void rawctx_exit(struct rawctx *self, struct rawctx *to)
{
    rawctx_switch_(self, to, 1);
    abort();
}

/* Overwrites the callee-saved registers of the ABI with garbage; the
 * compiler saves and restores the caller's values around the statement,
 * so only a context switch in between can observe the garbage. */
static inline void rawctx_clobber_callee_saved(void)
{
#if defined(__x86_64__)
    __asm__ volatile("movabsq $0x5a5a5a5a5a5a5a01, %%rbx\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a02, %%r12\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a03, %%r13\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a04, %%r14\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a05, %%r15\n\t" ::
                         : "rbx", "r12", "r13", "r14", "r15", "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov x19, #0x5a01\n\t"
                     "mov x20, #0x5a02\n\t"
                     "mov x21, #0x5a03\n\t"
                     "mov x22, #0x5a04\n\t"
                     "mov x23, #0x5a05\n\t"
                     "mov x24, #0x5a06\n\t"
                     "mov x25, #0x5a07\n\t"
                     "mov x26, #0x5a08\n\t"
                     "mov x27, #0x5a09\n\t"
                     "mov x28, #0x5a0a\n\t"
                     "fmov d8, #-1.5\n\t"
                     "fmov d9, #-2.5\n\t"
                     "fmov d10, #-3.5\n\t"
                     "fmov d11, #-4.5\n\t"
                     "fmov d12, #-5.5\n\t"
                     "fmov d13, #-6.5\n\t"
                     "fmov d14, #-7.5\n\t"
                     "fmov d15, #-8.5\n\t" ::
                         : "x19", "x20", "x21", "x22", "x23", "x24", "x25",
                           "x26", "x27", "x28", "v8", "v9", "v10", "v11", "v12",
                           "v13", "v14", "v15", "memory");
#endif
}

#if defined(__x86_64__)
#define RAWCTX_FP(x) "x"(x)
#elif defined(__aarch64__)
#define RAWCTX_FP(x) "w"(x)
#else
#define RAWCTX_FP(x) "m"(x)
#endif

/*
 * Keeps twelve integers and eight doubles live across one switch from self
 * to peer and back, and checks them afterwards. Returns the number of values
 * that changed (0 = all preserved). Optimized even in -O0 builds so the
 * values sit in callee-saved registers, not only on the stack.
 */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("O2")))
#endif
__attribute__((noinline)) static int
rawctx_hold_values(struct rawctx *self, struct rawctx *peer, uint64_t seed)
{
    volatile uint64_t vs = seed;
    uint64_t s = vs;
    uint64_t a = s * 3 + 1, b = s * 5 + 2, c = s * 7 + 3, d = s * 11 + 4;
    uint64_t e = s * 13 + 5, f = s * 17 + 6, g = s * 19 + 7, h = s * 23 + 8;
    uint64_t i = s * 29 + 9, j = s * 31 + 10, k = s * 37 + 11, l = s * 41 + 12;
    double da = (double)s * 0.5, db = (double)s * 1.5, dc = (double)s * 2.5;
    double dd = (double)s * 3.5, de = (double)s * 4.5, df = (double)s * 5.5;
    double dg = (double)s * 6.5, dh = (double)s * 7.5;

    /* Opaque to the optimizer: it can neither sink the computations past
     * the switch nor recompute them from s afterwards. */
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
    __asm__ volatile("" : "+r"(g), "+r"(h), "+r"(i), "+r"(j), "+r"(k), "+r"(l));
    __asm__ volatile(""
                     : "+" RAWCTX_FP(da), "+" RAWCTX_FP(db), "+" RAWCTX_FP(dc),
                       "+" RAWCTX_FP(dd));
    __asm__ volatile(""
                     : "+" RAWCTX_FP(de), "+" RAWCTX_FP(df), "+" RAWCTX_FP(dg),
                       "+" RAWCTX_FP(dh));

    rawctx_switch(self, peer);

    s = vs;
    int bad = 0;
    bad += a != s * 3 + 1;
    bad += b != s * 5 + 2;
    bad += c != s * 7 + 3;
    bad += d != s * 11 + 4;
    bad += e != s * 13 + 5;
    bad += f != s * 17 + 6;
    bad += g != s * 19 + 7;
    bad += h != s * 23 + 8;
    bad += i != s * 29 + 9;
    bad += j != s * 31 + 10;
    bad += k != s * 37 + 11;
    bad += l != s * 41 + 12;
    bad += da != (double)s * 0.5;
    bad += db != (double)s * 1.5;
    bad += dc != (double)s * 2.5;
    bad += dd != (double)s * 3.5;
    bad += de != (double)s * 4.5;
    bad += df != (double)s * 5.5;
    bad += dg != (double)s * 6.5;
    bad += dh != (double)s * 7.5;
    return bad;
}

#endif
