/* SPDX-License-Identifier: MIT */
#ifndef CIO_RT_INT_H
#define CIO_RT_INT_H

/*
 * Runtime internals shared by src/rt and src/net. Nothing here is installed.
 * See docs/internals/runtime.md for the model and the state diagrams.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <corio/rt.h>

#include "base/list.h"
#include "rt/ctx.h"
#include "rt/poll.h"

#define CIO__DEFAULT_STACK (64u * 1024u)
#define CIO__RUN_BUDGET 1024u /* max tasks resumed by one loop turn */

struct cio__task;
struct cio__fd;

/* ------------------------------------------------------------- timers */

/* A min-heap entry. idx == CIO__TIMER_IDLE when not in the heap. */
#define CIO__TIMER_IDLE ((size_t)-1)
struct cio__timer {
    cio_time when;
    size_t idx;
    void (*cb)(struct cio__timer *t);
};

static inline void cio__timer_init(struct cio__timer *t,
                                   void (*cb)(struct cio__timer *))
{
    t->when = 0;
    t->idx = CIO__TIMER_IDLE;
    t->cb = cb;
}

/* Arms (or re-arms) t to fire at `when` on l. Errors: CIO_ENOMEM. */
int cio__timer_add(struct cio_loop *l, struct cio__timer *t, cio_time when);
void cio__timer_del(struct cio_loop *l, struct cio__timer *t);

/* ------------------------------------------------------------- waiting */

/*
 * A task parked on something. The owner of a wait queue links `node` into its
 * queue, then calls cio__park. To wake the task the owner removes the node
 * (cio__list_remove) and calls cio__wake. If the park ends otherwise (deadline,
 * cancellation), the runtime calls unlink(w) first -- at once, not when the
 * task resumes -- so a wait is always woken exactly once and a primitive never
 * hands a permit to a waiter that already left. unlink == NULL means "remove
 * node if linked".
 */
struct cio__wait {
    struct cio__list node;
    struct cio__task *task;
    void (*unlink)(struct cio__wait *w);
    void *data; /* primitive-specific */
    size_t aux; /* primitive-specific */
};

#define CIO__PARK_UNCANCELABLE 1u

/*
 * Parks the current task until cio__wake, the deadline (CIO_ETIMEDOUT) or
 * cancellation (CIO_ECANCELED; not with CIO__PARK_UNCANCELABLE). w may be
 * NULL for a pure sleep. If the task is already canceled or the deadline has
 * already passed, w is unlinked and the error returned without parking.
 * Must be called from a task. Returns the rc given to cio__wake.
 */
int cio__park(struct cio__wait *w, cio_time deadline, unsigned flags);

/*
 * Sets (fn non-NULL) or clears a hook the current task calls each time it
 * is about to park or yield (cio_yield), before it switches away. A task that serves a queue of
 * work items in turn uses it to hand the rest of the queue to a fresh task
 * when one item blocks (docs/internals/server.md "One task per turn"). The
 * hook runs on the parking task's stack and may spawn tasks; it must not
 * park. Cleared when the task ends. Must be called from a task.
 */
void cio__task_on_park(void (*fn)(void *ud), void *ud);

/* Makes a parked task ready with result rc. No-op if t is not parked. */
void cio__wake(struct cio__task *t, int rc);

/* Wakes every waiter on a list (removing each node) with rc. */
void cio__wake_all(struct cio__list *waiters, int rc);

/* Wakes the first waiter on the list with rc; returns it or NULL. */
struct cio__wait *cio__wake_one(struct cio__list *waiters, int rc);

/* ------------------------------------------------------------- tasks */

enum cio__task_state {
    CIO__T_READY,
    CIO__T_RUNNING,
    CIO__T_PARKED,
    CIO__T_DONE,
};

struct cio__cleanup {
    struct cio__cleanup *next;
    void (*fn)(void *arg); /* NULL: a scoped allocation, free(this) only */
    void *arg;
};

/*
 * A task control block lives at the top of its own stack mapping, so a spawn
 * is one pop from the loop's pool of dead tasks (no malloc, no mmap).
 * Invariants: state == READY <=> on loop->ready; state == PARKED <=> the task
 * is switched out and (wait == NULL or wait->node is on the waited object's
 * queue, or the fd's); timer.idx != IDLE only while PARKED with a deadline.
 */
struct cio__task {
    struct cio__ctx ctx;
    struct cio__list rq;    /* loop->ready, or loop->pool when dead */
    struct cio__list gnode; /* group->tasks while alive */
    struct cio__list lnode; /* loop->tasks while alive */
    struct cio_loop *loop;
    struct cio_group *group;
    struct cio__list owned; /* groups this task created and has not freed */
    void (*vfn)(void *);
    int (*ifn)(void *);
    void *arg;
    struct cio_task *handle; /* result handle, or NULL */
    struct cio__wait *wait;  /* while PARKED; NULL = sleep/yield */
    struct cio__timer timer; /* deadline of the current park */
    struct cio__cleanup *cleanups;
    int wake_rc;
    uint8_t state;        /* enum cio__task_state */
    uint8_t canceled;     /* sticky */
    uint8_t uncancelable; /* current park ignores cancellation */
    /* stack: [map, map + guard) is PROT_NONE; [lo, this) is usable */
    char *map;
    size_t maplen;
    char *lo;
    size_t stack_size; /* requested usable size (pool key) */
    unsigned vg_id;    /* valgrind stack id */
    void *asan_fake;   /* ASan fake-stack handle while switched out */
    void *tsan_fiber;
    const char *name;
    const void *created_by;    /* return address of the spawning call */
    void (*on_park)(void *ud); /* see cio__task_on_park */
    void *on_park_ud;
};

/* The running task, or NULL on the loop's own stack (callbacks). */
struct cio__task *cio__current(void);

/* Cancels t (and its owned groups). Wakes it if parked cancelably. */
void cio__task_cancel(struct cio__task *t);

/* Loop-side helpers in task.c. */
void cio__run_ready(struct cio_loop *l);
void cio__task_release(struct cio_loop *l, struct cio__task *t);
void cio__pool_drain(struct cio_loop *l);
int cio__spawn_main(struct cio_loop *l, int (*fn)(void *), void *arg,
                    struct cio_task **out);
void cio__cancel_all(struct cio_loop *l);

/* ------------------------------------------------------------- stacks */

/* Maps a stack of at least `size` usable bytes with a guard page below and
 * room for the control block above; returns the zeroed control block. */
struct cio__task *cio__stack_new(size_t size);
void cio__stack_free(struct cio__task *t);
/* Installs the SIGSEGV guard-page reporter on this thread (idempotent). */
void cio__stack_guard_install(void);
extern size_t cio__page_size;

/* ------------------------------------------------------------- fds */

#define CIO__IN 1u
#define CIO__OUT 2u

/*
 * A descriptor registered with the loop's poller, embedded in the object
 * that owns the fd (a stream, a listener). Registered once, edge-triggered,
 * for both directions: the interest mask never changes afterwards. The ready
 * bits record edges not yet consumed; I/O code clears a bit when the kernel
 * answers EAGAIN, then parks with cio__fd_wait.
 */
struct cio__fd {
    int fd;
    uint8_t rready, wready;
    uint8_t rdhup; /* the peer's FIN (or an error) was seen */
    uint8_t closing;
    struct cio_loop *loop;
    struct cio__list rwait, wwait; /* struct cio__wait nodes */
    /* internal fds (eventfd) handle events themselves */
    void (*on_event)(struct cio__fd *f, unsigned ev);
    /* one-shot readable callback (cio_stream_on_readable) */
    void (*cb)(struct cio__fd *f, int status, void *ud);
    void *cb_ud;
    struct cio__timer cb_timer; /* lazy: may be due before cb_deadline */
    cio_time cb_deadline;       /* the armed callback's, or -1 */
    struct cio__list pending;   /* loop->pending while the cb is due */
    int cb_status;
    struct cio__list dnode; /* loop->fds (leak report) */
    const void *created_by;
};

/* Makes fd non-blocking and registers it with the current loop. On failure
 * f is untouched (the fd is not closed). Errors: CIO_EINVAL (no loop), -errno. */
int cio__fd_open(struct cio__fd *f, int fd);

/*
 * Deregisters and closes the fd. Tasks parked on it get CIO_ECANCELED and an
 * armed callback is dropped. Safe on a never-opened (zeroed, fd == -1)
 * struct? No: call only after a successful cio__fd_open.
 */
void cio__fd_close(struct cio__fd *f);

/* Parks until dir (CIO__IN or CIO__OUT) may make progress. Call after the
 * kernel said EAGAIN: clears the ready bit first. */
int cio__fd_wait(struct cio__fd *f, unsigned dir, cio_time deadline);

/* Returns at once if an unconsumed readable edge is recorded, else parks. */
int cio__fd_wait_readable(struct cio__fd *f, cio_time deadline);

/*
 * Initialises f as a descriptor-less event source on the current loop (fd ==
 * -1, never in the poller; rready 0, wready 1): it gets the waiter lists,
 * ready bits and readable callback of an fd, and its owner reports edges
 * with cio__fd_signal. Used by the in-memory pipe. Release with
 * cio__fd_close. Errors: CIO_EINVAL (no loop).
 */
int cio__fd_open_virtual(struct cio__fd *f);

/* Records edges ev (CIO__EV_IN/OUT/ERR) on f as the poller does: sets the
 * ready bits, wakes the waiters and queues an armed readable callback for
 * the loop's next pending step. Never runs user code; callable from a task. */
void cio__fd_signal(struct cio__fd *f, unsigned ev);

/* Arms the one-shot readable callback (see cio_stream_on_readable). */
int cio__fd_on_readable(struct cio__fd *f, cio_time deadline,
                        void (*cb)(struct cio__fd *f, int status, void *ud),
                        void *ud);
void cio__fd_cancel_cb(struct cio__fd *f);

/* ------------------------------------------------------------- posts */

/* A cross-thread message; intrusive so the executor posts without malloc. */
struct cio__post {
    struct cio__post *next;
    void (*fn)(struct cio__post *p);
};

/* Thread-safe. Queues p on l and wakes it. Returns CIO_ECLOSED if l is
 * shutting down (p is then not queued). */
int cio__loop_post(struct cio_loop *l, struct cio__post *p);

/* Thread- and async-signal-safe: makes l's poller return soon. */
void cio__loop_wakeup(struct cio_loop *l);

/* ------------------------------------------------------------- the loop */

struct cio_loop {
    struct cio__poll poll;
    cio_time now;              /* read once per turn */
    struct cio__task *cur;     /* running task or NULL */
    struct cio__ctx sched_ctx; /* the thread's own stack */
    struct cio__list ready;    /* woken tasks: run first */
    size_t nready;
    struct cio__list later; /* new and yielding tasks */
    size_t nlater;
    unsigned streak;        /* picks from ready since one from later */
    unsigned budget;        /* tasks left in this turn's batch */
    uint8_t cur_from_sched; /* cur was resumed by the loop itself */
    uint8_t finishing;      /* main is done: no new tasks */
    struct cio__task *dead; /* finished, stack to recycle */

    struct cio__timer **heap;
    size_t nheap, heapcap;

    struct cio__list pool; /* dead tasks with default-size stacks */
    size_t npool;
    size_t pool_max;

    struct cio__list tasks; /* every live task */
    size_t ntasks;
    struct cio__list fds; /* every open cio__fd */
    size_t nfds;
    struct cio__list pending; /* fd callbacks due this turn */

    struct cio__fd wake; /* eventfd: posts, executor, signals */
    pthread_mutex_t post_mu;
    struct cio__post *post_head, **post_tail;
    uint8_t post_closed;
    uint8_t posts_due;     /* the eventfd fired: run posts this turn */
    atomic_int wake_armed; /* an eventfd write is outstanding */

    struct cio__task *main_task;
    struct cio_group *root;
    int main_result;

    /* executor: jobs in flight that still point at this loop */
    size_t njobs;
    /* signals */
    int sig_slot; /* index in the process table, or -1 */
    struct cio__list sig_waiters;

    /* sanitizer bookkeeping for the thread's own stack */
    const void *sched_stack_bottom;
    size_t sched_stack_size;
    void *sched_fake;
    void *sched_tsan_fiber;
    uint8_t debug; /* report leaks (CIO_DEBUG build or env) */
};

extern __thread struct cio_loop *cio__loop_tls;

static inline struct cio_loop *cio__loop(void)
{
    return cio__loop_tls;
}

cio_time cio__clock_ms(void);

/* Hooks called by the loop; implemented in executor.c and signal.c. */
void cio__executor_loop_fini(struct cio_loop *l);
void cio__signal_dispatch(struct cio_loop *l);
void cio__signal_loop_fini(struct cio_loop *l);

/* Debug report helper: prints "<what> created at <symbol+off> (<object>)". */
void cio__report_origin(const char *what, const char *name,
                        const void *created_by);

/*
 * Reads [off, off + len) of the file fd into the page cache on the
 * executor (readahead(2), then pread through a scratch buffer), parking
 * the calling task until done or until deadline (CIO_NEVER: none). The job
 * works on a duplicate of fd, so the caller may close fd as soon as this
 * returns, even on CIO_ECANCELED/CIO_ETIMEDOUT (the job then frees what it
 * owns when it ends). before, if not NULL, runs on the pool thread first
 * (a test hook). Returns 0, 1 when no job could be set up (no memory, no
 * descriptor: the caller reads on the loop), or the error of
 * cio_blocking_job. Must be called in a task.
 */
int cio__read_ahead(int fd, off_t off, size_t len, cio_time deadline,
                    void (*before)(void));

#endif
