/* SPDX-License-Identifier: MIT */
#ifndef CIO_HTTP_CODING_H
#define CIO_HTTP_CODING_H

/*
 * Content codings (RFC 9110 §8.4): streaming decoders for the client,
 * streaming encoders for the server, and Accept-Encoding negotiation.
 * Pure code: bytes in, bytes out, no I/O. Memory is bounded by options,
 * never by the size of the data (RELIABILITY.md items 46-50).
 *
 * Errors carry a cio_last_error() text naming the coding and the problem,
 * e.g. "truncated gzip stream" or "unknown content coding \"xz\"".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

enum cio__coding {
    CIO__CODING_IDENTITY = 0,
    CIO__CODING_GZIP,    /* RFC 1952; "x-gzip" is read as gzip */
    CIO__CODING_DEFLATE, /* RFC 1950 zlib; raw RFC 1951 also decoded */
    CIO__CODING_BR,      /* RFC 7932; only if CIO_HAVE_BROTLI */
    CIO__CODING_ZSTD,    /* RFC 8878 with RFC 9659's 8 MiB window */
    CIO__CODING_COUNT
};

#define CIO__CODING_BIT(c) (1u << (c))

#define CIO__CODING_DEFAULT_MAX_CODINGS 5u           /* RELIABILITY 47 */
#define CIO__CODING_DEFAULT_MAX_OUTPUT (64ull << 20) /* RELIABILITY 46 */
#define CIO__CODING_DEFAULT_MAX_MEMORY ((size_t)32 << 20)
#define CIO__CODING_ZSTD_WINDOW_LOG_MAX 23 /* 8 MiB, RFC 9659 §3 */

/* The token for c ("identity", "gzip", "deflate", "br", "zstd"). */
const char *cio__coding_name(enum cio__coding c);

/* Whether this build decodes c (br and zstd depend on config.h). */
bool cio__coding_can_decode(enum cio__coding c);

/* Whether this build encodes c (identity, gzip, and br/zstd if built). */
bool cio__coding_can_encode(enum cio__coding c);

/*
 * Output callback of the *_write / *_end / *_flush_to helpers. buf holds len
 * > 0 bytes, valid during the call only. Return 0 to go on, or a negative
 * CIO_E* code, which the helper returns after marking the object failed.
 * The callback must not call into the object that invoked it.
 */
typedef int (*cio__coding_sink)(void *ud, const void *buf, size_t len);

/* ------------------------------------------------------------- decoding */

struct cio__decoder_opts {
    /* Maximum decoded bytes (counted at every stage of a stacked list, so
     * an inner stage cannot churn either); 0 = 64 MiB. Exactly max_output
     * bytes is still accepted. */
    uint64_t max_output;
    /* Ceiling on everything the decoder allocates: codec state and
     * windows, stage buffers; 0 = 32 MiB. A stream needing more (a br
     * window of 16 MiB twice, say) fails with CIO_ETOOBIG. */
    size_t max_memory;
    /* Most codings in the list (identity not counted); 0 = 5. */
    unsigned max_codings;
};

struct cio__decoder;

/*
 * Creates a decoder for a Content-Encoding field value: a comma-separated
 * list of codings in the order they were applied (several field lines
 * joined with ", " by the caller). Tokens are case-insensitive; "identity"
 * and empty list elements are skipped; the list is undone right to left.
 * An empty list gives a decoder that copies its input, under the same
 * max_output. opts may be NULL (all defaults). The list is read left to
 * right and the first problem found is reported.
 *
 * On success *out owns the decoder (cio__decoder_free). On failure *out is
 * untouched. Errors:
 *   CIO_ENOTSUP  a coding that is unknown or not built in ("xz", "br"
 *                without libbrotli): the caller keeps the raw body and
 *                flags it (RELIABILITY 50);
 *   CIO_ECODING  more than max_codings codings (RELIABILITY 47);
 *   CIO_ETOOBIG  max_memory too small for the codecs' initial state;
 *   CIO_ENOMEM.
 */
int cio__decoder_new(struct cio__decoder **out, struct cio_str content_encoding,
                     const struct cio__decoder_opts *opts);

/*
 * Decodes: reads from in[0..inlen), writes to out[0..outcap). On success
 * *nin is the bytes consumed and *nout the bytes written. It returns when
 * all input was consumed and no more output can be made without more input,
 * or when out is full (then *nin may be < inlen: call again with the rest
 * and fresh space). inlen 0 is allowed (drains buffered output). With
 * inlen > 0 and outcap > 0 a call always consumes or produces something,
 * or fails: no input makes it spin.
 *
 * Concatenated gzip members are decoded as one body (RELIABILITY 48); any
 * byte after a gzip member that does not start another member, and any
 * byte after the end of a deflate or br stream, is an error. zstd frames
 * may follow each other (RFC 8878 §3); bytes that are not a frame fail.
 * Deflate is read as zlib-wrapped if its first two bytes are a valid zlib
 * header (RFC 1950 §2.2), else as raw deflate, as browsers do.
 *
 * A failure found after this call produced output is reported by the
 * next call: this one returns 0 with that output. So what the codec
 * decoded before it found the problem is handed out (how much depends on
 * the codec's buffering and the splits), and a body over max_output
 * yields exactly max_output bytes before CIO_ETOOBIG.
 *
 * Errors (the decoder then fails every later call with the same code):
 *   CIO_ECODING  corrupt input, with the codec's message; a zstd frame
 *                whose window exceeds 8 MiB (RFC 9659);
 *   CIO_ETOOBIG  the decoded size would pass max_output (no more than
 *                max_output bytes are ever handed out), or the codecs
 *                need more than max_memory;
 *   CIO_ENOMEM.
 */
int cio__decoder_feed(struct cio__decoder *d, const void *in, size_t inlen,
                      size_t *nin, void *out, size_t outcap, size_t *nout);

/*
 * The input has ended: writes the output still buffered into out and
 * checks that every coding reached its end. Returns 0 when done, or 1 when
 * out filled up first or an error follows (call again with fresh space);
 * *nout is set in both cases. outcap must be > 0. A body of zero bytes decodes to zero bytes for every coding (what
 * browsers do with an empty Content-Encoding: gzip response). Errors: as
 * cio__decoder_feed, plus CIO_ECODING "truncated <coding> stream" if a
 * coding stopped mid-stream.
 */
int cio__decoder_finish(struct cio__decoder *d, void *out, size_t outcap,
                        size_t *nout);

/*
 * Callback forms: decode all of in[0..inlen) (resp. finish), handing the
 * output to sink in chunks of at most 16 KiB. Errors: as feed/finish, or
 * the sink's own code.
 */
int cio__decoder_write(struct cio__decoder *d, const void *in, size_t inlen,
                       cio__coding_sink sink, void *ud);
int cio__decoder_end(struct cio__decoder *d, cio__coding_sink sink, void *ud);

/* Decoded bytes handed out so far. */
uint64_t cio__decoder_total(const struct cio__decoder *d);

/* Bytes allocated now by the decoder, and the most ever (<= max_memory). */
size_t cio__decoder_mem(const struct cio__decoder *d, size_t *peak);

/* Frees the decoder in any state (also mid-stream or failed). NULL ok. */
void cio__decoder_free(struct cio__decoder *d);

/* ------------------------------------------------------------- encoding */

struct cio__encoder_opts {
    /* Compression level; 0 = the coding's default for dynamic responses:
     * gzip 6 (1..9), br 5 (1..11), zstd 3 (1..19: levels whose window
     * stays within RFC 9659's 8 MiB). Out of range: CIO_EINVAL. */
    int level;
};

struct cio__encoder;

/*
 * Creates an encoder for gzip, br or zstd (identity copies). opts may be
 * NULL. Errors: CIO_ENOTSUP (deflate, or br/zstd not built in),
 * CIO_EINVAL (level), CIO_ENOMEM.
 *
 * Beware: libbrotli's encoder (1.0.9, built with its default
 * BROTLI_ENCODER_EXIT_ON_OOM) calls exit() if an allocation fails, so
 * under memory pressure br encoding cannot report CIO_ENOMEM. The gzip
 * and zstd encoders and every decoder do.
 */
int cio__encoder_new(struct cio__encoder **out, enum cio__coding coding,
                     const struct cio__encoder_opts *opts);

/*
 * Compresses in[0..inlen) into out[0..outcap); *nin / *nout as in
 * cio__decoder_feed (returns once all input is taken or out is full). The
 * codec may hold input back until flush or finish.
 * Errors: CIO_EINVAL (called while a flush or finish is unfinished, or
 * after finish), CIO_ENOMEM.
 */
int cio__encoder_feed(struct cio__encoder *e, const void *in, size_t inlen,
                      size_t *nin, void *out, size_t outcap, size_t *nout);

/*
 * Flush (for a streaming response: everything fed so far becomes
 * decodable by the peer) or finish (ends the stream; afterwards only
 * cio__encoder_free). Each returns 0 when complete, or 1 when out filled up
 * first: call the same function again with fresh space; *nout is set in
 * both cases.
 */
int cio__encoder_flush(struct cio__encoder *e, void *out, size_t outcap,
                       size_t *nout);
int cio__encoder_finish(struct cio__encoder *e, void *out, size_t outcap,
                        size_t *nout);

/* Callback forms of feed (all of in), flush and finish; chunks <= 16 KiB. */
int cio__encoder_write(struct cio__encoder *e, const void *in, size_t inlen,
                       cio__coding_sink sink, void *ud);
int cio__encoder_flush_to(struct cio__encoder *e, cio__coding_sink sink,
                          void *ud);
int cio__encoder_end(struct cio__encoder *e, cio__coding_sink sink, void *ud);

/* Frees the encoder in any state. NULL ok. */
void cio__encoder_free(struct cio__encoder *e);

/* ---------------------------------------------------------- negotiation */

/*
 * Picks the response coding for an Accept-Encoding field value (RFC 9110
 * §12.5.3). accept.ptr == NULL means the field was absent: identity (we do
 * not compress for clients that did not ask). offer is a set of
 * CIO__CODING_BIT()s the response may use (0 = every coding this build
 * encodes); deflate is never chosen (its zlib/raw ambiguity), nor anything
 * this build cannot encode.
 *
 * The highest q wins; among equal q the server's preference decides:
 * br > zstd > gzip > identity. "x-gzip" counts as gzip, "*" covers every
 * coding not named, a coding's first occurrence counts, q=0 excludes.
 * identity is acceptable (below every listed coding) unless named with
 * q=0 or excluded by "*;q=0". Elements with a malformed q are ignored.
 *
 * Returns 0 with *out set (CIO__CODING_IDENTITY = send uncompressed), or
 * CIO_ENOTSUP when nothing is acceptable, not even identity (the server
 * may answer 406 or send identity anyway).
 */
int cio__coding_negotiate(struct cio_str accept, unsigned offer,
                          enum cio__coding *out);

#endif
