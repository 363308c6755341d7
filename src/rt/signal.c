/* SPDX-License-Identifier: MIT */
/*
 * Signals delivered to tasks (cio_signal_wait).
 *
 * A loop that waits for a signal for the first time takes a slot in a fixed
 * process-wide table and keeps it until it ends. corio's handler, installed
 * for a signal while at least one task in the process waits for it, does
 * only async-signal-safe things: for every slot in use it sets the signal's
 * bit in the slot's `pending` word and wakes the slot's loop
 * (cio__loop_wakeup: an atomic and a write to the eventfd). Every loop with
 * a slot gets the bit, whichever thread the kernel ran the handler on.
 *
 * On the loop thread, cio__signal_dispatch (run when the eventfd fires)
 * hands each pending signal to the first waiter of that loop that wants it
 * and clears the bit. A bit nobody on the loop waits for stays set, and the
 * next cio_signal_wait on that loop for that signal returns it at once.
 * Repeated signals before a dispatch collapse into one (as the kernel's own
 * pending set does).
 *
 * Slot teardown versus a handler running on another thread: the handler
 * bumps `inuse` before it loads `loop` and drops it when done; the ending
 * loop clears `loop`, then waits for `inuse` to reach zero before the loop
 * (and its eventfd) go away. All of it is sequentially consistent atomics.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

#include "rt/rt_int.h"

#define NSLOTS 128

static const int supported[] = {SIGHUP,  SIGINT,  SIGQUIT,  SIGUSR1,
                                SIGUSR2, SIGCHLD, SIGWINCH, SIGTERM};

/* Each supported signal is one bit of a 32-bit word. */
_Static_assert(SIGHUP < 32 && SIGINT < 32 && SIGQUIT < 32 && SIGUSR1 < 32 &&
                   SIGUSR2 < 32 && SIGCHLD < 32 && SIGWINCH < 32 &&
                   SIGTERM < 32,
               "supported signals must fit a 32-bit mask");

struct slot {
    _Atomic(struct cio_loop *) loop; /* owner, or NULL */
    atomic_uint pending;             /* 1u << signo per undelivered signal */
    atomic_uint inuse;               /* handlers looking at this slot now */
};

static struct slot slots[NSLOTS];
static atomic_uint nslots_hi; /* slots at and above this are unused */

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t slot_used[NSLOTS];  /* sig_mu */
static unsigned nwait[32];         /* sig_mu: waiting tasks, all loops */
static struct sigaction saved[32]; /* sig_mu: disposition before ours */

static void on_signal(int signo)
{
    int saved_errno =
        errno; /* write() may change it under the interrupted code */
    unsigned bit = 1u << signo;
    unsigned hi = atomic_load(&nslots_hi);

    for (unsigned i = 0; i < hi; i++) {
        struct slot *s = &slots[i];
        struct cio_loop *l;

        if (atomic_load(&s->loop) == NULL)
            continue;
        atomic_fetch_add(&s->inuse, 1);
        l = atomic_load(&s->loop);
        if (l != NULL) {
            atomic_fetch_or(&s->pending, bit);
            cio__loop_wakeup(l);
        }
        atomic_fetch_sub(&s->inuse, 1);
    }
    errno = saved_errno;
}

static int is_supported(int sig)
{
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        if (supported[i] == sig)
            return 1;
    return 0;
}

static int slot_acquire(struct cio_loop *l)
{
    int rc = CIO_EBUSY;

    pthread_mutex_lock(&sig_mu);
    for (unsigned i = 0; i < NSLOTS; i++) {
        if (slot_used[i])
            continue;
        slot_used[i] = 1;
        atomic_store(&slots[i].pending, 0);
        atomic_store(&slots[i].loop, l);
        if (atomic_load(&nslots_hi) <= i)
            atomic_store(&nslots_hi, i + 1);
        l->sig_slot = (int)i;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&sig_mu);
    return rc;
}

void cio__signal_loop_fini(struct cio_loop *l)
{
    struct slot *s;

    if (l->sig_slot < 0)
        return;
    s = &slots[l->sig_slot];
    atomic_store(&s->loop, NULL);
    /* A handler on another thread may still hold l: wait it out. It runs a
     * few instructions; one on this thread has finished already. */
    while (atomic_load(&s->inuse) != 0)
        sched_yield();
    atomic_store(&s->pending, 0);
    pthread_mutex_lock(&sig_mu);
    slot_used[l->sig_slot] = 0;
    pthread_mutex_unlock(&sig_mu);
    l->sig_slot = -1;
}

static void release(uint32_t mask)
{
    pthread_mutex_lock(&sig_mu);
    for (int sig = 1; sig < 32; sig++) {
        if (!(mask & (1u << sig)))
            continue;
        if (--nwait[sig] == 0)
            sigaction(sig, &saved[sig], NULL);
    }
    pthread_mutex_unlock(&sig_mu);
}

/* Counts the caller as a waiter for every signal of mask and installs the
 * handler for those that had none. All or nothing. */
static int hold(uint32_t mask)
{
    int rc = 0, sig;

    pthread_mutex_lock(&sig_mu);
    for (sig = 1; sig < 32; sig++) {
        if (!(mask & (1u << sig)))
            continue;
        if (nwait[sig] == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = on_signal;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESTART;
            if (sigaction(sig, &sa, &saved[sig]) < 0) {
                rc = -errno;
                break;
            }
        }
        nwait[sig]++;
    }
    pthread_mutex_unlock(&sig_mu);
    if (rc < 0)
        release(mask & ((1u << sig) - 1u));
    return rc;
}

/* Loop thread: takes the lowest pending signal of mask, or returns 0. */
static int take_pending(struct cio_loop *l, uint32_t mask)
{
    struct slot *s = &slots[l->sig_slot];
    unsigned bits = atomic_load(&s->pending) & mask;
    int sig;

    if (bits == 0)
        return 0;
    sig = __builtin_ctz(bits);
    /* Only this thread clears bits of its slot; handlers only set them. */
    atomic_fetch_and(&s->pending, ~(1u << sig));
    return sig;
}

void cio__signal_dispatch(struct cio_loop *l)
{
    struct cio__list *it, *next;

    if (l->sig_slot < 0 || atomic_load(&slots[l->sig_slot].pending) == 0)
        return;
    for (it = l->sig_waiters.next; it != &l->sig_waiters; it = next) {
        struct cio__wait *w = CIO_CONTAINER_OF(it, struct cio__wait, node);
        int sig = take_pending(l, (uint32_t)w->aux);

        next = it->next;
        if (sig > 0) {
            cio__list_remove(&w->node);
            cio__wake(w->task, sig);
        }
    }
}

int cio_signal_wait(const sigset_t *set, cio_time deadline)
{
    struct cio_loop *l = cio__loop();
    struct cio__task *self = l != NULL ? l->cur : NULL;
    struct cio__wait w = {0};
    uint32_t mask = 0;
    int rc, sig;

    if (set == NULL)
        return CIO_EINVAL;
    for (sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1)
            continue;
        if (!is_supported(sig))
            return CIO_EINVAL;
        mask |= 1u << sig;
    }
    if (mask == 0 || self == NULL)
        return CIO_EINVAL;
    if (self->canceled)
        return CIO_ECANCELED;
    if (l->sig_slot < 0) {
        rc = slot_acquire(l);
        if (rc < 0)
            return rc;
    }
    rc = hold(mask);
    if (rc < 0)
        return rc;
    sig = take_pending(l, mask);
    if (sig > 0) {
        release(mask);
        return sig;
    }
    w.aux = mask;
    cio__list_push_back(&l->sig_waiters, &w.node);
    rc = cio__park(&w, deadline, 0);
    release(mask);
    return rc;
}
