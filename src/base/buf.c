/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <corio/error.h>

#include "base/alloc.h"
#include "base/buf.h"

#define DEFAULT_MAX (64u * 1024u)
#define MIN_CAP 256u

void cio__buf_init(struct cio__buf *b, size_t max)
{
    b->base = NULL;
    b->len = b->cap = 0;
    b->max = max != 0 ? max : DEFAULT_MAX;
}

void cio__buf_fini(struct cio__buf *b)
{
    cio__free(b->base);
    b->base = NULL;
    b->len = b->cap = 0;
}

int cio__buf_reserve(struct cio__buf *b, size_t n)
{
    size_t want, cap;
    char *p;

    if (n <= b->cap - b->len)
        return 0;
    if (n > b->max - b->len)
        return CIO_ETOOBIG;
    want = b->len + n;
    cap = b->cap != 0 ? b->cap : MIN_CAP;
    while (cap < want)
        cap = cap > b->max / 2 ? b->max : cap * 2;
    if (cap > b->max)
        cap = b->max;
    p = cio__realloc(b->base, cap);
    if (p == NULL)
        return CIO_ENOMEM;
    b->base = p;
    b->cap = cap;
    return 0;
}

int cio__buf_append(struct cio__buf *b, const void *p, size_t n)
{
    int rc = cio__buf_reserve(b, n);
    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(b->base + b->len, p, n);
    b->len += n;
    return 0;
}

int cio__buf_printf(struct cio__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(cio__buf_room(b) > 0 ? cio__buf_tail(b) : NULL,
                  cio__buf_room(b), fmt, ap);
    va_end(ap);
    if (n < 0)
        return CIO_EINVAL;
    if ((size_t)n < cio__buf_room(b)) {
        b->len += (size_t)n;
        return 0;
    }
    /* Too long for the room: grow (+1 for vsnprintf's NUL) and redo. */
    int rc = cio__buf_reserve(b, (size_t)n + 1);
    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(cio__buf_tail(b), cio__buf_room(b), fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void cio__buf_consume(struct cio__buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->base, b->base + n, b->len - n);
    b->len -= n;
}
