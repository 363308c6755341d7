/* SPDX-License-Identifier: MIT */
/*
 * Server-Sent Events (WHATWG HTML §9.2) on a streaming response. Each
 * event is formatted into one buffer and written with one call, then
 * flushed, so an event never reaches the client in pieces interleaved
 * with a keep-alive comment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <corio/server.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/errmsg.h"

int cio_resp_sse_start(cio_resp *res)
{
    if (cio_resp_prepared(res))
        return cio__err(CIO_EINVAL, "sse: the response is already prepared");
    int rc = cio_resp_set_header(res, "Content-Type", "text/event-stream");
    /* Intermediaries must neither cache nor buffer the stream (nginx reads
     * X-Accel-Buffering). */
    if (rc == 0)
        rc = cio_resp_set_header(res, "Cache-Control", "no-cache");
    if (rc == 0)
        rc = cio_resp_set_header(res, "X-Accel-Buffering", "no");
    if (rc == 0)
        rc = cio_resp_prepare(res);
    if (rc == 0)
        rc = cio_resp_flush(res);
    return rc;
}

/* Bytes needed for "<field>: <line>\n" for every line of s, where CRLF,
 * CR and LF all end a line (the client's parser splits on each, so a CR
 * left in would start a new field: an injection). */
static size_t lines_len(const char *field, const char *s)
{
    size_t n = 0, flen = strlen(field) + 2;
    for (;;) {
        size_t k = strcspn(s, "\r\n");
        n += flen + k + 1;
        s += k;
        if (*s == '\0')
            return n;
        s += s[0] == '\r' && s[1] == '\n' ? 2 : 1;
    }
}

static char *put_lines(char *p, const char *field, const char *s)
{
    size_t flen = strlen(field);
    for (;;) {
        size_t k = strcspn(s, "\r\n");
        memcpy(p, field, flen);
        p += flen;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, s, k);
        p += k;
        *p++ = '\n';
        s += k;
        if (*s == '\0')
            return p;
        s += s[0] == '\r' && s[1] == '\n' ? 2 : 1;
    }
}

static int write_flush(cio_resp *res, const char *buf, size_t len)
{
    int rc = cio_resp_write(res, buf, len);
    return rc == 0 ? cio_resp_flush(res) : rc;
}

int cio_resp_sse_send(cio_resp *res, const struct cio_sse_event *ev)
{
    if (ev == NULL)
        return cio__err(CIO_EINVAL, "sse: no event");
    if ((ev->event && strpbrk(ev->event, "\r\n")) ||
        (ev->id && strpbrk(ev->id, "\r\n")))
        return cio__err(CIO_EINVAL, "sse: CR or LF in an event name or id");
    if (ev->retry_ms < 0)
        return cio__err(CIO_EINVAL, "sse: negative retry");

    size_t len = 1; /* the blank line that dispatches the event */
    if (ev->event)
        len += strlen(ev->event) + 8;
    if (ev->id)
        len += strlen(ev->id) + 5;
    if (ev->retry_ms > 0)
        len += 7 + 20 + 1;
    if (ev->data)
        len += lines_len("data", ev->data);
    char *buf = cio__malloc(len + 1);
    if (buf == NULL)
        return CIO_ENOMEM;
    char *p = buf;
    if (ev->event)
        p += sprintf(p, "event: %s\n", ev->event);
    if (ev->id)
        p += sprintf(p, "id: %s\n", ev->id);
    if (ev->retry_ms > 0)
        p += sprintf(p, "retry: %" PRId64 "\n", ev->retry_ms);
    if (ev->data)
        p = put_lines(p, "data", ev->data);
    *p++ = '\n';
    int rc = write_flush(res, buf, (size_t)(p - buf));
    cio__free(buf);
    return rc;
}

int cio_resp_sse_comment(cio_resp *res, const char *text)
{
    if (text == NULL)
        text = "";
    size_t len = lines_len("", text);
    char *buf = cio__malloc(len + 1);
    if (buf == NULL)
        return CIO_ENOMEM;
    /* put_lines writes ": text\n" for the empty field name. */
    char *p = put_lines(buf, "", text);
    int rc = write_flush(res, buf, (size_t)(p - buf));
    cio__free(buf);
    return rc;
}
