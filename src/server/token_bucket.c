/* SPDX-License-Identifier: MIT */
/*
 * Each bucket is kept as one number, its "theoretical arrival time" (the
 * generic cell rate algorithm, GCRA): tat is when the bucket would be full
 * again, in microseconds. Taking n tokens at now moves it to
 * max(tat, now) + n*T (T = one token's refill time), which is allowed while
 * that stays within burst*T of now. This is the token bucket exactly, with
 * no refill step and no floating point per request.
 *
 * Entries sit in a hash table (chains, grown by doubling up to the key
 * limit) and on an LRU list, most recent first; eviction takes the tail.
 */
#include "server/token_bucket.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <corio/error.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "base/list.h"

#define SHORT_KEY 64
#define US_PER_MS 1000

struct entry {
    struct cio__list lru; /* on tb->lru, most recent first */
    struct entry *chain;  /* next in the same hash bucket */
    uint64_t hash;
    int64_t tat_us; /* full again at this time */
    uint8_t digest; /* key holds a 16-byte digest of a long key */
    uint8_t keylen; /* bytes in key */
    char key[];
};

struct cio__tb {
    int64_t t_us;     /* one token's refill time, >= 1 */
    int64_t burst_us; /* burst * t_us */
    uint32_t burst;
    size_t max_keys, count;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct cio__list lru;
    uint64_t k[4]; /* SipHash keys: k[0..1] table, k[2..3] digest */
};

/* ------------------------------------------------------------- SipHash */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIPROUND()                                                             \
    do {                                                                       \
        v0 += v1;                                                              \
        v1 = rotl(v1, 13);                                                     \
        v1 ^= v0;                                                              \
        v0 = rotl(v0, 32);                                                     \
        v2 += v3;                                                              \
        v3 = rotl(v3, 16);                                                     \
        v3 ^= v2;                                                              \
        v0 += v3;                                                              \
        v3 = rotl(v3, 21);                                                     \
        v3 ^= v0;                                                              \
        v2 += v1;                                                              \
        v1 = rotl(v1, 17);                                                     \
        v1 ^= v2;                                                              \
        v2 = rotl(v2, 32);                                                     \
    } while (0)

/* SipHash-1-3 (one compression round, three finalisation rounds), as in
 * Rust's and Python's hash tables: keyed, fast on short keys. */
static uint64_t siphash13(uint64_t k0, uint64_t k1, const char *data,
                          size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t n = len & ~(size_t)7;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIPROUND();
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[n + i] << (8 * i);
    v3 ^= b;
    SIPROUND();
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND();
    SIPROUND();
    SIPROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

static void random_keys(uint64_t k[4])
{
    if (getrandom(k, 4 * sizeof k[0], GRND_NONBLOCK) ==
        (ssize_t)(4 * sizeof k[0]))
        return;
    /* Early boot without entropy: still different per table and run. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
                    (uint64_t)(uintptr_t)k;
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        uint64_t z = seed;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        k[i] = z ^ (z >> 31);
    }
}

/* ------------------------------------------------------------- table */

int cio__tb_new(struct cio__tb **out, const struct cio__tb_opts *opts)
{
    if (opts == NULL)
        return cio__err(CIO_EINVAL, "token bucket: no options");
    /* The negated comparison also refuses NaN. */
    if (!(opts->rate >= 0.001 && opts->rate <= 1e6))
        return cio__err(CIO_EINVAL,
                        "token bucket: rate %g is not within "
                        "0.001 to 1e6 per second",
                        opts->rate);
    if (opts->burst < 1 || opts->burst > 1000000)
        return cio__err(CIO_EINVAL,
                        "token bucket: burst %u is not within 1 "
                        "to 1e6",
                        opts->burst);
    if (opts->max_keys < 1 || opts->max_keys > (1u << 22))
        return cio__err(CIO_EINVAL,
                        "token bucket: max_keys %u is not within "
                        "1 to 2^22",
                        opts->max_keys);
    struct cio__tb *tb = cio__calloc(1, sizeof *tb);
    if (tb == NULL)
        return CIO_ENOMEM;
    tb->nbuckets = 16;
    tb->buckets = cio__calloc(tb->nbuckets, sizeof *tb->buckets);
    if (tb->buckets == NULL) {
        cio__free(tb);
        return CIO_ENOMEM;
    }
    double t = 1e6 / opts->rate + 0.5;
    tb->t_us = t < 1 ? 1 : (int64_t)t;
    tb->burst = opts->burst;
    tb->burst_us = tb->t_us * (int64_t)opts->burst;
    tb->max_keys = opts->max_keys;
    cio__list_init(&tb->lru);
    random_keys(tb->k);
    *out = tb;
    return 0;
}

void cio__tb_free(struct cio__tb *tb)
{
    if (tb == NULL)
        return;
    while (!cio__list_empty(&tb->lru)) {
        struct cio__list *l = cio__list_pop_front(&tb->lru);
        cio__free(CIO_CONTAINER_OF(l, struct entry, lru));
    }
    cio__free(tb->buckets);
    cio__free(tb);
}

size_t cio__tb_count(const struct cio__tb *tb)
{
    return tb->count;
}

/* The stored form of a key: itself if short, else a 16-byte digest. */
static size_t stored_key(const struct cio__tb *tb, const char *key,
                         size_t keylen, char *buf, int *digest)
{
    if (keylen <= SHORT_KEY) {
        memcpy(buf, key, keylen);
        *digest = 0;
        return keylen;
    }
    uint64_t a = siphash13(tb->k[2], tb->k[3], key, keylen);
    uint64_t b = siphash13(tb->k[3], tb->k[2], key, keylen);
    memcpy(buf, &a, 8);
    memcpy(buf + 8, &b, 8);
    *digest = 1;
    return 16;
}

static void unlink_chain(struct cio__tb *tb, struct entry *e)
{
    struct entry **pp = &tb->buckets[e->hash & (tb->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
}

/* Doubles the bucket array; on failure the table keeps working, longer
 * chains only. */
static void grow(struct cio__tb *tb)
{
    size_t n = tb->nbuckets * 2;
    struct entry **b = cio__calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < tb->nbuckets; i++) {
        struct entry *e = tb->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->chain;
            e->chain = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    cio__free(tb->buckets);
    tb->buckets = b;
    tb->nbuckets = n;
}

int cio__tb_take_n(struct cio__tb *tb, const char *key, size_t keylen,
                   int64_t now_ms, uint32_t cost, int64_t *retry_after_ms)
{
    char k[SHORT_KEY > 16 ? SHORT_KEY : 16];
    int digest;
    if (cost < 1 || cost > tb->burst)
        return CIO_EINVAL;
    size_t klen = stored_key(tb, key, keylen, k, &digest);
    uint64_t h = siphash13(tb->k[0], tb->k[1], k, klen) ^ (uint64_t)digest;
    if (now_ms < 0)
        now_ms = 0;
    if (now_ms > (int64_t)1 << 52)
        now_ms = (int64_t)1 << 52;
    int64_t now = now_ms * US_PER_MS;

    struct entry *e = tb->buckets[h & (tb->nbuckets - 1)];
    while (e != NULL && !(e->hash == h && e->digest == digest &&
                          e->keylen == klen && memcmp(e->key, k, klen) == 0))
        e = e->chain;
    if (e == NULL) {
        e = cio__malloc(sizeof *e + klen);
        if (e == NULL)
            return CIO_ENOMEM;
        if (tb->count == tb->max_keys) {
            struct entry *old =
                CIO_CONTAINER_OF(tb->lru.prev, struct entry, lru);
            cio__list_remove(&old->lru);
            unlink_chain(tb, old);
            cio__free(old);
            tb->count--;
        }
        e->hash = h;
        e->tat_us = now; /* a new key starts full */
        e->digest = (uint8_t)digest;
        e->keylen = (uint8_t)klen;
        memcpy(e->key, k, klen);
        e->chain = tb->buckets[h & (tb->nbuckets - 1)];
        tb->buckets[h & (tb->nbuckets - 1)] = e;
        cio__list_push_front(&tb->lru, &e->lru);
        tb->count++;
        if (tb->count > tb->nbuckets / 4 * 3 && tb->nbuckets < tb->max_keys)
            grow(tb);
    } else {
        cio__list_remove(&e->lru);
        cio__list_push_front(&tb->lru, &e->lru);
    }

    int64_t base = e->tat_us > now ? e->tat_us : now;
    int64_t tat = base + (int64_t)cost * tb->t_us;
    if (tat - now > tb->burst_us) {
        if (retry_after_ms != NULL) {
            int64_t wait = tat - now - tb->burst_us;
            *retry_after_ms = (wait + US_PER_MS - 1) / US_PER_MS;
        }
        return 0;
    }
    e->tat_us = tat;
    if (retry_after_ms != NULL)
        *retry_after_ms = 0;
    return 1;
}

int cio__tb_take(struct cio__tb *tb, const char *key, int64_t now_ms,
                 int64_t *retry_after_ms)
{
    return cio__tb_take_n(tb, key, strlen(key), now_ms, 1, retry_after_ms);
}
