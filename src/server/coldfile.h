/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_COLDFILE_H
#define CIO_SERVER_COLDFILE_H

/*
 * Files sent without waiting for the disk on the loop thread. sendfile(2)
 * (or the pread of the copy path) of bytes that are not in the page cache
 * waits for the disk on the loop, stopping every connection of the
 * worker. So before each chunk (at most CIO__FILE_CHUNK bytes) the server
 * asks whether the chunk is cached; when it is not, a read-ahead job on the
 * executor reads it into the page cache while the loop goes on, then the
 * chunk is sent. docs/server-files.md ("How files are sent") has the rule.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include <corio/rt.h>

/* The largest range checked (and read ahead) at once. */
#define CIO__FILE_CHUNK ((size_t)1 << 20)

/* Read-ahead jobs started (all servers of the process): tests watch it. */
extern _Atomic unsigned long cio__server_read_aheads;

/* Tests only: when set, the read-ahead job calls it on its pool thread
 * before reading (a test holds a read-ahead there to show the loop still
 * serves meanwhile). NULL in production. */
extern _Atomic(void (*)(void)) cio__server_read_ahead_hook;

/* How residency is asked (coldfile.c): cachestat(2) until the kernel
 * answers ENOSYS, then the preadv2(RWF_NOWAIT) probe for the process's
 * life. Tests set CIO__CHECK_PROBE to cover the fallback. */
enum { CIO__CHECK_CACHESTAT = 0, CIO__CHECK_PROBE = 1 };
extern _Atomic int cio__file_check;

/*
 * Makes [off, off + len) (len <= CIO__FILE_CHUNK) ready to send without
 * the disk: returns 0 at once when it is in the page cache (or when there
 * is no way to tell), else after a read-ahead on the executor (bounded by
 * deadline). Must be called in a task. Returns 0 as well when a read-ahead
 * cannot be set up (ENOMEM, no descriptor left): the bytes are then read on
 * the loop as before. Errors: CIO_ECANCELED, CIO_ETIMEDOUT (the job goes
 * on and frees what it owns itself: the caller may close fd at once).
 */
int cio__file_warm(int fd, off_t off, size_t len, cio_time deadline);

#endif
