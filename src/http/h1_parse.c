/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 head parser and framing rules. The design (after picohttpparser)
 * is a straight-line parser over the caller's bytes: character classes come
 * from one table (token.h), and the long runs (request-targets, field
 * values) are scanned 16 or 32 bytes at a time for the next byte that ends
 * them. Incomplete input is resumed at the start of the line that was
 * incomplete, so complete lines are never parsed twice.
 *
 * Split invariance: every decision depends only on bytes that lie inside
 * the current line's window (its limit plus CRLF). A scan stops at the first
 * byte that is invalid, or at the end of the window (too long: an error),
 * or at the end of the bytes so far (CIO_EMORE). A longer input can only
 * take the scan further through the same window, so the first decision
 * made is the one every split makes.
 */
#include "http/h1_parse.h"

#include <stdlib.h>
#include <string.h>

#include "base/errmsg.h"
#include "http/token.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define H1_X86 1
#else
#define H1_X86 0
#endif

/* ------------------------------------------------------------ scanners */

static enum cio__h1_simd simd_level = CIO__H1_SIMD_NONE;
static enum cio__h1_simd simd_best = CIO__H1_SIMD_NONE;

static int is_value(char c)
{
    return cio__tok_is(c, CIO__TOK_VALUE);
}

static int is_target(char c)
{
    return cio__tok_is(c, CIO__TOK_TARGET);
}

/* The first byte in [p, end) that cannot be in a field value or reason
 * phrase (a CTL other than HTAB, or DEL; CR ends a valid line), or end. */
static inline const char *value_scalar(const char *p, const char *end)
{
    while (end - p >= 4) {
        if (!is_value(p[0]))
            return p;
        if (!is_value(p[1]))
            return p + 1;
        if (!is_value(p[2]))
            return p + 2;
        if (!is_value(p[3]))
            return p + 3;
        p += 4;
    }
    while (p < end && is_value(*p))
        p++;
    return p;
}

/* The first byte in [p, end) that cannot be in a request-target (SP ends a
 * valid one), or end. */
static inline const char *target_scalar(const char *p, const char *end)
{
    while (end - p >= 4) {
        if (!is_target(p[0]))
            return p;
        if (!is_target(p[1]))
            return p + 1;
        if (!is_target(p[2]))
            return p + 2;
        if (!is_target(p[3]))
            return p + 3;
        p += 4;
    }
    while (p < end && is_target(*p))
        p++;
    return p;
}

/* The first byte in [p, end) that is not a tchar (methods, field names),
 * or end. */
static inline const char *token_scalar(const char *p, const char *end)
{
    while (p < end && cio__tok_is(*p, CIO__TOK_TCHAR))
        p++;
    return p;
}

#if H1_X86
/*
 * The vector versions compute the same predicates as the table, as byte
 * masks. There is no unsigned byte compare, so "c <= 0x1f" is written
 * min(c, 0x1f) == c; a signed compare "c < 0x21" is true for 0x00-0x20 and
 * for 0x80-0xff, which is exactly what a target must not contain.
 */
static inline unsigned value_mask16(__m128i v)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8('\t'));
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_andnot_si128(tab, ctl), del));
}

static inline unsigned target_mask16(__m128i v)
{
    __m128i low = _mm_cmpgt_epi8(_mm_set1_epi8(0x21), v);
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    __m128i hash = _mm_cmpeq_epi8(v, _mm_set1_epi8('#'));
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(low, del), hash));
}

static inline const char *value_sse2(const char *p, const char *end)
{
    while (end - p >= 16) {
        unsigned m = value_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return value_scalar(p, end);
}

static inline const char *target_sse2(const char *p, const char *end)
{
    while (end - p >= 16) {
        unsigned m = target_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return target_scalar(p, end);
}

__attribute__((target("avx2"))) static inline const char *
value_avx2(const char *p, const char *end)
{
    const __m256i c1f = _mm256_set1_epi8(0x1f);
    const __m256i tab = _mm256_set1_epi8('\t');
    const __m256i del = _mm256_set1_epi8(0x7f);
    /* Most values and targets are short: one 16-byte step first. */
    if (end - p >= 16) {
        unsigned m = value_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, c1f), v);
        __m256i bad =
            _mm256_or_si256(_mm256_andnot_si256(_mm256_cmpeq_epi8(v, tab), ctl),
                            _mm256_cmpeq_epi8(v, del));
        unsigned m = (unsigned)_mm256_movemask_epi8(bad);
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        unsigned m = value_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return value_scalar(p, end);
}

__attribute__((target("avx2"))) static inline const char *
target_avx2(const char *p, const char *end)
{
    const __m256i c21 = _mm256_set1_epi8(0x21);
    const __m256i del = _mm256_set1_epi8(0x7f);
    const __m256i hash = _mm256_set1_epi8('#');
    /* Most values and targets are short: one 16-byte step first. */
    if (end - p >= 16) {
        unsigned m = target_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    while (end - p >= 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        __m256i bad =
            _mm256_or_si256(_mm256_or_si256(_mm256_cmpgt_epi8(c21, v),
                                            _mm256_cmpeq_epi8(v, del)),
                            _mm256_cmpeq_epi8(v, hash));
        unsigned m = (unsigned)_mm256_movemask_epi8(bad);
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        unsigned m = target_mask16(_mm_loadu_si128((const __m128i *)p));
        if (m != 0)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return target_scalar(p, end);
}

#endif

/* Field names and methods are short: a table walk beats a vector setup
 * (a nibble-lookup tchar scanner measured slower on real requests). */
static inline const char *scan_token(const char *p, const char *end)
{
    return token_scalar(p, end);
}

__attribute__((constructor)) static void simd_init(void)
{
#if H1_X86
    __builtin_cpu_init();
    simd_best =
        __builtin_cpu_supports("avx2") ? CIO__H1_SIMD_AVX2 : CIO__H1_SIMD_SSE2;
#endif
    simd_level = simd_best;
    const char *env = getenv("CIO_H1_SIMD");
    if (env == NULL)
        return;
    if (strcmp(env, "none") == 0)
        cio__h1_simd_set(CIO__H1_SIMD_NONE);
    else if (strcmp(env, "sse2") == 0)
        cio__h1_simd_set(CIO__H1_SIMD_SSE2);
}

enum cio__h1_simd cio__h1_simd_get(void)
{
    return simd_level;
}

enum cio__h1_simd cio__h1_simd_set(enum cio__h1_simd want)
{
    simd_level = want < simd_best ? want : simd_best;
    return simd_level;
}

/* ------------------------------------------------------------ head */

struct ctx {
    struct cio__h1_head *h;
    const char *buf;
    const char *end;
    int resp;
};

static uint32_t or_default(uint32_t v, uint32_t dflt)
{
    return v != 0 ? v : dflt;
}

static ptrdiff_t fail(const struct ctx *c, int code, int status,
                      const char *msg, const char *at)
{
    c->h->err_status = c->resp ? 502 : status;
    c->h->err_msg = msg;
    c->h->st.phase = CIO__H1_PHASE_DONE;
    return cio__err(code, "%s: %s (byte %zu)", c->resp ? "response" : "request",
                    msg, (size_t)(at - c->buf));
}

static ptrdiff_t bad(const struct ctx *c, const char *msg, const char *at)
{
    return fail(c, CIO_EPROTO, 400, msg, at);
}

/* The end of the window [.., w) (an offset, maybe past the bytes) clipped
 * to the bytes we have. */
static const char *window(const struct ctx *c, size_t w)
{
    size_t len = (size_t)(c->end - c->buf);
    return c->buf + (w < len ? w : len);
}

/* A scan needs the byte at p and there is none: at the end of the window
 * the line or section is too long; before it, more input may complete it. */
static ptrdiff_t stop(const struct ctx *c, const char *p, size_t w, int status,
                      const char *msg)
{
    if ((size_t)(p - c->buf) >= w)
        return fail(c, CIO_ETOOBIG, status, msg, p);
    return CIO_EMORE;
}

/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
 * request line; we take up to 2 (RELIABILITY B.27), for responses too
 * (servers that end a body with a stray CRLF). */
static ptrdiff_t skip_empty(const struct ctx *c)
{
    struct cio__h1_head *h = c->h;
    for (;;) {
        const char *p = c->buf + h->st.pos;
        if (p >= c->end)
            return CIO_EMORE;
        if (*p == '\n')
            return bad(c, "bare LF before the start line", p);
        if (*p != '\r')
            return 0;
        if (p + 1 >= c->end)
            return CIO_EMORE;
        if (p[1] != '\n')
            return bad(c, "bare CR before the start line", p);
        if (h->st.nempty == 2)
            return bad(c, "more than 2 empty lines before the start line", p);
        h->st.nempty++;
        h->st.pos += 2;
    }
}

/* RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
 * Checks the 8 bytes at v as far as they go. */
static inline __attribute__((always_inline)) ptrdiff_t
version(const struct ctx *c, const char *v, size_t w, int toobig_status,
        const char *toobig_msg, int *major, int *minor)
{
    const char *lim = window(c, w);
    /* The common case in one comparison. */
    if (lim - v >= 8 && memcmp(v, "HTTP/1.", 7) == 0 && v[7] >= '0' &&
        v[7] <= '9') {
        *major = 1;
        *minor = v[7] - '0';
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        if (v + i >= lim)
            return stop(c, v + i, w, toobig_status, toobig_msg);
        char ch = v[i];
        int ok;
        if (i < 5)
            ok = ch == "HTTP/"[i];
        else if (i == 6)
            ok = ch == '.';
        else
            ok = ch >= '0' && ch <= '9';
        if (!ok)
            return bad(c, "malformed HTTP version", v + i);
    }
    *major = v[5] - '0';
    *minor = v[7] - '0';
    return 0;
}

/* The caller moved the bytes between calls: move the views made so far.
 * Offsets are taken as integers, so nothing reads the old buffer. */
static void rebase_str(struct cio_str *s, const char *old, const char *buf)
{
    if (s->ptr != NULL)
        s->ptr = buf + ((uintptr_t)s->ptr - (uintptr_t)old);
}

static void rebase(struct cio__h1_head *h, const char *buf)
{
    const char *old = h->st.base;
    if (h->st.phase != CIO__H1_PHASE_FIELDS)
        return;
    rebase_str(&h->method, old, buf);
    rebase_str(&h->target, old, buf);
    rebase_str(&h->reason, old, buf);
    for (size_t i = 0; i < h->nheaders; i++) {
        rebase_str(&h->headers[i].name, old, buf);
        rebase_str(&h->headers[i].value, old, buf);
    }
}

#define H1_FN(name) name##_portable
#define H1_ATTR
#define H1_SCAN_VALUE value_scalar
#define H1_SCAN_TARGET target_scalar
#include "http/h1_parse_tmpl.h"
#undef H1_FN
#undef H1_ATTR
#undef H1_SCAN_VALUE
#undef H1_SCAN_TARGET

#if H1_X86
#define H1_FN(name) name##_sse2
#define H1_ATTR
#define H1_SCAN_VALUE value_sse2
#define H1_SCAN_TARGET target_sse2
#include "http/h1_parse_tmpl.h"
#undef H1_FN
#undef H1_ATTR
#undef H1_SCAN_VALUE
#undef H1_SCAN_TARGET

#define H1_FN(name) name##_avx2
#define H1_ATTR __attribute__((target("avx2")))
#define H1_SCAN_VALUE value_avx2
#define H1_SCAN_TARGET target_avx2
#include "http/h1_parse_tmpl.h"
#undef H1_FN
#undef H1_ATTR
#undef H1_SCAN_VALUE
#undef H1_SCAN_TARGET
#endif

static ptrdiff_t parse(const char *buf, size_t len, struct cio__h1_head *h,
                       int resp)
{
    static const struct cio__h1_limits defaults;
    const struct cio__h1_limits *l = h->limits != NULL ? h->limits : &defaults;

    if (h->st.phase == CIO__H1_PHASE_DONE)
        return cio__err(CIO_EINVAL, "h1 parse: head already complete");
    if (len < h->st.pos || (buf == NULL && len > 0))
        return cio__err(CIO_EINVAL, "h1 parse: input shorter than before");
    if (h->st.base != NULL && h->st.base != buf)
        rebase(h, buf);
    h->st.base = buf;
#if H1_X86
    if (simd_level == CIO__H1_SIMD_AVX2)
        return parse_avx2(buf, len, h, resp, l);
    if (simd_level == CIO__H1_SIMD_SSE2)
        return parse_sse2(buf, len, h, resp, l);
#endif
    return parse_portable(buf, len, h, resp, l);
}

ptrdiff_t cio__h1_parse_request(const char *buf, size_t len,
                                struct cio__h1_head *h)
{
    return parse(buf, len, h, 0);
}

ptrdiff_t cio__h1_parse_response(const char *buf, size_t len,
                                 struct cio__h1_head *h)
{
    return parse(buf, len, h, 1);
}

void cio__h1_head_init(struct cio__h1_head *h, struct cio__h1_header *headers,
                       size_t maxheaders, const struct cio__h1_limits *limits)
{
    h->headers = headers;
    h->maxheaders = maxheaders;
    h->limits = limits;
    cio__h1_head_reset(h);
}

/* Only the state is cleared: the results are all written when the start
 * line is parsed (a memset of the whole struct cost more than parsing a
 * small request). */
void cio__h1_head_reset(struct cio__h1_head *h)
{
    h->nheaders = 0;
    h->err_status = 0;
    h->err_msg = NULL;
    h->st.phase = CIO__H1_PHASE_START;
    h->st.pos = 0;
    h->st.head_start = 0;
    h->st.base = NULL;
    h->st.nempty = 0;
}

/* ------------------------------------------------------------ framing */

enum cio__h1_method cio__h1_method(struct cio_str m)
{
#define IS(lit) (memcmp(m.ptr, lit, sizeof(lit) - 1) == 0)
    switch (m.len) {
    case 3:
        if (IS("GET"))
            return CIO__H1_M_GET;
        if (IS("PUT"))
            return CIO__H1_M_PUT;
        break;
    case 4:
        if (IS("POST"))
            return CIO__H1_M_POST;
        if (IS("HEAD"))
            return CIO__H1_M_HEAD;
        break;
    case 5:
        if (IS("PATCH"))
            return CIO__H1_M_PATCH;
        if (IS("TRACE"))
            return CIO__H1_M_TRACE;
        break;
    case 6:
        if (IS("DELETE"))
            return CIO__H1_M_DELETE;
        break;
    case 7:
        if (IS("CONNECT"))
            return CIO__H1_M_CONNECT;
        if (IS("OPTIONS"))
            return CIO__H1_M_OPTIONS;
        break;
    }
    return CIO__H1_M_OTHER;
#undef IS
}

enum {
    F_KEEP_ALIVE = 1,
    F_UPGRADE = 2,
    F_CONNECT = 4,
    F_EXPECT = 8,
    F_INTERIM = 16,
    F_CL_AND_TE = 32,
    F_TE_OTHER = 64,
};

/* The framing fields of one head, collected in one pass. */
struct framing_fields {
    const struct cio_str *cl;      /* first Content-Length */
    const struct cio_str *host;    /* first Host */
    const struct cio_str *upgrade; /* first Upgrade */
    unsigned ncl, nhost;
    unsigned te;       /* Transfer-Encoding lines */
    unsigned ncodings; /* codings listed over all of them */
    unsigned nchunked; /* of which "chunked" */
    unsigned nunknown; /* of which not a registered coding */
    /* Flags are whole bytes, not bit-fields: no read-modify-write chains. */
    uint8_t chunked_last;
    uint8_t conn_close, conn_keep_alive, conn_upgrade;
    uint8_t expect_continue;
    const char *te_syntax;   /* why Transfer-Encoding is malformed */
    const char *conn_syntax; /* why Connection is malformed */
};

/* RFC 9110 §5.6.1: #element lists. Stores the next non-empty element
 * (OWS trimmed) and returns 1; returns 0 at the end of the list and -1 for
 * an unterminated quoted string. Empty elements (",,") are skipped. */
static int list_next(const char **pp, const char *end, struct cio_str *el)
{
    const char *p = *pp;
    while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
        p++;
    if (p == end) {
        *pp = p;
        return 0;
    }
    const char *s = p;
    while (p < end && *p != ',') {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\' && ++p == end)
                    return -1;
            if (p == end)
                return -1;
        }
        p++;
    }
    const char *e = p;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *el = (struct cio_str){s, (size_t)(e - s)};
    *pp = p;
    return 1;
}

/* RFC 9112 §6.1, §7: transfer-coding = token *( OWS ";" OWS param ). */
static void te_line(struct framing_fields *ff, struct cio_str v)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    struct cio_str el;
    int rc;

    ff->te++;
    while ((rc = list_next(&p, end, &el)) > 0) {
        size_t n = 0, k;
        while (n < el.len && cio__tok_is(el.ptr[n], CIO__TOK_TCHAR))
            n++;
        for (k = n; k < el.len && (el.ptr[k] == ' ' || el.ptr[k] == '\t');)
            k++;
        int params = k < el.len;
        /* The parameters of the codings we reject anyway are not parsed. */
        if (n == 0 || (params && el.ptr[k] != ';')) {
            ff->te_syntax = "malformed Transfer-Encoding";
            return;
        }
        ff->ncodings++;
        if (CIO__TOK_IEQ(el.ptr, n, "chunked")) {
            /* chunked has no parameters (RFC 9112 §7) */
            if (params) {
                ff->te_syntax = "parameters on the chunked coding";
                return;
            }
            ff->nchunked++;
            ff->chunked_last = 1;
            continue;
        }
        ff->chunked_last = 0;
        if (!CIO__TOK_IEQ(el.ptr, n, "gzip") &&
            !CIO__TOK_IEQ(el.ptr, n, "x-gzip") &&
            !CIO__TOK_IEQ(el.ptr, n, "deflate") &&
            !CIO__TOK_IEQ(el.ptr, n, "compress") &&
            !CIO__TOK_IEQ(el.ptr, n, "x-compress"))
            ff->nunknown++;
    }
    if (rc < 0)
        ff->te_syntax = "malformed Transfer-Encoding";
}

/* RFC 9110 §7.6.1: Connection = #connection-option (tokens) */
static void connection_line(struct framing_fields *ff, struct cio_str v)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    struct cio_str el;
    int rc;

    while ((rc = list_next(&p, end, &el)) > 0) {
        if (!cio__tok_is_token(el.ptr, el.len)) {
            ff->conn_syntax = "malformed Connection";
            return;
        }
        if (CIO__TOK_IEQ(el.ptr, el.len, "close"))
            ff->conn_close = 1;
        else if (CIO__TOK_IEQ(el.ptr, el.len, "keep-alive"))
            ff->conn_keep_alive = 1;
        else if (CIO__TOK_IEQ(el.ptr, el.len, "upgrade"))
            ff->conn_upgrade = 1;
    }
    if (rc < 0)
        ff->conn_syntax = "malformed Connection";
}

static void expect_line(struct framing_fields *ff, struct cio_str v)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    struct cio_str el;

    while (list_next(&p, end, &el) > 0)
        if (CIO__TOK_IEQ(el.ptr, el.len, "100-continue"))
            ff->expect_continue = 1;
}

/*
 * n[0..len) equals the lowercase literal lc (same length, at least 4)
 * ignoring case, compared a word at a time: field names are tokens, and
 * for tchar bytes OR 0x20 maps exactly the uppercase letters to lowercase
 * (no other tchar lands on a letter, and '-' stays '-'). The last word
 * overlaps the previous one when len is not a multiple of its size.
 */
static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int name_is(const char *n, const char *lc, size_t len)
{
    const uint64_t l8 = UINT64_C(0x2020202020202020);
    const uint32_t l4 = 0x20202020u;
    if (len < 8)
        return (load4(n) | l4) == load4(lc) &&
               (load4(n + len - 4) | l4) == load4(lc + len - 4);
    size_t i = 0;
    for (; i + 8 < len; i += 8)
        if ((load8(n + i) | l8) != load8(lc + i))
            return 0;
    return (load8(n + len - 8) | l8) == load8(lc + len - 8);
}

#define NAME_IS(n, lit) name_is((n), lit, sizeof(lit) - 1)

/* The name lengths of the fields collect() looks at. */
#define FRAMING_LENGTHS                                                        \
    ((1u << 4) | (1u << 6) | (1u << 7) | (1u << 10) | (1u << 14) | (1u << 17))

static void collect(const struct cio__h1_head *h, struct framing_fields *ff)
{
    memset(ff, 0, sizeof(*ff));
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct cio__h1_header *f = &h->headers[i];
        const char *n = f->name.ptr;
        size_t len = f->name.len;
        /* The length rules out most fields with one bit test (a switch
         * cost an indirect jump per field). */
        if (len > 17 || ((FRAMING_LENGTHS >> len) & 1) == 0)
            continue;
        if (len == 4) {
            if (NAME_IS(n, "host") && ff->nhost++ == 0)
                ff->host = &f->value;
        } else if (len == 14) {
            if (NAME_IS(n, "content-length") && ff->ncl++ == 0)
                ff->cl = &f->value;
        } else if (len == 10) {
            if (NAME_IS(n, "connection"))
                connection_line(ff, f->value);
        } else if (len == 17) {
            if (NAME_IS(n, "transfer-encoding"))
                te_line(ff, f->value);
        } else if (len == 7) {
            if (NAME_IS(n, "upgrade") && ff->upgrade == NULL)
                ff->upgrade = &f->value;
        } else if (NAME_IS(n, "expect")) {
            expect_line(ff, f->value);
        }
    }
}

/* RFC 9110 §8.6: Content-Length = 1*DIGIT. A list ("5, 5") is refused even
 * when the values agree, as nginx and llhttp do: no recipient can read it
 * differently then. Values above 2^63-1 are refused, never wrapped. */
static const char *parse_cl(struct cio_str v, uint64_t *out)
{
    if (v.len == 0)
        return "empty Content-Length";
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned char)v.ptr[i] - '0';
        if (d > 9)
            return memchr(v.ptr, ',', v.len) != NULL
                       ? "Content-Length with a list of values"
                       : "Content-Length is not a decimal number";
        if (n > (UINT64_C(0x7fffffffffffffff) - d) / 10)
            return "Content-Length too large";
        n = n * 10 + d;
    }
    *out = n;
    return NULL;
}

/* host [ ":" port ] (RFC 3986 §3.2.2-3.2.3), used for Host, absolute-form
 * and authority-form targets. No userinfo ('@' is not a host byte). */
static int valid_authority(struct cio_str a, int need_port)
{
    const char *p = a.ptr, *end = a.ptr + a.len;

    if (p < end && *p == '[') {
        const char *s = ++p;
        while (p < end && *p != ']') {
            if (!cio__tok_is(*p, CIO__TOK_HOST) && *p != ':')
                return 0;
            p++;
        }
        if (p == end || p == s)
            return 0;
        p++;
    } else {
        const char *s = p;
        while (p < end && *p != ':') {
            if (*p == '%') {
                if (end - p < 3 || !cio__tok_is(p[1], CIO__TOK_HEX) ||
                    !cio__tok_is(p[2], CIO__TOK_HEX))
                    return 0;
                p += 3;
                continue;
            }
            if (!cio__tok_is(*p, CIO__TOK_HOST))
                return 0;
            p++;
        }
        if (p == s)
            return 0;
    }
    if (p == end)
        return !need_port;
    if (*p != ':')
        return 0;
    p++;
    if (p == end)
        return !need_port;
    unsigned port = 0;
    if (end - p > 5)
        return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        port = port * 10 + (unsigned)(*p - '0');
    }
    return port <= 65535;
}

static int frame_fail(struct cio__h1_framing *f, int code, int status,
                      const char *msg)
{
    f->err_status = status;
    f->err_msg = msg;
    return cio__err(code, "%s", msg);
}

/* RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT
 * only), asterisk-form (OPTIONS only). Sets *auth for the forms with an
 * authority. */
static const char *target_form(const struct cio__h1_head *h,
                               enum cio__h1_method m, struct cio_str *auth)
{
    struct cio_str t = h->target;

    if (m == CIO__H1_M_CONNECT) {
        if (!valid_authority(t, 1))
            return "CONNECT target is not host:port";
        *auth = t;
        return NULL;
    }
    if (t.ptr[0] == '/')
        return NULL;
    if (t.len == 1 && t.ptr[0] == '*')
        return m == CIO__H1_M_OPTIONS ? NULL
                                      : "asterisk-form target without OPTIONS";
    /* absolute-form: only the schemes this server speaks */
    size_t n;
    if (t.len > 7 && CIO__TOK_IEQ(t.ptr, 7, "http://"))
        n = 7;
    else if (t.len > 8 && CIO__TOK_IEQ(t.ptr, 8, "https://"))
        n = 8;
    else
        return "request-target is not origin-form or an http(s) URI";
    const char *s = t.ptr + n, *e = s, *end = t.ptr + t.len;
    while (e < end && *e != '/' && *e != '?')
        e++;
    struct cio_str a = {s, (size_t)(e - s)};
    if (memchr(a.ptr, '@', a.len) != NULL)
        return "userinfo in the request-target";
    if (!valid_authority(a, 0))
        return "invalid authority in the request-target";
    *auth = a;
    return NULL;
}

/* Both framing functions build the result in locals and store it once at
 * the end: a struct assembled field by field on the stack and then copied
 * costs a store-forwarding stall per call, which was a quarter of the time
 * for a small request. */
static void framing_store(struct cio__h1_framing *f, enum cio__h1_body body,
                          uint64_t length, enum cio__h1_method method,
                          struct cio_str authority, struct cio_str upgrade,
                          unsigned flags)
{
    f->body = body;
    f->length = length;
    f->method = method;
    f->authority = authority;
    f->upgrade_proto = upgrade;
    f->keep_alive = (flags & F_KEEP_ALIVE) != 0;
    f->upgrade = (flags & F_UPGRADE) != 0;
    f->connect = (flags & F_CONNECT) != 0;
    f->expect_continue = (flags & F_EXPECT) != 0;
    f->interim = (flags & F_INTERIM) != 0;
    f->cl_and_te = (flags & F_CL_AND_TE) != 0;
    f->te_other = (flags & F_TE_OTHER) != 0;
    f->err_status = 0;
    f->err_msg = NULL;
}

/* RFC 9112 §9.3: persistence by version and Connection options. */
static unsigned persistent(const struct cio__h1_head *h,
                           const struct framing_fields *ff)
{
    if (ff->conn_close)
        return 0;
    return h->minor >= 1 || ff->conn_keep_alive ? F_KEEP_ALIVE : 0;
}

int cio__h1_request_framing(const struct cio__h1_head *h,
                            struct cio__h1_framing *f)
{
    struct framing_fields ff;
    struct cio_str authority = {NULL, 0}, upgrade = {NULL, 0};
    enum cio__h1_body body = CIO__H1_BODY_NONE;
    uint64_t length = 0;
    unsigned flags;
    const char *why;

    collect(h, &ff);
    enum cio__h1_method m = cio__h1_method(h->method);

    /* RFC 9112 §3.2: exactly one valid Host in 1.1, at most one in 1.0 */
    if (ff.nhost > 1)
        return frame_fail(f, CIO_EPROTO, 400, "more than one Host");
    if (ff.nhost == 0 && h->minor >= 1)
        return frame_fail(f, CIO_EPROTO, 400, "HTTP/1.1 request without Host");
    if (ff.host != NULL) {
        if (ff.host->len > 0 && !valid_authority(*ff.host, 0))
            return frame_fail(f, CIO_EPROTO, 400, "invalid Host");
        authority = *ff.host;
    }
    why = target_form(h, m, &authority);
    if (why != NULL)
        return frame_fail(f, CIO_EPROTO, 400, why);

    if (ff.te > 0) {
        /* RFC 9112 §6.1: TE in 1.0 means faulty framing; §6.3 rule 3: CL
         * with TE is a smuggling attempt. Both close. */
        if (h->minor == 0)
            return frame_fail(f, CIO_EPROTO, 400,
                              "Transfer-Encoding in an HTTP/1.0 request");
        if (ff.ncl > 0)
            return frame_fail(f, CIO_EPROTO, 400,
                              "both Content-Length and Transfer-Encoding");
        if (ff.te_syntax != NULL)
            return frame_fail(f, CIO_EPROTO, 400, ff.te_syntax);
        if (ff.ncodings == 0)
            return frame_fail(f, CIO_EPROTO, 400, "empty Transfer-Encoding");
        if (ff.nchunked > 1)
            return frame_fail(f, CIO_EPROTO, 400, "chunked applied twice");
        if (ff.nchunked == 1 && !ff.chunked_last)
            return frame_fail(f, CIO_EPROTO, 400,
                              "chunked is not the last transfer coding");
        /* RFC 9112 §6.1: an unknown coding is 501; §6.3 rule 4: a request
         * whose last coding is not chunked is 400. */
        if (ff.nunknown > 0)
            return frame_fail(f, CIO_EPROTO, 501, "unknown transfer coding");
        if (!ff.chunked_last)
            return frame_fail(f, CIO_EPROTO, 400,
                              "chunked is not the last transfer coding");
        if (ff.ncodings > 1)
            return frame_fail(f, CIO_EPROTO, 501,
                              "transfer coding other than chunked");
        body = CIO__H1_BODY_CHUNKED;
    } else if (ff.ncl > 0) {
        if (ff.ncl > 1)
            return frame_fail(f, CIO_EPROTO, 400,
                              "more than one Content-Length");
        why = parse_cl(*ff.cl, &length);
        if (why != NULL)
            return frame_fail(f, CIO_EPROTO, 400, why);
        uint64_t max = h->limits != NULL && h->limits->max_body != 0
                           ? h->limits->max_body
                           : CIO__H1_MAX_BODY;
        if (length > max)
            return frame_fail(f, CIO_ETOOBIG, 413,
                              "Content-Length above the body limit");
        body = length > 0 ? CIO__H1_BODY_LENGTH : CIO__H1_BODY_NONE;
    }
    if (ff.conn_syntax != NULL)
        return frame_fail(f, CIO_EPROTO, 400, ff.conn_syntax);

    flags = persistent(h, &ff);
    /* RFC 9110 §7.8: Upgrade needs "Connection: upgrade" and is ignored in
     * HTTP/1.0. §10.1.1: so is 100-continue. */
    if (h->minor >= 1 && ff.upgrade != NULL && ff.conn_upgrade &&
        ff.upgrade->len > 0) {
        flags |= F_UPGRADE;
        upgrade = *ff.upgrade;
    }
    if (h->minor >= 1 && ff.expect_continue)
        flags |= F_EXPECT;
    if (m == CIO__H1_M_CONNECT)
        flags |= F_CONNECT;
    framing_store(f, body, length, m, authority, upgrade, flags);
    return 0;
}

int cio__h1_response_framing(const struct cio__h1_head *h,
                             enum cio__h1_method req_method,
                             int upgrade_requested, struct cio__h1_framing *f)
{
    static const struct cio_str none = {NULL, 0};
    struct framing_fields ff;
    enum cio__h1_body body;
    uint64_t length = 0;
    unsigned flags = 0;
    int st = h->status;

    collect(h, &ff);
    if (st == 101) {
        /* RELIABILITY C.30; RFC 9110 §15.2.2: a 101 names the protocol */
        if (!upgrade_requested)
            return frame_fail(f, CIO_EPROTO, 502,
                              "101 without an Upgrade request");
        if (ff.upgrade == NULL || ff.upgrade->len == 0)
            return frame_fail(f, CIO_EPROTO, 502, "101 without Upgrade");
        framing_store(f, CIO__H1_BODY_NONE, 0, req_method, none, *ff.upgrade,
                      F_UPGRADE);
        return 0;
    }
    if (st < 200) {
        /* RFC 9112 §6.3 rule 1: 1xx has no body; a final response follows */
        framing_store(f, CIO__H1_BODY_NONE, 0, req_method, none, none,
                      F_INTERIM | F_KEEP_ALIVE);
        return 0;
    }
    if (req_method == CIO__H1_M_CONNECT && st < 300) {
        /* rule 2: the connection becomes a tunnel */
        framing_store(f, CIO__H1_BODY_NONE, 0, req_method, none, none,
                      F_CONNECT);
        return 0;
    }

    if (ff.te > 0) {
        if (ff.te_syntax != NULL)
            return frame_fail(f, CIO_EPROTO, 502, ff.te_syntax);
        if (ff.ncodings == 0)
            return frame_fail(f, CIO_EPROTO, 502, "empty Transfer-Encoding");
        if (ff.nchunked > 1)
            return frame_fail(f, CIO_EPROTO, 502, "chunked applied twice");
        /* rule 4: chunked wins over CL (rule 3), but the sender cannot be
         * trusted with the connection afterwards (RELIABILITY C.28); a
         * last coding other than chunked means "until close". */
        if (ff.ncl > 0)
            flags |= F_CL_AND_TE;
        if (ff.ncodings > ff.nchunked)
            flags |= F_TE_OTHER;
        body = ff.chunked_last ? CIO__H1_BODY_CHUNKED : CIO__H1_BODY_CLOSE;
    } else if (ff.ncl > 0) {
        if (ff.ncl > 1)
            return frame_fail(f, CIO_EPROTO, 502,
                              "more than one Content-Length");
        const char *why = parse_cl(*ff.cl, &length);
        if (why != NULL)
            return frame_fail(f, CIO_EPROTO, 502, why);
        body = length > 0 ? CIO__H1_BODY_LENGTH : CIO__H1_BODY_NONE;
    } else {
        body = CIO__H1_BODY_CLOSE; /* rule 8 */
    }
    if (ff.conn_syntax != NULL)
        return frame_fail(f, CIO_EPROTO, 502, ff.conn_syntax);

    unsigned ka = persistent(h, &ff);
    /* rule 1: HEAD, 204 and 304 have no body whatever the fields say (they
     * were still checked above). A 204 that announces a body comes from a
     * confused server: do not reuse the connection. */
    if (req_method == CIO__H1_M_HEAD || st == 204 || st == 304) {
        if (st == 204 && (ff.te > 0 || length > 0))
            ka = 0;
        body = CIO__H1_BODY_NONE;
        length = 0;
    } else if (body == CIO__H1_BODY_CLOSE) {
        ka = 0;
    }
    /* RFC 9112 §6.1: TE in a 1.0 message is faulty framing: close after */
    if ((flags & F_CL_AND_TE) || (ff.te > 0 && h->minor == 0))
        ka = 0;
    framing_store(f, body, length, req_method, none, none, flags | ka);
    return 0;
}
