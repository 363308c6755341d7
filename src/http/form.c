/* SPDX-License-Identifier: MIT */
/* Forms are query strings with '+' for space: see url.c. */
#include <corio/http/form.h>

#include "http/url_int.h"

ptrdiff_t cio_form_encode(char *dst, size_t cap, const struct cio_kv *fields)
{
    return cio_query_encode(dst, cap, fields, CIO_QUERY_FORM);
}

ptrdiff_t cio_form_append(char *dst, size_t cap, size_t len,
                          struct cio_str name, struct cio_str value)
{
    return cio_query_append(dst, cap, len, name, value, CIO_QUERY_FORM);
}

int cio_form_parse(cio_params **out, const char *body, size_t len,
                   const struct cio_query_opts *opts)
{
    return cio__params_parse(out, body, len, opts, CIO_FORM_MAX_LEN,
                             CIO_QUERY_FORM, CIO_EPROTO, "form body");
}
