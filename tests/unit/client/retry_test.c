/* SPDX-License-Identifier: MIT */
/*
 * Retry decisions: which transport errors are retried, idempotency, the
 * status policy, full-jitter backoff bounds, Retry-After (both forms,
 * capped, junk ignored) and the retry budget.
 */
#include "test.h"
#include "client/retry.h"

#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

Test(retry, transport_only_connect_failures)
{
    static const struct {
        int err;
        bool in_connect;
        uint32_t attempt, retries;
        int want;
    } c[] = {
        {CIO_ECONNREFUSED, true, 0, 2, 1},
        {CIO_ECONNREFUSED, true, 1, 2, 1},
        {CIO_ECONNREFUSED, true, 2, 2, 0},  /* count exhausted */
        {CIO_ECONNREFUSED, true, 0, 0, 0},  /* retries off by default */
        {CIO_ECONNREFUSED, false, 0, 2, 0}, /* after connect: maybe sent */
        {CIO_ECONNRESET, false, 0, 2, 0},
        {CIO_ETIMEDOUT, true, 0, 2, 1},
        {CIO_ERESOLVE, true, 0, 2, 1},
        {CIO_ENOHOST, true, 0, 2, 0}, /* the name does not exist */
        {CIO_ECERT, true, 0, 2, 0},   /* never retry verification */
        {CIO_ETLS, true, 0, 2, 0},
        {CIO_ECANCELED, true, 0, 2, 0},
        {-EHOSTUNREACH, true, 0, 1, 1},
    };
    for (size_t i = 0; i < COUNTOF(c); i++)
        cr_expect_eq(cio__retry_transport(c[i].err, c[i].in_connect,
                                          c[i].attempt, c[i].retries),
                     c[i].want, "case %zu (%s)", i, cio_errname(c[i].err));
    cr_expect_eq(cio__retry_transport_delay(0), 0);
    cr_expect_eq(cio__retry_transport_delay(1), 500);
    cr_expect_eq(cio__retry_transport_delay(2), 1000);
    cr_expect_eq(cio__retry_transport_delay(40), 8000);
}

Test(retry, idempotent_methods)
{
    static const char *yes[] = {"GET", "HEAD",   "OPTIONS",
                                "PUT", "DELETE", "TRACE"};
    static const char *no[] = {"POST", "PATCH", "CONNECT", "get", "PROPFIND"};
    for (size_t i = 0; i < COUNTOF(yes); i++)
        cr_expect(cio__retry_idempotent(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < COUNTOF(no); i++)
        cr_expect(!cio__retry_idempotent(no[i]), "%s", no[i]);
}

Test(retry, backoff_full_jitter_bounds)
{
    struct cio_retry_policy p = {.backoff_ms = 100, .max_backoff_ms = 1000};
    /* rnd = ceil gives the top of the window: 100, 200, 400, 800, 1000. */
    static const uint32_t top[] = {100, 200, 400, 800, 1000, 1000};
    for (uint32_t a = 0; a < COUNTOF(top); a++) {
        cr_expect_eq(cio__retry_backoff(&p, a, top[a]), top[a], "attempt %u",
                     a);
        cr_expect_eq(cio__retry_backoff(&p, a, 0), 0, "attempt %u", a);
        cr_expect_eq(cio__retry_backoff(&p, a, (uint64_t)top[a] + 1), 0);
    }
    /* A huge attempt count saturates instead of overflowing. */
    cr_expect_leq(cio__retry_backoff(&p, 4000000000u, UINT64_MAX), 1000);
    /* Defaults: 100 ms first window, 10 s cap. */
    struct cio_retry_policy d = {0};
    cr_expect_eq(cio__retry_backoff(&d, 0, 100), 100);
    cr_expect_eq(cio__retry_backoff(&d, 30, 10000), 10000);
    /* Random draws stay in the window and are not all equal. */
    uint32_t seen_low = 0, seen_high = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t v = cio__retry_backoff(&p, 2, cio__retry_rand());
        cr_assert_leq(v, 400);
        seen_low += v < 200;
        seen_high += v >= 200;
    }
    cr_expect(seen_low > 0 && seen_high > 0);
}

Test(retry, retry_after_forms)
{
    time_t now;
    CIO_ASSERT_RC(
        cio_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &now), 0);
    static const struct {
        const char *v;
        uint32_t cap;
        int rc;
        uint32_t ms;
    } c[] = {
        {"0", 10000, 0, 0},
        {"3", 10000, 0, 3000},
        {" 7 ", 10000, 0, 7000},
        {"120", 10000, 0, 10000},                  /* capped */
        {"99999999999999999999", 10000, 0, 10000}, /* no overflow */
        {"Sun, 06 Nov 1994 08:49:42 GMT", 10000, 0, 5000},
        {"Sunday, 06-Nov-94 08:49:39 GMT", 10000, 0, 2000},
        {"Sun Nov  6 08:49:38 1994", 10000, 0, 1000},
        {"Sun, 06 Nov 1994 08:40:00 GMT", 10000, 0, 0}, /* past */
        {"Mon, 07 Nov 1994 08:49:37 GMT", 10000, 0, 10000},
        {"-1", 10000, CIO_EPROTO, 0},
        {"1.5", 10000, CIO_EPROTO, 0},
        {"5s", 10000, CIO_EPROTO, 0},
        {"", 10000, CIO_EPROTO, 0},
        {"soon", 10000, CIO_EPROTO, 0},
    };
    for (size_t i = 0; i < COUNTOF(c); i++) {
        uint32_t ms = 77;
        int rc = cio__retry_after(c[i].v, strlen(c[i].v), now, c[i].cap, &ms);
        cr_expect_eq(rc, c[i].rc, "case %zu \"%s\": %s", i, c[i].v,
                     cio_errname(rc));
        cr_expect_eq(ms, rc == 0 ? c[i].ms : 77u, "case %zu \"%s\": %u", i,
                     c[i].v, ms);
    }
}

Test(retry, status_policy)
{
    struct cio_retry_policy p = {.statuses = (int[]){429, 503, 0},
                                 .max_retries = 2,
                                 .backoff_ms = 100,
                                 .max_backoff_ms = 5000,
                                 .respect_retry_after = true};
    uint32_t d = 0;
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 503, 0, NULL, 0, 50, &d),
                 1);
    cr_expect_eq(d, 50);
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 500, 0, NULL, 0, 50, &d),
                 0);
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 503, 2, NULL, 0, 50, &d),
                 0);
    cr_expect_eq(cio__retry_status(&p, NULL, "POST", 503, 0, NULL, 0, 50, &d),
                 0);
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 429, 1, "2", 0, 50, &d), 1);
    cr_expect_eq(d, 2000);
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 429, 1, "3600", 0, 50, &d),
                 1);
    cr_expect_eq(d, 5000, "Retry-After capped at max_backoff");
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 429, 1, "junk", 0, 150, &d),
                 1);
    cr_expect_eq(d, 150, "junk Retry-After falls back to the backoff");
    p.respect_retry_after = false;
    cr_expect_eq(cio__retry_status(&p, NULL, "GET", 429, 0, "2", 0, 7, &d), 1);
    cr_expect_eq(d, 7);
    p.retry_non_idempotent = true;
    cr_expect_eq(cio__retry_status(&p, NULL, "POST", 503, 0, NULL, 0, 0, &d),
                 1);
    /* Off unless statuses are set. */
    struct cio_retry_policy off = {0};
    cr_expect_eq(cio__retry_status(&off, NULL, "GET", 503, 0, NULL, 0, 0, &d),
                 0);
}

Test(retry, budget_limits_retries_to_ratio)
{
    struct cio__retry_budget b;
    cio__retry_budget_init(&b, 0);
    cr_expect_float_eq(b.ratio, 0.2, 1e-9);
    /* The initial allowance, then nothing. */
    int n = 0;
    while (cio__retry_budget_withdraw(&b))
        n++;
    cr_expect_eq(n, (int)CIO__RETRY_BUDGET_INITIAL);
    /* 400 requests buy 80 retries (20 %). */
    for (int i = 0; i < 400; i++)
        cio__retry_budget_deposit(&b);
    n = 0;
    while (cio__retry_budget_withdraw(&b))
        n++;
    cr_expect(n >= 79 && n <= 80, "n = %d", n);
    /* Saving up is capped. */
    for (int i = 0; i < 100000; i++)
        cio__retry_budget_deposit(&b);
    n = 0;
    while (cio__retry_budget_withdraw(&b))
        n++;
    cr_expect_eq(n, (int)CIO__RETRY_BUDGET_CAP);

    /* The status policy consults it: an empty budget means no retry. */
    struct cio_retry_policy p = {.statuses = (int[]){503, 0}};
    uint32_t d;
    cr_expect_eq(cio__retry_status(&p, &b, "GET", 503, 0, NULL, 0, 0, &d), 0);
    cio__retry_budget_deposit(&b);
    for (int i = 0; i < 4; i++)
        cio__retry_budget_deposit(&b);
    cr_expect_eq(cio__retry_status(&p, &b, "GET", 503, 0, NULL, 0, 0, &d), 1);
    cr_expect_eq(cio__retry_status(&p, &b, "GET", 503, 0, NULL, 0, 0, &d), 0);
}
