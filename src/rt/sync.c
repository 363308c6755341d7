/* SPDX-License-Identifier: MIT */
/*
 * Loop-local synchronisation: mutex, condition, event, semaphore, barrier,
 * channel. All are built on cio__park/cio__wake (rt_int.h).
 *
 * One rule makes them race-free against deadlines and cancellation: whatever
 * a waiter waits for (a lock, a permit, a value, an arrival index) is handed
 * to it by the task that wakes it, at the moment the node leaves the queue.
 * A woken task is READY, not PARKED, so a timer or a cancellation that comes
 * later in the same turn no longer touches it: it keeps what it was given.
 * Conversely a waiter that times out or is canceled is unlinked at once, so
 * nothing is ever handed to a task that has left.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "rt/rt_int.h"

static void die(const char *msg)
{
    fprintf(stderr, "corio: %s\n", msg);
    abort();
}

/*
 * The common entry of every blocking call: only tasks may block, and a
 * canceled task fails every blocking call at once, even one that could
 * complete without parking (rt.h blocking contract).
 */
static int enter(void)
{
    struct cio__task *t = cio__current();

    if (t == NULL)
        return CIO_EINVAL;
    return t->canceled ? CIO_ECANCELED : 0;
}

/* Removes the first waiter of a queue without waking it, so the caller can
 * hand it something before cio__wake. */
static struct cio__wait *take_waiter(struct cio__list *q)
{
    struct cio__list *n = cio__list_pop_front(q);
    return n != NULL ? CIO_CONTAINER_OF(n, struct cio__wait, node) : NULL;
}

/* ------------------------------------------------------------- mutex */

struct cio_mutex {
    struct cio__list waiters; /* non-empty => locked */
    struct cio__task *owner;  /* while locked; NULL = locked outside a task */
    uint8_t locked;
};

int cio_mutex_new(cio_mutex **out)
{
    cio_mutex *m = cio__calloc(1, sizeof(*m));

    if (m == NULL)
        return CIO_ENOMEM;
    cio__list_init(&m->waiters);
    *out = m;
    return 0;
}

static int mutex_lock(cio_mutex *m, cio_time deadline, unsigned flags)
{
    struct cio__task *self = cio__current();
    struct cio__wait w = {0};

    if (!m->locked) {
        m->locked = 1;
        m->owner = self;
        return 0;
    }
    if (m->owner == self)
        return CIO_EDEADLOCK;
    /* On success the unlocking task has already made us the owner. */
    cio__list_push_back(&m->waiters, &w.node);
    return cio__park(&w, deadline, flags);
}

int cio_mutex_lock(cio_mutex *m, cio_time deadline)
{
    int rc = enter();

    if (rc < 0)
        return rc;
    return mutex_lock(m, deadline, 0);
}

int cio_mutex_trylock(cio_mutex *m)
{
    if (m->locked)
        return CIO_EBUSY;
    m->locked = 1;
    m->owner = cio__current();
    return 0;
}

void cio_mutex_unlock(cio_mutex *m)
{
    struct cio__wait *w;

    if (!m->locked || m->owner != cio__current())
        die("cio_mutex_unlock: the caller does not own the mutex");
    w = take_waiter(&m->waiters);
    if (w == NULL) {
        m->locked = 0;
        m->owner = NULL;
        return;
    }
    /* Hand-off: the mutex stays locked, so nobody can barge in before the
     * woken waiter runs (FIFO fairness). */
    m->owner = w->task;
    cio__wake(w->task, 0);
}

void cio_mutex_free(cio_mutex *m)
{
    if (m == NULL)
        return;
    if (!cio__list_empty(&m->waiters))
        die("cio_mutex_free: tasks still wait on the mutex");
    cio__free(m);
}

/* ------------------------------------------------------------- cond */

struct cio_cond {
    struct cio__list waiters;
};

int cio_cond_new(cio_cond **out)
{
    cio_cond *c = cio__calloc(1, sizeof(*c));

    if (c == NULL)
        return CIO_ENOMEM;
    cio__list_init(&c->waiters);
    *out = c;
    return 0;
}

int cio_cond_wait(cio_cond *c, cio_mutex *m, cio_time deadline)
{
    struct cio__wait w = {0};
    int rc = enter();

    if (rc < 0)
        return rc;
    if (!m->locked || m->owner != cio__current())
        die("cio_cond_wait: the caller does not own the mutex");
    /* Fail early without unlocking: same result, no needless hand-off. */
    if (deadline >= 0 && deadline <= cio_now())
        return CIO_ETIMEDOUT;
    cio__list_push_back(&c->waiters, &w.node);
    cio_mutex_unlock(m);
    rc = cio__park(&w, deadline, 0);
    /* The caller expects to hold m whatever happened, so this cannot be
     * canceled nor time out; the task still holding m bounds the wait. */
    mutex_lock(m, CIO_NEVER, CIO__PARK_UNCANCELABLE);
    return rc;
}

void cio_cond_signal(cio_cond *c)
{
    cio__wake_one(&c->waiters, 0);
}

void cio_cond_broadcast(cio_cond *c)
{
    cio__wake_all(&c->waiters, 0);
}

void cio_cond_free(cio_cond *c)
{
    if (c == NULL)
        return;
    if (!cio__list_empty(&c->waiters))
        die("cio_cond_free: tasks still wait on the condition");
    cio__free(c);
}

/* ------------------------------------------------------------- event */

struct cio_event {
    struct cio__list waiters; /* non-empty => !set */
    uint8_t set;
};

int cio_event_new(cio_event **out)
{
    cio_event *e = cio__calloc(1, sizeof(*e));

    if (e == NULL)
        return CIO_ENOMEM;
    cio__list_init(&e->waiters);
    *out = e;
    return 0;
}

int cio_event_wait(cio_event *e, cio_time deadline)
{
    struct cio__wait w = {0};
    int rc = enter();

    if (rc < 0 || e->set)
        return rc;
    cio__list_push_back(&e->waiters, &w.node);
    return cio__park(&w, deadline, 0);
}

void cio_event_set(cio_event *e)
{
    /* Waiters woken here succeed even if the event is cleared before they
     * run: they were waiting when it was set (asyncio.Event). */
    e->set = 1;
    cio__wake_all(&e->waiters, 0);
}

void cio_event_clear(cio_event *e)
{
    e->set = 0;
}

int cio_event_is_set(const cio_event *e)
{
    return e->set;
}

void cio_event_free(cio_event *e)
{
    if (e == NULL)
        return;
    if (!cio__list_empty(&e->waiters))
        die("cio_event_free: tasks still wait on the event");
    cio__free(e);
}

/* ------------------------------------------------------------- semaphore */

struct cio_sem {
    struct cio__list waiters; /* non-empty => value == 0 */
    unsigned value;
};

int cio_sem_new(cio_sem **out, unsigned permits)
{
    cio_sem *s = cio__calloc(1, sizeof(*s));

    if (s == NULL)
        return CIO_ENOMEM;
    cio__list_init(&s->waiters);
    s->value = permits;
    *out = s;
    return 0;
}

int cio_sem_acquire(cio_sem *s, cio_time deadline)
{
    struct cio__wait w = {0};
    int rc = enter();

    if (rc < 0)
        return rc;
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    /* On success the releasing task has handed its permit to us. */
    cio__list_push_back(&s->waiters, &w.node);
    return cio__park(&w, deadline, 0);
}

int cio_sem_tryacquire(cio_sem *s)
{
    if (s->value == 0)
        return CIO_EBUSY;
    s->value--;
    return 0;
}

void cio_sem_release(cio_sem *s)
{
    if (cio__wake_one(&s->waiters, 0) != NULL)
        return;
    if (s->value == UINT_MAX)
        die("cio_sem_release: permit count overflow");
    s->value++;
}

unsigned cio_sem_value(const cio_sem *s)
{
    return s->value;
}

void cio_sem_free(cio_sem *s)
{
    if (s == NULL)
        return;
    if (!cio__list_empty(&s->waiters))
        die("cio_sem_free: tasks still wait on the semaphore");
    cio__free(s);
}

/* ------------------------------------------------------------- barrier */

struct cio_barrier {
    struct cio__list waiters; /* arrivals of this cycle, in order */
    unsigned count;           /* == number of waiters; < parties */
    unsigned parties;         /* >= 1 */
};

int cio_barrier_new(cio_barrier **out, unsigned parties)
{
    cio_barrier *b;

    if (parties == 0)
        return CIO_EINVAL;
    b = cio__calloc(1, sizeof(*b));
    if (b == NULL)
        return CIO_ENOMEM;
    cio__list_init(&b->waiters);
    b->parties = parties;
    *out = b;
    return 0;
}

/* A waiter that times out or is canceled no longer counts as arrived. */
static void barrier_leave(struct cio__wait *w)
{
    cio_barrier *b = w->data;

    cio__list_remove(&w->node);
    b->count--;
}

int cio_barrier_wait(cio_barrier *b, cio_time deadline)
{
    struct cio__wait w = {0};
    struct cio__wait *x;
    int idx = 0;
    int rc = enter();

    if (rc < 0)
        return rc;
    if (b->count + 1 < b->parties) {
        w.unlink = barrier_leave;
        w.data = b;
        cio__list_push_back(&b->waiters, &w.node);
        b->count++;
        return cio__park(&w, deadline, 0); /* the index, from the releaser */
    }
    /*
     * Indices are given at release, in queue order: a waiter that left
     * earlier in the cycle leaves no gap and no duplicate, so the parties
     * always get exactly 0 .. parties-1.
     */
    while ((x = take_waiter(&b->waiters)) != NULL)
        cio__wake(x->task, idx++);
    b->count = 0;
    /*
     * The woken parties are on the loop's "woken" queue, which runs before
     * new and yielding tasks: they resume in this turn's batch, right after
     * the last arrival parks or yields, with the same loop clock.
     */
    return idx;
}

void cio_barrier_free(cio_barrier *b)
{
    if (b == NULL)
        return;
    if (!cio__list_empty(&b->waiters))
        die("cio_barrier_free: tasks still wait on the barrier");
    cio__free(b);
}

/* ------------------------------------------------------------- channel */

/*
 * Waiters carry a pointer to their element in w.data: a sender's value to
 * take, a receiver's buffer to fill. The value moves when the waiter is
 * taken off its queue, before it is woken.
 */
struct cio_chan {
    size_t esize;               /* > 0 */
    size_t cap;                 /* ring capacity in elements; 0 = unbuffered */
    size_t head;                /* index of the oldest element */
    size_t len;                 /* elements buffered; <= cap */
    struct cio__list senders;   /* non-empty => len == cap, no receivers */
    struct cio__list receivers; /* non-empty => len == 0, no senders */
    uint8_t closed;             /* => senders and receivers are empty */
    unsigned char ring[];       /* cap * esize bytes */
};

int cio_chan_new(cio_chan **out, size_t elem_size, size_t capacity)
{
    cio_chan *c;

    if (elem_size == 0 || capacity > (SIZE_MAX - sizeof(*c)) / elem_size)
        return CIO_EINVAL;
    c = cio__calloc(1, sizeof(*c) + capacity * elem_size);
    if (c == NULL)
        return CIO_ENOMEM;
    c->esize = elem_size;
    c->cap = capacity;
    cio__list_init(&c->senders);
    cio__list_init(&c->receivers);
    *out = c;
    return 0;
}

static unsigned char *slot(cio_chan *c, size_t i)
{
    return c->ring + ((c->head + i) % c->cap) * c->esize;
}

int cio_chan_send(cio_chan *c, const void *elem, cio_time deadline)
{
    struct cio__wait w = {0};
    struct cio__wait *r;
    int rc = enter();

    if (rc < 0)
        return rc;
    if (c->closed)
        return CIO_ECLOSED;
    r = take_waiter(&c->receivers);
    if (r != NULL) {
        memcpy(r->data, elem, c->esize);
        cio__wake(r->task, 0);
        return 0;
    }
    if (c->len < c->cap) {
        memcpy(slot(c, c->len), elem, c->esize);
        c->len++;
        return 0;
    }
    /* 0: a receiver took the value; CIO_ECLOSED: it was not delivered. */
    w.data = (void *)elem;
    cio__list_push_back(&c->senders, &w.node);
    return cio__park(&w, deadline, 0);
}

int cio_chan_recv(cio_chan *c, void *elem, cio_time deadline)
{
    struct cio__wait w = {0};
    struct cio__wait *s;
    int rc = enter();

    if (rc < 0)
        return rc;
    if (c->len > 0) {
        memcpy(elem, slot(c, 0), c->esize);
        c->head = (c->head + 1) % c->cap;
        c->len--;
        /* The oldest blocked sender's value takes the freed slot, so values
         * stay in send order. */
        s = take_waiter(&c->senders);
        if (s != NULL) {
            memcpy(slot(c, c->len), s->data, c->esize);
            c->len++;
            cio__wake(s->task, 0);
        }
        return 0;
    }
    s = take_waiter(&c->senders); /* only when unbuffered */
    if (s != NULL) {
        memcpy(elem, s->data, c->esize);
        cio__wake(s->task, 0);
        return 0;
    }
    if (c->closed)
        return CIO_ECLOSED;
    w.data = elem;
    cio__list_push_back(&c->receivers, &w.node);
    return cio__park(&w, deadline, 0);
}

void cio_chan_close(cio_chan *c)
{
    c->closed = 1;
    cio__wake_all(&c->senders, CIO_ECLOSED);
    cio__wake_all(&c->receivers, CIO_ECLOSED);
}

void cio_chan_free(cio_chan *c)
{
    if (c == NULL)
        return;
    if (!cio__list_empty(&c->senders) || !cio__list_empty(&c->receivers))
        die("cio_chan_free: tasks still wait on the channel");
    cio__free(c);
}
