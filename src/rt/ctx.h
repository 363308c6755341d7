/* SPDX-License-Identifier: MIT */
#ifndef CIO_RT_CTX_H
#define CIO_RT_CTX_H

/*
 * The context switch. One implementation is built, chosen at configure time
 * (CIO_CTX = asm | ucontext): ctx_x86_64.S, ctx_aarch64.S or ctx_ucontext.c.
 * The assembly versions save only the callee-saved registers of the
 * platform ABI on the old stack and store the stack pointer in ctx->sp.
 */

#include <stddef.h>

#include "config.h"

#if CIO_CTX_UCONTEXT
#include <ucontext.h>
struct cio__ctx {
    ucontext_t uc;
};
#else
struct cio__ctx {
    void *sp;
};
#endif

/* Saves the current context in from and resumes to. */
void cio__ctx_switch(struct cio__ctx *from, struct cio__ctx *to);

/*
 * Prepares c so that switching to it runs entry(arg) on the stack
 * [lo, lo + size). entry must never return.
 */
void cio__ctx_make(struct cio__ctx *c, void *lo, size_t size,
                   void (*entry)(void *arg), void *arg);

#endif
