/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_METRICS_H
#define CIO_SERVER_METRICS_H

/*
 * The store behind cio_app_use_metrics: request counters and latency
 * histograms by (route pattern, method, status), kept in one shard per
 * thread so that the hot path takes no lock and shares no cache line with
 * other workers; a scrape sums the shards.
 *
 * Concurrency: cio__metrics_observe and cio__metrics_set_lag write only
 * the calling thread's shard (single writer: relaxed loads and stores, no
 * read-modify-write atomics). A series slot is published with a release
 * store after its key is written; cio__metrics_render (any thread) reads
 * with acquire/relaxed loads, so it sees whole keys and counters that are
 * each exact but may be a few requests apart from each other.
 * cio__metrics_free requires that no thread uses m any more.
 */
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
 * Records how late the calling thread's periodic timer fired (at
 * now_ms, a monotonic clock). The exposed gauge is the worst lag of the
 * current and the previous CIO__METRICS_LAG_WINDOW_MS window, so a stall
 * stays visible to a scraper for 5 to 10 s instead of until the next tick.
 */
#define CIO__METRICS_LAG_WINDOW_MS 5000
void cio__metrics_set_lag(struct cio__metrics *m, int64_t now_ms, uint64_t lag_us);

#define CIO__METRICS_SERIES 512 /* per shard; a power of two */

struct cio__metrics_gauges {
    int have_conns;       /* 0: corio_http_connections_open is left out */
    uint64_t conns_open;
};

/* Appends the Prometheus text exposition (format 0.0.4) to b.
 * Errors: CIO_ENOMEM, CIO_ETOOBIG (b's ceiling). */
int cio__metrics_render(struct cio__metrics *m, struct cio__buf *b,
                        const struct cio__metrics_gauges *g);

#endif
