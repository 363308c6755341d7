/* SPDX-License-Identifier: MIT */
/*
 * Task stacks: mmap'd, a PROT_NONE guard page below, the task control block
 * at the top. Registered with Valgrind; a SIGSEGV on a guard page is reported
 * as a stack overflow of the task that hit it.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio__task *t = l != NULL ? l->cur : NULL;
    char *addr = si->si_addr;

    if (t != NULL && addr >= t->map && addr < t->map + cio__page_size) {
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
        signal(SIGSEGV, SIG_DFL);
        abort();
    }
    /* Not ours: hand over to the previous handler, or re-fault with the
     * default action. */
    if (prev_segv.sa_flags & SA_SIGINFO) {
        if (prev_segv.sa_sigaction != NULL) {
            prev_segv.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (prev_segv.sa_handler != SIG_DFL &&
               prev_segv.sa_handler != SIG_IGN) {
        prev_segv.sa_handler(sig);
        return;
    }
    signal(SIGSEGV, SIG_DFL);
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
