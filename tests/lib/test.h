/* SPDX-License-Identifier: MIT */
#ifndef CIO_TEST_H
#define CIO_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

/* Runs fn(arg) as the main task of a fresh loop and returns its result. */
int cio_test_run(int (*fn)(void *arg), void *arg);

/* Asserts a CIO_E* result, printing both names on failure. */
#define CIO_EXPECT_RC(got, want)                                               \
    do {                                                                       \
        int got_ = (int)(got), want_ = (int)(want);                            \
        cr_expect_eq(got_, want_, "%s: got %s (%d), want %s (%d)", #got,       \
                     cio_errname(got_), got_, cio_errname(want_), want_);      \
    } while (0)

#define CIO_ASSERT_RC(got, want)                                               \
    do {                                                                       \
        int got_ = (int)(got), want_ = (int)(want);                            \
        cr_assert_eq(got_, want_, "%s: got %s (%d), want %s (%d)", #got,       \
                     cio_errname(got_), got_, cio_errname(want_), want_);      \
    } while (0)

/*
 * Fails the test if LeakSanitizer finds unreachable memory right now (ASan
 * builds; a no-op otherwise). Call it last in a test body: Criterion passes
 * a test whose process reports leaks at exit, and ignores failures in .fini.
 */
void cio_test_no_leaks(void);

/* The path of a test data file (tests/data/<name>) in a static buffer. */
const char *cio_test_data(const char *name);

#endif
