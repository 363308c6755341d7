/* SPDX-License-Identifier: MIT */
/*
 * The latency histogram of the bench engine (HdrHistogram's log-linear
 * layout, written from its description): bucket 0 holds the values
 * 0..2047 exactly; bucket b >= 1 covers [2^(10+b), 2^(11+b)) in 1024 equal
 * steps of 2^b. An index therefore loses at most 1/1024 of the value
 * (3 significant digits), and 60 s in µs needs 2048 + 15 * 1024 counters.
 */
#include <string.h>

#include <corio/bench.h>

#include "base/alloc.h"

#define SUB_BITS 11
#define SUB_COUNT (1u << SUB_BITS) /* 2048 */
#define SUB_HALF (SUB_COUNT / 2)   /* 1024 */
#define TOP_BUCKET 15              /* 2^(10+15) <= 60e6 < 2^(11+15) */
#define NCOUNTS (SUB_COUNT + TOP_BUCKET * SUB_HALF)

struct cio_hist {
    uint64_t total;
    uint64_t min, max;
    /* Running mean and sum of squared deviations (Welford; Chan et al. to
     * merge): E[x^2] - mean^2 cancels when the spread is small next to
     * the values. */
    double mean, m2;
    uint64_t counts[NCOUNTS];
};

static unsigned index_of(uint64_t v)
{
    if (v < SUB_COUNT)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 11 */
    unsigned b = msb - (SUB_BITS - 1);                 /* >= 1 */
    uint64_t sub = v >> b;                             /* 1024..2047 */
    return SUB_COUNT + (b - 1) * SUB_HALF + (unsigned)(sub - SUB_HALF);
}

/* The lowest value of index i and the width of its bucket. */
static uint64_t lowest_of(unsigned i, uint64_t *width)
{
    if (i < SUB_COUNT) {
        *width = 1;
        return i;
    }
    unsigned b = (i - SUB_COUNT) / SUB_HALF + 1;
    uint64_t sub = (i - SUB_COUNT) % SUB_HALF + SUB_HALF;
    *width = (uint64_t)1 << b;
    return sub << b;
}

int cio_hist_new(cio_hist **out)
{
    cio_hist *h = cio__calloc(1, sizeof *h);
    if (h == NULL)
        return CIO_ENOMEM;
    *out = h;
    return 0;
}

void cio_hist_free(cio_hist *h)
{
    cio__free(h);
}

void cio_hist_reset(cio_hist *h)
{
    memset(h, 0, sizeof *h);
}

void cio_hist_record(cio_hist *h, uint64_t us, uint64_t count)
{
    if (count == 0)
        return;
    if (h->total == 0 || us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
    uint64_t v = us < 1 ? 1 : us > CIO_HIST_MAX_US ? CIO_HIST_MAX_US : us;
    h->counts[index_of(v)] += count;
    double n = (double)h->total, c = (double)count, nn = n + c;
    double delta = (double)us - h->mean;
    h->mean += delta * c / nn;
    h->m2 += delta * delta * n * c / nn;
    h->total += count;
}

void cio_hist_merge(cio_hist *dst, const cio_hist *src)
{
    if (src->total == 0)
        return;
    if (dst->total == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    for (unsigned i = 0; i < NCOUNTS; i++)
        dst->counts[i] += src->counts[i];
    double n1 = (double)dst->total, n2 = (double)src->total, nn = n1 + n2;
    double delta = src->mean - dst->mean;
    dst->mean += delta * n2 / nn;
    dst->m2 += src->m2 + delta * delta * n1 * n2 / nn;
    dst->total += src->total;
}

uint64_t cio_hist_count(const cio_hist *h)
{
    return h->total;
}
uint64_t cio_hist_min(const cio_hist *h)
{
    return h->min;
}
uint64_t cio_hist_max(const cio_hist *h)
{
    return h->max;
}

double cio_hist_mean(const cio_hist *h)
{
    return h->total ? h->mean : 0.0;
}

double cio_hist_stdev(const cio_hist *h)
{
    if (h->total == 0)
        return 0.0;
    double var = h->m2 / (double)h->total;
    if (var <= 0)
        return 0.0;
    /* Newton's method: the library does not link libm for one root. */
    double x = var > 1 ? var : 1;
    for (int i = 0; i < 64; i++) {
        double nx = 0.5 * (x + var / x);
        if (nx == x)
            break;
        x = nx;
    }
    return x;
}

uint64_t cio_hist_percentile(const cio_hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (p > 100.0)
        p = 100.0;
    /* The rank of the value wanted (1-based), computed so that 99.9 % of
     * 1000 values is rank 999 despite floating-point error. The error grows
     * with the count (99.9 % of 3e7 computes as 29970000.000000004), so
     * the tolerance is relative as well: exact ranks up to ~1e10 values. */
    double r = p * (double)h->total / 100.0;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r - (1e-9 + r * 1e-15))
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < NCOUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t w, lo = lowest_of(i, &w);
            uint64_t hi = lo + w - 1;
            if (hi > h->max)
                hi = h->max;
            if (hi < h->min)
                hi = h->min;
            return hi;
        }
    }
    return h->max;
}

uint64_t cio_hist_count_between(const cio_hist *h, uint64_t lo, uint64_t hi)
{
    if (h->total == 0 || hi < lo)
        return 0;
    lo = lo < 1 ? 1 : lo > CIO_HIST_MAX_US ? CIO_HIST_MAX_US : lo;
    hi = hi < 1 ? 1 : hi > CIO_HIST_MAX_US ? CIO_HIST_MAX_US : hi;
    uint64_t n = 0;
    for (unsigned i = index_of(lo), e = index_of(hi); i <= e; i++)
        n += h->counts[i];
    return n;
}
