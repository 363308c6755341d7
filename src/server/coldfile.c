/* SPDX-License-Identifier: MIT */
/*
 * Is a file range in the page cache, and if not, read it ahead on the
 * executor (coldfile.h). The check must not wait for the disk itself:
 *
 *  1. cachestat(2) (Linux >= 6.5): the number of cached pages of the range
 *     in one call, whatever its length. ENOSYS (an older kernel, or a
 *     seccomp filter that hides it) switches the process to 2 for good;
 *     other errors (EPERM: the kernel lets only a writer or the owner of
 *     the file ask, since 6.14; EOPNOTSUPP: hugetlbfs) fall back to 2 for
 *     that call only.
 *  2. preadv2(RWF_NOWAIT) of one byte at the range's first and last page:
 *     EAGAIN means not cached. It misses a cold hole in the middle of a
 *     range whose ends are cached (sendfile then waits for that hole on
 *     the loop, as before); it is the fallback, not the rule. A file
 *     system that refuses RWF_NOWAIT (EOPNOTSUPP) is taken as cached: no
 *     check, the old behaviour.
 */
#include "server/coldfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/alloc.h"
#include "rt/rt_int.h"

#if defined(__NR_cachestat)
#define NR_CACHESTAT __NR_cachestat
#elif defined(__linux__) && !defined(__alpha__)
/* Older headers (Debian 12's) lack it. Since Linux 5.1 every architecture
 * but alpha numbers new system calls alike. */
#define NR_CACHESTAT 451
#endif

/* include/uapi/linux/mman.h, also missing from older headers. */
struct cs_range {
    uint64_t off;
    uint64_t len; /* 0 = to the end of the file */
};

struct cs_stat {
    uint64_t nr_cache;
    uint64_t nr_dirty;
    uint64_t nr_writeback;
    uint64_t nr_evicted;
    uint64_t nr_recently_evicted;
};

_Atomic unsigned long cio__server_read_aheads;
_Atomic(void (*)(void)) cio__server_read_ahead_hook;

_Atomic int cio__file_check;

/* 1: every page of the range is cached, 0: not, -1: cachestat cannot tell. */
static int cached_cs(int fd, off_t off, size_t len, uint64_t ps)
{
#ifdef NR_CACHESTAT
    struct cs_range r = {(uint64_t)off, len};
    struct cs_stat st;
    if (syscall(NR_CACHESTAT, fd, &r, &st, 0) == 0) {
        uint64_t pages = ((uint64_t)off + len - 1) / ps - (uint64_t)off / ps;
        return st.nr_cache >= pages + 1;
    }
    if (errno == ENOSYS)
        atomic_store_explicit(&cio__file_check, CIO__CHECK_PROBE,
                              memory_order_relaxed);
#else
    (void)fd, (void)off, (void)len, (void)ps;
    atomic_store_explicit(&cio__file_check, CIO__CHECK_PROBE,
                          memory_order_relaxed);
#endif
    return -1;
}

/* false only when the byte at `at` is known not to be cached. */
static bool probe(int fd, off_t at)
{
    char b;
    struct iovec v = {&b, 1};
    ssize_t r;
    do
        r = preadv2(fd, &v, 1, at, RWF_NOWAIT);
    while (r < 0 && errno == EINTR);
    /* EOF (0) is no wait; other errors are sendfile's to report */
    return r >= 0 || errno != EAGAIN;
}

static bool cached(int fd, off_t off, size_t len)
{
    uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
    if (atomic_load_explicit(&cio__file_check, memory_order_relaxed) ==
        CIO__CHECK_CACHESTAT) {
        int r = cached_cs(fd, off, len, ps);
        if (r >= 0)
            return r == 1;
    }
    off_t last = (off_t)(((uint64_t)off + len - 1) / ps * ps);
    if (last <= off)
        return probe(fd, off);
    return probe(fd, off) && probe(fd, last);
}

/* ------------------------------------------------------------ read-ahead */

int cio__file_warm(int fd, off_t off, size_t len, cio_time deadline)
{
    if (len == 0 || cached(fd, off, len))
        return 0;
    atomic_fetch_add(&cio__server_read_aheads, 1);
    int rc = cio__read_ahead(fd, off, len, deadline,
                             atomic_load(&cio__server_read_ahead_hook));
    /* 1: no job could be set up: read on the loop, as without the check */
    return rc == CIO_ECANCELED || rc == CIO_ETIMEDOUT ? rc : 0;
}
