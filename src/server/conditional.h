/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_CONDITIONAL_H
#define CIO_SERVER_CONDITIONAL_H

/*
 * Validators and conditional requests (RFC 9110 §8.8, §13), pure code.
 *
 * ETags of files are STRONG, made of the size, the modification time in
 * nanoseconds and the inode number: "<size>-<mtime s>.<ns>-<inode>" in
 * hex. Strong because If-Range (resuming a download) and If-Match only
 * use the strong comparison: a weak tag would turn every resume into a
 * full 200. The tag changes when the bytes change as long as a write also
 * moves the mtime or the size; the inode catches a file replaced by
 * rename with its old mtime preserved (rsync -t, tar), the usual way
 * sites are deployed. The cost: two servers holding copies of a file give
 * different tags. Representations that are not byte-for-byte stable
 * (on-the-fly compression, whose bytes depend on the library and level)
 * get a weak tag instead (cio__etag_make's weak flag).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <corio/http/common.h>

/* Room for any tag cio__etag_make writes, with the NUL. */
#define CIO__ETAG_MAX 80

/*
 * Writes the tag for a file into buf (CIO__ETAG_MAX bytes), quoted, with
 * "W/" in front when weak, and suffix (e.g. "br", NULL = none) appended
 * inside the quotes after a '-', so each content coding of one file has
 * its own tag (RFC 9110 §8.8.3.3). Returns the length (without the NUL).
 */
size_t cio__etag_make(char *buf, uint64_t size, int64_t mtime_s, long mtime_ns,
                      uint64_t ino, bool weak, const char *suffix);

/* RFC 9110 §8.8.3.2 comparisons of two entity-tags (with their quotes and
 * optional W/). The strong one is false when either is weak. */
bool cio__etag_strong_eq(struct cio_str a, struct cio_str b);
bool cio__etag_weak_eq(struct cio_str a, struct cio_str b);

/* The representation's current validators. */
struct cio__validators {
    struct cio_str etag; /* quoted entity-tag; ptr NULL = none */
    bool has_mtime;
    time_t mtime;      /* Last-Modified, whole seconds */
    bool mtime_strong; /* Last-Modified is strong (RFC 9110 §8.8.2.2: at
                          * least a second older than now); If-Range by
                          * date needs it */
};

/* The request's conditional fields (each the field's value, several lines
 * of a list field joined with ", "; ptr NULL = absent). */
struct cio__cond_req {
    struct cio_str if_match;
    struct cio_str if_none_match;
    struct cio_str if_modified_since;
    struct cio_str if_unmodified_since;
    struct cio_str if_range;
    bool get_or_head; /* the method is GET or HEAD */
    bool has_range;   /* a Range field is present (GET) */
};

/*
 * Evaluates the preconditions in RFC 9110 §13.2.2's order and returns:
 *   412  If-Match fails (strong comparison; "*" matches; a malformed list
 *        matches nothing), or, without If-Match, If-Unmodified-Since is a
 *        valid date earlier than the mtime;
 *   304  If-None-Match matches (weak comparison, "*" matches) on GET/HEAD
 *        (412 on other methods), or, without If-None-Match, on GET/HEAD,
 *        If-Modified-Since is a valid date and the mtime is not later;
 *   206  has_range, and If-Range is absent or holds (a strong ETag that
 *        matches strongly, or a date equal to a strong mtime): process the
 *        Range;
 *   200  otherwise (send the whole representation; a failed If-Range
 *        ignores the Range).
 * Dates that do not parse (cio_http_date_parse, after trimming OWS) are
 * ignored (§13.1.3-4); so are date conditions when there is no mtime.
 */
int cio__cond_eval(const struct cio__cond_req *rq,
                   const struct cio__validators *v);

#endif
