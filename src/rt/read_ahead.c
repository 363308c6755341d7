/* SPDX-License-Identifier: MIT */
/*
 * Read-ahead of a file range on the executor, for callers on a loop that
 * must not wait for a disk (the server's sendfile path, the client's
 * multipart file parts). See cio__read_ahead in rt_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/alloc.h"
#include "rt/rt_int.h"

#define RA_BUF 65536u

/* Everything the job touches is its own: a duplicate of the descriptor,
 * and a buffer allocated when it runs (a job queued behind busy pool
 * threads, one per waiting request, holds no memory but this), so a
 * caller canceled meanwhile shares nothing with it. */
struct ra {
    int fd;
    off_t off;
    size_t len;
    void (*before)(void);
};

static void *ra_run(void *arg)
{
    struct ra *ra = arg;
    if (ra->before != NULL)
        ra->before();
    /* One request for the whole range (the kernel's own read-ahead would
     * grow its window step by step); the reads below then wait for it. */
    (void)readahead(ra->fd, ra->off, ra->len);
    char *buf = cio__malloc(RA_BUF);
    if (buf == NULL)
        return NULL; /* the read-ahead above is under way anyway */
    off_t pos = ra->off, end = ra->off + (off_t)ra->len;
    while (pos < end) {
        size_t want = (size_t)(end - pos);
        ssize_t r = pread(ra->fd, buf, want < RA_BUF ? want : RA_BUF, pos);
        if (r > 0)
            pos += r;
        else if (r == 0 || errno != EINTR)
            break; /* EOF or an error: the caller's own read sees it */
    }
    cio__free(buf);
    return NULL;
}

static void ra_free(struct ra *ra)
{
    if (ra->fd >= 0)
        close(ra->fd);
    cio__free(ra);
}

static void ra_dispose(void *result, void *arg)
{
    (void)result;
    ra_free(arg);
}

int cio__read_ahead(int fd, off_t off, size_t len, cio_time deadline,
                    void (*before)(void))
{
    struct ra *ra = cio__calloc(1, sizeof(*ra));
    if (ra == NULL)
        return 1;
    ra->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (ra->fd < 0) {
        ra_free(ra);
        return 1;
    }
    ra->off = off;
    ra->len = len;
    ra->before = before;
    struct cio_job job = {
        .fn = ra_run, .arg = ra, .dispose = ra_dispose, .deadline = deadline};
    int rc = cio_blocking_job(&job, NULL);
    if (rc == 0)
        ra_free(ra);
    /* else dispose owns ra now (or already freed it) */
    return rc;
}
