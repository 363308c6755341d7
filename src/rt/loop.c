/* SPDX-License-Identifier: MIT */
/*
 * The loop: one per thread. A turn is poll -> clock -> timers -> posts ->
 * fd callbacks -> a bounded batch of ready tasks (Redis ae, libuv uv_run).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "rt/rt_int.h"
#include "rt/sanitize.h"

__thread struct cio_loop *cio__loop_tls;

cio_time cio__clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (cio_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cio_time cio_now(void)
{
    struct cio_loop *l = cio__loop_tls;
    return l != NULL ? l->now : cio__clock_ms();
}

cio_time cio_after(int64_t ms)
{
    return ms < 0 ? CIO_NEVER : cio_now() + ms;
}

cio_loop *cio_loop_current(void)
{
    return cio__loop_tls;
}

void cio__report_origin(const char *what, const char *name,
                        const void *created_by)
{
    Dl_info di;
    if (created_by != NULL && dladdr(created_by, &di) != 0 &&
        di.dli_fname != NULL) {
        fprintf(
            stderr, "%s%s%s%s: created at %s+0x%zx (%s+0x%zx)\n", what,
            name ? " '" : "", name ? name : "", name ? "'" : "",
            di.dli_sname ? di.dli_sname : "?",
            di.dli_saddr ? (size_t)((const char *)created_by -
                                    (const char *)di.dli_saddr)
                         : 0,
            di.dli_fname,
            (size_t)((const char *)created_by - (const char *)di.dli_fbase));
    } else {
        fprintf(stderr, "%s%s%s%s: created at %p\n", what, name ? " '" : "",
                name ? name : "", name ? "'" : "", created_by);
    }
}

/* ------------------------------------------------------------- timers */

static void heap_swap(struct cio__timer **h, size_t a, size_t b)
{
    struct cio__timer *t = h[a];
    h[a] = h[b];
    h[b] = t;
    h[a]->idx = a;
    h[b]->idx = b;
}

static void heap_up(struct cio__timer **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p]->when <= h[i]->when)
            break;
        heap_swap(h, p, i);
        i = p;
    }
}

static void heap_down(struct cio__timer **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l]->when < h[m]->when)
            m = l;
        if (r < n && h[r]->when < h[m]->when)
            m = r;
        if (m == i)
            break;
        heap_swap(h, m, i);
        i = m;
    }
}

int cio__timer_add(struct cio_loop *l, struct cio__timer *t, cio_time when)
{
    if (t->idx != CIO__TIMER_IDLE)
        cio__timer_del(l, t);
    if (l->nheap == l->heapcap) {
        size_t cap = l->heapcap ? l->heapcap * 2 : 64;
        struct cio__timer **h = cio__realloc(l->heap, cap * sizeof(*h));
        if (h == NULL)
            return CIO_ENOMEM;
        l->heap = h;
        l->heapcap = cap;
    }
    t->when = when;
    t->idx = l->nheap;
    l->heap[l->nheap++] = t;
    heap_up(l->heap, t->idx);
    return 0;
}

void cio__timer_del(struct cio_loop *l, struct cio__timer *t)
{
    size_t i = t->idx;
    if (i == CIO__TIMER_IDLE)
        return;
    t->idx = CIO__TIMER_IDLE;
    if (--l->nheap == i)
        return;
    l->heap[i] = l->heap[l->nheap];
    l->heap[i]->idx = i;
    heap_down(l->heap, l->nheap, i);
    heap_up(l->heap, i);
}

static void expire_timers(struct cio_loop *l)
{
    while (l->nheap > 0 && l->heap[0]->when <= l->now) {
        struct cio__timer *t = l->heap[0];
        cio__timer_del(l, t);
        t->cb(t);
    }
}

static int poll_timeout(struct cio_loop *l)
{
    if (l->nready + l->nlater > 0 || !cio__list_empty(&l->pending) ||
        l->posts_due)
        return 0;
    if (l->nheap == 0)
        return -1;
    l->now = cio__clock_ms();
    cio_time d = l->heap[0]->when - l->now;
    if (d <= 0)
        return 0;
    return d > INT_MAX ? INT_MAX : (int)d;
}

/* ------------------------------------------------------------- fds */

/*
 * The readable callback's deadline timer is lazy: arming the callback
 * again with a later deadline (a keep-alive connection going idle after
 * each request) only records the deadline, and a bytes-arrived edge leaves
 * the timer in the heap, so the common cycle costs no heap operation. When
 * the timer fires it looks at what is armed now: nothing (dropped), a
 * later deadline (re-added for it), or this one (the callback times out).
 */
static void fd_cb_timeout(struct cio__timer *tm)
{
    struct cio__fd *f = CIO_CONTAINER_OF(tm, struct cio__fd, cb_timer);
    if (f->cb == NULL || cio__list_linked(&f->pending) || f->cb_deadline < 0)
        return;
    if (f->cb_deadline > f->loop->now) {
        /* on failure (no memory for the heap) the deadline is lost: time
         * out now rather than never */
        if (cio__timer_add(f->loop, &f->cb_timer, f->cb_deadline) == 0)
            return;
    }
    f->cb_status = CIO_ETIMEDOUT;
    cio__list_push_back(&f->loop->pending, &f->pending);
}

int cio__fd_open(struct cio__fd *f, int fd)
{
    struct cio_loop *l = cio__loop_tls;
    int rc;

    if (l == NULL)
        return CIO_EINVAL;
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->loop = l;
    f->rready = f->wready = 1; /* optimistic: the first I/O finds out */
    cio__list_init(&f->rwait);
    cio__list_init(&f->wwait);
    cio__timer_init(&f->cb_timer, fd_cb_timeout);
    rc = cio__poll_add(&l->poll, fd, f);
    if (rc < 0)
        return rc;
    f->created_by = __builtin_return_address(0);
    cio__list_push_back(&l->fds, &f->dnode);
    l->nfds++;
    return 0;
}

void cio__fd_cancel_cb(struct cio__fd *f)
{
    f->cb = NULL;
    f->cb_ud = NULL;
    if (cio__list_linked(&f->pending))
        cio__list_remove(&f->pending);
    if (f->cb_timer.idx != CIO__TIMER_IDLE)
        cio__timer_del(f->loop, &f->cb_timer);
}

void cio__fd_close(struct cio__fd *f)
{
    struct cio_loop *l = f->loop;

    cio__fd_cancel_cb(f);
    cio__wake_all(&f->rwait, CIO_ECLOSED);
    cio__wake_all(&f->wwait, CIO_ECLOSED);
    if (cio__list_linked(&f->dnode)) {
        cio__list_remove(&f->dnode);
        l->nfds--;
    }
    /* close() drops the epoll registration (we never dup stream fds). */
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

int cio__fd_wait(struct cio__fd *f, unsigned dir, cio_time deadline)
{
    struct cio__wait w = {0};

    if (dir == CIO__IN) {
        f->rready = 0;
        cio__list_push_back(&f->rwait, &w.node);
    } else {
        f->wready = 0;
        cio__list_push_back(&f->wwait, &w.node);
    }
    return cio__park(&w, deadline, 0);
}

int cio__fd_wait_readable(struct cio__fd *f, cio_time deadline)
{
    struct cio__wait w = {0};

    if (f->rready)
        return cio_canceled() ? CIO_ECANCELED : 0;
    cio__list_push_back(&f->rwait, &w.node);
    return cio__park(&w, deadline, 0);
}

int cio__fd_on_readable(struct cio__fd *f, cio_time deadline,
                        void (*cb)(struct cio__fd *, int, void *), void *ud)
{
    if (!cio__list_empty(&f->rwait) || cb == NULL)
        return CIO_EINVAL;
    f->cb = NULL;
    f->cb_ud = NULL;
    if (cio__list_linked(&f->pending))
        cio__list_remove(&f->pending);
    f->cb_deadline = deadline >= 0 ? deadline : -1;
    /* an armed timer due no later than the deadline is kept: it re-arms
     * itself for the deadline when it fires (fd_cb_timeout) */
    if (!f->rready && deadline >= 0 &&
        (f->cb_timer.idx == CIO__TIMER_IDLE || f->cb_timer.when > deadline)) {
        int rc = cio__timer_add(f->loop, &f->cb_timer, deadline);
        if (rc < 0)
            return rc;
    }
    f->cb = cb;
    f->cb_ud = ud;
    if (f->rready) {
        f->cb_status = 0;
        cio__list_push_back(&f->loop->pending, &f->pending);
    }
    return 0;
}

int cio__fd_open_virtual(struct cio__fd *f)
{
    struct cio_loop *l = cio__loop_tls;

    if (l == NULL)
        return CIO_EINVAL;
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->loop = l;
    f->wready = 1;
    cio__list_init(&f->rwait);
    cio__list_init(&f->wwait);
    cio__timer_init(&f->cb_timer, fd_cb_timeout);
    f->created_by = __builtin_return_address(0);
    cio__list_push_back(&l->fds, &f->dnode);
    l->nfds++;
    return 0;
}

void cio__fd_signal(struct cio__fd *f, unsigned ev)
{
    /* Only wake and queue here: no user code runs, so a poller batch can
     * not close an fd before its event is handled, and a task that reports
     * an edge on a virtual fd keeps running. */
    if (ev & (CIO__EV_RDHUP | CIO__EV_ERR))
        f->rdhup = 1;
    if (ev & (CIO__EV_IN | CIO__EV_ERR)) {
        f->rready = 1;
        cio__wake_all(&f->rwait, 0);
        if (f->cb != NULL && !cio__list_linked(&f->pending)) {
            /* the deadline timer stays (lazy, see fd_cb_timeout) */
            f->cb_status = 0;
            cio__list_push_back(&f->loop->pending, &f->pending);
        }
    }
    if (ev & (CIO__EV_OUT | CIO__EV_ERR)) {
        f->wready = 1;
        cio__wake_all(&f->wwait, 0);
    }
}

static void dispatch(void *ptr, unsigned ev, void *ctx)
{
    struct cio__fd *f = ptr;
    (void)ctx;

    if (f->on_event != NULL) {
        f->on_event(f, ev);
        return;
    }
    cio__fd_signal(f, ev);
}

static void run_pending(struct cio_loop *l)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(&l->pending)) != NULL) {
        struct cio__fd *f = CIO_CONTAINER_OF(n, struct cio__fd, pending);
        void (*cb)(struct cio__fd *, int, void *) = f->cb;
        void *ud = f->cb_ud;
        f->cb = NULL;
        f->cb_ud = NULL;
        if (cb != NULL)
            cb(f, f->cb_status, ud);
    }
}

/* ------------------------------------------------------------- posts */

static void wake_event(struct cio__fd *f, unsigned ev)
{
    struct cio_loop *l = CIO_CONTAINER_OF(f, struct cio_loop, wake);
    uint64_t v;
    (void)ev;
    while (read(f->fd, &v, sizeof(v)) > 0)
        ;
    atomic_store(&l->wake_armed, 0);
    l->posts_due = 1;
}

void cio__loop_wakeup(struct cio_loop *l)
{
    if (atomic_exchange(&l->wake_armed, 1) == 0) {
        uint64_t one = 1;
        ssize_t n = write(l->wake.fd, &one, sizeof(one));
        (void)n; /* EAGAIN: the counter is saturated, a wakeup is pending */
    }
}

int cio__loop_post(struct cio_loop *l, struct cio__post *p)
{
    pthread_mutex_lock(&l->post_mu);
    if (l->post_closed) {
        pthread_mutex_unlock(&l->post_mu);
        return CIO_ECLOSED;
    }
    p->next = NULL;
    *l->post_tail = p;
    l->post_tail = &p->next;
    pthread_mutex_unlock(&l->post_mu);
    cio__loop_wakeup(l);
    return 0;
}

static void run_posts(struct cio_loop *l)
{
    struct cio__post *p;

    l->posts_due = 0;
    pthread_mutex_lock(&l->post_mu);
    p = l->post_head;
    l->post_head = NULL;
    l->post_tail = &l->post_head;
    pthread_mutex_unlock(&l->post_mu);
    while (p != NULL) {
        struct cio__post *next = p->next;
        p->fn(p);
        p = next;
    }
    cio__signal_dispatch(l);
}

struct user_post {
    struct cio__post p;
    void (*fn)(void *);
    void *arg;
};

static void user_post_run(struct cio__post *p)
{
    struct user_post *u = (struct user_post *)p;
    u->fn(u->arg);
    cio__free(u);
}

int cio_loop_post(cio_loop *l, void (*fn)(void *), void *arg)
{
    struct user_post *u;
    int rc;

    if (l == NULL || fn == NULL)
        return CIO_EINVAL;
    u = cio__malloc(sizeof(*u));
    if (u == NULL)
        return CIO_ENOMEM;
    u->p.fn = user_post_run;
    u->fn = fn;
    u->arg = arg;
    rc = cio__loop_post(l, &u->p);
    if (rc < 0)
        cio__free(u);
    return rc;
}

static void cancel_main(void *arg)
{
    struct cio_loop *l = arg;
    if (l->main_task != NULL)
        cio__task_cancel(l->main_task);
}

int cio_loop_cancel(cio_loop *l)
{
    return cio_loop_post(l, cancel_main, l);
}

/* ------------------------------------------------------------- run */

static int loop_init(struct cio_loop *l)
{
    int rc, efd;
    const char *env = getenv("CIO_DEBUG");

    cio__list_init(&l->ready);
    cio__list_init(&l->later);
    cio__list_init(&l->pool);
    cio__list_init(&l->tasks);
    cio__list_init(&l->fds);
    cio__list_init(&l->pending);
    cio__list_init(&l->sig_waiters);
    l->sig_slot = -1;
    l->pool_max = 1024;
    l->post_tail = &l->post_head;
#ifdef CIO_DEBUG_BUILD
    l->debug = 1;
#endif
    if (env != NULL)
        l->debug = env[0] != '0';
    rc = cio__poll_init(&l->poll);
    if (rc < 0)
        return rc;
    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
        rc = -errno;
        goto fail_poll;
    }
    cio__loop_tls = l; /* cio__fd_open registers with the current loop */
    rc = cio__fd_open(&l->wake, efd);
    if (rc < 0) {
        close(efd);
        goto fail_tls;
    }
    /* the wakeup fd is the loop's own: not a user fd to report */
    cio__list_remove(&l->wake.dnode);
    l->nfds--;
    l->wake.on_event = wake_event;
    pthread_mutex_init(&l->post_mu, NULL);
#if CIO_TSAN
    l->sched_tsan_fiber = __tsan_get_current_fiber();
#endif
    l->now = cio__clock_ms();
    cio__stack_guard_install();
    return 0;

fail_tls:
    cio__loop_tls = NULL;
fail_poll:
    cio__poll_fini(&l->poll);
    return rc;
}

static void loop_fini(struct cio_loop *l)
{
    struct cio__post *p;

    l->finishing = 1;
    cio__executor_loop_fini(l);
    cio__signal_loop_fini(l);
    pthread_mutex_lock(&l->post_mu);
    l->post_closed = 1;
    pthread_mutex_unlock(&l->post_mu);
    /* Posts that arrived before closing still run (their fn may not start
     * tasks any more: cio_go returns CIO_ECLOSED). */
    while ((p = l->post_head) != NULL) {
        l->post_head = NULL;
        l->post_tail = &l->post_head;
        while (p != NULL) {
            struct cio__post *next = p->next;
            p->fn(p);
            p = next;
        }
    }
    if (l->nfds > 0 && l->debug) {
        cio__list_each(it, &l->fds)
        {
            struct cio__fd *f = CIO_CONTAINER_OF(it, struct cio__fd, dnode);
            char what[64];
            snprintf(what, sizeof(what), "corio: fd %d still open at loop end",
                     f->fd);
            cio__report_origin(what, NULL, f->created_by);
        }
    }
    cio__pool_drain(l);
    close(l->wake.fd);
    cio__poll_fini(&l->poll);
    pthread_mutex_destroy(&l->post_mu);
    cio__free(l->heap);
}

static void loop_turn(struct cio_loop *l)
{
    int rc = cio__poll_wait(&l->poll, poll_timeout(l), dispatch, l);
    if (rc < 0) {
        fprintf(stderr, "corio: epoll_wait: %s\n", strerror(-rc));
        abort();
    }
    l->now = cio__clock_ms();
    expire_timers(l);
    if (l->posts_due)
        run_posts(l);
    run_pending(l);
    cio__run_ready(l);
}

int cio_run(int (*main)(void *), void *arg)
{
    struct cio_loop *l;
    cio_task *mh;
    int rc, leaked = 0;

    if (main == NULL)
        return CIO_EINVAL;
    if (cio__loop_tls != NULL)
        return CIO_EBUSY;
    l = cio__calloc(1, sizeof(*l));
    if (l == NULL)
        return CIO_ENOMEM;
    rc = loop_init(l);
    if (rc < 0) {
        cio__free(l);
        return rc;
    }
    rc = cio_group_new(&l->root);
    if (rc < 0)
        goto out;
    rc = cio__spawn_main(l, main, arg, &mh);
    if (rc < 0) {
        cio_group_free(l->root);
        goto out;
    }
    l->main_task = CIO_CONTAINER_OF(l->tasks.next, struct cio__task, lnode);
    while (l->ntasks > 0) {
        loop_turn(l);
        if (!leaked && cio_task_result(mh, &rc) == 0) {
            l->main_task = NULL;
            if (l->ntasks > 0) {
                /* main returned but tasks remain: a group was leaked */
                leaked = 1;
                cio__cancel_all(l);
            }
        }
    }
    cio_task_result(mh, &rc);
    l->main_task = NULL;
    cio_group_free(l->root);
out:
    loop_fini(l);
    cio__loop_tls = NULL;
    cio__free(l);
    return rc;
}
