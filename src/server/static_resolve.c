/* SPDX-License-Identifier: MIT */
#include "server/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/alloc.h"

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

/* -1 unknown, 0 missing (ENOSYS), 1 present. */
static atomic_int have_openat2 = -1;

int cio__static_check(const char *rel, unsigned flags)
{
    size_t len = strlen(rel);

    if (len >= PATH_MAX)
        return 404;
    for (const char *s = rel; *s != '\0';) {
        const char *e = strchr(s, '/');
        size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
        if (n > 0 && s[0] == '.') {
            if (n == 1 || (n == 2 && s[1] == '.'))
                return 404;
            if (!(flags & CIO__RESOLVE_DOTFILES))
                return 404;
        }
        s += n;
        if (*s == '/')
            s++;
    }
    return 0;
}

/* Maps an open failure to the answer. */
static int open_error(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case EXDEV: /* openat2: the path left the root */
    case ELOOP: /* a symlink where none may be */
    case ENAMETOOLONG:
    case EAGAIN: /* openat2 kept racing a rename: treat as absent */
        return 404;
    case EACCES:
    case EPERM:
    case ENXIO: /* a socket, or a device without a driver */
    case ENODEV:
    case ETXTBSY:
        return 403;
    default:
        return -err;
    }
}

/* Keeps regular files and directories; closes anything else (403). */
static int finish(int fd, int *out, struct stat *st)
{
    struct stat sb;

    if (fstat(fd, &sb) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        close(fd);
        return 403;
    }
    *out = fd;
    *st = sb;
    return 0;
}

static int open_beneath(int rootfd, const char *rel, unsigned flags)
{
    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };

    if (!(flags & CIO__RESOLVE_FOLLOW))
        how.resolve |= RESOLVE_NO_SYMLINKS;
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* EAGAIN: a concurrent rename or mount; retry a few times. */
        if ((errno != EINTR && errno != EAGAIN) || tries == 8)
            return -errno;
    }
}

/* The fallback: one openat per component, none followed if a symlink.
 * Components are known not to be "." or "..", so nothing climbs. */
static int open_walk(int rootfd, const char *rel)
{
    char *copy = cio__strdup(rel);
    int cur = rootfd, rc;

    if (copy == NULL)
        return -ENOMEM;
    char *s = copy;
    while (*s == '/')
        s++;
    for (;;) {
        /* One component; a run of '/' separates, a trailing one asks for a
         * directory (as the kernel does). */
        char *e = strchr(s, '/');
        bool dir = false;
        char *next = NULL;
        if (e != NULL) {
            *e = '\0';
            next = e + 1;
            while (*next == '/')
                next++;
            dir = *next == '\0';
            if (dir)
                next = NULL;
        }
        const char *name = *s != '\0' ? s : ".";
        int fd;
        if (next == NULL)
            fd = openat(cur, name,
                        OPEN_FLAGS | O_NOFOLLOW | (dir ? O_DIRECTORY : 0));
        else
            fd = openat(cur, name,
                        O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            rc = -errno;
            goto done;
        }
        if (cur != rootfd)
            close(cur);
        cur = fd;
        if (next == NULL)
            break;
        s = next;
    }
    rc = cur;
    cur = rootfd;
done:
    if (cur != rootfd)
        close(cur);
    cio__free(copy);
    return rc;
}

bool cio__static_have_openat2(void)
{
    int v = atomic_load_explicit(&have_openat2, memory_order_relaxed);
    if (v < 0) {
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH};
        long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
        v = fd >= 0 || errno != ENOSYS;
        if (fd >= 0)
            close((int)fd);
        atomic_store_explicit(&have_openat2, v, memory_order_relaxed);
    }
    return v != 0;
}

int cio__static_open(int rootfd, const char *rel, unsigned flags, int *fd,
                     struct stat *st)
{
    int rc = cio__static_check(rel, flags);
    if (rc != 0)
        return rc;
    while (*rel == '/')
        rel++;
    int f;
    if (!(flags & CIO__RESOLVE_WALK) && cio__static_have_openat2())
        f = open_beneath(rootfd, *rel != '\0' ? rel : ".", flags);
    else
        f = open_walk(rootfd, rel);
    if (f < 0)
        return open_error(-f);
    return finish(f, fd, st);
}
