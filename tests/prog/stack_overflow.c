/* SPDX-License-Identifier: MIT */
/*
 * The SIGSEGV guard reporter, end to end. Each mode runs in a forked child
 * whose stderr the parent captures, echoes and checks, together with how the
 * child ended. The parent prints "stack_overflow: ok <mode>" or
 * "stack_overflow: FAIL <why>" and exits 0 or 1.
 *
 *   overflow  a task recursing without bound: corio reports "stack overflow
 *             in task 'bottomless'" and aborts (ASan/TSan builds: the
 *             sanitizer reports "stack-overflow" itself)
 *   bigframe  a task with a frame of over 256 KiB on a 64 KiB stack: the
 *             frame jumps over the guard page and faults in memory below it
 *             (a page the test reserves PROT_NONE so the fault is certain);
 *             still reported as an overflow, from the stack pointer
 *   chain     a SIGSEGV handler installed before the loop still receives a
 *             fault that is not a guard-page hit, with the right si_addr
 *   default   same fault, no previous handler: the process dies of SIGSEGV
 *             and nothing is reported as an overflow
 *   kill      SIGSEGV sent with kill(): not mistaken for a fault, and still
 *             fatal
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <corio/corio.h>

#include "rt/rt_int.h"
#include "rt/sanitize.h"

static const char *mode;
static char *bad_page;

/* ------------------------------------------------------------ child */

/* never reached; volatile so the compiler cannot prove the recursion
 * infinite (-Winfinite-recursion) */
static volatile unsigned limit = ~0u;

__attribute__((noinline)) static unsigned bottomless(unsigned n)
{
    volatile char buf[256];
    buf[0] = (char)n;
    if (n == limit)
        return 0;
    /* not a tail call: the result is used after the call */
    return bottomless(n + 1) + (unsigned char)buf[0];
}

/* One frame of n bytes; only its lowest byte is touched. */
__attribute__((noinline)) static int big_frame(size_t n)
{
    volatile char *p = __builtin_alloca(n);
    p[0] = 1;
    return p[0];
}

static int bigframe_task(void *arg)
{
    struct cio__task *t = cio__current();
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *target = NULL;

    (void)arg;
    if (CIO_ASAN || CIO_TSAN) {
        /* The sanitizer's own SIGSEGV handler is in charge and corio's
         * stack-pointer check is not compiled in. */
        fprintf(stderr, "stack_overflow: SKIP: bigframe tests corio's handler, "
                        "which sanitizer builds do not install\n");
        _exit(77);
    }
    /* The frame must end in memory that faults; whatever lies between it
     * and the guard page is never touched. Find a free page at least
     * 256 KiB below the stack and reserve it PROT_NONE. */
    for (size_t off = 256 * 1024; off <= 4u << 20 && target == NULL;
         off += page) {
        char *want = t->map - off;
        /* msync fails with ENOMEM on an unmapped page (MAP_FIXED_NOREPLACE
         * would say the same, but qemu-user takes it as a mere hint). The
         * process has one thread, so the page is still free for MAP_FIXED. */
        if (msync(want, page, MS_ASYNC) == 0 || errno != ENOMEM)
            continue;
        if (mmap(want, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                 -1, 0) == want)
            target = want;
    }
    if (target == NULL) {
        fprintf(stderr, "stack_overflow: SKIP: no free page below the task "
                        "stack\n");
        _exit(77);
    }
    /* land the frame's lowest byte in the middle of that page */
    uintptr_t fa = (uintptr_t)__builtin_frame_address(0);
    return big_frame(fa - (uintptr_t)(target + page / 2));
}

static int overflow_task(void *arg)
{
    (void)arg;
    return (int)bottomless(0);
}

static int fault_task(void *arg)
{
    (void)arg;
    if (strcmp(mode, "kill") == 0) {
        kill(getpid(), SIGSEGV);
        return 0; /* the signal is delivered before kill returns */
    }
    *(volatile char *)(bad_page + 8) = 1;
    return 0;
}

static int child_main(void *arg)
{
    cio_group *g;
    int rc;

    (void)arg;
    rc = cio_group_new(&g);
    if (rc < 0)
        return rc;
    if (strcmp(mode, "overflow") == 0)
        rc = cio_spawn(g, overflow_task, NULL,
                       &(struct cio_task_opts){.name = "bottomless"}, NULL);
    else if (strcmp(mode, "bigframe") == 0)
        rc = cio_spawn(g, bigframe_task, NULL,
                       &(struct cio_task_opts){.name = "bigframe"}, NULL);
    else
        rc = cio_spawn(g, fault_task, NULL, NULL, NULL);
    if (rc == 0)
        rc = cio_group_wait(g, cio_after(10000));
    cio_group_free(g);
    return rc;
}

static void prev_handler(int sig, siginfo_t *si, void *uc)
{
    static const char hit[] =
        "stack_overflow: previous handler got the fault\n";
    static const char miss[] =
        "stack_overflow: previous handler got a wrong si_addr\n";
    (void)sig;
    (void)uc;
    if ((char *)si->si_addr == bad_page + 8) {
        ssize_t w = write(2, hit, sizeof(hit) - 1);
        (void)w;
        _exit(42);
    }
    ssize_t w = write(2, miss, sizeof(miss) - 1);
    (void)w;
    _exit(43);
}

static void child(void)
{
    bad_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bad_page == MAP_FAILED)
        _exit(2);
    if (strcmp(mode, "chain") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = prev_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
    }
    int rc = cio_run(child_main, NULL);
    fprintf(stderr, "stack_overflow: child survived (%s)\n", cio_errname(rc));
    _exit(3);
}

/* ------------------------------------------------------------ parent */

static int fail(const char *why)
{
    printf("stack_overflow: FAIL %s: %s\n", mode, why);
    return 1;
}

int main(int argc, char **argv)
{
    static char out[64 * 1024];
    size_t len = 0;
    int fds[2], status;
    pid_t pid;

    if (argc != 2) {
        fprintf(stderr,
                "usage: stack_overflow overflow|bigframe|chain|default|kill\n");
        return 2;
    }
    mode = argv[1];
    alarm(60);
    if (pipe(fds) != 0)
        return 2;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        child();
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], out + len, sizeof(out) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid)
        return 2;
    fputs(out, stderr); /* what the child said, for the CTest regex */
    if (WIFSIGNALED(status))
        printf("stack_overflow: child ended by signal %d (%s)\n",
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        printf("stack_overflow: child ended with status %d\n",
               WEXITSTATUS(status));

    int sanitized = CIO_ASAN || CIO_TSAN;
    int reported = strstr(out, "stack overflow in task") != NULL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        printf("stack_overflow: skipped %s\n", mode);
        return 77;
    }
    if (strcmp(mode, "overflow") == 0 || strcmp(mode, "bigframe") == 0) {
        char want[64];
        snprintf(want, sizeof(want), "task '%s' (stack size 65536 bytes",
                 strcmp(mode, "overflow") == 0 ? "bottomless" : "bigframe");
        if (sanitized) {
            if (strstr(out, "stack-overflow") == NULL)
                return fail("no sanitizer stack-overflow report");
            if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
                return fail("sanitizer did not fail the child");
        } else {
            if (!reported || strstr(out, want) == NULL)
                return fail("no corio overflow report");
            if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
                return fail("child did not abort");
        }
    } else if (strcmp(mode, "chain") == 0) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
            return fail("the previous handler did not get the fault");
    } else if (strcmp(mode, "default") == 0 || strcmp(mode, "kill") == 0) {
        if (reported)
            return fail("reported as a stack overflow");
        if (sanitized) {
            /* the sanitizer's own SIGSEGV handler reports and exits */
            if (strstr(out, "SEGV") == NULL)
                return fail("no sanitizer SEGV report");
        } else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) {
            return fail("child did not die of SIGSEGV");
        }
    } else {
        return fail("unknown mode");
    }
    printf("stack_overflow: ok %s\n", mode);
    return 0;
}
