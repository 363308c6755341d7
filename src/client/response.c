/* SPDX-License-Identifier: MIT */
/*
 * Responses: accessors, the body reader (framing → decoding → caller),
 * whole-body helpers (bytes, text, JSON), streaming reads and release.
 *
 * Body pipeline:
 *   conn->rbuf / socket ─ cio__resp_read_raw (Content-Length, chunked or
 *   until close) ─ decoder (Content-Encoding, capped) ─ cio_response_read
 * When the framing says the body is complete the connection goes back to
 * the pool at once (if the head allowed keep-alive and nothing stray
 * follows), so a caller that reads to the end never holds a connection.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#if CIO_HAVE_JANSSON
#include <jansson.h>
#endif

#include "base/alloc.h"
#include "base/errmsg.h"
#include "client/client_int.h"

#define DBUF_SIZE 16384

/* ------------------------------------------------------------ accessors */

int cio_response_status(const cio_response *r)
{
    return r->status;
}
const char *cio_response_reason(const cio_response *r)
{
    return r->reason;
}
int cio_response_version(const cio_response *r)
{
    return r->version;
}
const cio_headers *cio_response_headers(const cio_response *r)
{
    return r->headers;
}
const char *cio_response_url(const cio_response *r)
{
    return cio_url_href(r->url);
}
int cio_response_error(const cio_response *r)
{
    return r->err != 0 ? r->err : r->raw_coding ? CIO_ENOTSUP : 0;
}

const char *cio_response_header(const cio_response *r, const char *name)
{
    return cio_headers_get(r->headers, name);
}

const char *cio_response_cookie(const cio_response *r, const char *name)
{
    cio_response *w = (cio_response *)r; /* a lazily built cache */
    if (w->cookie_vals == NULL) {
        /* "name\0value\0" pairs of every Set-Cookie that parses; the last
         * one of a name wins, as in the jar. */
        struct cio__buf b;
        cio__buf_init(&b, 1u << 20);
        size_t pos = 0;
        for (const char *v = cio_headers_next(r->headers, "Set-Cookie", &pos);
             v != NULL; v = cio_headers_next(r->headers, "Set-Cookie", &pos)) {
            struct cio_set_cookie sc;
            if (cio_set_cookie_parse(v, strlen(v), &sc) < 0)
                continue;
            if (cio__buf_append(&b, sc.name.ptr, sc.name.len) < 0 ||
                cio__buf_append(&b, "", 1) < 0 ||
                cio__buf_append(&b, sc.value.ptr, sc.value.len) < 0 ||
                cio__buf_append(&b, "", 1) < 0)
                break;
        }
        if (cio__buf_append(&b, "", 1) < 0) {
            cio__buf_fini(&b);
            return NULL;
        }
        w->cookie_vals = b.base;
        w->cookie_len = b.len;
    }
    const char *found = NULL;
    const char *p = w->cookie_vals, *end = p + w->cookie_len - 1;
    while (p < end) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            found = v;
        p = v + strlen(v) + 1;
    }
    return found;
}

size_t cio_response_history(const cio_response *r)
{
    return r->nhist;
}

int cio_response_history_at(const cio_response *r, size_t i, int *status,
                            const char **url)
{
    if (i >= r->nhist)
        return CIO_EINVAL;
    if (status != NULL)
        *status = r->hist_status[i];
    if (url != NULL)
        *url = r->hist_url[i];
    return 0;
}

void cio_response_timings(const cio_response *r, struct cio_timings *out)
{
    *out = r->tm;
    out->elapsed = cio__mono_ms() - r->t0;
    if (r->tm.body_done > 0)
        out->elapsed = r->tm.body_done;
}

/* ------------------------------------------------------------ raw body */

void cio__resp_finish(cio_response *r, bool ok)
{
    struct cio__conn *cn = r->conn;
    if (cn == NULL)
        return;
    r->conn = NULL;
    if (cio__list_linked(&r->node))
        cio__list_remove(&r->node);
    bool reuse =
        ok && r->reusable && r->raw_eof && cn->rbuf.len == 0 && r->c != NULL;
    if (r->chunked_init) {
        cio__chunked_fini(&r->ch);
        r->chunked_init = false;
    }
    cio__pool_release(cn, reuse);
    if (r->tm.body_done == 0) {
        r->tm.body_done = cio__mono_ms() - r->t0;
        if (r->tm.body_done <= 0)
            r->tm.body_done = 1e-6;
    }
}

static ptrdiff_t fail(cio_response *r, int err)
{
    if (r->err == 0)
        r->err = err;
    cio__resp_finish(r, false);
    return err;
}

/* Reads more bytes into rbuf; 0 at EOF. */
static ptrdiff_t fill(cio_response *r)
{
    return cio__conn_read(r->conn, r, "reading the response body from");
}

ptrdiff_t cio__resp_read_raw(cio_response *r, void *buf, size_t cap)
{
    if (r->err != 0)
        return r->err;
    if (r->raw_eof) {
        cio__resp_finish(r, true);
        return 0;
    }
    if (cap == 0)
        return 0;
    struct cio__conn *cn = r->conn;
    if (cn == NULL)
        return 0;
    struct cio__buf *b = &cn->rbuf;
    for (;;) {
        switch (r->fr.body) {
        case CIO__H1_BODY_LENGTH:
        case CIO__H1_BODY_CLOSE: {
            bool bylen = r->fr.body == CIO__H1_BODY_LENGTH;
            if (bylen && r->left == 0) {
                r->raw_eof = true;
                cio__resp_finish(r, true);
                return 0;
            }
            if (b->len > 0) {
                size_t n = b->len < cap ? b->len : cap;
                if (bylen && n > r->left)
                    n = (size_t)r->left;
                memcpy(buf, b->base, n);
                cio__buf_consume(b, n);
                if (bylen) {
                    r->left -= n;
                    if (r->left == 0) {
                        r->raw_eof = true;
                        cio__resp_finish(r, true);
                    }
                }
                return (ptrdiff_t)n;
            }
            ptrdiff_t n = fill(r);
            if (n < 0)
                return fail(r, (int)n);
            if (n == 0) {
                if (bylen)
                    return fail(
                        r,
                        cio__err(CIO_EPROTO,
                                 "%s closed the "
                                 "connection %llu bytes before the end of the "
                                 "body (Content-Length)",
                                 cn->peer, (unsigned long long)r->left));
                r->raw_eof = true;
                r->reusable = false;
                cio__resp_finish(r, true);
                return 0;
            }
            continue;
        }
        case CIO__H1_BODY_CHUNKED: {
            if (r->span_len > 0) {
                size_t n = r->span_len < cap ? r->span_len : cap;
                memcpy(buf, b->base + r->span_off, n);
                r->span_off += n;
                r->span_len -= n;
                if (r->span_len == 0) {
                    cio__buf_consume(b, r->span_used);
                    r->span_used = 0;
                }
                return (ptrdiff_t)n;
            }
            if (b->len > 0) {
                size_t used;
                struct cio_str data;
                int rc =
                    cio__chunked_feed(&r->ch, b->base, b->len, &used, &data);
                if (rc < 0)
                    return fail(r, rc);
                if (data.len > 0) {
                    r->span_off = (size_t)(data.ptr - b->base);
                    r->span_len = data.len;
                    r->span_used = used;
                    continue;
                }
                cio__buf_consume(b, used);
                if (rc == CIO__CHUNKED_DONE) {
                    r->raw_eof = true;
                    cio__resp_finish(r, true);
                    return 0;
                }
                if (used > 0)
                    continue;
            }
            ptrdiff_t n = fill(r);
            if (n < 0)
                return fail(r, (int)n);
            if (n == 0) {
                int rc = cio__chunked_eof(&r->ch);
                return fail(
                    r, rc < 0 ? cio__err(rc,
                                         "%s closed the "
                                         "connection inside a chunked body",
                                         cn->peer)
                              : CIO_EPROTO);
            }
            continue;
        }
        default:
            r->raw_eof = true;
            cio__resp_finish(r, true);
            return 0;
        }
    }
}

/* Body bytes through the protocol of the connection (HTTP/1.1 framing
 * for now; the state lives in r). */
static ptrdiff_t read_body(cio_response *r, void *buf, size_t cap)
{
    if (r->conn != NULL && r->conn->ops != NULL &&
        r->conn->ops->read_body != NULL)
        return r->conn->ops->read_body(r, buf, cap);
    return cio__resp_read_raw(r, buf, cap);
}

/* ------------------------------------------------------------ decoding */

static int decoder_setup(cio_response *r)
{
    r->dec_tried = true;
    if (r->no_decode)
        return 0;
    if (r->fr.body == CIO__H1_BODY_NONE)
        return 0; /* RELIABILITY E.49: nothing to decode */
    if (cio_headers_count_name(r->headers, "Content-Encoding") == 0)
        return 0;
    char ce[1024];
    ptrdiff_t n =
        cio_headers_join(r->headers, "Content-Encoding", ce, sizeof(ce));
    if (n < 0)
        return fail(r, cio__err(CIO_ECODING, "Content-Encoding too long"));
    struct cio__decoder_opts o = {.max_output = r->max_body};
    int rc = cio__decoder_new(&r->dec, (struct cio_str){ce, (size_t)n}, &o);
    if (rc == CIO_ENOTSUP) {
        /* Unknown coding: the raw body, flagged (RELIABILITY E.50). */
        r->raw_coding = true;
        return 0;
    }
    if (rc < 0)
        return (int)fail(r, rc);
    r->dbuf = cio__malloc(DBUF_SIZE);
    if (r->dbuf == NULL)
        return (int)fail(r, CIO_ENOMEM);
    return 0;
}

ptrdiff_t cio_response_read(cio_response *r, void *buf, size_t cap)
{
    if (r == NULL || (buf == NULL && cap > 0))
        return CIO_EINVAL;
    if (!r->dec_tried) {
        int rc = decoder_setup(r);
        if (rc < 0)
            return rc;
    }
    if (r->dec == NULL)
        return read_body(r, buf, cap);
    if (r->err != 0)
        return r->err;
    if (r->dec_done || cap == 0)
        return 0;
    for (;;) {
        if (r->dec_eof) {
            size_t nout = 0;
            int rc = cio__decoder_finish(r->dec, buf, cap, &nout);
            if (rc < 0)
                return fail(r, rc);
            if (nout > 0)
                return (ptrdiff_t)nout;
            if (rc == 0) {
                r->dec_done = true;
                return 0;
            }
            continue;
        }
        if (r->doff == r->dlen) {
            ptrdiff_t n = read_body(r, r->dbuf, DBUF_SIZE);
            if (n < 0)
                return n;
            r->doff = 0;
            r->dlen = (size_t)n;
            if (n == 0) {
                r->dec_eof = true;
                continue;
            }
        }
        size_t nin = 0, nout = 0;
        int rc = cio__decoder_feed(r->dec, r->dbuf + r->doff, r->dlen - r->doff,
                                   &nin, buf, cap, &nout);
        if (rc < 0)
            return fail(r, rc);
        r->doff += nin;
        if (nout > 0)
            return (ptrdiff_t)nout;
    }
}

ptrdiff_t cio_response_read_raw(cio_response *r, void *buf, size_t cap)
{
    if (r == NULL || (buf == NULL && cap > 0))
        return CIO_EINVAL;
    if (r->dec != NULL)
        return cio__err(CIO_EINVAL, "read_raw after decoded reads");
    r->dec_tried = true; /* no decoding from now on */
    return read_body(r, buf, cap);
}

const char *cio_response_body(cio_response *r, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (r == NULL)
        return NULL;
    if (!r->body_read) {
        struct cio__buf *b = &r->body;
        if (!r->dec_tried && decoder_setup(r) < 0)
            return NULL;
        if (r->dec == NULL && r->fr.body == CIO__H1_BODY_LENGTH &&
            r->fr.length < r->max_body && b->cap == 0 &&
            cio__buf_reserve(b, (size_t)r->fr.length + 1) < 0) {
            (void)fail(r, CIO_ENOMEM);
            return NULL;
        }
        for (;;) {
            ptrdiff_t n;
            if (b->len >= r->max_body) {
                char t;
                n = cio_response_read(r, &t, 1);
                if (n < 0)
                    return NULL;
                if (n > 0) {
                    (void)fail(r, cio__err(CIO_ETOOBIG,
                                           "response body over "
                                           "%llu bytes (max_body)",
                                           (unsigned long long)r->max_body));
                    return NULL;
                }
                break;
            }
            size_t want = (size_t)(r->max_body - b->len);
            if (want > 65536)
                want = 65536;
            /* A known length, not decoded: room for the rest and one byte
             * to see the end (no 64 KiB buffer for a 13-byte body). */
            if (r->dec == NULL && r->fr.body == CIO__H1_BODY_LENGTH &&
                r->left < want)
                want = (size_t)r->left + 1;
            if (cio__buf_room(b) < want / 2 + 1 &&
                cio__buf_reserve(b, want) < 0) {
                (void)fail(r, CIO_ENOMEM);
                return NULL;
            }
            size_t room = cio__buf_room(b);
            if (room > r->max_body - b->len)
                room = (size_t)(r->max_body - b->len);
            n = cio_response_read(r, cio__buf_tail(b), room);
            if (n < 0)
                return NULL;
            if (n == 0)
                break;
            cio__buf_commit(b, (size_t)n);
        }
        if (cio__buf_reserve(b, 1) < 0) {
            (void)fail(r, CIO_ETOOBIG);
            return NULL;
        }
        b->base[b->len] = '\0';
        r->body_read = true;
    }
    if (r->err != 0)
        return NULL;
    if (len != NULL)
        *len = r->body.len;
    return r->body.base != NULL ? r->body.base : "";
}

static bool charset_is(const char *ct, const char *cs)
{
    const char *p = strcasestr(ct, "charset=");
    if (p == NULL)
        return cs == NULL;
    if (cs == NULL)
        return false;
    p += 8;
    if (*p == '"')
        p++;
    size_t n = strlen(cs);
    return strncasecmp(p, cs, n) == 0 &&
           (p[n] == '\0' || p[n] == ';' || p[n] == '"' || p[n] == ' ');
}

int cio_response_text(cio_response *r, const char **text, size_t *len)
{
    size_t n;
    const char *b = cio_response_body(r, &n);
    if (b == NULL)
        return r->err != 0 ? r->err : CIO_EINVAL;
    const char *ct = cio_response_header(r, "Content-Type");
    if (ct == NULL || charset_is(ct, NULL) || charset_is(ct, "utf-8") ||
        charset_is(ct, "utf8") || charset_is(ct, "us-ascii")) {
        *text = b;
        *len = n;
        return 0;
    }
    if (!charset_is(ct, "iso-8859-1") && !charset_is(ct, "latin1") &&
        !charset_is(ct, "latin-1"))
        return cio__err(CIO_ENOTSUP, "charset of \"%.80s\" not supported", ct);
    if (r->text == NULL) {
        char *t = cio__malloc(2 * n + 1);
        if (t == NULL)
            return CIO_ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)b[i];
            if (ch < 0x80) {
                t[k++] = (char)ch;
            } else {
                t[k++] = (char)(0xc0 | (ch >> 6));
                t[k++] = (char)(0x80 | (ch & 0x3f));
            }
        }
        t[k] = '\0';
        r->text = t;
        r->text_len = k;
    }
    *text = r->text;
    *len = r->text_len;
    return 0;
}

int cio_response_json(cio_response *r, struct json_t **out)
{
#if CIO_HAVE_JANSSON
    if (r->json == NULL) {
        size_t n;
        const char *b = cio_response_body(r, &n);
        if (b == NULL)
            return r->err != 0 ? r->err : CIO_EINVAL;
        json_error_t e;
        json_t *j = json_loadb(b, n, JSON_DECODE_ANY, &e);
        if (j == NULL)
            return cio__err(CIO_EPROTO,
                            "response body is not JSON: %s "
                            "(line %d)",
                            e.text, e.line);
        r->json = j;
    }
    *out = r->json;
    return 0;
#else
    (void)r;
    (void)out;
    return cio__err(CIO_ENOTSUP, "built without jansson");
#endif
}

int cio_response_raise(const cio_response *r)
{
    if (r->status < 400)
        return 0;
    char url[512];
    ptrdiff_t n =
        cio_url_format(r->url, url, sizeof(url),
                       CIO_URL_FMT_NO_USERINFO | CIO_URL_FMT_NO_FRAGMENT);
    return cio__err(CIO_ESTATUS, "%d %s for url %s", r->status,
                    r->reason != NULL && r->reason[0]
                        ? r->reason
                        : cio_http_status_reason(r->status),
                    n >= 0 ? url : "(too long)");
}

int cio_response_read_line(cio_response *r, const char **line, size_t *len,
                           size_t max)
{
    if (max == 0)
        max = 64 * 1024;
    struct cio__buf *b = &r->line;
    /* Drop the line returned last time. */
    if (r->line_off > 0) {
        cio__buf_consume(b, r->line_off);
        r->line_off = 0;
    }
    size_t scanned = 0;
    for (;;) {
        char *nl = b->len > scanned
                       ? memchr(b->base + scanned, '\n', b->len - scanned)
                       : NULL;
        if (nl != NULL) {
            size_t n = (size_t)(nl - b->base);
            r->line_off = n + 1;
            if (n > 0 && b->base[n - 1] == '\r')
                n--;
            if (n > max)
                return cio__err(CIO_ETOOBIG, "line longer than %zu bytes", max);
            b->base[n] = '\0';
            *line = b->base;
            *len = n;
            return 1;
        }
        scanned = b->len;
        if (b->len > max + 1)
            return cio__err(CIO_ETOOBIG, "line longer than %zu bytes", max);
        if (cio__buf_room(b) < 1024) {
            int rc = cio__buf_reserve(b, 4096);
            if (rc < 0)
                return rc;
        }
        ptrdiff_t n =
            cio_response_read(r, cio__buf_tail(b), cio__buf_room(b) - 1);
        if (n < 0)
            return (int)n;
        if (n == 0) {
            if (b->len == 0)
                return 0;
            size_t k = b->len;
            if (k > max)
                return cio__err(CIO_ETOOBIG, "line longer than %zu bytes", max);
            int rc = cio__buf_reserve(b, 1);
            if (rc < 0)
                return rc;
            b->base[k] = '\0';
            r->line_off = k;
            *line = b->base;
            *len = k;
            return 1;
        }
        cio__buf_commit(b, (size_t)n);
    }
}

/* An unread body: reuse the connection only if the rest is already in
 * the buffer (small and quick), else close it. */
static void discard(cio_response *r)
{
    struct cio__conn *cn = r->conn;
    if (cn == NULL)
        return;
    bool clean = r->raw_eof && r->err == 0;
    if (!clean && r->err == 0 && r->reusable) {
        if (r->fr.body == CIO__H1_BODY_LENGTH && r->left <= cn->rbuf.len &&
            r->left <= CIO__CLIENT_DRAIN_MAX) {
            cio__buf_consume(&cn->rbuf, (size_t)r->left);
            r->left = 0;
            clean = true;
        } else if (r->fr.body == CIO__H1_BODY_CHUNKED) {
            if (r->span_len > 0) {
                cio__buf_consume(&cn->rbuf, r->span_used);
                r->span_len = 0;
            }
            while (cn->rbuf.len > 0) {
                size_t used;
                struct cio_str d;
                int rc = cio__chunked_feed(&r->ch, cn->rbuf.base, cn->rbuf.len,
                                           &used, &d);
                if (rc < 0)
                    break;
                cio__buf_consume(&cn->rbuf, used);
                if (rc == CIO__CHUNKED_DONE) {
                    clean = true;
                    break;
                }
            }
        }
    }
    r->raw_eof = clean;
    cio__resp_finish(r, clean);
}

void cio_response_free(cio_response *r)
{
    if (r == NULL)
        return;
    discard(r);
    if (cio__list_linked(&r->node))
        cio__list_remove(&r->node);
    if (r->chunked_init)
        cio__chunked_fini(&r->ch);
    cio__decoder_free(r->dec);
    cio__free(r->dbuf);
    if (r->reason != r->reason_buf)
        cio__free(r->reason);
    cio_headers_free(r->headers);
    cio_url_free(r->url);
    for (size_t i = 0; i < r->nhist; i++)
        cio__free(r->hist_url[i]);
    cio__free(r->hist_url);
    cio__free(r->hist_status);
    cio__buf_fini(&r->body);
    cio__buf_fini(&r->line);
    cio__free(r->text);
    cio__free(r->cookie_vals);
#if CIO_HAVE_JANSSON
    json_decref(r->json);
#endif
    cio__free(r);
}
