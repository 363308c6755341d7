/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include <corio/error.h>

#include "base/errmsg.h"

static __thread char last[256];

int cio__verr(int err, const char *fmt, va_list ap)
{
    vsnprintf(last, sizeof(last), fmt, ap);
    return err;
}

int cio__err(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cio__verr(err, fmt, ap);
    va_end(ap);
    return err;
}

void cio__err_clear(void)
{
    last[0] = '\0';
}

const char *cio_last_error(void)
{
    return last;
}
