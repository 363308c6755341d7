/* SPDX-License-Identifier: MIT */
#include "srvproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peers.h"

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

const char *srvproc_bin(const char *dir, const char *name)
{
    static char path[512];
    const char *bin = getenv("CIO_TEST_BIN");

    snprintf(path, sizeof(path), "%s/%s/%s", bin ? bin : ".", dir, name);
    return path;
}

int srvproc_start(struct srvproc *s, const char *path, const char *const *extra)
{
    const char *argv[16] = {path, "127.0.0.1:0"};
    size_t n = 2;
    int pfd[2], efd;
    posix_spawn_file_actions_t fa;

    memset(s, 0, sizeof(*s));
    for (; extra != NULL && *extra != NULL && n < 15; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    snprintf(s->errpath, sizeof(s->errpath), "/tmp/cio-srvproc-XXXXXX");
    efd = mkstemp(s->errpath);
    if (efd < 0) {
        perror("srvproc: mkstemp");
        return -1;
    }
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        close(efd);
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    int rc =
        posix_spawn(&s->pid, path, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    close(efd);
    if (rc != 0) {
        fprintf(stderr, "srvproc: cannot run %s: %s\n", path, strerror(rc));
        close(pfd[0]);
        s->pid = 0;
        return -1;
    }
    /* The first line of stdout is the bound address. */
    size_t got = 0;
    long t0 = now_ms();
    while (got < sizeof(s->addr) - 1 && memchr(s->addr, '\n', got) == NULL) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = 10000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t k = read(pfd[0], s->addr + got, sizeof(s->addr) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(pfd[0]); /* later prints get EPIPE/SIGPIPE: examples print once */
    char *nl = memchr(s->addr, '\n', got);
    if (nl == NULL) {
        fprintf(stderr, "srvproc: %s printed no address line\n", path);
        srvproc_stop(s);
        return -1;
    }
    *nl = '\0';
    snprintf(s->base, sizeof(s->base), "http://%s", s->addr);
    return 0;
}

int srvproc_stop(struct srvproc *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    long t0 = now_ms();
    for (;;) {
        pid_t w = waitpid(s->pid, &s->status, WNOHANG);
        if (w == s->pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (now_ms() - t0 > 10000) {
            fprintf(stderr, "srvproc: pid %d ignored SIGTERM for 10 s\n",
                    (int)s->pid);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &s->status, 0);
            s->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    s->pid = 0;
    return WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0 ? 0 : -1;
}

size_t srvproc_stderr(const struct srvproc *s, char *buf, size_t cap)
{
    FILE *f = fopen(s->errpath, "r");
    size_t n = 0;

    if (f != NULL) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return n;
}

void srvproc_cleanup(struct srvproc *s)
{
    if (s->pid > 0)
        srvproc_stop(s);
    if (s->errpath[0] != '\0')
        unlink(s->errpath);
    s->errpath[0] = '\0';
}

int http_curl(struct http_res *r, const char *const *args)
{
    const char *argv[40] = {"curl", "-sS", "-i", "--max-time", "5"};
    size_t n = 5;
    static char out[sizeof(r->head) + sizeof(r->body) + 1024];

    for (; *args != NULL && n < 39; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    ptrdiff_t len = peer_run_capture((char *const *)argv, out, sizeof(out) - 1);
    memset(r, 0, sizeof(*r));
    if (len < 0)
        return -1;
    out[len] = '\0';
    /* Skip interim responses (100 Continue): take the last head. */
    char *p = out, *end;
    for (;;) {
        end = strstr(p, "\r\n\r\n");
        if (strncmp(p, "HTTP/", 5) != 0 || end == NULL)
            return -1;
        const char *sp = strchr(p, ' ');
        r->status = sp ? atoi(sp + 1) : 0;
        if (r->status >= 200 || strncmp(end + 4, "HTTP/", 5) != 0)
            break;
        p = end + 4;
    }
    size_t hl = (size_t)(end + 2 - p);
    if (hl >= sizeof(r->head))
        hl = sizeof(r->head) - 1;
    memcpy(r->head, p, hl);
    r->head[hl] = '\0';
    r->body_len = (size_t)(out + len - (end + 4));
    if (r->body_len >= sizeof(r->body))
        r->body_len = sizeof(r->body) - 1;
    memcpy(r->body, end + 4, r->body_len);
    r->body[r->body_len] = '\0';
    return 0;
}

const char *http_header(const struct http_res *r, const char *name)
{
    static char val[1024];
    size_t nl = strlen(name);

    for (const char *p = strstr(r->head, "\r\n"); p != NULL;
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            if (vl >= sizeof(val))
                vl = sizeof(val) - 1;
            memcpy(val, v, vl);
            val[vl] = '\0';
            return val;
        }
    }
    return NULL;
}
