/* SPDX-License-Identifier: MIT */
/*
 * corio demo [--quick]: the seeds' story (the httpx + asyncio article's five
 * instances), measured against an embedded server.
 *
 * The server (httpbin.c, with /getStudentInfo answering after D seconds)
 * runs on its own thread and loop on 127.0.0.1:0 and records when each
 * /getStudentInfo request arrives. The client runs on the main thread with
 * one default cio_client. Each row prints its wall time, the client
 * thread's CPU time (getrusage RUSAGE_THREAD) and the spread of the
 * arrival times at the server (last minus first), which shows whether the
 * requests really went out together.
 *
 * A "lookup" is the seed's blocking database call (time.sleep of 1, 3 or 5
 * seconds; here usleep of 1, 3 or 5 units of 0.1 s): once wrongly on the
 * loop (it stalls every task), then on the executor with cio_blocking.
 * --quick divides D and the lookups by 10; the last row (1,000 requests to
 * a 200 ms endpoint) is the same in both modes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <corio/corio.h>

#include "cmd.h"
#include "httpbin.h"

#define NREQ 10
#define NMANY 1000
#define MANY_DELAY_S 0.2

struct demo {
    bool quick;
    double delay;  /* D: /getStudentInfo's delay, seconds */
    double unit;   /* one lookup unit, seconds */
    char base[96]; /* http://127.0.0.1:port */

    struct httpbin_arrivals arr;
    struct httpbin_opts hb;

    /* The server thread publishes srv (or an error) under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cio_server *srv;
    int srv_rc;
    bool srv_ready;

    cio_client *client;
    cio_sem *sem;
    cio_barrier *barrier;
    size_t ok; /* 200 responses with the right id in the current row */
    int err;   /* first transport error of the current row */
    double total;
};

enum mode { SEQ, GATHER, LOOKUP_LOOP, LOOKUP_EXEC, SEM3, BARRIER, MANY };

struct job {
    struct demo *d;
    int i;
    enum mode mode;
};

/* ---------------------------------------------------------------- server */

static void server_publish(struct demo *d, cio_server *srv, int rc)
{
    pthread_mutex_lock(&d->mu);
    d->srv = srv;
    d->srv_rc = rc;
    d->srv_ready = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static int server_main(void *arg)
{
    struct demo *d = arg;
    cio_app *app;
    cio_server *srv = NULL;
    int rc = cio_app_new(&app);

    if (rc < 0) {
        server_publish(d, NULL, rc);
        return rc;
    }
    rc = httpbin_register(app, &d->hb);
    if (rc == 0)
        rc = cio_server_new(
            &srv, app,
            &(struct cio_server_opts){.listen = "127.0.0.1:0", .workers = 1});
    server_publish(d, rc == 0 ? srv : NULL, rc);
    if (rc == 0) {
        rc = cio_server_run(srv);
        cio_server_free(srv);
    }
    cio_app_free(app);
    return rc;
}

static void stop_server(void *srv)
{
    cio_server_stop(srv);
}

/* ---------------------------------------------------------------- client */

static double thread_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The seed's get_data(): a blocking call of 1, 3 or 5 units. */
static double lookup_s(const struct demo *d, int i)
{
    static const int units[3] = {1, 3, 5};
    return units[i % 3] * d->unit;
}

static void *lookup_fn(void *arg)
{
    usleep((useconds_t)(*(double *)arg * 1e6));
    return NULL;
}

static void fetch(struct demo *d, int id, double delay_override)
{
    char url[192];
    if (delay_override > 0)
        snprintf(url, sizeof(url), "%s/getStudentInfo?id=%d&delay=%g", d->base,
                 id, delay_override);
    else
        snprintf(url, sizeof(url), "%s/getStudentInfo?id=%d", d->base, id);
    cio_response *r;
    int rc = cio_get(d->client, url, NULL, &r);
    if (rc < 0) {
        if (d->err == 0)
            d->err = rc;
        return;
    }
    size_t len;
    const char *body = cio_response_body(r, &len);
    char want[32];
    snprintf(want, sizeof(want), "\"id\":%d,", id);
    if (cio_response_status(r) == 200 && body != NULL &&
        strstr(body, want) != NULL)
        d->ok++;
    cio_response_free(r);
}

static int job_main(void *arg)
{
    struct job *j = arg;
    struct demo *d = j->d;
    double l = lookup_s(d, j->i);
    int rc = 0;

    switch (j->mode) {
    case SEQ:
    case GATHER:
        fetch(d, j->i, 0);
        break;
    case LOOKUP_LOOP:
        /* Wrong on purpose: a blocking call in a task stalls the loop. */
        usleep((useconds_t)(l * 1e6));
        fetch(d, j->i, 0);
        break;
    case LOOKUP_EXEC:
        if ((rc = cio_blocking(lookup_fn, &l, NULL)) == 0)
            fetch(d, j->i, 0);
        break;
    case SEM3:
        if ((rc = cio_sem_acquire(d->sem, CIO_NEVER)) == 0) {
            fetch(d, j->i, 0);
            cio_sem_release(d->sem);
        }
        break;
    case BARRIER:
        if ((rc = cio_blocking(lookup_fn, &l, NULL)) == 0 &&
            (rc = cio_barrier_wait(d->barrier, CIO_NEVER)) >= 0)
            fetch(d, j->i, 0);
        break;
    case MANY:
        fetch(d, j->i, MANY_DELAY_S);
        break;
    }
    if (rc < 0 && d->err == 0)
        d->err = rc;
    return rc < 0 ? rc : 0;
}

/* Runs n jobs of one mode (one after another for SEQ, else gathered) and
 * prints the row. */
static int row(struct demo *d, int num, const char *title, enum mode mode,
               int n, double expect)
{
    struct job *jobs = calloc((size_t)n, sizeof(*jobs));
    cio_group *g = NULL;
    int rc = 0;

    if (jobs == NULL)
        return CIO_ENOMEM;
    pthread_mutex_lock(&d->arr.mu);
    d->arr.n = 0;
    d->arr.dropped = 0;
    pthread_mutex_unlock(&d->arr.mu);
    d->ok = 0;
    d->err = 0;

    double t0 = httpbin_now(), c0 = thread_cpu();
    if (mode == SEQ) {
        for (int i = 0; i < n; i++) {
            jobs[i] = (struct job){d, i, mode};
            job_main(&jobs[i]);
        }
    } else if ((rc = cio_group_new(&g)) == 0) {
        for (int i = 0; i < n && rc == 0; i++) {
            jobs[i] = (struct job){d, i, mode};
            rc = cio_spawn(g, job_main, &jobs[i], NULL, NULL);
        }
        int wrc = cio_group_wait(g, CIO_NEVER);
        if (rc == 0)
            rc = wrc;
        cio_group_free(g);
    }
    double wall = httpbin_now() - t0, cpu = thread_cpu() - c0;
    free(jobs);

    pthread_mutex_lock(&d->arr.mu);
    double lo = 0, hi = 0;
    for (size_t i = 0; i < d->arr.n; i++) {
        if (i == 0 || d->arr.t[i] < lo)
            lo = d->arr.t[i];
        if (i == 0 || d->arr.t[i] > hi)
            hi = d->arr.t[i];
    }
    pthread_mutex_unlock(&d->arr.mu);

    d->total += wall;
    printf("%2d  %-44s %5d %5zu %8.2f s %8.2f s %9.1f ms %9.3f s\n", num, title,
           n, d->ok, wall, expect, cpu * 1e3, hi - lo);
    fflush(stdout);
    if (rc == 0 && d->err < 0)
        rc = d->err;
    if (rc < 0)
        fprintf(stderr, "corio demo: row %d: %s: %s\n", num, cio_strerror(rc),
                cio_last_error());
    return rc;
}

static int demo_main(void *arg)
{
    struct demo *d = arg;
    double D = d->delay, u = d->unit;
    int rc;

    /* Default settings on purpose: the last row is the pool-limit check. */
    if ((rc = cio_client_new(&d->client, NULL)) < 0)
        return rc;
    if ((rc = cio_sem_new(&d->sem, 3)) < 0)
        goto fail_client;
    if ((rc = cio_barrier_new(&d->barrier, NREQ)) < 0)
        goto fail_sem;

    printf("corio demo%s: the seeds' story against an embedded server at %s\n"
           "/getStudentInfo answers after %.2f s; a lookup is a blocking "
           "usleep of %.2f, %.2f "
           "or %.2f s\n(the seed's database call); client CPU is the client "
           "thread's "
           "(getrusage RUSAGE_THREAD);\narrival spread = last minus first "
           "request arrival at "
           "the server.\n\n",
           d->quick ? " --quick" : "", d->base, D, u, 3 * u, 5 * u);
    printf("%2s  %-44s %5s %5s %10s %10s %12s %11s\n", "#", "scenario", "reqs",
           "ok", "wall", "expected", "client CPU", "spread");

    double sum_lookups = 0;
    for (int i = 0; i < NREQ; i++)
        sum_lookups += lookup_s(d, i);
    struct {
        const char *title;
        enum mode mode;
        int n;
        double expect;
    } rows[] = {
        {"one after another (the for loop)", SEQ, NREQ, NREQ * D},
        {"gathered (cio_spawn + cio_group_wait)", GATHER, NREQ, D},
        {"lookup blocks the loop (usleep in the task)", LOOKUP_LOOP, NREQ,
         sum_lookups + D},
        {"lookup on the executor (cio_blocking)", LOOKUP_EXEC, NREQ, 5 * u + D},
        {"semaphore of 3 (cio_sem): 4 waves", SEM3, NREQ, 4 * D},
        {"executor lookup + barrier (cio_barrier)", BARRIER, NREQ, 5 * u + D},
        {"1,000 x 200 ms gathered, default client", MANY, NMANY, MANY_DELAY_S},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++)
        rc = row(d, (int)i + 1, rows[i].title, rows[i].mode, rows[i].n,
                 rows[i].expect);

    if (rc == 0) {
        struct cio_pool_stats ps;
        cio_client_pool_stats(d->client, &ps);
        printf("\ntotal %.2f s. Rows 1-2: gathering turns N x D into D. Row 3: "
               "a blocking call "
               "on the loop\nserialises everything (and spreads the arrivals); "
               "row 4 moves it to "
               "the executor; row 6's\nbarrier makes the requests leave "
               "together again (spread "
               "~0). Row 7: %u connections at once\n(pool max_active), %" PRIu64
               " ms spent waiting for a pool slot: no waves of 100.\n",
               d->total, ps.max_active, ps.wait_ms_total);
    }
    cio_barrier_free(d->barrier);
fail_sem:
    cio_sem_free(d->sem);
fail_client:
    cio_client_free(d->client);
    return rc;
}

/* 1,000 client connections plus 1,000 server ones need more descriptors
 * than the common soft limit of 1,024: raise it towards the hard limit. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 8192
                          ? 8192
                          : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_demo(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct demo d = {.delay = 1.0, .unit = 0.1};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'q':
            d.quick = true;
            break;
        case 'h':
            printf("usage: corio demo [--quick]\n\nThe seeds' concurrency "
                   "story, measured "
                   "against an embedded server\n(~20 s; --quick divides the "
                   "delays by 10).\n");
            return 0;
        default:
            return 1;
        }
    }
    if (d.quick) {
        d.delay /= 10;
        d.unit /= 10;
    }
    raise_nofile();
    /* The seed's ThreadPoolExecutor(max_workers=10): one thread per lookup
     * (the default, max(4, 2 x cores), would run rows 4 and 6 in waves). */
    cio_executor_set_max_threads(NREQ);
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    pthread_mutex_init(&d.arr.mu, NULL);
    d.arr.cap = 2 * NMANY;
    d.arr.t = calloc(d.arr.cap, sizeof(double));
    d.hb = (struct httpbin_opts){.student_delay_ms =
                                     (uint32_t)(d.delay * 1000 + 0.5),
                                 .arrivals = &d.arr};
    int rc = d.arr.t != NULL ? 0 : CIO_ENOMEM;

    cio_thread *t = NULL;
    if (rc == 0)
        rc = cio_thread_new(&t, server_main, &d);
    if (rc == 0) {
        pthread_mutex_lock(&d.mu);
        while (!d.srv_ready)
            pthread_cond_wait(&d.cv, &d.mu);
        pthread_mutex_unlock(&d.mu);
        rc = d.srv_rc;
    }
    if (rc == 0) {
        snprintf(d.base, sizeof(d.base), "http://%s",
                 cio_server_addr(d.srv, 0));
        rc = cio_run(demo_main, &d);
        /* Stop from the server's own thread: cio_server_stop reads srv after
         * posting the stop, and the server thread frees srv as soon as
         * cio_server_run returns, so calling it from here would race. */
        cio_loop *sl = cio_thread_loop(t);
        if (sl == NULL || cio_loop_post(sl, stop_server, d.srv) < 0)
            cio_server_stop(d.srv);
    }
    if (t != NULL)
        cio_thread_join(t, CIO_NEVER, NULL);
    free(d.arr.t);
    pthread_mutex_destroy(&d.arr.mu);
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    if (rc < 0) {
        fprintf(stderr, "corio demo: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return 1;
    }
    return 0;
}
