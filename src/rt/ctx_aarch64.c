/* SPDX-License-Identifier: MIT */
#include "rt/ctx.h"
#include "rt/sanitize.h"

#include <stdint.h>
#include <string.h>

void cio__ctx_trampoline(void);

/* Slots of the 160-byte frame cio__ctx_switch pops (see ctx_aarch64.S). */
enum {
    SLOT_X19 = 0,
    SLOT_X20 = 1,
    SLOT_X29 = 10,
    SLOT_X30 = 11,
    NSLOTS = 20,
};

void cio__ctx_make(struct cio__ctx *c, void *lo, size_t size,
                   void (*entry)(void *arg), void *arg)
{
    /* AAPCS64 wants sp 16-byte aligned at every call (and the hardware
     * checks it on every sp-based access). The frame is 160 bytes, so after
     * the switch pops it sp == top, aligned, when the trampoline calls
     * entry. */
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top - NSLOTS;

    cio__san_stack_reset(lo, size);

    /* d8-d15 and the other registers start as zero, and x29 == 0 ends the
     * frame-pointer chain for debuggers and backtraces. */
    memset(sp, 0, NSLOTS * sizeof(*sp));
    sp[SLOT_X19] = (uint64_t)(uintptr_t)entry;
    sp[SLOT_X20] = (uint64_t)(uintptr_t)arg;
    sp[SLOT_X29] = 0;
    sp[SLOT_X30] = (uint64_t)(uintptr_t)cio__ctx_trampoline;
    c->sp = sp;
}
