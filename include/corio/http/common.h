/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_COMMON_H
#define CORIO_HTTP_COMMON_H

#include <stddef.h>
#include <string.h>

#include <corio/error.h>

/* A borrowed byte view: not NUL-terminated unless a function says so. */
struct cio_str {
    const char *ptr;
    size_t len;
};

#define CIO_STR_LIT(s) ((struct cio_str){(s), sizeof(s) - 1})

static inline struct cio_str cio_str_c(const char *s)
{
    return (struct cio_str){s, s != NULL ? strlen(s) : 0};
}

/* A name/value pair for arrays the caller fills, e.g. request headers or
 * query parameters: (struct cio_kv[]){{"page", "2"}, {NULL, NULL}}. An entry
 * with name == NULL ends the array. */
struct cio_kv {
    const char *name;
    const char *value;
};

#endif
