/* SPDX-License-Identifier: MIT */
#include "rawsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQS 256

struct rconn {
    struct rawsrv *srv;
    int fd;
    const struct raw_step *script;
    pthread_t thr;
    char *rec; /* received bytes */
    size_t len;
    size_t parsed;   /* bytes of rec consumed by READ_REQ */
    atomic_int done; /* the script ended and fd is closed */
    SSL *ssl;        /* TLS servers: after the handshake */
};

struct rawsrv {
    int lfd;
    unsigned port;
    const struct raw_step *scripts[RAWSRV_MAX_CONNS];
    size_t nscripts;
    pthread_t thr;
    atomic_int stop;
    pthread_mutex_t mu;
    struct rconn conns[RAWSRV_MAX_CONNS];
    size_t nconns;
    size_t errors;
    struct {
        size_t conn, off, len;
    } reqs[MAX_REQS];
    size_t nreqs;
    char *copy;
    char url[128];
    char ip[16];
    SSL_CTX *tls; /* NULL: plain TCP */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to the deadline (in 50 ms slices, checking stop) for events on
 * fd. Returns 1 ready, 0 timeout or stop. */
static int wait_fd(struct rawsrv *s, int fd, short ev, int64_t deadline)
{
    while (!atomic_load(&s->stop)) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, left < 50 ? (int)left : 50);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
    return 0;
}

/* Reads what is available into the record; returns bytes, 0 EOF, -1 error
 * or timeout. */
static ptrdiff_t read_some(struct rconn *c, int64_t deadline)
{
    char buf[16384];
    ssize_t n;
    if (c->ssl != NULL) {
        for (;;) {
            if (SSL_pending(c->ssl) == 0 &&
                !wait_fd(c->srv, c->fd, POLLIN, deadline))
                return -1;
            int r = SSL_read(c->ssl, buf, sizeof(buf));
            if (r > 0) {
                n = r;
                break;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                continue;
            return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
        }
    } else {
        if (!wait_fd(c->srv, c->fd, POLLIN, deadline))
            return -1;
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return n == 0 ? 0 : -1;
    }
    pthread_mutex_lock(&c->srv->mu);
    size_t keep = (size_t)n;
    if (c->len + keep > RAWSRV_RECORD_MAX)
        keep = RAWSRV_RECORD_MAX - c->len;
    memcpy(c->rec + c->len, buf, keep);
    c->len += keep;
    pthread_mutex_unlock(&c->srv->mu);
    return n;
}

static const char *find(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n);
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return h + i;
    return NULL;
}

/* The value of header name in head[0..len) (case-insensitive), or NULL. */
static const char *header(const char *head, size_t len, const char *name,
                          size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *eol = find(p, (size_t)(end - p), "\r\n");
        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > nl && p[nl] == ':' &&
            strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Length of a complete request at rec[from..len), or 0 if incomplete. */
static size_t request_len(const struct rconn *c, size_t from)
{
    const char *b = c->rec + from;
    size_t avail = c->len - from;
    const char *e = find(b, avail, "\r\n\r\n");
    if (e == NULL)
        return 0;
    size_t head = (size_t)(e - b) + 4, vl;
    const char *v = header(b, head, "Content-Length", &vl);
    if (v != NULL) {
        size_t cl = strtoul(v, NULL, 10);
        return avail >= head + cl ? head + cl : 0;
    }
    v = header(b, head, "Transfer-Encoding", &vl);
    if (v != NULL && vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0) {
        /* Walk the chunks: size line, data, CRLF ... up to "0" CRLF CRLF
         * (trailers are not used by these tests). */
        size_t p = head;
        for (;;) {
            const char *le = find(b + p, avail - p, "\r\n");
            if (le == NULL)
                return 0;
            size_t sz = strtoul(b + p, NULL, 16);
            p = (size_t)(le - b) + 2;
            if (sz == 0)
                return avail >= p + 2 ? p + 2 : 0;
            p += sz + 2;
            if (p > avail)
                return 0;
        }
    }
    return head;
}

static void step_error(struct rconn *c)
{
    pthread_mutex_lock(&c->srv->mu);
    c->srv->errors++;
    pthread_mutex_unlock(&c->srv->mu);
}

static int do_read_req(struct rconn *c)
{
    int64_t deadline = now_ms() + RAWSRV_STEP_MS;
    size_t n;
    while ((n = request_len(c, c->parsed)) == 0) {
        if (c->len >= RAWSRV_RECORD_MAX || read_some(c, deadline) <= 0)
            return -1;
    }
    pthread_mutex_lock(&c->srv->mu);
    if (c->srv->nreqs < MAX_REQS) {
        size_t ci = (size_t)(c - c->srv->conns);
        c->srv->reqs[c->srv->nreqs].conn = ci;
        c->srv->reqs[c->srv->nreqs].off = c->parsed;
        c->srv->reqs[c->srv->nreqs].len = n;
        c->srv->nreqs++;
    }
    pthread_mutex_unlock(&c->srv->mu);
    c->parsed += n;
    return 0;
}

static int send_all(struct rconn *c, const char *p, size_t len)
{
    int64_t deadline = now_ms() + RAWSRV_STEP_MS;
    while (len > 0) {
        if (!wait_fd(c->srv, c->fd, POLLOUT, deadline))
            return -1;
        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, p, (int)(len > 16384 ? 16384 : len));
            if (r <= 0) {
                if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE)
                    continue;
                return -1;
            }
            p += r;
            len -= (size_t)r;
            continue;
        }
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    struct rconn *c = arg;
    const struct raw_step *st = c->script;
    if (c->srv->tls != NULL) {
        /* A blocking handshake, bounded by socket timeouts. */
        struct timeval tv = {.tv_sec = RAWSRV_STEP_MS / 1000};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        c->ssl = SSL_new(c->srv->tls);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
            SSL_accept(c->ssl) != 1) {
            step_error(c);
            goto close_fd;
        }
    }
    for (;; st++) {
        switch (st->op) {
        case RAW_OP_READ_REQ:
            if (do_read_req(c) < 0) {
                step_error(c);
                goto close_fd;
            }
            break;
        case RAW_OP_SEND: {
            size_t len = st->len != 0 ? st->len : strlen(st->data);
            unsigned rep = st->repeat != 0 ? st->repeat : 1;
            for (unsigned i = 0; i < rep; i++)
                if (send_all(c, st->data, len) < 0)
                    goto close_fd; /* the client gave up: expected in floods */
            break;
        }
        case RAW_OP_SLEEP: {
            int64_t until = now_ms() + st->ms;
            while (!atomic_load(&c->srv->stop) && now_ms() < until)
                usleep(5000);
            break;
        }
        case RAW_OP_DRAIN: {
            int64_t deadline =
                now_ms() + (st->ms != 0 ? st->ms : RAWSRV_STEP_MS);
            while (c->len < RAWSRV_RECORD_MAX && read_some(c, deadline) > 0)
                ;
            break;
        }
        case RAW_OP_RESET: {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            goto close_fd;
        }
        case RAW_OP_CLOSE:
            /* TLS: a TCP FIN without close_notify (a truncation). */
            shutdown(c->fd, SHUT_WR);
            goto close_fd;
        case RAW_OP_END:
        default:
            if (c->ssl != NULL)
                SSL_shutdown(c->ssl);
            shutdown(c->fd, SHUT_WR);
            goto close_fd;
        }
    }
close_fd:
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
    atomic_store(&c->done, 1);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct rawsrv *s = arg;
    while (!atomic_load(&s->stop) && s->nconns < RAWSRV_MAX_CONNS) {
        if (!wait_fd(s, s->lfd, POLLIN, now_ms() + 1000))
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        struct rconn *c = &s->conns[s->nconns];
        c->srv = s;
        c->fd = fd;
        c->script =
            s->scripts[s->nconns < s->nscripts ? s->nconns : s->nscripts - 1];
        c->rec = malloc(RAWSRV_RECORD_MAX + 1);
        c->len = c->parsed = 0;
        atomic_store(&c->done, 0);
        if (c->rec == NULL ||
            pthread_create(&c->thr, NULL, conn_main, c) != 0) {
            free(c->rec);
            close(fd);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        s->nconns++;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static int start(struct rawsrv **out, const struct raw_step *const *scripts,
                 const char *ip, SSL_CTX *tls);

int rawsrv_start(struct rawsrv **out, const struct raw_step *const *scripts)
{
    return rawsrv_start_at(out, scripts, "127.0.0.1");
}

int rawsrv_start_tls(struct rawsrv **out, const struct raw_step *const *scripts,
                     const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "rawsrv: cannot load %s / %s\n", cert, key);
        SSL_CTX_free(ctx);
        return -1;
    }
    int rc = start(out, scripts, "127.0.0.1", ctx);
    if (rc < 0)
        SSL_CTX_free(ctx);
    return rc;
}

int rawsrv_start_at(struct rawsrv **out, const struct raw_step *const *scripts,
                    const char *ip)
{
    return start(out, scripts, ip, NULL);
}

static int start(struct rawsrv **out, const struct raw_step *const *scripts,
                 const char *ip, SSL_CTX *tls)
{
    struct rawsrv *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -1;
    s->tls = tls;
    /* The array itself is often a compound literal: keep a copy. */
    while (scripts[s->nscripts] != NULL && s->nscripts < RAWSRV_MAX_CONNS) {
        s->scripts[s->nscripts] = scripts[s->nscripts];
        s->nscripts++;
    }
    if (s->nscripts == 0)
        goto fail_s;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0)
        goto fail_s;
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    snprintf(s->ip, sizeof(s->ip), "%s", ip);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
        bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(s->lfd, 64) < 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0)
        goto fail_fd;
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thr, NULL, accept_main, s) != 0)
        goto fail_fd;
    *out = s;
    return 0;
fail_fd:
    perror("rawsrv");
    close(s->lfd);
fail_s:
    free(s);
    return -1;
}

unsigned rawsrv_port(const struct rawsrv *s)
{
    return s->port;
}

const char *rawsrv_url(struct rawsrv *s, const char *path)
{
    snprintf(s->url, sizeof(s->url), "%s://%s:%u%s", s->tls ? "https" : "http",
             s->ip, s->port, path);
    return s->url;
}

size_t rawsrv_nconns(struct rawsrv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nconns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

size_t rawsrv_nrequests(struct rawsrv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->nreqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int rawsrv_wait(struct rawsrv *s, unsigned ms)
{
    int64_t deadline = now_ms() + ms;
    for (;;) {
        int busy = 0;
        pthread_mutex_lock(&s->mu);
        for (size_t i = 0; i < s->nconns; i++)
            busy += !atomic_load(&s->conns[i].done);
        pthread_mutex_unlock(&s->mu);
        if (busy == 0)
            return 0;
        if (now_ms() >= deadline)
            return -1;
        usleep(2000);
    }
}

size_t rawsrv_errors(struct rawsrv *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->errors;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static const char *copy_out(struct rawsrv *s, const char *p, size_t len,
                            size_t *outlen)
{
    free(s->copy);
    s->copy = malloc(len + 1);
    if (s->copy == NULL)
        return NULL;
    memcpy(s->copy, p, len);
    s->copy[len] = '\0';
    if (outlen != NULL)
        *outlen = len;
    return s->copy;
}

const char *rawsrv_received(struct rawsrv *s, size_t i, size_t *len)
{
    const char *r = NULL;
    pthread_mutex_lock(&s->mu);
    if (i < s->nconns)
        r = copy_out(s, s->conns[i].rec, s->conns[i].len, len);
    pthread_mutex_unlock(&s->mu);
    return r;
}

const char *rawsrv_request(struct rawsrv *s, size_t j, size_t *len)
{
    const char *r = NULL;
    pthread_mutex_lock(&s->mu);
    if (j < s->nreqs) {
        struct rconn *c = &s->conns[s->reqs[j].conn];
        r = copy_out(s, c->rec + s->reqs[j].off, s->reqs[j].len, len);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

void rawsrv_stop(struct rawsrv *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thr, NULL);
    close(s->lfd);
    for (size_t i = 0; i < s->nconns; i++) {
        pthread_join(s->conns[i].thr, NULL);
        free(s->conns[i].rec);
    }
    pthread_mutex_destroy(&s->mu);
    SSL_CTX_free(s->tls);
    free(s->copy);
    free(s);
}
