/* SPDX-License-Identifier: MIT */
#ifndef CIO_BASE_ALLOC_H
#define CIO_BASE_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

/*
 * Every allocation in corio goes through these, so tests can make the n-th
 * allocation fail (tests/lib/failalloc.c) and count what is live.
 */
void *cio__malloc(size_t size);
void *cio__calloc(size_t n, size_t size);
void *cio__realloc(void *p, size_t size);
/* Inline so that freeing NULL, the common case on hot paths (a request
 * that made none of its on-demand parts), costs no call. */
static inline void cio__free(void *p)
{
    if (p != NULL)
        free(p);
}
char *cio__strdup(const char *s);
/* The first n bytes of s (no NUL needed in them), NUL-terminated. */
char *cio__strndup(const char *s, size_t n);

/* Test hook: when set, called before each allocation; returning non-zero
 * makes that allocation fail. Not thread-safe to change while loops run. */
extern int (*cio__alloc_fail_hook)(size_t size);

#endif
