/* SPDX-License-Identifier: MIT */
/*
 * The protocol-neutral response: buffered (built by setters, sent by the
 * connection after the chain returns) or streamed through the protocol's
 * operations once prepared.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "config.h"
#include "http/headers_int.h"
#include "server/server_int.h"

#if CIO_HAVE_JANSSON
#include <jansson.h>
#endif

static int check_open(const cio_resp *res)
{
    if (res->prepared)
        return cio__err(CIO_EINVAL, "response head already sent");
    return 0;
}

int cio_resp_status(const cio_resp *res)
{
    return res->status;
}

void cio_resp_set_status(cio_resp *res, int status)
{
    if (!res->prepared && status >= 100 && status <= 999)
        res->status = status;
}

int cio_resp_set_header(cio_resp *res, const char *name, const char *value)
{
    int rc = check_open(res);
    return rc < 0 ? rc : cio_headers_set(res->headers, name, value);
}

int cio_resp_add_header(cio_resp *res, const char *name, const char *value)
{
    int rc = check_open(res);
    return rc < 0 ? rc : cio_headers_add(res->headers, name, value);
}

const char *cio_resp_header(const cio_resp *res, const char *name)
{
    return cio_headers_get(res->headers, name);
}

cio_headers *cio_resp_headers(cio_resp *res)
{
    return res->headers;
}

/* Replaces the buffered body with data[0..len). */
static int set_body(cio_resp *res, const void *data, size_t len)
{
    res->body.len = 0;
    return len ? cio__buf_append(&res->body, data, len) : 0;
}

int cio_resp_body(cio_resp *res, const void *data, size_t len,
                  const char *content_type)
{
    int rc = check_open(res);
    if (rc < 0)
        return rc;
    if (content_type != NULL) {
        rc = cio_headers_set(res->headers, "Content-Type", content_type);
        if (rc < 0)
            return rc;
    }
    return set_body(res, data, len);
}

/* cio_resp_body with one of our constant content types (no check). */
static int body_typed(cio_resp *res, int status, const char *data,
                      struct cio_str type)
{
    int rc = check_open(res);
    if (rc < 0)
        return rc;
    rc = cio__headers_set_trusted(res->headers, CIO_STR_LIT("Content-Type"),
                                  type);
    if (rc == 0)
        rc = set_body(res, data, data != NULL ? strlen(data) : 0);
    if (rc == 0)
        res->status = status;
    return rc;
}

int cio_resp_text(cio_resp *res, int status, const char *text)
{
    return body_typed(res, status, text,
                      CIO_STR_LIT("text/plain; charset=utf-8"));
}

int cio_resp_json_str(cio_resp *res, int status, const char *json)
{
    return body_typed(res, status, json, CIO_STR_LIT("application/json"));
}

#if CIO_HAVE_JANSSON
static int dump_cb(const char *buf, size_t size, void *data)
{
    return cio__buf_append(data, buf, size) < 0 ? -1 : 0;
}
#endif

int cio_resp_json(cio_resp *res, int status, const struct json_t *v)
{
#if CIO_HAVE_JANSSON
    int rc = check_open(res);
    if (rc < 0)
        return rc;
    res->body.len = 0;
    if (json_dump_callback(v, dump_cb, &res->body,
                           JSON_COMPACT | JSON_ENCODE_ANY) < 0)
        return cio__err(CIO_ENOMEM, "JSON encoding failed");
    rc = cio_headers_set(res->headers, "Content-Type", "application/json");
    if (rc == 0)
        res->status = status;
    return rc;
#else
    (void)res;
    (void)status;
    (void)v;
    return cio__err(CIO_ENOTSUP, "built without jansson");
#endif
}

int cio_resp_printf(cio_resp *res, int status, const char *content_type,
                    const char *fmt, ...)
{
    va_list ap;
    char small[512];
    int n, rc = check_open(res);

    if (rc < 0)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return CIO_EINVAL;
    if ((size_t)n < sizeof(small)) {
        rc = cio_resp_body(res, small, (size_t)n, content_type);
    } else {
        char *big = cio__malloc((size_t)n + 1);
        if (big == NULL)
            return CIO_ENOMEM;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rc = cio_resp_body(res, big, (size_t)n, content_type);
        cio__free(big);
    }
    if (rc == 0)
        res->status = status;
    return rc;
}

int cio_resp_redirect(cio_resp *res, int status, const char *location)
{
    int rc;
    if (status != 301 && status != 302 && status != 303 && status != 307 &&
        status != 308)
        return cio__err(CIO_EINVAL, "%d is not a redirect status", status);
    if (location == NULL)
        return CIO_EINVAL;
    rc = cio_resp_set_header(res, "Location", location);
    if (rc < 0)
        return rc;
    res->status = status;
    res->body.len = 0;
    return 0;
}

/* Writes s as a JSON string body (quotes added). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (o < cap)
        out[o] = '"';
    o++;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        const char *e = NULL;
        if (c == '"')
            e = "\\\"";
        else if (c == '\\')
            e = "\\\\";
        else if (c < 0x20) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            e = tmp;
        }
        if (e != NULL) {
            for (; *e; e++, o++)
                if (o < cap)
                    out[o] = *e;
        } else {
            if (o < cap)
                out[o] = (char)c;
            o++;
        }
    }
    if (o < cap)
        out[o] = '"';
    return o + 1;
}

int cio__resp_error_body(char *buf, size_t cap, int status, const char *msg,
                         int json)
{
    const char *reason = cio_http_status_reason(status);
    int n;

    if (json) {
        n = snprintf(buf, cap,
                     "{\"status\":%d,\"error\":\"%s\",\"message\":", status,
                     reason);
        if (n < 0 || (size_t)n >= cap)
            return 0;
        if (msg != NULL) {
            size_t k = json_escape(buf + n, cap - (size_t)n, msg);
            if ((size_t)n + k + 2 > cap)
                return snprintf(
                    buf, cap,
                    "{\"status\":%d,\"error\":\"%s\",\"message\":null}", status,
                    reason);
            n += (int)k;
        } else {
            n += snprintf(buf + n, cap - (size_t)n, "null");
        }
        n += snprintf(buf + n, cap - (size_t)n, "}");
        return n;
    }
    if (msg != NULL)
        n = snprintf(buf, cap, "%d %s: %s\n", status, reason, msg);
    else
        n = snprintf(buf, cap, "%d %s\n", status, reason);
    return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

static int wants_json(const cio_req *req)
{
    const char *a = cio_req_header(req, "accept");
    if (a == NULL)
        return 0;
    const char *j = strstr(a, "json");
    const char *h = strstr(a, "text/");
    return j != NULL && (h == NULL || j < h);
}

int cio_resp_error(cio_resp *res, int status, const char *msg)
{
    char buf[1024];
    int json, n;

    if (res->prepared)
        return 0;
    if (status < 400 || status > 599)
        status = 500;
    json = wants_json(res->req);
    n = cio__resp_error_body(buf, sizeof(buf), status, msg, json);
    (void)cio_resp_body(res, buf, (size_t)n,
                        json ? "application/json"
                             : "text/plain; charset=utf-8");
    res->status = status;
    return 0;
}

static int map_body_err(int err)
{
    switch (err) {
    case CIO_ETOOBIG:
        return 413;
    case CIO_ETIMEDOUT:
        return 408;
    case CIO_EPROTO:
    case CIO_EHEADER:
        return 400;
    default:
        return 0;
    }
}

void cio__resp_fail(cio_req *req, cio_resp *res)
{
    if (res->prepared || res->failed)
        return;
    int st = map_body_err(req->body_err);
    /* Headers set by middleware (request id, CORS) stay; those that
     * described the body the handler meant to send go with that body. */
    static const char *const repr[] = {
        "Content-Encoding",
        "Content-Range",
        "Content-Length",
        "Transfer-Encoding",
        "ETag",
        "Last-Modified",
        "Content-Disposition",
        "Content-Language",
        "Content-Location",
    };
    cio_headers *h = cio_resp_headers(res);
    for (size_t i = 0; h != NULL && i < sizeof(repr) / sizeof(repr[0]); i++)
        cio_headers_remove(h, repr[i]);
    cio_resp_error(res, st ? st : 500, st ? cio_last_error() : NULL);
    res->failed = 1;
}

/* ------------------------------------------------------------ cookies */

static int cookie_ok(const char *s, int value)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == ';' || c == ',' || c == '"' ||
            c == '\\' || c >= 0x80)
            return 0;
        if (!value &&
            (c == '=' || c == '(' || c == ')' || c == '<' || c == '>' ||
             c == '@' || c == ':' || c == '/' || c == '[' || c == ']' ||
             c == '?' || c == '{' || c == '}'))
            return 0;
    }
    return 1;
}

int cio_resp_set_cookie(cio_resp *res, const char *name, const char *value,
                        const struct cio_cookie_opts *o)
{
    char buf[4096 + 512];
    int n;

    if (name == NULL || value == NULL || name[0] == '\0' ||
        !cookie_ok(name, 0) || !cookie_ok(value, 1))
        return cio__err(CIO_EHEADER, "cookie name or value has a byte not "
                                     "allowed in a cookie");
    if ((o != NULL &&
         ((o->path != NULL && strpbrk(o->path, ";\r\n") != NULL) ||
          (o->domain != NULL && strpbrk(o->domain, ";\r\n") != NULL))))
        return cio__err(CIO_EHEADER, "cookie path or domain contains ';'");
    n = snprintf(buf, sizeof(buf), "%s=%s", name, value);
    if (o != NULL) {
        if (o->path != NULL)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; Path=%s",
                          o->path);
        if (o->domain != NULL)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; Domain=%s",
                          o->domain);
        if (o->max_age > 0)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; Max-Age=%lld",
                          (long long)o->max_age);
        else if (o->max_age < 0)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n,
                          "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        if (o->secure)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; Secure");
        if (o->http_only)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; HttpOnly");
        if (o->same_site != NULL)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "; SameSite=%s",
                          o->same_site);
    }
    if ((size_t)n >= sizeof(buf))
        return cio__err(CIO_ETOOBIG, "Set-Cookie over 4 KiB");
    return cio_resp_add_header(res, "Set-Cookie", buf);
}

int cio_resp_del_cookie(cio_resp *res, const char *name, const char *path,
                        const char *domain)
{
    struct cio_cookie_opts o = {.path = path, .domain = domain, .max_age = -1};
    return cio_resp_set_cookie(res, name, "", &o);
}

/* ------------------------------------------------------------ streaming */

int cio_resp_prepare(cio_resp *res)
{
    if (res->prepared)
        return 0;
    return res->req->ops->prepare(res);
}

/* Before body bytes: not finished, and the head sent. */
static int body_ready(cio_resp *res)
{
    if (res->finished)
        return cio__err(CIO_EINVAL, "response already finished");
    return cio_resp_prepare(res);
}

int cio_resp_writev(cio_resp *res, const struct iovec *iov, int iovcnt)
{
    int rc = body_ready(res);
    return rc < 0 ? rc : res->req->ops->writev(res, iov, iovcnt);
}

int cio_resp_write(cio_resp *res, const void *data, size_t len)
{
    struct iovec v = {(void *)data, len};
    return cio_resp_writev(res, &v, 1);
}

int cio_resp_sendfile(cio_resp *res, int fd, off_t off, uint64_t len)
{
    int rc = body_ready(res);
    return rc < 0 ? rc : res->req->ops->sendfile(res, fd, off, len);
}

int cio_resp_flush(cio_resp *res)
{
    if (!res->prepared)
        return cio_resp_prepare(res);
    return res->req->ops->flush(res);
}

int cio_resp_finish(cio_resp *res)
{
    int rc;
    if (res->finished)
        return 0;
    if (!res->prepared) {
        rc = cio_resp_prepare(res);
        if (rc < 0)
            return rc;
    }
    return res->req->ops->finish(res);
}

int cio_resp_prepared(const cio_resp *res)
{
    return res->prepared;
}
