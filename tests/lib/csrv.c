/* SPDX-License-Identifier: MIT */
#include "csrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"
#include "http/h1_parse.h"

struct conn {
    struct csrv *s;
    cio_stream *st;
};

int csrv_reply(struct cio__buf *out, int status, const char *extra_headers,
               const char *body)
{
    return cio__buf_printf(
        out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s", status,
        strlen(body), extra_headers != NULL ? extra_headers : "", body);
}

static void serve(void *arg)
{
    struct conn *c = arg;
    struct csrv *s = c->s;
    cio_stream *st = c->st;
    free(c);
    s->accepted++;
    if (++s->open_now > s->open_max)
        s->open_max = s->open_now;
    struct cio__buf in, out;
    cio__buf_init(&in, 1 << 22);
    cio__buf_init(&out, 1 << 24);
    struct csrv_req *req = calloc(1, sizeof(*req));
    unsigned nreq = 0;
    if (s->silent || s->no_read) {
        cio_sleep(cio_after(60000)); /* until canceled by csrv_stop */
        goto close_stream;
    }
    for (;;) {
        struct cio__h1_header hdrs[100];
        struct cio__h1_head h;
        cio__h1_head_init(&h, hdrs, 100, NULL);
        ptrdiff_t hl;
        for (;;) {
            hl = in.len > 0 ? cio__h1_parse_request(in.base, in.len, &h)
                            : CIO_EMORE;
            if (hl != CIO_EMORE)
                break;
            if (cio__buf_reserve(&in, 16384) < 0)
                goto close_stream;
            ptrdiff_t n = cio_stream_read(st, cio__buf_tail(&in),
                                          cio__buf_room(&in), cio_after(30000));
            if (n <= 0)
                goto close_stream;
            cio__buf_commit(&in, (size_t)n);
        }
        if (hl < 0)
            goto close_stream;
        struct cio__h1_framing f;
        if (cio__h1_request_framing(&h, &f) < 0)
            goto close_stream;
        memset(req, 0, sizeof(*req));
        snprintf(req->method, sizeof(req->method), "%.*s", (int)h.method.len,
                 h.method.ptr);
        snprintf(req->target, sizeof(req->target), "%.*s", (int)h.target.len,
                 h.target.ptr);
        req->head_len =
            (size_t)hl < sizeof(req->head) ? (size_t)hl : sizeof(req->head);
        memcpy(req->head, in.base, req->head_len);
        req->conn_requests = ++nreq;
        bool cont = f.expect_continue;
        cio__buf_consume(&in, (size_t)hl);
        if (cont && s->expect_mode == 1) {
            s->requests++;
            const char *no = "HTTP/1.1 417 Expectation Failed\r\n"
                             "Content-Length: 0\r\n\r\n";
            cio_stream_write(st, no, strlen(no), cio_after(5000));
            cio_sleep(cio_after(2000)); /* the client must not send the body */
            goto close_stream;
        }
        if (cont && s->expect_mode == 0) {
            cio_stream_write(st, "HTTP/1.1 100 Continue\r\n\r\n", 25,
                             cio_after(5000));
        }
        /* Body. */
        struct cio__buf body;
        cio__buf_init(&body, 1 << 24);
        if (f.body == CIO__H1_BODY_LENGTH) {
            while (in.len < f.length) {
                if (cio__buf_reserve(&in, 65536) < 0)
                    goto close_stream;
                ptrdiff_t n =
                    cio_stream_read(st, cio__buf_tail(&in), cio__buf_room(&in),
                                    cio_after(30000));
                if (n <= 0)
                    goto close_stream;
                cio__buf_commit(&in, (size_t)n);
            }
            cio__buf_append(&body, in.base, (size_t)f.length);
            cio__buf_consume(&in, (size_t)f.length);
        } else if (f.body == CIO__H1_BODY_CHUNKED) {
            struct cio__chunked ch;
            cio__chunked_init(&ch, NULL);
            int done = 0;
            while (!done) {
                while (in.len > 0) {
                    size_t used;
                    struct cio_str d;
                    int rc = cio__chunked_feed(&ch, in.base, in.len, &used, &d);
                    if (rc < 0) {
                        cio__chunked_fini(&ch);
                        goto close_stream;
                    }
                    cio__buf_append(&body, d.ptr, d.len);
                    cio__buf_consume(&in, used);
                    if (rc == CIO__CHUNKED_DONE) {
                        done = 1;
                        break;
                    }
                }
                if (done)
                    break;
                if (cio__buf_reserve(&in, 65536) < 0)
                    break;
                ptrdiff_t n =
                    cio_stream_read(st, cio__buf_tail(&in), cio__buf_room(&in),
                                    cio_after(30000));
                if (n <= 0) {
                    cio__chunked_fini(&ch);
                    goto close_stream;
                }
                cio__buf_commit(&in, (size_t)n);
            }
            cio__chunked_fini(&ch);
        }
        req->body = body.base;
        req->body_len = body.len;
        s->requests++;
        free(s->last.body);
        s->last = *req;
        s->last.body = NULL;
        if (body.len > 0) {
            s->last.body = malloc(body.len);
            memcpy(s->last.body, body.base, body.len);
        }
        if (s->delay_ms > 0 && cio_sleep(cio_after(s->delay_ms)) < 0) {
            cio__buf_fini(&body);
            goto close_stream;
        }
        out.len = 0;
        int flags = s->fn != NULL ? s->fn(s, req, &out, s->ud)
                                  : csrv_reply(&out, 200, NULL, "ok");
        cio__buf_fini(&body);
        for (size_t off = 0, step = s->trickle ? s->trickle : out.len;
             off < out.len; off += step) {
            size_t k = out.len - off < step ? out.len - off : step;
            if (cio_stream_write(st, out.base + off, k, cio_after(30000)) < 0)
                goto close_stream;
            if (s->trickle && cio_sleep(cio_after(1)) < 0)
                goto close_stream;
        }
        if (flags & CSRV_HOLD) {
            cio_sleep(cio_after(60000));
            goto close_stream;
        }
        if ((flags & CSRV_CLOSE) || s->close_idle)
            goto close_stream;
    }
close_stream:
    free(req);
    cio__buf_fini(&in);
    cio__buf_fini(&out);
    cio_stream_close(st);
    s->open_now--;
}

static void accept_loop(void *arg)
{
    struct csrv *s = arg;
    for (;;) {
        cio_stream *st;
        if (cio_listener_accept(s->ln, &st, CIO_NEVER) < 0)
            return;
        struct conn *c = malloc(sizeof(*c));
        c->s = s;
        c->st = st;
        if (cio_go(s->g, serve, c) < 0) {
            free(c);
            cio_stream_close(st);
        }
    }
}

int csrv_start(struct csrv *s)
{
    int rc = cio_tcp_listen(&s->ln, "127.0.0.1:0", NULL);
    if (rc < 0)
        return rc;
    s->port = cio_listener_port(s->ln);
    snprintf(s->addr, sizeof(s->addr), "http://127.0.0.1:%u", s->port);
    if ((rc = cio_group_new(&s->g)) < 0)
        return rc;
    return cio_go(s->g, accept_loop, s);
}

void csrv_stop(struct csrv *s)
{
    cio_group_cancel(s->g);
    cio_group_free(s->g);
    cio_listener_close(s->ln);
    free(s->last.body);
    s->last.body = NULL;
}
