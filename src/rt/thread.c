/* SPDX-License-Identifier: MIT */
/*
 * OS threads that each run their own loop (cio_run), and joining them.
 *
 * A task that joins parks; the ending thread wakes it by posting a small
 * join request (struct join_req) to the joiner's loop. The request, not the
 * cio_thread, travels through the post queue, so a joiner that timed out can
 * leave (and someone else can join and free the thread) while the wake-up
 * is still queued:
 *
 *   joiner registers jr (t->jreq = jr, under t->mu) and parks
 *     -> thread ends first: under t->mu it takes jr and posts it to the
 *        joiner's loop (the loop is alive: its task is parked, and the
 *        joiner cannot leave without t->mu); join_wake wakes the task
 *        (if still parked) and frees jr
 *     -> joiner leaves first (timeout, cancel): under t->mu it finds
 *        t->jreq == jr, clears it and frees jr; or finds it gone (already
 *        posted) and sets jr->w = NULL, so join_wake only frees jr
 */
#include <errno.h>
#include <time.h>

#include "base/alloc.h"
#include "rt/rt_int.h"

struct join_req {
    struct cio__post post;
    struct cio__wait
        *w; /* joiner's wait; NULL once it left (its loop thread) */
    struct cio_loop *loop; /* joiner's loop */
    struct cio_thread *t;  /* only read by join_unlink, while t is valid */
};

struct cio_thread {
    pthread_t th;
    int (*main)(void *arg);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* started or done changed */
    struct cio_loop *loop; /* the thread's loop while main runs, else NULL */
    struct join_req *jreq; /* a parked task joiner, or NULL */
    int result;
    uint8_t started; /* loop is known (NULL if cio_run failed) */
    uint8_t done;
    uint8_t joining; /* a cio_thread_join is in progress */
};

static int thread_main(void *arg)
{
    struct cio_thread *t = arg;
    int rc;

    pthread_mutex_lock(&t->mu);
    t->loop = cio_loop_current();
    t->started = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    rc = t->main(t->arg);
    /* The loop is about to be torn down: stop handing it out. */
    pthread_mutex_lock(&t->mu);
    t->loop = NULL;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static void *thread_entry(void *arg)
{
    struct cio_thread *t = arg;
    struct join_req *jr;
    int rc = cio_run(thread_main, t);

    pthread_mutex_lock(&t->mu);
    t->loop = NULL;
    t->started = 1;
    t->done = 1;
    t->result = rc;
    jr = t->jreq;
    t->jreq = NULL;
    /* Posting under t->mu: see the top comment. A parked joiner's loop
     * cannot be closing, so the post cannot fail; if it did, nobody waits. */
    if (jr != NULL && cio__loop_post(jr->loop, &jr->post) < 0)
        cio__free(jr);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int cio_thread_new(cio_thread **out, int (*main)(void *), void *arg)
{
    struct cio_thread *t;
    pthread_condattr_t ca;
    int rc;

    if (out == NULL || main == NULL)
        return CIO_EINVAL;
    t = cio__calloc(1, sizeof(*t));
    if (t == NULL)
        return CIO_ENOMEM;
    t->main = main;
    t->arg = arg;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&t->th, NULL, thread_entry, t);
    if (rc != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        cio__free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

cio_loop *cio_thread_loop(cio_thread *t)
{
    struct cio_loop *l;

    pthread_mutex_lock(&t->mu);
    while (!t->started)
        pthread_cond_wait(&t->cv, &t->mu);
    l = t->loop;
    pthread_mutex_unlock(&t->mu);
    return l;
}

/* Joiner's loop thread. */
static void join_wake(struct cio__post *p)
{
    struct join_req *jr = CIO_CONTAINER_OF(p, struct join_req, post);

    if (jr->w != NULL)
        cio__wake(jr->w->task, 0);
    cio__free(jr);
}

/* Joiner's loop thread: its park ends by deadline or cancellation. */
static void join_unlink(struct cio__wait *w)
{
    struct join_req *jr = w->data;
    struct cio_thread *t = jr->t;

    pthread_mutex_lock(&t->mu);
    if (t->jreq == jr) {
        t->jreq = NULL;
        pthread_mutex_unlock(&t->mu);
        cio__free(jr);
        return;
    }
    pthread_mutex_unlock(&t->mu);
    jr->w = NULL; /* posted already: join_wake frees it */
}

/* t->mu held; returns with it held. */
static int join_park(struct cio_thread *t, cio_time deadline)
{
    struct cio__wait w = {0};
    struct join_req *jr;
    int rc;

    jr = cio__calloc(1, sizeof(*jr));
    if (jr == NULL)
        return CIO_ENOMEM;
    jr->post.fn = join_wake;
    jr->w = &w;
    jr->loop = cio__loop();
    jr->t = t;
    w.unlink = join_unlink;
    w.data = jr;
    t->jreq = jr;
    pthread_mutex_unlock(&t->mu);
    rc = cio__park(&w, deadline, 0);
    pthread_mutex_lock(&t->mu);
    return rc;
}

/* t->mu held; returns with it held. */
static int join_block(struct cio_thread *t, cio_time deadline)
{
    struct timespec ts;

    if (deadline >= 0) {
        ts.tv_sec = deadline / 1000;
        ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
    }
    while (!t->done) {
        if (deadline < 0) {
            pthread_cond_wait(&t->cv, &t->mu);
        } else if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT &&
                   !t->done) {
            return CIO_ETIMEDOUT;
        }
    }
    return 0;
}

int cio_thread_join(cio_thread *t, cio_time deadline, int *result)
{
    int rc = 0, res;

    if (t == NULL)
        return CIO_EINVAL;
    if (pthread_equal(pthread_self(), t->th))
        return CIO_EDEADLOCK;
    pthread_mutex_lock(&t->mu);
    if (t->joining) {
        pthread_mutex_unlock(&t->mu);
        return CIO_EBUSY;
    }
    if (!t->done) {
        t->joining = 1;
        if (cio__current() != NULL)
            rc = join_park(t, deadline);
        else
            rc = join_block(t, deadline);
        t->joining = 0;
    }
    if (rc < 0) {
        pthread_mutex_unlock(&t->mu);
        return rc;
    }
    res = t->result;
    pthread_mutex_unlock(&t->mu);
    /* done is set as the thread's last step: this returns promptly. */
    pthread_join(t->th, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    cio__free(t);
    if (result != NULL)
        *result = res;
    return 0;
}
