/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_MW_UTIL_H
#define CIO_SERVER_MW_UTIL_H

/*
 * Pure helpers shared by the built-in middleware (src/server/mw_*.c): a
 * per-thread fast random generator, log-field escaping, request-ID
 * validation. No I/O except the generator's one getrandom(2) per thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 64 random bits from a per-thread xoshiro256** generator seeded from
 * getrandom(2) on first use in each thread (falling back to the clock, the
 * thread's address and the pid). Fast and unpredictable enough for request
 * IDs; NOT for keys or tokens.
 */
uint64_t cio__rand64(void);

/* 32 lowercase hex digits of a fresh 128-bit random value, NUL-terminated
 * (out must hold 33 bytes). */
void cio__rand_hex128(char out[33]);

/* A client-sent X-Request-ID worth keeping: 1 to 200 bytes of visible
 * ASCII (0x21-0x7e); anything else is replaced by a generated one. */
bool cio__request_id_valid(const char *s);

/*
 * Appends src to dst[*len..cap) escaped for a quoted field of the common
 * and combined log formats: '"' and '\' get a backslash, bytes < 0x20,
 * 0x7f and >= 0x80 become \xHH (so a line never breaks and a reader never
 * sees raw terminal escapes). NULL src writes "-". Stops (truncates) at a
 * whole escape when dst is full; always leaves dst[*len] == '\0' if
 * cap > 0 (cap must leave room for it).
 */
void cio__esc_log(char *dst, size_t *len, size_t cap, const char *src);

/* The same for a JSON string's contents: '"', '\', control characters as
 * \uXXXX (\n, \t, \r short forms), 0x7f as \u007f; bytes >= 0x80 are kept
 * (the value is assumed UTF-8; invalid UTF-8 is \u00XX-escaped per byte). */
void cio__esc_json(char *dst, size_t *len, size_t cap, const char *src);

/* Appends raw text (no escaping), truncating. */
void cio__put(char *dst, size_t *len, size_t cap, const char *src);

/*
 * Strict base64 (RFC 4648 alphabet; '=' padding optional but, if present,
 * right; leftover bits zero) of the NUL-terminated in into out, which gets
 * a NUL after the data. Returns the decoded length, or -1 if in is not
 * base64 or the result does not fit in cap - 1 bytes.
 */
ptrdiff_t cio__b64_decode(const char *in, char *out, size_t cap);

struct cio_app;

/*
 * Ties a built-in's configuration to the app's lifetime: stored as app
 * state under a key made from its address, freed with free_fn when the
 * app is freed. On failure calls free_fn(cfg) itself. Errors: CIO_ENOMEM.
 */
int cio__mw_keep(struct cio_app *app, void *cfg, void (*free_fn)(void *));

/* The client's address without the port ("127.0.0.1", "::1") into out. */
void cio__peer_host(const char *peer, char *out, size_t cap);

#endif
