/* SPDX-License-Identifier: MIT */
#include "client/retry.h"

#include <string.h>
#include <sys/random.h>

#include "base/errmsg.h"

int cio__retry_transport(int err, bool in_connect, uint32_t attempt,
                         uint32_t retries)
{
    if (!in_connect || attempt >= retries)
        return 0;
    switch (err) {
    case CIO_ECONNREFUSED:
    case CIO_ECONNRESET:
    case CIO_ETIMEDOUT:
    case CIO_ERESOLVE:
    case -ENETUNREACH:
    case -EHOSTUNREACH:
    case -ENETDOWN:
    case -EHOSTDOWN:
    case -EADDRNOTAVAIL:
        return 1;
    default:
        return 0;
    }
}

uint32_t cio__retry_transport_delay(uint32_t attempt)
{
    if (attempt == 0)
        return 0;
    if (attempt > 5)
        return 8000;
    return 500u << (attempt - 1);
}

int cio__retry_idempotent(const char *method)
{
    static const char *const ok[] = {"GET", "HEAD",   "OPTIONS",
                                     "PUT", "DELETE", "TRACE"};
    if (method == NULL)
        return 1; /* NULL is GET */
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(method, ok[i]) == 0)
            return 1;
    return 0;
}

int cio__retry_status_listed(const struct cio_retry_policy *p, int status)
{
    if (p == NULL || p->statuses == NULL)
        return 0;
    for (const int *s = p->statuses; *s != 0; s++)
        if (*s == status)
            return 1;
    return 0;
}

static uint32_t max_backoff(const struct cio_retry_policy *p)
{
    return p->max_backoff_ms != 0 ? p->max_backoff_ms
                                  : CIO__RETRY_MAX_BACKOFF_DEFAULT;
}

uint32_t cio__retry_backoff(const struct cio_retry_policy *p, uint32_t attempt,
                            uint64_t rnd)
{
    uint64_t base =
        p->backoff_ms != 0 ? p->backoff_ms : CIO__RETRY_BACKOFF_DEFAULT;
    uint64_t cap = max_backoff(p);
    uint64_t ceil = base;
    /* Shift step by step so a large attempt saturates instead of
     * overflowing. */
    for (uint32_t i = 0; i < attempt && ceil < cap; i++)
        ceil <<= 1;
    if (ceil > cap)
        ceil = cap;
    /* Full jitter (AWS architecture blog, "Exponential Backoff and
     * Jitter"): spreads retries of many clients over the whole window. */
    return (uint32_t)(rnd % (ceil + 1));
}

int cio__retry_after(const char *v, size_t len, time_t now, uint32_t cap_ms,
                     uint32_t *ms)
{
    while (len > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        len--;
    }
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len == 0)
        return cio__err(CIO_EPROTO, "empty Retry-After");

    uint64_t secs = 0;
    if (v[0] >= '0' && v[0] <= '9') {
        for (size_t i = 0; i < len; i++) {
            if (v[i] < '0' || v[i] > '9')
                return cio__err(CIO_EPROTO, "bad Retry-After \"%.*s\"",
                                (int)(len > 40 ? 40 : len), v);
            if (secs < UINT32_MAX)
                secs = secs * 10 + (uint64_t)(v[i] - '0');
        }
    } else {
        time_t t;
        if (cio_http_date_parse(v, len, &t) < 0)
            return cio__err(CIO_EPROTO, "bad Retry-After \"%.*s\"",
                            (int)(len > 40 ? 40 : len), v);
        secs = t > now ? (uint64_t)(t - now) : 0;
    }
    uint64_t total = secs * 1000;
    *ms = total > cap_ms ? cap_ms : (uint32_t)total;
    return 0;
}

void cio__retry_budget_init(struct cio__retry_budget *b, double ratio)
{
    b->ratio = ratio > 0 ? ratio : CIO__RETRY_BUDGET_DEFAULT;
    b->tokens = CIO__RETRY_BUDGET_INITIAL;
}

void cio__retry_budget_deposit(struct cio__retry_budget *b)
{
    b->tokens += b->ratio;
    if (b->tokens > CIO__RETRY_BUDGET_CAP)
        b->tokens = CIO__RETRY_BUDGET_CAP;
}

int cio__retry_budget_withdraw(struct cio__retry_budget *b)
{
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

int cio__retry_status(const struct cio_retry_policy *p,
                      struct cio__retry_budget *b, const char *method,
                      int status, uint32_t attempt, const char *retry_after,
                      time_t now, uint64_t rnd, uint32_t *delay_ms)
{
    if (!cio__retry_status_listed(p, status))
        return 0;
    uint32_t max =
        p->max_retries != 0 ? p->max_retries : CIO__RETRY_MAX_DEFAULT;
    if (attempt >= max)
        return 0;
    if (!p->retry_non_idempotent && !cio__retry_idempotent(method))
        return 0;

    uint32_t delay = cio__retry_backoff(p, attempt, rnd);
    if (p->respect_retry_after && retry_after != NULL) {
        uint32_t ra;
        if (cio__retry_after(retry_after, strlen(retry_after), now,
                             max_backoff(p), &ra) == 0)
            delay = ra;
    }
    /* The budget is checked last so a token is spent only on a retry
     * that happens. */
    if (b != NULL && !cio__retry_budget_withdraw(b))
        return 0;
    *delay_ms = delay;
    return 1;
}

uint64_t cio__retry_rand(void)
{
    static __thread uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) !=
                (ssize_t)sizeof(state) ||
            state == 0)
            state = (uint64_t)(uintptr_t)&state ^ (uint64_t)time(NULL) ^
                    0x9e3779b97f4a7c15u;
    }
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1du;
}
