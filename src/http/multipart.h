/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_MULTIPART_INT_H
#define CIO_HTTP_MULTIPART_INT_H

#include <corio/http/multipart.h>

/* Test hook: the current boundary, without sealing the body (the public
 * cio_multipart_content_type seals it). */
const char *cio__multipart_peek_boundary(const cio_multipart *mp, size_t *len);

#endif
