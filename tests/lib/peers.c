/* SPDX-License-Identifier: MIT */
#include "peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static unsigned free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port = 0;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int connect_port(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

int peer_prepare(struct peer *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    p->name = name;
    p->pid = -1;
    snprintf(p->dir, sizeof(p->dir), "/tmp/cio-peer-%s-XXXXXX", name);
    if (mkdtemp(p->dir) == NULL) {
        perror("peer: mkdtemp");
        return -1;
    }
    chmod(p->dir, 0755);
    snprintf(p->www, sizeof(p->www), "%s/www", p->dir);
    if (mkdir(p->www, 0755) < 0) {
        perror("peer: mkdir www");
        return -1;
    }
    return 0;
}

int peer_put_file(struct peer *p, const char *rel, const void *data, size_t len)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", p->www, rel);
    return write_file(path, data, len);
}

static int nginx_conf(struct peer *p, char *conf, size_t cap)
{
    char text[4096], tls[1024] = "", verify[512] = "";
    if (p->tls_client_ca != NULL)
        snprintf(verify, sizeof(verify),
                 "    ssl_client_certificate %s;\n"
                 "    ssl_verify_client on;\n",
                 p->tls_client_ca);
    if (p->tls_cert != NULL) {
        p->tls_port = free_port();
        snprintf(
            tls, sizeof(tls),
            "  server {\n    listen 127.0.0.1:%u ssl;\n    root %s/www;\n"
            "    ssl_certificate %s;\n    ssl_certificate_key %s;\n%s  }\n",
            p->tls_port, p->dir, p->tls_cert, p->tls_key, verify);
    }
    int n = snprintf(
        text, sizeof(text),
        "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        "pid %1$s/nginx.pid;\nerror_log %1$s/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "  access_log off;\n"
        "  client_body_temp_path %1$s/t1; proxy_temp_path %1$s/t2;\n"
        "  fastcgi_temp_path %1$s/t3; uwsgi_temp_path %1$s/t4;\n"
        "  scgi_temp_path %1$s/t5;\n"
        "  types { text/plain txt; text/html html; application/json json; }\n"
        "  default_type application/octet-stream;\n"
        "  server {\n"
        "    listen 127.0.0.1:%2$u;\n"
        "    root %1$s/www;\n"
        "    gzip on; gzip_min_length 1; gzip_types text/plain "
        "application/json;\n"
        "    location = /hdrs { add_header X-Multi a; add_header X-Multi b;\n"
        "      add_header X-Tab \"a\tb\"; add_header X-Long %3$s;\n"
        "      default_type text/plain; return 200 \"headers\\n\"; }\n"
        "    location = /204 { return 204; }\n"
        "    location = /302 { return 302 /target; }\n"
        "    location = /404 { return 404; }\n"
        "  }\n"
        "%4$s"
        "}\n",
        p->dir, p->port,
        "012345678901234567890123456789012345678901234567890123456789012345678"
        "9",
        tls);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -1;
    snprintf(conf, cap, "%s/nginx.conf", p->dir);
    return write_file(conf, text, (size_t)n);
}

static int h2o_conf(struct peer *p, char *conf, size_t cap)
{
    char text[2048];
    int n = snprintf(text, sizeof(text),
                     "user: root\n"
                     "listen:\n  host: 127.0.0.1\n  port: %2$u\n"
                     "pid-file: %1$s/h2o.pid\n"
                     "error-log: %1$s/error.log\n"
                     "hosts:\n  default:\n    paths:\n      /:\n"
                     "        file.dir: %1$s/www\n"
                     "        compress: ON\n",
                     p->dir, p->port);
    if (n < 0 || (size_t)n >= sizeof(text))
        return -1;
    snprintf(conf, cap, "%s/h2o.conf", p->dir);
    return write_file(conf, text, (size_t)n);
}

int peer_start(struct peer *p)
{
    char conf[400], logpath[400];
    const char *bin =
        strcmp(p->name, "nginx") == 0 ? "/usr/sbin/nginx" : "/usr/bin/h2o";
    posix_spawn_file_actions_t fa;
    int rc;

    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "peer: %s is not installed (scripts/install-deps)\n",
                bin);
        return 77;
    }
    p->port = free_port();
    if (p->port == 0)
        return -1;
    rc = strcmp(p->name, "nginx") == 0 ? nginx_conf(p, conf, sizeof(conf))
                                       : h2o_conf(p, conf, sizeof(conf));
    if (rc < 0)
        return -1;
    snprintf(logpath, sizeof(logpath), "%s/stdout.log", p->dir);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, logpath,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (strcmp(p->name, "nginx") == 0) {
        char *argv[] = {(char *)bin, "-p", p->dir, "-c", conf, NULL};
        rc = posix_spawn(&p->pid, bin, &fa, NULL, argv, environ);
    } else {
        char *argv[] = {(char *)bin, "-c", conf, NULL};
        rc = posix_spawn(&p->pid, bin, &fa, NULL, argv, environ);
    }
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        p->pid = -1;
        return -1;
    }
    for (long t0 = now_ms(); now_ms() - t0 < 10000;) {
        int fd = connect_port(p->port);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            fprintf(stderr, "peer: %s exited at start (see %s)\n", p->name,
                    logpath);
            p->pid = -1;
            return -1;
        }
        usleep(20000);
    }
    fprintf(stderr, "peer: %s did not listen within 10 s\n", p->name);
    peer_stop(p);
    return -1;
}

void peer_stop(struct peer *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        long t0 = now_ms();
        while (waitpid(p->pid, NULL, WNOHANG) == 0) {
            if (now_ms() - t0 > 5000) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
                break;
            }
            usleep(10000);
        }
        p->pid = -1;
    }
    if (p->dir[0] != '\0') {
        char *argv[] = {"rm", "-rf", p->dir, NULL};
        pid_t pid;
        if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) == 0)
            waitpid(pid, NULL, 0);
        p->dir[0] = '\0';
    }
}

ptrdiff_t peer_exchange(unsigned port, const void *req, size_t reqlen,
                        char *buf, size_t cap)
{
    int fd = connect_port(port);
    size_t got = 0;
    long t0 = now_ms();

    if (fd < 0)
        return -1;
    if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) {
        close(fd);
        return -1;
    }
    while (got < cap) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        long left = 5000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (ptrdiff_t)got;
}

ptrdiff_t peer_run_capture(char *const argv[], char *buf, size_t cap)
{
    int pfd[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    size_t got = 0;
    int st = 0;
    long t0 = now_ms();

    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return -1;
    }
    for (;;) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = 10000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        char tmp[4096];
        ssize_t n = read(pfd[0], tmp, sizeof(tmp));
        if (n <= 0)
            break;
        size_t k = (size_t)n < cap - got ? (size_t)n : cap - got;
        memcpy(buf + got, tmp, k);
        got += k;
    }
    close(pfd[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return (ptrdiff_t)got;
}
