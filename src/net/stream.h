/* SPDX-License-Identifier: MIT */
#ifndef CIO_NET_STREAM_H
#define CIO_NET_STREAM_H

/*
 * The stream interface (internal). Every stream type embeds struct
 * cio_stream first and implements non-blocking primitives; stream.c builds
 * the blocking public calls from them with one loop per direction (STYLE §6).
 * Layers (TLS) call the primitives of the stream they wrap, so a layer can
 * sit on any stream, including another layer.
 */

#include <corio/net.h>

#include "rt/rt_int.h"

struct cio__stream_vt {
    const char *kind; /* "tcp", "unix", "pipe", "tls" */
    /*
     * Non-blocking. Bytes read (> 0), 0 at EOF, CIO_EAGAIN when nothing is
     * available now, or an error.
     */
    ptrdiff_t (*try_read)(cio_stream *s, void *buf, size_t len);
    /* Non-blocking. Bytes taken (> 0, may be fewer than offered),
     * CIO_EAGAIN, or an error. */
    ptrdiff_t (*try_writev)(cio_stream *s, const struct iovec *iov, int iovcnt);
    /*
     * Blocking. Called after try_read (dir == CIO__IN) or try_writev
     * (CIO__OUT) answered CIO_EAGAIN: parks until that operation may make
     * progress. A layer forwards to the direction its own layer needs (TLS:
     * a read may need the inner stream to become writable).
     */
    int (*wait)(cio_stream *s, unsigned dir, cio_time deadline);
    /* Blocking. Returns at once if input is (or may be) available. */
    int (*wait_readable)(cio_stream *s, cio_time deadline);
    int (*on_readable)(cio_stream *s, cio_time deadline, cio_readable_cb cb,
                       void *ud);
    /* NULL, or CIO_ENOTSUP before anything was sent: stream.c falls back
     * to pread + write */
    ptrdiff_t (*sendfile)(cio_stream *s, int fd, off_t off, size_t len,
                          cio_time deadline);
    int (*shutdown)(cio_stream *s, cio_time deadline);
    void (*close)(cio_stream *s);
    int (*fd)(const cio_stream *s);
    const char *(*peer)(cio_stream *s);
};

struct cio_stream {
    const struct cio__stream_vt *vt;
};

/*
 * Close guards. A task woken from a wait on a stream runs only later in the
 * turn; if another task (or a loop callback) closes and frees the stream in
 * between, the woken task must not touch it again. Each wait therefore
 * links a guard (on its own stack) into its stream; close marks every guard,
 * and the waiter returns CIO_ECLOSED without looking at the stream.
 */
struct cio__close_guard {
    struct cio__list node;
    uint8_t closed;
};

static inline void cio__guard_enter(struct cio__list *guards,
                                    struct cio__close_guard *g)
{
    g->closed = 0;
    cio__list_push_back(guards, &g->node);
}

/* Returns rc, or CIO_ECLOSED if the object was closed meanwhile. */
static inline int cio__guard_leave(struct cio__close_guard *g, int rc)
{
    if (g->closed)
        return CIO_ECLOSED;
    cio__list_remove(&g->node);
    return rc;
}

static inline void cio__guard_close_all(struct cio__list *guards)
{
    struct cio__list *n;
    while ((n = cio__list_pop_front(guards)) != NULL)
        CIO_CONTAINER_OF(n, struct cio__close_guard, node)->closed = 1;
}

/* Formats a socket address as "1.2.3.4:80", "[::1]:80" or a Unix path. */
void cio__sockaddr_str(const void *sa, unsigned salen, char *out, size_t cap);

/*
 * A listener on the current loop over fd, a socket that already listens
 * (typically a dup() of another loop's listener: several loops then accept
 * on one socket, which SO_REUSEPORT cannot do for Unix sockets). Takes fd
 * (closed on error too); closing the listener never unlinks a socket file.
 * Errors: CIO_ENOMEM, -errno.
 */
int cio__listener_adopt(cio_listener **out, int fd, int is_unix);

#endif
