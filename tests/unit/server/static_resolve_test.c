/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/static.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char base[256], root[300];
static bool have_dev;

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    cr_assert(f != NULL, "%s: %s", p, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void mk(const char *rel, int kind, const char *target)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    int rc;
    switch (kind) {
    case 'd':
        rc = mkdir(p, 0755);
        break;
    case 'l':
        rc = symlink(target, p);
        break;
    case 'p':
        rc = mkfifo(p, 0644);
        break;
    default:
        rc = -1;
    }
    cr_assert_eq(rc, 0, "%s: %s", p, strerror(errno));
}

/* The tree:
 *   base/outside.txt                 must never be reachable
 *   base/root/a.txt, sub/b.txt, .hidden, sub/.git/config
 *   base/root/link_in -> a.txt       relative, inside
 *   base/root/subl -> sub            directory symlink, inside
 *   base/root/link_abs -> base/outside.txt, link_etc -> /etc
 *   base/root/link_up -> ../outside.txt, updir -> ..
 *   base/root/link_null -> /dev/null
 *   base/root/fifo, sock (a bound Unix socket), dev (char device, if
 *   mknod is allowed here) */
static void setup(void)
{
    snprintf(base, sizeof(base), "/tmp/cio_static_XXXXXX");
    cr_assert(mkdtemp(base) != NULL);
    snprintf(root, sizeof(root), "%s/root", base);
    put("outside.txt", "secret");
    mk("root", 'd', NULL);
    put("root/a.txt", "a");
    mk("root/sub", 'd', NULL);
    put("root/sub/b.txt", "b");
    put("root/.hidden", "h");
    mk("root/sub/.git", 'd', NULL);
    put("root/sub/.git/config", "c");
    put("root/%2e%2e", "literal");
    mk("root/link_in", 'l', "a.txt");
    mk("root/subl", 'l', "sub");
    char abs[400];
    snprintf(abs, sizeof(abs), "%s/outside.txt", base);
    mk("root/link_abs", 'l', abs);
    mk("root/link_etc", 'l', "/etc");
    mk("root/link_up", 'l', "../outside.txt");
    mk("root/updir", 'l', "..");
    mk("root/link_null", 'l', "/dev/null");
    mk("root/fifo", 'p', NULL);

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert(strlen(root) + 6 <= sizeof(sa.sun_path));
    memcpy(sa.sun_path, root, strlen(root));
    memcpy(sa.sun_path + strlen(root), "/sock", 6);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(s);

    char dev[400];
    snprintf(dev, sizeof(dev), "%s/dev", root);
    have_dev = mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (!have_dev)
        cr_log_warn("mknod not permitted here: the device case is not run");
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    cr_expect_eq(system(cmd), 0);
}

#define F CIO__RESOLVE_FOLLOW
#define D CIO__RESOLVE_DOTFILES

static const struct {
    const char *rel;
    unsigned flags;
    int want;      /* 0 / 404 / 403 */
    int want_walk; /* the same in the fallback walk */
    char kind;     /* 'f' regular, 'd' directory (when 0) */
} cases[] = {
    {"a.txt", 0, 0, 0, 'f'},
    {"/a.txt", 0, 0, 0, 'f'},
    {"sub/b.txt", 0, 0, 0, 'f'},
    {"sub//b.txt", 0, 0, 0, 'f'},
    {"", 0, 0, 0, 'd'},
    {"sub", 0, 0, 0, 'd'},
    {"sub/", 0, 0, 0, 'd'},
    {"a.txt/", 0, 404, 404, 0},
    {"missing", 0, 404, 404, 0},
    {"sub/missing/x", 0, 404, 404, 0},
    {"%2e%2e", 0, 0, 0, 'f'}, /* a literal name, decoded once */
    /* dot segments and dotfiles */
    {"..", 0, 404, 404, 0},
    {"../outside.txt", F | D, 404, 404, 0},
    {"sub/../a.txt", F | D, 404, 404, 0},
    {"./a.txt", D, 404, 404, 0},
    {"sub/./b.txt", D, 404, 404, 0},
    {".hidden", 0, 404, 404, 0},
    {".hidden", D, 0, 0, 'f'},
    {"sub/.git/config", 0, 404, 404, 0},
    {"sub/.git/config", D, 0, 0, 'f'},
    {"..\\outside.txt", D, 404, 404, 0}, /* a literal name, missing */
    {"..;/outside.txt", D, 404, 404, 0},
    /* symlinks */
    {"link_in", 0, 404, 404, 0},
    {"link_in", F, 0, 404, 'f'},
    {"subl/b.txt", 0, 404, 404, 0},
    {"subl/b.txt", F, 0, 404, 'f'},
    {"link_abs", F, 404, 404, 0},
    {"link_etc/passwd", F, 404, 404, 0},
    {"link_up", F, 404, 404, 0},
    {"updir/outside.txt", F, 404, 404, 0},
    {"updir/root/a.txt", F, 404, 404, 0},
    {"link_null", F, 404, 404, 0},
    {"link_null", 0, 404, 404, 0},
    /* special files: refused without blocking */
    {"fifo", 0, 403, 403, 0},
    {"sock", 0, 403, 403, 0},
};

static void run_cases(unsigned extra)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(rootfd >= 0);
    for (size_t i = 0; i < N(cases); i++) {
        int fd = -1;
        struct stat st;
        int want = extra ? cases[i].want_walk : cases[i].want;
        int rc = cio__static_open(rootfd, cases[i].rel, cases[i].flags | extra,
                                  &fd, &st);
        cr_expect_eq(rc, want, "%s case %zu \"%s\" flags %u: got %d want %d",
                     extra ? "walk" : "openat2", i, cases[i].rel,
                     cases[i].flags, rc, want);
        if (rc == 0) {
            char k = S_ISREG(st.st_mode)   ? 'f'
                     : S_ISDIR(st.st_mode) ? 'd'
                                           : '?';
            cr_expect_eq(k, cases[i].kind, "case %zu \"%s\": kind %c", i,
                         cases[i].rel, k);
            if (k == 'f') {
                /* Never the outside file's content. */
                char buf[16] = {0};
                cr_expect(read(fd, buf, sizeof(buf) - 1) >= 0);
                cr_expect_str_neq(buf, "secret", "case %zu", i);
            }
            close(fd);
        }
    }
    if (have_dev) {
        int fd;
        struct stat st;
        cr_expect_eq(cio__static_open(rootfd, "dev", extra, &fd, &st), 403);
    }
    close(rootfd);
}

Test(static_resolve, openat2, .init = setup, .fini = teardown)
{
    cr_assert(cio__static_have_openat2(), "this kernel has openat2 (6.x)");
    run_cases(0);
}

Test(static_resolve, fallback_walk, .init = setup, .fini = teardown)
{
    run_cases(CIO__RESOLVE_WALK);
}

Test(static_resolve, check)
{
    cr_expect_eq(cio__static_check("a/b/c.txt", 0), 0);
    cr_expect_eq(cio__static_check("a/.b/c.txt", 0), 404);
    cr_expect_eq(cio__static_check("a/.b/c.txt", D), 0);
    cr_expect_eq(cio__static_check("a/../c", D), 404);
    cr_expect_eq(cio__static_check("a/..", D), 404);
    cr_expect_eq(cio__static_check("a/.", D), 404);
    cr_expect_eq(cio__static_check("a..b/c", 0), 0);
    cr_expect_eq(cio__static_check("a/...", 0), 404);
    cr_expect_eq(cio__static_check("a/...", D), 0);
    static char longp[5000];
    memset(longp, 'a', sizeof(longp) - 1);
    cr_expect_eq(cio__static_check(longp, 0), 404);
}

/* A symlink swapped in mid-lookup (RELIABILITY 74): the containment is the
 * kernel's, so a path that resolved to a file an instant ago and is now a
 * symlink out of the root gives 404, never the outside file. */
Test(static_resolve, swapped_symlink, .init = setup, .fini = teardown)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(rootfd >= 0);
    char p[512], abs[512];
    snprintf(p, sizeof(p), "%s/a.txt", root);
    snprintf(abs, sizeof(abs), "%s/outside.txt", base);
    for (int round = 0; round < 2; round++) {
        unsigned fl = F | (round ? CIO__RESOLVE_WALK : 0);
        int fd;
        struct stat st;
        cr_expect_eq(cio__static_open(rootfd, "a.txt", fl, &fd, &st), 0);
        close(fd);
        cr_assert_eq(unlink(p), 0);
        cr_assert_eq(symlink(abs, p), 0);
        cr_expect_eq(cio__static_open(rootfd, "a.txt", fl, &fd, &st), 404);
        cr_assert_eq(unlink(p), 0);
        put("root/a.txt", "a");
    }
    close(rootfd);
}
