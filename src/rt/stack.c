/* SPDX-License-Identifier: MIT */
/*
 * Task stacks: mmap'd, a PROT_NONE guard page below, the task control block
 * at the top. Registered with Valgrind; a SIGSEGV on a guard page is reported
 * as a stack overflow of the task that hit it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "rt/rt_int.h"
#include "rt/sanitize.h"

#if CIO_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

size_t cio__page_size;

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

struct cio__task *cio__stack_new(size_t size)
{
    size_t page, tcb, len;
    char *map;
    struct cio__task *t;

    /* Loops on several threads get here concurrently: every one stores the
     * same value, but the accesses must be atomic (TSan, and the C model). */
    page = __atomic_load_n(&cio__page_size, __ATOMIC_RELAXED);
    if (page == 0) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        __atomic_store_n(&cio__page_size, page, __ATOMIC_RELAXED);
    }
    if (size < 2 * page)
        size = 2 * page;
    if (size > SIZE_MAX / 2)
        return NULL;
    tcb = round_up(sizeof(struct cio__task), 64);
    len = page + round_up(size + tcb, page);
    map = mmap(NULL, len, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, page, PROT_NONE) != 0) {
        munmap(map, len);
        return NULL;
    }
    t = (struct cio__task *)(void *)(map + len - tcb);
    /* fresh anonymous memory is zero: no memset of the control block */
    t->map = map;
    t->maplen = len;
    t->lo = map + page;
    t->stack_size = size;
#if CIO_HAVE_VALGRIND
    t->vg_id = VALGRIND_STACK_REGISTER(t->lo, (char *)t);
#endif
    return t;
}

void cio__stack_free(struct cio__task *t)
{
#if CIO_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(t->vg_id);
#endif
    munmap(t->map, t->maplen);
}

/* ------------------------------------------------------------- guard */

#if !CIO_ASAN && !CIO_TSAN
static struct sigaction prev_segv;
static int guard_installed;
static __thread int altstack_ready;

static size_t fmt_hex(char *out, uintptr_t v)
{
    char tmp[2 + 16];
    size_t n = 0, i = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    out[i++] = '0';
    out[i++] = 'x';
    while (n > 0)
        out[i++] = tmp[--n];
    return i;
}

static size_t fmt_dec(char *out, size_t v)
{
    char tmp[24];
    size_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        out[i++] = tmp[--n];
    return i;
}

static void put(char *buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n < 512) {
        memcpy(buf + *len, s, n);
        *len += n;
    }
}

/* The interrupted stack pointer, or 0 where we do not know how to read it. */
static uintptr_t fault_sp(const void *ucv)
{
    const ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
}

/* How far below its stack a task's stack pointer may be found and still be
 * blamed on that task: the default thread stack size, since no sane frame
 * is larger. */
#define GUARD_REACH ((uintptr_t)8 << 20)

/*
 * A fault is a stack overflow of the running task t if it hit the guard page
 * or if the stack pointer itself is below the usable stack: a frame larger
 * than the guard page jumps over it (gcc adds no stack probes unless built
 * with -fstack-clash-protection) and faults further down. While l->cur is
 * set the thread runs on t's stack (but for a few instructions around a
 * switch), so sp below t->lo cannot be anything else.
 */
static int is_overflow(const struct cio__task *t, const char *addr,
                       uintptr_t sp)
{
    uintptr_t lo = (uintptr_t)t->lo;

    if (addr >= t->map && addr < t->lo)
        return 1;
    return sp != 0 && sp < lo && lo - sp <= GUARD_REACH;
}

static void report_overflow(const struct cio__task *t, const char *addr)
{
    char buf[512];
    size_t len = 0;

    put(buf, &len, "corio: stack overflow in task");
    if (t->name != NULL) {
        put(buf, &len, " '");
        put(buf, &len, t->name);
        put(buf, &len, "'");
    }
    put(buf, &len, " (stack size ");
    len += fmt_dec(buf + len, t->stack_size);
    put(buf, &len, " bytes, fault at ");
    len += fmt_hex(buf + len, (uintptr_t)addr);
    put(buf, &len, ", task created at ");
    len += fmt_hex(buf + len, (uintptr_t)t->created_by);
    put(buf, &len, "); raise cio_task_opts.stack_size\n");
    ssize_t w = write(2, buf, len);
    (void)w;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio__task *t = l != NULL ? l->cur : NULL;
    char *addr = si->si_addr;
    /* si_code <= 0: sent by kill/raise/sigqueue, not by a faulting access. */
    int from_user = si->si_code <= 0;

    if (t != NULL && !from_user && is_overflow(t, addr, fault_sp(uc))) {
        report_overflow(t, addr);
        signal(SIGSEGV, SIG_DFL);
        abort();
    }
    /*
     * Not ours: behave as if corio's handler had never been installed. A
     * previous handler runs with its own mask and SA_RESETHAND honored
     * (the kernel restores our mask when it returns). With no previous
     * handler the default action applies: a faulting access re-executes
     * after the return and faults again into SIG_DFL; a signal sent by
     * kill() would not come back, so it is raised again (it stays pending
     * until this handler returns).
     */
    /* sa_handler and sa_sigaction share storage: SIG_DFL and SIG_IGN are
     * recognised through sa_handler whatever the flags say. */
    if (prev_segv.sa_handler != SIG_DFL && prev_segv.sa_handler != SIG_IGN) {
        sigset_t mask = prev_segv.sa_mask;
        if (!(prev_segv.sa_flags & SA_NODEFER))
            sigaddset(&mask, SIGSEGV);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (prev_segv.sa_flags & SA_RESETHAND)
            signal(SIGSEGV, SIG_DFL);
        if (prev_segv.sa_flags & SA_SIGINFO)
            prev_segv.sa_sigaction(sig, si, uc);
        else
            prev_segv.sa_handler(sig);
        return;
    }
    if (prev_segv.sa_handler == SIG_IGN && from_user)
        return;
    signal(SIGSEGV, SIG_DFL);
    if (from_user)
        raise(SIGSEGV);
}

void cio__stack_guard_install(void)
{
    if (getenv("CIO_NO_SEGV_HANDLER") != NULL)
        return;
    if (!altstack_ready) {
        /* The handler must run on its own stack: the task's is exhausted. */
        stack_t ss = {0}, old;
        if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
            altstack_ready = 1;
        } else {
            ss.ss_size = 64 * 1024;
            ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (ss.ss_sp != MAP_FAILED && sigaltstack(&ss, NULL) == 0)
                altstack_ready = 1;
        }
    }
    if (!__atomic_exchange_n(&guard_installed, 1, __ATOMIC_ACQ_REL)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, &prev_segv);
    }
}
#else
void cio__stack_guard_install(void)
{
    /* The sanitizers own SIGSEGV and report stack overflows themselves. */
}
#endif
