/* SPDX-License-Identifier: MIT */
#include <corio/error.h>
#include <corio/version.h>

#include <string.h>

const char *cio_version(void)
{
    return CIO_VERSION_STRING;
}

const char *cio_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define X(name, code, text)                                                    \
    case code:                                                                 \
        return text;
        CIO_ERROR_MAP(X)
#undef X
    default:
        break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err); /* glibc: never NULL, thread-safe for errnos */
    return "unknown error";
}

const char *cio_errname(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define X(name, code, text)                                                    \
    case code:                                                                 \
        return "CIO_E" #name;
        CIO_ERROR_MAP(X)
#undef X
    default:
        break;
    }
    if (err < 0 && err > -4096) {
        const char *n = strerrorname_np(-err);
        if (n != NULL)
            return n;
    }
    return "CIO_E?";
}
