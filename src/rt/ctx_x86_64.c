/* SPDX-License-Identifier: MIT */
#include "rt/ctx.h"
#include "rt/sanitize.h"

#include <stdint.h>

void cio__ctx_trampoline(void);

void cio__ctx_make(struct cio__ctx *c, void *lo, size_t size,
                   void (*entry)(void *arg), void *arg)
{
    /* Top of stack, 16-byte aligned. The switch's "ret" pops the trampoline
     * address, leaving rsp == top (aligned) before the trampoline's call, so
     * entry starts with rsp % 16 == 8 as the ABI requires. */
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    void **sp = (void **)top;

    cio__san_stack_reset(lo, size);

    *--sp = (void *)cio__ctx_trampoline; /* ret target */
    *--sp = 0;                           /* rbp */
    *--sp = 0;                           /* rbx */
    *--sp = (void *)entry;               /* r12 */
    *--sp = arg;                         /* r13 */
    *--sp = 0;                           /* r14 */
    *--sp = 0;                           /* r15 */
    c->sp = sp;
}
