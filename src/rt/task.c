/* SPDX-License-Identifier: MIT */
/*
 * Tasks, the scheduler's switch, park/wake, groups, defer.
 * See docs/internals/runtime.md for the state diagram.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "rt/rt_int.h"
#include "rt/sanitize.h"

struct cio_task {
    struct cio__list gnode; /* group->handles */
    struct cio__task *live; /* NULL once finished */
    struct cio__list joiners;
    int result;
    uint8_t done;
};

struct cio_group {
    struct cio_loop *loop;
    struct cio__list tasks; /* live tasks (cio__task.gnode) */
    size_t ntasks;
    struct cio__list handles; /* struct cio_task */
    struct cio__list waiters; /* group_wait / group_free */
    struct cio__task *owner;  /* NULL: created outside a task */
    struct cio__list onode;   /* owner->owned */
    int first_error;
    uint8_t canceled;
    uint8_t freeing;
    const void *created_by;
};

/* ------------------------------------------------------------- switching */

struct cio__task *cio__current(void)
{
    struct cio_loop *l = cio__loop_tls;
    return l != NULL ? l->cur : NULL;
}

static size_t usable(const struct cio__task *t)
{
    return (size_t)((const char *)t - t->lo);
}

/*
 * Switches from `from` (NULL: the loop's own stack) to `to` (NULL: same).
 * Returns when something switches back to `from`. A task that has finished
 * (state DONE) switches away for the last time: ASan then frees its fake
 * stack.
 */
static void ctx_switch(struct cio_loop *l, struct cio__task *from,
                       struct cio__task *to)
{
    struct cio__ctx *fc = from != NULL ? &from->ctx : &l->sched_ctx;
    struct cio__ctx *tc = to != NULL ? &to->ctx : &l->sched_ctx;
#if CIO_ASAN
    void **fake = from == NULL                 ? &l->sched_fake
                  : from->state == CIO__T_DONE ? NULL
                                               : &from->asan_fake;
    __sanitizer_start_switch_fiber(
        fake, to != NULL ? (const void *)to->lo : l->sched_stack_bottom,
        to != NULL ? usable(to) : l->sched_stack_size);
#endif
#if CIO_TSAN
    __tsan_switch_to_fiber(to != NULL ? to->tsan_fiber : l->sched_tsan_fiber,
                           0);
#endif
    cio__ctx_switch(fc, tc);
#if CIO_ASAN
    {
        const void *bottom;
        size_t size;
        __sanitizer_finish_switch_fiber(
            from != NULL ? from->asan_fake : l->sched_fake, &bottom, &size);
    }
#endif
}

static void after_first_switch(struct cio_loop *l)
{
#if CIO_ASAN
    /* The first switch into any task comes from the loop's own stack (see
     * run_ready): record its bounds for the switches back. */
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(NULL, &bottom, &size);
    if (l->sched_stack_size == 0 || l->cur_from_sched) {
        l->sched_stack_bottom = bottom;
        l->sched_stack_size = size;
    }
#else
    (void)l;
#endif
}

/*
 * Two run queues: `ready` for tasks woken by an event (I/O, timer, sync,
 * join), `later` for new and yielding tasks. Woken tasks go first, so work
 * in progress (an acceptor with a full backlog, a reader with data) is not
 * stuck behind a burst of ten thousand new tasks; every LATER_EVERY-th pick
 * takes from `later` so new tasks still make progress under load.
 */
#define LATER_EVERY 16

static void push_ready(struct cio_loop *l, struct cio__task *t)
{
    t->state = CIO__T_READY;
    cio__list_push_back(&l->ready, &t->rq);
    l->nready++;
}

static void push_later(struct cio_loop *l, struct cio__task *t)
{
    t->state = CIO__T_READY;
    cio__list_push_back(&l->later, &t->rq);
    l->nlater++;
}

static struct cio__task *pop_ready(struct cio_loop *l)
{
    struct cio__list *n;

    if (l->nlater > 0 && (l->nready == 0 || ++l->streak >= LATER_EVERY)) {
        n = cio__list_pop_front(&l->later);
        l->nlater--;
        l->streak = 0;
    } else if (l->nready > 0) {
        n = cio__list_pop_front(&l->ready);
        l->nready--;
    } else {
        return NULL;
    }
    return CIO_CONTAINER_OF(n, struct cio__task, rq);
}

/* The current task gives up the CPU; the next ready task of this turn's batch
 * runs directly (one switch instead of two), else the loop does. */
static void switch_away(struct cio_loop *l, struct cio__task *self)
{
    struct cio__task *next = NULL;

    if (l->budget > 0) {
        next = pop_ready(l);
        if (next != NULL)
            l->budget--;
    }
    if (next == self) {
        self->state = CIO__T_RUNNING;
        return;
    }
    l->cur = next;
    l->cur_from_sched = 0;
    if (next != NULL)
        next->state = CIO__T_RUNNING;
    ctx_switch(l, self, next);
}

void cio__run_ready(struct cio_loop *l)
{
    /*
     * Tasks woken or started during the batch run in it too, up to the
     * budget: sizing the batch by the queue at its start sent every
     * ping-pong through an extra epoll_wait(0) and clock read (5x the cost
     * of the switch). I/O is still polled at least every CIO__RUN_BUDGET.
     */
    l->budget = CIO__RUN_BUDGET;
    while (l->budget > 0) {
        struct cio__task *t = pop_ready(l);
        if (t == NULL)
            break;
        l->budget--;
        l->cur = t;
        l->cur_from_sched = 1;
        t->state = CIO__T_RUNNING;
        ctx_switch(l, NULL, t);
        l->cur = NULL;
        if (l->dead != NULL) {
            cio__task_release(l, l->dead);
            l->dead = NULL;
        }
    }
    l->budget = 0;
}

/* ------------------------------------------------------------- park/wake */

static void unlink_wait(struct cio__wait *w)
{
    if (w == NULL)
        return;
    if (w->unlink != NULL)
        w->unlink(w);
    else if (cio__list_linked(&w->node))
        cio__list_remove(&w->node);
}

int cio__park(struct cio__wait *w, cio_time deadline, unsigned flags)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio__task *t = l != NULL ? l->cur : NULL;

    if (t == NULL) {
        unlink_wait(w);
        return CIO_EINVAL;
    }
    if (!(flags & CIO__PARK_UNCANCELABLE) && t->canceled) {
        unlink_wait(w);
        return CIO_ECANCELED;
    }
    if (deadline >= 0) {
        if (deadline <= l->now) {
            unlink_wait(w);
            return CIO_ETIMEDOUT;
        }
        if (cio__timer_add(l, &t->timer, deadline) < 0) {
            unlink_wait(w);
            return CIO_ENOMEM;
        }
    }
    if (t->on_park != NULL)
        t->on_park(t->on_park_ud);
    if (w != NULL)
        w->task = t;
    t->wait = w;
    t->uncancelable = (flags & CIO__PARK_UNCANCELABLE) != 0;
    t->state = CIO__T_PARKED;
    switch_away(l, t);
    return t->wake_rc;
}

void cio__task_on_park(void (*fn)(void *ud), void *ud)
{
    struct cio__task *t = cio__current();
    if (t != NULL) {
        t->on_park = fn;
        t->on_park_ud = ud;
    }
}

void cio__wake(struct cio__task *t, int rc)
{
    if (t->state != CIO__T_PARKED)
        return;
    if (t->timer.idx != CIO__TIMER_IDLE)
        cio__timer_del(t->loop, &t->timer);
    t->wait = NULL;
    t->wake_rc = rc;
    push_ready(t->loop, t);
}

void cio__wake_all(struct cio__list *waiters, int rc)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(waiters)) != NULL)
        cio__wake(CIO_CONTAINER_OF(n, struct cio__wait, node)->task, rc);
}

struct cio__wait *cio__wake_one(struct cio__list *waiters, int rc)
{
    struct cio__list *n = cio__list_pop_front(waiters);
    if (n == NULL)
        return NULL;
    struct cio__wait *w = CIO_CONTAINER_OF(n, struct cio__wait, node);
    cio__wake(w->task, rc);
    return w;
}

static void task_timeout(struct cio__timer *tm)
{
    struct cio__task *t = CIO_CONTAINER_OF(tm, struct cio__task, timer);
    if (t->state != CIO__T_PARKED)
        return;
    unlink_wait(t->wait);
    cio__wake(t, CIO_ETIMEDOUT);
}

void cio__task_cancel(struct cio__task *t)
{
    if (t->state == CIO__T_DONE)
        return;
    t->canceled = 1;
    cio__list_each(it, &t->owned)
        cio_group_cancel(CIO_CONTAINER_OF(it, struct cio_group, onode));
    if (t->state == CIO__T_PARKED && !t->uncancelable) {
        unlink_wait(t->wait);
        cio__wake(t, CIO_ECANCELED);
    }
}

/* ------------------------------------------------------------- life cycle */

static void run_cleanups(struct cio__task *t)
{
    while (t->cleanups != NULL) {
        struct cio__cleanup *c = t->cleanups;
        t->cleanups = c->next;
        if (c->fn != NULL)
            c->fn(c->arg);
        cio__free(c);
    }
}

static void task_finish(struct cio_loop *l, struct cio__task *t, int rc)
{
    struct cio_group *g = t->group;

    run_cleanups(t);
    while (!cio__list_empty(&t->owned)) {
        struct cio_group *og =
            CIO_CONTAINER_OF(t->owned.next, struct cio_group, onode);
        if (l->debug)
            cio__report_origin("corio: task ended without freeing a group",
                               t->name, og->created_by);
        cio__list_remove(&og->onode);
        og->owner = NULL;
    }
    cio__list_remove(&t->gnode);
    g->ntasks--;
    if (t->ifn != NULL && rc < 0 && g->first_error == 0)
        g->first_error = rc;
    if (t->handle != NULL) {
        t->handle->result = rc;
        t->handle->done = 1;
        t->handle->live = NULL;
        cio__wake_all(&t->handle->joiners, 0);
    }
    if (g->ntasks == 0)
        cio__wake_all(&g->waiters, 0);
    cio__list_remove(&t->lnode);
    l->ntasks--;
}

static void task_entry(void *arg)
{
    struct cio__task *t = arg;
    struct cio_loop *l = t->loop;
    int rc = 0;

    after_first_switch(l);
    if (t->ifn != NULL)
        rc = t->ifn(t->arg);
    else
        t->vfn(t->arg);
    task_finish(l, t, rc);
    t->state = CIO__T_DONE;
    l->dead = t;
    l->cur = NULL;
    ctx_switch(l, t, NULL);
    abort(); /* a dead task is never resumed */
}

void cio__task_release(struct cio_loop *l, struct cio__task *t)
{
#if CIO_TSAN
    __tsan_destroy_fiber(t->tsan_fiber);
    t->tsan_fiber = NULL;
#endif
    if (t->stack_size == CIO__DEFAULT_STACK && l->npool < l->pool_max) {
        cio__list_push_front(&l->pool, &t->rq);
        l->npool++;
        return;
    }
    cio__stack_free(t);
}

void cio__pool_drain(struct cio_loop *l)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(&l->pool)) != NULL) {
        l->npool--;
        cio__stack_free(CIO_CONTAINER_OF(n, struct cio__task, rq));
    }
}

static struct cio__task *task_alloc(struct cio_loop *l, size_t size)
{
    struct cio__task *t;

    if (size == CIO__DEFAULT_STACK && !cio__list_empty(&l->pool)) {
        t = CIO_CONTAINER_OF(cio__list_pop_front(&l->pool), struct cio__task,
                             rq);
        l->npool--;
        /* keep the stack fields, reset the rest */
        char *map = t->map, *lo = t->lo;
        size_t maplen = t->maplen, ss = t->stack_size;
        unsigned vg = t->vg_id;
        memset(t, 0, sizeof(*t));
        t->map = map;
        t->lo = lo;
        t->maplen = maplen;
        t->stack_size = ss;
        t->vg_id = vg;
        return t;
    }
    return cio__stack_new(size);
}

static int spawn(struct cio_group *g, void (*vfn)(void *), int (*ifn)(void *),
                 void *arg, const struct cio_task_opts *opts, cio_task **out,
                 const void *created_by)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio_task *h = NULL;
    struct cio__task *t;
    size_t size = CIO__DEFAULT_STACK;

    if (g == NULL || l == NULL || g->loop != l)
        return CIO_EINVAL;
    if (l->finishing)
        return CIO_ECLOSED;
    if (g->canceled)
        return CIO_ECANCELED;
    if (opts != NULL && opts->stack_size != 0)
        size = opts->stack_size;
    if (out != NULL) {
        h = cio__calloc(1, sizeof(*h));
        if (h == NULL)
            return CIO_ENOMEM;
    }
    t = task_alloc(l, size);
    if (t == NULL) {
        cio__free(h);
        return CIO_ENOMEM;
    }
#if CIO_TSAN
    t->tsan_fiber = __tsan_create_fiber(0);
#endif
    t->loop = l;
    t->group = g;
    t->vfn = vfn;
    t->ifn = ifn;
    t->arg = arg;
    t->name = opts != NULL ? opts->name : NULL;
    t->created_by = created_by;
    cio__list_init(&t->owned);
    cio__timer_init(&t->timer, task_timeout);
    cio__ctx_make(&t->ctx, t->lo, usable(t), task_entry, t);
    if (h != NULL) {
        h->live = t;
        cio__list_init(&h->joiners);
        cio__list_push_back(&g->handles, &h->gnode);
        t->handle = h;
        *out = h;
    }
    cio__list_push_back(&g->tasks, &t->gnode);
    g->ntasks++;
    cio__list_push_back(&l->tasks, &t->lnode);
    l->ntasks++;
    push_later(l, t);
    return 0;
}

int cio_go(cio_group *g, void (*fn)(void *), void *arg)
{
    return spawn(g, fn, NULL, arg, NULL, NULL, __builtin_return_address(0));
}

int cio_spawn(cio_group *g, int (*fn)(void *), void *arg,
              const struct cio_task_opts *opts, cio_task **out)
{
    return spawn(g, NULL, fn, arg, opts, out, __builtin_return_address(0));
}

int cio__spawn_main(struct cio_loop *l, int (*fn)(void *), void *arg,
                    cio_task **out)
{
    (void)l;
    return spawn(l->root, NULL, fn, arg,
                 &(struct cio_task_opts){.name = "main"}, out,
                 (const void *)fn);
}

int cio_task_join(cio_task *h, cio_time deadline, int *result)
{
    struct cio__task *self = cio__current();

    if (self == NULL)
        return CIO_EINVAL;
    if (h->live == self)
        return CIO_EDEADLOCK;
    /* rt.h: a canceled task fails every blocking call, even one that would
     * not park (use cio_task_result to collect results then). */
    if (self->canceled)
        return CIO_ECANCELED;
    if (!h->done) {
        struct cio__wait w = {0};
        cio__list_push_back(&h->joiners, &w.node);
        int rc = cio__park(&w, deadline, 0);
        if (rc < 0)
            return rc;
    }
    if (result != NULL)
        *result = h->result;
    return 0;
}

void cio_task_cancel(cio_task *h)
{
    if (h->live != NULL)
        cio__task_cancel(h->live);
}

int cio_task_result(const cio_task *h, int *result)
{
    if (!h->done)
        return CIO_EBUSY;
    *result = h->result;
    return 0;
}

/* ------------------------------------------------------------- groups */

int cio_group_new(cio_group **out)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio_group *g;

    if (l == NULL)
        return CIO_EINVAL;
    g = cio__calloc(1, sizeof(*g));
    if (g == NULL)
        return CIO_ENOMEM;
    g->loop = l;
    cio__list_init(&g->tasks);
    cio__list_init(&g->handles);
    cio__list_init(&g->waiters);
    g->created_by = __builtin_return_address(0);
    g->owner = l->cur;
    if (g->owner != NULL) {
        cio__list_push_back(&g->owner->owned, &g->onode);
        /* A canceled task's new groups start canceled (structured). */
        g->canceled = g->owner->canceled;
    }
    *out = g;
    return 0;
}

int cio_group_wait(cio_group *g, cio_time deadline)
{
    if (cio__current() == NULL)
        return CIO_EINVAL;
    if (g->ntasks == 0)
        return cio_canceled() ? CIO_ECANCELED : 0;
    struct cio__wait w = {0};
    cio__list_push_back(&g->waiters, &w.node);
    return cio__park(&w, deadline, 0);
}

void cio_group_cancel(cio_group *g)
{
    g->canceled = 1;
    cio__list_each(it, &g->tasks)
        cio__task_cancel(CIO_CONTAINER_OF(it, struct cio__task, gnode));
}

size_t cio_group_count(const cio_group *g)
{
    return g->ntasks;
}

int cio_group_error(const cio_group *g)
{
    return g->first_error;
}

void cio_group_free(cio_group *g)
{
    struct cio__task *self = cio__current();
    struct cio__list *n;

    if (g == NULL)
        return;
    if (self != NULL && self->group == g) {
        fprintf(stderr, "corio: a task tried to free its own group\n");
        abort();
    }
    cio_group_cancel(g);
    g->freeing = 1;
    while (g->ntasks > 0) {
        if (self == NULL) {
            fprintf(stderr, "corio: cio_group_free outside a task on a group "
                            "with live tasks\n");
            abort();
        }
        struct cio__wait w = {0};
        cio__list_push_back(&g->waiters, &w.node);
        cio__park(&w, CIO_NEVER, CIO__PARK_UNCANCELABLE);
    }
    while ((n = cio__list_pop_front(&g->handles)) != NULL)
        cio__free(CIO_CONTAINER_OF(n, struct cio_task, gnode));
    if (g->owner != NULL)
        cio__list_remove(&g->onode);
    cio__free(g);
}

/* ------------------------------------------------------------- misc */

int cio_yield(void)
{
    struct cio_loop *l = cio__loop_tls;
    struct cio__task *t = l != NULL ? l->cur : NULL;

    if (t == NULL)
        return CIO_EINVAL;
    if (t->canceled)
        return CIO_ECANCELED;
    /* a yield switches away like a park: the hook's queue must not wait
     * for this task's turn to come back (cio__task_on_park) */
    if (t->on_park != NULL)
        t->on_park(t->on_park_ud);
    push_later(l, t);
    switch_away(l, t);
    /* Canceled while it waited for its turn: report it here, as cio_sleep
     * would, rather than at the next blocking call. */
    return t->canceled ? CIO_ECANCELED : 0;
}

int cio_sleep(cio_time deadline)
{
    int rc = cio__park(NULL, deadline, 0);
    return rc == CIO_ETIMEDOUT ? 0 : rc;
}

int cio_canceled(void)
{
    struct cio__task *t = cio__current();
    return t != NULL && t->canceled;
}

int cio_defer(void (*fn)(void *), void *arg)
{
    struct cio__task *t = cio__current();
    struct cio__cleanup *c;

    if (t == NULL || fn == NULL)
        return CIO_EINVAL;
    c = cio__malloc(sizeof(*c));
    if (c == NULL)
        return CIO_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = t->cleanups;
    t->cleanups = c;
    return 0;
}

void *cio_scoped_alloc(size_t size)
{
    /* The header is padded to 32 bytes so the memory after it keeps
     * max_align_t alignment. */
    union hdr {
        struct cio__cleanup c;
        max_align_t align;
        char pad[32];
    };
    struct cio__task *t = cio__current();
    union hdr *h;

    if (t == NULL || size > SIZE_MAX - sizeof(*h))
        return NULL;
    h = cio__malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->c.fn = NULL;
    h->c.next = t->cleanups;
    t->cleanups = &h->c;
    return h + 1;
}

/* Cancels every live task; used when main returned with tasks left over. */
void cio__cancel_all(struct cio_loop *l)
{
    cio__list_each(it, &l->tasks)
    {
        struct cio__task *t = CIO_CONTAINER_OF(it, struct cio__task, lnode);
        if (l->debug)
            cio__report_origin("corio: task still alive after main returned",
                               t->name, t->created_by);
        cio__task_cancel(t);
    }
}
