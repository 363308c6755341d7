/* SPDX-License-Identifier: MIT */
/*
 * epoll_echo [PORT]: the floor for bench/rt/run-echo. A minimal hand-written
 * single-threaded TCP echo server on 127.0.0.1, edge-triggered epoll, plain
 * C, no corio. Each connection is registered once for input and output; an
 * event reads until the socket is drained and writes each chunk straight
 * back. Output the kernel does not take is kept and sent on the next
 * writable edge, and reading pauses until it is gone (back-pressure).
 * PORT 0 (the default) picks a free port, printed as "port N".
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 4096
#define NEVENTS 256

struct conn {
    int fd;
    size_t off, len; /* unsent output: buf[off, len) */
    char buf[BUFSZ];
};

static void drop(struct conn *c)
{
    close(c->fd); /* also leaves the epoll set */
    free(c);
}

/* 1: all output sent; 0: the kernel is full, wait for a writable edge;
 * -1: the connection failed. */
static int flush(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->off += (size_t)n;
    }
    c->off = c->len = 0;
    return 1;
}

static int on_ready(struct conn *c)
{
    for (;;) {
        int rc = flush(c);
        if (rc <= 0)
            return rc;
        ssize_t n = recv(c->fd, c->buf, BUFSZ, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->len = (size_t)n;
        rc = flush(c);
        if (rc <= 0)
            return rc;
        /* A short read drained the socket; with edge triggering any later
         * data raises a new edge, so no recv just to hear EAGAIN. */
        if (n < BUFSZ)
            return 0;
    }
}

static void on_accept(int epfd, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: try on the next edge */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = malloc(sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->off = c->len = 0;
        struct epoll_event ev = {
            .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
            .data.ptr = c,
        };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            drop(c);
    }
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    int one = 1, lfd, epfd;

    signal(SIGPIPE, SIG_IGN);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen)) {
        perror("epoll_echo: listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("epoll_echo: epoll");
        return 1;
    }
    printf("port %u\n", ntohs(sa.sin_port));
    fflush(stdout);

    struct epoll_event evs[NEVENTS];
    for (;;) {
        int n = epoll_wait(epfd, evs, NEVENTS, -1);
        if (n < 0 && errno != EINTR) {
            perror("epoll_echo: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL)
                on_accept(epfd, lfd);
            else if (on_ready(c) < 0)
                drop(c);
        }
    }
}
