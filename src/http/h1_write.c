/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <time.h>

#include <corio/http/misc.h>

#include "base/errmsg.h"
#include "http/chunked.h"
#include "http/h1_write.h"
#include "http/headers_int.h"

/*
 * Output cursor: counts every byte even past cap, so that a head that does
 * not fit still reports the size it needs, and nothing is written beyond
 * buf + cap.
 */
struct out {
    char *buf;
    size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->cap && n > 0)
        memcpy(o->buf + o->len, s, n <= o->cap - o->len ? n : o->cap - o->len);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void field(struct out *o, struct cio_str name, struct cio_str value)
{
    put(o, name.ptr, name.len);
    put(o, ": ", 2);
    put(o, value.ptr, value.len);
    put(o, "\r\n", 2);
}

/* Every field of the map, checked again (unless the caller vouches for
 * it): the map validated them when they were added, but a head is the
 * last place to stop a stray CR or LF. */
static int map_fields(struct out *o, const cio_headers *h, const char *what,
                      bool checked)
{
    if (h == NULL)
        return 0;
    for (size_t i = 0, n = cio_headers_count(h); i < n; i++) {
        struct cio_field f;
        cio_headers_at(h, i, &f);
        int rc = checked ? 0 : cio__headers_check(what, f.name, f.value);
        if (rc < 0)
            return rc;
        field(o, f.name, f.value);
    }
    return 0;
}

static int extra_fields(struct out *o, const struct cio_kv *kv, bool checked)
{
    for (; kv != NULL && kv->name != NULL; kv++) {
        if (kv->value == NULL)
            return cio__err(CIO_EINVAL, "header \"%.40s\" has a NULL value",
                            kv->name);
        struct cio_str name = cio_str_c(kv->name);
        struct cio_str value = cio__headers_trim(cio_str_c(kv->value));
        int rc = checked ? 0 : cio__headers_check("header", name, value);
        if (rc < 0)
            return rc;
        field(o, name, value);
    }
    return 0;
}

static bool extra_has(const struct cio_kv *kv, const char *name)
{
    for (; kv != NULL && kv->name != NULL; kv++) {
        if (cio__headers_eq(kv->name, strlen(kv->name), name, strlen(name)))
            return true;
    }
    return false;
}

static ptrdiff_t finish(struct out *o, size_t *need)
{
    if (o->len > o->cap) {
        if (need != NULL)
            *need = o->len;
        return cio__err(CIO_ETOOBIG, "HTTP head needs %zu bytes, have %zu",
                        o->len, o->cap);
    }
    return (ptrdiff_t)o->len;
}

static int check_version(int minor)
{
    if (minor != 0 && minor != 1)
        return cio__err(CIO_EINVAL, "HTTP/1.%d is not writable", minor);
    return 0;
}

static int check_target(struct cio_str t)
{
    char q[64];
    if (t.ptr == NULL || t.len == 0)
        return cio__err(CIO_EINVAL, "request target is empty");
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        /* RFC 9112 §3.2: no whitespace, CTL or raw non-ASCII; a fragment
         * is never part of the target (RFC 9110 §7.1). */
        if (c <= 0x20 || c >= 0x7f || c == '#')
            return cio__err(CIO_EINVAL,
                            "request target \"%s\" contains byte 0x%02x",
                            cio__headers_quote(q, sizeof(q), t.ptr, t.len), c);
    }
    return 0;
}

ptrdiff_t cio__h1_write_request(char *buf, size_t cap,
                                const struct cio__h1_request *r, size_t *need)
{
    char q[64];
    int rc;

    if (r->method.ptr == NULL || !cio_is_token(r->method))
        return cio__err(CIO_EINVAL, "method \"%s\" is not a token",
                        r->method.ptr == NULL
                            ? ""
                            : cio__headers_quote(q, sizeof(q), r->method.ptr,
                                                 r->method.len));
    rc = check_target(r->target);
    if (rc < 0)
        return rc;
    rc = check_version(r->minor);
    if (rc < 0)
        return rc;

    struct out o = {buf, 0, cap};
    put(&o, r->method.ptr, r->method.len);
    put(&o, " ", 1);
    put(&o, r->target.ptr, r->target.len);
    puts_(&o, r->minor == 1 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
    rc = map_fields(&o, r->headers, "header", false);
    if (rc < 0)
        return rc;
    rc = extra_fields(&o, r->extra, false);
    if (rc < 0)
        return rc;
    put(&o, "\r\n", 2);
    return finish(&o, need);
}

/* Decimal digits of v into out (at least 20 bytes); returns the count. */
static size_t u64_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t t = 0, o = 0;
    do {
        tmp[t++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (t > 0)
        out[o++] = tmp[--t];
    return o;
}

/*
 * The server's case: fields vouched for, no extra list. The size is known
 * before a byte is written, so every copy is unconditional and the
 * constant pieces are copies of constant size (plain moves, no memcpy
 * call). Same output as the general path below.
 */
static ptrdiff_t write_response_fast(char *buf, size_t cap,
                                     const struct cio__h1_response *r,
                                     struct cio_str reason, size_t *need)
{
    char cl[20];
    size_t cl_len = r->has_length ? u64_dec(cl, r->length) : 0;
    size_t hn = r->headers != NULL ? cio_headers_bytes(r->headers) : 0;
    size_t conn_len = r->connection != NULL ? strlen(r->connection) : 0;
    const char *date = NULL;
    if (r->add_date && (r->headers == NULL ||
                        !(cio__headers_known(r->headers) & CIO__HK_DATE)))
        date = r->date_line != NULL ? r->date_line : cio__h1_date_line();
    size_t total = 9 + 4 + reason.len + 2 + hn +
                   (r->has_length ? 16 + cl_len + 2 : 0) +
                   (r->chunked ? 28 : 0) +
                   (r->connection != NULL ? 12 + conn_len + 2 : 0) +
                   (r->server.ptr != NULL ? 8 + r->server.len + 2 : 0) +
                   (date != NULL ? CIO__H1_DATE_LINE_LEN : 0) + 2;
    if (total > cap) {
        if (need != NULL)
            *need = total;
        return cio__err(CIO_ETOOBIG, "HTTP head needs %zu bytes, have %zu",
                        total, cap);
    }
    char *p = buf;
    memcpy(p, r->minor == 1 ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    p[9] = (char)('0' + r->status / 100);
    p[10] = (char)('0' + r->status / 10 % 10);
    p[11] = (char)('0' + r->status % 10);
    p[12] = ' ';
    p += 13;
    memcpy(p, reason.ptr, reason.len);
    p += reason.len;
    memcpy(p, "\r\n", 2);
    p += 2;
    if (hn > 0)
        p = cio__headers_wire(r->headers, p);
    if (r->has_length) {
        memcpy(p, "Content-Length: ", 16);
        memcpy(p + 16, cl, cl_len);
        memcpy(p + 16 + cl_len, "\r\n", 2);
        p += 16 + cl_len + 2;
    }
    if (r->chunked) {
        memcpy(p, "Transfer-Encoding: chunked\r\n", 28);
        p += 28;
    }
    if (r->connection != NULL) {
        memcpy(p, "Connection: ", 12);
        memcpy(p + 12, r->connection, conn_len);
        memcpy(p + 12 + conn_len, "\r\n", 2);
        p += 12 + conn_len + 2;
    }
    if (r->server.ptr != NULL) {
        memcpy(p, "Server: ", 8);
        memcpy(p + 8, r->server.ptr, r->server.len);
        memcpy(p + 8 + r->server.len, "\r\n", 2);
        p += 8 + r->server.len + 2;
    }
    if (date != NULL) {
        memcpy(p, date, CIO__H1_DATE_LINE_LEN);
        p += CIO__H1_DATE_LINE_LEN;
    }
    memcpy(p, "\r\n", 2);
    return (ptrdiff_t)total;
}

ptrdiff_t cio__h1_write_response(char *buf, size_t cap,
                                 const struct cio__h1_response *r, size_t *need)
{
    char q[64], code[4], cl[20];
    size_t cl_len = 0;
    int rc;

    if (r->status < 100 || r->status > 599)
        return cio__err(CIO_EINVAL, "status %d is not in 100..599", r->status);
    rc = check_version(r->minor);
    if (rc < 0)
        return rc;
    struct cio_str reason = r->reason;
    if (reason.ptr == NULL)
        reason = cio_str_c(cio_http_status_reason(r->status));
    for (size_t i = 0; r->reason.ptr != NULL && i < reason.len; i++) {
        unsigned char c = (unsigned char)reason.ptr[i];
        /* RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) */
        if (!cio__tok_is((char)c, CIO__TOK_VALUE))
            return cio__err(
                CIO_EINVAL, "reason phrase \"%s\" contains 0x%02x",
                cio__headers_quote(q, sizeof(q), reason.ptr, reason.len), c);
    }
    if (r->checked && r->extra == NULL)
        return write_response_fast(buf, cap, r, reason, need);
    if (r->has_length)
        cl_len = u64_dec(cl, r->length);

    struct out o = {buf, 0, cap};
    code[0] = (char)('0' + r->status / 100);
    code[1] = (char)('0' + r->status / 10 % 10);
    code[2] = (char)('0' + r->status % 10);
    code[3] = ' ';
    put(&o, r->minor == 1 ? "HTTP/1.1 " : "HTTP/1.0 ", 9);
    put(&o, code, 4);
    put(&o, reason.ptr, reason.len);
    put(&o, "\r\n", 2);
    if (r->checked && r->headers != NULL) {
        /* vouched for: one copy of the map's fields, sized up front */
        size_t n = cio_headers_bytes(r->headers);
        if (o.len + n <= o.cap)
            cio__headers_wire(r->headers, o.buf + o.len);
        o.len += n;
    } else {
        rc = map_fields(&o, r->headers, "header", r->checked);
        if (rc < 0)
            return rc;
    }
    rc = extra_fields(&o, r->extra, r->checked);
    if (rc < 0)
        return rc;
    if (r->has_length) {
        put(&o, "Content-Length: ", 16);
        put(&o, cl, cl_len);
        put(&o, "\r\n", 2);
    }
    if (r->chunked)
        put(&o, "Transfer-Encoding: chunked\r\n", 28);
    if (r->connection != NULL) {
        put(&o, "Connection: ", 12);
        puts_(&o, r->connection);
        put(&o, "\r\n", 2);
    }
    if (r->server.ptr != NULL)
        field(&o, CIO_STR_LIT("Server"), r->server);
    if (r->add_date && !extra_has(r->extra, "date") &&
        (r->headers == NULL ||
         !(cio__headers_known(r->headers) & CIO__HK_DATE)))
        put(&o, r->date_line != NULL ? r->date_line : cio__h1_date_line(),
            CIO__H1_DATE_LINE_LEN);
    put(&o, "\r\n", 2);
    return finish(&o, need);
}

/* The cache is per thread so that no lock is needed; the key is the
 * second, so the text is at most one second stale, like nginx's. The
 * line form "Date: ...\r\n" is kept beside it for the head writer. */
static __thread time_t date_sec = (time_t)-1;
static __thread char date_line[6 + CIO_HTTP_DATE_LEN + 3] = "Date: ";

static void date_refresh(void)
{
    time_t now = time(NULL);
    if (now != date_sec) {
        char *d = date_line + 6;
        if (cio_http_date_format(now, d) < 0)
            memcpy(d, "Thu, 01 Jan 1970 00:00:00 GMT", 30);
        memcpy(d + CIO_HTTP_DATE_LEN, "\r\n", 3);
        date_sec = now;
    }
}

const char *cio__h1_date_line(void)
{
    date_refresh();
    return date_line;
}

const char *cio__h1_date(void)
{
    static __thread char date_buf[CIO_HTTP_DATE_LEN + 1];
    date_refresh();
    memcpy(date_buf, date_line + 6, CIO_HTTP_DATE_LEN);
    date_buf[CIO_HTTP_DATE_LEN] = '\0';
    return date_buf;
}

size_t cio__h1_chunk_head(char head[CIO__H1_CHUNK_HEAD_MAX], uint64_t len)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = hex[len & 15];
        len >>= 4;
    } while (len != 0);
    for (size_t i = 0; i < n; i++)
        head[i] = tmp[n - 1 - i];
    head[n] = '\r';
    head[n + 1] = '\n';
    return n + 2;
}

int cio__h1_chunk_iov(struct iovec iov[3], char head[CIO__H1_CHUNK_HEAD_MAX],
                      const void *data, size_t len)
{
    if (len == 0)
        return 0;
    iov[0].iov_base = head;
    iov[0].iov_len = cio__h1_chunk_head(head, len);
    iov[1].iov_base = (void *)data;
    iov[1].iov_len = len;
    iov[2].iov_base = (void *)"\r\n";
    iov[2].iov_len = 2;
    return 3;
}

ptrdiff_t cio__h1_write_last_chunk(char *buf, size_t cap,
                                   const cio_headers *trailers, size_t *need)
{
    char q[64];
    struct out o = {buf, 0, cap};

    put(&o, "0\r\n", 3);
    for (size_t i = 0, n = trailers != NULL ? cio_headers_count(trailers) : 0;
         i < n; i++) {
        struct cio_field f;
        cio_headers_at(trailers, i, &f);
        if (cio__chunked_is_forbidden_trailer(f.name))
            return cio__err(
                CIO_EHEADER, "header \"%s\" is not allowed in a trailer",
                cio__headers_quote(q, sizeof(q), f.name.ptr, f.name.len));
        int rc = cio__headers_check("trailer", f.name, f.value);
        if (rc < 0)
            return rc;
        field(&o, f.name, f.value);
    }
    put(&o, "\r\n", 2);
    return finish(&o, need);
}
