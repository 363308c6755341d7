/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_MISC_INT_H
#define CIO_HTTP_MISC_INT_H

#include <stddef.h>

/* The MIME table behind cio_mime_lookup(), exposed so that tests can check
 * that it is sorted and that every entry is found. */
struct cio__mime_entry {
    const char *ext;  /* lowercase, without the dot */
    const char *type; /* full Content-Type value */
};
extern const struct cio__mime_entry cio__mime_table[];
extern const size_t cio__mime_count;

#endif
