/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_H1_PARSE_H
#define CIO_HTTP_H1_PARSE_H

/*
 * HTTP/1.1 message heads (RFC 9112): the request line or status line and
 * the header section, then the framing decision for the body. Pure code: no
 * I/O, no allocation. Strict by default and without a lenient mode: every
 * deviation that could let two parsers disagree about where a message ends
 * is an error (docs/internals/h1_parse.md lists the rules and decisions).
 *
 * Two steps:
 *   1. cio__h1_parse_request / cio__h1_parse_response split the head into
 *      views (method, target, version, status, fields) and check syntax and
 *      limits. Incremental: call again with more bytes after CIO_EMORE.
 *   2. cio__h1_request_framing / cio__h1_response_framing interpret the
 *      fields that decide framing and connection handling (Content-Length,
 *      Transfer-Encoding, Host, Connection, Upgrade, Expect).
 *
 * Every rejection carries the status code a server answers with (400, 413,
 * 414, 431, 501, 505; 502 for a malformed response, as a gateway would say)
 * and a static message naming what was wrong; the same message (with the
 * byte offset for head errors) is set for cio_last_error().
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <corio/http/common.h>

#define CIO__H1_MAX_LINE 8192       /* request/status line */
#define CIO__H1_MAX_FIELD 8192      /* one field line */
#define CIO__H1_MAX_HEAD 32768      /* the header section */
#define CIO__H1_MAX_FIELDS 100      /* field lines */
#define CIO__H1_MAX_BODY (1u << 20) /* request Content-Length */

/*
 * Limits; 0 means the default above. Lengths count the bytes of a line
 * without its CRLF. Each limit is checked at the byte that exceeds it, so
 * the result never depends on how the input was split.
 */
struct cio__h1_limits {
    uint32_t max_line;   /* request line (over: 414) or status line */
    uint32_t max_field;  /* one field line (over: 431) */
    uint32_t max_head;   /* the header section after the start line, with
                          * every CRLF and the final empty line (over: 431) */
    uint32_t max_fields; /* field lines (over: 431); also capped by the
                          * caller's array, see maxheaders */
    uint64_t max_body;   /* request Content-Length (over: 413, framing);
                          * UINT64_MAX = no limit */
};

/* One field line: name as received (case kept), value without the OWS
 * around it. Both views point into the parsed buffer. */
struct cio__h1_header {
    struct cio_str name, value;
};

enum cio__h1_phase {
    CIO__H1_PHASE_START = 0, /* before or inside the start line */
    CIO__H1_PHASE_FIELDS,    /* start line done; inside the field lines */
    CIO__H1_PHASE_DONE,      /* a result other than CIO_EMORE was returned */
};

struct cio__h1_head {
    /* Set by the caller (cio__h1_head_init); kept by _reset: */
    struct cio__h1_header *headers; /* array of maxheaders entries */
    size_t maxheaders;
    const struct cio__h1_limits *limits; /* NULL = all defaults */

    /* Results, valid after a call returned > 0: */
    struct cio_str method; /* requests: a token, case kept ("get" is
                             * reported as is; the caller decides 501) */
    struct cio_str target; /* requests: as received, not decoded */
    int minor;             /* HTTP/1.<minor>: 0 or 1 (1.2-1.9 read as 1) */
    int status;            /* responses: 100..599 */
    struct cio_str reason; /* responses: may be empty */
    size_t nheaders;       /* headers[0..nheaders) are filled */

    /* Diagnosis, valid after CIO_EPROTO or CIO_ETOOBIG: */
    int err_status;      /* 400 414 431 505 (requests), 502 (responses) */
    const char *err_msg; /* static, names what was wrong */

    /* Where the parser stopped when it returned CIO_EMORE; private. */
    struct {
        enum cio__h1_phase phase;
        size_t pos;        /* offset of the first line not yet accepted */
        size_t head_start; /* offset of the first field line */
        const char *base;  /* buf of the previous call (views are rebased
                              * when the caller moved the bytes) */
        unsigned nempty;   /* empty lines skipped before the start line */
    } st;
};

/*
 * Parses one request head from buf[0..len). Returns the bytes consumed
 * (> 0: leading empty lines, start line, fields and the final CRLF; the
 * body, if any, starts at buf + n), CIO_EMORE if the head is incomplete,
 * CIO_EPROTO (malformed; err_status 400 or 505) or CIO_ETOOBIG (a limit:
 * err_status 414 or 431), and CIO_EINVAL if called after a final result
 * without cio__h1_head_reset or with len shorter than before.
 *
 * Incremental with a resumable state, at line granularity: after
 * CIO_EMORE, call again with the same bytes plus more (the buffer may move:
 * views already made are rebased). Complete lines are not parsed again, so
 * feeding one byte at a time costs O(line length) per call, not O(head).
 * Any split of the same bytes gives the same result.
 *
 * Views in *h point into buf and stay valid while buf is unchanged. At most
 * 2 empty lines (CRLF) before the request line are ignored (RFC 9112 §2.2).
 * Fields beyond min(maxheaders, limits->max_fields) fail with 431.
 */
ptrdiff_t cio__h1_parse_request(const char *buf, size_t len,
                                struct cio__h1_head *h);

/*
 * Parses one response head; the same contract as cio__h1_parse_request.
 * Sets minor, status (100..599, exactly 3 digits) and reason. A status line
 * without a reason ("HTTP/1.1 200\r\n") is accepted. All errors have
 * err_status 502.
 */
ptrdiff_t cio__h1_parse_response(const char *buf, size_t len,
                                 struct cio__h1_head *h);

/* Prepares h for a first call: sets the three caller fields and clears
 * the state. Zeroing the whole struct and setting the caller fields is
 * equivalent, but slower than parsing a small request. */
void cio__h1_head_init(struct cio__h1_head *h, struct cio__h1_header *headers,
                       size_t maxheaders, const struct cio__h1_limits *limits);

/* Clears the resume state for the next message (keeps headers, maxheaders
 * and limits). Needed after any result other than CIO_EMORE. */
void cio__h1_head_reset(struct cio__h1_head *h);

/* ------------------------------------------------------------ framing */

enum cio__h1_method {
    CIO__H1_M_OTHER = 0, /* any other token, e.g. "get" or "PROPFIND" */
    CIO__H1_M_GET,
    CIO__H1_M_HEAD,
    CIO__H1_M_POST,
    CIO__H1_M_PUT,
    CIO__H1_M_DELETE,
    CIO__H1_M_CONNECT,
    CIO__H1_M_OPTIONS,
    CIO__H1_M_TRACE,
    CIO__H1_M_PATCH,
};

/* Classifies a method (case-sensitive, RFC 9110 §9.1). */
enum cio__h1_method cio__h1_method(struct cio_str m);

enum cio__h1_body {
    CIO__H1_BODY_NONE = 0, /* no body: the next byte starts the next message */
    CIO__H1_BODY_LENGTH,   /* exactly `length` bytes */
    CIO__H1_BODY_CHUNKED,  /* chunked transfer coding */
    CIO__H1_BODY_CLOSE,    /* responses only: until the connection closes */
};

struct cio__h1_framing {
    enum cio__h1_body body;
    uint64_t length;            /* BODY_LENGTH: the Content-Length */
    enum cio__h1_method method; /* requests: the classified method */
    /* Requests: the authority to route on: from an absolute-form or
     * authority-form target if there is one (it wins over Host, RFC 9112
     * §3.2.2), else the Host value (may be empty in HTTP/1.0). */
    struct cio_str authority;
    struct cio_str upgrade_proto; /* upgrade = 1: the first Upgrade value */
    unsigned keep_alive : 1;      /* the connection may carry another message
                                 * after this one (version, Connection,
                                 * framing) */
    unsigned upgrade : 1;         /* request: Upgrade + "Connection: upgrade" in
                                 * HTTP/1.1; response: 101 accepted */
    unsigned connect : 1;         /* request: CONNECT; response: 2xx to it
                                 * (the connection becomes a tunnel) */
    unsigned expect_continue : 1; /* request: "Expect: 100-continue" (1.1) */
    unsigned interim : 1;         /* response: 1xx other than 101; a final
                                 * response head follows (caller caps the
                                 * count, RELIABILITY C.30) */
    unsigned cl_and_te : 1;       /* response had both Content-Length and
                                 * Transfer-Encoding: chunked wins and
                                 * keep_alive is 0 */
    unsigned te_other : 1;        /* response: codings other than chunked in
                                 * Transfer-Encoding (the caller must decode
                                 * them or fail) */

    /* Diagnosis, valid after an error: */
    int err_status;      /* 400 413 501 (requests), 502 (responses) */
    const char *err_msg; /* static */
};

/*
 * Decides the body and the connection handling of a parsed request head
 * (RFC 9112 §6.3, §9.3; RELIABILITY.md A.1-A.6, B.21-B.22). Returns 0 and
 * fills *f, or CIO_EPROTO (err_status 400 or 501), or CIO_ETOOBIG
 * (Content-Length above limits->max_body: 413). On failure only
 * f->err_status and f->err_msg are written. The connection must be closed
 * after any error.
 */
int cio__h1_request_framing(const struct cio__h1_head *h,
                            struct cio__h1_framing *f);

/*
 * The same for a parsed response head. The caller tells what it asked:
 * the request method (HEAD and CONNECT change the rules) and whether it
 * asked for an upgrade (a 101 without one is an error). Returns 0 or
 * CIO_EPROTO (err_status 502).
 */
int cio__h1_response_framing(const struct cio__h1_head *h,
                             enum cio__h1_method req_method,
                             int upgrade_requested, struct cio__h1_framing *f);

/* ------------------------------------------------------------ SIMD */

enum cio__h1_simd {
    CIO__H1_SIMD_NONE = 0, /* portable table-driven scanning */
    CIO__H1_SIMD_SSE2,     /* x86-64 baseline */
    CIO__H1_SIMD_AVX2,     /* x86-64, when the CPU and OS support it */
};

/*
 * The byte scanners used for request-targets, field values and reason
 * phrases. The best supported level is chosen at load time; the environment
 * variable CIO_H1_SIMD=none|sse2|avx2 lowers it. cio__h1_simd_set is a test
 * hook: it selects a level (clamped to what the CPU supports) and returns
 * the level now in use. Not thread-safe against concurrent parsing.
 */
enum cio__h1_simd cio__h1_simd_get(void);
enum cio__h1_simd cio__h1_simd_set(enum cio__h1_simd want);

#endif
