/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_METRICS_H
#define CIO_SERVER_METRICS_H

/*
 * The store behind cio_app_use_metrics: request counters and latency
 * histograms by (route pattern, method, status), kept in one shard per
 * thread so that the hot path takes no lock and shares no cache line with
 * other workers; a scrape sums the shards.
 *
 * Concurrency: cio__metrics_observe writes only
 * the calling thread's shard (single writer: relaxed loads and stores, no
 * read-modify-write atomics). A series slot is published with a release
 * store after its key is written; cio__metrics_render (any thread) reads
 * with acquire/relaxed loads, so it sees whole keys and counters that are
 * each exact but may be a few requests apart from each other.
 * cio__metrics_free requires that no thread uses m any more.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"

struct cio__metrics;

/* Errors: CIO_ENOMEM. */
int cio__metrics_new(struct cio__metrics **out);
void cio__metrics_free(struct cio__metrics *m);

/*
 * Counts one request. route is a route pattern owned by the app (compared
 * by address, printed as text) or NULL when no route matched ("" label);
 * method is interned (GET ... OPTIONS, anything else counts as "OTHER") so
 * that clients cannot grow the label set; dur_ns is the handling time.
 * When the thread's shard is full (CIO__METRICS_SERIES series), the
 * request is counted in corio_metrics_dropped_total instead.
 */
void cio__metrics_observe(struct cio__metrics *m, const char *route,
                          const char *method, int status, uint64_t dur_ns);

/*
 * Loop lag over a window: the server's per-worker sampler (server.c,
 * lag_loop) records how late its periodic timer fired (at now_ms, a
 * monotonic clock) with cio__lag_note; cio__lag_worst is the worst lag of
 * the current and the previous CIO__METRICS_LAG_WINDOW_MS window, so a
 * stall stays visible to a scraper for 5 to 10 s instead of until the next
 * tick. One writer (the worker's loop), readers on any thread.
 */
#define CIO__METRICS_LAG_WINDOW_MS 5000
struct cio__lag_window {
    _Atomic uint32_t cur_us, prev_us;
    int64_t start_ms; /* writer only */
};
void cio__lag_note(struct cio__lag_window *w, int64_t now_ms, uint64_t lag_us);
uint32_t cio__lag_worst(struct cio__lag_window *w);

#define CIO__METRICS_SERIES 512 /* per shard; a power of two */

struct cio__metrics_gauges {
    int have_conns; /* 0: corio_http_connections_open is left out */
    uint64_t conns_open;
    /* corio_loop_lag_seconds{worker="i"} for i < nlag (cio__lag_worst of
     * each worker, in µs); nlag 0: left out */
    const uint32_t *lag_us;
    unsigned nlag;
};

/* Appends the Prometheus text exposition (format 0.0.4) to b.
 * Errors: CIO_ENOMEM, CIO_ETOOBIG (b's ceiling). */
int cio__metrics_render(struct cio__metrics *m, struct cio__buf *b,
                        const struct cio__metrics_gauges *g);

#endif
