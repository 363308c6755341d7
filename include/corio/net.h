/* SPDX-License-Identifier: MIT */
#ifndef CORIO_NET_H
#define CORIO_NET_H

/*
 * Streams: one interface for TCP, Unix-domain sockets, an in-memory pipe and
 * TLS (a layer over any other stream). All I/O calls are blocking in the
 * corio sense (see rt.h): they park the calling task, never the thread.
 *
 * Concurrency: one task may read while another writes on the same stream;
 * two concurrent readers (or two writers) are not allowed.
 */

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <corio/rt.h>

typedef struct cio_stream cio_stream;
typedef struct cio_listener cio_listener;

/*
 * Blocking. Reads up to len bytes into buf. Returns the number of bytes read
 * (> 0), 0 at end of stream, or CIO_ETIMEDOUT, CIO_ECANCELED,
 * CIO_ECONNRESET, CIO_ETLS, -errno.
 */
CIO_API ptrdiff_t cio_stream_read(cio_stream *s, void *buf, size_t len,
                                  cio_time deadline);

/*
 * Blocking. Writes all len bytes, parking while the peer or the kernel does
 * not take them (back-pressure). Returns len, or an error; after an error an
 * unknown prefix may have been sent.
 */
CIO_API ptrdiff_t cio_stream_write(cio_stream *s, const void *buf, size_t len,
                                   cio_time deadline);

/* Blocking. Like cio_stream_write for the concatenation of iov[0..iovcnt). */
CIO_API ptrdiff_t cio_stream_writev(cio_stream *s, const struct iovec *iov,
                                    int iovcnt, cio_time deadline);

/*
 * Blocking. Sends len bytes of file fd starting at offset off (zero-copy with
 * sendfile(2) on plain sockets; read+write otherwise). Returns the bytes
 * sent: fewer than len only if the file ended early.
 */
CIO_API ptrdiff_t cio_stream_sendfile(cio_stream *s, int fd, off_t off,
                                      size_t len, cio_time deadline);

/* Blocking. Ends the sending direction (TCP FIN; TLS close_notify then FIN).
 * Reading stays possible. */
CIO_API int cio_stream_shutdown(cio_stream *s, cio_time deadline);

/*
 * Blocking. Parks until the stream has input (or EOF, or an error pending),
 * without reading it. Returns 0, CIO_ETIMEDOUT or CIO_ECANCELED.
 */
CIO_API int cio_stream_wait_readable(cio_stream *s, cio_time deadline);

/*
 * Arms a one-shot callback for when s becomes readable (status 0; includes
 * EOF and errors, which the next read reports) or the deadline passes
 * (CIO_ETIMEDOUT). cb runs on the loop, outside any task; it typically starts
 * a task with cio_go to serve the next request. While armed no task may use
 * s. cio_stream_close disarms it without calling cb; so does arming again.
 *
 * This is how an idle keep-alive connection costs no task stack and no read
 * buffer: only the stream object waits in the poller.
 * Errors: CIO_EINVAL (a task is blocked on s), CIO_ENOMEM.
 */
typedef void (*cio_readable_cb)(cio_stream *s, int status, void *ud);
CIO_API int cio_stream_on_readable(cio_stream *s, cio_time deadline,
                                   cio_readable_cb cb, void *ud);

/* The underlying file descriptor, or -1 (pipe). Borrowed. */
CIO_API int cio_stream_fd(const cio_stream *s);

/* Closes the stream (and, for TLS, the stream it wraps) and frees it. Does
 * not block: TLS close_notify is sent only by cio_stream_shutdown. NULL ok. */
CIO_API void cio_stream_close(cio_stream *s);

/* ---------------------------------------------------------------- TCP */

struct cio_tcp_opts {
    unsigned no_nodelay : 1; /* leave Nagle on (default: TCP_NODELAY set) */
    unsigned ipv4_only : 1;
    unsigned ipv6_only : 1;
};

/*
 * Blocking. Resolves host (a name, an IPv4 or IPv6 literal; names resolved on
 * the executor and cached for 30 s) and connects to port, trying each address
 * in turn under the one deadline. opts may be NULL.
 * Errors: CIO_ENOHOST, CIO_ERESOLVE, CIO_ECONNREFUSED, CIO_ETIMEDOUT,
 * CIO_ECANCELED, -errno of the last address tried.
 */
CIO_API int cio_tcp_connect(cio_stream **out, const char *host, unsigned port,
                            const struct cio_tcp_opts *opts, cio_time deadline);

struct cio_listen_opts {
    int backlog;            /* 0 = 4096 (capped by somaxconn) */
    unsigned reuseport : 1; /* SO_REUSEPORT: one listener per loop/thread */
    unsigned ipv6_only : 1; /* IPV6_V6ONLY on a "[::]" listener */
};

/*
 * Binds and listens. addr is "host:port", "[v6]:port", ":port" (all IPv4
 * and IPv6 interfaces) or, for cio_unix_listen, a path (a leading '@' means
 * the abstract namespace). Port 0 picks a free port: see cio_listener_addr.
 * Errors: CIO_EINVAL (addr), CIO_EADDRINUSE, CIO_ENOHOST, -errno.
 */
CIO_API int cio_tcp_listen(cio_listener **out, const char *addr,
                           const struct cio_listen_opts *opts);
CIO_API int cio_unix_listen(cio_listener **out, const char *path,
                            const struct cio_listen_opts *opts);

/*
 * Blocking. Accepts one connection. Errors: CIO_ETIMEDOUT, CIO_ECANCELED,
 * CIO_EMFILE (descriptor limit reached: the pending connection was
 * accepted and closed at once so the loop does not spin), -errno.
 */
CIO_API int cio_listener_accept(cio_listener *ln, cio_stream **out,
                                cio_time deadline);

/* The bound address as "127.0.0.1:41234", "[::1]:80" or the socket path.
 * Borrowed; valid while ln lives. */
CIO_API const char *cio_listener_addr(const cio_listener *ln);

/* The bound port (0 for Unix sockets). */
CIO_API unsigned cio_listener_port(const cio_listener *ln);

CIO_API int cio_listener_fd(const cio_listener *ln);

/* Closes and frees; a task blocked in accept gets CIO_ECLOSED. Unix socket
 * files created by cio_unix_listen are unlinked. NULL ok. */
CIO_API void cio_listener_close(cio_listener *ln);

/* The peer's address, as in cio_listener_addr ("" if unknown). Borrowed. */
CIO_API const char *cio_stream_peer(cio_stream *s);

/* ---------------------------------------------------------------- Unix, pipe */

/* Blocking. Connects to a Unix-domain stream socket. */
CIO_API int cio_unix_connect(cio_stream **out, const char *path,
                             cio_time deadline);

/*
 * Creates two connected in-memory streams on the current loop: bytes written
 * to one are read from the other. Each direction buffers at most bufsize
 * bytes (0 = 64 KiB); a writer parks when it is full. Closing one end gives
 * the other EOF on read and CIO_EPIPE on write.
 */
CIO_API int cio_pipe_new(cio_stream **a, cio_stream **b, size_t bufsize);

/* Wraps a connected, non-blocking-capable socket fd (TCP or Unix) in a
 * stream; the stream owns fd from then on (also on failure: it is closed). */
CIO_API int cio_stream_from_fd(cio_stream **out, int fd);

#endif
