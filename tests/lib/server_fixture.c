/* SPDX-License-Identifier: MIT */
#include "server_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fx_main(void *arg)
{
    struct srvfx *f = arg;
    int rc;

    if (f->opts.listen == NULL && f->opts.listens == NULL)
        f->opts.listen = "127.0.0.1:0";
    if (f->opts.workers == 0)
        f->opts.workers = 1;
    rc = cio_server_new(&f->srv, f->app, &f->opts);
    if (rc < 0) {
        f->rc = rc;
        atomic_store(&f->state, -1);
        return rc;
    }
    f->port = cio_server_port(f->srv, 0);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", f->port);
    atomic_store(&f->state, 1);
    rc = cio_server_run(f->srv);
    f->rc = rc;
    return rc;
}

int srvfx_start(struct srvfx *f)
{
    int rc = cio_thread_new(&f->thr, fx_main, f);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 1000 && atomic_load(&f->state) == 0; i++)
        usleep(10000);
    if (atomic_load(&f->state) != 1) {
        cio_thread_join(f->thr, CIO_NEVER, NULL);
        f->thr = NULL;
        cio_app_free(f->app);
        f->app = NULL;
        return f->rc < 0 ? f->rc : CIO_ETIMEDOUT;
    }
    return 0;
}

int srvfx_stop(struct srvfx *f)
{
    int result = 0;
    if (f->thr != NULL) {
        cio_server_stop(f->srv);
        cio_thread_join(f->thr, CIO_NEVER, &result);
        f->thr = NULL;
    }
    cio_server_free(f->srv);
    f->srv = NULL;
    cio_app_free(f->app);
    f->app = NULL;
    return result;
}

int srvfx_connect(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

ptrdiff_t srvfx_exchange(int fd, const char *req, size_t len, char *out,
                         size_t cap, int timeout_ms, int *closed)
{
    size_t o = 0;
    long long end = now_ms() + timeout_ms;

    *closed = 0;
    if (len > 0 && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    while (o + 1 < cap) {
        long long left = end - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            break;
        int r = poll(&p, 1, (int)left);
        if (r <= 0)
            break;
        ssize_t n = recv(fd, out + o, cap - 1 - o, 0);
        if (n == 0) {
            *closed = 1;
            break;
        }
        if (n < 0) {
            if (errno == ECONNRESET)
                *closed = 1;
            break;
        }
        o += (size_t)n;
    }
    out[o] = '\0';
    return (ptrdiff_t)o;
}

int srvfx_sh(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t o = 0;
    if (p == NULL)
        return -1;
    while (o + 1 < cap) {
        size_t n = fread(out + o, 1, cap - 1 - o, p);
        if (n == 0)
            break;
        o += n;
    }
    out[o] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int srvfx_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t l = strlen(needle);
    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + l, needle))
        n++;
    return n;
}
