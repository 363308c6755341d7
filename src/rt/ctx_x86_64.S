/* SPDX-License-Identifier: MIT */
/*
 * void cio__ctx_switch(struct cio__ctx *from, struct cio__ctx *to)
 * SysV x86-64: rbx, rbp, r12-r15 are callee-saved; rsp goes in ctx->sp.
 * The MXCSR and x87 control words are not saved: tasks share the thread's
 * floating-point environment (documented in docs/internals/runtime.md).
 */
    .text
    .globl cio__ctx_switch
    .hidden cio__ctx_switch
    .type cio__ctx_switch, @function
    .p2align 4
cio__ctx_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .cfi_endproc
    .size cio__ctx_switch, .-cio__ctx_switch

/*
 * First frame of a new context: cio__ctx_make leaves entry in r12 and its
 * argument in r13; the switch "returns" here.
 */
    .globl cio__ctx_trampoline
    .hidden cio__ctx_trampoline
    .type cio__ctx_trampoline, @function
    .p2align 4
cio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq %r13, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size cio__ctx_trampoline, .-cio__ctx_trampoline

    .section .note.GNU-stack,"",@progbits
