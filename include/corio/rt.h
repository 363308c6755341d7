/* SPDX-License-Identifier: MIT */
#ifndef CORIO_RT_H
#define CORIO_RT_H

/*
 * The corio runtime: one event loop per thread, stackful tasks, structured
 * groups, absolute deadlines, cancellation, synchronisation primitives, an
 * executor for blocking work, cross-thread posting and signals.
 *
 * Threading contract: every object in this header belongs to the loop (the
 * thread) that created it and may only be used from that thread, except where
 * a function says "thread-safe".
 *
 * Blocking contract: a function documented as "blocking" may only be called
 * from inside a task. It parks the calling task, lets the loop run others,
 * and returns when done, when `deadline` passes (CIO_ETIMEDOUT) or when the
 * task is canceled (CIO_ECANCELED). Once a task is canceled, every later
 * blocking call in it returns CIO_ECANCELED at once.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/error.h>

/* ---------------------------------------------------------------- time */

/* Monotonic milliseconds (CLOCK_MONOTONIC); immune to wall-clock jumps. */
typedef int64_t cio_time;
#define CIO_NEVER ((cio_time)-1)

/*
 * The loop's clock, read once per loop turn; inside a task this is cheap and
 * the same for every task run in the same turn. Outside a loop it reads the
 * clock.
 */
CIO_API cio_time cio_now(void);

/* cio_now() + ms, or CIO_NEVER when ms < 0. */
CIO_API cio_time cio_after(int64_t ms);

/* ---------------------------------------------------------------- run */

/*
 * Creates a loop on the calling thread, runs main(arg) as its first task and
 * turns the loop until main returns and every task has finished (a task still
 * alive after main returns is a bug: debug builds report it, then it is
 * canceled and awaited). Returns main's result, or a negative CIO_E* code if
 * the loop could not be created. Like Python's asyncio.run().
 * Errors: CIO_ENOMEM, CIO_EBUSY (a loop already runs on this thread), -errno.
 */
CIO_API int cio_run(int (*main)(void *arg), void *arg);

/* ---------------------------------------------------------------- tasks */

typedef struct cio_group cio_group;
typedef struct cio_task cio_task;
typedef struct cio_loop cio_loop;

struct cio_task_opts {
    size_t stack_size; /* 0 = 64 KiB; rounded up to pages; plus a guard page */
    const char *name;  /* for debug reports; NULL = none; not copied */
};

/*
 * A group (a "nursery") owns the tasks started in it. No task outlives its
 * group: cio_group_free() cancels what is still running and waits for it.
 * The creating task owns the group; canceling that task cancels the group.
 * Errors: CIO_ENOMEM.
 */
CIO_API int cio_group_new(cio_group **out);

/*
 * Starts fn(arg) as a new task in g. The task first runs in a later loop
 * step; cio_go itself never blocks. May also be called from a loop callback
 * (outside any task). On failure fn never runs.
 * Errors: CIO_ENOMEM, CIO_ECANCELED (g is canceled or being freed).
 */
CIO_API int cio_go(cio_group *g, void (*fn)(void *arg), void *arg);

/*
 * Like cio_go for a task that returns a result (0 or a CIO_E* code). The
 * first negative result of any task in g is kept (cio_group_error). If out is
 * not NULL it receives a handle valid until g is freed.
 */
CIO_API int cio_spawn(cio_group *g, int (*fn)(void *arg), void *arg,
                      const struct cio_task_opts *opts, cio_task **out);

/*
 * Blocking. Waits for t to finish and stores its result in *result (if not
 * NULL). Errors: CIO_ETIMEDOUT, CIO_ECANCELED, CIO_EDEADLOCK (t is the caller).
 */
CIO_API int cio_task_join(cio_task *t, cio_time deadline, int *result);

/* If t has finished, stores its result and returns 0; else CIO_EBUSY. */
CIO_API int cio_task_result(const cio_task *t, int *result);

/* Cancels one task (no-op if it has finished). Does not wait. */
CIO_API void cio_task_cancel(cio_task *t);

/*
 * Blocking. Waits until every task in g has finished ("gather").
 * Returns 0, CIO_ETIMEDOUT or CIO_ECANCELED; tasks keep running after a
 * timeout.
 */
CIO_API int cio_group_wait(cio_group *g, cio_time deadline);

/* Cancels every task in g (and their groups, recursively). Does not wait. */
CIO_API void cio_group_cancel(cio_group *g);

/* Number of tasks of g that have not finished yet. */
CIO_API size_t cio_group_count(const cio_group *g);

/* The first negative result returned by a cio_spawn task of g, or 0. */
CIO_API int cio_group_error(const cio_group *g);

/*
 * Cancels the tasks still running in g, waits for all of them (this wait
 * cannot be canceled or time out: cleanup always completes), and frees g.
 * NULL is ignored. May be called from a task or from outside any task only
 * if g is empty.
 */
CIO_API void cio_group_free(cio_group *g);

/* Blocking. Lets every other ready task run once, then continues.
 * Returns 0 or CIO_ECANCELED. */
CIO_API int cio_yield(void);

/* Blocking. Sleeps until deadline. Returns 0, or CIO_ECANCELED. */
CIO_API int cio_sleep(cio_time deadline);

/* Non-zero if the current task has been canceled. */
CIO_API int cio_canceled(void);

/*
 * Registers fn(arg) to run when the current task ends, however it ends
 * (return or cancellation); last registered runs first.
 * Errors: CIO_ENOMEM (fn is then NOT registered), CIO_EINVAL (not in a task).
 */
CIO_API int cio_defer(void (*fn)(void *arg), void *arg);

/* Allocates memory freed automatically when the current task ends.
 * NULL on failure or outside a task. */
CIO_API void *cio_scoped_alloc(size_t size);

/* ---------------------------------------------------------------- sync */
/*
 * Loop-local synchronisation. Waiters are served first come, first served.
 * All *_free functions require that no task waits on the object.
 */

typedef struct cio_mutex cio_mutex;
typedef struct cio_cond cio_cond;
typedef struct cio_event cio_event;
typedef struct cio_sem cio_sem;
typedef struct cio_barrier cio_barrier;
typedef struct cio_chan cio_chan;

CIO_API int cio_mutex_new(cio_mutex **out);
CIO_API int cio_mutex_lock(cio_mutex *m, cio_time deadline); /* blocking */
CIO_API int cio_mutex_trylock(cio_mutex *m); /* 0 or CIO_EBUSY */
CIO_API void cio_mutex_unlock(cio_mutex *m); /* caller must own it */
CIO_API void cio_mutex_free(cio_mutex *m);

CIO_API int cio_cond_new(cio_cond **out);
/* Blocking. Unlocks m, waits for a signal, relocks m (also on error; the
 * relock ignores cancellation and the deadline). */
CIO_API int cio_cond_wait(cio_cond *c, cio_mutex *m, cio_time deadline);
CIO_API void cio_cond_signal(cio_cond *c);
CIO_API void cio_cond_broadcast(cio_cond *c);
CIO_API void cio_cond_free(cio_cond *c);

CIO_API int cio_event_new(cio_event **out);
CIO_API int cio_event_wait(cio_event *e, cio_time deadline); /* blocking */
CIO_API void cio_event_set(cio_event *e);                    /* wakes all */
CIO_API void cio_event_clear(cio_event *e);
CIO_API int cio_event_is_set(const cio_event *e);
CIO_API void cio_event_free(cio_event *e);

/* Counting semaphore: asyncio.Semaphore(n). */
CIO_API int cio_sem_new(cio_sem **out, unsigned permits);
CIO_API int cio_sem_acquire(cio_sem *s, cio_time deadline); /* blocking */
CIO_API int cio_sem_tryacquire(cio_sem *s);                 /* 0 or CIO_EBUSY */
CIO_API void cio_sem_release(cio_sem *s);
CIO_API unsigned cio_sem_value(const cio_sem *s);
CIO_API void cio_sem_free(cio_sem *s);

/*
 * asyncio.Barrier(parties): the parties-th arrival releases every waiter in
 * the same loop turn; the barrier then resets for the next cycle. Returns the
 * arrival index (0 .. parties-1) or CIO_ETIMEDOUT / CIO_ECANCELED (that
 * waiter leaves; the others keep waiting).
 */
CIO_API int cio_barrier_new(cio_barrier **out, unsigned parties);
CIO_API int cio_barrier_wait(cio_barrier *b, cio_time deadline); /* blocking */
CIO_API void cio_barrier_free(cio_barrier *b);

/*
 * Bounded channel of fixed-size elements (copied). capacity 0 = unbuffered
 * (a send completes when a receiver takes the value). After cio_chan_close,
 * sends fail with CIO_ECLOSED and receives drain what is buffered, then fail
 * with CIO_ECLOSED.
 */
CIO_API int cio_chan_new(cio_chan **out, size_t elem_size, size_t capacity);
CIO_API int cio_chan_send(cio_chan *c, const void *elem, cio_time deadline);
CIO_API int cio_chan_recv(cio_chan *c, void *elem, cio_time deadline);
CIO_API void cio_chan_close(cio_chan *c);
CIO_API void cio_chan_free(cio_chan *c);

/* ---------------------------------------------------------------- executor */

/*
 * A blocking job for the executor (a process-wide thread pool).
 * fn runs on a pool thread, which has no loop: it must not use the
 * caller's tasks, streams or sync objects (they belong to the caller's
 * loop). It may run a loop of its own from start to end with cio_run()
 * (cio_fetch does), like any other thread without a loop.
 */
struct cio_job {
    void *(*fn)(void *arg);
    void *arg;
    /* Called exactly once whenever cio_blocking_job fails (canceled, timed
     * out, ENOMEM ...): with fn's result if fn ran (possibly later, on a pool
     * thread or in a later loop turn), or with NULL if fn never ran (before
     * cio_blocking_job returns). So dispose may own arg. On success it is
     * not called. Must not call corio runtime functions. NULL = none. */
    void (*dispose)(void *result, void *arg);
    cio_time deadline; /* 0 or CIO_NEVER = none */
};

/*
 * Blocking. Runs fn(arg) on the executor and parks the caller until it is
 * done (asyncio's run_in_executor); *out (if not NULL) receives fn's result.
 * If the caller is canceled it returns CIO_ECANCELED at once; a job that has
 * not started is dropped, one that has started finishes and its result goes
 * to job->dispose.
 * Errors: CIO_ECANCELED, CIO_ETIMEDOUT, CIO_ENOMEM, CIO_EINVAL (not in a task).
 */
CIO_API int cio_blocking(void *(*fn)(void *arg), void *arg, void **out);
CIO_API int cio_blocking_job(const struct cio_job *job, void **out);

/* Sets the executor's maximum thread count (default: max(4, 2 * cores), or
 * the CIO_EXECUTOR_THREADS environment variable); 0 restores the default.
 * Threads above a lowered maximum leave when they finish their job.
 * Thread-safe. */
CIO_API void cio_executor_set_max_threads(unsigned n);

/* ---------------------------------------------------------------- loops and threads */

/* The calling thread's loop, or NULL. */
CIO_API cio_loop *cio_loop_current(void);

/*
 * Thread-safe. Runs fn(arg) on loop l, outside any task, in a later turn.
 * fn may start tasks with cio_go. Errors: CIO_ENOMEM, CIO_ECLOSED (l is
 * shutting down; fn will not run).
 */
CIO_API int cio_loop_post(cio_loop *l, void (*fn)(void *arg), void *arg);

/* Thread-safe. Cancels l's main task (and so, structurally, everything). */
CIO_API int cio_loop_cancel(cio_loop *l);

typedef struct cio_thread cio_thread;

/*
 * Starts an OS thread that runs cio_run(main, arg). *out is valid until
 * cio_thread_join returns. Errors: CIO_ENOMEM, -errno from pthread_create.
 */
CIO_API int cio_thread_new(cio_thread **out, int (*main)(void *arg), void *arg);

/* The thread's loop (once it exists: waits for it), or NULL once the
 * thread's main has returned. Thread-safe. The loop is freed when the thread
 * ends: posting to it after that is a use after free, so only post while the
 * thread is known to run (e.g. before asking it to stop and joining it). */
CIO_API cio_loop *cio_thread_loop(cio_thread *t);

/*
 * Waits for the thread to end, stores main's result in *result, frees t.
 * Inside a task this parks only the task (blocking); outside, it blocks the
 * thread. One joiner at a time. Errors: CIO_ETIMEDOUT/CIO_ECANCELED (t stays
 * valid), CIO_EBUSY (another join is in progress), CIO_EDEADLOCK (called on
 * t's own thread).
 */
CIO_API int cio_thread_join(cio_thread *t, cio_time deadline, int *result);

/* ---------------------------------------------------------------- signals */

/*
 * Blocking. Waits for one of the signals in set (SIGINT, SIGTERM, SIGHUP,
 * SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH, SIGCHLD supported) and returns its
 * number (> 0). corio's handler is installed while at least one task waits
 * for a signal and the previous disposition is restored afterwards; a signal
 * that arrives while the handler is installed but no task on a loop waits
 * for it is kept and delivered to the next waiter.
 * Which loop gets it: a loop joins the process's signal table when one of
 * its tasks first waits for a signal and stays in it until it ends; every
 * loop in the table receives each caught signal, and on each loop the first
 * waiter for it takes it (FIFO) or it is kept for the next. Repeats before
 * delivery collapse into one.
 * Errors: CIO_EINVAL (unsupported signal or empty set), CIO_ETIMEDOUT,
 * CIO_ECANCELED, CIO_EBUSY (more than 128 loops use signals), -errno from
 * sigaction.
 */
CIO_API int cio_signal_wait(const sigset_t *set, cio_time deadline);

#endif
