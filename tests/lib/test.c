/* SPDX-License-Identifier: MIT */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

int cio_test_run(int (*fn)(void *arg), void *arg)
{
    return cio_run(fn, arg);
}

const char *cio_test_data(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("CIO_TEST_DATA");
    snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}
