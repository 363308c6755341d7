/* SPDX-License-Identifier: MIT */
/*
 * The body of the HTTP/1.1 head parser, included by h1_parse.c once per
 * byte-scanner level: an AVX2 scanner can only be inlined into a function
 * compiled for AVX2, and calling it out of line for every field value cost
 * more than the vectors saved. Each inclusion defines
 *   H1_FN(name)          the instance's name for name (e.g. parse_avx2)
 *   H1_ATTR              attributes of its functions (the target, if any)
 *   H1_SCAN_VALUE(p, e)  the field value / reason phrase scanner
 *   H1_SCAN_TARGET(p, e) the request-target scanner
 * and gets H1_FN(parse). Not a header of its own: no include guard.
 */

/* request-line = method SP request-target SP HTTP-version CRLF (§3) */
H1_ATTR static inline ptrdiff_t H1_FN(request_line)(const struct ctx *c,
                                                    uint32_t max_line)
{
    static const char toolong[] = "request line too long";
    struct cio__h1_head *h = c->h;
    const char *p = c->buf + h->st.pos;
    size_t w = h->st.pos + (size_t)max_line + 2;
    const char *lim = window(c, w);

    const char *q = scan_token(p, lim);
    if (q == lim)
        return stop(c, q, w, 414, toolong);
    if (q == p)
        return bad(c, "request line does not start with a method", q);
    if (*q != ' ')
        return bad(c, "method is not a token", q);

    const char *t = q + 1;
    const char *r = H1_SCAN_TARGET(t, lim);
    if (r == lim)
        return stop(c, r, w, 414, toolong);
    if (r == t)
        return bad(c, "missing request-target", r);
    if (*r != ' ') {
        if (*r == '\r' || *r == '\n')
            return bad(c, "request line without an HTTP version", r);
        return bad(c, "invalid byte in request-target", r);
    }

    const char *v = r + 1;
    int major = 0, minor = 0;
    ptrdiff_t rc = version(c, v, w, 414, toolong, &major, &minor);
    if (rc != 0)
        return rc;
    const char *e = v + 8;
    if (e >= lim)
        return stop(c, e, w, 414, toolong);
    if (*e != '\r')
        return bad(c,
                   *e == '\n' ? "bare LF ends the request line"
                              : "malformed HTTP version",
                   e);
    if (e + 1 >= lim)
        return stop(c, e + 1, w, 414, toolong);
    if (e[1] != '\n')
        return bad(c, "bare CR in the request line", e);
    if (major != 1)
        return fail(c, CIO_EPROTO, 505, "HTTP version not supported", v);

    h->method = (struct cio_str){p, (size_t)(q - p)};
    h->target = (struct cio_str){t, (size_t)(r - t)};
    h->reason = (struct cio_str){NULL, 0};
    h->status = 0;
    /* RFC 9110 §2.5: a higher minor version is read as the highest we
     * implement. */
    h->minor = minor > 1 ? 1 : minor;
    h->st.pos = (size_t)(e + 2 - c->buf);
    return 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (§4).
 * The SP before an empty reason is optional here: many servers omit it, and
 * it cannot change where the message ends. */
H1_ATTR static inline ptrdiff_t H1_FN(status_line)(const struct ctx *c,
                                                   uint32_t max_line)
{
    static const char toolong[] = "status line too long";
    struct cio__h1_head *h = c->h;
    const char *p = c->buf + h->st.pos;
    size_t w = h->st.pos + (size_t)max_line + 2;
    const char *lim = window(c, w);
    int major = 0, minor = 0;

    ptrdiff_t rc = version(c, p, w, 502, toolong, &major, &minor);
    if (rc != 0)
        return rc;
    const char *s = p + 8;
    if (s >= lim)
        return stop(c, s, w, 502, toolong);
    if (*s != ' ')
        return bad(c, "malformed HTTP version", s);
    int status = 0;
    for (int i = 1; i <= 3; i++) {
        if (s + i >= lim)
            return stop(c, s + i, w, 502, toolong);
        if (s[i] < '0' || s[i] > '9')
            return bad(c, "status code is not 3 digits", s + i);
        status = status * 10 + (s[i] - '0');
    }
    const char *d = s + 4;
    if (d >= lim)
        return stop(c, d, w, 502, toolong);
    const char *rs = d, *re = d;
    if (*d == ' ') {
        rs = d + 1;
        re = H1_SCAN_VALUE(rs, lim);
        if (re == lim)
            return stop(c, re, w, 502, toolong);
    } else if (*d != '\r' && *d != '\n') {
        return bad(c, "status code is not 3 digits", d);
    }
    if (*re != '\r')
        return bad(c,
                   *re == '\n' ? "bare LF ends the status line"
                               : "invalid byte in reason phrase",
                   re);
    if (re + 1 >= lim)
        return stop(c, re + 1, w, 502, toolong);
    if (re[1] != '\n')
        return bad(c, "bare CR in the status line", re);
    if (major != 1)
        return bad(c, "HTTP version not supported", p);
    /* RFC 9110 §15: values outside 100..599 are invalid. */
    if (status < 100 || status > 599)
        return bad(c, "status code out of range", s + 1);

    h->method = (struct cio_str){NULL, 0};
    h->target = (struct cio_str){NULL, 0};
    h->minor = minor > 1 ? 1 : minor;
    h->status = status;
    h->reason = (struct cio_str){rs, (size_t)(re - rs)};
    h->st.pos = (size_t)(re + 2 - c->buf);
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS, then CRLF (§5) */
H1_ATTR static inline ptrdiff_t H1_FN(field_lines)(const struct ctx *c,
                                                   uint32_t max_field,
                                                   uint32_t max_head,
                                                   size_t maxn)
{
    struct cio__h1_head *h = c->h;
    size_t hw = h->st.head_start + (size_t)max_head;

    for (;;) {
        const char *p = c->buf + h->st.pos;
        size_t w = h->st.pos + (size_t)max_field + 2;
        const char *toolong = "field line too long";
        if (w >= hw) {
            w = hw;
            toolong = "header section too large";
        }
        const char *lim = window(c, w);

        if (p >= lim)
            return stop(c, p, w, 431, toolong);
        if (*p == '\r') {
            if (p + 1 >= lim)
                return stop(c, p + 1, w, 431, toolong);
            /* RFC 9112 §2.2 (RELIABILITY A.11): "\r\n\rX" is not an end */
            if (p[1] != '\n')
                return bad(c, "bare CR in the header section", p);
            h->st.phase = CIO__H1_PHASE_DONE;
            return p + 2 - c->buf;
        }
        if (h->nheaders >= maxn)
            return fail(c, CIO_ETOOBIG, 431, "too many header fields", p);

        const char *q = scan_token(p, lim);
        if (q == lim)
            return stop(c, q, w, 431, toolong);
        if (*q != ':' || q == p) {
            if (q > p && (*q == ' ' || *q == '\t'))
                /* RFC 9112 §5.1 */
                return bad(c, "whitespace between field name and colon", q);
            if (q == p && (*q == ' ' || *q == '\t'))
                /* RFC 9112 §2.2 and §5.2: no leading whitespace, no
                 * obs-fold */
                return bad(c,
                           h->nheaders == 0
                               ? "whitespace before the first field line"
                               : "obs-fold (line folding) in a field",
                           q);
            if (*q == ':')
                return bad(c, "empty field name", q);
            if (*q == '\n')
                return bad(c, "bare LF in the header section", q);
            if (*q == '\r')
                return bad(c, "field line without a colon", q);
            return bad(c, "invalid byte in field name", q);
        }

        const char *v = q + 1;
        while (v < lim && (*v == ' ' || *v == '\t'))
            v++;
        const char *e = H1_SCAN_VALUE(v, lim);
        if (e == lim)
            return stop(c, e, w, 431, toolong);
        if (*e != '\r')
            return bad(c,
                       *e == '\n' ? "bare LF in a field line"
                                  : "invalid byte in field value",
                       e);
        if (e + 1 >= lim)
            return stop(c, e + 1, w, 431, toolong);
        if (e[1] != '\n')
            return bad(c, "bare CR in a field value", e);

        const char *ve = e;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        struct cio__h1_header *f = &h->headers[h->nheaders++];
        f->name = (struct cio_str){p, (size_t)(q - p)};
        f->value = (struct cio_str){v, (size_t)(ve - v)};
        h->st.pos = (size_t)(e + 2 - c->buf);
    }
}

/* One call of the parser after the checks in parse() (h1_parse.c). */
H1_ATTR static ptrdiff_t H1_FN(parse)(const char *buf, size_t len,
                                      struct cio__h1_head *h, int resp,
                                      const struct cio__h1_limits *l)
{
    struct ctx c = {h, buf, buf + len, resp};
    ptrdiff_t rc;

    if (h->st.phase == CIO__H1_PHASE_START) {
        /* Most messages start with their start line right away. */
        const char *p = buf + h->st.pos;
        if (p == c.end || *p == '\r' || *p == '\n') {
            rc = skip_empty(&c);
            if (rc != 0)
                return rc;
        }
        uint32_t max_line = or_default(l->max_line, CIO__H1_MAX_LINE);
        rc = resp ? H1_FN(status_line)(&c, max_line)
                  : H1_FN(request_line)(&c, max_line);
        if (rc != 0)
            return rc;
        h->st.phase = CIO__H1_PHASE_FIELDS;
        h->st.head_start = h->st.pos;
        h->nheaders = 0;
    }
    size_t maxn = or_default(l->max_fields, CIO__H1_MAX_FIELDS);
    if (h->maxheaders < maxn)
        maxn = h->maxheaders;
    return H1_FN(field_lines)(&c, or_default(l->max_field, CIO__H1_MAX_FIELD),
                              or_default(l->max_head, CIO__H1_MAX_HEAD), maxn);
}
