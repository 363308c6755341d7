/* SPDX-License-Identifier: MIT */
#ifndef CIO_BASE_BUF_H
#define CIO_BASE_BUF_H

/*
 * The one byte-window type (STYLE §8, nghttp2's nghttp2_buf, curl's dynbuf
 * "toobig"): a growable buffer with a ceiling fixed at init. Growing past
 * the ceiling is CIO_ETOOBIG, never a bigger allocation, so a peer cannot
 * make a reader buffer "one more line" forever.
 */

#include <stddef.h>

struct cio__buf {
    char *base; /* NULL until the first growth */
    size_t len; /* bytes in use: base[0..len) */
    size_t cap; /* bytes allocated: len <= cap <= max */
    size_t max; /* the ceiling, > 0 */
};

/* An empty buffer that may grow to max bytes (0 = 64 KiB). No allocation. */
void cio__buf_init(struct cio__buf *b, size_t max);

/* Frees the memory; b is empty (and still usable) afterwards. */
void cio__buf_fini(struct cio__buf *b);

/*
 * Makes room for n more bytes after len (growing geometrically, never past
 * max). Errors: CIO_ETOOBIG (len + n > max; b unchanged), CIO_ENOMEM.
 */
int cio__buf_reserve(struct cio__buf *b, size_t n);

/* Appends n bytes. Errors as cio__buf_reserve; b unchanged on error. */
int cio__buf_append(struct cio__buf *b, const void *p, size_t n);

/* Appends formatted text (no NUL counted in len). Errors as above. */
int cio__buf_printf(struct cio__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drops the first n bytes (n <= len), keeping the rest at base. */
void cio__buf_consume(struct cio__buf *b, size_t n);

/* The free space after the data: write there, then cio__buf_commit. */
static inline char *cio__buf_tail(const struct cio__buf *b)
{
    return b->base + b->len;
}

static inline size_t cio__buf_room(const struct cio__buf *b)
{
    return b->cap - b->len;
}

/* Marks n bytes written at the tail as data (n <= room). */
static inline void cio__buf_commit(struct cio__buf *b, size_t n)
{
    b->len += n;
}

#endif
