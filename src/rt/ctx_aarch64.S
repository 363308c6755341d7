/* SPDX-License-Identifier: MIT */
/*
 * void cio__ctx_switch(struct cio__ctx *from, struct cio__ctx *to)
 * AAPCS64: x19-x28, x29 (fp), x30 (lr), sp and the low 64 bits of v8-v15
 * (d8-d15) are callee-saved. They go in a 160-byte frame on the old stack;
 * sp goes in ctx->sp. x18 (the platform register) is not touched. FPCR and
 * FPSR are not saved: tasks share the thread's floating-point environment,
 * as on x86-64.
 *
 * Frame layout (offsets from the saved sp), shared with ctx_aarch64.c:
 *   0 x19  8 x20  16 x21  24 x22  32 x23  40 x24  48 x25  56 x26
 *  64 x27 72 x28  80 x29  88 x30  96 d8  104 d9 112 d10 120 d11
 * 128 d12 136 d13 144 d14 152 d15
 */

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C hint 34
#define GNU_PROPERTY_BTI 1
#else
#define BTI_C
#define GNU_PROPERTY_BTI 0
#endif

    .text
    .globl cio__ctx_switch
    .hidden cio__ctx_switch
    .type cio__ctx_switch, %function
    .p2align 4
cio__ctx_switch:
    .cfi_startproc
    BTI_C
    sub sp, sp, #160
    .cfi_def_cfa_offset 160
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mov x9, sp
    str x9, [x0]
    ldr x9, [x1]
    mov sp, x9
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #160
    .cfi_def_cfa_offset 0
    ret
    .cfi_endproc
    .size cio__ctx_switch, .-cio__ctx_switch

/*
 * First frame of a new context: cio__ctx_make leaves entry in x19, its
 * argument in x20 and this address in x30, so the switch's "ret" lands here
 * with sp at the 16-byte aligned top of the stack. x29 is 0: the frame chain
 * ends here. Reached by "ret", not by an indirect branch, so no BTI landing
 * pad is needed; entry gets "blr", which its own "bti c" accepts.
 */
    .globl cio__ctx_trampoline
    .hidden cio__ctx_trampoline
    .type cio__ctx_trampoline, %function
    .p2align 4
cio__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov x0, x20
    blr x19
    brk #0x1
    .cfi_endproc
    .size cio__ctx_trampoline, .-cio__ctx_trampoline

#if GNU_PROPERTY_BTI
/* Mark the object BTI-compatible so a -mbranch-protection=standard link
 * keeps BTI enforcement on (GNU_PROPERTY_AARCH64_FEATURE_1_AND = 0xc0000000,
 * bit 0 = BTI). Return-address signing needs no mark: lr is stored as the
 * caller left it. */
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .word 4
    .word 16
    .word 5
    .asciz "GNU"
    .word 0xc0000000
    .word 4
    .word 1
    .word 0
    .popsection
#endif

    .section .note.GNU-stack,"",%progbits
