/* SPDX-License-Identifier: MIT */
/* The loop's end-of-life report: tasks and descriptors still alive. */
#include "test.h"

#include <criterion/redirect.h>

static void forever(void *arg)
{
    (void)arg;
    cio_sleep(CIO_NEVER);
}

static int leak_group(void *arg)
{
    cio_group *g;
    (void)arg;
    cr_assert_eq(cio_group_new(&g), 0);
    cr_assert_eq(cio_go(g, forever, NULL), 0);
    return 7; /* returns without cio_group_free(g): a bug the loop reports */
}

static char *slurp(FILE *f)
{
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    return buf;
}

Test(debug, leaked_group_is_reported_then_canceled)
{
    setenv("CIO_DEBUG", "1", 1);
    cr_redirect_stderr();
    /* The loop still ends: the leaked task is canceled and awaited. */
    cr_assert_eq(cio_run(leak_group, NULL), 7);
    fflush(stderr);
    char *out = slurp(cr_get_redirected_stderr());
    cr_expect(strstr(out, "task ended without freeing a group") != NULL, "%s",
              out);
    cr_expect(strstr(out, "task still alive after main returned") != NULL, "%s",
              out);
}

static int leak_fd(void *arg)
{
    cio_listener *ln;
    (void)arg;
    cr_assert_eq(cio_tcp_listen(&ln, "127.0.0.1:0", NULL), 0);
    *(int *)arg = cio_listener_fd(ln);
    return 0; /* never closed */
}

Test(debug, leaked_fd_is_reported)
{
    int fd = -1;
    char want[64];
    setenv("CIO_DEBUG", "1", 1);
    cr_redirect_stderr();
    cr_assert_eq(cio_run(leak_fd, &fd), 0);
    fflush(stderr);
    char *out = slurp(cr_get_redirected_stderr());
    snprintf(want, sizeof(want), "fd %d still open at loop end", fd);
    cr_expect(strstr(out, want) != NULL, "want '%s' in: %s", want, out);
    cr_expect(strstr(out, "created at") != NULL, "%s", out);
}

static int quiet(void *arg)
{
    (void)arg;
    return 0;
}

Test(debug, clean_program_reports_nothing)
{
    setenv("CIO_DEBUG", "1", 1);
    cr_redirect_stderr();
    cr_assert_eq(cio_run(quiet, NULL), 0);
    fflush(stderr);
    char *out = slurp(cr_get_redirected_stderr());
    cr_expect_str_empty(out);
}
