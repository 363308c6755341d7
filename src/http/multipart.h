/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_MULTIPART_INT_H
#define CIO_HTTP_MULTIPART_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <corio/http/multipart.h>

/* Test hook: the current boundary, without sealing the body (the public
 * cio_multipart_content_type seals it). */
const char *cio__multipart_peek_boundary(const cio_multipart *mp, size_t *len);

/*
 * cio_multipart_read that never waits for a disk: a regular file's bytes
 * are read with RWF_NOWAIT, and when they are not in the page cache it
 * returns the bytes it has (maybe 0) with *cold set. 0 with *cold unset
 * is the end, as for cio_multipart_read. Where RWF_NOWAIT is refused (file
 * systems without it) the part is read plainly.
 */
ptrdiff_t cio__multipart_read_nowait(cio_multipart *mp, void *out, size_t cap,
                                     bool *cold);

/* After a cold read: the descriptor, file offset and bytes left (-1:
 * until EOF) of the part being read, for a read-ahead on another thread.
 * CIO_EINVAL when the reader is not inside a regular file part. */
int cio__multipart_cold_spot(const cio_multipart *mp, int *fd, int64_t *off,
                             int64_t *left);

#endif
