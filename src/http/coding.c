/* SPDX-License-Identifier: MIT */
#include "http/coding.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "config.h"

#if CIO_HAVE_BROTLI
#include <brotli/decode.h>
#include <brotli/encode.h>
#endif
#if CIO_HAVE_ZSTD
/* For ZSTD_customMem and ZSTD_create?Ctx_advanced: every allocation goes
 * through cio__malloc and the decoder's budget. Exported by libzstd.so
 * since 1.3 and unchanged since. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
#endif

/* Bytes between two stages of a stacked list, and the chunk size of the
 * callback helpers. On the heap: task stacks are 64 KiB by default. */
#define CHUNK 16384

/* The most codings a decoder may be configured to stack. */
#define MAX_STACK 16

/* Error text kept for the calls after a failure. */
#define WHY_LEN 160

static const char *const names[CIO__CODING_COUNT] = {
    [CIO__CODING_IDENTITY] = "identity", [CIO__CODING_GZIP] = "gzip",
    [CIO__CODING_DEFLATE] = "deflate",   [CIO__CODING_BR] = "br",
    [CIO__CODING_ZSTD] = "zstd",
};

const char *cio__coding_name(enum cio__coding c)
{
    return (unsigned)c < CIO__CODING_COUNT ? names[c] : "?";
}

bool cio__coding_can_decode(enum cio__coding c)
{
    switch (c) {
    case CIO__CODING_IDENTITY:
    case CIO__CODING_GZIP:
    case CIO__CODING_DEFLATE:
        return true;
    case CIO__CODING_BR:
        return CIO_HAVE_BROTLI;
    case CIO__CODING_ZSTD:
        return CIO_HAVE_ZSTD;
    default:
        return false;
    }
}

bool cio__coding_can_encode(enum cio__coding c)
{
    return c != CIO__CODING_DEFLATE && cio__coding_can_decode(c);
}

/* ------------------------------------------------------ counted memory */

/*
 * The codecs allocate through these, so a decoder's memory has a ceiling of
 * its own (max_memory) and tests can see its peak. Each block carries its
 * size in a 16-byte header, which keeps the 16-byte alignment the codecs
 * expect of malloc.
 */
struct mem {
    size_t used; /* bytes handed out now; used <= max always */
    size_t peak;
    size_t max;
    bool over; /* an allocation was refused for max, not by malloc */
};

#define MEM_HDR 16

static void *mem_alloc(void *opaque, size_t n)
{
    struct mem *m = opaque;
    unsigned char *p;

    if (n > m->max - m->used) {
        m->over = true;
        return NULL;
    }
    p = cio__malloc(n + MEM_HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof(n));
    m->used += n;
    if (m->used > m->peak)
        m->peak = m->used;
    return p + MEM_HDR;
}

static void mem_free(void *opaque, void *ptr)
{
    struct mem *m = opaque;
    unsigned char *p = ptr;
    size_t n;

    if (p == NULL)
        return;
    p -= MEM_HDR;
    memcpy(&n, p, sizeof(n));
    m->used -= n;
    cio__free(p);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    if (size != 0 && items > SIZE_MAX / size)
        return Z_NULL;
    return mem_alloc(opaque, (size_t)items * size);
}

static void z_free(voidpf opaque, voidpf ptr)
{
    mem_free(opaque, ptr);
}

static void z_setup(z_stream *z, struct mem *m)
{
    memset(z, 0, sizeof(*z));
    z->zalloc = z_alloc;
    z->zfree = z_free;
    z->opaque = m;
}

/* zlib counts in uInt: larger buffers are simply offered in parts. */
static uInt z_len(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

/* A valid pointer for "no bytes" arguments: some codecs reject NULL. */
static uint8_t nothing[1];

/* ------------------------------------------------------------ decoding */

enum {
    /* gzip */
    GZ_NEXT = 0, /* between members: a byte here must start a member */
    GZ_MEMBER,
    /* deflate */
    DF_SNIFF = 0, /* collecting the first two bytes */
    DF_BODY,
    DF_END,
    /* br */
    BR_BODY = 0,
    BR_END,
    /* zstd */
    ZS_HEAD = 0, /* between frames: collecting the next frame header */
    ZS_BODY,
};

#if CIO_HAVE_ZSTD
#define ZHDR_MAX ZSTD_FRAMEHEADERSIZE_MAX
#else
#define ZHDR_MAX 1
#endif

struct stage {
    enum cio__coding coding;
    uint8_t phase;     /* GZ_* / DF_* / BR_* by coding */
    bool live;         /* codec state initialised: free it */
    bool started;      /* got input: an empty body is complete */
    bool pending;      /* the last step filled its output: more may wait */
    uint64_t produced; /* output bytes so far; <= max_output always */
    unsigned members;  /* gzip members finished */
    uint8_t sniff[2];  /* deflate: the first two bytes, replayed */
    uint8_t nsniff;    /* bytes in sniff */
    uint8_t nfed;      /* bytes of sniff given to inflate */
    /* zstd: the current frame's header (replayed to the codec) and its
     * declared content size (ZSTD_CONTENTSIZE_UNKNOWN if none or
     * skippable), checked against the bytes the frame gave. */
    uint8_t zhdr[ZHDR_MAX];
    uint8_t zhlen, zfed;
    uint64_t zfcs, zout;
    /* This stage's output, the next stage's input (NULL for the last
     * stage): unread bytes are pipe[poff .. poff + plen), <= CHUNK. */
    uint8_t *pipe;
    size_t poff, plen;
    union {
        z_stream z;
#if CIO_HAVE_BROTLI
        BrotliDecoderState *br;
#endif
#if CIO_HAVE_ZSTD
        ZSTD_DCtx *zs;
#endif
    } u;
};

struct cio__decoder {
    struct mem mem;
    uint64_t max_output;
    uint64_t total;    /* bytes handed to the caller */
    int failed;        /* 0, or the error every later call returns */
    bool finished;     /* cio__decoder_finish returned 0 */
    uint8_t *chunk;    /* CHUNK bytes for the callback helpers, lazily */
    char why[WHY_LEN]; /* cio_last_error() text of the failure */
    unsigned n;        /* stages; st[0] undoes the last coding listed */
    struct stage st[];
};

static int mem_error(struct cio__decoder *d, const struct stage *s)
{
    if (d->mem.over)
        return cio__err(CIO_ETOOBIG,
                        "%s decoder needs more than %zu bytes of memory",
                        names[s->coding], d->mem.max);
    return cio__err(CIO_ENOMEM, "out of memory in the %s decoder",
                    names[s->coding]);
}

static int trailing(const struct stage *s)
{
    return cio__err(CIO_ECODING, "trailing data after the %s stream",
                    names[s->coding]);
}

/* Decompresses with zlib; shared by gzip and deflate. */
static int run_inflate(struct cio__decoder *d, struct stage *s,
                       const uint8_t *in, size_t inlen, size_t *nin,
                       uint8_t *out, size_t outcap, size_t *nout)
{
    z_stream *z = &s->u.z;
    uInt ain = z_len(inlen), aout = z_len(outcap);
    int zr;

    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = ain;
    z->next_out = out;
    z->avail_out = aout;
    zr = inflate(z, Z_NO_FLUSH);
    *nin = ain - z->avail_in;
    *nout = aout - z->avail_out;
    switch (zr) {
    case Z_OK:
    case Z_BUF_ERROR: /* no progress possible: input or output ran out */
        return 0;
    case Z_STREAM_END:
        if (s->coding == CIO__CODING_GZIP) {
            /* A member ends; another may follow (RFC 1952 §2.2). */
            s->phase = GZ_NEXT;
            s->members++;
            return 0;
        }
        s->phase = DF_END;
        return *nin < inlen ? trailing(s) : 0;
    case Z_NEED_DICT:
        return cio__err(CIO_ECODING,
                        "deflate stream needs a preset dictionary");
    case Z_MEM_ERROR:
        return mem_error(d, s);
    default:
        return cio__err(CIO_ECODING, "corrupt %s stream: %s", names[s->coding],
                        z->msg != NULL ? z->msg : "invalid data");
    }
}

static int step_gzip(struct cio__decoder *d, struct stage *s, const uint8_t *in,
                     size_t inlen, size_t *nin, uint8_t *out, size_t outcap,
                     size_t *nout)
{
    if (s->phase == GZ_NEXT) {
        if (inlen == 0)
            return 0;
        /* zlib would say "incorrect header check"; say what it means. */
        if (in[0] != 0x1f) {
            if (s->members > 0)
                return cio__err(CIO_ECODING,
                                "trailing data after gzip member %u",
                                s->members);
            return cio__err(CIO_ECODING,
                            "not a gzip stream (first byte 0x%02x)", in[0]);
        }
        if (s->members > 0 && inflateReset(&s->u.z) != Z_OK)
            return cio__err(CIO_ECODING, "gzip: cannot reset inflate");
        s->phase = GZ_MEMBER;
    }
    return run_inflate(d, s, in, inlen, nin, out, outcap, nout);
}

/* RFC 1950 §2.2: CM = 8, CINFO <= 7, and CMF*256 + FLG a multiple of 31.
 * Raw deflate from a sane encoder never starts so (it would be a stored
 * block with non-zero padding bits). */
static bool zlib_header(const uint8_t h[2])
{
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 &&
           (((unsigned)h[0] << 8) | h[1]) % 31 == 0;
}

static int step_deflate(struct cio__decoder *d, struct stage *s,
                        const uint8_t *in, size_t inlen, size_t *nin,
                        uint8_t *out, size_t outcap, size_t *nout)
{
    size_t took = 0, pout = 0, a, b;
    int rc;

    if (s->phase == DF_SNIFF) {
        while (s->nsniff < 2 && took < inlen)
            s->sniff[s->nsniff++] = in[took++];
        *nin = took;
        if (s->nsniff < 2)
            return 0;
        if (!zlib_header(s->sniff) && inflateReset2(&s->u.z, -15) != Z_OK)
            return cio__err(CIO_ECODING, "deflate: cannot switch to raw");
        s->phase = DF_BODY;
        in += took;
        inlen -= took;
    }
    if (s->phase == DF_END) {
        if (inlen > 0)
            return trailing(s);
        return 0;
    }
    /* The two sniffed bytes go to inflate first. */
    if (s->nfed < 2) {
        rc = run_inflate(d, s, s->sniff + s->nfed, 2u - s->nfed, &a, out,
                         outcap, &pout);
        *nout = pout;
        if (rc < 0)
            return rc;
        s->nfed = (uint8_t)(s->nfed + a);
        if (s->nfed < 2) /* out is full */
            return 0;
        if (s->phase == DF_END)
            return inlen > 0 ? trailing(s) : 0;
        out += pout;
        outcap -= pout;
        if (outcap == 0)
            return 0;
    }
    rc = run_inflate(d, s, in, inlen, &a, out, outcap, &b);
    *nin = took + a;
    *nout = pout + b;
    return rc;
}

#if CIO_HAVE_BROTLI
static int step_br(struct cio__decoder *d, struct stage *s, const uint8_t *in,
                   size_t inlen, size_t *nin, uint8_t *out, size_t outcap,
                   size_t *nout)
{
    size_t ain = inlen, aout = outcap;
    const uint8_t *next_in = inlen > 0 ? in : nothing;
    uint8_t *next_out = out;
    BrotliDecoderResult r;
    BrotliDecoderErrorCode code;

    if (s->phase == BR_END)
        return inlen > 0 ? trailing(s) : 0;
    r = BrotliDecoderDecompressStream(s->u.br, &ain, &next_in, &aout, &next_out,
                                      NULL);
    *nin = inlen - ain;
    *nout = outcap - aout;
    switch (r) {
    case BROTLI_DECODER_RESULT_SUCCESS:
        s->phase = BR_END;
        return ain > 0 ? trailing(s) : 0;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        return 0;
    default:
        code = BrotliDecoderGetErrorCode(s->u.br);
        if (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
            code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
            return mem_error(d, s);
        /* The names start with '_' ("_ERROR_FORMAT_PADDING_1"). */
        return cio__err(CIO_ECODING, "corrupt br stream: %s",
                        BrotliDecoderErrorString(code) + 1);
    }
}
#endif

#if CIO_HAVE_ZSTD
static int zstd_error(struct cio__decoder *d, const struct stage *s, size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_frameParameter_windowTooLarge:
        return cio__err(CIO_ECODING,
                        "zstd frame window exceeds 8 MiB (RFC 9659)");
    case ZSTD_error_memory_allocation:
        return mem_error(d, s);
    default:
        return cio__err(CIO_ECODING, "corrupt zstd stream: %s",
                        ZSTD_getErrorName(r));
    }
}

/*
 * Each frame's header is read here first, to learn the content size it
 * declares: libzstd checks it when a whole frame is decoded in one call,
 * but not always when streaming (an empty last block passes), so the same
 * body would be accepted or refused depending on how it was split. Legacy
 * (pre-RFC 8878) frames are refused here too. The header bytes are then
 * replayed to the codec, and the frame's output is counted.
 */
static int step_zstd(struct cio__decoder *d, struct stage *s, const uint8_t *in,
                     size_t inlen, size_t *nin, uint8_t *out, size_t outcap,
                     size_t *nout)
{
    size_t took = 0, made = 0;
    int rc = 0;

    for (;;) {
        if (s->phase == ZS_HEAD) {
            ZSTD_frameHeader fh;
            size_t r = ZSTD_getFrameHeader(&fh, s->zhdr, s->zhlen);
            while (r > 0 && !ZSTD_isError(r) && took < inlen) {
                size_t k = r - s->zhlen;
                if (r > sizeof(s->zhdr)) {
                    r = (size_t)-ZSTD_error_frameParameter_unsupported;
                    break;
                }
                if (k > inlen - took)
                    k = inlen - took;
                memcpy(s->zhdr + s->zhlen, in + took, k);
                s->zhlen = (uint8_t)(s->zhlen + k);
                took += k;
                r = ZSTD_getFrameHeader(&fh, s->zhdr, s->zhlen);
            }
            if (ZSTD_isError(r)) {
                rc = zstd_error(d, s, r);
                break;
            }
            if (r > 0) /* all input taken, header still incomplete */
                break;
            s->zfcs = fh.frameType == ZSTD_frame ? fh.frameContentSize
                                                 : ZSTD_CONTENTSIZE_UNKNOWN;
            s->zout = 0;
            s->zfed = 0;
            s->phase = ZS_BODY;
        }

        bool replay = s->zfed < s->zhlen;
        ZSTD_inBuffer ib = {
            replay ? s->zhdr + s->zfed : in + took,
            replay ? (size_t)(s->zhlen - s->zfed) : inlen - took, 0};
        ZSTD_outBuffer ob = {out + made, outcap - made, 0};
        size_t r;

        if (ib.size == 0)
            ib.src = nothing;
        if (ob.size == 0)
            break;
        r = ZSTD_decompressStream(s->u.zs, &ob, &ib);
        if (replay)
            s->zfed = (uint8_t)(s->zfed + ib.pos);
        else
            took += ib.pos;
        made += ob.pos;
        s->zout += ob.pos;
        if (ZSTD_isError(r)) {
            rc = zstd_error(d, s, r);
            break;
        }
        if (s->zfcs != ZSTD_CONTENTSIZE_UNKNOWN && s->zout > s->zfcs) {
            rc = cio__err(CIO_ECODING,
                          "zstd frame exceeds its declared "
                          "size of %llu bytes",
                          (unsigned long long)s->zfcs);
            break;
        }
        if (r == 0 && (ib.pos > 0 || ob.pos > 0)) {
            /* The frame ended (libzstd stops at each frame's end). */
            if (s->zfcs != ZSTD_CONTENTSIZE_UNKNOWN && s->zout != s->zfcs) {
                rc = cio__err(CIO_ECODING,
                              "zstd frame has %llu bytes, its "
                              "header says %llu",
                              (unsigned long long)s->zout,
                              (unsigned long long)s->zfcs);
                break;
            }
            s->phase = ZS_HEAD;
            s->zhlen = 0;
            if (took < inlen)
                continue;
            break;
        }
        /* After the replayed header, go on with the caller's bytes. */
        if (replay && s->zfed == s->zhlen && took < inlen)
            continue;
        break;
    }
    *nin = took;
    *nout = made;
    return rc;
}
#endif

static int step_copy(const uint8_t *in, size_t inlen, size_t *nin, uint8_t *out,
                     size_t outcap, size_t *nout)
{
    size_t n = inlen < outcap ? inlen : outcap;

    if (n > 0)
        memcpy(out, in, n);
    *nin = *nout = n;
    return 0;
}

static int codec_step(struct cio__decoder *d, struct stage *s,
                      const uint8_t *in, size_t inlen, size_t *nin,
                      uint8_t *out, size_t outcap, size_t *nout)
{
    *nin = *nout = 0;
    switch (s->coding) {
    case CIO__CODING_GZIP:
        return step_gzip(d, s, in, inlen, nin, out, outcap, nout);
    case CIO__CODING_DEFLATE:
        return step_deflate(d, s, in, inlen, nin, out, outcap, nout);
#if CIO_HAVE_BROTLI
    case CIO__CODING_BR:
        return step_br(d, s, in, inlen, nin, out, outcap, nout);
#endif
#if CIO_HAVE_ZSTD
    case CIO__CODING_ZSTD:
        return step_zstd(d, s, in, inlen, nin, out, outcap, nout);
#endif
    default:
        return step_copy(in, inlen, nin, out, outcap, nout);
    }
}

/*
 * One codec step under the stage's output cap. When the cap is reached the
 * codec is given a one-byte scratch buffer instead: if it still has a byte
 * to give, the body is too big, and that byte is never handed out. So a
 * body of exactly max_output bytes passes and nothing past it leaks.
 */
static int stage_step(struct cio__decoder *d, struct stage *s,
                      const uint8_t *in, size_t inlen, size_t *nin,
                      uint8_t *out, size_t outcap, size_t *nout)
{
    uint64_t room = d->max_output - s->produced;
    uint8_t probe;
    bool probing = room == 0;
    int rc;

    if (probing) {
        out = &probe;
        outcap = 1;
    } else if (outcap > room) {
        outcap = (size_t)room;
    }
    if (inlen > 0)
        s->started = true;
    rc = codec_step(d, s, in, inlen, nin, out, outcap, nout);
    if (rc < 0) {
        /* What the codec wrote before it found the error still counts:
         * pump hands it out (never the probe byte). */
        if (probing)
            *nout = 0;
        s->produced += *nout;
        return rc;
    }
    if (probing && *nout > 0) {
        *nout = 0;
        return cio__err(CIO_ETOOBIG,
                        "%s-decoded body exceeds %" PRIu64 " bytes",
                        names[s->coding], d->max_output);
    }
    if (inlen > 0 && *nin == 0 && *nout == 0) {
        /* With input and room a codec always moves; if one ever does not,
         * fail instead of spinning (and stop debug builds and fuzzers). */
#ifdef CIO_DEBUG_BUILD
        fprintf(stderr, "corio: %s decoder made no progress\n",
                names[s->coding]);
        abort();
#endif
        return cio__err(CIO_ECODING, "%s decoder made no progress",
                        names[s->coding]);
    }
    s->pending = *nout == outcap;
    s->produced += *nout;
    return 0;
}

/*
 * Moves bytes through the stages until nothing moves: stage 0 reads the
 * caller's input, each stage writes into its pipe, the last one into the
 * caller's buffer. A stage with nothing to read is still asked for output
 * if its last step filled its output, or when the input has ended (end),
 * to drain what the codec holds. Stops at the latest when every input is
 * consumed or every output full; each round moves at least one byte, and
 * outputs are capped, so this ends.
 */
static int pump(struct cio__decoder *d, const uint8_t *in, size_t inlen,
                size_t *nin, uint8_t *out, size_t outcap, size_t *nout,
                bool end)
{
    size_t tin = 0, tout = 0;
    bool moved;

    do {
        moved = false;
        for (unsigned k = 0; k < d->n; k++) {
            struct stage *s = &d->st[k], *prev = k > 0 ? &d->st[k - 1] : NULL;
            const uint8_t *src;
            uint8_t *dst;
            size_t srclen, dstcap, a, b;
            int rc;

            if (prev == NULL) {
                src = in != NULL ? in + tin : nothing;
                srclen = inlen - tin;
            } else {
                src = prev->pipe + prev->poff;
                srclen = prev->plen;
            }
            if (k == d->n - 1) {
                dst = out != NULL ? out + tout : nothing;
                dstcap = outcap - tout;
            } else {
                /* Compact only once half the pipe is read, so that
                 * each byte is moved at most once on average. */
                if (s->poff >= CHUNK / 2 && s->poff + s->plen == CHUNK) {
                    memmove(s->pipe, s->pipe + s->poff, s->plen);
                    s->poff = 0;
                }
                dst = s->pipe + s->poff + s->plen;
                dstcap = CHUNK - s->poff - s->plen;
            }
            if (dstcap == 0 || (srclen == 0 && !s->pending && !end))
                continue;
            rc = stage_step(d, s, src, srclen, &a, dst, dstcap, &b);
            if (rc < 0) {
                *nin = tin + (prev == NULL ? a : 0);
                *nout = tout + (k == d->n - 1 ? b : 0);
                return rc;
            }
            if (prev == NULL) {
                tin += a;
            } else {
                prev->poff += a;
                prev->plen -= a;
                if (prev->plen == 0)
                    prev->poff = 0;
            }
            if (k == d->n - 1)
                tout += b;
            else
                s->plen += b;
            if (a > 0 || b > 0)
                moved = true;
        }
    } while (moved);
    *nin = tin;
    *nout = tout;
    return 0;
}

static int fail(struct cio__decoder *d, int rc)
{
    d->failed = rc;
    snprintf(d->why, sizeof(d->why), "%s", cio_last_error());
    return rc;
}

static int failed_again(const struct cio__decoder *d)
{
    return cio__err(d->failed, "%s", d->why);
}

/* Parses one Content-Encoding element; its token is tok[0..len). */
static int coding_token(const char *tok, size_t len, enum cio__coding *out)
{
    static const struct {
        const char *name;
        enum cio__coding c;
    } known[] = {
        {"identity", CIO__CODING_IDENTITY},
        {"gzip", CIO__CODING_GZIP},
        {"x-gzip", CIO__CODING_GZIP},
        {"deflate", CIO__CODING_DEFLATE},
        {"br", CIO__CODING_BR},
        {"zstd", CIO__CODING_ZSTD},
    };
    char shown[41];
    size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i].name) == len &&
            strncasecmp(known[i].name, tok, len) == 0) {
            if (!cio__coding_can_decode(known[i].c))
                return cio__err(CIO_ENOTSUP,
                                "content coding \"%s\" is not built in",
                                known[i].name);
            *out = known[i].c;
            return 0;
        }
    }
    for (i = 0; i < len && i < sizeof(shown) - 1; i++)
        shown[i] = tok[i] >= 0x20 && tok[i] < 0x7f ? tok[i] : '?';
    shown[i] = '\0';
    return cio__err(CIO_ENOTSUP, "unknown content coding \"%s%s\"", shown,
                    len > i ? "..." : "");
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads the list left to right into list[] (identity dropped). */
static int parse_codings(struct cio_str v, unsigned max,
                         enum cio__coding list[MAX_STACK], unsigned *n)
{
    size_t i = 0, len = v.ptr != NULL ? v.len : 0;
    unsigned count = 0;

    while (i < len) {
        size_t start, end;
        enum cio__coding c = CIO__CODING_IDENTITY;
        int rc;

        if (ows(v.ptr[i]) || v.ptr[i] == ',') {
            i++;
            continue;
        }
        start = i;
        while (i < len && v.ptr[i] != ',')
            i++;
        end = i;
        while (end > start && ows(v.ptr[end - 1]))
            end--;
        rc = coding_token(v.ptr + start, end - start, &c);
        if (rc < 0)
            return rc;
        if (c == CIO__CODING_IDENTITY)
            continue;
        if (count == max)
            return cio__err(CIO_ECODING, "more than %u content codings stacked",
                            max);
        list[count++] = c;
    }
    *n = count;
    return 0;
}

static int stage_init(struct cio__decoder *d, struct stage *s)
{
    switch (s->coding) {
    case CIO__CODING_GZIP:
    case CIO__CODING_DEFLATE:
        z_setup(&s->u.z, &d->mem);
        /* deflate starts as zlib and may switch to raw (step_deflate). */
        if (inflateInit2(&s->u.z,
                         s->coding == CIO__CODING_GZIP ? 16 + 15 : 15) != Z_OK)
            return mem_error(d, s);
        break;
#if CIO_HAVE_BROTLI
    case CIO__CODING_BR:
        /* No BROTLI_DECODER_PARAM_LARGE_WINDOW: windows stay <= 16 MiB
         * (RFC 7932), and max_memory bounds them further. */
        s->u.br = BrotliDecoderCreateInstance(mem_alloc, mem_free, &d->mem);
        if (s->u.br == NULL)
            return mem_error(d, s);
        break;
#endif
#if CIO_HAVE_ZSTD
    case CIO__CODING_ZSTD: {
        ZSTD_customMem cm = {mem_alloc, mem_free, &d->mem};
        s->u.zs = ZSTD_createDCtx_advanced(cm);
        if (s->u.zs == NULL)
            return mem_error(d, s);
        s->live = true;
        if (ZSTD_isError(ZSTD_DCtx_setParameter(
                s->u.zs, ZSTD_d_windowLogMax, CIO__CODING_ZSTD_WINDOW_LOG_MAX)))
            return cio__err(CIO_ENOTSUP, "zstd: cannot limit the window");
        break;
    }
#endif
    default:
        break;
    }
    s->live = true;
    return 0;
}

static void stage_fini(struct cio__decoder *d, struct stage *s)
{
    if (s->live) {
        switch (s->coding) {
        case CIO__CODING_GZIP:
        case CIO__CODING_DEFLATE:
            inflateEnd(&s->u.z);
            break;
#if CIO_HAVE_BROTLI
        case CIO__CODING_BR:
            BrotliDecoderDestroyInstance(s->u.br);
            break;
#endif
#if CIO_HAVE_ZSTD
        case CIO__CODING_ZSTD:
            ZSTD_freeDCtx(s->u.zs);
            break;
#endif
        default:
            break;
        }
        s->live = false;
    }
    mem_free(&d->mem, s->pipe);
    s->pipe = NULL;
}

int cio__decoder_new(struct cio__decoder **out, struct cio_str content_encoding,
                     const struct cio__decoder_opts *opts)
{
    static const struct cio__decoder_opts defaults;
    enum cio__coding list[MAX_STACK];
    struct cio__decoder *d;
    unsigned n = 0, max;
    size_t size;
    int rc;

    if (opts == NULL)
        opts = &defaults;
    max = opts->max_codings != 0 ? opts->max_codings
                                 : CIO__CODING_DEFAULT_MAX_CODINGS;
    if (max > MAX_STACK)
        return cio__err(CIO_EINVAL, "max_codings %u is above %u", max,
                        MAX_STACK);
    rc = parse_codings(content_encoding, max, list, &n);
    if (rc < 0)
        return rc;

    /* No coding: one identity stage, so max_output still applies. */
    size = sizeof(*d) + (n > 0 ? n : 1) * sizeof(d->st[0]);
    d = cio__calloc(1, size);
    if (d == NULL)
        return CIO_ENOMEM;
    d->mem.max = opts->max_memory != 0 ? opts->max_memory
                                       : CIO__CODING_DEFAULT_MAX_MEMORY;
    d->max_output = opts->max_output != 0 ? opts->max_output
                                          : CIO__CODING_DEFAULT_MAX_OUTPUT;
    d->n = n > 0 ? n : 1;
    for (unsigned k = 0; k < n; k++)
        d->st[k].coding = list[n - 1 - k];
    for (unsigned k = 0; k < d->n; k++) {
        struct stage *s = &d->st[k];
        if (k + 1 < d->n) {
            s->pipe = mem_alloc(&d->mem, CHUNK);
            if (s->pipe == NULL) {
                rc = mem_error(d, s);
                goto fail_decoder;
            }
        }
        rc = stage_init(d, s);
        if (rc < 0)
            goto fail_decoder;
    }
    *out = d;
    return 0;

fail_decoder:
    cio__decoder_free(d);
    return rc;
}

void cio__decoder_free(struct cio__decoder *d)
{
    if (d == NULL)
        return;
    for (unsigned k = 0; k < d->n; k++)
        stage_fini(d, &d->st[k]);
    mem_free(&d->mem, d->chunk);
    cio__free(d);
}

int cio__decoder_feed(struct cio__decoder *d, const void *in, size_t inlen,
                      size_t *nin, void *out, size_t outcap, size_t *nout)
{
    size_t a, b;
    int rc;

    if (d->failed < 0)
        return failed_again(d);
    if ((in == NULL && inlen > 0) || (out == NULL && outcap > 0))
        return cio__err(CIO_EINVAL, "NULL buffer with a length");
    if (d->finished)
        return cio__err(CIO_EINVAL, "decoder already finished");
    rc = pump(d, in, inlen, &a, out, outcap, &b, false);
    d->total += b;
    if (rc < 0) {
        /* The output made before the error is handed out now, the error
         * on the next call. */
        fail(d, rc);
        if (b == 0)
            return rc;
    } else if (inlen > 0 && outcap > 0 && a == 0 && b == 0) {
        /* Cannot happen (see pump); never loop on it. */
        rc = cio__err(CIO_ECODING, "content decoder made no progress");
        return fail(d, rc);
    }
    *nin = a;
    *nout = b;
    return 0;
}

int cio__decoder_finish(struct cio__decoder *d, void *out, size_t outcap,
                        size_t *nout)
{
    size_t a, b;
    int rc;

    if (d->failed < 0)
        return failed_again(d);
    if (out == NULL || outcap == 0)
        return cio__err(CIO_EINVAL, "finish needs output space");
    if (d->finished) {
        *nout = 0;
        return 0;
    }
    rc = pump(d, NULL, 0, &a, out, outcap, &b, true);
    d->total += b;
    if (rc < 0) {
        fail(d, rc);
        if (b == 0)
            return rc;
        *nout = b; /* as in feed: the error comes with the next call */
        return 1;
    }
    if (b == outcap) {
        for (unsigned k = 0; k < d->n; k++) {
            if (d->st[k].pending || d->st[k].plen > 0) {
                *nout = b;
                return 1;
            }
        }
    }
    for (unsigned k = 0; k < d->n; k++) {
        const struct stage *s = &d->st[k];
        bool complete;

        switch (s->coding) {
        case CIO__CODING_GZIP:
            complete = s->phase == GZ_NEXT;
            break;
        case CIO__CODING_DEFLATE:
            complete = s->phase == DF_END;
            break;
        case CIO__CODING_BR:
            complete = s->phase == BR_END;
            break;
        case CIO__CODING_ZSTD:
            complete = s->phase == ZS_HEAD && s->zhlen == 0;
            break;
        default:
            complete = true;
            break;
        }
        if (s->started && !complete) {
            rc = cio__err(CIO_ECODING, "truncated %s stream", names[s->coding]);
            fail(d, rc);
            if (b == 0)
                return rc;
            *nout = b; /* the error comes with the next call */
            return 1;
        }
    }
    d->finished = true;
    *nout = b;
    return 0;
}

static int decoder_chunk(struct cio__decoder *d)
{
    if (d->chunk == NULL) {
        d->chunk = mem_alloc(&d->mem, CHUNK);
        if (d->chunk == NULL)
            return fail(
                d, d->mem.over
                       ? cio__err(CIO_ETOOBIG, "content decoder memory limit")
                       : CIO_ENOMEM);
    }
    return 0;
}

int cio__decoder_write(struct cio__decoder *d, const void *in, size_t inlen,
                       cio__coding_sink sink, void *ud)
{
    const uint8_t *p = in;
    size_t off = 0, a, b;
    int rc;

    if (d->failed < 0)
        return failed_again(d);
    rc = decoder_chunk(d);
    if (rc < 0)
        return rc;
    do {
        rc = cio__decoder_feed(d, p != NULL ? p + off : NULL, inlen - off, &a,
                               d->chunk, CHUNK, &b);
        if (rc < 0)
            return rc;
        off += a;
        if (b > 0) {
            rc = sink(ud, d->chunk, b);
            if (rc < 0)
                return fail(d, rc);
        }
    } while (off < inlen || b == CHUNK);
    return 0;
}

int cio__decoder_end(struct cio__decoder *d, cio__coding_sink sink, void *ud)
{
    size_t b;
    int rc;

    if (d->failed < 0)
        return failed_again(d);
    rc = decoder_chunk(d);
    if (rc < 0)
        return rc;
    do {
        rc = cio__decoder_finish(d, d->chunk, CHUNK, &b);
        if (rc < 0)
            return rc;
        if (b > 0) {
            int src = sink(ud, d->chunk, b);
            if (src < 0)
                return fail(d, src);
        }
    } while (rc == 1);
    return 0;
}

uint64_t cio__decoder_total(const struct cio__decoder *d)
{
    return d->total;
}

size_t cio__decoder_mem(const struct cio__decoder *d, size_t *peak)
{
    if (peak != NULL)
        *peak = d->mem.peak;
    return d->mem.used;
}

/* ------------------------------------------------------------ encoding */

enum enc_op { OP_RUN, OP_FLUSH, OP_END };

enum enc_state {
    EN_RUN,      /* accepting input */
    EN_FLUSHING, /* a flush filled the output: only flush may follow */
    EN_ENDING,   /* a finish filled the output: only finish may follow */
    EN_DONE,     /* the stream is complete */
};

struct cio__encoder {
    enum cio__coding coding;
    enum enc_state state;
    int failed;     /* 0, or the error every later call returns */
    uint8_t *chunk; /* CHUNK bytes for the callback helpers, lazily */
    struct mem mem; /* counts only: no ceiling for encoders */
    union {
        z_stream z;
#if CIO_HAVE_BROTLI
        BrotliEncoderState *br;
#endif
#if CIO_HAVE_ZSTD
        ZSTD_CCtx *zs;
#endif
    } u;
    bool live;
};

int cio__encoder_new(struct cio__encoder **out, enum cio__coding coding,
                     const struct cio__encoder_opts *opts)
{
    int level = opts != NULL ? opts->level : 0;
    struct cio__encoder *e;
    int lo = 1, hi = 1, def = 1;

    switch (coding) {
    case CIO__CODING_IDENTITY:
        break;
    case CIO__CODING_GZIP:
        hi = 9;
        def = 6;
        break;
#if CIO_HAVE_BROTLI
    case CIO__CODING_BR:
        hi = 11;
        def = 5;
        break;
#endif
#if CIO_HAVE_ZSTD
    case CIO__CODING_ZSTD:
        /* Levels 20+ use windows above 8 MiB, which RFC 9659 decoders
         * refuse. */
        hi = 19;
        def = 3;
        break;
#endif
    default:
        return cio__err(CIO_ENOTSUP, "cannot encode content coding \"%s\"",
                        cio__coding_name(coding));
    }
    if (level == 0)
        level = def;
    if (coding != CIO__CODING_IDENTITY && (level < lo || level > hi))
        return cio__err(CIO_EINVAL, "%s level %d is outside %d..%d",
                        names[coding], level, lo, hi);

    e = cio__calloc(1, sizeof(*e));
    if (e == NULL)
        return CIO_ENOMEM;
    e->coding = coding;
    e->mem.max = SIZE_MAX;
    switch (coding) {
    case CIO__CODING_GZIP:
        z_setup(&e->u.z, &e->mem);
        /* windowBits 15 + 16: a gzip wrapper (RFC 1952). */
        if (deflateInit2(&e->u.z, level, Z_DEFLATED, 16 + 15, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            goto fail_encoder;
        break;
#if CIO_HAVE_BROTLI
    case CIO__CODING_BR:
        e->u.br = BrotliEncoderCreateInstance(mem_alloc, mem_free, &e->mem);
        if (e->u.br == NULL)
            goto fail_encoder;
        BrotliEncoderSetParameter(e->u.br, BROTLI_PARAM_QUALITY,
                                  (uint32_t)level);
        break;
#endif
#if CIO_HAVE_ZSTD
    case CIO__CODING_ZSTD: {
        ZSTD_customMem cm = {mem_alloc, mem_free, &e->mem};
        e->u.zs = ZSTD_createCCtx_advanced(cm);
        if (e->u.zs == NULL)
            goto fail_encoder;
        e->live = true;
        if (ZSTD_isError(ZSTD_CCtx_setParameter(
                e->u.zs, ZSTD_c_compressionLevel, level)) ||
            ZSTD_isError(
                ZSTD_CCtx_setParameter(e->u.zs, ZSTD_c_checksumFlag, 1))) {
            cio__encoder_free(e);
            return cio__err(CIO_EINVAL, "zstd rejected level %d", level);
        }
        break;
    }
#endif
    default:
        break;
    }
    e->live = true;
    *out = e;
    return 0;

fail_encoder:
    cio__free(e);
    return cio__err(CIO_ENOMEM, "out of memory creating a %s encoder",
                    names[coding]);
}

void cio__encoder_free(struct cio__encoder *e)
{
    if (e == NULL)
        return;
    if (e->live) {
        switch (e->coding) {
        case CIO__CODING_GZIP:
            deflateEnd(&e->u.z);
            break;
#if CIO_HAVE_BROTLI
        case CIO__CODING_BR:
            BrotliEncoderDestroyInstance(e->u.br);
            break;
#endif
#if CIO_HAVE_ZSTD
        case CIO__CODING_ZSTD:
            ZSTD_freeCCtx(e->u.zs);
            break;
#endif
        default:
            break;
        }
    }
    mem_free(&e->mem, e->chunk);
    cio__free(e);
}

/*
 * One codec call. *done (for OP_FLUSH and OP_END) says the operation is
 * complete: everything is in out. Codecs take all input they are offered
 * unless out fills up.
 */
static int enc_step(struct cio__encoder *e, const uint8_t *in, size_t inlen,
                    size_t *nin, uint8_t *out, size_t outcap, size_t *nout,
                    enum enc_op op, bool *done)
{
    *nin = *nout = 0;
    *done = false;
    switch (e->coding) {
    case CIO__CODING_GZIP: {
        static const int flush[] = {Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH};
        z_stream *z = &e->u.z;
        uInt ain = z_len(inlen), aout = z_len(outcap);
        int zr;

        z->next_in = (Bytef *)(uintptr_t)(inlen > 0 ? in : nothing);
        z->avail_in = ain;
        z->next_out = out;
        z->avail_out = aout;
        zr = deflate(z, flush[op]);
        *nin = ain - z->avail_in;
        *nout = aout - z->avail_out;
        if (zr == Z_STREAM_ERROR)
            return cio__err(CIO_EINVAL, "gzip encoder in a bad state");
        /* A flush is complete once deflate left space over; a repeated
         * flush with nothing new says Z_BUF_ERROR, also complete. */
        if (op == OP_END)
            *done = zr == Z_STREAM_END;
        else if (op == OP_FLUSH)
            *done = z->avail_in == 0 && (z->avail_out > 0 || zr == Z_BUF_ERROR);
        return 0;
    }
#if CIO_HAVE_BROTLI
    case CIO__CODING_BR: {
        static const BrotliEncoderOperation bop[] = {BROTLI_OPERATION_PROCESS,
                                                     BROTLI_OPERATION_FLUSH,
                                                     BROTLI_OPERATION_FINISH};
        size_t ain = inlen, aout = outcap;
        const uint8_t *next_in = inlen > 0 ? in : nothing;
        uint8_t *next_out = out;

        if (!BrotliEncoderCompressStream(e->u.br, bop[op], &ain, &next_in,
                                         &aout, &next_out, NULL))
            return cio__err(CIO_ENOMEM, "br encoder failed");
        *nin = inlen - ain;
        *nout = outcap - aout;
        if (op == OP_END)
            *done = BrotliEncoderIsFinished(e->u.br);
        else if (op == OP_FLUSH)
            *done = ain == 0 && !BrotliEncoderHasMoreOutput(e->u.br);
        return 0;
    }
#endif
#if CIO_HAVE_ZSTD
    case CIO__CODING_ZSTD: {
        static const ZSTD_EndDirective zop[] = {ZSTD_e_continue, ZSTD_e_flush,
                                                ZSTD_e_end};
        ZSTD_inBuffer ib = {inlen > 0 ? in : nothing, inlen, 0};
        ZSTD_outBuffer ob = {out, outcap, 0};
        size_t r = ZSTD_compressStream2(e->u.zs, &ob, &ib, zop[op]);

        *nin = ib.pos;
        *nout = ob.pos;
        if (ZSTD_isError(r)) {
            if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
                return CIO_ENOMEM;
            return cio__err(CIO_EINVAL, "zstd encoder: %s",
                            ZSTD_getErrorName(r));
        }
        if (op != OP_RUN)
            *done = r == 0 && ib.pos == inlen;
        return 0;
    }
#endif
    default:
        step_copy(in, inlen, nin, out, outcap, nout);
        *done = true;
        return 0;
    }
}

static int enc_fail(struct cio__encoder *e, int rc)
{
    e->failed = rc;
    return rc;
}

int cio__encoder_feed(struct cio__encoder *e, const void *in, size_t inlen,
                      size_t *nin, void *out, size_t outcap, size_t *nout)
{
    const uint8_t *p = in;
    uint8_t *q = out;
    size_t tin = 0, tout = 0, a, b;
    bool done;
    int rc;

    if (e->failed < 0)
        return cio__err(e->failed, "the %s encoder failed earlier",
                        names[e->coding]);
    if ((in == NULL && inlen > 0) || (out == NULL && outcap > 0))
        return cio__err(CIO_EINVAL, "NULL buffer with a length");
    if (e->state != EN_RUN)
        return cio__err(
            CIO_EINVAL, "%s encoder: feed during %s", names[e->coding],
            e->state == EN_FLUSHING ? "a flush" : "or after finish");
    while (tin < inlen && tout < outcap) {
        rc = enc_step(e, p + tin, inlen - tin, &a, q + tout, outcap - tout, &b,
                      OP_RUN, &done);
        if (rc < 0)
            return enc_fail(e, rc);
        tin += a;
        tout += b;
        if (a == 0 && b == 0)
            break;
    }
    *nin = tin;
    *nout = tout;
    return 0;
}

static int enc_drain(struct cio__encoder *e, enum enc_op op, void *out,
                     size_t outcap, size_t *nout)
{
    enum enc_state busy = op == OP_FLUSH ? EN_FLUSHING : EN_ENDING;
    uint8_t *q = out;
    size_t tout = 0, a, b;
    bool done = false;
    int rc, idle = 0;

    if (e->failed < 0)
        return cio__err(e->failed, "the %s encoder failed earlier",
                        names[e->coding]);
    if (out == NULL || outcap == 0)
        return cio__err(CIO_EINVAL, "NULL buffer with a length");
    if (e->state == EN_DONE) {
        if (op == OP_FLUSH)
            return cio__err(CIO_EINVAL, "%s encoder: flush after finish",
                            names[e->coding]);
        *nout = 0;
        return 0;
    }
    if (e->state != EN_RUN && e->state != busy)
        return cio__err(CIO_EINVAL, "%s encoder: %s during %s",
                        names[e->coding], op == OP_FLUSH ? "flush" : "finish",
                        e->state == EN_FLUSHING ? "a flush" : "finish");
    while (tout < outcap) {
        rc = enc_step(e, NULL, 0, &a, q + tout, outcap - tout, &b, op, &done);
        if (rc < 0)
            return enc_fail(e, rc);
        tout += b;
        if (done)
            break;
        /* With room left a codec gives output or completes; never let a
         * caller loop on "more" that never comes. */
        if (b == 0 && ++idle > 1)
            return enc_fail(e,
                            cio__err(CIO_ECODING, "%s encoder made no progress",
                                     names[e->coding]));
    }
    *nout = tout;
    if (!done) {
        e->state = busy;
        return 1;
    }
    e->state = op == OP_FLUSH ? EN_RUN : EN_DONE;
    return 0;
}

int cio__encoder_flush(struct cio__encoder *e, void *out, size_t outcap,
                       size_t *nout)
{
    return enc_drain(e, OP_FLUSH, out, outcap, nout);
}

int cio__encoder_finish(struct cio__encoder *e, void *out, size_t outcap,
                        size_t *nout)
{
    return enc_drain(e, OP_END, out, outcap, nout);
}

static int encoder_chunk(struct cio__encoder *e)
{
    if (e->chunk == NULL) {
        e->chunk = mem_alloc(&e->mem, CHUNK);
        if (e->chunk == NULL)
            return CIO_ENOMEM;
    }
    return 0;
}

int cio__encoder_write(struct cio__encoder *e, const void *in, size_t inlen,
                       cio__coding_sink sink, void *ud)
{
    const uint8_t *p = in;
    size_t off = 0, a, b;
    int rc = encoder_chunk(e);

    if (rc < 0)
        return rc;
    while (off < inlen) {
        rc =
            cio__encoder_feed(e, p + off, inlen - off, &a, e->chunk, CHUNK, &b);
        if (rc < 0)
            return rc;
        if (a == 0 && b == 0)
            return enc_fail(e,
                            cio__err(CIO_ECODING, "%s encoder made no progress",
                                     names[e->coding]));
        off += a;
        if (b > 0) {
            rc = sink(ud, e->chunk, b);
            if (rc < 0)
                return enc_fail(e, rc);
        }
    }
    return 0;
}

static int encoder_drain_to(struct cio__encoder *e, enum enc_op op,
                            cio__coding_sink sink, void *ud)
{
    size_t b;
    int rc = encoder_chunk(e);

    if (rc < 0)
        return rc;
    do {
        rc = enc_drain(e, op, e->chunk, CHUNK, &b);
        if (rc < 0)
            return rc;
        if (b > 0) {
            int src = sink(ud, e->chunk, b);
            if (src < 0)
                return enc_fail(e, src);
        }
    } while (rc == 1);
    return 0;
}

int cio__encoder_flush_to(struct cio__encoder *e, cio__coding_sink sink,
                          void *ud)
{
    return encoder_drain_to(e, OP_FLUSH, sink, ud);
}

int cio__encoder_end(struct cio__encoder *e, cio__coding_sink sink, void *ud)
{
    return encoder_drain_to(e, OP_END, sink, ud);
}

/* --------------------------------------------------------- negotiation */

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
 * in thousandths; -1 if malformed. */
static int parse_q(const char *p, size_t len)
{
    int q;
    size_t i;

    if (len == 0 || (p[0] != '0' && p[0] != '1'))
        return -1;
    q = (p[0] - '0') * 1000;
    if (len == 1)
        return q;
    if (p[1] != '.' || len > 5)
        return -1;
    for (i = 2; i < len; i++) {
        int scale = i == 2 ? 100 : i == 3 ? 10 : 1;
        if (p[i] < '0' || p[i] > '9')
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q <= 1000 ? q : -1;
}

/*
 * Reads one element at v[*i]: coding *( OWS ";" OWS name "=" value ). Sets
 * the token view and q (1000 if absent), or returns false if malformed; *i
 * then points after the element's comma (or at the end).
 */
static bool ae_element(const char *v, size_t len, size_t *i, size_t *tok,
                       size_t *toklen, int *q)
{
    size_t j = *i;
    bool ok = true;

    *q = 1000;
    *tok = j;
    while (j < len && tchar(v[j]))
        j++;
    *toklen = j - *tok;
    if (*toklen == 0)
        ok = false;
    for (;;) {
        size_t name, namelen, val, vallen;

        while (j < len && ows(v[j]))
            j++;
        if (!ok || j == len || v[j] == ',' || v[j] != ';')
            break;
        j++;
        while (j < len && ows(v[j]))
            j++;
        name = j;
        while (j < len && tchar(v[j]))
            j++;
        namelen = j - name;
        if (namelen == 0 || j == len || v[j] != '=') {
            ok = false;
            break;
        }
        val = ++j;
        if (j < len && v[j] == '"') {
            for (j++; j < len && v[j] != '"'; j++)
                if (v[j] == '\\' && j + 1 < len)
                    j++;
            if (j == len) {
                ok = false;
                break;
            }
            j++;
        } else {
            while (j < len && tchar(v[j]))
                j++;
        }
        vallen = j - val;
        if (namelen == 1 && (v[name] == 'q' || v[name] == 'Q')) {
            *q = parse_q(v + val, vallen);
            if (*q < 0)
                ok = false;
        }
    }
    if (ok && j < len && v[j] != ',')
        ok = false;
    while (j < len && v[j] != ',') /* skip the rest of a bad element */
        j++;
    if (j < len)
        j++;
    *i = j;
    return ok;
}

int cio__coding_negotiate(struct cio_str accept, unsigned offer,
                          enum cio__coding *out)
{
    /* Server preference, best first (the tie-break). */
    static const enum cio__coding order[] = {CIO__CODING_BR, CIO__CODING_ZSTD,
                                             CIO__CODING_GZIP,
                                             CIO__CODING_IDENTITY};
    int q[CIO__CODING_COUNT], star = -1, best = 0;
    enum cio__coding pick = CIO__CODING_IDENTITY;
    size_t i = 0, len = accept.len;
    const char *v = accept.ptr;

    if (v == NULL) {
        *out = CIO__CODING_IDENTITY;
        return 0;
    }
    for (int c = 0; c < CIO__CODING_COUNT; c++)
        q[c] = -1;
    while (i < len) {
        size_t tok, toklen;
        int qv, c = -1;

        if (ows(v[i]) || v[i] == ',') {
            i++;
            continue;
        }
        if (!ae_element(v, len, &i, &tok, &toklen, &qv))
            continue;
        if (toklen == 1 && v[tok] == '*') {
            if (star < 0)
                star = qv;
            continue;
        }
        for (int k = 0; k < CIO__CODING_COUNT; k++)
            if (strlen(names[k]) == toklen &&
                strncasecmp(names[k], v + tok, toklen) == 0)
                c = k;
        if (toklen == 6 && strncasecmp(v + tok, "x-gzip", 6) == 0)
            c = CIO__CODING_GZIP;
        if (c >= 0 && q[c] < 0)
            q[c] = qv;
    }
    if (offer == 0)
        offer = ~0u;
    /* Scores are 2q, so that an unnamed identity (score 1) ranks below
     * every named coding with q > 0 but stays acceptable. */
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        enum cio__coding c = order[k];
        int score;

        if (c != CIO__CODING_IDENTITY &&
            (!(offer & CIO__CODING_BIT(c)) || !cio__coding_can_encode(c)))
            continue;
        if (q[c] >= 0)
            score = 2 * q[c];
        else if (star >= 0)
            score = 2 * star;
        else
            score = c == CIO__CODING_IDENTITY ? 1 : 0;
        if (score > best) {
            best = score;
            pick = c;
        }
    }
    if (best == 0)
        return cio__err(CIO_ENOTSUP,
                        "no acceptable content coding, not even identity");
    *out = pick;
    return 0;
}
