/* SPDX-License-Identifier: MIT */
#include "server/range.h"

#include <stdbool.h>

#include "http/token.h"

/* Reads 1*DIGIT at *p, saturating at UINT64_MAX. Returns false if there is
 * no digit. */
static bool read_num(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        s++;
    }
    if (s == *p)
        return false;
    *p = s;
    *out = v;
    return true;
}

/* Whether a and b overlap, touch or leave at most CIO__RANGE_GAP bytes
 * between them. */
static bool near(const struct cio__range *a, const struct cio__range *b)
{
    const struct cio__range *lo = a->first <= b->first ? a : b;
    const struct cio__range *hi = lo == a ? b : a;
    return lo->last >= hi->first || hi->first - lo->last - 1 <= CIO__RANGE_GAP;
}

/*
 * Inserts r into the sorted, coalesced set out[0..*n): merges it with every
 * range it is near (a merge can make it near the next one too), else puts
 * it in its place. Returns false when a new slot is needed and there are
 * already max.
 */
static bool insert(struct cio__range *out, size_t *n, size_t max,
                   struct cio__range r)
{
    size_t i = 0;

    while (i < *n && out[i].last < r.first && !near(&out[i], &r))
        i++;
    /* out[i..) all start after r ends, or out[i] is near r. */
    size_t j = i;
    while (j < *n && near(&out[j], &r)) {
        if (out[j].first < r.first)
            r.first = out[j].first;
        if (out[j].last > r.last)
            r.last = out[j].last;
        j++;
    }
    if (j > i) {
        /* out[i..j) merge into r: one slot replaces j - i. */
        out[i] = r;
        for (size_t k = j; k < *n; k++)
            out[i + 1 + k - j] = out[k];
        *n -= j - i - 1;
        return true;
    }
    if (*n == max)
        return false;
    for (size_t k = *n; k > i; k--)
        out[k] = out[k - 1];
    out[i] = r;
    (*n)++;
    return true;
}

int cio__range_parse(struct cio_str hdr, uint64_t size, struct cio__range *out,
                     size_t max, size_t *n)
{
    const char *p = hdr.ptr, *end = hdr.ptr + hdr.len;
    struct cio__range set[CIO__RANGE_MAX_SPECS];
    size_t nset = 0, nspecs = 0;
    bool too_many = false;

    if (max == 0)
        max = 1;
    if (max > CIO__RANGE_MAX_SPECS)
        max = CIO__RANGE_MAX_SPECS;
    /* RFC 9110 §14.1: range-unit "=" range-set; units are case-insensitive
     * and no whitespace is allowed around "=". */
    if (hdr.ptr == NULL || hdr.len < 6 || !CIO__TOK_IEQ(p, 6, "bytes="))
        return 200;
    p += 6;
    /* range-set = 1#range-spec: OWS around commas, empty elements allowed
     * (RFC 9110 §5.6.1), at least one spec. */
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        if (++nspecs > CIO__RANGE_MAX_SPECS)
            return 200;
        uint64_t a, b;
        struct cio__range r;
        bool ok;
        if (*p == '-') {
            p++;
            if (!read_num(&p, end, &b))
                return 200;
            /* suffix-range: the last b bytes; "-0" and anything on an
             * empty file are unsatisfiable. */
            ok = b > 0 && size > 0;
            r.first = b >= size ? 0 : size - b;
            r.last = size - 1;
        } else {
            if (!read_num(&p, end, &a) || p == end || *p != '-')
                return 200;
            p++;
            if (read_num(&p, end, &b)) {
                if (a > b)
                    return 200; /* invalid: the field is ignored */
            } else {
                b = UINT64_MAX;
            }
            ok = a < size;
            r.first = a;
            r.last = b >= size ? size - 1 : b;
        }
        /* The element must end here: OWS then ',' or the end. */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p != ',')
            return 200;
        if (ok && !too_many && !insert(set, &nset, max, r))
            too_many = true; /* keep checking the syntax */
    }
    if (nspecs == 0)
        return 200;
    if (too_many)
        return 200;
    if (nset == 0)
        return 416;
    for (size_t i = 0; i < nset; i++)
        out[i] = set[i];
    *n = nset;
    return 206;
}
