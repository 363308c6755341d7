/* SPDX-License-Identifier: MIT */
/* Socket streams (TCP, Unix) and listeners. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/alloc.h"
#include "net/resolve.h"
#include "net/stream.h"

struct sock {
    struct cio_stream base;
    struct cio__fd f;
    struct cio__list guards; /* tasks inside a wait on f (stream.h) */
    cio_readable_cb user_cb; /* while on_readable is armed */
    char *peer;              /* formatted lazily */
};

struct cio_listener {
    struct cio__fd f;
    struct cio__list guards; /* tasks inside accept's wait (stream.h) */
    int reserve_fd;          /* spare descriptor for EMFILE, or -1 */
    unsigned port;
    uint8_t unlink_path; /* addr is a socket file we created */
    uint8_t is_unix;
    char addr[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
};

/* Back-off while no descriptor is free and no spare is left (see shed). */
#define EMFILE_BACKOFF_MS 100

static const struct cio__stream_vt sock_vt;

/* ------------------------------------------------------------- addresses */

void cio__sockaddr_str(const void *sa, unsigned salen, char *out, size_t cap)
{
    const struct sockaddr *s = sa;
    char ip[INET6_ADDRSTRLEN];

    out[0] = '\0';
    if (s->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (s->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = sa;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            /* an IPv4 peer of a dual-stack socket: show it as IPv4 */
            inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
            snprintf(out, cap, "%s:%u", ip, ntohs(s6->sin6_port));
            return;
        }
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else if (s->sa_family == AF_UNIX) {
        const struct sockaddr_un *su = sa;
        size_t n = salen > offsetof(struct sockaddr_un, sun_path)
                       ? salen - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        if (n > 0 && su->sun_path[0] == '\0') /* abstract */
            snprintf(out, cap, "@%.*s", (int)(n - 1), su->sun_path + 1);
        else
            snprintf(out, cap, "%.*s", (int)strnlen(su->sun_path, n),
                     su->sun_path);
    }
}

/* ------------------------------------------------------------- streams */

static int sock_wrap(cio_stream **out, int fd)
{
    struct sock *k = cio__calloc(1, sizeof(*k));
    int rc;

    if (k == NULL) {
        close(fd);
        return CIO_ENOMEM;
    }
    rc = cio__fd_open(&k->f, fd);
    if (rc < 0) {
        close(fd);
        cio__free(k);
        return rc;
    }
    k->base.vt = &sock_vt;
    cio__list_init(&k->guards);
    *out = &k->base;
    return 0;
}

int cio_stream_from_fd(cio_stream **out, int fd)
{
    int type = 0, fl, rc = 0;
    socklen_t tlen = sizeof(type);

    if (fd < 0)
        return CIO_EINVAL;
    /* Only stream sockets: the primitives use recv and sendmsg (a file or
     * pipe fails with -ENOTSOCK, a datagram socket with CIO_EINVAL). */
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) {
        rc = -errno;
    } else if (type != SOCK_STREAM) {
        rc = CIO_EINVAL;
    } else {
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 ||
            (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
            rc = -errno;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return sock_wrap(out, fd);
}

static ptrdiff_t sock_try_read(cio_stream *s, void *buf, size_t len)
{
    struct sock *k = (struct sock *)s;

    /* Edge-triggered: no edge since the last EAGAIN means still nothing. */
    if (!k->f.rready)
        return CIO_EAGAIN;
    for (;;) {
        ssize_t n = recv(k->f.fd, buf, len, 0);
        /*
         * A short read drained the socket: the next read would only say
         * EAGAIN, and edge-triggered epoll reports any later data, so the
         * syscall is skipped (nginx does the same). Not once the peer's FIN
         * has been seen: its edge is spent and EOF must still be read.
         */
        if (n > 0 && (size_t)n < len && !k->f.rdhup)
            k->f.rready = 0;
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            k->f.rready = 0;
            return CIO_EAGAIN;
        }
        return -errno;
    }
}

static ptrdiff_t sock_try_writev(cio_stream *s, const struct iovec *iov,
                                 int iovcnt)
{
    struct sock *k = (struct sock *)s;
    struct msghdr mh = {.msg_iov = (struct iovec *)iov,
                        .msg_iovlen = (size_t)iovcnt};

    if (!k->f.wready)
        return CIO_EAGAIN;
    for (;;) {
        /* MSG_NOSIGNAL: a write to a closed peer is EPIPE, not SIGPIPE.
         * One buffer (a server's queued responses) goes by send(): the
         * kernel then skips copying and checking a msghdr and an iovec. */
        ssize_t n = iovcnt == 1 ? send(k->f.fd, iov[0].iov_base, iov[0].iov_len,
                                       MSG_NOSIGNAL)
                                : sendmsg(k->f.fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            k->f.wready = 0;
            return CIO_EAGAIN;
        }
        return -errno;
    }
}

static int sock_wait(cio_stream *s, unsigned dir, cio_time deadline)
{
    struct sock *k = (struct sock *)s;
    struct cio__close_guard g;

    cio__guard_enter(&k->guards, &g);
    return cio__guard_leave(&g, cio__fd_wait(&k->f, dir, deadline));
}

static int sock_wait_readable(cio_stream *s, cio_time deadline)
{
    struct sock *k = (struct sock *)s;
    struct cio__close_guard g;

    cio__guard_enter(&k->guards, &g);
    return cio__guard_leave(&g, cio__fd_wait_readable(&k->f, deadline));
}

static void sock_readable(struct cio__fd *f, int status, void *ud)
{
    struct sock *k = CIO_CONTAINER_OF(f, struct sock, f);
    cio_readable_cb cb = k->user_cb;
    k->user_cb = NULL;
    cb(&k->base, status, ud);
}

static int sock_on_readable(cio_stream *s, cio_time deadline,
                            cio_readable_cb cb, void *ud)
{
    struct sock *k = (struct sock *)s;
    int rc;

    if (cb == NULL || !cio__list_empty(&k->guards))
        return CIO_EINVAL; /* a task is blocked on s */
    if (k->f.rready) {
        /* The edge may have been consumed by a read that did not reach
         * EAGAIN: ask the kernel before calling back at once. */
        char c;
        ssize_t n = recv(k->f.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            k->f.rready = 0;
    }
    rc = cio__fd_on_readable(&k->f, deadline, sock_readable, ud);
    if (rc == 0)
        k->user_cb = cb;
    return rc;
}

static ptrdiff_t sock_sendfile(cio_stream *s, int fd, off_t off, size_t len,
                               cio_time deadline)
{
    struct sock *k = (struct sock *)s;
    size_t done = 0;

    while (done < len) {
        ssize_t n = sendfile(k->f.fd, fd, &off, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0)
            break; /* the file ended early */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = sock_wait(s, CIO__OUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        /* fd can not be mapped (a pipe, some special files): let stream.c
         * copy instead, unless part of it is already on the wire. */
        if ((errno == EINVAL || errno == ENOSYS) && done == 0)
            return CIO_ENOTSUP;
        return -errno;
    }
    return (ptrdiff_t)done;
}

static int sock_shutdown(cio_stream *s, cio_time deadline)
{
    (void)deadline;
    return shutdown(((struct sock *)s)->f.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void sock_close(cio_stream *s)
{
    struct sock *k = (struct sock *)s;
    cio__guard_close_all(&k->guards);
    cio__fd_close(&k->f);
    cio__free(k->peer);
    cio__free(k);
}

static int sock_fd(const cio_stream *s)
{
    return ((const struct sock *)s)->f.fd;
}

static const char *sock_peer(cio_stream *s)
{
    struct sock *k = (struct sock *)s;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char buf[sizeof(struct sockaddr_un) + 8];

    if (k->peer != NULL)
        return k->peer;
    if (getpeername(k->f.fd, (struct sockaddr *)&ss, &len) < 0)
        return "";
    cio__sockaddr_str(&ss, len, buf, sizeof(buf));
    k->peer = cio__strdup(buf);
    return k->peer != NULL ? k->peer : "";
}

static const struct cio__stream_vt sock_vt = {
    .kind = "socket",
    .try_read = sock_try_read,
    .try_writev = sock_try_writev,
    .wait = sock_wait,
    .wait_readable = sock_wait_readable,
    .on_readable = sock_on_readable,
    .sendfile = sock_sendfile,
    .shutdown = sock_shutdown,
    .close = sock_close,
    .fd = sock_fd,
    .peer = sock_peer,
};

/* ------------------------------------------------------------- connect */

/* Drives a non-blocking connect to completion under deadline. */
static int sock_connect(struct sock *k, const struct sockaddr *sa,
                        socklen_t len, cio_time deadline)
{
    cio_time backoff = 1;

    for (;;) {
        int rc, err = 0;
        socklen_t elen = sizeof(err);

        if (connect(k->f.fd, sa, len) == 0)
            return 0;
        switch (errno) {
        case EISCONN:
            return 0; /* a previous round completed it */
        case EINPROGRESS:
        case EALREADY:
        case EINTR:
            rc = sock_wait(&k->base, CIO__OUT, deadline);
            if (rc < 0)
                return rc;
            if (getsockopt(k->f.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                err = errno;
            if (err != 0)
                return -err;
            /* Asking connect() again tells "established" (EISCONN) from a
             * wakeup that came too early (EALREADY). */
            k->f.wready = 1;
            continue;
        case EAGAIN: {
            /* AF_UNIX: the listener's backlog is full. Nothing is in
             * progress and no edge will come: retry after a short sleep. */
            cio_time now = cio_now(), until = now + backoff;
            if (deadline >= 0 && deadline <= now)
                return CIO_ETIMEDOUT;
            if (deadline >= 0 && deadline < until)
                until = deadline;
            rc = cio_sleep(until);
            if (rc < 0)
                return rc;
            backoff = backoff < 64 ? backoff * 2 : 64;
            continue;
        }
        default:
            return -errno;
        }
    }
}

static int connect_one(cio_stream **out, const struct sockaddr *sa,
                       socklen_t len, int nodelay, cio_time deadline)
{
    cio_stream *s;
    int fd, rc, one = 1;

    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = sock_wrap(&s, fd);
    if (rc < 0)
        return rc;
    rc = sock_connect((struct sock *)s, sa, len, deadline);
    if (rc < 0) {
        sock_close(s);
        return rc;
    }
    /* Nothing can have arrived yet, and the descriptor was in the poller
     * (edge-triggered) before connect(): the first byte will come as an
     * edge. So the first read parks instead of making a recv that can
     * only say EAGAIN (one syscall per new client connection). */
    if (!((struct sock *)s)->f.rdhup)
        ((struct sock *)s)->f.rready = 0;
    *out = s;
    return 0;
}

int cio_tcp_connect(cio_stream **out, const char *host, unsigned port,
                    const struct cio_tcp_opts *opts, cio_time deadline)
{
    struct cio__addr *addrs;
    size_t n;
    unsigned flags = 0;
    int rc;

    if (host == NULL || port == 0 || port > 65535)
        return CIO_EINVAL;
    if (opts != NULL && opts->ipv4_only)
        flags |= CIO__RESOLVE_V4;
    if (opts != NULL && opts->ipv6_only)
        flags |= CIO__RESOLVE_V6;
    rc = cio__resolve(host, port, flags, &addrs, &n, deadline);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = connect_one(out, (struct sockaddr *)&addrs[i].ss, addrs[i].len,
                         opts == NULL || !opts->no_nodelay, deadline);
        if (rc == 0 || rc == CIO_ETIMEDOUT || rc == CIO_ECANCELED)
            break;
    }
    cio__free(addrs);
    return rc;
}

/* Fills su from a path, or from "@name" for the abstract namespace (no
 * trailing NUL: the name is exactly the bytes given). */
static int unix_addr(const char *path, struct sockaddr_un *su, socklen_t *len)
{
    size_t n = path != NULL ? strlen(path) : 0;
    size_t max = path != NULL && path[0] == '@' ? sizeof(su->sun_path)
                                                : sizeof(su->sun_path) - 1;

    if (n == 0 || n > max)
        return CIO_EINVAL;
    memset(su, 0, sizeof(*su));
    su->sun_family = AF_UNIX;
    memcpy(su->sun_path, path, n);
    if (path[0] == '@')
        su->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                       (path[0] == '@' ? 0 : 1));
    return 0;
}

int cio_unix_connect(cio_stream **out, const char *path, cio_time deadline)
{
    struct sockaddr_un su;
    socklen_t len;
    int rc = unix_addr(path, &su, &len);

    if (rc < 0)
        return rc;
    return connect_one(out, (struct sockaddr *)&su, len, 0, deadline);
}

/* ------------------------------------------------------------- listen */

static int listen_fd(cio_listener **out, int fd,
                     const struct cio_listen_opts *opts, int is_unix)
{
    struct cio_listener *ln;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int backlog = opts != NULL && opts->backlog > 0 ? opts->backlog : 4096;
    int rc;

    if (listen(fd, backlog) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    ln = cio__calloc(1, sizeof(*ln));
    if (ln == NULL) {
        close(fd);
        return CIO_ENOMEM;
    }
    rc = cio__fd_open(&ln->f, fd);
    if (rc < 0) {
        close(fd);
        cio__free(ln);
        return rc;
    }
    cio__list_init(&ln->guards);
    ln->is_unix = (uint8_t)is_unix;
    ln->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        cio__sockaddr_str(&ss, len, ln->addr, sizeof(ln->addr));
        if (ss.ss_family == AF_INET)
            ln->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            ln->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    *out = ln;
    return 0;
}

int cio_tcp_listen(cio_listener **out, const char *addr,
                   const struct cio_listen_opts *opts)
{
    char host[256];
    unsigned port;
    struct cio__addr *addrs;
    size_t n;
    int rc, fd = -1, one = 1;

    rc = cio__split_hostport(addr, host, sizeof(host), &port);
    if (rc < 0)
        return rc;
    rc = cio__resolve(host, port, CIO__RESOLVE_PASSIVE, &addrs, &n, CIO_NEVER);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct sockaddr *sa = (struct sockaddr *)&addrs[i].ss;
        fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (opts != NULL && opts->reuseport)
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (sa->sa_family == AF_INET6) {
            int v6only = opts != NULL && opts->ipv6_only;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (bind(fd, sa, addrs[i].len) == 0) {
            rc = 0;
            break;
        }
        rc = -errno;
        close(fd);
        fd = -1;
    }
    cio__free(addrs);
    if (fd < 0)
        return rc;
    return listen_fd(out, fd, opts, 0);
}

int cio__listener_adopt(cio_listener **out, int fd, int is_unix)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 ||
        (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return listen_fd(out, fd, NULL, is_unix);
}

int cio_unix_listen(cio_listener **out, const char *path,
                    const struct cio_listen_opts *opts)
{
    struct sockaddr_un su;
    socklen_t len;
    int fd, rc;

    rc = unix_addr(path, &su, &len);
    if (rc < 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* An existing file is EADDRINUSE: removing a stale socket is the
     * caller's decision, never ours. */
    if (bind(fd, (struct sockaddr *)&su, len) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    rc = listen_fd(out, fd, opts, 1);
    if (rc < 0) {
        if (path[0] != '@')
            unlink(path);
        return rc;
    }
    if (path[0] != '@') {
        snprintf((*out)->addr, sizeof((*out)->addr), "%s", path);
        (*out)->unlink_path = 1;
    }
    return 0;
}

/* Parks until the listener may have a connection. */
static int listener_wait(cio_listener *ln, cio_time deadline)
{
    struct cio__close_guard g;

    cio__guard_enter(&ln->guards, &g);
    return cio__guard_leave(&g, cio__fd_wait(&ln->f, CIO__IN, deadline));
}

/*
 * accept failed with EMFILE/ENFILE. The pending connection would stay in the
 * backlog, the listener stays readable, and a caller that retries spins.
 * So: free the spare descriptor, accept the connection with it and close it
 * at once (the peer hears a clean close), then take the spare back.
 * Returns CIO_EMFILE (-ENFILE) once a connection was shed, 0 to retry
 * accept (nothing was pending; we waited for the next connection), or an
 * error from waiting.
 */
static int shed(cio_listener *ln, int err, cio_time deadline)
{
    int fd, aerr;

    if (ln->reserve_fd < 0)
        ln->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (ln->reserve_fd < 0) {
        /* No spare (another thread took the slot): nothing can be
         * accepted until some descriptor is freed. Back off, waking early
         * for close or a new connection, instead of spinning. */
        cio_time until = cio_now() + EMFILE_BACKOFF_MS;
        int rc;
        if (deadline >= 0 && deadline < until)
            until = deadline;
        rc = listener_wait(ln, until);
        if (rc == CIO_ETIMEDOUT && (deadline < 0 || deadline > cio_now()))
            rc = -err;
        return rc < 0 ? rc : -err;
    }
    close(ln->reserve_fd);
    fd = accept4(ln->f.fd, NULL, NULL, SOCK_CLOEXEC);
    aerr = errno;
    if (fd >= 0)
        close(fd); /* before taking the spare back: it needs this slot */
    ln->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        return -err;
    if (aerr == EAGAIN || aerr == EWOULDBLOCK)
        return listener_wait(ln, deadline); /* nothing to shed */
    if (aerr == EINTR || aerr == ECONNABORTED)
        return 0;
    return -aerr;
}

int cio_listener_accept(cio_listener *ln, cio_stream **out, cio_time deadline)
{
    if (cio_canceled())
        return CIO_ECANCELED;
    for (;;) {
        int fd = accept4(ln->f.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int rc;
        if (fd >= 0) {
            if (!ln->is_unix) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            }
            return sock_wrap(out, fd);
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            rc = listener_wait(ln, deadline);
            if (rc < 0)
                return rc;
            continue;
        /* accept(2): errors of the new connection, reported by accept on
         * Linux; the listener itself is fine. */
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENOPROTOOPT:
        case ENETDOWN:
        case ENETUNREACH:
        case EHOSTDOWN:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENONET:
            continue;
        case EMFILE:
        case ENFILE:
            rc = shed(ln, errno, deadline);
            if (rc < 0)
                return rc;
            continue;
        default:
            return -errno;
        }
    }
}

const char *cio_listener_addr(const cio_listener *ln)
{
    return ln->addr;
}

unsigned cio_listener_port(const cio_listener *ln)
{
    return ln->port;
}

int cio_listener_fd(const cio_listener *ln)
{
    return ln->f.fd;
}

void cio_listener_close(cio_listener *ln)
{
    if (ln == NULL)
        return;
    if (ln->unlink_path)
        unlink(ln->addr);
    if (ln->reserve_fd >= 0)
        close(ln->reserve_fd);
    cio__guard_close_all(&ln->guards);
    cio__fd_close(&ln->f);
    cio__free(ln);
}
