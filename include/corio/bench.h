/* SPDX-License-Identifier: MIT */
#ifndef CORIO_BENCH_H
#define CORIO_BENCH_H

/*
 * A load generator as a library (the engine of `corio bench`): many
 * keep-alive HTTP/1.1 connections, each with up to `inflight` pipelined
 * requests, split over `threads` threads of one loop each. Closed loop by
 * default (a connection sends the next request when a response arrives);
 * with `rate` an open loop that sends on a fixed schedule and measures each
 * latency from the request's *scheduled* time, so a stalled server cannot
 * hide its stall by slowing the generator down (coordinated omission, as
 * wrk2 and oha correct it). Latencies go into an HDR-style histogram
 * (cio_hist) with 3 significant digits from 1 µs to 60 s.
 *
 * The engine writes the same pre-serialised request bytes again and again
 * and reads responses with corio's strict HTTP/1.1 parser (every response
 * head and chunked body is checked), so a malformed response is counted as
 * a protocol error rather than skipped. See docs/internals/bench.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http.h>

/* ------------------------------------------------------------ histogram */

/*
 * Log-linear buckets (HdrHistogram's layout): values below 2048 µs are
 * exact, above that each power of two is split into 1024 buckets, so a
 * recorded value is known within 1/1024 (3 significant digits). Values are
 * microseconds in [1, 60e6]; smaller values count as 1, larger as 60e6
 * (max() still reports the true largest value). About 136 KiB.
 */
typedef struct cio_hist cio_hist;

#define CIO_HIST_MAX_US 60000000ull

/* Errors: CIO_ENOMEM. */
CIO_API int cio_hist_new(cio_hist **out);
/* NULL ok. */
CIO_API void cio_hist_free(cio_hist *h);
CIO_API void cio_hist_reset(cio_hist *h);
/* Records `count` values equal to us. */
CIO_API void cio_hist_record(cio_hist *h, uint64_t us, uint64_t count);
/* Adds every value of src to dst (threads record apart, then merge). */
CIO_API void cio_hist_merge(cio_hist *dst, const cio_hist *src);

CIO_API uint64_t cio_hist_count(const cio_hist *h);
CIO_API uint64_t cio_hist_min(const cio_hist *h); /* 0 when empty */
CIO_API uint64_t cio_hist_max(const cio_hist *h); /* 0 when empty */
CIO_API double cio_hist_mean(const cio_hist *h);  /* exact, 0 when empty */
CIO_API double cio_hist_stdev(const cio_hist *h); /* exact (population) */
/*
 * The value at percentile p (0 < p <= 100): the smallest recorded value v
 * such that at least p % of the values are <= v, reported as the highest
 * value equivalent to v's bucket (never above max). 0 when empty.
 */
CIO_API uint64_t cio_hist_percentile(const cio_hist *h, double p);
/* Number of recorded values in [lo, hi] (µs; bucket resolution). */
CIO_API uint64_t cio_hist_count_between(const cio_hist *h, uint64_t lo,
                                        uint64_t hi);

/* ------------------------------------------------------------ the run */

enum cio_bench_err {
    CIO_BENCH_ERR_CONNECT = 0, /* resolve, TCP connect, TLS handshake */
    CIO_BENCH_ERR_TIMEOUT,     /* no response within timeout_ms */
    CIO_BENCH_ERR_READ,        /* reset, or EOF before a response ended */
    CIO_BENCH_ERR_WRITE,       /* the request could not be written */
    CIO_BENCH_ERR_PROTOCOL,    /* malformed response (CIO_EPROTO ...) */
    CIO_BENCH_ERR_KINDS
};

/* The numbers so far; given to the progress callback once per second. */
struct cio_bench_progress {
    double elapsed_s;
    uint64_t requests; /* responses received */
    uint64_t errors;   /* failed requests, every kind */
    uint64_t bytes;    /* read from the network */
};

struct cio_bench_opts {
    const char *url;              /* required: http:// or https:// */
    const char *method;           /* NULL = "GET" */
    const struct cio_kv *headers; /* extra request headers, ended by {0};
                                   * a "Host" entry replaces the URL's */
    const void *body;             /* sent with Content-Length */
    size_t body_len;
    uint32_t connections; /* total, split over threads; 0 = 64 */
    /* Stop after `requests` attempts (responses + errors), or else after
     * duration_ms; both 0 = 10 s. With both, whichever comes first. */
    uint64_t requests;
    uint32_t duration_ms;
    /* Open loop: requests per second over all connections; 0 = closed
     * loop (each connection keeps `inflight` requests outstanding). */
    double rate;
    uint32_t inflight;   /* per connection (pipelining); 0 = 1 */
    uint32_t threads;    /* 0 = 1 */
    uint32_t timeout_ms; /* per request and per connect; 0 = 10 s */
    bool insecure;       /* https: skip certificate verification */
    const char *ca_file; /* https: PEM bundle; NULL = system store */
    /* Called on the thread of cio_bench_run about once per second. */
    void (*progress)(const struct cio_bench_progress *p, void *ud);
    void *ud;
};

typedef struct cio_bench_result cio_bench_result;

/*
 * Runs the load to completion, blocking the calling thread (it creates
 * `threads` threads, each with its own loop; it may itself be a thread
 * without a loop, or a task that accepts being blocked). On success
 * *out owns the result (free with cio_bench_result_free) even if every
 * request failed: errors of the run are counted, not returned.
 * Errors: CIO_EINVAL (opts, a header with CR/LF), CIO_EURL, CIO_ENOTSUP
 * (a scheme other than http/https), CIO_ETLS (https context), CIO_ENOMEM,
 * -errno (thread creation).
 */
CIO_API int cio_bench_run(const struct cio_bench_opts *opts,
                          cio_bench_result **out);

CIO_API void cio_bench_result_free(cio_bench_result *r); /* NULL ok */

/* Responses received (any status). */
CIO_API uint64_t cio_bench_requests(const cio_bench_result *r);
/* Bytes read from the network (heads and bodies) and written. */
CIO_API uint64_t cio_bench_bytes_read(const cio_bench_result *r);
CIO_API uint64_t cio_bench_bytes_written(const cio_bench_result *r);
/* Wall time of the run in seconds (start of the first connect to the last
 * response). */
CIO_API double cio_bench_duration(const cio_bench_result *r);
/* Responses with status 100..599; cls 1..5 gives the class total. */
CIO_API uint64_t cio_bench_status(const cio_bench_result *r, int status);
CIO_API uint64_t cio_bench_status_class(const cio_bench_result *r, int cls);
/* Failed requests of a kind; CIO_BENCH_ERR_KINDS gives the total. */
CIO_API uint64_t cio_bench_errors(const cio_bench_result *r,
                                  enum cio_bench_err kind);
/* The error codes seen: fills up to cap pairs (code, count), most
 * frequent first, returns how many distinct codes there were. */
CIO_API size_t cio_bench_error_codes(const cio_bench_result *r, int *codes,
                                     uint64_t *counts, size_t cap);
/* Latency of every response, µs. Borrowed from r. */
CIO_API const cio_hist *cio_bench_latency(const cio_bench_result *r);
/* Name of an error kind ("connect", "timeout", ...). */
CIO_API const char *cio_bench_err_name(enum cio_bench_err kind);

#endif
