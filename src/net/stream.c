/* SPDX-License-Identifier: MIT */
/* The blocking stream calls, built once from each type's primitives. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/iov.h"
#include "net/stream.h"

ptrdiff_t cio_stream_read(cio_stream *s, void *buf, size_t len,
                          cio_time deadline)
{
    /* rt.h: a canceled task's blocking calls fail at once, even when they
     * could complete; else a reader that always finds data never stops. */
    if (cio_canceled())
        return CIO_ECANCELED;
    if (len > (size_t)PTRDIFF_MAX)
        len = (size_t)PTRDIFF_MAX;
    for (;;) {
        ptrdiff_t n = s->vt->try_read(s, buf, len);
        if (n != CIO_EAGAIN)
            return n;
        int rc = s->vt->wait(s, CIO__IN, deadline);
        if (rc < 0)
            return rc;
    }
}

/* try_writev never sees more pieces than this: the copy we advance after a
 * partial write lives on the task's stack. */
#define WINDOW 64

/* Writes all of iov[0..iovcnt) (iovcnt <= WINDOW, total > 0 bytes). */
static ptrdiff_t writev_window(cio_stream *s, const struct iovec *iov,
                               int iovcnt, size_t total, cio_time deadline)
{
    struct iovec local[WINDOW];
    struct iovec *v = local;
    int cnt = iovcnt;
    size_t left = total;
    ptrdiff_t n;

    /* Fast path: one call takes everything (the common case), no copy. */
    n = s->vt->try_writev(s, iov, iovcnt);
    if (n == (ptrdiff_t)total)
        return n;
    if (n < 0 && n != CIO_EAGAIN)
        return n;
    memcpy(local, iov, (size_t)iovcnt * sizeof(*iov));
    for (;;) {
        size_t k = n > 0 ? (size_t)n : 0;

        left -= k;
        if (left == 0)
            return (ptrdiff_t)total;
        /* left > 0: v stays inside local */
        cio__iov_skip(&v, &cnt, k);
        if (n <= 0) {
            int rc = s->vt->wait(s, CIO__OUT, deadline);
            if (rc < 0)
                return rc;
        }
        n = s->vt->try_writev(s, v, cnt);
        if (n < 0 && n != CIO_EAGAIN)
            return n;
    }
}

ptrdiff_t cio_stream_writev(cio_stream *s, const struct iovec *iov, int iovcnt,
                            cio_time deadline)
{
    size_t total = 0;

    if (iovcnt < 0 || (iovcnt > 0 && iov == NULL))
        return CIO_EINVAL;
    if (cio_canceled())
        return CIO_ECANCELED;
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > (size_t)PTRDIFF_MAX - total)
            return CIO_EINVAL;
        total += iov[i].iov_len;
    }
    /* More pieces than one window: write them a window at a time. */
    for (int i = 0; i < iovcnt; i += WINDOW) {
        int k = iovcnt - i < WINDOW ? iovcnt - i : WINDOW;
        size_t part = 0;
        for (int j = 0; j < k; j++)
            part += iov[i + j].iov_len;
        if (part == 0)
            continue;
        ptrdiff_t r = writev_window(s, iov + i, k, part, deadline);
        if (r < 0)
            return r;
    }
    return (ptrdiff_t)total;
}

ptrdiff_t cio_stream_write(cio_stream *s, const void *buf, size_t len,
                           cio_time deadline)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = len};
    return cio_stream_writev(s, &v, 1, deadline);
}

/* The portable sendfile: pread into a heap buffer (task stacks are small),
 * then the ordinary blocking write. */
static ptrdiff_t sendfile_copy(cio_stream *s, int fd, off_t off, size_t len,
                               cio_time deadline)
{
    size_t cap = len < 65536 ? len : 65536;
    size_t done = 0;
    ptrdiff_t rc = 0;
    char *buf;

    if (len == 0)
        return 0;
    buf = cio__malloc(cap);
    if (buf == NULL)
        return CIO_ENOMEM;
    while (done < len) {
        size_t want = len - done < cap ? len - done : cap;
        ssize_t r = pread(fd, buf, want, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (r == 0)
            break; /* the file ended early */
        ptrdiff_t w = cio_stream_write(s, buf, (size_t)r, deadline);
        if (w < 0) {
            rc = w;
            break;
        }
        done += (size_t)r;
    }
    cio__free(buf);
    return rc < 0 ? rc : (ptrdiff_t)done;
}

ptrdiff_t cio_stream_sendfile(cio_stream *s, int fd, off_t off, size_t len,
                              cio_time deadline)
{
    if (off < 0 || len > (size_t)PTRDIFF_MAX)
        return CIO_EINVAL;
    if (cio_canceled())
        return CIO_ECANCELED;
    if (s->vt->sendfile != NULL) {
        ptrdiff_t n = s->vt->sendfile(s, fd, off, len, deadline);
        if (n != CIO_ENOTSUP)
            return n;
    }
    return sendfile_copy(s, fd, off, len, deadline);
}

int cio_stream_shutdown(cio_stream *s, cio_time deadline)
{
    return s->vt->shutdown(s, deadline);
}

int cio_stream_wait_readable(cio_stream *s, cio_time deadline)
{
    return s->vt->wait_readable(s, deadline);
}

int cio_stream_on_readable(cio_stream *s, cio_time deadline, cio_readable_cb cb,
                           void *ud)
{
    return s->vt->on_readable(s, deadline, cb, ud);
}

int cio_stream_fd(const cio_stream *s)
{
    return s->vt->fd(s);
}

const char *cio_stream_peer(cio_stream *s)
{
    return s->vt->peer != NULL ? s->vt->peer(s) : "";
}

void cio_stream_close(cio_stream *s)
{
    if (s != NULL)
        s->vt->close(s);
}
