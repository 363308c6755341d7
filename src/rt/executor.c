/* SPDX-License-Identifier: MIT */
/*
 * The executor: one process-wide pool of threads for blocking work
 * (asyncio's run_in_executor). A task hands a job to the pool and parks; a
 * pool thread runs fn and sends the result back to the task's loop with an
 * intrusive cio__post (no allocation on the completion path), which wakes
 * the loop through its eventfd.
 *
 * Threads start lazily, one more whenever the queue holds more jobs than
 * there are idle threads, up to `max`; a thread idle for IDLE_MS leaves.
 * Pool threads block every asynchronous signal, so process-directed signals
 * reach the loop threads (see signal.c).
 *
 * A job's state (pool.mu guards `state`, `loop`, the queue and the lists):
 *
 *            submit
 *              |
 *              v      caller leaves (cancel, timeout)
 *          QUEUED -------------------------------------> DROPPED
 *              |      off the queue; the caller calls dispose(NULL, arg)
 *              |      and frees the job: fn never runs
 *   a worker   |
 *   dequeues   v      caller leaves, or its loop ends
 *          RUNNING ------------------------------------> ORPHAN
 *              |      loop = NULL: nothing will touch the loop again; when
 *              |      fn returns the worker calls dispose(result, arg) and
 *              |      frees the job
 *   fn returns |
 *              v
 *           DONE: the worker queues job->post on the loop *while holding
 *              |  pool.mu*, so the loop cannot be freed under it (a dying
 *              |  loop calls cio__executor_loop_fini, which takes pool.mu)
 *              |
 *   post runs  v  on the loop thread, where every later access happens:
 *              -> caller still parked: woken with 0, it takes the result
 *                 and frees the job
 *              -> caller left after DONE (job->gone, set by job_unlink on
 *                 the same thread): the post handler disposes and frees
 *
 * Races this settles:
 * - cancel while a worker dequeues: both sides take pool.mu, so the caller
 *   sees QUEUED (and removes it before any worker can) or RUNNING.
 * - cancel while fn returns: under pool.mu the worker sees ORPHAN (dispose
 *   on the pool thread) or the caller sees DONE (dispose on the loop).
 * - loop destroyed while a job completes: cio__executor_loop_fini takes
 *   pool.mu (always, even when l->njobs == 0: a worker may still be inside
 *   cio__loop_post after the post already ran), orphans every RUNNING job of
 *   the loop and drops its QUEUED ones; DONE jobs sit in the loop's post
 *   queue, which loop_fini drains afterwards.
 * l->njobs counts jobs that still point at l; it is touched only on the
 * loop thread.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "rt/rt_int.h"

#define MAX_THREADS 1024u
#define IDLE_MS 10000

enum job_state { J_QUEUED, J_RUNNING, J_DONE, J_DROPPED, J_ORPHAN };

struct job {
    struct cio__post post; /* queued on loop once DONE */
    struct cio__list
        node; /* pool.queue (QUEUED), pool.running (RUNNING, ORPHAN) */
    struct cio__wait w; /* the parked caller; w.data -> its `dropped` flag */
    struct cio_job spec;
    void *result;          /* valid once DONE */
    struct cio_loop *loop; /* owner; NULL once ORPHAN */
    int state;             /* enum job_state */
    uint8_t gone;          /* loop thread: the caller left after DONE */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job was queued, or max was lowered */
    pthread_condattr_t cvattr;
    struct cio__list queue;
    struct cio__list running;
    size_t nqueued;
    unsigned nthreads; /* alive, idle or not */
    unsigned nidle;    /* waiting on cv */
    unsigned max;
    unsigned max_default;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static unsigned default_max(void)
{
    const char *env = getenv("CIO_EXECUTOR_THREADS");
    long ncpu;

    if (env != NULL && env[0] != '\0') {
        char *end;
        unsigned long n = strtoul(env, &end, 10);
        if (*end == '\0' && n >= 1 && n <= MAX_THREADS)
            return (unsigned)n;
    }
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 2)
        return 4;
    if (ncpu >= (long)MAX_THREADS / 2)
        return MAX_THREADS;
    return (unsigned)ncpu * 2;
}

/*
 * After fork() the child has none of the pool's threads: forget them, or
 * nthreads == max would keep new jobs queued forever. Jobs that were running
 * in the parent never finish in the child; their callers time out or are
 * canceled, and those jobs leak (the child usually execs).
 */
static void fork_prepare(void)
{
    pthread_mutex_lock(&pool.mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&pool.mu);
}

static void fork_child(void)
{
    pool.nthreads = 0;
    pool.nidle = 0;
    pthread_cond_init(&pool.cv, &pool.cvattr);
    pthread_mutex_unlock(&pool.mu);
}

static void pool_init(void)
{
    pthread_condattr_init(&pool.cvattr);
    pthread_condattr_setclock(&pool.cvattr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool.cv, &pool.cvattr);
    cio__list_init(&pool.queue);
    cio__list_init(&pool.running);
    pool.max_default = default_max();
    if (pool.max == 0)
        pool.max = pool.max_default;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void *worker(void *unused);

/* pool.mu held. */
static int spawn_thread(void)
{
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    int rc;

    /* The new thread inherits the mask: it never runs a signal handler, so
     * a blocking fn is not interrupted and signals go to loop threads.
     * Synchronous fault signals stay deliverable. */
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGABRT);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&th, &attr, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    pool.nthreads++;
    return 0;
}

/* pool.mu held. Starts threads while queued jobs outnumber idle threads. A
 * failure is returned only if no thread at all exists to run the queue. */
static int grow(void)
{
    while (pool.nqueued > pool.nidle && pool.nthreads < pool.max) {
        int rc = spawn_thread();
        if (rc < 0)
            return pool.nthreads == 0 ? rc : 0;
    }
    return 0;
}

static void finish_orphan(struct job *j, void *result)
{
    if (j->spec.dispose != NULL)
        j->spec.dispose(result, j->spec.arg);
    cio__free(j);
}

static void *worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        struct cio__list *n;
        struct job *j;
        void *result;

        if (pool.nthreads > pool.max) {
            /* A wake-up meant for a job may have come to us: pass it on. */
            if (!cio__list_empty(&pool.queue))
                pthread_cond_signal(&pool.cv);
            break;
        }
        n = cio__list_pop_front(&pool.queue);
        if (n == NULL) {
            struct timespec ts;
            int rc;

            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += IDLE_MS / 1000;
            pool.nidle++;
            rc = pthread_cond_timedwait(&pool.cv, &pool.mu, &ts);
            pool.nidle--;
            if (rc == ETIMEDOUT && cio__list_empty(&pool.queue))
                break;
            continue;
        }
        pool.nqueued--;
        j = CIO_CONTAINER_OF(n, struct job, node);
        j->state = J_RUNNING;
        cio__list_push_back(&pool.running, &j->node);
        pthread_mutex_unlock(&pool.mu);

        result = j->spec.fn(j->spec.arg);

        pthread_mutex_lock(&pool.mu);
        cio__list_remove(&j->node);
        if (j->state == J_RUNNING) {
            j->result = result;
            j->state = J_DONE;
            /* Still under pool.mu: see the state machine above. After this
             * call the job belongs to the loop; do not touch it. */
            if (cio__loop_post(j->loop, &j->post) == 0)
                continue;
            /* Unreachable: a loop closes its post queue only after
             * cio__executor_loop_fini orphaned this job. Be safe anyway. */
            j->state = J_ORPHAN;
        }
        pthread_mutex_unlock(&pool.mu);
        finish_orphan(j, result);
        pthread_mutex_lock(&pool.mu);
    }
    pool.nthreads--;
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

/* Loop thread: the completion post. */
static void job_done(struct cio__post *p)
{
    struct job *j = CIO_CONTAINER_OF(p, struct job, post);

    j->loop->njobs--;
    if (!j->gone) {
        cio__wake(j->w.task, 0); /* the caller takes the result and frees j */
        return;
    }
    finish_orphan(j, j->result);
}

/* Loop thread: the caller's park ends by deadline or cancellation. */
static void job_unlink(struct cio__wait *w)
{
    struct job *j = CIO_CONTAINER_OF(w, struct job, w);
    struct cio_loop *l = j->loop;

    pthread_mutex_lock(&pool.mu);
    switch (j->state) {
    case J_QUEUED:
        cio__list_remove(&j->node);
        pool.nqueued--;
        j->state = J_DROPPED;
        *(uint8_t *)w->data = 1;
        l->njobs--;
        break;
    case J_RUNNING:
        j->state = J_ORPHAN;
        j->loop = NULL;
        l->njobs--;
        break;
    case J_DONE:
        j->gone = 1; /* the post is queued on l; job_done disposes */
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&pool.mu);
    /* From here on j may already be freed by a worker (ORPHAN). */
}

int cio_blocking_job(const struct cio_job *spec, void **out)
{
    struct cio_loop *l = cio__loop();
    struct cio__task *self = l != NULL ? l->cur : NULL;
    cio_time deadline;
    struct job *j;
    uint8_t dropped = 0;
    int rc;

    if (spec == NULL)
        return CIO_EINVAL;
    deadline = spec->deadline == 0 ? CIO_NEVER : spec->deadline;
    if (spec->fn == NULL || self == NULL) {
        rc = CIO_EINVAL;
        goto fail_unrun;
    }
    /* cio__park would catch these too, but only after fn was queued. */
    if (self->canceled) {
        rc = CIO_ECANCELED;
        goto fail_unrun;
    }
    if (deadline >= 0 && deadline <= l->now) {
        rc = CIO_ETIMEDOUT;
        goto fail_unrun;
    }
    j = cio__calloc(1, sizeof(*j));
    if (j == NULL) {
        rc = CIO_ENOMEM;
        goto fail_unrun;
    }
    j->post.fn = job_done;
    j->spec = *spec;
    j->loop = l;
    j->state = J_QUEUED;
    j->w.unlink = job_unlink;
    j->w.data = &dropped;

    pthread_once(&pool_once, pool_init);
    pthread_mutex_lock(&pool.mu);
    cio__list_push_back(&pool.queue, &j->node);
    pool.nqueued++;
    if (pool.nidle > 0)
        pthread_cond_signal(&pool.cv);
    rc = grow();
    if (rc < 0) {
        cio__list_remove(&j->node);
        pool.nqueued--;
    }
    pthread_mutex_unlock(&pool.mu);
    if (rc < 0) {
        cio__free(j);
        goto fail_unrun;
    }
    l->njobs++;

    rc = cio__park(&j->w, deadline, 0);
    if (rc == 0) {
        if (out != NULL)
            *out = j->result;
        cio__free(j);
        return 0;
    }
    if (!dropped)
        return rc; /* ORPHAN or DONE+gone: someone else disposes */
    cio__free(j);
fail_unrun:
    if (spec->dispose != NULL)
        spec->dispose(NULL, spec->arg);
    return rc;
}

int cio_blocking(void *(*fn)(void *), void *arg, void **out)
{
    struct cio_job job = {.fn = fn, .arg = arg, .deadline = CIO_NEVER};
    return cio_blocking_job(&job, out);
}

void cio_executor_set_max_threads(unsigned n)
{
    pthread_once(&pool_once, pool_init);
    pthread_mutex_lock(&pool.mu);
    pool.max = n == 0 ? pool.max_default : n > MAX_THREADS ? MAX_THREADS : n;
    /* Surplus idle threads leave; a raised limit may start threads now. */
    pthread_cond_broadcast(&pool.cv);
    grow();
    pthread_mutex_unlock(&pool.mu);
}

void cio__executor_loop_fini(struct cio_loop *l)
{
    struct cio__list dropped;
    struct cio__list *n;

    cio__list_init(&dropped);
    /* Taken even when njobs == 0: it waits out a worker that is still inside
     * cio__loop_post(l) for a job whose post already ran. */
    pthread_mutex_lock(&pool.mu);
    if (l->njobs > 0) {
        for (n = pool.queue.next; n != &pool.queue;) {
            struct job *j = CIO_CONTAINER_OF(n, struct job, node);
            n = n->next;
            if (j->loop != l)
                continue;
            cio__list_remove(&j->node);
            pool.nqueued--;
            j->state = J_DROPPED;
            cio__list_push_back(&dropped, &j->node);
            l->njobs--;
        }
        cio__list_each(it, &pool.running)
        {
            struct job *j = CIO_CONTAINER_OF(it, struct job, node);
            if (j->loop == l && j->state == J_RUNNING) {
                j->state = J_ORPHAN;
                j->loop = NULL;
                l->njobs--;
            }
        }
        /* What is left (DONE) is in l's post queue: loop_fini drains it. */
    }
    pthread_mutex_unlock(&pool.mu);
    while ((n = cio__list_pop_front(&dropped)) != NULL)
        finish_orphan(CIO_CONTAINER_OF(n, struct job, node), NULL);
}
