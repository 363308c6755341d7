/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_TOKEN_BUCKET_H
#define CIO_SERVER_TOKEN_BUCKET_H

/*
 * Token buckets by key (rate limiting per client, per token ...), pure
 * code: the caller passes the time, so tests need no clock. Each key has a
 * bucket of `burst` tokens refilled at `rate` tokens per second; a key
 * seen for the first time starts full. At most max_keys keys are tracked:
 * a new key beyond that evicts the least recently used one, which then
 * starts full again when it comes back (memory stays bounded; a client
 * that rotates keys gets fresh buckets, so key by something it cannot
 * choose freely, e.g. the peer address).
 *
 * Keys are hashed with SipHash under a random key drawn at creation, so
 * chosen keys cannot pile into one hash chain. Keys longer than 64 bytes
 * are kept as a 128-bit keyed digest.
 *
 * Not thread-safe: one table per worker loop, or a lock around it.
 */
#include <stddef.h>
#include <stdint.h>

struct cio__tb;

struct cio__tb_opts {
    double rate;       /* tokens per second, 0.001 to 1e6 */
    uint32_t burst;    /* bucket size in tokens, 1 to 1e6 */
    uint32_t max_keys; /* keys tracked, 1 to 1 << 22 */
};

/* Errors: CIO_EINVAL (an option out of range; the message names it),
 * CIO_ENOMEM. */
int cio__tb_new(struct cio__tb **out, const struct cio__tb_opts *opts);

/* NULL ok. */
void cio__tb_free(struct cio__tb *tb);

/*
 * Takes one token from key's bucket at time now_ms (monotonic
 * milliseconds, clamped to 0..2^52; a time earlier than one seen before
 * refills nothing). Returns 1 if allowed, 0 if limited, or
 * CIO_ENOMEM (a new key could not be stored; nothing changed). Writes
 * *retry_after_ms (may be NULL): when limited, the wait until one token
 * is back (>= 1); when allowed, 0.
 */
int cio__tb_take(struct cio__tb *tb, const char *key, int64_t now_ms,
                 int64_t *retry_after_ms);

/* The same for key[0..keylen) and cost tokens (1 to burst, else
 * CIO_EINVAL); all or nothing. */
int cio__tb_take_n(struct cio__tb *tb, const char *key, size_t keylen,
                   int64_t now_ms, uint32_t cost, int64_t *retry_after_ms);

/* The number of keys tracked now. */
size_t cio__tb_count(const struct cio__tb *tb);

#endif
