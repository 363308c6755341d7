/* SPDX-License-Identifier: MIT */
/*
 * delay_server PORT DELAY_MS: a plain-epoll HTTP/1.1 keep-alive server that
 * answers every request ("...\r\n\r\n", no body) with "Hello, World!" after
 * DELAY_MS milliseconds: the seeds' slow endpoint. All delays are equal, so
 * pending answers form a FIFO queue ordered by due time; epoll_wait sleeps
 * until the head is due. Single-threaded; no request bodies.
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
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
#define QCAP (1 << 20)

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 13\r\n\r\nHello, World!";
static unsigned inlen[MAXFD];
static char inbuf[MAXFD][512];
static struct {
    int fd;
    long long due;
} q[QCAP];
static size_t qh, qt;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PORT DELAY_MS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    long long delay = atoll(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(ls, 4096) < 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[512];
    for (;;) {
        int timeout = -1;
        if (qh != qt) {
            long long d = q[qh % QCAP].due - now_ms();
            timeout = d > 0 ? (int)d : 0;
        }
        int n = epoll_wait(ep, evs, 512, timeout);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXFD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    inlen[c] = 0;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            for (;;) {
                ssize_t r = read(fd, inbuf[fd] + inlen[fd],
                                 sizeof(inbuf[fd]) - inlen[fd]);
                if (r <= 0) {
                    if (r == 0 || errno != EAGAIN) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                        close(fd);
                    }
                    break;
                }
                inlen[fd] += (unsigned)r;
                char *end;
                while ((end = memmem(inbuf[fd], inlen[fd], "\r\n\r\n", 4)) !=
                       NULL) {
                    size_t used = (size_t)(end + 4 - inbuf[fd]);
                    memmove(inbuf[fd], inbuf[fd] + used, inlen[fd] - used);
                    inlen[fd] -= (unsigned)used;
                    q[qt % QCAP].fd = fd;
                    q[qt % QCAP].due = now_ms() + delay;
                    qt++;
                }
                if (inlen[fd] == sizeof(inbuf[fd]))
                    inlen[fd] = 0;
            }
        }
        long long t = now_ms();
        while (qh != qt && q[qh % QCAP].due <= t) {
            ssize_t w = write(q[qh % QCAP].fd, resp, sizeof(resp) - 1);
            (void)w;
            qh++;
        }
    }
}
