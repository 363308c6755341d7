/* SPDX-License-Identifier: MIT */
/* The routed path: one percent-decoding, dot segments removed (path.h). */
#include <criterion/criterion.h>
#include <string.h>

#include <corio/error.h>

#include "server/path.h"

static const struct {
    const char *in, *out; /* out NULL: CIO_EPROTO */
    const char *why;
} cases[] = {
    {"/", "/", NULL},
    {"/a/b", "/a/b", NULL},
    {"/a/./b", "/a/b", NULL},
    {"/a/../b", "/b", NULL},
    {"/a/b/..", "/a/", NULL},
    {"/a/.", "/a/", NULL},
    {"/.", "/", NULL},
    {"/a/..", "/", NULL},
    {"/a//../b", "/a/b", NULL},
    {"/a/b/./../c/", "/a/c/", NULL},
    {"/a/.../b", "/a/.../b", NULL}, /* not a dot segment */
    {"/a/.b/..c", "/a/.b/..c", NULL},
    {"/static/../secret", "/secret", NULL},
    {"/static/%2e%2e/admin", "/admin", NULL},
    {"/a/%2E/b", "/a/b", NULL},
    {"/a%2e", "/a.", NULL},
    {"/%41%2f%25", "/A%2F%25", NULL}, /* %2F and %25 stay encoded */
    {"/..%2f", "/..%2F", NULL},       /* one segment, not a dot segment */
    {"/a/..%2Fb", "/a/..%2Fb", NULL},
    {"/..;/", "/..;/", NULL},
    {"/..%5c", "/..\\", NULL},
    {"*", "*", NULL}, /* OPTIONS *: decoded only */
    /* RELIABILITY.md H.72/73 */
    {"/..", NULL, "above"},
    {"/../x", NULL, "above"},
    {"/%2e%2e/x", NULL, "above"},
    {"/.%2E/x", NULL, "above"},
    {"/a/../../x", NULL, "above"},
    {"/a/b/../../..", NULL, "above"},
    {"/%%32%65%%32%65/", NULL, "percent"}, /* double encoding: bad %% */
    {"/index.html%00.txt", NULL, "percent"},
    {"/%zz", NULL, "percent"},
    {"/%4", NULL, "percent"},
    {"/%", NULL, "percent"},
};

Test(req_path, table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        size_t n = 0;
        const char *why = NULL;
        int rc = cio__path_normalize(out, sizeof(out), cases[i].in,
                                     strlen(cases[i].in), &n, &why);
        if (cases[i].out == NULL) {
            cr_expect_eq(rc, CIO_EPROTO, "%s: rc %d", cases[i].in, rc);
            cr_expect(why != NULL && strcmp(why, cases[i].why) == 0,
                      "%s: why %s", cases[i].in, why ? why : "(null)");
            continue;
        }
        cr_expect_eq(rc, 0, "%s: rc %d", cases[i].in, rc);
        if (rc == 0) {
            cr_expect_str_eq(out, cases[i].out, "%s", cases[i].in);
            cr_expect_eq(n, strlen(cases[i].out), "%s", cases[i].in);
        }
    }
}

Test(req_path, idempotent_on_the_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char a[128], b[128];
        size_t na = 0, nb = 0;
        const char *why;
        if (cases[i].out == NULL)
            continue;
        cr_assert_eq(cio__path_normalize(a, sizeof(a), cases[i].in,
                                         strlen(cases[i].in), &na, &why),
                     0);
        cr_assert_eq(cio__path_normalize(b, sizeof(b), a, na, &nb, &why), 0);
        cr_expect_str_eq(a, b, "%s", cases[i].in);
    }
}

Test(req_path, too_small_output_is_einval)
{
    char out[4];
    size_t n;
    const char *why;
    cr_expect_eq(cio__path_normalize(out, sizeof(out), "/abcd", 5, &n, &why),
                 CIO_EINVAL);
}
