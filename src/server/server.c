/* SPDX-License-Identifier: MIT */
/*
 * Serving: listeners, worker threads (one loop each, SO_REUSEPORT), the
 * accept loops, graceful stop, and cio_serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/headers_int.h"
#include "net/stream.h"
#include "net/tls_int.h"
#include "server/server_int.h"

#define DEF(v, d) ((v) != 0 ? (v) : (d))

static void app_set_serving(cio_app *app, int on)
{
    app->serving = on;
    for (size_t i = 0; i < app->nmounts; i++)
        app_set_serving(app->mounts[i].sub, on);
}

static int lsn_conf(struct cio__lsn_conf *lc, const struct cio_listen *l)
{
    static const char *const alpn[] = {"http/1.1", NULL};

    if (l->addr == NULL)
        return cio__err(CIO_EINVAL, "listener without an address");
    lc->proxy = l->proxy_protocol;
    if (l->sni_certs != NULL && l->sni_certs[0] != NULL && l->tls_cert == NULL)
        return cio__err(CIO_EINVAL, "SNI certificates need tls_cert");
    lc->is_unix = strncmp(l->addr, "unix:", 5) == 0;
    lc->addr = cio__strdup(lc->is_unix ? l->addr + 5 : l->addr);
    if (lc->addr == NULL)
        return CIO_ENOMEM;
    if (l->tls_cert != NULL) {
        struct cio_tls_opts to = {
            .server = 1,
            .cert_file = l->tls_cert,
            .key_file = l->tls_key != NULL ? l->tls_key : l->tls_cert,
            .alpn = alpn,
        };
        int rc = cio_tls_ctx_new(&lc->tls, &to);
        if (rc < 0)
            return rc;
        for (size_t i = 0; l->sni_certs != NULL && l->sni_certs[i] != NULL;
             i++) {
            cio_tls_ctx *alt;
            to.cert_file = l->sni_certs[i];
            to.key_file = l->sni_keys != NULL && l->sni_keys[i] != NULL
                              ? l->sni_keys[i]
                              : l->sni_certs[i];
            rc = cio_tls_ctx_new(&alt, &to);
            if (rc < 0)
                return rc;
            rc = cio__tls_ctx_add_sni(lc->tls, alt);
            if (rc < 0) {
                cio_tls_ctx_free(alt);
                return rc;
            }
        }
    }
    return 0;
}

/* Binds worker w's listeners. The first worker binds the addresses as
 * given; the others bind the address the first one got (same port, with
 * SO_REUSEPORT). A Unix socket path can be bound once only, so every other
 * worker accepts on a dup of worker 0's socket (w->ufds, made by
 * cio_server_run before the threads start, so no worker reads another's
 * listener): each loop registers its descriptor edge-triggered, a new
 * connection wakes every idle worker, one accept4 wins and the others get
 * EAGAIN and wait again. That herd is at most `workers` wakeups per burst;
 * EPOLLEXCLUSIVE would need the poller to know about listening sockets,
 * not worth it for the local proxy traffic Unix sockets carry. */
static int bind_all(struct cio__worker *w)
{
    struct cio_server *srv = w->srv;
    int rc;

    w->lns = cio__calloc(srv->nlsn ? srv->nlsn : 1, sizeof(*w->lns));
    if (w->lns == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < srv->nlsn; i++) {
        struct cio__lsn_conf *lc = &srv->lsn[i];
        struct cio_listen_opts lo = {.reuseport = srv->nworkers > 1};
        if (lc->is_unix && w->idx != 0) {
            if (w->ufds == NULL || w->ufds[i] < 0)
                return cio__err(CIO_EINVAL, "no shared socket for %s",
                                lc->addr);
            rc = cio__listener_adopt(&w->lns[i], w->ufds[i], 1);
            w->ufds[i] = -1;
        } else if (lc->is_unix) {
            rc = cio_unix_listen(&w->lns[i], lc->addr, &lo);
        } else {
            rc = cio_tcp_listen(&w->lns[i], w->idx == 0 ? lc->addr : lc->bound,
                                &lo);
        }
        if (rc < 0)
            return cio__err(rc, "listen on %s: %s", lc->addr, cio_strerror(rc));
        if (w->idx == 0) {
            lc->bound = cio__strdup(cio_listener_addr(w->lns[i]));
            lc->port = cio_listener_port(w->lns[i]);
            if (lc->bound == NULL)
                return CIO_ENOMEM;
        }
        w->nlns = i + 1;
    }
    return 0;
}

static void close_listeners(struct cio__worker *w)
{
    for (size_t i = 0; i < w->nlns; i++)
        cio_listener_close(w->lns[i]);
    cio__free(w->lns);
    w->lns = NULL;
    w->nlns = 0;
}

int cio_server_new(cio_server **out, cio_app *app,
                   const struct cio_server_opts *opts)
{
    struct cio_server_opts none = {0};
    cio_server *srv;
    size_t n = 0;
    int rc;

    if (out == NULL || app == NULL)
        return CIO_EINVAL;
    if (opts == NULL)
        opts = &none;
    if (cio_loop_current() == NULL)
        return cio__err(CIO_EINVAL, "cio_server_new must run in a task");
    if (app->serving)
        return cio__err(CIO_EINVAL, "app is already served");
    srv = cio__calloc(1, sizeof(*srv));
    if (srv == NULL)
        return CIO_ENOMEM;
    srv->app = app;
    pthread_mutex_init(&srv->stop_mu, NULL);
    srv->lim = opts->limits;
    srv->lim.max_head = DEF(srv->lim.max_head, 16384);
    srv->lim.max_fields = DEF(srv->lim.max_fields, 100);
    srv->lim.max_body = DEF(srv->lim.max_body, 1u << 20);
    srv->lim.max_conns = DEF(srv->lim.max_conns, 10000);
    srv->lim.max_pipeline = DEF(srv->lim.max_pipeline, 16);
    srv->to = opts->timeouts;
    srv->to.head_ms = DEF(srv->to.head_ms, 10000);
    srv->to.idle_ms = DEF(srv->to.idle_ms, 60000);
    srv->to.body_min_rate = DEF(srv->to.body_min_rate, 1024);
    srv->to.write_ms = DEF(srv->to.write_ms, 30000);
    srv->to.grace_ms = DEF(srv->to.grace_ms, 10000);
    srv->h1lim = (struct cio__h1_limits){
        .max_line = 8192,
        .max_field = 8192,
        .max_head = srv->lim.max_head,
        .max_fields = srv->lim.max_fields,
        .max_body = srv->lim.max_body,
    };
    srv->on_listen = opts->on_listen;
    srv->handle_signals = opts->handle_signals;
    srv->ud = opts->ud;
    if (opts->server_name != NULL) {
        /* written into every response head: refuse it here, not on each
         * response */
        struct cio_str sn = cio__headers_trim(cio_str_c(opts->server_name));
        rc = cio__headers_check("Server", CIO_STR_LIT("Server"), sn);
        if (rc < 0)
            goto fail;
        srv->server_name = cio__strndup(sn.ptr, sn.len);
        if (srv->server_name == NULL) {
            rc = CIO_ENOMEM;
            goto fail;
        }
        srv->server_name_len = sn.len;
    }
    if (opts->listens != NULL)
        while (opts->listens[n].addr != NULL)
            n++;
    if (opts->listen != NULL)
        n++;
    /* No listener: in-process connections only (cio_server_connect). */
    srv->lsn = cio__calloc(n ? n : 1, sizeof(*srv->lsn));
    if (srv->lsn == NULL) {
        rc = CIO_ENOMEM;
        goto fail;
    }
    if (opts->listen != NULL) {
        struct cio_listen l = {.addr = opts->listen};
        rc = lsn_conf(&srv->lsn[srv->nlsn++], &l);
        if (rc < 0)
            goto fail;
    }
    for (size_t i = 0; opts->listens != NULL && opts->listens[i].addr; i++) {
        rc = lsn_conf(&srv->lsn[srv->nlsn++], &opts->listens[i]);
        if (rc < 0)
            goto fail;
    }
    srv->nworkers = n == 0 ? 1 : opts->workers;
    if (srv->nworkers == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        srv->nworkers = c > 0 ? (unsigned)c : 1;
    }
    srv->workers = cio__calloc(srv->nworkers, sizeof(*srv->workers));
    if (srv->workers == NULL) {
        rc = CIO_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct cio__worker *w = &srv->workers[i];
        w->srv = srv;
        w->idx = i;
        cio__list_init(&w->all);
        cio__list_init(&w->pool);
    }
    rc = cio__dispatch_build(app, &srv->d);
    if (rc < 0)
        goto fail;
    srv->workers[0].loop = cio_loop_current();
    rc = bind_all(&srv->workers[0]);
    if (rc < 0)
        goto fail;
    app_set_serving(app, 1);
    *out = srv;
    return 0;
fail:
    cio_server_free(srv);
    return rc;
}

/* ------------------------------------------------------------ workers */

struct acc {
    struct cio__worker *w;
    size_t i;
};

static void accept_loop(void *arg)
{
    struct acc *a = arg;
    struct cio__worker *w = a->w;
    cio_listener *ln = w->lns[a->i];
    const struct cio__lsn_conf *lc = &w->srv->lsn[a->i];

    for (;;) {
        cio_stream *s;
        int rc = cio_listener_accept(ln, &s, CIO_NEVER);
        if (rc == 0) {
            (void)cio__h1_accept(w, lc, s);
            continue;
        }
        if (rc == CIO_ECANCELED || rc == CIO_ECLOSED)
            return;
        if (rc == CIO_EMFILE)
            continue; /* shed by the listener's spare descriptor */
        /* an unexpected error: do not spin */
        if (cio_sleep(cio_after(10)) < 0)
            return;
    }
}

/* The one loop-lag sampler (cio_server_stats and the metrics page read
 * it): how late a 100 ms sleep wakes up, kept as the worst over a window
 * (metrics.h: cio__lag_note) so a stall stays visible to a scraper. It runs
 * in the accept group, so it ends as soon as a stop begins. */
static void lag_loop(void *arg)
{
    struct cio__worker *w = arg;
    struct timespec a, b;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (cio_sleep(cio_after(100)) < 0)
            return;
        clock_gettime(CLOCK_MONOTONIC, &b);
        int64_t us = (b.tv_sec - a.tv_sec) * 1000000 +
                     (b.tv_nsec - a.tv_nsec) / 1000 - 100000;
        cio__lag_note(&w->lag, (int64_t)b.tv_sec * 1000 + b.tv_nsec / 1000000,
                      us > 0 ? (uint64_t)us : 0);
    }
}

static void stop_cb(void *arg)
{
    struct cio__worker *w = arg;
    w->stopping = 1;
    if (w->stop_ev != NULL)
        cio_event_set(w->stop_ev);
}

/* Serves on the current loop until stopped; then drains. */
static int worker_serve(struct cio__worker *w)
{
    struct cio_server *srv = w->srv;
    cio_group *acc = NULL;
    struct acc *accs = NULL;
    int rc;

    rc = cio_event_new(&w->stop_ev);
    if (rc < 0)
        return rc;
    if (atomic_load(&srv->stopping))
        w->stopping = 1;
    rc = cio_group_new(&w->conns);
    if (rc < 0)
        goto out_ev;
    rc = cio_group_new(&acc);
    if (rc < 0)
        goto out_conns;
    accs = cio__calloc(w->nlns ? w->nlns : 1, sizeof(*accs));
    if (accs == NULL) {
        rc = CIO_ENOMEM;
        goto out_acc;
    }
    for (size_t i = 0; i < w->nlns; i++) {
        if (w->lns[i] == NULL)
            continue;
        accs[i] = (struct acc){w, i};
        rc = cio_go(acc, accept_loop, &accs[i]);
        if (rc < 0)
            goto out_acc;
    }
    (void)cio_go(acc, lag_loop, w);
    if (srv->on_listen != NULL)
        srv->on_listen(srv, srv->ud);
    if (!w->stopping)
        (void)cio_event_wait(w->stop_ev, CIO_NEVER);
    rc = 0;
out_acc:
    /* graceful stop: no new connections */
    w->stopping = 1;
    cio_group_free(acc);
    close_listeners(w);
    if (w->idx == 0)
        (void)cio__app_run_hooks(srv->app, 1);
    cio__worker_close_idle(w);
    (void)cio_group_wait(w->conns, cio_after(srv->to.grace_ms));
out_conns:
    cio_group_free(w->conns); /* cancels what is left, waits */
    w->conns = NULL;
    cio__worker_close_idle(w);
    cio__worker_pool_free(w);
    cio__free(accs);
out_ev:
    cio_event_free(w->stop_ev);
    w->stop_ev = NULL;
    return rc;
}

static int worker_main(void *arg)
{
    struct cio__worker *w = arg;
    struct cio_server *srv = w->srv;
    int rc;

    /* Publish the loop before looking at the stop flag: a stop either
     * sees the loop (and posts) or set the flag before we look at it. */
    pthread_mutex_lock(&srv->stop_mu);
    w->loop = cio_loop_current();
    pthread_mutex_unlock(&srv->stop_mu);
    rc = bind_all(w);
    if (rc < 0) {
        close_listeners(w);
        w->rc = rc;
    }
    rc = worker_serve(w);
    /* no post may reach this loop once the thread ends */
    pthread_mutex_lock(&srv->stop_mu);
    w->loop = NULL;
    pthread_mutex_unlock(&srv->stop_mu);
    return rc;
}

/* Dups worker 0's Unix listening sockets for worker w (see bind_all). */
static int share_unix(struct cio_server *srv, struct cio__worker *w)
{
    struct cio__worker *w0 = &srv->workers[0];
    size_t n = 0;
    for (size_t i = 0; i < srv->nlsn; i++)
        n += srv->lsn[i].is_unix;
    if (n == 0)
        return 0;
    w->ufds = cio__malloc(srv->nlsn * sizeof(*w->ufds));
    if (w->ufds == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < srv->nlsn; i++) {
        w->ufds[i] = -1;
        if (!srv->lsn[i].is_unix || i >= w0->nlns || w0->lns[i] == NULL)
            continue;
        w->ufds[i] = fcntl(cio_listener_fd(w0->lns[i]), F_DUPFD_CLOEXEC, 0);
        if (w->ufds[i] < 0)
            return cio__err(-errno, "dup of a Unix listener: %s",
                            strerror(errno));
    }
    return 0;
}

static void unshare_unix(struct cio_server *srv, struct cio__worker *w)
{
    for (size_t i = 0; w->ufds != NULL && i < srv->nlsn; i++)
        if (w->ufds[i] >= 0)
            close(w->ufds[i]);
    cio__free(w->ufds);
    w->ufds = NULL;
}

static void sig_task(void *arg)
{
    cio_server *srv = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (cio_signal_wait(&set, CIO_NEVER) > 0)
        cio_server_stop(srv);
}

int cio_server_run(cio_server *srv)
{
    cio_group *sig = NULL;
    int rc;

    if (srv == NULL)
        return CIO_EINVAL;
    /* atomic: cio_server_free may look from another thread (misuse check) */
    if (__atomic_exchange_n(&srv->running, 1, __ATOMIC_ACQ_REL))
        return cio__err(CIO_EINVAL, "cio_server_run: the server is already "
                                    "running");
    /* sendfile(2) takes no MSG_NOSIGNAL: a write to a peer that is gone
     * may raise SIGPIPE, whose default action ends the process. A server
     * ignores it, as nginx does, unless the application chose otherwise. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO)) {
        sa.sa_handler = SIG_IGN;
        (void)sigaction(SIGPIPE, &sa, NULL);
    }
    rc = cio__app_run_hooks(srv->app, 0);
    if (rc < 0) {
        close_listeners(&srv->workers[0]);
        __atomic_store_n(&srv->running, 0, __ATOMIC_RELEASE);
        return rc;
    }
    srv->started_hooks = 1;
    for (unsigned i = 1; i < srv->nworkers; i++) {
        struct cio__worker *w = &srv->workers[i];
        rc = share_unix(srv, w);
        if (rc < 0)
            break;
        rc = cio_thread_new(&w->thr, worker_main, w);
        if (rc < 0)
            break;
    }
    if (rc < 0)
        cio_server_stop(srv);
    if (srv->handle_signals && cio_group_new(&sig) == 0 &&
        cio_go(sig, sig_task, srv) == 0)
        (void)cio_yield(); /* the handler is installed before on_listen */
    rc = worker_serve(&srv->workers[0]);
    cio_group_free(sig);
    /* the calling task may have been canceled: stop the others too */
    cio_server_stop(srv);
    for (unsigned i = 1; i < srv->nworkers; i++) {
        struct cio__worker *w = &srv->workers[i];
        if (w->thr == NULL)
            continue;
        /* uncancelable in spirit: a join that fails leaves a thread */
        while (cio_thread_join(w->thr, CIO_NEVER, NULL) == CIO_ECANCELED) {
        }
        w->thr = NULL;
    }
    for (unsigned i = 1; i < srv->nworkers; i++)
        unshare_unix(srv, &srv->workers[i]);
    (void)cio__app_run_hooks(srv->app, 2);
    /* the last access to srv: from here the caller may free it */
    __atomic_store_n(&srv->running, 0, __ATOMIC_RELEASE);
    return rc;
}

void cio_server_stop(cio_server *srv)
{
    if (srv == NULL || atomic_exchange(&srv->stopping, 1))
        return;
    /* One critical section for every worker: once worker 0 has the stop,
     * cio_server_run may return on another thread and its caller free the
     * server; cio_server_free takes stop_mu first, so it waits until this
     * loop is done with srv. */
    pthread_mutex_lock(&srv->stop_mu);
    for (unsigned i = srv->nworkers; i-- > 0;) {
        struct cio__worker *w = &srv->workers[i];
        /* on our own loop, act now: a post could run after the server
         * is freed (stop, then run returns at once, then free) */
        if (w->loop != NULL && w->loop == cio_loop_current())
            stop_cb(w);
        else if (w->loop != NULL)
            (void)cio_loop_post(w->loop, stop_cb, w);
    }
    pthread_mutex_unlock(&srv->stop_mu);
}

int cio_server_connect(cio_server *srv, cio_stream **out)
{
    if (srv == NULL || out == NULL)
        return CIO_EINVAL;
    struct cio__worker *w = &srv->workers[0];
    if (w->loop == NULL || w->loop != cio_loop_current())
        return cio__err(CIO_EINVAL, "cio_server_connect: not on the loop "
                                    "that created the server");
    if (w->conns == NULL || !__atomic_load_n(&srv->running, __ATOMIC_RELAXED))
        return cio__err(CIO_EINVAL,
                        "cio_server_connect: the server is not "
                        "running (cio_server_run; on_listen tells when)");
    if (w->stopping)
        return cio__err(CIO_EBUSY, "cio_server_connect: the server is "
                                   "stopping");
    cio_stream *mine, *theirs;
    int rc = cio_pipe_new(&mine, &theirs, 0);
    if (rc < 0)
        return rc;
    /* Exactly the accept path: counted, limited, idle until bytes come. */
    rc = cio__h1_accept(w, &srv->inproc, theirs);
    if (rc < 0) {
        cio_stream_close(mine);
        return rc == CIO_EBUSY ? cio__err(rc, "cio_server_connect: "
                                              "max_conns reached")
                               : rc;
    }
    *out = mine;
    return 0;
}

int cio_server_connect_hook(void *srv, const char *host, unsigned port,
                            bool tls, cio_stream **out)
{
    (void)host;
    (void)port;
    (void)tls;
    return cio_server_connect(srv, out);
}

const char *cio_server_addr(const cio_server *srv, size_t i)
{
    if (srv == NULL || i >= srv->nlsn)
        return NULL;
    return srv->lsn[i].bound;
}

unsigned cio_server_port(const cio_server *srv, size_t i)
{
    if (srv == NULL || i >= srv->nlsn)
        return 0;
    return srv->lsn[i].port;
}

void cio_server_stats(const cio_server *srv, struct cio_server_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (srv == NULL)
        return;
    for (unsigned i = 0; i < srv->nworkers; i++) {
        struct cio__worker *w = &srv->workers[i];
        out->requests += atomic_load(&w->requests);
        out->conns += atomic_load(&w->nconns);
        out->conns_idle += atomic_load(&w->nidle);
        out->inflight += atomic_load(&w->inflight);
        out->accepted += atomic_load(&w->accepted);
        out->shed += atomic_load(&w->shed);
        uint32_t lag = cio__lag_worst(&w->lag);
        if (lag > out->loop_lag_us)
            out->loop_lag_us = lag;
    }
}

void cio_server_free(cio_server *srv)
{
    if (srv == NULL)
        return;
    /* Freeing a server that serves (from one of its handlers, or from
     * another thread while cio_server_run is in progress) pulls the
     * workers, connections and listeners from under it: a use-after-free
     * that shows much later, elsewhere. No return code could report it
     * (and the caller would go on), so it fails here, loudly, as the
     * runtime does for a group freed by its own task. */
    if (__atomic_load_n(&srv->running, __ATOMIC_ACQUIRE)) {
        fprintf(stderr, "corio: cio_server_free on a running server "
                        "(cio_server_run has not returned: call "
                        "cio_server_stop, and free the server after "
                        "cio_server_run returns)\n");
        abort();
    }
    /* Wait for a cio_server_stop still running on another thread. */
    pthread_mutex_lock(&srv->stop_mu);
    pthread_mutex_unlock(&srv->stop_mu);
    if (srv->workers != NULL) {
        close_listeners(&srv->workers[0]);
        for (unsigned i = 0; i < srv->nworkers; i++)
            cio__worker_pool_free(&srv->workers[i]);
    }
    for (size_t i = 0; i < srv->nlsn; i++) {
        cio__free(srv->lsn[i].addr);
        cio__free(srv->lsn[i].bound);
        cio_tls_ctx_free(srv->lsn[i].tls);
    }
    cio__free(srv->lsn);
    cio__free(srv->workers);
    cio__dispatch_fini(&srv->d);
    if (srv->app != NULL)
        app_set_serving(srv->app, 0);
    cio__free(srv->server_name);
    pthread_mutex_destroy(&srv->stop_mu);
    cio__free(srv);
}

/* ------------------------------------------------------------ cio_serve */

struct serve_args {
    cio_app *app;
    const struct cio_server_opts *opts;
};

static int serve_main(void *arg)
{
    struct serve_args *a = arg;
    cio_server *srv;
    int rc = cio_server_new(&srv, a->app, a->opts);
    if (rc < 0)
        return rc;
    srv->handle_signals = 1;
    rc = cio_server_run(srv);
    cio_server_free(srv);
    return rc;
}

int cio_serve(cio_app *app, const struct cio_server_opts *opts)
{
    struct serve_args a = {app, opts};
    return cio_run(serve_main, &a);
}
