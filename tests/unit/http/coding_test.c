/* SPDX-License-Identifier: MIT */
/*
 * Content codings (src/http/coding.c). Streams are made by the codec
 * libraries directly, so a bug shared by our encoder and decoder cannot
 * hide; our encoder's output is checked by the libraries' own decoders.
 * Every decode runs whole, one byte at a time and in seeded random splits,
 * with several output buffer sizes, and must give the same result.
 */
#include <inttypes.h>
#include <stdint.h>
#include <sys/mman.h>

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "test.h"

#include "base/alloc.h"
#include "config.h"
#include "http/coding.h"

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: reproducible from the seed set by each test. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void seed(uint64_t s)
{
    rng_state = s * 0x9E3779B97F4A7C15ULL + 1;
}

/* Text-like, compressible but not trivial, with random runs. */
static uint8_t *make_data(size_t len, uint64_t s)
{
    static const char *const words[] = {
        "content ", "coding ",   "gzip ",      "brotli ",           "zstd ",
        "deflate ", "HTTP/1.1 ", "200 OK\r\n", "<div class=\"x\">", "</div>\n"};
    uint8_t *p = malloc(len + 1);
    size_t i = 0;

    cr_assert(p != NULL);
    seed(s);
    while (i < len) {
        if (rnd() % 8 == 0) {
            size_t n = rnd() % 64;
            for (size_t k = 0; k < n && i < len; k++)
                p[i++] = (uint8_t)rnd();
        } else {
            const char *w = words[rnd() % 10];
            for (size_t k = 0; w[k] != '\0' && i < len; k++)
                p[i++] = (uint8_t)w[k];
        }
    }
    return p;
}

enum kind { K_GZIP, K_ZLIB, K_RAW, K_BR, K_ZSTD, K_COUNT };

static const char *const kind_ce[K_COUNT] = {"gzip", "deflate", "deflate", "br",
                                             "zstd"};
static const char *const kind_name[K_COUNT] = {"gzip", "zlib", "raw", "br",
                                               "zstd"};

static uint8_t *zlib_compress(int wbits, int level, const uint8_t *in,
                              size_t len, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    cr_assert_eq(
        deflateInit2(&z, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    cr_assert(out != NULL);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static uint8_t *br_compress(int quality, int lgwin, const uint8_t *in,
                            size_t len, size_t *outlen)
{
    size_t cap = len + len / 4 + 1024;
    uint8_t *out = malloc(cap);
    cr_assert(out != NULL);
    *outlen = cap;
    cr_assert(BrotliEncoderCompress(quality, lgwin, BROTLI_MODE_GENERIC, len,
                                    in, outlen, out));
    return out;
}

static uint8_t *zstd_compress(int level, int checksum, const uint8_t *in,
                              size_t len, size_t *outlen)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *out = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    cr_assert(out != NULL && c != NULL);
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, checksum);
    size_t r = ZSTD_compress2(c, out, cap, in, len);
    cr_assert(!ZSTD_isError(r), "%s", ZSTD_getErrorName(r));
    *outlen = r;
    ZSTD_freeCCtx(c);
    return out;
}

static uint8_t *lib_compress(enum kind k, const uint8_t *in, size_t len,
                             size_t *outlen)
{
    switch (k) {
    case K_GZIP:
        return zlib_compress(16 + 15, 6, in, len, outlen);
    case K_ZLIB:
        return zlib_compress(15, 6, in, len, outlen);
    case K_RAW:
        return zlib_compress(-15, 6, in, len, outlen);
    case K_BR:
        return br_compress(5, 22, in, len, outlen);
    default:
        return zstd_compress(3, 1, in, len, outlen);
    }
}

static uint8_t *concat(const uint8_t *a, size_t alen, const uint8_t *b,
                       size_t blen)
{
    uint8_t *p = malloc(alen + blen + 1);
    cr_assert(p != NULL);
    if (alen > 0)
        memcpy(p, a, alen);
    if (blen > 0)
        memcpy(p + alen, b, blen);
    return p;
}

enum split { WHOLE, ONE, RANDOM };
static const char *const split_name[] = {"whole", "1-byte", "random"};

struct result {
    int rc;
    uint8_t *out; /* malloc'd; up to the cap */
    size_t len;
    char msg[256];
};

static void result_free(struct result *r)
{
    free(r->out);
    r->out = NULL;
}

static void append(struct result *r, size_t *cap, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (r->len + n > *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        while (ncap < r->len + n)
            ncap *= 2;
        r->out = realloc(r->out, ncap);
        cr_assert(r->out != NULL);
        *cap = ncap;
    }
    memcpy(r->out + r->len, p, n);
    r->len += n;
}

/*
 * Decodes in[0..len) under Content-Encoding ce. Asserts the progress
 * contract: a feed with input and room always moves, and finish ends.
 */
static void decode(const char *ce, const struct cio__decoder_opts *o,
                   const uint8_t *in, size_t len, enum split sp,
                   size_t outchunk, uint64_t s, struct result *r)
{
    struct cio__decoder *d;
    uint8_t *buf = malloc(outchunk);
    size_t cap = 0, off = 0, a, b;
    uint64_t max = o != NULL && o->max_output ? o->max_output
                                              : CIO__CODING_DEFAULT_MAX_OUTPUT;
    int rc;

    cr_assert(buf != NULL);
    memset(r, 0, sizeof(*r));
    seed(s);
    rc = cio__decoder_new(&d, cio_str_c(ce), o);
    if (rc < 0)
        goto out;
    while (off < len) {
        size_t n = len - off;
        if (sp == ONE)
            n = 1;
        else if (sp == RANDOM)
            n = 1 + rnd() % (n < 2000 ? n : 2000);
        const uint8_t *p = in + off;
        size_t left = n;
        while (left > 0) {
            rc = cio__decoder_feed(d, p, left, &a, buf, outchunk, &b);
            if (rc < 0)
                goto free_decoder;
            cr_assert(a > 0 || b > 0, "%s: feed made no progress", ce);
            cr_assert(a <= left && b <= outchunk);
            append(r, &cap, buf, b);
            p += a;
            left -= a;
        }
        off += n;
    }
    for (size_t i = 0;; i++) {
        cr_assert(i <= max / outchunk + 16, "%s: finish does not end", ce);
        rc = cio__decoder_finish(d, buf, outchunk, &b);
        if (rc < 0)
            goto free_decoder;
        cr_assert(b <= outchunk);
        append(r, &cap, buf, b);
        if (rc == 0)
            break;
    }
free_decoder:
    /* Also on failure: every byte counted was handed out. */
    cr_assert_eq(cio__decoder_total(d), r->len,
                 "%s: total %" PRIu64 ", got %zu", ce, cio__decoder_total(d),
                 r->len);
    cio__decoder_free(d);
out:
    cr_assert(r->len <= max, "%s: %zu bytes out, cap %" PRIu64, ce, r->len,
              max);
    r->rc = rc < 0 ? rc : 0;
    if (rc < 0)
        snprintf(r->msg, sizeof(r->msg), "%s", cio_last_error());
    free(buf);
}

/*
 * Decodes in every split and output size (1-byte splits and 1-byte
 * output only for small inputs) and checks each gives want_rc and, if
 * want is not NULL, exactly want[0..wantlen). On error, the output must be
 * a prefix of want (when given). Returns the whole-split message.
 */
static void check_decode(const char *ce, const struct cio__decoder_opts *o,
                         const uint8_t *in, size_t len, int want_rc,
                         const uint8_t *want, size_t wantlen, char *msg,
                         size_t msglen)
{
    static const size_t outs[] = {65536, 4096, 7, 1};
    for (int sp = WHOLE; sp <= RANDOM; sp++) {
        for (size_t oi = 0; oi < sizeof(outs) / sizeof(outs[0]); oi++) {
            struct result r;
            if ((sp == ONE || outs[oi] == 1) &&
                (len > 100000 || wantlen > 200000))
                continue;
            if (sp == ONE && outs[oi] < 4096 && len > 20000)
                continue;
            decode(ce, o, in, len, (enum split)sp, outs[oi], 42 + oi, &r);
            cr_assert_eq(r.rc, want_rc,
                         "%s, %zu bytes in, %s split, out %zu: got %s (%s), "
                         "want %s",
                         ce, len, split_name[sp], outs[oi], cio_errname(r.rc),
                         r.msg, cio_errname(want_rc));
            if (want != NULL && want_rc == 0)
                cr_assert(
                    r.len == wantlen &&
                        (wantlen == 0 || memcmp(r.out, want, wantlen) == 0),
                    "%s, %s split, out %zu: output differs (%zu vs "
                    "%zu bytes)",
                    ce, split_name[sp], outs[oi], r.len, wantlen);
            if (want != NULL && want_rc < 0)
                cr_assert(r.len <= wantlen &&
                              (r.len == 0 || memcmp(r.out, want, r.len) == 0),
                          "%s: output before the error is not a prefix", ce);
            if (msg != NULL && sp == WHOLE && oi == 0)
                snprintf(msg, msglen, "%s", r.msg);
            result_free(&r);
        }
    }
}

/* ------------------------------------------------------- round trips */

Test(coding, library_streams_decode_in_every_split)
{
    static const size_t sizes[] = {0, 1, 100, 70000, (1u << 20) + 3};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        uint8_t *data = make_data(sizes[si], si);
        for (int k = 0; k < K_COUNT; k++) {
            size_t clen;
            uint8_t *c = lib_compress((enum kind)k, data, sizes[si], &clen);
            check_decode(kind_ce[k], NULL, c, clen, 0, data, sizes[si], NULL,
                         0);
            free(c);
        }
        free(data);
    }
}

Test(coding, empty_body_decodes_to_nothing)
{
    static const char *const ces[] = {"gzip", "deflate",  "br",
                                      "zstd", "gzip, br", ""};
    for (size_t i = 0; i < sizeof(ces) / sizeof(ces[0]); i++)
        check_decode(ces[i], NULL, (const uint8_t *)"", 0, 0,
                     (const uint8_t *)"", 0, NULL, 0);
}

Test(coding, identity_and_empty_list_copy_under_the_cap)
{
    uint8_t *data = make_data(5000, 7);
    struct cio__decoder_opts o = {.max_output = 4999};
    check_decode("", NULL, data, 5000, 0, data, 5000, NULL, 0);
    check_decode("identity", NULL, data, 5000, 0, data, 5000, NULL, 0);
    check_decode(" , identity ,", NULL, data, 5000, 0, data, 5000, NULL, 0);
    check_decode("identity", &o, data, 5000, CIO_ETOOBIG, data, 5000, NULL, 0);
    free(data);
}

Test(coding, header_list_is_case_insensitive_with_empty_elements)
{
    uint8_t *data = make_data(3000, 9);
    size_t c1len, c2len;
    uint8_t *c1 = lib_compress(K_GZIP, data, 3000, &c1len);
    uint8_t *c2 = lib_compress(K_ZSTD, c1, c1len, &c2len);
    static const char *const ces[] = {
        "gzip, zstd", "GZip,ZSTD", " ,gzip ,, \tzstd, ",
        "x-gzip, identity, zstd",
        "gzip, zstd" /* as two field lines joined by the caller */};
    for (size_t i = 0; i < sizeof(ces) / sizeof(ces[0]); i++)
        check_decode(ces[i], NULL, c2, c2len, 0, data, 3000, NULL, 0);
    free(c2);
    free(c1);
    free(data);
}

Test(coding, stacked_gzip_then_br)
{
    /* "gzip, br": gzip was applied first, so br is undone first. */
    uint8_t *data = make_data(200000, 11);
    size_t c1len, c2len;
    uint8_t *c1 = lib_compress(K_GZIP, data, 200000, &c1len);
    uint8_t *c2 = lib_compress(K_BR, c1, c1len, &c2len);
    check_decode("gzip, br", NULL, c2, c2len, 0, data, 200000, NULL, 0);
    /* The wrong order fails: br data is not gzip. */
    check_decode("br, gzip", NULL, c2, c2len, CIO_ECODING, NULL, 0, NULL, 0);
    free(c2);
    free(c1);
    free(data);
}

Test(coding, five_stacked_codings_decode)
{
    uint8_t *data = make_data(20000, 12), *cur = data;
    size_t len = 20000;
    static const enum kind ks[] = {K_GZIP, K_ZLIB, K_BR, K_ZSTD, K_GZIP};
    for (size_t i = 0; i < 5; i++) {
        size_t n;
        uint8_t *c = lib_compress(ks[i], cur, len, &n);
        if (cur != data)
            free(cur);
        cur = c;
        len = n;
    }
    check_decode("gzip, deflate, br, zstd, gzip", NULL, cur, len, 0, data,
                 20000, NULL, 0);
    free(cur);
    free(data);
}

/* ----------------------------------------------- list limits, unknowns */

Test(coding, six_stacked_codings_are_refused)
{
    /* RELIABILITY 47 (urllib3 CVE-2025-66418, curl CVE-2022-32206). */
    static const char *const ces[] = {
        "gzip, gzip, gzip, gzip, gzip, gzip",
        "gzip,br,zstd,deflate,gzip,identity,x-gzip",
        "gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip, gzip, xz"};
    struct cio__decoder *d = NULL;
    for (size_t i = 0; i < sizeof(ces) / sizeof(ces[0]); i++) {
        CIO_EXPECT_RC(cio__decoder_new(&d, cio_str_c(ces[i]), NULL),
                      CIO_ECODING);
        cr_expect(strstr(cio_last_error(), "more than 5") != NULL, "%s",
                  cio_last_error());
    }
    cr_expect(d == NULL, "out written on failure");
    /* The limit is configurable; 5 pass by default. */
    struct cio__decoder_opts o = {.max_codings = 2};
    CIO_EXPECT_RC(cio__decoder_new(&d, cio_str_c("gzip, br, zstd"), &o),
                  CIO_ECODING);
    CIO_ASSERT_RC(
        cio__decoder_new(
            &d, cio_str_c("gzip, gzip, gzip, gzip, gzip, identity"), NULL),
        0);
    cio__decoder_free(d);
    o.max_codings = 17;
    CIO_EXPECT_RC(cio__decoder_new(&d, cio_str_c("gzip"), &o), CIO_EINVAL);
}

Test(coding, unknown_coding_is_not_supported)
{
    /* RELIABILITY 50: the caller keeps the raw body and flags it. */
    static const struct {
        const char *ce, *msg;
    } cases[] = {
        {"xz", "unknown content coding \"xz\""},
        {"gzip, compress", "\"compress\""},
        {"gzip;q=1", "\"gzip;q=1\""},
        {"gzip br", "\"gzip br\""},
        {"x-compress", "\"x-compress\""},
        {"\x01gzip", "\"?gzip\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cio__decoder *d;
        CIO_EXPECT_RC(cio__decoder_new(&d, cio_str_c(cases[i].ce), NULL),
                      CIO_ENOTSUP);
        cr_expect(strstr(cio_last_error(), cases[i].msg) != NULL, "%s: %s",
                  cases[i].ce, cio_last_error());
    }
}

Test(coding, build_has_brotli_and_zstd)
{
    cr_expect(CIO_HAVE_BROTLI && CIO_HAVE_ZSTD);
    cr_expect(cio__coding_can_decode(CIO__CODING_BR));
    cr_expect(cio__coding_can_decode(CIO__CODING_ZSTD));
    cr_expect(!cio__coding_can_encode(CIO__CODING_DEFLATE));
    cr_expect_str_eq(cio__coding_name(CIO__CODING_ZSTD), "zstd");
}

/* ----------------------------------------------- gzip members, trailers */

Test(coding, concatenated_gzip_members_are_one_body)
{
    /* RELIABILITY 48; RFC 1952 §2.2. */
    uint8_t *a = make_data(40000, 21), *b = make_data(3000, 22);
    size_t alen, blen, elen;
    uint8_t *ca = lib_compress(K_GZIP, a, 40000, &alen);
    uint8_t *cb = lib_compress(K_GZIP, b, 3000, &blen);
    uint8_t *ce = lib_compress(K_GZIP, a, 0, &elen);
    uint8_t *ab = concat(a, 40000, b, 3000);
    uint8_t *s1 = concat(ca, alen, ce, elen);
    uint8_t *s2 = concat(s1, alen + elen, cb, blen);
    check_decode("gzip", NULL, s2, alen + elen + blen, 0, ab, 43000, NULL, 0);
    free(s2);
    free(s1);
    free(ab);
    free(ce);
    free(cb);
    free(ca);
    free(b);
    free(a);
}

Test(coding, trailing_data_after_the_stream_is_an_error)
{
    /* Decided: bytes after the end of a gzip member that do not start
     * another member, or after a deflate / br / zstd stream, are an
     * error, also zero bytes: a body must be exactly its coding. */
    uint8_t *data = make_data(5000, 23);
    for (int k = 0; k < K_COUNT; k++) {
        static const char *const tails[] = {"x", "\0", "\x1f"};
        size_t clen;
        uint8_t *c = lib_compress((enum kind)k, data, 5000, &clen);
        for (size_t t = 0; t < 3; t++) {
            uint8_t *s = concat(c, clen, (const uint8_t *)tails[t], 1);
            char msg[256];
            int want = CIO_ECODING;
            check_decode(kind_ce[k], NULL, s, clen + 1, want, data, 5000, msg,
                         sizeof(msg));
            if (k == K_GZIP && t == 2)
                cr_expect(strstr(msg, "truncated gzip") != NULL, "%s", msg);
            else if (k != K_ZSTD)
                cr_expect(strstr(msg, "trailing data") != NULL, "%s: %s",
                          kind_name[k], msg);
            free(s);
        }
        free(c);
    }
    free(data);
}

Test(coding, concatenated_zstd_frames_are_one_body)
{
    uint8_t *a = make_data(10000, 24), *b = make_data(20000, 25);
    size_t alen, blen;
    uint8_t *ca = lib_compress(K_ZSTD, a, 10000, &alen);
    uint8_t *cb = lib_compress(K_ZSTD, b, 20000, &blen);
    uint8_t *ab = concat(a, 10000, b, 20000);
    /* Skippable frames (RFC 8878 §3.1.2), empty and not, in between. */
    static const uint8_t skip[] = "\x50\x2a\x4d\x18\x00\x00\x00\x00"
                                  "\x5f\x2a\x4d\x18\x03\x00\x00\x00xyz";
    uint8_t *s1 = concat(ca, alen, skip, sizeof(skip) - 1);
    uint8_t *s = concat(s1, alen + sizeof(skip) - 1, cb, blen);
    check_decode("zstd", NULL, s, alen + sizeof(skip) - 1 + blen, 0, ab, 30000,
                 NULL, 0);
    free(s1);
    free(s);
    free(ab);
    free(cb);
    free(ca);
    free(b);
    free(a);
}

/* ---------------------------------------------------- truncated, corrupt */

Test(coding, every_truncation_of_every_codec_is_an_error)
{
    /* RELIABILITY 48: a body cut short never passes as complete. */
    uint8_t *data = make_data(3000, 31);
    for (int k = 0; k < K_COUNT; k++) {
        size_t clen;
        uint8_t *c = lib_compress((enum kind)k, data, 3000, &clen);
        char want[64];
        snprintf(want, sizeof(want), "truncated %s stream", kind_ce[k]);
        for (size_t cut = 1; cut < clen; cut++) {
            struct result r;
            decode(kind_ce[k], NULL, c, cut, cut % 2 ? WHOLE : RANDOM, 4096,
                   cut, &r);
            cr_assert_eq(r.rc, CIO_ECODING, "%s cut at %zu/%zu: %s",
                         kind_name[k], cut, clen, cio_errname(r.rc));
            cr_assert(strstr(r.msg, want) != NULL, "%s cut at %zu: %s",
                      kind_name[k], cut, r.msg);
            result_free(&r);
        }
        free(c);
    }
    free(data);
}

Test(coding, truncated_inner_stage_is_an_error)
{
    uint8_t *data = make_data(3000, 32);
    size_t c1len, c2len;
    uint8_t *c1 = lib_compress(K_GZIP, data, 3000, &c1len);
    uint8_t *c2 = lib_compress(K_BR, c1, c1len - 3, &c2len);
    char msg[256];
    check_decode("gzip, br", NULL, c2, c2len, CIO_ECODING, NULL, 0, msg,
                 sizeof(msg));
    cr_expect(strstr(msg, "truncated gzip stream") != NULL, "%s", msg);
    free(c2);
    free(c1);
    free(data);
}

Test(coding, corrupt_streams_name_the_problem)
{
    uint8_t *data = make_data(5000, 33);
    static const struct {
        enum kind k;
        long pos; /* byte to change; negative from the end */
        uint8_t xor ;
        const char *msg;
    } cases[] = {
        {K_GZIP, 0, 0x01, "not a gzip stream"},
        {K_GZIP, 1, 0x01, "incorrect header check"},
        {K_GZIP, 3, 0xe0, "unknown header flags"},
        {K_GZIP, -8, 0x01, "incorrect data check"},   /* CRC32 */
        {K_GZIP, -1, 0x01, "incorrect length check"}, /* ISIZE */
        {K_ZLIB, -1, 0x01, "incorrect data check"},   /* Adler-32 */
        {K_ZSTD, 0, 0x01, "Unknown frame descriptor"},
        {K_ZSTD, -1, 0x01, "checksum"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t clen;
        uint8_t *c = lib_compress(cases[i].k, data, 5000, &clen);
        size_t pos = cases[i].pos >= 0 ? (size_t)cases[i].pos
                                       : clen - (size_t)-cases[i].pos;
        char msg[256];
        c[pos] ^= cases[i].xor ;
        check_decode(kind_ce[cases[i].k], NULL, c, clen, CIO_ECODING, data,
                     5000, msg, sizeof(msg));
        cr_expect(strstr(msg, cases[i].msg) != NULL, "case %zu: %s", i, msg);
        free(c);
    }
    free(data);

    static const struct {
        const char *ce, *in;
        size_t len;
        const char *msg;
    } raw[] = {
        /* BFINAL=1, BTYPE=11 (reserved), raw and zlib-wrapped. */
        {"deflate", "\x07\x00", 2, "invalid block type"},
        {"deflate", "\x78\x9c\x07\x00", 4, "invalid block type"},
        /* zlib header with FDICT: we have no dictionary. */
        {"deflate", "\x78\x20\x00\x00\x00\x01", 6, "preset dictionary"},
        /* br: WBITS code 0b0010001 is invalid (RFC 7932 §9.1). */
        {"br", "\x11\x00", 2, "corrupt br stream"},
        {"gzip", "\x1f\x8b\x07\x00", 4, "unknown compression method"},
        /* zstd frames whose size differs from their header's: libzstd's
         * streaming path lets an empty last block pass (found by fuzzing). */
        {"zstd", "\x28\xb5\x2f\xfd\x20\x29\x01\x00\x00", 9, "header says 41"},
        {"zstd", "\x28\xb5\x2f\xfd\x20\x01\x11\x00\x00ab", 11, "corrupt zstd"},
        /* A legacy (v0.7) frame is not RFC 8878 zstd. */
        {"zstd", "\x27\xb5\x2f\xfd\x00\x00\x00\x00\x00", 9, "Unknown frame"},
    };
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        char msg[256];
        check_decode(raw[i].ce, NULL, (const uint8_t *)raw[i].in, raw[i].len,
                     CIO_ECODING, NULL, 0, msg, sizeof(msg));
        cr_expect(strstr(msg, raw[i].msg) != NULL, "%s %zu: %s", raw[i].ce, i,
                  msg);
    }
}

Test(coding, random_damage_never_hangs_and_is_split_invariant)
{
    /* Single-byte flips and random bytes: the result is success or a
     * clean error, the same for every split. */
    uint8_t *data = make_data(4000, 34);
    struct cio__decoder_opts o = {.max_output = 100000};
    for (int k = 0; k < K_COUNT; k++) {
        size_t clen;
        uint8_t *c = lib_compress((enum kind)k, data, 4000, &clen);
        seed(k + 100);
        for (int i = 0; i < 60; i++) {
            uint8_t *m = malloc(clen);
            memcpy(m, c, clen);
            size_t pos = rnd() % clen;
            m[pos] ^= (uint8_t)(1 + rnd() % 255);
            struct result w, r1, r2;
            uint64_t s = rng_state;
            decode(kind_ce[k], &o, m, clen, WHOLE, 65536, 1, &w);
            decode(kind_ce[k], &o, m, clen, ONE, 97, 1, &r1);
            decode(kind_ce[k], &o, m, clen, RANDOM, 5, 2, &r2);
            rng_state = s;
            cr_assert(w.rc == 0 || w.rc == CIO_ECODING || w.rc == CIO_ETOOBIG,
                      "%s flip at %zu: %s", kind_name[k], pos,
                      cio_errname(w.rc));
            cr_assert(w.rc == r1.rc && w.rc == r2.rc,
                      "%s flip at %zu: %s / %s / %s", kind_name[k], pos,
                      cio_errname(w.rc), cio_errname(r1.rc),
                      cio_errname(r2.rc));
            if (w.rc == 0)
                cr_assert(w.len == r1.len && w.len == r2.len &&
                          memcmp(w.out, r1.out, w.len) == 0 &&
                          memcmp(w.out, r2.out, w.len) == 0);
            result_free(&w);
            result_free(&r1);
            result_free(&r2);
            free(m);
        }
        for (int i = 0; i < 40; i++) {
            size_t len = rnd() % 3000;
            uint8_t *m = malloc(len + 1);
            for (size_t j = 0; j < len; j++)
                m[j] = (uint8_t)rnd();
            struct result w;
            uint64_t s = rng_state;
            decode(kind_ce[k], &o, m, len, RANDOM, 333, i, &w);
            rng_state = s;
            cr_assert(w.rc == 0 || w.rc == CIO_ECODING || w.rc == CIO_ETOOBIG,
                      "%s garbage: %s", kind_name[k], cio_errname(w.rc));
            result_free(&w);
            free(m);
        }
        free(c);
    }
    free(data);
}

/* ---------------------------------------------------------- the caps */

Test(coding, output_cap_is_exact_for_every_codec)
{
    /* max_output bytes pass; one more fails, and exactly max_output bytes
     * (a prefix of the body) were handed out. */
    const uint64_t cap = 100000;
    struct cio__decoder_opts o = {.max_output = cap};
    uint8_t *data = make_data(cap + 1, 41);
    for (int k = 0; k < K_COUNT; k++) {
        for (size_t extra = 0; extra <= 1; extra++) {
            size_t clen;
            uint8_t *c = lib_compress((enum kind)k, data, cap + extra, &clen);
            check_decode(kind_ce[k], &o, c, clen, extra ? CIO_ETOOBIG : 0, data,
                         cap + extra, NULL, 0);
            struct result r;
            decode(kind_ce[k], &o, c, clen, RANDOM, 1000, 5, &r);
            cr_expect_eq(r.len, cap, "%s +%zu: %zu bytes out", kind_name[k],
                         extra, r.len);
            if (extra)
                cr_expect(strstr(r.msg, "exceeds 100000 bytes") != NULL, "%s",
                          r.msg);
            result_free(&r);
            free(c);
        }
    }
    free(data);
}

/* A gzip member of n zero bytes, compressed at level 9. */
static uint8_t *zeros_gzip(size_t n, size_t *outlen)
{
    static uint8_t zero[1 << 16];
    size_t cap = n / 512 + 4096;
    uint8_t *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof(z));
    cr_assert(out != NULL);
    cr_assert_eq(
        deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    while (n > 0) {
        size_t k = n < sizeof(zero) ? n : sizeof(zero);
        n -= k;
        z.next_in = zero;
        z.avail_in = (uInt)k;
        int zr = deflate(&z, n == 0 ? Z_FINISH : Z_NO_FLUSH);
        cr_assert(zr == Z_OK || zr == Z_STREAM_END);
        cr_assert(z.avail_in == 0 && z.avail_out > 0);
    }
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static long status_kb(const char *field)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    cr_assert(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0)
            v = strtol(line + strlen(field) + 1, NULL, 10);
    fclose(f);
    return v;
}

struct keep {
    uint8_t *buf; /* mmap'd, cap bytes: a client buffering the body */
    size_t len, cap;
};

static int keep_sink(void *ud, const void *p, size_t n)
{
    struct keep *k = ud;
    cr_assert(k->len + n <= k->cap, "sink got more than the cap");
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return 0;
}

Test(coding, gzip_bomb_stops_at_the_cap_with_bounded_memory)
{
    /* RELIABILITY 46: 10 MiB of gzip that would be 10 GiB (100 members of
     * 100 MiB of zeros). The body is kept in memory, as a client does;
     * the peak RSS during decoding stays under cap + 1 MiB. This test
     * runs in its own process (Criterion forks one per test). */
    const size_t member = (size_t)100 << 20,
                 cap = CIO__CODING_DEFAULT_MAX_OUTPUT;
    size_t mlen;
    uint8_t *m = zeros_gzip(member, &mlen);
    size_t blen = mlen * 100;
    uint8_t *bomb = malloc(blen);
    cr_assert(bomb != NULL);
    for (size_t i = 0; i < 100; i++)
        memcpy(bomb + i * mlen, m, mlen);
    free(m);
    cr_log_info("bomb: %zu bytes -> %zu MiB", blen, member * 100 >> 20);
    cr_assert(blen < (size_t)11 << 20 && blen > (size_t)9 << 20);

    struct keep k = {.cap = cap};
    k.buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    cr_assert(k.buf != MAP_FAILED);
    /* Input pages resident before measuring. */
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < blen; i += 4096)
        sum = (uint8_t)(sum + bomb[i]);
    (void)sum;

    FILE *f = fopen("/proc/self/clear_refs", "w"); /* resets VmHWM */
    cr_assert(f != NULL);
    fputs("5", f);
    fclose(f);
    long before = status_kb("VmRSS:");

    struct cio__decoder *d;
    CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c("gzip"), NULL), 0);
    int rc = 0;
    for (size_t off = 0; off < blen && rc == 0; off += 65536)
        rc = cio__decoder_write(d, bomb + off,
                                blen - off < 65536 ? blen - off : 65536,
                                keep_sink, &k);
    if (rc == 0)
        rc = cio__decoder_end(d, keep_sink, &k);
    long peak = status_kb("VmHWM:");
    size_t mem_peak;
    cio__decoder_mem(d, &mem_peak);

    CIO_EXPECT_RC(rc, CIO_ETOOBIG);
    cr_expect_eq(k.len, cap, "kept %zu bytes", k.len);
    cr_expect_eq(cio__decoder_total(d), cap);
    cr_log_info("RSS %ld kB before, peak %ld kB; decoder peak %zu bytes",
                before, peak, mem_peak);
    cr_expect(peak - before <= (long)(cap >> 10) + 1024,
              "RSS grew by %ld kB for a %zu kB cap", peak - before, cap >> 10);
    cr_expect(mem_peak < 100000, "gzip decoder peak %zu bytes", mem_peak);
    /* Every later call fails the same way. */
    size_t a, b;
    CIO_EXPECT_RC(cio__decoder_feed(d, bomb, 1, &a, k.buf, 1, &b), CIO_ETOOBIG);
    cio__decoder_free(d);
    munmap(k.buf, cap);
    free(bomb);
}

Test(coding, bombs_of_every_codec_stop_at_the_cap)
{
    const size_t n = (size_t)8 << 20;
    struct cio__decoder_opts o = {.max_output = 1 << 20};
    uint8_t *zero = calloc(1, n);
    cr_assert(zero != NULL);
    for (int k = 0; k < K_COUNT; k++) {
        size_t clen;
        uint8_t *c = lib_compress((enum kind)k, zero, n, &clen);
        struct result r;
        decode(kind_ce[k], &o, c, clen, WHOLE, 65536, 1, &r);
        CIO_EXPECT_RC(r.rc, CIO_ETOOBIG);
        cr_expect_eq(r.len, (size_t)1 << 20, "%s", kind_name[k]);
        result_free(&r);
        free(c);
    }
    free(zero);
}

Test(coding, inner_stage_cannot_churn_past_the_cap)
{
    /* "gzip, gzip" whose outer layer expands to 2 MiB of empty gzip
     * members: the body is empty, but the inner stage's input (the outer
     * stage's output) is capped too. */
    size_t elen;
    uint8_t *e = lib_compress(K_GZIP, (const uint8_t *)"", 0, &elen);
    size_t n = (2u << 20) / elen * elen;
    uint8_t *members = malloc(n);
    for (size_t i = 0; i < n; i += elen)
        memcpy(members + i, e, elen);
    size_t clen;
    uint8_t *c = lib_compress(K_GZIP, members, n, &clen);
    struct cio__decoder_opts o = {.max_output = 1 << 20};
    char msg[256];
    check_decode("gzip, gzip", NULL, c, clen, 0, (const uint8_t *)"", 0, NULL,
                 0);
    check_decode("gzip, gzip", &o, c, clen, CIO_ETOOBIG, (const uint8_t *)"", 0,
                 msg, sizeof(msg));
    cr_expect(strstr(msg, "exceeds 1048576") != NULL, "%s", msg);
    free(c);
    free(members);
    free(e);
}

/* A zstd frame made with windowLog wlog; streamed (size unknown), so the
 * header declares the window and not the content size. */
static uint8_t *zstd_window(int wlog, const uint8_t *in, size_t len,
                            size_t *outlen)
{
    size_t cap = ZSTD_compressBound(len) + 1024;
    uint8_t *out = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    cr_assert(out != NULL && c != NULL);
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, wlog)));
    ZSTD_inBuffer ib = {in, len, 0};
    ZSTD_outBuffer ob = {out, cap, 0};
    size_t r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue);
    cr_assert(!ZSTD_isError(r));
    ZSTD_inBuffer none = {NULL, 0, 0};
    r = ZSTD_compressStream2(c, &ob, &none, ZSTD_e_end);
    cr_assert(r == 0);
    *outlen = ob.pos;
    ZSTD_freeCCtx(c);
    return out;
}

Test(coding, zstd_window_above_8_mib_is_refused)
{
    /* RELIABILITY 48, RFC 9659: windowLog 24 (16 MiB) declared. */
    uint8_t *data = make_data(100000, 51);
    size_t len;
    char msg[256];
    uint8_t *c = zstd_window(24, data, 100000, &len);
    check_decode("zstd", NULL, c, len, CIO_ECODING, NULL, 0, msg, sizeof(msg));
    cr_expect(strstr(msg, "8 MiB") != NULL, "%s", msg);
    free(c);
    /* 8 MiB exactly is fine. */
    c = zstd_window(23, data, 100000, &len);
    check_decode("zstd", NULL, c, len, 0, data, 100000, NULL, 0);
    free(c);
    free(data);

    /* A single-segment frame: the window is the content size, 9 MiB. */
    size_t n = (size_t)9 << 20;
    data = make_data(n, 52);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 24);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    size_t cap = ZSTD_compressBound(n);
    c = malloc(cap);
    len = ZSTD_compress2(cc, c, cap, data, n);
    cr_assert(!ZSTD_isError(len));
    ZSTD_freeCCtx(cc);
    struct result r;
    decode("zstd", NULL, c, len, WHOLE, 65536, 1, &r);
    CIO_EXPECT_RC(r.rc, CIO_ECODING);
    cr_expect(strstr(r.msg, "8 MiB") != NULL, "%s", r.msg);
    cr_expect_eq(r.len, 0);
    result_free(&r);
    free(c);
    free(data);
}

Test(coding, memory_ceiling_refuses_large_windows)
{
    uint8_t *data = make_data(1 << 20, 53);
    struct cio__decoder_opts o = {.max_memory = 256 << 10};
    static const enum kind ks[] = {K_BR, K_ZSTD};
    for (size_t i = 0; i < 2; i++) {
        size_t clen;
        uint8_t *c = lib_compress(ks[i], data, 1 << 20, &clen);
        char msg[256];
        check_decode(kind_ce[ks[i]], &o, c, clen, CIO_ETOOBIG, data, 1 << 20,
                     msg, sizeof(msg));
        cr_expect(strstr(msg, "bytes of memory") != NULL, "%s", msg);
        check_decode(kind_ce[ks[i]], NULL, c, clen, 0, data, 1 << 20, NULL, 0);

        /* Streaming with a small buffer (zstd decodes a whole frame
         * straight into a buffer big enough, with no window). */
        struct cio__decoder *d;
        size_t a, b, peak, off = 0;
        uint8_t out[65536];
        CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c(kind_ce[ks[i]]), NULL), 0);
        while (off < clen) {
            CIO_ASSERT_RC(cio__decoder_feed(d, c + off, clen - off, &a, out,
                                            sizeof(out), &b),
                          0);
            off += a;
        }
        cio__decoder_mem(d, &peak);
        cr_expect(peak <= CIO__CODING_DEFAULT_MAX_MEMORY && peak > (256 << 10),
                  "%s peak %zu", kind_name[ks[i]], peak);
        cr_log_info("%s (1 MiB body): decoder peak %zu bytes", kind_name[ks[i]],
                    peak);
        cio__decoder_free(d);
        free(c);
    }
    free(data);
}

/* ------------------------------------------------- lifetimes and errors */

Test(coding, errors_are_sticky_and_finished_decoders_take_no_input)
{
    struct cio__decoder *d;
    uint8_t out[64];
    size_t a, b;
    CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c("gzip"), NULL), 0);
    CIO_EXPECT_RC(cio__decoder_feed(d, "xyz", 3, &a, out, sizeof(out), &b),
                  CIO_ECODING);
    CIO_EXPECT_RC(cio__decoder_feed(d, "xyz", 3, &a, out, sizeof(out), &b),
                  CIO_ECODING);
    cr_expect(strstr(cio_last_error(), "not a gzip stream") != NULL, "%s",
              cio_last_error());
    CIO_EXPECT_RC(cio__decoder_finish(d, out, sizeof(out), &b), CIO_ECODING);
    cio__decoder_free(d);

    CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c(""), NULL), 0);
    CIO_ASSERT_RC(cio__decoder_feed(d, "ab", 2, &a, out, sizeof(out), &b), 0);
    cr_expect(a == 2 && b == 2);
    CIO_ASSERT_RC(cio__decoder_finish(d, out, sizeof(out), &b), 0);
    CIO_EXPECT_RC(cio__decoder_feed(d, "c", 1, &a, out, sizeof(out), &b),
                  CIO_EINVAL);
    CIO_EXPECT_RC(cio__decoder_finish(d, out, 0, &b), CIO_EINVAL);
    cio__decoder_free(d);
    cio__decoder_free(NULL);
}

static int count_sink(void *ud, const void *p, size_t n)
{
    size_t *total = ud;
    (void)p;
    cr_assert(n > 0 && n <= 16384, "chunk of %zu bytes", n);
    *total += n;
    return *total > 50000 ? CIO_ECANCELED : 0;
}

Test(coding, sink_errors_stop_the_decoder)
{
    uint8_t *data = make_data(200000, 61);
    size_t clen, total = 0;
    uint8_t *c = lib_compress(K_BR, data, 200000, &clen);
    struct cio__decoder *d;
    CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c("br"), NULL), 0);
    CIO_EXPECT_RC(cio__decoder_write(d, c, clen, count_sink, &total),
                  CIO_ECANCELED);
    cr_expect(total > 50000 && total <= 50000 + 16384);
    CIO_EXPECT_RC(cio__decoder_end(d, count_sink, &total), CIO_ECANCELED);
    cio__decoder_free(d);
    free(c);
    free(data);
}

Test(coding, decoders_freed_mid_stream_leak_nothing)
{
    /* RELIABILITY 50: every abort path frees the codec state. */
    uint8_t *data = make_data(100000, 62);
    uint8_t out[1000];
    for (int k = 0; k < K_COUNT; k++) {
        size_t clen, a, b;
        uint8_t *c = lib_compress((enum kind)k, data, 100000, &clen);
        struct cio__decoder *d;
        CIO_ASSERT_RC(cio__decoder_new(&d, cio_str_c(kind_ce[k]), NULL), 0);
        CIO_ASSERT_RC(
            cio__decoder_feed(d, c, clen / 2, &a, out, sizeof(out), &b), 0);
        cr_expect(cio__decoder_mem(d, NULL) > 0);
        cio__decoder_free(d);
        free(c);
    }
    free(data);
    cio_test_no_leaks();
}

static long fail_at, nallocs;

static int fail_hook(size_t size)
{
    (void)size;
    return nallocs++ == fail_at;
}

Test(coding, each_failed_allocation_is_enomem_without_leaks)
{
    uint8_t *data = make_data(300000, 63);
    static const char *const ces[] = {"gzip", "deflate", "br", "zstd",
                                      "gzip, br"};
    for (size_t i = 0; i < sizeof(ces) / sizeof(ces[0]); i++) {
        size_t c1len, clen;
        uint8_t *c1 = lib_compress(K_GZIP, data, 300000, &c1len), *c;
        if (i == 4) {
            c = lib_compress(K_BR, c1, c1len, &clen);
            free(c1);
        } else if (i == 0) {
            c = c1;
            clen = c1len;
        } else {
            free(c1);
            c = lib_compress((enum kind)(i + 1), data, 300000, &clen);
        }
        long total;
        fail_at = -1;
        nallocs = 0;
        cio__alloc_fail_hook = fail_hook;
        struct result r;
        decode(ces[i], NULL, c, clen, RANDOM, 4096, 1, &r);
        total = nallocs;
        CIO_EXPECT_RC(r.rc, 0);
        result_free(&r);
        cr_expect(total >= 2, "%s: %ld allocations", ces[i], total);
        for (fail_at = 0; fail_at < total; fail_at++) {
            nallocs = 0;
            decode(ces[i], NULL, c, clen, RANDOM, 4096, 1, &r);
            cr_expect_eq(r.rc, CIO_ENOMEM, "%s: failing allocation %ld gave %s",
                         ces[i], fail_at, cio_errname(r.rc));
            result_free(&r);
        }
        cio__alloc_fail_hook = NULL;
        free(c);
    }
    free(data);
    cio_test_no_leaks();
}

/* ------------------------------------------------------------ encoding */

/* One encode through the buffer API; 0 or the first error. */
static int encode_once(enum cio__coding c, const uint8_t *in, size_t len)
{
    struct cio__encoder *e;
    uint8_t out[4096];
    size_t off = 0, a, b;
    int rc = cio__encoder_new(&e, c, NULL);

    if (rc < 0)
        return rc;
    while (off < len) {
        rc =
            cio__encoder_feed(e, in + off, len - off, &a, out, sizeof(out), &b);
        if (rc < 0)
            goto free_encoder;
        off += a;
    }
    do
        rc = cio__encoder_finish(e, out, sizeof(out), &b);
    while (rc == 1);
free_encoder:
    cio__encoder_free(e);
    return rc;
}

Test(coding, encoder_failed_allocations_are_enomem_without_leaks)
{
    /* Not br: libbrotli's encoder (1.0.9, BROTLI_ENCODER_EXIT_ON_OOM)
     * calls exit() when an allocation fails. */
    static const enum cio__coding cs[] = {CIO__CODING_GZIP, CIO__CODING_ZSTD};
    uint8_t *data = make_data(200000, 64);
    for (size_t ci = 0; ci < 2; ci++) {
        fail_at = -1;
        nallocs = 0;
        cio__alloc_fail_hook = fail_hook;
        CIO_EXPECT_RC(encode_once(cs[ci], data, 200000), 0);
        long total = nallocs;
        cr_expect(total >= 2, "%ld allocations", total);
        for (fail_at = 0; fail_at < total; fail_at++) {
            nallocs = 0;
            int rc = encode_once(cs[ci], data, 200000);
            cr_expect_eq(rc, CIO_ENOMEM, "%s: failing allocation %ld gave %s",
                         cio__coding_name(cs[ci]), fail_at, cio_errname(rc));
        }
        cio__alloc_fail_hook = NULL;
    }
    free(data);
    cio_test_no_leaks();
}

/* Decodes with the codec library itself (not our decoder). */
static uint8_t *lib_decode(enum cio__coding c, const uint8_t *in, size_t len,
                           size_t want)
{
    uint8_t *out = malloc(want + 1);
    cr_assert(out != NULL);
    if (c == CIO__CODING_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        cr_assert_eq(inflateInit2(&z, 16 + 15), Z_OK);
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)want + 1;
        cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
        cr_assert(z.avail_in == 0 && z.total_out == want);
        inflateEnd(&z);
    } else if (c == CIO__CODING_BR) {
        size_t n = want + 1;
        cr_assert_eq(BrotliDecoderDecompress(len, in, &n, out),
                     BROTLI_DECODER_RESULT_SUCCESS);
        cr_assert_eq(n, want);
    } else {
        size_t r = ZSTD_decompress(out, want + 1, in, len);
        cr_assert(!ZSTD_isError(r), "%s", ZSTD_getErrorName(r));
        cr_assert_eq(r, want);
    }
    return out;
}

/* Encodes with the buffer API: random feed sizes, small output buffers, a
 * flush in the middle. */
static uint8_t *encode(enum cio__coding c, int level, const uint8_t *in,
                       size_t len, size_t outchunk, size_t *outlen)
{
    struct cio__encoder *e;
    struct cio__encoder_opts o = {.level = level};
    struct result r;
    size_t cap = 0, off = 0, a, b;
    uint8_t *buf = malloc(outchunk);
    int rc;

    memset(&r, 0, sizeof(r));
    CIO_ASSERT_RC(cio__encoder_new(&e, c, &o), 0);
    while (off < len) {
        size_t n = 1 + rnd() % (len - off < 30000 ? len - off : 30000);
        const uint8_t *p = in + off;
        size_t left = n;
        while (left > 0) {
            CIO_ASSERT_RC(cio__encoder_feed(e, p, left, &a, buf, outchunk, &b),
                          0);
            cr_assert(a > 0 || b > 0);
            append(&r, &cap, buf, b);
            p += a;
            left -= a;
        }
        off += n;
        if (off >= len / 2 && off - n < len / 2) {
            do {
                rc = cio__encoder_flush(e, buf, outchunk, &b);
                cr_assert(rc == 0 || rc == 1);
                cr_assert(b <= outchunk);
                append(&r, &cap, buf, b);
            } while (rc == 1);
        }
    }
    do {
        rc = cio__encoder_finish(e, buf, outchunk, &b);
        cr_assert(rc == 0 || rc == 1, "%s", cio_errname(rc));
        append(&r, &cap, buf, b);
    } while (rc == 1);
    cio__encoder_free(e);
    free(buf);
    *outlen = r.len;
    return r.out;
}

Test(coding, encoder_output_is_read_by_the_libraries_and_by_us)
{
    static const enum cio__coding cs[] = {CIO__CODING_GZIP, CIO__CODING_BR,
                                          CIO__CODING_ZSTD};
    static const int levels[3][3] = {{0, 1, 9}, {0, 1, 11}, {0, 1, 19}};
    static const size_t sizes[] = {0, 1, 5000, 300000};
    for (size_t ci = 0; ci < 3; ci++)
        for (size_t li = 0; li < 3; li++)
            for (size_t si = 0; si < 4; si++) {
                size_t n = sizes[si], clen;
                if (levels[ci][li] >= 11 && n > 5000)
                    continue; /* slow at the top levels */
                uint8_t *data = make_data(n, si + 70);
                seed(ci * 10 + li);
                uint8_t *c = encode(cs[ci], levels[ci][li], data, n,
                                    si % 2 ? 100 : 16384, &clen);
                uint8_t *back = lib_decode(cs[ci], c, clen, n);
                cr_assert(n == 0 || memcmp(back, data, n) == 0);
                check_decode(cio__coding_name(cs[ci]), NULL, c, clen, 0, data,
                             n, NULL, 0);
                if (n == 300000 && li == 0)
                    cr_log_info("%s level default: 300000 -> %zu bytes",
                                cio__coding_name(cs[ci]), clen);
                free(back);
                free(c);
                free(data);
            }
}

Test(coding, flush_makes_everything_fed_so_far_decodable)
{
    /* A streaming response: after each flush the peer can decode all. */
    static const enum cio__coding cs[] = {CIO__CODING_GZIP, CIO__CODING_BR,
                                          CIO__CODING_ZSTD};
    static const char *const parts[] = {"event: one\n\n", "event: two\n\n",
                                        "event: three\n\n"};
    for (size_t ci = 0; ci < 3; ci++) {
        struct cio__encoder *e;
        struct cio__decoder *d;
        uint8_t enc[4096], dec[4096];
        size_t a, b, da, db, want = 0;
        char all[128] = "";
        CIO_ASSERT_RC(cio__encoder_new(&e, cs[ci], NULL), 0);
        CIO_ASSERT_RC(
            cio__decoder_new(&d, cio_str_c(cio__coding_name(cs[ci])), NULL), 0);
        for (size_t i = 0; i < 3; i++) {
            size_t n = strlen(parts[i]), elen = 0, got = 0;
            CIO_ASSERT_RC(
                cio__encoder_feed(e, parts[i], n, &a, enc, sizeof(enc), &b), 0);
            cr_assert_eq(a, n);
            elen = b;
            CIO_ASSERT_RC(
                cio__encoder_flush(e, enc + elen, sizeof(enc) - elen, &b), 0);
            elen += b;
            CIO_ASSERT_RC(
                cio__decoder_feed(d, enc, elen, &da, dec, sizeof(dec), &db), 0);
            cr_assert_eq(da, elen);
            got = db;
            strcat(all, parts[i]);
            want += n;
            cr_expect(got == n && memcmp(dec, parts[i], n) == 0,
                      "%s part %zu: decoded %zu of %zu bytes after flush",
                      cio__coding_name(cs[ci]), i, got, n);
        }
        CIO_ASSERT_RC(cio__encoder_finish(e, enc, sizeof(enc), &b), 0);
        CIO_ASSERT_RC(cio__decoder_feed(d, enc, b, &da, dec, sizeof(dec), &db),
                      0);
        cr_expect_eq(db, 0);
        CIO_ASSERT_RC(cio__decoder_finish(d, dec, sizeof(dec), &db), 0);
        cr_expect_eq(cio__decoder_total(d), want);
        cio__encoder_free(e);
        cio__decoder_free(d);
    }
}

Test(coding, encoder_states_are_enforced)
{
    struct cio__encoder *e;
    struct cio__encoder_opts o = {.level = 10};
    uint8_t *data = make_data(300000, 81), out[16];
    size_t a, b;
    CIO_EXPECT_RC(cio__encoder_new(&e, CIO__CODING_GZIP, &o), CIO_EINVAL);
    o.level = 20;
    CIO_EXPECT_RC(cio__encoder_new(&e, CIO__CODING_ZSTD, &o), CIO_EINVAL);
    o.level = -1;
    CIO_EXPECT_RC(cio__encoder_new(&e, CIO__CODING_BR, &o), CIO_EINVAL);
    CIO_EXPECT_RC(cio__encoder_new(&e, CIO__CODING_DEFLATE, NULL), CIO_ENOTSUP);

    static const enum cio__coding cs[] = {CIO__CODING_GZIP, CIO__CODING_BR,
                                          CIO__CODING_ZSTD};
    for (size_t ci = 0; ci < 3; ci++) {
        CIO_ASSERT_RC(cio__encoder_new(&e, cs[ci], NULL), 0);
        size_t off = 0;
        while (off < 300000) {
            CIO_ASSERT_RC(cio__encoder_feed(e, data + off, 300000 - off, &a,
                                            out, sizeof(out), &b),
                          0);
            off += a;
        }
        /* A flush that does not fit: only flush may follow until done. */
        CIO_ASSERT_RC(cio__encoder_flush(e, out, sizeof(out), &b), 1);
        CIO_EXPECT_RC(cio__encoder_feed(e, "x", 1, &a, out, sizeof(out), &b),
                      CIO_EINVAL);
        CIO_EXPECT_RC(cio__encoder_finish(e, out, sizeof(out), &b), CIO_EINVAL);
        int rc, rounds = 0;
        do {
            rc = cio__encoder_flush(e, out, sizeof(out), &b);
            cr_assert(rc == 0 || rc == 1);
            cr_assert(++rounds < 1000000);
        } while (rc == 1);
        CIO_ASSERT_RC(cio__encoder_feed(e, "x", 1, &a, out, sizeof(out), &b),
                      0);
        do {
            rc = cio__encoder_finish(e, out, sizeof(out), &b);
            cr_assert(rc == 0 || rc == 1);
        } while (rc == 1);
        CIO_EXPECT_RC(cio__encoder_feed(e, "x", 1, &a, out, sizeof(out), &b),
                      CIO_EINVAL);
        CIO_EXPECT_RC(cio__encoder_flush(e, out, sizeof(out), &b), CIO_EINVAL);
        CIO_EXPECT_RC(cio__encoder_finish(e, out, sizeof(out), &b), 0);
        cio__encoder_free(e);
    }
    free(data);
}

struct collect {
    uint8_t *buf;
    size_t len, cap, maxchunk;
};

static int collect_sink(void *ud, const void *p, size_t n)
{
    struct collect *c = ud;
    cr_assert(n > 0 && n <= 16384);
    if (n > c->maxchunk)
        c->maxchunk = n;
    cr_assert(c->len + n <= c->cap);
    memcpy(c->buf + c->len, p, n);
    c->len += n;
    return 0;
}

Test(coding, callback_forms_give_bounded_chunks)
{
    const size_t n = 2 << 20;
    uint8_t *data = make_data(n, 82);
    static const enum cio__coding cs[] = {CIO__CODING_IDENTITY,
                                          CIO__CODING_GZIP, CIO__CODING_BR,
                                          CIO__CODING_ZSTD};
    for (size_t ci = 0; ci < 4; ci++) {
        struct cio__encoder *e;
        struct cio__decoder *d;
        struct collect enc = {.buf = malloc(n + 65536), .cap = n + 65536};
        struct collect dec = {.buf = malloc(n), .cap = n};
        CIO_ASSERT_RC(cio__encoder_new(&e, cs[ci], NULL), 0);
        CIO_ASSERT_RC(cio__encoder_write(e, data, n / 2, collect_sink, &enc),
                      0);
        CIO_ASSERT_RC(cio__encoder_flush_to(e, collect_sink, &enc), 0);
        CIO_ASSERT_RC(
            cio__encoder_write(e, data + n / 2, n - n / 2, collect_sink, &enc),
            0);
        CIO_ASSERT_RC(cio__encoder_end(e, collect_sink, &enc), 0);
        cio__encoder_free(e);
        CIO_ASSERT_RC(
            cio__decoder_new(&d, cio_str_c(cio__coding_name(cs[ci])), NULL), 0);
        CIO_ASSERT_RC(
            cio__decoder_write(d, enc.buf, enc.len, collect_sink, &dec), 0);
        CIO_ASSERT_RC(cio__decoder_end(d, collect_sink, &dec), 0);
        cr_expect(dec.len == n && memcmp(dec.buf, data, n) == 0, "%s",
                  cio__coding_name(cs[ci]));
        cr_expect_eq(dec.maxchunk, 16384);
        cio__decoder_free(d);
        free(enc.buf);
        free(dec.buf);
    }
    free(data);
}

/* --------------------------------------------------------- negotiation */

#define ALL 0u
#define NONE -1

Test(coding, accept_encoding_negotiation_table)
{
    static const struct {
        const char *ae; /* NULL = no Accept-Encoding field */
        unsigned offer;
        int want; /* enum cio__coding, or NONE (CIO_ENOTSUP) */
    } cases[] = {
        {NULL, ALL, CIO__CODING_IDENTITY},
        {"", ALL, CIO__CODING_IDENTITY},
        {"gzip", ALL, CIO__CODING_GZIP},
        {"gzip, br", ALL, CIO__CODING_BR},
        {"gzip, deflate, br, zstd", ALL, CIO__CODING_BR},
        {"gzip, zstd", ALL, CIO__CODING_ZSTD},
        {"zstd;q=0.5, gzip;q=0.5", ALL, CIO__CODING_ZSTD},
        {"gzip;q=1, br;q=0.5", ALL, CIO__CODING_GZIP},
        {"gzip ; q=0.5 , zstd;q=0.6", ALL, CIO__CODING_ZSTD},
        {"br;q=0, gzip", ALL, CIO__CODING_GZIP},
        {"*", ALL, CIO__CODING_BR},
        {"*;q=0.5, br;q=0.4", ALL, CIO__CODING_ZSTD},
        {"*;q=0", ALL, NONE},
        {"*;q=0, identity", ALL, CIO__CODING_IDENTITY},
        {"identity;q=0", ALL, NONE},
        {"identity;q=0, gzip;q=0.001", ALL, CIO__CODING_GZIP},
        {"identity, gzip;q=0.5", ALL, CIO__CODING_IDENTITY},
        {"gzip, identity;q=1", ALL, CIO__CODING_GZIP},
        {"deflate", ALL, CIO__CODING_IDENTITY},
        {"deflate, identity;q=0", ALL, NONE},
        {"x-gzip", ALL, CIO__CODING_GZIP},
        {"GZIP;Q=0.5", ALL, CIO__CODING_GZIP},
        {"gzip;q=1.001", ALL, CIO__CODING_IDENTITY},
        {"gzip;q=0.0001", ALL, CIO__CODING_IDENTITY},
        {"gzip;q=", ALL, CIO__CODING_IDENTITY},
        {"gzip;q=.5", ALL, CIO__CODING_IDENTITY},
        {"gzip;q=0.5x, br", ALL, CIO__CODING_BR},
        {"gzip;q=0, gzip", ALL, CIO__CODING_IDENTITY},
        {"gzip;foo=\"a,b\";q=0.8, br;q=0.7", ALL, CIO__CODING_GZIP},
        {"gzip;q=0.5;level=9", ALL, CIO__CODING_GZIP},
        {",,, gzip ,,", ALL, CIO__CODING_GZIP},
        {"compress, xz", ALL, CIO__CODING_IDENTITY},
        {"br;q=0.9, gzip;q=0.1", CIO__CODING_BIT(CIO__CODING_GZIP),
         CIO__CODING_GZIP},
        {"br", CIO__CODING_BIT(CIO__CODING_GZIP), CIO__CODING_IDENTITY},
        {"br, zstd", CIO__CODING_BIT(CIO__CODING_ZSTD), CIO__CODING_ZSTD},
        {"gzip;q=1.000, br;q=1.0", ALL, CIO__CODING_BR},
        {"gzip;q=1.01", ALL, CIO__CODING_IDENTITY},
        {"gzip;q=0.999, br;q=0.998", ALL, CIO__CODING_GZIP},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum cio__coding got = (enum cio__coding)99;
        struct cio_str ae = {cases[i].ae,
                             cases[i].ae ? strlen(cases[i].ae) : 0};
        int rc = cio__coding_negotiate(ae, cases[i].offer, &got);
        if (cases[i].want == NONE) {
            cr_expect_eq(rc, CIO_ENOTSUP, "case %zu \"%s\": got %s / %d", i,
                         cases[i].ae, cio_errname(rc), (int)got);
            cr_expect_eq((int)got, 99, "case %zu: out written on failure", i);
        } else {
            cr_expect(rc == 0 && (int)got == cases[i].want,
                      "case %zu \"%s\": got %s, coding %d, want %d", i,
                      cases[i].ae ? cases[i].ae : "(absent)", cio_errname(rc),
                      (int)got, cases[i].want);
        }
    }
}

/* ------------------------------------------------------- task stacks */

static int on_task_stack(void *arg)
{
    /* The client and server run codecs inside tasks, whose stacks are
     * 64 KiB by default: every codec must fit (ASan frames are bigger). */
    static const enum cio__coding cs[] = {CIO__CODING_GZIP, CIO__CODING_BR,
                                          CIO__CODING_ZSTD};
    static const int top[] = {9, 11, 19};
    const uint8_t *data = arg;
    const size_t n = 300000;
    for (size_t ci = 0; ci < 3; ci++) {
        struct cio__encoder *e;
        struct cio__decoder *d;
        struct cio__encoder_opts o = {.level = top[ci]};
        struct collect enc = {.buf = malloc(n + 65536), .cap = n + 65536};
        struct collect dec = {.buf = malloc(n), .cap = n};
        CIO_ASSERT_RC(cio__encoder_new(&e, cs[ci], &o), 0);
        CIO_ASSERT_RC(cio__encoder_write(e, data, n, collect_sink, &enc), 0);
        CIO_ASSERT_RC(cio__encoder_end(e, collect_sink, &enc), 0);
        cio__encoder_free(e);
        CIO_ASSERT_RC(
            cio__decoder_new(&d, cio_str_c(cio__coding_name(cs[ci])), NULL), 0);
        CIO_ASSERT_RC(
            cio__decoder_write(d, enc.buf, enc.len, collect_sink, &dec), 0);
        CIO_ASSERT_RC(cio__decoder_end(d, collect_sink, &dec), 0);
        cr_assert(dec.len == n && memcmp(dec.buf, data, n) == 0);
        cio__decoder_free(d);
        free(enc.buf);
        free(dec.buf);
    }
    return 0;
}

Test(coding, codecs_fit_in_a_default_task_stack)
{
    uint8_t *data = make_data(300000, 91);
    CIO_EXPECT_RC(cio_test_run(on_task_stack, data), 0);
    free(data);
}
