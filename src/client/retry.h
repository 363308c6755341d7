/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_RETRY_H
#define CIO_CLIENT_RETRY_H

/*
 * Retry decisions (pure: no I/O, no clock, no randomness of their own; the
 * caller passes the time and a random number so tests are exact):
 *   - transport retries (httpx's `retries=`): only failures to establish a
 *     connection, so a request that may have reached the server is never
 *     sent twice by this rule;
 *   - the status policy (struct cio_retry_policy): listed statuses,
 *     idempotent methods, exponential backoff with full jitter, Retry-After;
 *   - a client-wide retry budget (token bucket) so that retries cannot
 *     multiply the load on a server that is already failing.
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <corio/client.h>

#define CIO__RETRY_MAX_DEFAULT 3
#define CIO__RETRY_BACKOFF_DEFAULT 100       /* ms */
#define CIO__RETRY_MAX_BACKOFF_DEFAULT 10000 /* ms */
#define CIO__RETRY_BUDGET_DEFAULT 0.2
#define CIO__RETRY_BUDGET_INITIAL 10.0 /* tokens a new client starts with */
#define CIO__RETRY_BUDGET_CAP 100.0    /* tokens it can save up */

/*
 * 1 if err, returned while connecting (resolve, TCP connect, TLS
 * handshake: in_connect true), may be retried: refused, reset, unreachable,
 * timed out, a temporary resolver failure. Never certificate or TLS
 * verification errors, CIO_ENOHOST (a name that does not exist), or any
 * error after the connection was made. attempt = retries already done.
 */
int cio__retry_transport(int err, bool in_connect, uint32_t attempt,
                         uint32_t retries);

/* The pause before transport retry number attempt (0-based): none for the
 * first, then 500 ms doubling, at most 8 s (httpcore's schedule). */
uint32_t cio__retry_transport_delay(uint32_t attempt);

/* 1 for GET, HEAD, OPTIONS, PUT, DELETE and TRACE (RFC 9110 §9.2.2). */
int cio__retry_idempotent(const char *method);

/* 1 if p lists status (p->statuses ended by 0; NULL or empty: none). */
int cio__retry_status_listed(const struct cio_retry_policy *p, int status);

/*
 * The full-jitter backoff for retry number attempt (0-based): a uniform
 * draw, from rnd, in [0, min(max_backoff, backoff * 2^attempt)] ms.
 */
uint32_t cio__retry_backoff(const struct cio_retry_policy *p, uint32_t attempt,
                            uint64_t rnd);

/*
 * Parses a Retry-After value v[0..len) (RFC 9110 §10.2.3): delay-seconds
 * or an HTTP-date, relative to now (a date in the past is 0). Writes *ms,
 * capped at cap_ms, and returns 0, or CIO_EPROTO for anything else
 * (negative numbers, fractions, junk).
 */
int cio__retry_after(const char *v, size_t len, time_t now, uint32_t cap_ms,
                     uint32_t *ms);

/* A client-wide token bucket: each request deposits ratio tokens (up to
 * CIO__RETRY_BUDGET_CAP), each retry withdraws one. Not thread-safe (a
 * client is bound to its loop). */
struct cio__retry_budget {
    double tokens;
    double ratio;
};

/* ratio 0 = CIO__RETRY_BUDGET_DEFAULT; starts with the initial tokens. */
void cio__retry_budget_init(struct cio__retry_budget *b, double ratio);
void cio__retry_budget_deposit(struct cio__retry_budget *b);
/* 1 and a token spent if one is available, else 0. */
int cio__retry_budget_withdraw(struct cio__retry_budget *b);

/*
 * The status policy: should a response `status` to `method`, after
 * `attempt` retries of this request, be retried? retry_after is the
 * response's Retry-After value or NULL. Returns 1 with *delay_ms set (and a
 * budget token spent), or 0. A Retry-After that cannot be parsed is
 * ignored (the backoff applies); one that is honoured is capped at
 * max_backoff_ms.
 */
int cio__retry_status(const struct cio_retry_policy *p,
                      struct cio__retry_budget *b, const char *method,
                      int status, uint32_t attempt, const char *retry_after,
                      time_t now, uint64_t rnd, uint32_t *delay_ms);

/* A random 64-bit number for the jitter (xorshift per thread, seeded from
 * the kernel); not for secrets. */
uint64_t cio__retry_rand(void);

#endif
