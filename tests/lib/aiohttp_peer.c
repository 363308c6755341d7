/* SPDX-License-Identifier: MIT */
#include "aiohttp_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

/* tests/peers/<name>, found beside CIO_TEST_DATA (tests/data) or relative
 * to the source tree. */
static int script_path(char *out, size_t cap, const char *name)
{
    const char *data = getenv("CIO_TEST_DATA");
    if (data != NULL)
        snprintf(out, cap, "%s/../peers/%s", data, name);
    else
        snprintf(out, cap, "tests/peers/%s", name);
    return access(out, R_OK) == 0 ? 0 : -1;
}

int aiohttp_peer_start(struct aiohttp_peer *p)
{
    return py_peer_start(p, "aiohttp_server.py", NULL);
}

int py_peer_start(struct aiohttp_peer *p, const char *name,
                  const char *const *args)
{
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->stdin_fd = -1;
    char script[512];
    if (access(PYTHON, X_OK) != 0)
        return 77;
    if (script_path(script, sizeof(script), name) < 0) {
        fprintf(stderr, "aiohttp_peer: %s not found\n", script);
        return -1;
    }
    if (system(PYTHON " -c 'import aiohttp' >/dev/null 2>&1") != 0)
        return 77;

    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        close(in[0]);
        close(in[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        const char *argv[16] = {PYTHON, script};
        int n = 2;
        for (; args != NULL && args[n - 2] != NULL && n < 15; n++)
            argv[n] = args[n - 2];
        argv[n] = NULL;
        execv(PYTHON, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    p->pid = pid;
    p->stdin_fd = in[1];

    char line[64];
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
        struct pollfd pf = {.fd = out[0], .events = POLLIN};
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = 15000 - ((t.tv_sec - t0.tv_sec) * 1000 +
                             (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t r = read(out[0], line + n, sizeof(line) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(out[0]);
    line[n] = '\0';
    if (sscanf(line, "%u %u", &p->port, &p->port2) < 1) {
        fprintf(stderr, "aiohttp_peer: no ports from the server (\"%s\")\n",
                line);
        aiohttp_peer_stop(p);
        return -1;
    }
    return 0;
}

const char *aiohttp_peer_url(struct aiohttp_peer *p, const char *path,
                             int second)
{
    snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%u%s",
             second ? p->port2 : p->port, path);
    return p->url;
}

void aiohttp_peer_stop(struct aiohttp_peer *p)
{
    if (p->stdin_fd >= 0) {
        close(p->stdin_fd);
        p->stdin_fd = -1;
    }
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(p->pid, NULL, WNOHANG);
        if (r == p->pid || (r < 0 && errno != EINTR)) {
            p->pid = -1;
            return;
        }
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    p->pid = -1;
}
