/* SPDX-License-Identifier: MIT */
#ifndef CIO_SERVER_RANGE_H
#define CIO_SERVER_RANGE_H

/*
 * Range request parsing (RFC 9110 §14), pure code: no I/O, no allocation.
 * Bounded as RELIABILITY.md H (items 77-78) asks, against the
 * CVE-2011-3192 class of amplification: at most CIO__RANGE_MAX_SPECS
 * range-specs are read, the result is sorted and coalesced, and never
 * holds more than max ranges, so the bytes sent are at most the file's
 * size plus the multipart overhead of max parts.
 */

#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

/* One satisfiable byte range, first <= last < size (inclusive, as in
 * Content-Range). */
struct cio__range {
    uint64_t first;
    uint64_t last;
};

/* Range-specs read from one field; more and the field is ignored (200).
 * "bytes=0-,0-,..." x1000 is then a full 200, not a 206 (RELIABILITY 77). */
#define CIO__RANGE_MAX_SPECS 64u

/* Ranges with at most this many bytes between them are merged (RFC 9110 §14.2
 * allows coalescing ranges whose gap is smaller than the overhead of
 * another multipart part, which is about this many bytes). */
#define CIO__RANGE_GAP 80u

/*
 * Evaluates a Range field value hdr against a representation of size bytes
 * and returns the status to answer with:
 *   206  out[0..*n) holds 1 <= *n <= max ranges, sorted by first, each
 *        inside [0, size), with more than CIO__RANGE_GAP bytes between
 *        two (overlapping, adjacent and nearby ranges are merged);
 *   200  the field is ignored: a unit other than "bytes" (case-insensitive),
 *        a syntax error (including first > last, "bytes=5-4", RELIABILITY
 *        78, and other-range), more than CIO__RANGE_MAX_SPECS specs, or
 *        more than max ranges left after coalescing;
 *   416  the field is valid but no range-spec is satisfiable (every
 *        first-pos >= size, or "-0"; any spec on an empty file).
 * A last-pos past the end is clamped; a suffix longer than the file means
 * the whole file. Numbers too large for 64 bits saturate (and are then
 * unsatisfiable or clamped). out and *n are written only for 206; max must
 * be >= 1 (0 is read as 1).
 */
int cio__range_parse(struct cio_str hdr, uint64_t size, struct cio__range *out,
                     size_t max, size_t *n);

#endif
