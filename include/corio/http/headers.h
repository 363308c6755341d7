/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_HEADERS_H
#define CORIO_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include <corio/http/common.h>

/*
 * An ordered multimap of HTTP fields (aiohttp's CIMultiDict): names are
 * looked up case-insensitively but keep the case they were added with, and
 * fields keep their insertion order, duplicates included.
 *
 * Nothing unsafe can enter a map, so nothing unsafe can be written out of
 * one (header injection, response splitting; RELIABILITY.md D.42, D.44):
 *   - a name must be an RFC 9110 §5.6.2 token (1*tchar: letters, digits and
 *     !#$%&'*+-.^_`|~), so never empty and never with ':', SP, CTL or
 *     non-ASCII bytes;
 *   - a value must not contain NUL, CR, LF, DEL or any other control byte
 *     except HTAB. Bytes 0x80-0xff (obs-text) are kept as given.
 *   - leading and trailing SP/HTAB of a value are TRIMMED, as a parser does
 *     (RFC 9110 §5.5); whitespace inside a value is kept. Only SP and HTAB
 *     count as whitespace (never 0xa0 or 0x85).
 * A refused field fails with CIO_EHEADER and cio_last_error() names it, e.g.
 *   header name "X:Y" is not a token
 *   value of header "X-A" contains CR
 * (unprintable bytes shown as \xNN). Then the map is unchanged.
 *
 * Ceilings: a field counts as name + value + 4 bytes (its "Name: value\r\n"
 * wire size). An insertion that would take the map above max_bytes or
 * max_fields fails with CIO_ETOOBIG (and leaves the map unchanged).
 *
 * Strings live in one buffer owned by the map, NUL-terminated, so every
 * returned `const char *` is a complete C string (values cannot hold NUL).
 * Returned pointers and views stay valid until the next call that may
 * modify the map (add, set, remove, clear, free), whatever that call
 * returns; they may be passed to that call, e.g. set(h, "A", get(h, "B")). Lookups are linear with a cheap length and first-byte check:
 * maps are meant to hold tens of fields, not thousands.
 *
 * A map is not thread-safe; distinct maps may be used from distinct threads.
 */
typedef struct cio_headers cio_headers;

struct cio_headers_opts {
    size_t max_bytes;  /* sum of name + value + 4 per field; 0 = 64 KiB */
    size_t max_fields; /* 0 = 200 */
};

/* One field. Both views are also NUL-terminated. */
struct cio_field {
    struct cio_str name;
    struct cio_str value;
};

/* Creates an empty map; opts may be NULL (defaults). Errors: CIO_ENOMEM. */
CIO_API int cio_headers_new(cio_headers **out,
                            const struct cio_headers_opts *opts);

/* A deep copy with the same fields, order and limits. Errors: CIO_ENOMEM. */
CIO_API int cio_headers_clone(cio_headers **out, const cio_headers *h);

/* Frees the map and its strings. NULL is fine. */
CIO_API void cio_headers_free(cio_headers *h);

/* Removes every field; keeps the limits and the memory. */
CIO_API void cio_headers_clear(cio_headers *h);

/*
 * Appends a field, after any others of the same name.
 * Errors: CIO_EHEADER (see above), CIO_ETOOBIG, CIO_ENOMEM, CIO_EINVAL
 * (NULL name or value).
 */
CIO_API int cio_headers_add(cio_headers *h, const char *name,
                            const char *value);

/* The same with views; a NUL byte inside a view is refused (CIO_EHEADER). */
CIO_API int cio_headers_add_str(cio_headers *h, struct cio_str name,
                                struct cio_str value);

/*
 * Replaces every field named `name` by one field name: value. The new
 * field takes the place of the first old one (so the order of the other
 * fields is kept), or is appended if there was none. Errors: as for add;
 * on error the map is unchanged.
 */
CIO_API int cio_headers_set(cio_headers *h, const char *name,
                            const char *value);
CIO_API int cio_headers_set_str(cio_headers *h, struct cio_str name,
                                struct cio_str value);

/* Removes every field named `name`; returns how many were removed. */
CIO_API size_t cio_headers_remove(cio_headers *h, const char *name);

/* The value of the first field named `name`, or NULL if there is none. */
CIO_API const char *cio_headers_get(const cio_headers *h, const char *name);
CIO_API const char *cio_headers_get_str(const cio_headers *h,
                                        struct cio_str name);

/*
 * Iterates over the values of `name` in order. Start with *pos = 0; each
 * call returns the next value and advances *pos, then NULL at the end:
 *     size_t pos = 0;
 *     for (const char *v = cio_headers_next(h, "set-cookie", &pos);
 *          v != NULL; v = cio_headers_next(h, "set-cookie", &pos))
 */
CIO_API const char *cio_headers_next(const cio_headers *h, const char *name,
                                     size_t *pos);

/*
 * Stores up to max values of `name` in vals[], in order, and returns how
 * many fields have that name (which may be more than max).
 */
CIO_API size_t cio_headers_get_all(const cio_headers *h, const char *name,
                                   const char **vals, size_t max);

/* The number of fields, and of fields named `name`. */
CIO_API size_t cio_headers_count(const cio_headers *h);
CIO_API size_t cio_headers_count_name(const cio_headers *h, const char *name);

/* The current size as counted against max_bytes. */
CIO_API size_t cio_headers_bytes(const cio_headers *h);

/* Field i (0 <= i < count) in order. Errors: CIO_EINVAL if i is too big. */
CIO_API int cio_headers_at(const cio_headers *h, size_t i,
                           struct cio_field *out);

/*
 * Writes the values of `name` joined with ", " (RFC 9110 §5.3: the same
 * meaning as separate lines for list-based fields; not for Set-Cookie) into
 * buf, NUL-terminated, and returns the length without the NUL. No field
 * gives "" and 0 (an empty list). Errors: CIO_ETOOBIG if buf (cap bytes)
 * cannot hold it all with the NUL; then buf is untouched.
 */
CIO_API ptrdiff_t cio_headers_join(const cio_headers *h, const char *name,
                                   char *buf, size_t cap);

/*
 * True if a field named `name` holds `token` as a list element, compared
 * case-insensitively; an element's parameters are ignored ("close",
 * "keep-alive, Upgrade", "gzip, chunked", "trailers, deflate;q=0.5").
 * Every field of that name is searched. Quoted strings are skipped as a
 * whole, so a comma inside quotes does not split an element.
 */
CIO_API bool cio_headers_has_token(const cio_headers *h, const char *name,
                                   const char *token);

/*
 * Splits a comma-separated list (RFC 9110 §5.6.1), one element per call:
 * *list is the rest of the list, advanced past the element returned in
 * *elem (trimmed of SP/HTAB, never empty: empty elements are skipped, as
 * the RFC requires of recipients). Commas inside quoted strings do not
 * split. Returns false once no element is left.
 */
CIO_API bool cio_list_next(struct cio_str *list, struct cio_str *elem);

/* True if s is an RFC 9110 token (1*tchar). */
CIO_API bool cio_is_token(struct cio_str s);

#endif
