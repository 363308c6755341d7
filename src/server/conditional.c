/* SPDX-License-Identifier: MIT */
#include "server/conditional.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <corio/http/headers.h>
#include <corio/http/misc.h>

size_t cio__etag_make(char *buf, uint64_t size, int64_t mtime_s, long mtime_ns,
                      uint64_t ino, bool weak, const char *suffix)
{
    /* Longest: W/"16-16.8-16-<suffix>" with a short suffix: < 80. */
    int n = snprintf(buf, CIO__ETAG_MAX,
                     "%s\"%" PRIx64 "-%" PRIx64 ".%lx-%" PRIx64 "%s%.8s\"",
                     weak ? "W/" : "", size, (uint64_t)mtime_s,
                     (unsigned long)mtime_ns, ino, suffix ? "-" : "",
                     suffix ? suffix : "");
    return n < 0 ? 0 : (size_t)n;
}

/* Splits an entity-tag (RFC 9110 §8.8.3): [W/] DQUOTE *etagc DQUOTE.
 * Returns false if t is not one. */
static bool etag_split(struct cio_str t, bool *weak, struct cio_str *opaque)
{
    *weak = false;
    if (t.len >= 2 && t.ptr[0] == 'W' && t.ptr[1] == '/') {
        *weak = true;
        t.ptr += 2;
        t.len -= 2;
    }
    if (t.len < 2 || t.ptr[0] != '"' || t.ptr[t.len - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        /* etagc = %x21 / %x23-7E / obs-text */
        if (c < 0x21 || c == '"' || c == 0x7f)
            return false;
    }
    *opaque = t;
    return true;
}

static bool etag_eq(struct cio_str a, struct cio_str b, bool strong)
{
    bool wa, wb;
    struct cio_str oa, ob;

    if (!etag_split(a, &wa, &oa) || !etag_split(b, &wb, &ob))
        return false;
    if (strong && (wa || wb))
        return false;
    return oa.len == ob.len && memcmp(oa.ptr, ob.ptr, oa.len) == 0;
}

bool cio__etag_strong_eq(struct cio_str a, struct cio_str b)
{
    return etag_eq(a, b, true);
}

bool cio__etag_weak_eq(struct cio_str a, struct cio_str b)
{
    return etag_eq(a, b, false);
}

/* Whether the list field (If-Match / If-None-Match) matches tag: "*"
 * (alone) matches any current representation; otherwise any element that
 * compares equal. Malformed elements match nothing. */
static bool list_matches(struct cio_str field, struct cio_str tag, bool strong)
{
    struct cio_str rest = field, el;

    while (cio_list_next(&rest, &el)) {
        if (el.len == 1 && el.ptr[0] == '*')
            return true;
        if (tag.ptr != NULL && etag_eq(el, tag, strong))
            return true;
    }
    return false;
}

static bool parse_date(struct cio_str s, time_t *out)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s.len > 0 && cio_http_date_parse(s.ptr, s.len, out) == 0;
}

int cio__cond_eval(const struct cio__cond_req *rq,
                   const struct cio__validators *v)
{
    time_t t;

    /* §13.2.2 step 1-2. */
    if (rq->if_match.ptr != NULL) {
        if (!list_matches(rq->if_match, v->etag, true))
            return 412;
    } else if (rq->if_unmodified_since.ptr != NULL && v->has_mtime &&
               parse_date(rq->if_unmodified_since, &t) && v->mtime > t) {
        return 412;
    }
    /* Step 3-4. */
    if (rq->if_none_match.ptr != NULL) {
        if (list_matches(rq->if_none_match, v->etag, false))
            return rq->get_or_head ? 304 : 412;
    } else if (rq->get_or_head && rq->if_modified_since.ptr != NULL &&
               v->has_mtime && parse_date(rq->if_modified_since, &t) &&
               v->mtime <= t) {
        return 304;
    }
    /* Step 5: If-Range only matters with a Range (§13.1.5). */
    if (!rq->has_range)
        return 200;
    if (rq->if_range.ptr == NULL)
        return 206;
    struct cio_str ir = rq->if_range;
    while (ir.len > 0 && (ir.ptr[0] == ' ' || ir.ptr[0] == '\t')) {
        ir.ptr++;
        ir.len--;
    }
    while (ir.len > 0 &&
           (ir.ptr[ir.len - 1] == ' ' || ir.ptr[ir.len - 1] == '\t'))
        ir.len--;
    if (ir.len > 0 && (ir.ptr[0] == '"' || ir.ptr[0] == 'W')) {
        /* An entity-tag: only a strong match holds (a weak one never). */
        return v->etag.ptr != NULL && cio__etag_strong_eq(ir, v->etag) ? 206
                                                                       : 200;
    }
    /* An HTTP-date must equal a strong Last-Modified exactly (§13.1.5). */
    return v->has_mtime && v->mtime_strong && parse_date(ir, &t) &&
                   t == v->mtime
               ? 206
               : 200;
}
