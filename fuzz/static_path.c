/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: resolving request paths beneath a static root
 * (src/server/static_resolve.c), against a real tree made at start-up with
 * the classic escapes in it: an absolute symlink, "../" symlinks, a
 * symlink to "..", a FIFO, and a file outside the root. The first byte
 * picks the flags (follow symlinks, dotfiles, fallback walk), the rest up
 * to a NUL is the decoded path. Oracles:
 *   - the answer is 0, 403 or 404;
 *   - on 0, the descriptor's real path (/proc/self/fd) is the root or
 *     beneath it, and it is a regular file or a directory;
 *   - no descriptor leaks (the lowest free descriptor never moves);
 *   - the FIFO is never waited on (the run would hang).
 */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/static.h"

static char base[64], root[80];
static int rootfd = -1;

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", base);
}

static void mk(const char *rel, int kind, const char *target)
{
    char p[200];
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    int rc = 0;
    if (kind == 'd')
        rc = mkdir(p, 0755);
    else if (kind == 'l')
        rc = symlink(target, p);
    else if (kind == 'p')
        rc = mkfifo(p, 0644);
    else {
        FILE *f = fopen(p, "w");
        rc = f ? fputs("x", f) < 0 : -1;
        if (f)
            fclose(f);
    }
    assert(rc == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(base, sizeof(base), "/tmp/cio_fuzz_static_XXXXXX");
    assert(mkdtemp(base) != NULL);
    atexit(cleanup);
    snprintf(root, sizeof(root), "%s/root", base);
    mk("outside", 'f', NULL);
    mk("root", 'd', NULL);
    mk("root/a.txt", 'f', NULL);
    mk("root/.dot", 'f', NULL);
    mk("root/sub", 'd', NULL);
    mk("root/sub/b.txt", 'f', NULL);
    mk("root/sub/.git", 'd', NULL);
    mk("root/sub/.git/c", 'f', NULL);
    mk("root/link_in", 'l', "a.txt");
    mk("root/subl", 'l', "sub");
    mk("root/sub/up", 'l', "../a.txt");
    mk("root/sub/upup", 'l', "../../outside");
    mk("root/link_abs", 'l', "/etc/passwd");
    mk("root/link_etc", 'l', "/etc");
    mk("root/updir", 'l', "..");
    mk("root/self", 'l', "/proc/self/root");
    mk("root/loop", 'l', "loop");
    mk("root/fifo", 'p', NULL);
    rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert(rootfd >= 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 600)
        return 0;
    unsigned flags = data[0] & 7u;
    char path[601];
    size_t n = size - 1;
    const void *z = memchr(data + 1, 0, n);
    if (z != NULL)
        n = (size_t)((const uint8_t *)z - (data + 1));
    memcpy(path, data + 1, n);
    path[n] = '\0';

    /* The lowest free descriptor before the call (the driver may hold some
     * between calls, so it is measured each time). */
    int lowest = dup(0);
    if (lowest >= 0)
        close(lowest);

    int fd = -1;
    struct stat st;
    int rc = cio__static_open(rootfd, path, flags, &fd, &st);
    assert(rc == 0 || rc == 403 || rc == 404);
    if (rc == 0) {
        char link[64], real[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t k = readlink(link, real, sizeof(real) - 1);
        assert(k > 0);
        real[k] = '\0';
        size_t rl = strlen(root);
        assert(strncmp(real, root, rl) == 0 &&
               (real[rl] == '\0' || real[rl] == '/'));
        assert(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
        close(fd);
    }
    int probe = dup(0);
    if (probe >= 0 && lowest >= 0) {
        assert(probe == lowest);
        close(probe);
    }
    return 0;
}
