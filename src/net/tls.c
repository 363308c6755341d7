/* SPDX-License-Identifier: MIT */
/*
 * TLS (OpenSSL 3) as a stream layer over any cio_stream.
 *
 * OpenSSL talks to the inner stream through a BIO of our own. Its read calls
 * the inner stream's non-blocking try_read and reports "retry" on
 * CIO_EAGAIN. Its write never blocks: it appends the records to our output
 * buffer (struct obuf), which out_flush() hands to the inner stream's
 * try_writev (MSG_NOSIGNAL on sockets: no SIGPIPE). So no SSL_* call ever
 * parks, and the TLS stream's own primitives map onto them:
 *
 *   try_read   -> SSL_read_ex      CIO_EAGAIN, with want[op] = the inner
 *   try_writev -> SSL_write_ex       direction this operation waits for
 *   wait(dir)  -> inner wait(want[op of dir])
 *
 * The direction is kept per operation because a read may need the inner
 * stream to be writable (to send a TLS 1.3 KeyUpdate reply or an alert) and
 * a write may need it readable (during a handshake): park on what the
 * operation needs, not on what was called (DESIGN.md "Known traps").
 *
 * Why our own output buffer: with a BIO whose write answers "retry", OpenSSL
 * keeps a half-written record and insists that its next write be a retry of
 * that record. A read that must write (OpenSSL 3 sends an owed KeyUpdate
 * reply when the next handshake message arrives) while a write is half done
 * makes OpenSSL fail the connection with "bad length" (the tls_test case
 * full_duplex_with_key_updates did, before obuf). With obuf every SSL call
 * leaves only whole records behind, so one task may read while another
 * writes (full duplex) on the one SSL object: no SSL call parks, and each
 * runs to completion on the loop thread before the other task runs.
 *
 * Back-pressure: a write reports its bytes only once their record has left
 * obuf; until then it answers CIO_EAGAIN (want OUT) and keeps the count in
 * wdone for the retry, which stream.c makes with the same bytes. A read
 * flushes what reads produced but waits for OUT only when no write is in
 * progress to do it, or when obuf is over OBUF_SOFT.
 *
 * Error queue: OpenSSL's per-thread queue is cleared before each SSL call
 * and drained once after each failure (drain_errors), so a stale entry
 * never turns a later call on this thread into a failure.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <corio/tls.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "net/stream.h"
#include "net/tls_int.h"

/* The largest plaintext of one record (RFC 8446 §5.1). */
#define TLS_RECORD 16384u
/* A read produces output (replies) only while obuf holds less than this. */
#define OBUF_SOFT (64u * 1024u)
/* Never reached in practice (writes add one record to an empty obuf, reads
 * add replies below OBUF_SOFT); a peer that gets past it loses the
 * connection (CIO_ETOOBIG). */
#define OBUF_MAX (1024u * 1024u)

struct cio_tls_ctx {
    SSL_CTX *ssl;
    atomic_uint refs;    /* the creator's + one per live TLS stream */
    unsigned char *alpn; /* wire format (length-prefixed) or NULL */
    size_t alpnlen;
    char **protos; /* the same names, NUL-terminated; NULL-ended */
    uint8_t server;
    uint8_t verify;           /* client: check the chain and the name */
    struct cio_tls_ctx **sni; /* server: alternatives chosen by SNI */
    size_t nsni;
};

enum tls_op { OP_READ, OP_WRITE, OP_HANDSHAKE, OP_SHUTDOWN, OP_COUNT };

struct tls {
    struct cio_stream base;
    cio_stream *inner; /* owned once the handshake succeeded */
    SSL *ssl;
    struct cio_tls_ctx *ctx; /* holds a reference */
    struct cio_loop *loop;
    const char *alpn; /* borrowed from ctx->protos, or NULL */
    /* Set by the BIO during one SSL call; reset before each call. */
    int inner_err;          /* a hard error of the inner stream */
    uint8_t inner_eof;      /* the inner stream reached EOF (sticky) */
    uint8_t want[OP_COUNT]; /* CIO__IN/CIO__OUT: what op waits for */
    uint8_t sent_close;     /* close_notify is in obuf or out */
    uint8_t writing;        /* a write answered CIO_EAGAIN, not done */
    /* Sticky errors: after these, the direction only reports the error. */
    int rerr, werr;
    /* Records not yet taken by the inner stream: base[off, len). Freed when
     * empty, so an idle connection holds no buffer. */
    struct obuf {
        char *base;
        size_t off, len, cap;
    } out;
    size_t wdone; /* plaintext bytes whose record is in obuf */
    /* cio_stream_on_readable */
    cio_readable_cb user_cb;
    void *user_ud;
    struct cio__timer cb_timer; /* "plaintext buffered": fire next turn */
};

static const struct cio__stream_vt tls_vt;

/* ------------------------------------------------------------- errors */

/* TLS failures use the one per-thread message of cio_last_error(). */
const char *cio_tls_last_error(void)
{
    return cio_last_error();
}

__attribute__((format(printf, 1, 2))) static void set_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cio__verr(0, fmt, ap);
    va_end(ap);
}

struct ossl_err {
    unsigned long first; /* earliest entry: the root cause; 0 = none */
    char msg[200];       /* its reason (and data, if any) */
    uint8_t verify;      /* some entry says verification failed */
    uint8_t no_cert;     /* ... or that the peer sent no certificate */
    uint8_t eof;         /* ... or that the peer vanished mid-record */
};

/* Reads and clears this thread's OpenSSL error queue, once per failure. */
static void drain_errors(struct ossl_err *e)
{
    const char *data;
    int flags;
    unsigned long code;

    memset(e, 0, sizeof(*e));
    while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
            switch (ERR_GET_REASON(code)) {
            case SSL_R_CERTIFICATE_VERIFY_FAILED:
                e->verify = 1;
                break;
            case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                e->no_cert = 1;
                break;
            case SSL_R_UNEXPECTED_EOF_WHILE_READING:
                e->eof = 1;
                break;
            default:
                break;
            }
        }
        if (e->first != 0)
            continue;
        e->first = code;
        const char *reason = ERR_reason_error_string(code);
        if (reason == NULL) {
            ERR_error_string_n(code, e->msg, sizeof(e->msg));
        } else if ((flags & ERR_TXT_STRING) && data != NULL && data[0]) {
            snprintf(e->msg, sizeof(e->msg), "%s (%s)", reason, data);
        } else {
            snprintf(e->msg, sizeof(e->msg), "%s", reason);
        }
    }
}

/*
 * Turns a failed SSL call of operation op into a CIO_E* code. Returns
 * CIO_EAGAIN (with want[op] set) when the call only needs the inner stream,
 * 0 for a clean close_notify on a read, or an error with the message set.
 */
static int tls_error(struct tls *t, int ret, enum tls_op op)
{
    int e = SSL_get_error(t->ssl, ret);
    struct ossl_err oe;
    int rc;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->want[op] = CIO__IN;
        return CIO_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->want[op] = CIO__OUT;
        return CIO_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        if (op == OP_READ)
            return 0; /* the peer's close_notify: a clean end of stream */
        if (op != OP_HANDSHAKE) {
            ERR_clear_error();
            set_err("the peer ended the TLS session (close_notify)");
            t->werr = CIO_EPIPE;
            return CIO_EPIPE;
        }
        break;
    default:
        break;
    }
    drain_errors(&oe);
    if (oe.verify || oe.no_cert) {
        long v = SSL_get_verify_result(t->ssl);
        rc = CIO_ECERT;
        if (oe.no_cert)
            set_err("peer did not return a certificate");
        else if (v != X509_V_OK)
            set_err("%s", X509_verify_cert_error_string(v));
        else
            set_err("%s", oe.msg);
    } else if (t->inner_err < 0) {
        rc = t->inner_err;
        if (op == OP_HANDSHAKE && (rc == CIO_EPIPE || rc == CIO_ECONNRESET)) {
            /* Whether the ClientHello write or the next read notices first
             * is a race: report one code for "the peer went away". */
            rc = CIO_ECONNRESET;
            set_err("peer closed the connection during the TLS handshake");
        } else if (rc == CIO_ETOOBIG) {
            set_err("TLS output buffer limit: the peer does not read");
        } else {
            set_err("%s", cio_strerror(rc));
        }
    } else if (oe.eof || e == SSL_ERROR_ZERO_RETURN ||
               (e == SSL_ERROR_SYSCALL && oe.first == 0)) {
        /* The inner stream ended (the BIO returns "no retry" only at EOF
         * or on an inner error, handled above). */
        rc = CIO_EPROTO;
        if (op == OP_HANDSHAKE)
            set_err("peer closed the connection during the TLS handshake");
        else
            set_err("unexpected EOF (no close_notify)");
    } else if (oe.first != 0) {
        rc = CIO_ETLS;
        set_err("%s", oe.msg);
    } else {
        rc = CIO_ETLS;
        set_err("SSL error %d", e);
    }
    /* The BIO saw a direction-local failure; anything else broke the
     * session for both directions. */
    if (t->inner_err < 0 && !oe.verify && !oe.no_cert) {
        if (op == OP_READ)
            t->rerr = rc;
        else
            t->werr = rc;
    } else {
        t->rerr = t->werr = rc;
    }
    return rc;
}

/* ------------------------------------------------------------- the BIO */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int obuf_put(struct obuf *o, const char *data, size_t len)
{
    if (o->cap - o->len < len && o->off > 0) {
        memmove(o->base, o->base + o->off, o->len - o->off);
        o->len -= o->off;
        o->off = 0;
    }
    if (o->cap - o->len < len) {
        size_t cap = o->cap ? o->cap * 2 : TLS_RECORD + 512;
        while (cap - o->len < len)
            cap *= 2;
        if (cap > OBUF_MAX)
            return CIO_ETOOBIG;
        char *p = cio__realloc(o->base, cap);
        if (p == NULL)
            return CIO_ENOMEM;
        o->base = p;
        o->cap = cap;
    }
    memcpy(o->base + o->len, data, len);
    o->len += len;
    return 0;
}

static void obuf_free(struct obuf *o)
{
    cio__free(o->base);
    memset(o, 0, sizeof(*o));
}

/*
 * Hands obuf to the inner stream without parking. Returns 0 once it is
 * empty, CIO_EAGAIN, or the inner stream's error (then obuf is dropped and
 * the write direction is broken for good).
 */
static int out_flush(struct tls *t)
{
    struct obuf *o = &t->out;

    while (o->off < o->len) {
        struct iovec v = {.iov_base = o->base + o->off,
                          .iov_len = o->len - o->off};
        ptrdiff_t n = t->inner->vt->try_writev(t->inner, &v, 1);
        if (n > 0) {
            o->off += (size_t)n;
            continue;
        }
        if (n == 0 || n == CIO_EAGAIN)
            return CIO_EAGAIN;
        obuf_free(o);
        t->werr = (int)n;
        return (int)n;
    }
    if (o->base != NULL)
        obuf_free(o);
    return 0;
}

static int bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
    struct tls *t = BIO_get_data(b);
    int rc;

    BIO_clear_retry_flags(b);
    rc = obuf_put(&t->out, data, len);
    if (rc < 0) {
        t->inner_err = rc;
        return 0;
    }
    *written = len;
    return 1;
}

static int bio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
    struct tls *t = BIO_get_data(b);
    ptrdiff_t n;

    BIO_clear_retry_flags(b);
    n = t->inner->vt->try_read(t->inner, buf, len);
    if (n > 0) {
        *readbytes = (size_t)n;
        return 1;
    }
    if (n == 0) {
        t->inner_eof = 1; /* BIO_eof() lets OpenSSL say "unexpected EOF" */
        return 0;
    }
    if (n == CIO_EAGAIN) {
        BIO_set_retry_read(b);
        return 0;
    }
    t->inner_err = (int)n;
    return 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tls *t = BIO_get_data(b);
    (void)num;
    (void)ptr;

    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* records wait in obuf; every caller flushes after */
    case BIO_CTRL_EOF:
        return t != NULL && t->inner_eof;
    default:
        return 0;
    }
}

static void bio_init_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "corio stream");
    if (m == NULL)
        return;
    if (!BIO_meth_set_write_ex(m, bio_write) ||
        !BIO_meth_set_read_ex(m, bio_read) || !BIO_meth_set_ctrl(m, bio_ctrl)) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m; /* lives as long as the process */
}

/* ------------------------------------------------------------- contexts */

static void ctx_unref(struct cio_tls_ctx *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    SSL_CTX_free(c->ssl);
    for (size_t i = 0; i < c->nsni; i++)
        ctx_unref(c->sni[i]);
    cio__free(c->sni);
    if (c->protos != NULL) {
        for (char **p = c->protos; *p != NULL; p++)
            cio__free(*p);
        cio__free(c->protos);
    }
    cio__free(c->alpn);
    cio__free(c);
}

void cio_tls_ctx_free(cio_tls_ctx *ctx)
{
    if (ctx != NULL)
        ctx_unref(ctx);
}

/* Server SNI: the first alternative whose certificate covers the name the
 * client asked for; none: the context's own certificate. */
static int select_sni(SSL *ssl, int *alert, void *arg)
{
    const struct cio_tls_ctx *c = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)alert;

    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < c->nsni; i++) {
        X509 *x = SSL_CTX_get0_certificate(c->sni[i]->ssl);
        if (x != NULL && X509_check_host(x, name, 0, 0, NULL) == 1) {
            SSL_set_SSL_CTX(ssl, c->sni[i]->ssl);
            break;
        }
    }
    return SSL_TLSEXT_ERR_OK;
}

int cio__tls_ctx_add_sni(cio_tls_ctx *ctx, cio_tls_ctx *alt)
{
    struct cio_tls_ctx **v;

    if (ctx == NULL || alt == NULL || !ctx->server || !alt->server)
        return CIO_EINVAL;
    v = cio__realloc(ctx->sni, (ctx->nsni + 1) * sizeof(*v));
    if (v == NULL)
        return CIO_ENOMEM;
    ctx->sni = v;
    ctx->sni[ctx->nsni++] = alt;
    if (ctx->nsni == 1) {
        SSL_CTX_set_tlsext_servername_callback(ctx->ssl, select_sni);
        SSL_CTX_set_tlsext_servername_arg(ctx->ssl, ctx);
    }
    return 0;
}

/* Server ALPN: the first of our protocols, in our order, that the client
 * offers. No overlap: continue without ALPN (the client falls back to
 * HTTP/1.1) rather than fail the handshake. */
static int select_alpn(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    const struct cio_tls_ctx *c = arg;
    (void)ssl;

    for (size_t i = 0; i < c->alpnlen; i += 1u + c->alpn[i]) {
        for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
            if (j + 1u + in[j] > inlen)
                break; /* malformed list */
            if (in[j] == c->alpn[i] &&
                memcmp(in + j + 1, c->alpn + i + 1, in[j]) == 0) {
                *out = c->alpn + i + 1;
                *outlen = c->alpn[i];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static int ctx_alpn(struct cio_tls_ctx *c, const char *const *alpn)
{
    size_t n = 0, len = 0, off = 0;

    for (; alpn[n] != NULL; n++) {
        size_t k = strlen(alpn[n]);
        if (k == 0 || k > 255) {
            set_err("ALPN protocol names are 1 to 255 bytes");
            return CIO_EINVAL;
        }
        len += 1 + k;
    }
    if (n == 0)
        return 0;
    c->alpn = cio__malloc(len);
    c->protos = cio__calloc(n + 1, sizeof(*c->protos));
    if (c->alpn == NULL || c->protos == NULL)
        return CIO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(alpn[i]);
        c->alpn[off] = (unsigned char)k;
        memcpy(c->alpn + off + 1, alpn[i], k);
        off += 1 + k;
        c->protos[i] = cio__strdup(alpn[i]);
        if (c->protos[i] == NULL)
            return CIO_ENOMEM;
    }
    c->alpnlen = len;
    return 0;
}

/* Reports a failed context setup step with the file it concerned. */
static int ctx_fail(int rc, const char *what, const char *file)
{
    struct ossl_err oe;
    drain_errors(&oe);
    set_err("%s%s%s: %s", what, file ? " " : "", file ? file : "",
            oe.first ? oe.msg : "failed");
    return rc;
}

static int ctx_verify_locations(SSL_CTX *ssl, const struct cio_tls_opts *o)
{
    if (o->ca_file != NULL || o->ca_path != NULL) {
        if (SSL_CTX_load_verify_locations(ssl, o->ca_file, o->ca_path) != 1)
            return ctx_fail(CIO_ETLS, "ca_file/ca_path",
                            o->ca_file ? o->ca_file : o->ca_path);
        return 0;
    }
    if (SSL_CTX_set_default_verify_paths(ssl) != 1)
        return ctx_fail(CIO_ETLS, "system CA store", NULL);
    return 0;
}

static int ctx_setup(struct cio_tls_ctx *c, const struct cio_tls_opts *o)
{
    SSL_CTX *ssl = c->ssl;
    int minv = o->min_version != 0 ? o->min_version : TLS1_2_VERSION;
    int rc;

    if (minv < TLS1_2_VERSION || minv > TLS1_3_VERSION) {
        set_err("min_version must be TLS 1.2 or 1.3");
        return CIO_EINVAL;
    }
    if (SSL_CTX_set_min_proto_version(ssl, minv) != 1)
        return ctx_fail(CIO_EINVAL, "min_version", NULL);
    /* No renegotiation (RELIABILITY I.82); the server picks the cipher. */
    SSL_CTX_set_options(ssl,
                        SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                            (o->server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
    /*
     * RELEASE_BUFFERS: an idle connection holds no record buffers (about
     * 34 KiB saved each). PARTIAL_WRITE: SSL_write_ex returns after each
     * record, so the writev loop in stream.c sees progress record by
     * record. ACCEPT_MOVING_WRITE_BUFFER: a retry may come from a
     * different address (the coalescing buffer, an advanced iovec).
     */
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS |
                              SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Read whole records (and what follows) in one inner read, not the
     * 5-byte header first: half the read calls. */
    SSL_CTX_set_read_ahead(ssl, 1);
    if (o->ciphers != NULL && SSL_CTX_set_cipher_list(ssl, o->ciphers) != 1)
        return ctx_fail(CIO_EINVAL, "ciphers", o->ciphers);

    if (o->cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ssl, o->cert_file) != 1)
            return ctx_fail(CIO_ETLS, "cert_file", o->cert_file);
        if (SSL_CTX_use_PrivateKey_file(ssl, o->key_file, SSL_FILETYPE_PEM) !=
            1)
            return ctx_fail(CIO_ETLS, "key_file", o->key_file);
        if (SSL_CTX_check_private_key(ssl) != 1)
            return ctx_fail(CIO_ETLS, "key_file", o->key_file);
    }

    if (o->server) {
        /* Sessions resume through stateless tickets; a server-side cache
         * would keep memory per connection for nothing. */
        SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_session_id_context(ssl, (const unsigned char *)"corio", 5);
        if (o->verify_client) {
            rc = ctx_verify_locations(ssl, o);
            if (rc < 0)
                return rc;
            if (o->ca_file != NULL) {
                STACK_OF(X509_NAME) *names =
                    SSL_load_client_CA_file(o->ca_file);
                if (names != NULL)
                    SSL_CTX_set_client_CA_list(ssl, names);
                ERR_clear_error();
            }
            SSL_CTX_set_verify(
                ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
        if (c->alpn != NULL)
            SSL_CTX_set_alpn_select_cb(ssl, select_alpn, c);
    } else {
        if (!o->insecure_skip_verify) {
            rc = ctx_verify_locations(ssl, o);
            if (rc < 0)
                return rc;
            SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
            c->verify = 1;
        } else {
            SSL_CTX_set_verify(ssl, SSL_VERIFY_NONE, NULL);
        }
        /* Inverted convention: 0 is success. */
        if (c->alpn != NULL &&
            SSL_CTX_set_alpn_protos(ssl, c->alpn, (unsigned)c->alpnlen) != 0)
            return ctx_fail(CIO_ENOMEM, "alpn", NULL);
    }
    return 0;
}

int cio_tls_ctx_new(cio_tls_ctx **out, const struct cio_tls_opts *o)
{
    struct cio_tls_ctx *c;
    int rc;

    if (out == NULL || o == NULL)
        return CIO_EINVAL;
    if ((o->cert_file == NULL) != (o->key_file == NULL) ||
        (o->server && o->cert_file == NULL)) {
        set_err("cert_file and key_file go together (and a server needs them)");
        return CIO_EINVAL;
    }
    pthread_once(&bio_once, bio_init_method);
    if (bio_method == NULL)
        return CIO_ENOMEM;

    c = cio__calloc(1, sizeof(*c));
    if (c == NULL)
        return CIO_ENOMEM;
    atomic_init(&c->refs, 1);
    c->server = o->server;
    if (o->alpn != NULL) {
        rc = ctx_alpn(c, o->alpn);
        if (rc < 0)
            goto fail_ctx;
    }
    ERR_clear_error();
    c->ssl = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
    if (c->ssl == NULL) {
        rc = ctx_fail(CIO_ENOMEM, "SSL_CTX_new", NULL);
        goto fail_ctx;
    }
    rc = ctx_setup(c, o);
    if (rc < 0)
        goto fail_ctx;
    *out = c;
    return 0;

fail_ctx:
    ctx_unref(c); /* frees what was set up, SSL_CTX included */
    return rc;
}

/* ------------------------------------------------------------- streams */

static void tls_readable_now(struct cio__timer *tm);

static int tls_new(struct tls **out, cio_stream *inner, struct cio_tls_ctx *c)
{
    struct tls *t;
    BIO *bio;

    if (cio__loop() == NULL)
        return CIO_EINVAL;
    t = cio__calloc(1, sizeof(*t));
    if (t == NULL)
        return CIO_ENOMEM;
    ERR_clear_error();
    t->ssl = SSL_new(c->ssl);
    if (t->ssl == NULL)
        goto fail_tls;
    bio = BIO_new(bio_method);
    if (bio == NULL)
        goto fail_ssl;
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* the SSL owns the BIO now */

    t->base.vt = &tls_vt;
    t->inner = inner;
    t->ctx = c;
    atomic_fetch_add(&c->refs, 1);
    t->loop = cio__loop();
    t->want[OP_READ] = CIO__IN;
    t->want[OP_WRITE] = CIO__OUT;
    t->want[OP_HANDSHAKE] = CIO__IN;
    t->want[OP_SHUTDOWN] = CIO__OUT;
    cio__timer_init(&t->cb_timer, tls_readable_now);
    *out = t;
    return 0;

fail_ssl:
    SSL_free(t->ssl);
fail_tls:
    ERR_clear_error();
    cio__free(t);
    return CIO_ENOMEM;
}

/* Frees the TLS state; the inner stream only if own_inner. */
static void tls_free(struct tls *t, int own_inner)
{
    if (t->cb_timer.idx != CIO__TIMER_IDLE)
        cio__timer_del(t->loop, &t->cb_timer);
    SSL_free(t->ssl);
    if (own_inner)
        t->inner->vt->close(t->inner);
    ctx_unref(t->ctx);
    obuf_free(&t->out);
    cio__free(t);
}

static int tls_handshake(struct tls *t, cio_time deadline)
{
    for (;;) {
        unsigned dir;
        int rc = 0, frc;

        ERR_clear_error();
        t->inner_err = 0;
        int r = SSL_do_handshake(t->ssl);
        if (r != 1) {
            rc = tls_error(t, r, OP_HANDSHAKE);
            if (rc == 0)
                rc = CIO_EPROTO;
        }
        /* Also after a failure: the alert tells the peer why, if it fits. */
        frc = out_flush(t);
        if (rc < 0 && rc != CIO_EAGAIN)
            return rc;
        if (frc < 0 && frc != CIO_EAGAIN) {
            if (frc == CIO_EPIPE || frc == CIO_ECONNRESET) {
                frc = CIO_ECONNRESET;
                set_err("peer closed the connection during the TLS handshake");
            } else {
                set_err("%s", cio_strerror(frc));
            }
            return frc;
        }
        if (frc == CIO_EAGAIN)
            dir = CIO__OUT; /* our flight first: the peer waits for it */
        else if (r == 1)
            break;
        else
            dir = t->want[OP_HANDSHAKE];
        rc = t->inner->vt->wait(t->inner, dir, deadline);
        if (rc < 0) {
            set_err("TLS handshake: %s", cio_strerror(rc));
            return rc;
        }
    }
    if (t->ctx->protos != NULL) {
        const unsigned char *p;
        unsigned len;
        SSL_get0_alpn_selected(t->ssl, &p, &len);
        for (char **q = t->ctx->protos; len > 0 && *q != NULL; q++)
            if (strlen(*q) == len && memcmp(*q, p, len) == 0)
                t->alpn = *q;
    }
    return 0;
}

/* A host argument is an IP literal if it parses as one; "[::1]" too. */
static int host_is_ip(const char *host, char *buf, size_t cap)
{
    unsigned char addr[16];
    size_t len = strlen(host);

    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        if (len - 2 >= cap)
            return 0;
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, addr) == 1;
    }
    if (len >= cap)
        return 0;
    memcpy(buf, host, len + 1);
    return inet_pton(AF_INET, buf, addr) == 1 ||
           inet_pton(AF_INET6, buf, addr) == 1;
}

static int client_names(struct tls *t, const char *servername)
{
    char host[256];
    int ok = 1;

    if (servername == NULL || servername[0] == '\0')
        return 0;
    if (host_is_ip(servername, host, sizeof(host))) {
        /* RFC 6066 §3: no SNI for IP literals; check the iPAddress SAN
         * instead (CVE-2024-2466 is about skipping exactly this). */
        if (t->ctx->verify)
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
    } else {
        size_t len = strlen(servername);
        if (len >= sizeof(host)) {
            set_err("server name too long");
            return CIO_EINVAL;
        }
        memcpy(host, servername, len + 1);
        if (len > 1 && host[len - 1] == '.')
            host[len - 1] = '\0'; /* SNI carries no trailing dot */
        ok = SSL_set_tlsext_host_name(t->ssl, host);
        if (ok && t->ctx->verify) {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                          X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
            ok = SSL_set1_host(t->ssl, host);
        }
    }
    if (!ok) {
        struct ossl_err oe;
        drain_errors(&oe);
        set_err("server name %s: %s", servername,
                oe.first ? oe.msg : "rejected");
        return CIO_EINVAL;
    }
    return 0;
}

static int tls_start(cio_stream **out, cio_stream *inner, cio_tls_ctx *ctx,
                     const char *servername, int server, cio_time deadline)
{
    struct tls *t;
    int rc;

    if (out == NULL || inner == NULL || ctx == NULL || ctx->server != server)
        return CIO_EINVAL;
    rc = tls_new(&t, inner, ctx);
    if (rc < 0)
        return rc;
    if (server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        rc = client_names(t, servername);
        if (rc < 0)
            goto fail_tls;
    }
    rc = tls_handshake(t, deadline);
    if (rc < 0)
        goto fail_tls;
    *out = &t->base;
    return 0;

fail_tls:
    tls_free(t, 0); /* the caller keeps inner */
    return rc;
}

int cio_tls_client(cio_stream **out, cio_stream *inner, cio_tls_ctx *ctx,
                   const char *servername, cio_time deadline)
{
    return tls_start(out, inner, ctx, servername, 0, deadline);
}

int cio_tls_server(cio_stream **out, cio_stream *inner, cio_tls_ctx *ctx,
                   cio_time deadline)
{
    return tls_start(out, inner, ctx, NULL, 1, deadline);
}

const char *cio_tls_alpn(const cio_stream *s)
{
    if (s == NULL || s->vt != &tls_vt)
        return NULL;
    return ((const struct tls *)s)->alpn;
}

const char *cio_tls_servername(const cio_stream *s)
{
    if (s == NULL || s->vt != &tls_vt)
        return NULL;
    return SSL_get_servername(((const struct tls *)s)->ssl,
                              TLSEXT_NAMETYPE_host_name);
}

SSL *cio__tls_ssl(cio_stream *s)
{
    if (s == NULL || s->vt != &tls_vt)
        return NULL;
    return ((struct tls *)s)->ssl;
}

/* ------------------------------------------------------------- primitives */

static ptrdiff_t tls_try_read(cio_stream *s, void *buf, size_t len)
{
    struct tls *t = (struct tls *)s;
    size_t n = 0;
    int rc;

    if (t->rerr < 0)
        return t->rerr;
    if (len == 0)
        return 0;
    /* Replies earlier reads produced go out first, as far as they can;
     * a write failure here is the writer's to report. */
    if (out_flush(t) == CIO_EAGAIN && t->out.len - t->out.off > OBUF_SOFT) {
        t->want[OP_READ] = CIO__OUT;
        return CIO_EAGAIN;
    }
    ERR_clear_error();
    t->inner_err = 0;
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1) {
        out_flush(t); /* a KeyUpdate reply, say; the next call retries */
        return (ptrdiff_t)n;
    }
    rc = tls_error(t, 0, OP_READ);
    /* Output this read produced must reach the peer, which may wait for
     * it. A parked writer sends it when it wakes; otherwise we do. */
    if (rc == CIO_EAGAIN && out_flush(t) == CIO_EAGAIN && !t->writing)
        t->want[OP_READ] = CIO__OUT;
    return rc;
}

/*
 * Picks what one SSL_write_ex gets from iov: the first piece itself if it
 * fills a record (or is the only one), else up to a record's worth of the
 * pieces copied into a new *wbuf (the caller frees it), so a head and a
 * small body make one record, not two. *len == 0 when iov holds no bytes.
 */
static int write_source(const struct iovec *iov, int iovcnt, char **wbuf,
                        const void **p, size_t *len)
{
    int i = 0;
    size_t off = 0;

    while (i < iovcnt && iov[i].iov_len == 0)
        i++;
    *len = 0;
    if (i == iovcnt)
        return 0;
    int more = 0;
    for (int j = i + 1; j < iovcnt && !more; j++)
        more = iov[j].iov_len > 0;
    if (iov[i].iov_len >= TLS_RECORD || !more) {
        *p = iov[i].iov_base;
        *len = iov[i].iov_len < TLS_RECORD ? iov[i].iov_len : TLS_RECORD;
        return 0;
    }
    *wbuf = cio__malloc(TLS_RECORD);
    if (*wbuf == NULL)
        return CIO_ENOMEM;
    for (; i < iovcnt && off < TLS_RECORD; i++) {
        size_t k = iov[i].iov_len < TLS_RECORD - off ? iov[i].iov_len
                                                     : TLS_RECORD - off;
        memcpy(*wbuf + off, iov[i].iov_base, k);
        off += k;
    }
    *p = *wbuf;
    *len = off;
    return 0;
}

/* A write that answers CIO_EAGAIN: it waits for the inner stream. */
static ptrdiff_t write_parks(struct tls *t)
{
    t->want[OP_WRITE] = CIO__OUT;
    t->writing = 1;
    return CIO_EAGAIN;
}

static ptrdiff_t tls_try_writev(cio_stream *s, const struct iovec *iov,
                                int iovcnt)
{
    struct tls *t = (struct tls *)s;
    const void *p = NULL;
    char *wbuf = NULL;
    size_t len, n = 0;
    int rc;

    if (t->werr < 0)
        return t->werr;
    if (t->sent_close) {
        set_err("write after close_notify");
        return CIO_EPIPE;
    }
    rc = out_flush(t);
    if (rc == CIO_EAGAIN)
        return write_parks(t);
    t->writing = 0;
    if (rc < 0)
        return rc;
    if (t->wdone > 0) {
        /* The retry of a write whose record has now left: stream.c offers
         * the same bytes again, and these were they. */
        n = t->wdone;
        t->wdone = 0;
        return (ptrdiff_t)n;
    }
    rc = write_source(iov, iovcnt, &wbuf, &p, &len);
    if (rc < 0 || len == 0)
        return rc;
    ERR_clear_error();
    t->inner_err = 0;
    if (SSL_write_ex(t->ssl, p, len, &n) != 1) {
        cio__free(wbuf);
        rc = tls_error(t, 0, OP_WRITE);
        if (rc == CIO_EAGAIN)
            t->writing = 1; /* a handshake message to read first, say */
        return rc == 0 ? CIO_EPIPE : rc;
    }
    cio__free(wbuf);
    rc = out_flush(t);
    if (rc == CIO_EAGAIN) {
        t->wdone = n;
        return write_parks(t);
    }
    return rc < 0 ? rc : (ptrdiff_t)n;
}

static int tls_wait(cio_stream *s, unsigned dir, cio_time deadline)
{
    struct tls *t = (struct tls *)s;
    int rc = t->inner->vt->wait(
        t->inner, t->want[dir == CIO__IN ? OP_READ : OP_WRITE], deadline);

    if (rc < 0 && dir == CIO__OUT) {
        /* The writer gives up. What it had encrypted stays in obuf and
         * goes out before anything else: like a socket that took part of
         * a write, "an unknown prefix may have been sent". */
        t->wdone = 0;
        t->writing = 0;
    }
    return rc;
}

static int tls_wait_readable(cio_stream *s, cio_time deadline)
{
    struct tls *t = (struct tls *)s;

    if (SSL_has_pending(t->ssl) || t->rerr < 0)
        return cio_canceled() ? CIO_ECANCELED : 0;
    return t->inner->vt->wait_readable(t->inner, deadline);
}

static void tls_readable_now(struct cio__timer *tm)
{
    struct tls *t = CIO_CONTAINER_OF(tm, struct tls, cb_timer);
    cio_readable_cb cb = t->user_cb;

    t->user_cb = NULL;
    if (cb != NULL)
        cb(&t->base, 0, t->user_ud);
}

static void tls_inner_readable(cio_stream *inner, int status, void *ud)
{
    struct tls *t = ud;
    cio_readable_cb cb = t->user_cb;
    (void)inner;

    t->user_cb = NULL;
    if (cb != NULL)
        cb(&t->base, status, t->user_ud);
}

static int tls_on_readable(cio_stream *s, cio_time deadline, cio_readable_cb cb,
                           void *ud)
{
    struct tls *t = (struct tls *)s;
    int rc;

    if (cb == NULL)
        return CIO_EINVAL;
    if (t->cb_timer.idx != CIO__TIMER_IDLE)
        cio__timer_del(t->loop, &t->cb_timer);
    if (SSL_has_pending(t->ssl) || t->rerr < 0) {
        /* Plaintext (or a record) is buffered inside OpenSSL: the inner
         * stream may never become readable again, so call back on the
         * next turn, like a socket with an unconsumed edge. */
        rc = cio__timer_add(t->loop, &t->cb_timer, t->loop->now);
    } else {
        rc = t->inner->vt->on_readable(t->inner, deadline, tls_inner_readable,
                                       t);
    }
    if (rc < 0)
        return rc;
    t->user_cb = cb;
    t->user_ud = ud;
    return 0;
}

static int tls_shutdown(cio_stream *s, cio_time deadline)
{
    struct tls *t = (struct tls *)s;
    int rc;

    if (t->werr < 0)
        return t->werr;
    while (!t->sent_close) {
        ERR_clear_error();
        t->inner_err = 0;
        int r = SSL_shutdown(t->ssl);
        if (r >= 0) {
            t->sent_close = 1; /* we do not wait for the peer's reply */
            break;
        }
        rc = tls_error(t, r, OP_SHUTDOWN);
        if (rc != CIO_EAGAIN)
            return rc == 0 ? CIO_ETLS : rc;
        if (out_flush(t) == CIO_EAGAIN)
            t->want[OP_SHUTDOWN] = CIO__OUT;
        rc = t->inner->vt->wait(t->inner, t->want[OP_SHUTDOWN], deadline);
        if (rc < 0)
            return rc;
    }
    /* close_notify (after anything still queued) must be out before FIN. */
    while ((rc = out_flush(t)) == CIO_EAGAIN) {
        rc = t->inner->vt->wait(t->inner, CIO__OUT, deadline);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    return t->inner->vt->shutdown(t->inner, deadline);
}

static void tls_close(cio_stream *s)
{
    tls_free((struct tls *)s, 1);
}

static int tls_fd(const cio_stream *s)
{
    const struct tls *t = (const struct tls *)s;
    return t->inner->vt->fd(t->inner);
}

static const char *tls_peer(cio_stream *s)
{
    struct tls *t = (struct tls *)s;
    return t->inner->vt->peer != NULL ? t->inner->vt->peer(t->inner) : "";
}

static const struct cio__stream_vt tls_vt = {
    .kind = "tls",
    .try_read = tls_try_read,
    .try_writev = tls_try_writev,
    .wait = tls_wait,
    .wait_readable = tls_wait_readable,
    .on_readable = tls_on_readable,
    .sendfile = NULL, /* encrypting needs the bytes: stream.c reads them */
    .shutdown = tls_shutdown,
    .close = tls_close,
    .fd = tls_fd,
    .peer = tls_peer,
};
