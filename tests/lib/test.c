/* SPDX-License-Identifier: MIT */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define CIO_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO_TEST_LSAN 1
#endif
#endif
#ifdef CIO_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

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

void cio_test_no_leaks(void)
{
#ifdef CIO_TEST_LSAN
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
                 "memory leaked: see the LeakSanitizer report above");
#endif
}
