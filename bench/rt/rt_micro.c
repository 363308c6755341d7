/* SPDX-License-Identifier: MIT */
/*
 * rt_micro: runtime micro-benchmarks.
 *
 *   rt_micro [--json | --md] [--reps N] [--only NAME]
 *
 * Each metric is measured --reps times (default 5) after one warm-up
 * repetition; the median is printed next to its target. Build with the
 * release preset; run pinned to one cpu (taskset -c 0 rt_micro) on a quiet
 * machine. Times are wall-clock (CLOCK_MONOTONIC) divided by operations.
 *
 * Metrics:
 *   yield_switch     two tasks ping-pong with cio_yield: ns per switch
 *   yield_ring64     64 tasks yielding in a ring (loop turns amortised)
 *   ctx_switch       raw cio__ctx_switch between two contexts: ns per switch
 *   go_wait_batch    cio_go x 1000 into a group + cio_group_wait: ns per task
 *   spawn_join       cio_spawn + cio_task_join, one at a time: ns per task
 *   sem_pingpong     two tasks hand a permit back and forth (cio_sem): ns per
 *                    hand-off; built only with CIO_BENCH_HAVE_SEM
 *   rss_parked_task  10,000 tasks that touched ~1 KiB of stack, parked in
 *                    cio_sleep: resident KiB per task (VmRSS delta)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <corio/rt.h>

#include "rt/ctx.h"

#define GO_BATCH 1000 /* below the loop's stack pool (1024): warm */
#define PARKED_TASKS 10000
#define MAX_REPS 21

struct metric {
    const char *name;
    const char *what;
    const char *unit;
    double target; /* < 0: none */
    double reps[MAX_REPS];
    int nreps;
    double median;
    int failed; /* a runtime call failed: no number */
};

static int nreps = 5;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ------------------------------------------------------------- yield */

struct yield_arg {
    long n;
};

static void yielder(void *arg)
{
    const struct yield_arg *a = arg;
    for (long i = 0; i < a->n; i++)
        if (cio_yield() < 0)
            return;
}

/*
 * ntasks tasks each yield n times: ns per yield, i.e. per switch from one
 * task to the next, including whatever loop turns the runtime takes between
 * them (that is what an application pays).
 */
static double yield_once(int ntasks, long n)
{
    struct yield_arg a = {.n = n};
    cio_group *g;
    double t0, t1, r = -1;

    if (cio_group_new(&g) < 0)
        return -1;
    t0 = now_ns();
    for (int i = 0; i < ntasks; i++)
        if (cio_go(g, yielder, &a) < 0)
            goto out; /* freeing g cancels the others */
    if (cio_group_wait(g, CIO_NEVER) == 0) {
        t1 = now_ns();
        r = (t1 - t0) / ((double)ntasks * (double)n);
    }
out:
    cio_group_free(g);
    return r;
}

struct rep_ctx {
    struct metric *m;
    double (*once)(void *arg);
    void *arg;
};

/* Runs inside a task: one warm-up, then m->nreps measured repetitions. */
static int run_reps(void *arg)
{
    struct rep_ctx *c = arg;
    if (c->once(c->arg) < 0)
        return -1;
    for (int i = 0; i < nreps; i++) {
        double v = c->once(c->arg);
        if (v < 0)
            return -1;
        c->m->reps[c->m->nreps++] = v;
    }
    return 0;
}

static void measure_in_loop(struct metric *m, double (*once)(void *), void *arg)
{
    struct rep_ctx c = {.m = m, .once = once, .arg = arg};
    if (cio_run(run_reps, &c) != 0)
        m->failed = 1;
}

static double yield_pair(void *arg)
{
    (void)arg;
    return yield_once(2, 500000);
}

static double yield_ring(void *arg)
{
    (void)arg;
    return yield_once(64, 16000);
}

/* ------------------------------------------------------------- raw ctx */

static struct cio__ctx main_ctx, co_ctx;
static _Alignas(64) char co_stack[64 * 1024];

static void co_entry(void *arg)
{
    (void)arg;
    for (;;)
        cio__ctx_switch(&co_ctx, &main_ctx);
}

static double ctx_raw(void *arg)
{
    const long n = 5000000;
    double t0, t1;
    (void)arg;

    cio__ctx_make(&co_ctx, co_stack, sizeof(co_stack), co_entry, NULL);
    t0 = now_ns();
    for (long i = 0; i < n; i++)
        cio__ctx_switch(&main_ctx, &co_ctx);
    t1 = now_ns();
    return (t1 - t0) / (2.0 * (double)n);
}

static void measure_plain(struct metric *m, double (*once)(void *), void *arg)
{
    once(arg);
    for (int i = 0; i < nreps; i++)
        m->reps[m->nreps++] = once(arg);
}

/* ------------------------------------------------------------- spawn */

static void empty_v(void *arg)
{
    (void)arg;
}

static int empty_i(void *arg)
{
    (void)arg;
    return 0;
}

static double go_wait_batch(void *arg)
{
    const int batches = 200;
    cio_group *g;
    double t0, t1;
    (void)arg;

    if (cio_group_new(&g) < 0)
        return -1;
    t0 = now_ns();
    for (int b = 0; b < batches; b++) {
        for (int k = 0; k < GO_BATCH; k++)
            if (cio_go(g, empty_v, NULL) < 0)
                goto fail;
        if (cio_group_wait(g, CIO_NEVER) < 0)
            goto fail;
    }
    t1 = now_ns();
    cio_group_free(g);
    return (t1 - t0) / ((double)batches * GO_BATCH);

fail:
    cio_group_free(g);
    return -1;
}

/* Each spawn allocates a handle that lives until its group is freed, so a
 * group serves GO_BATCH tasks: its new/free is part of the cost. */
static double spawn_join(void *arg)
{
    const int batches = 100;
    double t0, t1;
    (void)arg;

    t0 = now_ns();
    for (int b = 0; b < batches; b++) {
        cio_group *g;
        if (cio_group_new(&g) < 0)
            return -1;
        for (int k = 0; k < GO_BATCH; k++) {
            cio_task *t;
            int r;
            if (cio_spawn(g, empty_i, NULL, NULL, &t) < 0 ||
                cio_task_join(t, CIO_NEVER, &r) < 0) {
                cio_group_free(g);
                return -1;
            }
        }
        cio_group_free(g);
    }
    t1 = now_ns();
    return (t1 - t0) / ((double)batches * GO_BATCH);
}

/* ------------------------------------------------------------- sem */

#ifdef CIO_BENCH_HAVE_SEM
struct sem_arg {
    cio_sem *ping, *pong;
    long n;
};

static void sem_a(void *arg)
{
    struct sem_arg *a = arg;
    for (long i = 0; i < a->n; i++) {
        cio_sem_release(a->ping);
        if (cio_sem_acquire(a->pong, CIO_NEVER) < 0)
            return;
    }
}

static void sem_b(void *arg)
{
    struct sem_arg *a = arg;
    for (long i = 0; i < a->n; i++) {
        if (cio_sem_acquire(a->ping, CIO_NEVER) < 0)
            return;
        cio_sem_release(a->pong);
    }
}

static double sem_pingpong(void *arg)
{
    struct sem_arg a = {.n = 250000};
    cio_group *g;
    double t0, t1, r = -1;
    (void)arg;

    if (cio_sem_new(&a.ping, 0) < 0)
        return -1;
    if (cio_sem_new(&a.pong, 0) < 0)
        goto fail_ping;
    if (cio_group_new(&g) < 0)
        goto fail_pong;
    t0 = now_ns();
    if (cio_go(g, sem_a, &a) == 0 && cio_go(g, sem_b, &a) == 0) {
        cio_group_wait(g, CIO_NEVER);
        t1 = now_ns();
        r = (t1 - t0) / (2.0 * (double)a.n);
    }
    cio_group_free(g);
fail_pong:
    cio_sem_free(a.pong);
fail_ping:
    cio_sem_free(a.ping);
    return r;
}
#endif

/* ------------------------------------------------------------- memory */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

struct park_ctx {
    int parked;
    cio_time until;
    double kib_per_task;
};

static void parker(void *arg)
{
    struct park_ctx *p = arg;
    /* a little stack, written so that its pages are really resident */
    volatile char buf[1024];
    for (size_t i = 0; i < sizeof(buf); i += 64)
        buf[i] = (char)i;
    p->parked++;
    cio_sleep(p->until);
}

static int parked_main(void *arg)
{
    struct park_ctx *p = arg;
    cio_group *g;
    long before, after;
    int rc = 0;

    p->parked = 0;
    p->until = cio_after(30000);
    before = rss_kib();
    if (cio_group_new(&g) < 0)
        return -1;
    for (int i = 0; i < PARKED_TASKS; i++) {
        if (cio_go(g, parker, p) < 0) {
            rc = -1;
            break;
        }
    }
    /* bounded: every task parks within a few loop turns */
    for (int i = 0; rc == 0 && p->parked < PARKED_TASKS && i < 100000; i++)
        cio_yield();
    after = rss_kib();
    if (rc == 0 && (p->parked < PARKED_TASKS || before < 0 || after < 0))
        rc = -1;
    p->kib_per_task = (double)(after - before) / PARKED_TASKS;
    cio_group_free(g); /* cancels the sleepers */
    return rc;
}

/* One fresh loop per repetition: no stacks pooled from an earlier one. */
static void measure_rss(struct metric *m)
{
    for (int i = 0; i < nreps; i++) {
        struct park_ctx p = {0};
        if (cio_run(parked_main, &p) != 0) {
            m->failed = 1;
            return;
        }
        m->reps[m->nreps++] = p.kib_per_task;
    }
}

/* ------------------------------------------------------------- output */

static const char *verdict(const struct metric *m)
{
    if (m->failed)
        return "FAILED";
    if (m->target < 0)
        return "-";
    return m->median <= m->target ? "ok" : "MISS";
}

/* small values (KiB per task) need more digits than nanoseconds */
static int prec(const struct metric *m)
{
    return m->median < 10 ? 2 : 1;
}

static void print_text(const struct metric *ms, int n)
{
    printf("%-16s %10s  %-14s %8s  %-6s  %s\n", "metric", "median", "unit",
           "target", "", "what (repetitions)");
    for (int i = 0; i < n; i++) {
        const struct metric *m = &ms[i];
        char tgt[32] = "-";
        if (m->target >= 0)
            snprintf(tgt, sizeof(tgt), "<= %g", m->target);
        printf("%-16s %10.*f  %-14s %8s  %-6s  %s (", m->name, prec(m),
               m->failed ? 0.0 : m->median, m->unit, tgt, verdict(m), m->what);
        for (int k = 0; k < m->nreps; k++)
            printf("%s%.*f", k ? " " : "", prec(m), m->reps[k]);
        printf(")\n");
    }
}

static void print_md(const struct metric *ms, int n)
{
    printf("| metric | median | unit | target | verdict | what |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const struct metric *m = &ms[i];
        char tgt[32] = "-";
        if (m->target >= 0)
            snprintf(tgt, sizeof(tgt), "≤ %g", m->target);
        printf("| %s | %.*f | %s | %s | %s | %s |\n", m->name, prec(m),
               m->failed ? 0.0 : m->median, m->unit, tgt, verdict(m), m->what);
    }
}

static void print_json(const struct metric *ms, int n)
{
    printf("{\"reps\": %d, \"metrics\": [\n", nreps);
    for (int i = 0; i < n; i++) {
        const struct metric *m = &ms[i];
        printf("  {\"name\": \"%s\", \"what\": \"%s\", \"unit\": \"%s\", ",
               m->name, m->what, m->unit);
        if (m->failed)
            printf("\"median\": null, ");
        else
            printf("\"median\": %.3f, ", m->median);
        if (m->target >= 0)
            printf("\"target\": %g, ", m->target);
        else
            printf("\"target\": null, ");
        printf("\"verdict\": \"%s\", \"runs\": [", verdict(m));
        for (int k = 0; k < m->nreps; k++)
            printf("%s%.3f", k ? ", " : "", m->reps[k]);
        printf("]}%s\n", i + 1 < n ? "," : "");
    }
    printf("]}\n");
}

enum how { IN_LOOP, ON_THREAD, FRESH_LOOPS };

static const struct bench {
    const char *name, *what, *unit;
    double target; /* < 0: none */
    enum how how;
    double (*once)(void *arg); /* one repetition: the metric's value */
} benches[] = {
    {"yield_switch", "cio_yield ping-pong, 2 tasks", "ns/switch", 20, IN_LOOP,
     yield_pair},
    {"yield_ring64", "cio_yield, ring of 64 tasks", "ns/switch", -1, IN_LOOP,
     yield_ring},
    {"ctx_switch", "raw cio__ctx_switch ping-pong", "ns/switch", 20, ON_THREAD,
     ctx_raw},
    {"go_wait_batch", "cio_go x1000 + cio_group_wait, warm pool", "ns/task",
     300, IN_LOOP, go_wait_batch},
    {"spawn_join", "cio_spawn + cio_task_join, one at a time", "ns/task", 300,
     IN_LOOP, spawn_join},
#ifdef CIO_BENCH_HAVE_SEM
    {"sem_pingpong", "cio_sem hand-off between 2 tasks", "ns/hand-off", -1,
     IN_LOOP, sem_pingpong},
#endif
    {"rss_parked_task", "10,000 tasks parked in cio_sleep, default stack",
     "KiB/task", 8, FRESH_LOOPS, NULL},
};

#define NBENCH (sizeof(benches) / sizeof(benches[0]))

int main(int argc, char **argv)
{
    enum { TEXT, JSON, MD } fmt = TEXT;
    struct metric ms[NBENCH];
    const char *only = NULL;
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            fmt = JSON;
        } else if (strcmp(argv[i], "--md") == 0) {
            fmt = MD;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            nreps = atoi(argv[++i]);
            if (nreps < 1 || nreps > MAX_REPS) {
                fprintf(stderr, "rt_micro: --reps 1..%d\n", MAX_REPS);
                return 2;
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i]; /* e.g. to profile one metric with perf */
        } else {
            fprintf(
                stderr,
                "usage: rt_micro [--json | --md] [--reps N] [--only NAME]\n");
            return 2;
        }
    }

    for (size_t i = 0; i < NBENCH; i++) {
        const struct bench *b = &benches[i];
        struct metric *m = &ms[n];
        if (only != NULL && strcmp(only, b->name) != 0)
            continue;
        n++;
        memset(m, 0, sizeof(*m));
        m->name = b->name;
        m->what = b->what;
        m->unit = b->unit;
        m->target = b->target;
        if (b->how == IN_LOOP)
            measure_in_loop(m, b->once, NULL);
        else if (b->how == ON_THREAD)
            measure_plain(m, b->once, NULL);
        else
            measure_rss(m);
        if (!m->failed && m->nreps > 0)
            m->median = median(m->reps, m->nreps);
        else
            m->failed = 1;
    }
    if (n == 0) {
        fprintf(stderr, "rt_micro: no metric named %s\n", only);
        return 2;
    }

    if (fmt == JSON)
        print_json(ms, n);
    else if (fmt == MD)
        print_md(ms, n);
    else
        print_text(ms, n);
    for (int i = 0; i < n; i++)
        if (ms[i].failed)
            return 1;
    return 0;
}
