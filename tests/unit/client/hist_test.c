/* SPDX-License-Identifier: MIT */
/*
 * cio_hist against a sorted reference: percentiles of random data within
 * the histogram's resolution (1/1024 of the value, +1 µs below 2048), exact
 * count/min/max/mean, merging two halves equals recording everything in
 * one, clamping at 60 s, and count_between.
 */
#include "test.h"

#include <corio/bench.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* No libm in the test link: the few helpers needed. */
static double fabs_(double x)
{
    return x < 0 ? -x : x;
}

static const double pcts[] = {0.1, 1, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

/* The rank-based reference: the smallest value with >= p % at or below. */
static uint64_t ref_pct(const uint64_t *v, size_t n, double p)
{
    double r = p / 100.0 * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r - 1e-9)
        rank++;
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

static void check_against(const cio_hist *h, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    cr_assert_eq(cio_hist_count(h), n);
    cr_assert_eq(cio_hist_min(h), v[0]);
    cr_assert_eq(cio_hist_max(h), v[n - 1]);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)v[i];
    cr_assert(fabs_(cio_hist_mean(h) - sum / (double)n) <
              1e-6 * sum / (double)n + 1e-9);
    for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++) {
        uint64_t want = ref_pct(v, n, pcts[i]);
        uint64_t got = cio_hist_percentile(h, pcts[i]);
        /* Same bucket: got is the bucket's highest value, >= want and
         * within the bucket width (<= want/1024, at least exact below 2048). */
        cr_assert(got >= want, "p%g: got %lu < want %lu", pcts[i],
                  (unsigned long)got, (unsigned long)want);
        cr_assert(got - want <= want / 1024, "p%g: got %lu want %lu", pcts[i],
                  (unsigned long)got, (unsigned long)want);
    }
}

Test(hist, random_percentiles_vs_sorted)
{
    /* Three shapes: uniform small (exact range), log-uniform over 1 µs ..
     * 60 s, and a narrow band around 1 ms. */
    for (int shape = 0; shape < 3; shape++) {
        size_t n = 20000 + (size_t)shape * 7919;
        uint64_t *v = malloc(n * sizeof *v);
        cio_hist *h;
        CIO_ASSERT_RC(cio_hist_new(&h), 0);
        for (size_t i = 0; i < n; i++) {
            uint64_t x;
            if (shape == 0)
                x = 1 + next() % 2000;
            else if (shape == 1) {
                unsigned k = (unsigned)(next() % 26); /* 2^0 .. 2^25 */
                x = ((uint64_t)1 << k) + next() % ((uint64_t)1 << k);
                if (x > 60000000)
                    x = 60000000;
            } else
                x = 900 + next() % 300 + (next() % 100 == 0 ? 50000 : 0);
            v[i] = x;
            cio_hist_record(h, x, 1);
        }
        check_against(h, v, n);
        free(v);
        cio_hist_free(h);
    }
}

Test(hist, merge_equals_single)
{
    cio_hist *a, *b, *all;
    CIO_ASSERT_RC(cio_hist_new(&a), 0);
    CIO_ASSERT_RC(cio_hist_new(&b), 0);
    CIO_ASSERT_RC(cio_hist_new(&all), 0);
    size_t n = 30000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = 1 + next() % 5000000;
        cio_hist_record(i % 3 ? a : b, v[i], 1);
        cio_hist_record(all, v[i], 1);
    }
    cio_hist_merge(a, b);
    cr_assert_eq(cio_hist_count(a), cio_hist_count(all));
    cr_assert_eq(cio_hist_min(a), cio_hist_min(all));
    cr_assert_eq(cio_hist_max(a), cio_hist_max(all));
    for (size_t i = 0; i < sizeof pcts / sizeof *pcts; i++)
        cr_assert_eq(cio_hist_percentile(a, pcts[i]),
                     cio_hist_percentile(all, pcts[i]));
    cr_assert(fabs_(cio_hist_stdev(a) - cio_hist_stdev(all)) <
              1e-6 * cio_hist_stdev(all));
    check_against(a, v, n);
    free(v);
    cio_hist_free(a);
    cio_hist_free(b);
    cio_hist_free(all);
}

Test(hist, edges)
{
    cio_hist *h;
    CIO_ASSERT_RC(cio_hist_new(&h), 0);
    cr_assert_eq(cio_hist_percentile(h, 50), 0);
    cr_assert_eq(cio_hist_count(h), 0);
    cio_hist_record(h, 0, 1);                    /* counts as 1 µs */
    cio_hist_record(h, 100ull * 1000 * 1000, 1); /* 100 s: clamped bucket */
    cio_hist_record(h, 5, 3);
    cr_assert_eq(cio_hist_count(h), 5);
    cr_assert_eq(cio_hist_min(h), 0);
    cr_assert_eq(cio_hist_max(h), 100ull * 1000 * 1000);
    cr_assert_eq(cio_hist_percentile(h, 50), 5);
    cr_assert(cio_hist_percentile(h, 100) >=
              CIO_HIST_MAX_US - CIO_HIST_MAX_US / 1024);
    cr_assert_eq(cio_hist_count_between(h, 1, 10), 4);
    cr_assert_eq(cio_hist_count_between(h, 6, 1000), 0);
    /* stdev of {0, 5, 5, 5, 1e8}: exact over the raw values */
    double m = (0 + 15 + 1e8) / 5.0;
    double var = (0 + 3 * 25 + 1e16) / 5.0 - m * m;
    double sd = cio_hist_stdev(h);
    cr_assert(fabs_(sd * sd - var) < 1e-6 * var);
    cio_hist_reset(h);
    cr_assert_eq(cio_hist_count(h), 0);
    cio_hist_free(h);
}

/* The rank of p % of a large count: 99.9 % of 30,000,000 is exactly rank
 * 29,970,000, but p / 100 * n computes 29970000.000000004, and an absolute
 * epsilon of 1e-9 is below one ulp there, so the rank became 29,970,001:
 * p99.9 reported the first value of the slow tail instead of the last fast
 * one. */
Test(hist, percentile_rank_exact_for_large_counts)
{
    static const struct {
        uint64_t fast, slow; /* counts of 100 µs and of 5000 µs */
        double p;
    } cases[] = {
        {29970000, 30000, 99.9},
        {99900000, 100000, 99.9},
        {999000000, 1000000, 99.9},
        {999, 1, 99.9},
        {990, 10, 99},
        {500, 500, 50},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cio_hist *h;
        CIO_ASSERT_RC(cio_hist_new(&h), 0);
        cio_hist_record(h, 100, cases[i].fast);
        cio_hist_record(h, 5000, cases[i].slow);
        cr_expect_eq(cio_hist_percentile(h, cases[i].p), 100,
                     "p%g of %lu + %lu: got %lu", cases[i].p,
                     (unsigned long)cases[i].fast, (unsigned long)cases[i].slow,
                     (unsigned long)cio_hist_percentile(h, cases[i].p));
        /* One more slow value: the rank moves past the fast ones. */
        cio_hist_record(h, 5000, 1);
        cr_expect_gt(cio_hist_percentile(h, cases[i].p), 100, "case %zu", i);
        cio_hist_free(h);
    }
}

/* stdev is documented exact: E[x^2] - mean^2 cancels catastrophically when
 * the spread is tiny next to the values (2 µs around 50 s gave a stdev off
 * by orders of magnitude); a running mean and sum of squared deviations
 * keeps it exact, including through merge. */
Test(hist, stdev_small_spread_large_values)
{
    cio_hist *a, *b;
    CIO_ASSERT_RC(cio_hist_new(&a), 0);
    CIO_ASSERT_RC(cio_hist_new(&b), 0);
    for (int i = 0; i < 1000; i++) {
        cio_hist_record(a, 50000000, 500);
        cio_hist_record(i % 2 ? a : b, 50000002, 500);
    }
    cio_hist_merge(a, b);
    cr_assert_eq(cio_hist_count(a), 1000000);
    double sd = cio_hist_stdev(a);
    cr_expect(fabs_(sd - 1.0) < 1e-6, "stdev %.9f, want 1", sd);
    cr_expect(fabs_(cio_hist_mean(a) - 50000001.0) < 1e-6, "mean %.6f",
              cio_hist_mean(a));
    cio_hist_free(a);
    cio_hist_free(b);
}
