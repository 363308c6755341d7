/* SPDX-License-Identifier: MIT */
/* The blocking stream calls, built once from each type's primitives. */
#include <errno.h>
#include <unistd.h>

#include "base/alloc.h"
#include "net/stream.h"

ptrdiff_t cio_stream_read(cio_stream *s, void *buf, size_t len,
                          cio_time deadline)
{
    for (;;) {
        ptrdiff_t n = s->vt->try_read(s, buf, len);
        if (n != CIO_EAGAIN)
            return n;
        int rc = s->vt->wait(s, CIO__IN, deadline);
        if (rc < 0)
            return rc;
    }
}

ptrdiff_t cio_stream_writev(cio_stream *s, const struct iovec *iov,
                            int iovcnt, cio_time deadline)
{
    struct iovec local[64];
    size_t total = 0;

    if (iovcnt > (int)CIO_COUNTOF(local)) {
        /* More pieces than we copy: write them a batch at a time. */
        ptrdiff_t done = 0;
        for (int i = 0; i < iovcnt; i += (int)CIO_COUNTOF(local)) {
            int k = iovcnt - i < (int)CIO_COUNTOF(local) ? iovcnt - i
                                                         : (int)CIO_COUNTOF(local);
            ptrdiff_t r = cio_stream_writev(s, iov + i, k, deadline);
            if (r < 0)
                return r;
            done += r;
        }
        return done;
    }
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (iovcnt <= 0 || total == 0)
        return 0;
    /* Fast path: one call takes everything (the common case). */
    ptrdiff_t n = s->vt->try_writev(s, iov, iovcnt);
    if (n == (ptrdiff_t)total)
        return n;
    if (n < 0 && n != CIO_EAGAIN)
        return n;
    /* Partial: copy the vector so we can advance it. */
    struct iovec *v = local;
    int cnt = iovcnt;
    size_t left = total;
    for (int i = 0; i < iovcnt; i++)
        local[i] = iov[i];
    if (n == CIO_EAGAIN)
        n = 0;
    for (;;) {
        size_t k = (size_t)n;
        left -= k;
        if (left == 0)
            return (ptrdiff_t)total;
        while (cnt > 0 && k >= v->iov_len) {
            k -= v->iov_len;
            v++;
            cnt--;
        }
        v->iov_base = (char *)v->iov_base + k;
        v->iov_len -= k;
        if (n == 0) {
            int rc = s->vt->wait(s, CIO__OUT, deadline);
            if (rc < 0)
                return rc;
        }
        n = s->vt->try_writev(s, v, cnt);
        if (n == CIO_EAGAIN)
            n = 0;
        else if (n < 0)
            return n;
    }
}

ptrdiff_t cio_stream_write(cio_stream *s, const void *buf, size_t len,
                           cio_time deadline)
{
    struct iovec v = {.iov_base = (void *)buf, .iov_len = len};
    return cio_stream_writev(s, &v, 1, deadline);
}

ptrdiff_t cio_stream_sendfile(cio_stream *s, int fd, off_t off, size_t len,
                              cio_time deadline)
{
    char buf[16384];
    size_t done = 0;

    if (s->vt->sendfile != NULL)
        return s->vt->sendfile(s, fd, off, len, deadline);
    while (done < len) {
        size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
        ssize_t r = pread(fd, buf, want, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break; /* the file ended early */
        ptrdiff_t w = cio_stream_write(s, buf, (size_t)r, deadline);
        if (w < 0)
            return w;
        done += (size_t)r;
    }
    return (ptrdiff_t)done;
}

int cio_stream_shutdown(cio_stream *s, cio_time deadline)
{
    return s->vt->shutdown(s, deadline);
}

int cio_stream_wait_readable(cio_stream *s, cio_time deadline)
{
    return s->vt->wait_readable(s, deadline);
}

int cio_stream_on_readable(cio_stream *s, cio_time deadline,
                           cio_readable_cb cb, void *ud)
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
