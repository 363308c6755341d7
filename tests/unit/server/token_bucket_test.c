/* SPDX-License-Identifier: MIT */
/*
 * Token buckets by key (src/server/token_bucket.c): burst, refill,
 * Retry-After, fractional rates, costs, independent keys, LRU eviction at
 * the key limit, long keys, option checks and allocation failure. Time is
 * a parameter, so nothing here waits.
 */
#include <math.h>

#include "test.h"
#include "base/alloc.h"
#include "server/token_bucket.h"

static struct cio__tb *mk(double rate, uint32_t burst, uint32_t max_keys)
{
    struct cio__tb *tb;
    struct cio__tb_opts o = {
        .rate = rate, .burst = burst, .max_keys = max_keys};
    CIO_ASSERT_RC(cio__tb_new(&tb, &o), 0);
    return tb;
}

/* take() at now, expecting allowed (1) or limited (0) with retry ms. */
static void expect_take(struct cio__tb *tb, const char *key, int64_t now,
                        int want, int64_t want_retry)
{
    int64_t retry = -7;
    int rc = cio__tb_take(tb, key, now, &retry);
    cr_expect_eq(rc, want, "%s at %lld: got %d, want %d", key, (long long)now,
                 rc, want);
    cr_expect_eq(retry, want ? 0 : want_retry,
                 "%s at %lld: retry %lld, want %lld", key, (long long)now,
                 (long long)retry, (long long)(want ? 0 : want_retry));
}

Test(token_bucket, burst_then_refill)
{
    struct cio__tb *tb = mk(1, 3, 10);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 0, 0, 1000);
    expect_take(tb, "a", 400, 0, 600);
    expect_take(tb, "a", 999, 0, 1);
    expect_take(tb, "a", 1000, 1, 0);
    expect_take(tb, "a", 1000, 0, 1000);
    /* A long pause refills to the burst, not beyond. */
    expect_take(tb, "a", 100000, 1, 0);
    expect_take(tb, "a", 100000, 1, 0);
    expect_take(tb, "a", 100000, 1, 0);
    expect_take(tb, "a", 100000, 0, 1000);
    /* Limited takes cost nothing. */
    for (int i = 0; i < 50; i++)
        expect_take(tb, "a", 100500, 0, 500);
    expect_take(tb, "a", 101000, 1, 0);
    cio__tb_free(tb);
}

Test(token_bucket, steady_rate)
{
    /* 10/s with burst 1: one every 100 ms; 1000 tries over 10 s let
     * exactly 101 through (t = 0, 100, ..., 10000). */
    struct cio__tb *tb = mk(10, 1, 10);
    int allowed = 0;
    for (int64_t t = 0; t <= 10000; t += 10)
        allowed += cio__tb_take(tb, "k", t, NULL);
    cr_expect_eq(allowed, 101);
    cio__tb_free(tb);
}

Test(token_bucket, fractional_rate)
{
    struct cio__tb *tb = mk(0.5, 1, 10);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 1, 0, 1999);
    expect_take(tb, "a", 1999, 0, 1);
    expect_take(tb, "a", 2000, 1, 0);
    cio__tb_free(tb);
    /* One per minute. */
    tb = mk(1.0 / 60, 2, 10);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "a", 0, 0, 60000);
    cio__tb_free(tb);
}

Test(token_bucket, costs_all_or_nothing)
{
    struct cio__tb *tb = mk(1, 5, 10);
    int64_t retry;
    cr_expect_eq(cio__tb_take_n(tb, "a", 1, 0, 3, &retry), 1);
    cr_expect_eq(cio__tb_take_n(tb, "a", 1, 0, 3, &retry), 0);
    cr_expect_eq(retry, 1000);
    cr_expect_eq(cio__tb_take_n(tb, "a", 1, 0, 2, &retry), 1);
    cr_expect_eq(cio__tb_take_n(tb, "a", 1, 0, 1, &retry), 0);
    CIO_EXPECT_RC(cio__tb_take_n(tb, "a", 1, 0, 6, &retry), CIO_EINVAL);
    CIO_EXPECT_RC(cio__tb_take_n(tb, "a", 1, 0, 0, &retry), CIO_EINVAL);
    /* Key bytes, not a C string: "a\0b" and "a" differ. */
    cr_expect_eq(cio__tb_take_n(tb, "a\0b", 3, 0, 5, &retry), 1);
    cr_expect_eq(cio__tb_take_n(tb, "a\0c", 3, 0, 5, &retry), 1);
    cio__tb_free(tb);
}

Test(token_bucket, keys_are_independent)
{
    struct cio__tb *tb = mk(1, 1, 100);
    expect_take(tb, "10.0.0.1", 0, 1, 0);
    expect_take(tb, "10.0.0.2", 0, 1, 0);
    expect_take(tb, "10.0.0.1", 0, 0, 1000);
    expect_take(tb, "10.0.0.2", 0, 0, 1000);
    expect_take(tb, "", 0, 1, 0);
    expect_take(tb, "", 0, 0, 1000);
    cr_expect_eq(cio__tb_count(tb), 3);
    cio__tb_free(tb);
}

Test(token_bucket, lru_eviction)
{
    struct cio__tb *tb = mk(1, 1, 2);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "b", 0, 1, 0);
    expect_take(tb, "a", 0, 0, 1000); /* a is now the most recent */
    expect_take(tb, "c", 0, 1, 0);    /* evicts b, the least recent */
    cr_expect_eq(cio__tb_count(tb), 2);
    expect_take(tb, "a", 0, 0, 1000); /* still tracked */
    expect_take(tb, "c", 0, 0, 1000);
    expect_take(tb, "b", 0, 1, 0); /* back, full again; evicts a */
    expect_take(tb, "a", 0, 1, 0); /* evicts c */
    expect_take(tb, "b", 0, 0, 1000);
    cr_expect_eq(cio__tb_count(tb), 2);
    cio__tb_free(tb);
}

Test(token_bucket, many_keys_bounded)
{
    struct cio__tb *tb = mk(1, 1, 1000);
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(cio__tb_take(tb, key, 0, NULL), 1, "%s", key);
        cr_assert_leq(cio__tb_count(tb), 1000);
    }
    cr_expect_eq(cio__tb_count(tb), 1000);
    /* The last 1000 are the ones tracked (their bucket is empty). */
    int tracked = 0;
    for (int i = 19000; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        tracked += cio__tb_take(tb, key, 0, NULL) == 0;
    }
    cr_expect_eq(tracked, 1000);
    cio__tb_free(tb);
}

Test(token_bucket, long_keys)
{
    struct cio__tb *tb = mk(1, 1, 100);
    char a[300], b[300];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[sizeof b - 2] = 'y'; /* same first 298 bytes */
    expect_take(tb, a, 0, 1, 0);
    expect_take(tb, b, 0, 1, 0);
    expect_take(tb, a, 0, 0, 1000);
    expect_take(tb, b, 0, 0, 1000);
    /* A 64-byte key is kept as is; 65 bytes as a digest: still distinct. */
    a[64] = '\0';
    b[64] = '\0';
    b[63] = 'y';
    expect_take(tb, a, 0, 1, 0);
    expect_take(tb, b, 0, 1, 0);
    a[64] = 'x';
    a[65] = '\0';
    expect_take(tb, a, 0, 1, 0);
    cr_expect_eq(cio__tb_count(tb), 5);
    cio__tb_free(tb);
}

Test(token_bucket, time_going_back)
{
    struct cio__tb *tb = mk(1, 1, 10);
    expect_take(tb, "a", 5000, 1, 0);
    expect_take(tb, "a", 0, 0, 6000);
    expect_take(tb, "a", -100, 0, 6000);
    expect_take(tb, "a", 6000, 1, 0);
    /* Far future and out of range: clamped, no overflow. */
    cr_expect_eq(cio__tb_take(tb, "b", INT64_MAX, NULL), 1);
    cr_expect_eq(cio__tb_take(tb, "b", INT64_MAX, NULL), 0);
    cio__tb_free(tb);
}

Test(token_bucket, options)
{
    static const struct cio__tb_opts bad[] = {
        {0, 1, 1}, {-1, 1, 1},      {0.0009, 1, 1}, {1e7, 1, 1},
        {1, 0, 1}, {1, 1000001, 1}, {1, 1, 0},      {1, 1, (1u << 22) + 1},
    };
    struct cio__tb *tb = NULL;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CIO_EXPECT_RC(cio__tb_new(&tb, &bad[i]), CIO_EINVAL);
    struct cio__tb_opts nan_rate = {NAN, 1, 1};
    CIO_EXPECT_RC(cio__tb_new(&tb, &nan_rate), CIO_EINVAL);
    cr_expect(strstr(cio_last_error(), "rate nan is not within") != NULL, "%s",
              cio_last_error());
    CIO_EXPECT_RC(cio__tb_new(&tb, &bad[4]), CIO_EINVAL);
    cr_expect(strstr(cio_last_error(), "burst 0") != NULL, "%s",
              cio_last_error());
    CIO_EXPECT_RC(cio__tb_new(&tb, &bad[6]), CIO_EINVAL);
    cr_expect(strstr(cio_last_error(), "max_keys 0") != NULL, "%s",
              cio_last_error());
    CIO_EXPECT_RC(cio__tb_new(&tb, NULL), CIO_EINVAL);
    cr_expect_null(tb);
    /* The extremes are accepted. */
    tb = mk(1e6, 1000000, 1u << 22);
    cr_expect_eq(cio__tb_take(tb, "a", 0, NULL), 1);
    cio__tb_free(tb);
    tb = mk(0.001, 1, 1);
    cr_expect_eq(cio__tb_take(tb, "a", 0, NULL), 1);
    int64_t retry;
    cr_expect_eq(cio__tb_take(tb, "a", 0, &retry), 0);
    cr_expect_eq(retry, 1000000);
    cio__tb_free(tb);
    cio__tb_free(NULL);
}

static int fail_all(size_t size)
{
    (void)size;
    return 1;
}

Test(token_bucket, enomem_changes_nothing)
{
    struct cio__tb *tb = mk(1, 1, 2);
    expect_take(tb, "a", 0, 1, 0);
    expect_take(tb, "b", 0, 1, 0);
    cio__alloc_fail_hook = fail_all;
    int64_t retry = -7;
    int rc = cio__tb_take(tb, "c", 0, &retry);
    /* An existing key needs no allocation. */
    int rc_a = cio__tb_take(tb, "a", 0, NULL);
    cio__alloc_fail_hook = NULL;
    CIO_EXPECT_RC(rc, CIO_ENOMEM);
    cr_expect_eq(retry, -7);
    cr_expect_eq(rc_a, 0);
    cr_expect_eq(cio__tb_count(tb), 2);
    expect_take(tb, "b", 0, 0, 1000); /* not evicted by the failed insert */
    cio__tb_free(tb);
}
