/* SPDX-License-Identifier: MIT */
#include "base/alloc.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

int (*cio__alloc_fail_hook)(size_t size);

void *cio__malloc(size_t size)
{
    if (cio__alloc_fail_hook != NULL && cio__alloc_fail_hook(size))
        return NULL;
    return malloc(size);
}

void *cio__calloc(size_t n, size_t size)
{
    if (cio__alloc_fail_hook != NULL && cio__alloc_fail_hook(n * size))
        return NULL;
    return calloc(n, size);
}

void *cio__realloc(void *p, size_t size)
{
    if (cio__alloc_fail_hook != NULL && cio__alloc_fail_hook(size))
        return NULL;
    return realloc(p, size);
}

char *cio__strdup(const char *s)
{
    return cio__strndup(s, strlen(s));
}

char *cio__strndup(const char *s, size_t n)
{
    char *d = n < SIZE_MAX ? cio__malloc(n + 1) : NULL;
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
