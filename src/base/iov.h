/* SPDX-License-Identifier: MIT */
#ifndef CIO_BASE_IOV_H
#define CIO_BASE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/*
 * Drops the first k bytes of the iovec array *v of *cnt entries (the
 * bytes a partial write took): whole entries are skipped, the next one is
 * trimmed in place. k must not exceed the array's total; the array must
 * be writable (a caller's copy).
 */
static inline void cio__iov_skip(struct iovec **v, int *cnt, size_t k)
{
    while (*cnt > 0 && k >= (*v)->iov_len) {
        k -= (*v)->iov_len;
        (*v)++;
        (*cnt)--;
    }
    if (*cnt > 0) {
        (*v)->iov_base = (char *)(*v)->iov_base + k;
        (*v)->iov_len -= k;
    }
}

#endif
