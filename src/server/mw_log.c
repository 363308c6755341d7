/* SPDX-License-Identifier: MIT */
/*
 * The access log: one line per request in the common, combined or JSON
 * format, written with one write(2) so that lines from several workers
 * never interleave (a write of less than PIPE_BUF bytes to a pipe is
 * atomic; O_APPEND files keep whole writes together in practice).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "server/mw_util.h"
#include "server/server_int.h"

enum { FMT_COMMON, FMT_COMBINED, FMT_JSON };

struct alog {
    int fd;
    int fmt;
};

#define LINE_MAX_BYTES 4096 /* a longer line is truncated at a field */

/* The clock text, formatted once per second per thread. */
static _Thread_local struct {
    time_t sec;
    char clf[32]; /* 21/Nov/2026:10:28:38 +0000 */
    char iso[24]; /* 2026-11-21T10:28:38 */
} clk;

static void clock_text(struct timespec *now)
{
    clock_gettime(CLOCK_REALTIME, now);
    if (now->tv_sec == clk.sec)
        return;
    struct tm tm;
    gmtime_r(&now->tv_sec, &tm);
    strftime(clk.clf, sizeof(clk.clf), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    strftime(clk.iso, sizeof(clk.iso), "%Y-%m-%dT%H:%M:%S", &tm);
    clk.sec = now->tv_sec;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Body bytes of the response: sent so far when streamed, else buffered. */
static uint64_t body_bytes(const cio_resp *res)
{
    if (res->prepared)
        return res->sent;
    return res->head_only ? 0 : res->body.len;
}

static void write_line(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* EAGAIN or a broken log: the line is dropped */
        p += k;
        n -= (size_t)k;
    }
}

static void line_text(char *line, size_t *len, const struct alog *a,
                      cio_req *req, cio_resp *res, int status, uint64_t dur_ns)
{
    const size_t cap = LINE_MAX_BYTES - 1; /* room for the '\n' */
    struct timespec now;
    char host[64], num[64];
    const char *user = cio_req_state(req, "auth_user");
    int ver = cio_req_version(req);
    const char *proto = ver == 10   ? "HTTP/1.0"
                        : ver == 20 ? "HTTP/2.0"
                                    : "HTTP/1.1";

    clock_text(&now);
    cio__peer_host(cio_req_peer(req), host, sizeof(host));
    if (a->fmt == FMT_JSON) {
        snprintf(num, sizeof(num), ".%03ldZ\",\"remote\":\"",
                 now.tv_nsec / 1000000);
        cio__put(line, len, cap, "{\"time\":\"");
        cio__put(line, len, cap, clk.iso);
        cio__put(line, len, cap, num);
        cio__esc_json(line, len, cap, host);
        cio__put(line, len, cap, "\",\"method\":\"");
        cio__esc_json(line, len, cap, cio_req_method(req));
        cio__put(line, len, cap, "\",\"path\":\"");
        cio__esc_json(line, len, cap, cio_req_raw_path(req));
        snprintf(num, sizeof(num),
                 "\",\"proto\":\"%s\",\"status\":%d,\"bytes\":%llu,", proto,
                 status, (unsigned long long)body_bytes(res));
        cio__put(line, len, cap, num);
        snprintf(num, sizeof(num), "\"duration_ms\":%.3f",
                 (double)dur_ns / 1e6);
        cio__put(line, len, cap, num);
        static const char *const opt[][2] = {
            {"Referer", "referer"},
            {"User-Agent", "user_agent"},
        };
        for (size_t i = 0; i < 2; i++) {
            const char *v = cio_req_header(req, opt[i][0]);
            if (v == NULL)
                continue;
            cio__put(line, len, cap, ",\"");
            cio__put(line, len, cap, opt[i][1]);
            cio__put(line, len, cap, "\":\"");
            cio__esc_json(line, len, cap, v);
            cio__put(line, len, cap, "\"");
        }
        const char *rid = cio_req_state(req, "request_id");
        if (rid != NULL) {
            cio__put(line, len, cap, ",\"request_id\":\"");
            cio__esc_json(line, len, cap, rid);
            cio__put(line, len, cap, "\"");
        }
        if (user != NULL) {
            cio__put(line, len, cap, ",\"user\":\"");
            cio__esc_json(line, len, cap, user);
            cio__put(line, len, cap, "\"");
        }
        /* Truncation must not leave broken JSON: close it whatever fits. */
        if (*len > cap - 2)
            *len = cap - 2;
        line[(*len)++] = '}';
        line[*len] = '\0';
        return;
    }
    /* %h %l %u [%t] "%r" %>s %b */
    cio__esc_log(line, len, cap, host);
    cio__put(line, len, cap, " - ");
    cio__esc_log(line, len, cap, user);
    cio__put(line, len, cap, " [");
    cio__put(line, len, cap, clk.clf);
    cio__put(line, len, cap, "] \"");
    cio__esc_log(line, len, cap, cio_req_method(req));
    cio__put(line, len, cap, " ");
    cio__esc_log(line, len, cap, cio_req_raw_path(req));
    cio__put(line, len, cap, " ");
    cio__put(line, len, cap, proto);
    uint64_t bytes = body_bytes(res);
    if (bytes > 0)
        snprintf(num, sizeof(num), "\" %d %llu", status,
                 (unsigned long long)bytes);
    else
        snprintf(num, sizeof(num), "\" %d -", status);
    cio__put(line, len, cap, num);
    if (a->fmt == FMT_COMBINED) {
        cio__put(line, len, cap, " \"");
        cio__esc_log(line, len, cap, cio_req_header(req, "Referer"));
        cio__put(line, len, cap, "\" \"");
        cio__esc_log(line, len, cap, cio_req_header(req, "User-Agent"));
        cio__put(line, len, cap, "\"");
    }
}

static int alog_mw(cio_req *req, cio_resp *res, void *ud)
{
    const struct alog *a = ud;
    uint64_t t0 = mono_ns();
    int rc = cio_next(req, res);
    uint64_t dur = mono_ns() - t0;
    char line[LINE_MAX_BYTES];
    size_t len = 0;

    /* a failed handler's partial body is not what the client gets: make
     * the error response now (the server would, after the chain) and log
     * its status and size */
    if ((rc < 0 || req->body_err < 0) && !res->prepared)
        cio__resp_fail(req, res);
    line[0] = '\0';
    line_text(line, &len, a, req, res, cio_resp_status(res), dur);
    line[len++] = '\n';
    write_line(a->fd, line, len);
    return rc;
}

static void alog_free(void *p)
{
    cio__free(p);
}

int cio_app_use_access_log(cio_app *app, int fd, const char *format)
{
    int fmt;

    if (app == NULL || fd < 0)
        return CIO_EINVAL;
    if (format == NULL || strcmp(format, "common") == 0)
        fmt = FMT_COMMON;
    else if (strcmp(format, "combined") == 0)
        fmt = FMT_COMBINED;
    else if (strcmp(format, "json") == 0)
        fmt = FMT_JSON;
    else
        return cio__err(
            CIO_EINVAL,
            "access log format \"%.40s\": use common, combined or json",
            format);
    struct alog *a = cio__malloc(sizeof(*a));
    if (a == NULL)
        return CIO_ENOMEM;
    a->fd = fd;
    a->fmt = fmt;
    int rc = cio__mw_keep(app, a, alog_free);
    if (rc < 0)
        return rc;
    return cio_app_use(app, alog_mw, a);
}
