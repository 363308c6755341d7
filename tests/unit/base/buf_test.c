/* SPDX-License-Identifier: MIT */
#include "test.h"

#include "base/alloc.h"
#include "base/buf.h"

Test(buf, grows_to_the_ceiling_and_not_past_it)
{
    struct cio__buf b;
    char chunk[100];
    memset(chunk, 'x', sizeof(chunk));
    cio__buf_init(&b, 1000);
    for (int i = 0; i < 10; i++)
        CIO_ASSERT_RC(cio__buf_append(&b, chunk, sizeof(chunk)), 0);
    cr_expect_eq(b.len, 1000);
    cr_expect_leq(b.cap, 1000, "cap %zu above the ceiling", b.cap);
    /* one more byte is refused and leaves the buffer as it was */
    CIO_EXPECT_RC(cio__buf_append(&b, "y", 1), CIO_ETOOBIG);
    cr_expect_eq(b.len, 1000);
    CIO_EXPECT_RC(cio__buf_reserve(&b, 1), CIO_ETOOBIG);
    CIO_EXPECT_RC(cio__buf_reserve(&b, 0), 0);
    cio__buf_fini(&b);
    cr_expect_null(b.base);
}

Test(buf, huge_reserve_does_not_overflow)
{
    struct cio__buf b;
    cio__buf_init(&b, 4096);
    CIO_ASSERT_RC(cio__buf_append(&b, "abc", 3), 0);
    CIO_EXPECT_RC(cio__buf_reserve(&b, SIZE_MAX), CIO_ETOOBIG);
    CIO_EXPECT_RC(cio__buf_reserve(&b, SIZE_MAX - 2), CIO_ETOOBIG);
    cr_expect_eq(b.len, 3);
    cio__buf_fini(&b);
}

Test(buf, consume_keeps_the_rest_at_base)
{
    struct cio__buf b;
    cio__buf_init(&b, 0);
    CIO_ASSERT_RC(cio__buf_append(&b, "hello world", 11), 0);
    cio__buf_consume(&b, 6);
    cr_expect_eq(b.len, 5);
    cr_expect(memcmp(b.base, "world", 5) == 0);
    cio__buf_consume(&b, 99);
    cr_expect_eq(b.len, 0);
    cio__buf_fini(&b);
}

Test(buf, printf_grows_and_respects_the_ceiling)
{
    struct cio__buf b;
    cio__buf_init(&b, 64);
    CIO_ASSERT_RC(cio__buf_printf(&b, "%s=%d;", "a", 1), 0);
    CIO_ASSERT_RC(cio__buf_printf(&b, "%040d", 7), 0);
    cr_expect_eq(b.len, 4 + 40);
    cr_expect(memcmp(b.base, "a=1;", 4) == 0);
    /* 44 + 30 > 64: refused, unchanged */
    CIO_EXPECT_RC(cio__buf_printf(&b, "%030d", 9), CIO_ETOOBIG);
    cr_expect_eq(b.len, 44);
    cio__buf_fini(&b);
}

Test(buf, tail_and_commit)
{
    struct cio__buf b;
    cio__buf_init(&b, 0);
    CIO_ASSERT_RC(cio__buf_reserve(&b, 10), 0);
    cr_assert_geq(cio__buf_room(&b), 10);
    memcpy(cio__buf_tail(&b), "0123456789", 10);
    cio__buf_commit(&b, 10);
    cr_expect_eq(b.len, 10);
    cio__buf_fini(&b);
}

static int fail_next;
static int fail_hook(size_t size)
{
    (void)size;
    return fail_next;
}

Test(buf, failed_allocation_is_enomem_and_leaves_the_buffer)
{
    struct cio__buf b;
    cio__buf_init(&b, 1 << 20);
    CIO_ASSERT_RC(cio__buf_append(&b, "keep", 4), 0);
    cio__alloc_fail_hook = fail_hook;
    fail_next = 1;
    CIO_EXPECT_RC(cio__buf_reserve(&b, 100000), CIO_ENOMEM);
    fail_next = 0;
    cio__alloc_fail_hook = NULL;
    cr_expect_eq(b.len, 4);
    cr_expect(memcmp(b.base, "keep", 4) == 0);
    cio__buf_fini(&b);
}
