/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_MULTIPART_H
#define CORIO_HTTP_MULTIPART_H

/*
 * multipart/form-data (RFC 7578, RFC 2046 §5.1, the WHATWG HTML "multipart/
 * form-data encoding algorithm"): a pull encoder that streams a body from
 * fields, memory, file descriptors and paths, and a streaming parser with
 * limits. Neither performs network I/O; the encoder reads the files it was
 * given (see cio_multipart_read).
 */

#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

/* RFC 2046 §5.1.1: a boundary has 1 to 70 characters. */
#define CIO_MULTIPART_BOUNDARY_MAX 70

/*
 * Extracts the boundary parameter (quoted or not) of a Content-Type value
 * such as "multipart/form-data; boundary=abc" into out (NUL-terminated).
 * Returns its length (1..70), CIO_ENOTSUP if the media type is not
 * multipart/form-data, or CIO_EPROTO if the value is malformed, the
 * parameter is missing or repeated, longer than 70 characters, or uses a
 * character outside RFC 2046 bchars. cio_last_error() says which.
 */
CIO_API int cio_multipart_boundary(struct cio_str content_type,
                                   char out[CIO_MULTIPART_BOUNDARY_MAX + 1]);

/* ================================================================ encoder */

/*
 * A multipart/form-data body being built, then read out in pieces:
 *
 *     cio_multipart *mp;
 *     cio_multipart_new(&mp, NULL);
 *     cio_multipart_add_field(mp, "title", cio_str_c("hello"));
 *     cio_multipart_add_file_path(mp, &(struct cio_multipart_file){
 *         .name = "doc", .content_type = "application/pdf"}, "report.pdf");
 *     header "Content-Type: " cio_multipart_content_type(mp)
 *     length = cio_multipart_length(mp)      (-1: send it chunked)
 *     while ((n = cio_multipart_read(mp, buf, sizeof(buf))) > 0)
 *         send buf[0..n)
 *     cio_multipart_free(mp);
 *
 * The output is
 *     "--" B CRLF headers CRLF content CRLF   (for each part)
 *     "--" B "--" CRLF
 * with headers "Content-Disposition: form-data; name="..."[; filename="..."]"
 * and, if set, "Content-Type: ...". Names and filenames are sent as given
 * (UTF-8 bytes, no filename*: RFC 7578 §4.2, as browsers do), with the
 * WHATWG escapes '"' -> %22, CR -> %0D, LF -> %0A, and likewise '\\' and
 * every other control byte except HTAB as %XX, so that a header is always
 * well formed and reads the same to WHATWG and RFC 9110 quoted-string
 * parsers (which take a backslash as an escape).
 *
 * Not thread-safe; one user at a time.
 */
typedef struct cio_multipart cio_multipart;

struct cio_multipart_opts {
    /* NULL = a random boundary ("----cio" + 32 hex digits from getrandom(2))
     * chosen anew whenever an in-memory part contains it. Set: 1..70 RFC
     * 2046 bchars (for tests and reproducible output); a part containing
     * it is then refused with CIO_EINVAL. */
    const char *boundary;
};

/*
 * Creates an empty body. opts may be NULL; it is not kept.
 * Errors: CIO_EINVAL (bad boundary), CIO_ENOMEM, -errno from getrandom.
 */
CIO_API int cio_multipart_new(cio_multipart **out,
                              const struct cio_multipart_opts *opts);

/* Frees the body and closes any file it opened (never a caller's fd).
 * NULL ok. */
CIO_API void cio_multipart_free(cio_multipart *mp);

/*
 * Appends a field: Content-Disposition with name only, no Content-Type.
 * name and value are copied. Parts can be added only before the first call
 * to cio_multipart_content_type, _length or _read (CIO_EINVAL after).
 * Errors: CIO_EINVAL, CIO_ETOOBIG (more than 65536 parts), CIO_ENOMEM.
 */
CIO_API int cio_multipart_add_field(cio_multipart *mp, const char *name,
                                    struct cio_str value);

/* Describes a file part; copied by the add functions. */
struct cio_multipart_file {
    const char *name; /* the form field name; required */
    /* NULL: no filename parameter (the part is a plain field whose value
     * comes from the source), except for _add_file_path, where NULL means
     * the path's last component. "" is sent as filename="". */
    const char *filename;
    /* NULL or "": "application/octet-stream" if the part has a filename,
     * else no Content-Type. CR, LF and other control bytes -> CIO_EHEADER. */
    const char *content_type;
};

/* A file from memory: data[0..len) is copied. Errors as _add_field, plus
 * CIO_EHEADER (content_type). */
CIO_API int cio_multipart_add_file_data(cio_multipart *mp,
                                        const struct cio_multipart_file *f,
                                        const void *data, size_t len);

/*
 * A file from a descriptor the caller keeps open (and owns) until the body
 * is freed. For a regular file the part is bytes [offset, offset + length)
 * read with pread(2), so reads do not move the file offset and
 * cio_multipart_rewind works; length -1 means "to the end of the file as it
 * is now" (fstat at this call). Any other descriptor (pipe, socket,
 * character device) is read with read(2) from its current position: offset
 * must be 0, and length -1 means "until EOF" (the total length is then
 * unknown: cio_multipart_length returns -1).
 * Errors as _add_file_data, plus CIO_EINVAL (offset/length beyond a regular
 * file's end), -errno from fstat.
 */
CIO_API int cio_multipart_add_file_fd(cio_multipart *mp,
                                      const struct cio_multipart_file *f,
                                      int fd, int64_t offset, int64_t length);

/*
 * A file by path: stat(2) now (a missing path fails here, with -ENOENT;
 * a directory with -EISDIR), opened when the body reaches it and closed
 * when its last byte is read. A regular file sends the size it had at this
 * call; if it shrinks before being read, the read fails with -EIO (the
 * announced Content-Length would otherwise be a lie), and if it grows the
 * extra bytes are not sent. Anything else (a FIFO) is read until EOF and
 * makes the total length unknown. If the path is replaced by a non-regular
 * file in between, the read fails with -EIO.
 */
CIO_API int cio_multipart_add_file_path(cio_multipart *mp,
                                        const struct cio_multipart_file *f,
                                        const char *path);

/*
 * The Content-Type header value, "multipart/form-data; boundary=...".
 * Seals the body (no more parts). Borrowed; valid until the body is freed.
 */
CIO_API const char *cio_multipart_content_type(cio_multipart *mp);

/*
 * The exact body length for Content-Length, or -1 if a part's size is not
 * known in advance (a pipe, a FIFO): then the body is sent chunked. Seals.
 */
CIO_API int64_t cio_multipart_length(cio_multipart *mp);

/*
 * Copies the next bytes of the body into buf[0..cap): returns how many
 * (> 0; fewer than cap only near the end or when a non-regular source has
 * no more bytes ready), 0 once the body is complete, or an error. Seals.
 *
 * Reading a file part calls pread(2)/read(2) on it, which may block (a slow
 * disk, a network file system, a FIFO): this call is "bytes from the
 * caller's source" and knows nothing of the event loop. The client reads
 * bodies with file parts of any size on the executor (cio_blocking) so the
 * loop never stalls; memory-only bodies never block. A non-blocking
 * descriptor with nothing ready gives CIO_EAGAIN if no byte was produced.
 *
 * Errors (sticky until cio_multipart_rewind): CIO_EINVAL (cap == 0), -EIO
 * (a file shrank or was replaced), CIO_EAGAIN, -errno from open/read.
 */
CIO_API ptrdiff_t cio_multipart_read(cio_multipart *mp, void *buf, size_t cap);

/*
 * Restarts reading from the first byte (to resend the body after a 307/308
 * redirect or a retry), closing any file opened by path. CIO_ENOTSUP if a
 * part reads a non-regular descriptor (its bytes cannot be read twice).
 */
CIO_API int cio_multipart_rewind(cio_multipart *mp);

/* ================================================================ parser */

/*
 * A streaming multipart/form-data parser: feed it the request body in
 * pieces of any size and it reports, one at a time, a part's start (its
 * headers parsed), its data as views, its end, and the end of the body.
 * Every split of the same body gives the same events and the same result,
 * except that DATA spans may be cut differently (their concatenation per
 * part is the same) and, when the body fails, how much of the failing
 * part's content was reported before the error may differ.
 *
 * It allocates once, at creation (the part-header buffer, bounded by
 * max_header_bytes), and never performs I/O.
 *
 * What it accepts (RFC 2046 §5.1.1, RFC 7578): an ignored preamble; each
 * delimiter followed by "--" (the end; the epilogue after it is ignored) or
 * by optional spaces/tabs and CRLF; part headers as CRLF-terminated lines
 * "name: value" (a token name, no obs-fold, no control bytes but HTAB in
 * values), at most 32 of them; exactly one Content-Disposition of type
 * form-data with a name parameter, at most one Content-Type. Other headers
 * (Content-Transfer-Encoding included, RFC 7578 §4.7) are reported but not
 * acted on: data is passed through unchanged.
 *
 * Errors, and the HTTP status a server should answer with:
 *   CIO_EPROTO   400: malformed framing or Content-Disposition, no closing
 *                delimiter at cio_multipart_parser_finish, a filename*
 *                that decodes to a control byte such as NUL (the body is
 *                rejected: a NUL is never cut at or dropped);
 *   CIO_EHEADER  400: a malformed part header line (a raw NUL or other
 *                control byte in a filename is one), more than 32
 *                headers, or a header section above max_header_bytes;
 *   CIO_ETOOBIG  413: more than max_parts parts, a part above its size
 *                limit, or more than max_body_bytes in total.
 * An error is final: every later call returns it again.
 */
typedef struct cio_multipart_parser cio_multipart_parser;

struct cio_multipart_parser_opts {
    uint32_t max_parts;        /* 0 = 1000 (CVE-2023-24998); more -> ETOOBIG */
    uint32_t max_header_bytes; /* one part's header section with its CRLFs;
                                * 0 = 8 KiB, at most 1 MiB; more -> EHEADER */
    uint64_t max_field_bytes;  /* data of a part without filename; 0 = 1 MiB */
    uint64_t max_file_bytes;   /* data of a part with filename; 0 = no limit */
    uint64_t max_body_bytes;   /* every byte fed, preamble and epilogue too;
                                * 0 = no limit (the server's body limit) */
};

enum cio_multipart_event_type {
    CIO_MULTIPART_NONE = 0,   /* nothing to report: feed the rest / more */
    CIO_MULTIPART_PART_BEGIN, /* a part's headers were read */
    CIO_MULTIPART_DATA,       /* some bytes of the current part's content */
    CIO_MULTIPART_PART_END,   /* the current part's content is complete */
    CIO_MULTIPART_END,        /* the closing delimiter: the body is complete */
};

struct cio_multipart_header {
    struct cio_str name, value; /* value without surrounding whitespace */
};

struct cio_multipart_event {
    enum cio_multipart_event_type type;
    uint32_t part; /* index of the part concerned, from 0; END: the count */
    /*
     * PART_BEGIN. name: the Content-Disposition name, unquoted. filename
     * (has_filename set if the header had a filename or filename*
     * parameter): unquoted, filename*=UTF-8''... percent-decoded when no
     * plain filename is given, then reduced to its last component after any
     * '/' or '\\', with "." and ".." becoming "": never a path, never
     * contains NUL, may be empty. Browsers' %22/%0D/%0A escapes are not
     * decoded. content_type: the raw value, {NULL, 0} if absent. headers:
     * all header lines of the part, in order.
     * These views stay valid while the part lasts: through its DATA and
     * PART_END events, until the call after PART_END.
     */
    struct cio_str name, filename, content_type;
    unsigned has_filename : 1;
    const struct cio_multipart_header *headers;
    size_t nheaders;
    /*
     * DATA: never empty. Points into the caller's buffer or into the parser
     * (bytes held back because they might have started a delimiter); valid
     * until the next call on the parser or until the caller's buffer
     * changes.
     */
    struct cio_str data;
};

/*
 * Creates a parser for a body whose Content-Type header value is
 * content_type (see cio_multipart_boundary). opts may be NULL.
 * Errors: those of cio_multipart_boundary, CIO_EINVAL (opts), CIO_ENOMEM.
 */
CIO_API int
cio_multipart_parser_new(cio_multipart_parser **out,
                         struct cio_str content_type,
                         const struct cio_multipart_parser_opts *opts);

/* NULL ok. */
CIO_API void cio_multipart_parser_free(cio_multipart_parser *p);

/*
 * Consumes a prefix of buf[0..len) and fills *ev with at most one event.
 * Returns the number of bytes consumed (possibly 0 when an event is
 * reported, e.g. held-back DATA), or a negative error. Call it again with
 * the rest until nothing is left, then feed the next piece:
 *
 *     while (len > 0) {
 *         ptrdiff_t n = cio_multipart_parser_feed(p, buf, len, &ev);
 *         if (n < 0)
 *             return n;
 *         buf += n, len -= n;
 *         if (ev.type != CIO_MULTIPART_NONE)
 *             handle(&ev);
 *     }
 *
 * Every call either consumes a byte or reports an event, and a call that
 * consumes nothing is followed by one that does, so the loop ends. After
 * END, bytes (the epilogue) are consumed and ignored. cio_last_error()
 * names what was wrong.
 */
CIO_API ptrdiff_t cio_multipart_parser_feed(cio_multipart_parser *p,
                                            const char *buf, size_t len,
                                            struct cio_multipart_event *ev);

/*
 * Call at the end of the body: 0 if the closing delimiter was seen, else
 * CIO_EPROTO (a truncated body: a 400), or the earlier error.
 */
CIO_API int cio_multipart_parser_finish(cio_multipart_parser *p);

#endif
