/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_STATIC_H
#define CIO_SERVER_STATIC_H

/*
 * Resolving a request path beneath a static root (docs/internals/static.md).
 * The root directory is opened once; every lookup starts from that
 * descriptor and the kernel keeps it beneath the root: openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (plus RESOLVE_NO_SYMLINKS unless
 * symlinks are followed), or, where openat2 is missing (ENOSYS), a walk of
 * one openat(O_NOFOLLOW) per component. No string normalisation is trusted
 * with containment: the path checks below only decide what is hidden.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define CIO__RESOLVE_FOLLOW 1u   /* follow symlinks (still inside the root) */
#define CIO__RESOLVE_DOTFILES 2u /* segments starting with '.' are visible */
#define CIO__RESOLVE_WALK 4u     /* use the fallback walk (tests) */

/*
 * Checks a decoded path relative to the root (leading '/' ignored,
 * "a//b" as "a/b"): returns 0 if it may be looked up, or 404 for a "."
 * or ".." segment, a dotfile segment without CIO__RESOLVE_DOTFILES, or a
 * path of PATH_MAX bytes or more. (An embedded NUL cannot reach here: the
 * caller refuses %00 in the raw target.)
 */
int cio__static_check(const char *rel, unsigned flags);

/*
 * Opens rel (checked with cio__static_check) beneath the directory rootfd:
 * O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, so a FIFO or a device is
 * never waited on (RELIABILITY 75), then fstat. "" is the root itself.
 * Returns 0 with *fd (owned by the caller) and *st for a regular file or a
 * directory; 404 when the path is hidden, missing, not a directory on the
 * way, or leaves the root (an absolute symlink, "../" in a symlink, a
 * symlink at all without CIO__RESOLVE_FOLLOW; also under FOLLOW in the
 * fallback walk, which does not follow symlinks); 403 for a FIFO, device,
 * socket or a permission error; or a negative CIO_E* (-EMFILE, ...).
 */
int cio__static_open(int rootfd, const char *rel, unsigned flags, int *fd,
                     struct stat *st);

/* Whether this kernel has openat2 (probed once). */
bool cio__static_have_openat2(void);

#endif
