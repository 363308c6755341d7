/* SPDX-License-Identifier: MIT */
/*
 * Portable context switch on makecontext/swapcontext (CIO_CTX=ucontext).
 * Slower than the assembly versions: glibc's swapcontext saves and restores
 * the signal mask with a system call on every switch. Use it on
 * architectures without an assembly switch, or to rule the assembly out.
 */
#include "rt/ctx.h"
#include "rt/sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * makecontext passes only int arguments (POSIX), so each pointer travels as
 * two 32-bit halves and is put back together here. Function and object
 * pointers both go through uintptr_t, which POSIX guarantees to hold them.
 */
static void trampoline(unsigned int fhi, unsigned int flo, unsigned int ahi,
                       unsigned int alo)
{
    uintptr_t f = (uintptr_t)(((uint64_t)fhi << 32) | flo);
    uintptr_t a = (uintptr_t)(((uint64_t)ahi << 32) | alo);
    void (*entry)(void *) = (void (*)(void *))f;

    entry((void *)a);
    abort(); /* entry must not return (ctx.h) */
}

void cio__ctx_switch(struct cio__ctx *from, struct cio__ctx *to)
{
    if (swapcontext(&from->uc, &to->uc) != 0) {
        /* Only fails on an invalid context: a broken invariant. */
        fprintf(stderr, "corio: swapcontext failed\n");
        abort();
    }
}

void cio__ctx_make(struct cio__ctx *c, void *lo, size_t size,
                   void (*entry)(void *arg), void *arg)
{
    uint64_t f = (uint64_t)(uintptr_t)entry;
    uint64_t a = (uint64_t)(uintptr_t)arg;

    cio__san_stack_reset(lo, size);
    if (getcontext(&c->uc) != 0) {
        fprintf(stderr, "corio: getcontext failed\n");
        abort();
    }
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_stack.ss_flags = 0;
    c->uc.uc_link = NULL;
    /* The cast of trampoline's type is what makecontext's prototype
     * demands; it is called with exactly the four (unsigned) ints given. */
    makecontext(&c->uc, (void (*)(void))trampoline, 4, (unsigned int)(f >> 32),
                (unsigned int)f, (unsigned int)(a >> 32), (unsigned int)a);
}
