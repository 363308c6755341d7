/* SPDX-License-Identifier: MIT */
#include "client/redirect.h"

#include <string.h>

#include "base/errmsg.h"

int cio__redirect_status(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 ||
           status == 308;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

int cio__redirect_next(struct cio__redirect *out, const char *method,
                       int status, const cio_url *cur, const char *loc,
                       size_t len, bool has_body, bool body_replayable)
{
    if (method == NULL || cur == NULL || (loc == NULL && len > 0))
        return CIO_EINVAL;
    if (!cio__redirect_status(status))
        return cio__err(CIO_EINVAL, "status %d is not a redirect", status);

    /* Field values reach us trimmed, but a caller may pass a raw one. */
    while (len > 0 && is_ws(loc[0])) {
        loc++;
        len--;
    }
    while (len > 0 && is_ws(loc[len - 1]))
        len--;
    if (len == 0)
        return cio__err(CIO_EREDIRECT, "redirect %d with an empty Location",
                        status);

    cio_url *next;
    int rc = cio_url_resolve(&next, cur, loc, len);
    if (rc == CIO_ENOMEM)
        return rc;
    if (rc < 0)
        return cio__err(CIO_EREDIRECT, "bad Location \"%.*s\"",
                        (int)(len > 80 ? 80 : len), loc);

    /* RELIABILITY D.41: only http and https are followed. A "file:" or
     * "javascript:" target from a hostile server must never be fetched. */
    enum cio_url_scheme_id sid = cio_url_scheme_id(next);
    if (sid != CIO_SCHEME_HTTP && sid != CIO_SCHEME_HTTPS) {
        struct cio_str s = cio_url_scheme(next);
        cio_url_free(next);
        return cio__err(CIO_EREDIRECT, "redirect to scheme \"%.*s\" refused",
                        (int)(s.len > 20 ? 20 : s.len), s.ptr);
    }

    struct cio__redirect r = {.url = next, .method = method};
    bool is_head = strcmp(method, "HEAD") == 0;
    /* RFC 9110 §15.4.4: 303 means "GET the other resource" (HEAD stays
     * HEAD); §15.4.2-3: browsers and every major client turn a POST that
     * got 301 or 302 into a GET, and so do we. 307 and 308 (§15.4.8-9)
     * forbid changing the method. */
    if ((status == 303 && !is_head) ||
        ((status == 301 || status == 302) && strcmp(method, "POST") == 0)) {
        r.method = "GET";
        r.drop_body = 1;
    }
    if (!r.drop_body && has_body && !body_replayable) {
        cio_url_free(next);
        return cio__err(CIO_EREDIRECT,
                        "redirect %d needs the body again, but it was "
                        "streamed and cannot be replayed",
                        status);
    }
    if (!has_body)
        r.drop_body = 1;
    r.cross_origin = !cio_url_same_origin(cur, next);
    r.downgrade =
        cio_url_scheme_id(cur) == CIO_SCHEME_HTTPS && sid == CIO_SCHEME_HTTP;
    *out = r;
    return 0;
}

void cio__redirect_strip(cio_headers *h, const struct cio__redirect *r)
{
    static const char *const creds[] = {"Authorization", "Cookie",
                                        "Proxy-Authorization"};
    static const char *const body[] = {"Content-Type",
                                       "Content-Length",
                                       "Content-Encoding",
                                       "Content-Language",
                                       "Content-Location",
                                       "Transfer-Encoding",
                                       "Expect"};

    cio_headers_remove(h, "Host");
    if (r->cross_origin)
        for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
            cio_headers_remove(h, creds[i]);
    if (r->drop_body)
        for (size_t i = 0; i < sizeof(body) / sizeof(body[0]); i++)
            cio_headers_remove(h, body[i]);
}

int cio__redirect_limit(uint32_t max)
{
    return cio__err(CIO_EREDIRECT, "too many redirects (%u)", max);
}
