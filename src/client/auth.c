/* SPDX-License-Identifier: MIT */
#include "client/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include <corio/http/url.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/errmsg.h"
#include "http/token.h"

#define AUTH_MAX_VALUE 8192

/* RFC 7617 §2 and RFC 7616 §3.4: no control characters in credentials. */
static int has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int b64_encode_into(char *out, const void *in, size_t len)
{
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int cio__auth_basic(char **out, const char *user, const char *pass)
{
    if (user == NULL)
        return CIO_EINVAL;
    if (pass == NULL)
        pass = "";
    if (strchr(user, ':') != NULL)
        return cio__err(CIO_EINVAL,
                        "Basic auth: the user name must not contain ':'");
    if (has_ctl(user) || has_ctl(pass))
        return cio__err(CIO_EINVAL,
                        "Basic auth: control byte in user name or password");
    size_t ul = strlen(user), pl = strlen(pass);
    if (ul + pl > AUTH_MAX_VALUE)
        return cio__err(CIO_ETOOBIG, "Basic auth: credentials too long");
    size_t rawlen = ul + 1 + pl;
    char *raw = cio__malloc(rawlen + 1);
    if (raw == NULL)
        return CIO_ENOMEM;
    memcpy(raw, user, ul);
    raw[ul] = ':';
    memcpy(raw + ul + 1, pass, pl);
    char *v = cio__malloc(6 + 4 * ((rawlen + 2) / 3) + 1);
    if (v == NULL) {
        OPENSSL_cleanse(raw, rawlen);
        cio__free(raw);
        return CIO_ENOMEM;
    }
    memcpy(v, "Basic ", 6);
    b64_encode_into(v + 6, raw, rawlen);
    OPENSSL_cleanse(raw, rawlen);
    cio__free(raw);
    *out = v;
    return 0;
}

int cio__auth_bearer(char **out, const char *token)
{
    if (token == NULL || token[0] == '\0')
        return cio__err(CIO_EINVAL, "Bearer auth: empty token");
    size_t len = strlen(token);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)token[i] < 0x21 || (unsigned char)token[i] > 0x7e)
            return cio__err(CIO_EINVAL,
                            "Bearer auth: byte 0x%02x in the token at %zu",
                            (unsigned char)token[i], i);
    if (len > AUTH_MAX_VALUE)
        return cio__err(CIO_ETOOBIG, "Bearer auth: token too long");
    char *v = cio__malloc(7 + len + 1);
    if (v == NULL)
        return CIO_ENOMEM;
    memcpy(v, "Bearer ", 7);
    memcpy(v + 7, token, len + 1);
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ parser */

struct pstate {
    const char *s;
    size_t len, pos;
    char *scratch;
    size_t used, cap;
};

static int is_tchar(char c)
{
    return cio__tok_is(c, CIO__TOK_TCHAR);
}

static int is_t68(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '+' || c == '/';
}

static void skip_ows(struct pstate *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

static size_t span_tchar(const struct pstate *p, size_t at)
{
    size_t e = at;
    while (e < p->len && is_tchar(p->s[e]))
        e++;
    return e - at;
}

static int perr(const struct pstate *p, const char *what)
{
    return cio__err(CIO_EPROTO, "auth challenge: %s at offset %zu", what,
                    p->pos);
}

/* Copies s[from..from+n) into scratch with a NUL and returns the view. */
static struct cio_str keep(struct pstate *p, const char *from, size_t n)
{
    char *d = p->scratch + p->used;
    memcpy(d, from, n);
    d[n] = '\0';
    p->used += n + 1;
    return (struct cio_str){d, n};
}

/* At pos: is this "token BWS = BWS (token / quoted-string)"? A token68
 * ending in '=' ("abc=", "abc==") is not a parameter. */
static int param_ahead(const struct pstate *p)
{
    size_t at = p->pos, n = span_tchar(p, at);
    if (n == 0)
        return 0;
    at += n;
    while (at < p->len && (p->s[at] == ' ' || p->s[at] == '\t'))
        at++;
    if (at >= p->len || p->s[at] != '=')
        return 0;
    at++;
    while (at < p->len && (p->s[at] == ' ' || p->s[at] == '\t'))
        at++;
    return at < p->len && (p->s[at] == '"' || is_tchar(p->s[at]));
}

static int parse_quoted(struct pstate *p, struct cio_str *out)
{
    /* p->s[p->pos] == '"'. The unescaped copy is never longer than the
     * input, so scratch >= len + 1 always suffices. */
    char *d = p->scratch + p->used;
    size_t n = 0;
    p->pos++;
    for (;;) {
        if (p->pos >= p->len)
            return perr(p, "unterminated quoted string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len)
                return perr(p, "unterminated quoted string");
            c = (unsigned char)p->s[p->pos];
        }
        /* qdtext and quoted-pair (RFC 9110 §5.6.4): HTAB, SP, VCHAR,
         * obs-text. Never CR, LF, NUL or other controls. */
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return perr(p, "control byte in quoted string");
        d[n++] = (char)c;
        p->pos++;
    }
    d[n] = '\0';
    p->used += n + 1;
    *out = (struct cio_str){d, n};
    return 0;
}

static int parse_param(struct pstate *p, struct cio__auth_challenge *c)
{
    size_t n = span_tchar(p, p->pos);
    struct cio_str name = keep(p, p->s + p->pos, n);
    p->pos += n;
    skip_ows(p);
    p->pos++; /* '=' (checked by param_ahead) */
    skip_ows(p);
    struct cio_str value;
    if (p->s[p->pos] == '"') {
        int rc = parse_quoted(p, &value);
        if (rc < 0)
            return rc;
    } else {
        n = span_tchar(p, p->pos);
        value = keep(p, p->s + p->pos, n);
        p->pos += n;
    }
    if (c->nparams == CIO__AUTH_MAX_PARAMS)
        return cio__err(CIO_ETOOBIG, "auth challenge: more than %d parameters",
                        CIO__AUTH_MAX_PARAMS);
    c->params[c->nparams++] = (struct cio__auth_param){name, value};
    return 0;
}

/* After an element: OWS, then the end or a ','. */
static int end_of_element(struct pstate *p)
{
    skip_ows(p);
    if (p->pos < p->len && p->s[p->pos] != ',')
        return perr(p, "unexpected byte");
    return 0;
}

static void skip_commas(struct pstate *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ',' || p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
}

int cio__auth_parse(const char *s, size_t len, struct cio__auth_challenge *out,
                    size_t max, size_t *nout, char *scratch, size_t scratch_cap)
{
    if (s == NULL || out == NULL || nout == NULL || scratch == NULL)
        return CIO_EINVAL;
    if (scratch_cap < len + 1)
        return cio__err(CIO_EINVAL, "auth challenge: scratch too small");
    struct pstate p = {
        .s = s, .len = len, .scratch = scratch, .cap = scratch_cap};
    size_t n = 0;
    int rc;

    skip_commas(&p);
    while (p.pos < p.len) {
        size_t sl = span_tchar(&p, p.pos);
        if (sl == 0)
            return perr(&p, "expected an auth scheme");
        if (n == max)
            return cio__err(CIO_ETOOBIG,
                            "auth challenge: more than %zu "
                            "challenges",
                            max);
        struct cio__auth_challenge *c = &out[n++];
        memset(c, 0, sizeof(*c));
        c->scheme = keep(&p, s + p.pos, sl);
        p.pos += sl;
        c->token68 = (struct cio_str){p.scratch + p.used - 1, 0};
        if (p.pos < p.len && p.s[p.pos] != ' ' && p.s[p.pos] != '\t' &&
            p.s[p.pos] != ',')
            return perr(&p, "bad byte after the auth scheme");
        skip_ows(&p);
        if (p.pos >= p.len || p.s[p.pos] == ',') {
            skip_commas(&p);
            continue;
        }
        if (param_ahead(&p)) {
            /* #auth-param: parameters until something that is not one,
             * which starts the next challenge. */
            for (;;) {
                if ((rc = parse_param(&p, c)) < 0)
                    return rc;
                if ((rc = end_of_element(&p)) < 0)
                    return rc;
                skip_commas(&p);
                if (p.pos >= p.len || !param_ahead(&p))
                    break;
            }
            continue;
        }
        /* token68 */
        size_t e = p.pos;
        while (e < p.len && is_t68(p.s[e]))
            e++;
        if (e == p.pos)
            return perr(&p, "expected a token68 or parameters");
        while (e < p.len && p.s[e] == '=')
            e++;
        c->token68 = keep(&p, s + p.pos, e - p.pos);
        p.pos = e;
        if ((rc = end_of_element(&p)) < 0)
            return rc;
        skip_commas(&p);
    }
    *nout = n;
    return 0;
}

const struct cio_str *cio__auth_param(const struct cio__auth_challenge *c,
                                      const char *lcname)
{
    size_t ln = strlen(lcname);
    for (size_t i = 0; i < c->nparams; i++)
        if (cio__tok_ieq(c->params[i].name.ptr, c->params[i].name.len, lcname,
                         ln))
            return &c->params[i].value;
    return NULL;
}

int cio__auth_is(const struct cio__auth_challenge *c, const char *lcname)
{
    return cio__tok_ieq(c->scheme.ptr, c->scheme.len, lcname, strlen(lcname));
}

/* ------------------------------------------------------------ digest */

static char *dup_str(struct cio_str s)
{
    char *d = cio__malloc(s.len + 1);
    if (d != NULL) {
        memcpy(d, s.ptr, s.len);
        d[s.len] = '\0';
    }
    return d;
}

/* Reads an algorithm token; returns 0 if supported. */
static int parse_alg(struct cio_str a, enum cio__digest_alg *alg, bool *sess)
{
    static const struct {
        const char *name;
        enum cio__digest_alg alg;
        bool sess;
    } algs[] = {
        {"md5", CIO__DIGEST_MD5, false},
        {"md5-sess", CIO__DIGEST_MD5, true},
        {"sha-256", CIO__DIGEST_SHA256, false},
        {"sha-256-sess", CIO__DIGEST_SHA256, true},
        {"sha-512-256", CIO__DIGEST_SHA512_256, false},
        {"sha-512-256-sess", CIO__DIGEST_SHA512_256, true},
    };
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (cio__tok_ieq(a.ptr, a.len, algs[i].name, strlen(algs[i].name))) {
            *alg = algs[i].alg;
            *sess = algs[i].sess;
            return 0;
        }
    return -1;
}

/* qop is a quoted list "auth, auth-int": returns the best we support. */
static enum cio__digest_qop parse_qop(struct cio_str q, bool *ok)
{
    bool auth = false, authint = false;
    size_t i = 0;
    while (i < q.len) {
        while (i < q.len &&
               (q.ptr[i] == ' ' || q.ptr[i] == '\t' || q.ptr[i] == ','))
            i++;
        size_t st = i;
        while (i < q.len && q.ptr[i] != ',' && q.ptr[i] != ' ' &&
               q.ptr[i] != '\t')
            i++;
        if (CIO__TOK_IEQ(q.ptr + st, i - st, "auth"))
            auth = true;
        else if (CIO__TOK_IEQ(q.ptr + st, i - st, "auth-int"))
            authint = true;
    }
    *ok = auth || authint;
    return auth ? CIO__QOP_AUTH : CIO__QOP_AUTH_INT;
}

int cio__digest_init(struct cio__digest *d,
                     const struct cio__auth_challenge *ch, size_t n)
{
    const char *why = "no Digest challenge";
    for (size_t i = 0; i < n; i++) {
        const struct cio__auth_challenge *c = &ch[i];
        if (!cio__auth_is(c, "digest"))
            continue;
        const struct cio_str *realm = cio__auth_param(c, "realm");
        const struct cio_str *nonce = cio__auth_param(c, "nonce");
        const struct cio_str *alg = cio__auth_param(c, "algorithm");
        const struct cio_str *qop = cio__auth_param(c, "qop");
        const struct cio_str *opaque = cio__auth_param(c, "opaque");
        const struct cio_str *uh = cio__auth_param(c, "userhash");
        const struct cio_str *stale = cio__auth_param(c, "stale");
        if (realm == NULL || nonce == NULL) {
            why = "Digest challenge without realm or nonce";
            continue;
        }
        struct cio__digest t = {.alg = CIO__DIGEST_MD5};
        if (alg != NULL && parse_alg(*alg, &t.alg, &t.sess) < 0) {
            why = "Digest algorithm not supported";
            continue;
        }
        if (qop != NULL) {
            bool ok;
            t.qop = parse_qop(*qop, &ok);
            if (!ok) {
                why = "Digest qop not supported";
                continue;
            }
        } else if (t.sess) {
            /* The -sess variants need a cnonce, hence qop (RFC 7616 §3.4.2). */
            why = "Digest -sess algorithm without qop";
            continue;
        }
        t.userhash = uh != NULL && CIO__TOK_IEQ(uh->ptr, uh->len, "true");
        t.stale = stale != NULL && CIO__TOK_IEQ(stale->ptr, stale->len, "true");
        t.realm = dup_str(*realm);
        t.nonce = dup_str(*nonce);
        t.opaque = opaque != NULL ? dup_str(*opaque) : NULL;
        if (t.realm == NULL || t.nonce == NULL ||
            (opaque != NULL && t.opaque == NULL)) {
            cio__digest_fini(&t);
            return CIO_ENOMEM;
        }
        *d = t;
        return 0;
    }
    return cio__err(CIO_EAUTH, "%s", why);
}

void cio__digest_fini(struct cio__digest *d)
{
    cio__free(d->realm);
    cio__free(d->nonce);
    cio__free(d->opaque);
    d->realm = d->nonce = d->opaque = NULL;
}

static const EVP_MD *alg_md(enum cio__digest_alg a)
{
    switch (a) {
    case CIO__DIGEST_SHA256:
        return EVP_sha256();
    case CIO__DIGEST_SHA512_256:
        return EVP_sha512_256();
    default:
        return EVP_md5();
    }
}

/* Hashes the parts joined by ':' into lower-case hex (out: 129 bytes). */
static int hash_hex(const EVP_MD *md, char *out, const struct cio_str *parts,
                    size_t nparts)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1;
    for (size_t i = 0; ok && i < nparts; i++) {
        if (i > 0)
            ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
        if (ok && parts[i].len > 0)
            ok = EVP_DigestUpdate(ctx, parts[i].ptr, parts[i].len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, dg, &dl) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return cio__err(CIO_EAUTH, "Digest: hashing failed");
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < dl; i++) {
        out[2 * i] = hex[dg[i] >> 4];
        out[2 * i + 1] = hex[dg[i] & 15];
    }
    out[2 * dl] = '\0';
    return 0;
}

/* Appends a quoted-string with '"' and '\' escaped. */
static int put_quoted(struct cio__buf *b, const char *s)
{
    int rc = cio__buf_append(b, "\"", 1);
    for (; rc == 0 && *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            rc = cio__buf_append(b, "\\", 1);
        if (rc == 0)
            rc = cio__buf_append(b, s, 1);
    }
    return rc < 0 ? rc : cio__buf_append(b, "\"", 1);
}

static int printable_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

int cio__digest_authorization(struct cio__digest *d, const char *user,
                              const char *pass, const char *method,
                              const char *uri, const void *body,
                              size_t body_len, const char *cnonce_in,
                              char **out)
{
    if (d == NULL || d->nonce == NULL || user == NULL || method == NULL ||
        uri == NULL || out == NULL)
        return CIO_EINVAL;
    if (pass == NULL)
        pass = "";
    if (has_ctl(user) || has_ctl(pass))
        return cio__err(CIO_EINVAL,
                        "Digest auth: control byte in user name or password");
    if (has_ctl(uri) || has_ctl(method))
        return cio__err(CIO_EINVAL, "Digest auth: control byte in the request");

    char cnonce[65];
    if (cnonce_in != NULL) {
        size_t cl = strlen(cnonce_in);
        /* It is written unquoted-safe only if it cannot break the quotes. */
        if (cl == 0 || cl >= sizeof(cnonce) || !printable_ascii(cnonce_in) ||
            strchr(cnonce_in, '"') != NULL || strchr(cnonce_in, '\\') != NULL)
            return cio__err(CIO_EINVAL, "Digest auth: bad cnonce");
        memcpy(cnonce, cnonce_in, cl + 1);
    } else {
        unsigned char rnd[16];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            return cio__err(CIO_EAUTH, "Digest auth: RAND_bytes failed");
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof(rnd); i++) {
            cnonce[2 * i] = hex[rnd[i] >> 4];
            cnonce[2 * i + 1] = hex[rnd[i] & 15];
        }
        cnonce[32] = '\0';
    }

    const EVP_MD *md = alg_md(d->alg);
    char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[2 * EVP_MAX_MD_SIZE + 1];
    char resp[2 * EVP_MAX_MD_SIZE + 1], bodyh[2 * EVP_MAX_MD_SIZE + 1];
    char uhash[2 * EVP_MAX_MD_SIZE + 1], nc[9];
    int rc;

    uint32_t ncv = d->nc + 1;
    snprintf(nc, sizeof(nc), "%08x", ncv);
    struct cio_str cn = cio_str_c(cnonce), no = cio_str_c(d->nonce);

    /* RFC 7616 §3.4.2: A1 = user:realm:pass, or for -sess
     * H(user:realm:pass):nonce:cnonce. */
    struct cio_str a1[3] = {cio_str_c(user), cio_str_c(d->realm),
                            cio_str_c(pass)};
    if ((rc = hash_hex(md, ha1, a1, 3)) < 0)
        return rc;
    if (d->sess) {
        struct cio_str s1[3] = {cio_str_c(ha1), no, cn};
        if ((rc = hash_hex(md, ha1, s1, 3)) < 0)
            return rc;
    }
    /* §3.4.3: A2 = method:uri, or method:uri:H(body) for auth-int. */
    if (d->qop == CIO__QOP_AUTH_INT) {
        struct cio_str bd = {body != NULL ? body : "",
                             body != NULL ? body_len : 0};
        if ((rc = hash_hex(md, bodyh, &bd, 1)) < 0)
            return rc;
        struct cio_str a2[3] = {cio_str_c(method), cio_str_c(uri),
                                cio_str_c(bodyh)};
        rc = hash_hex(md, ha2, a2, 3);
    } else {
        struct cio_str a2[2] = {cio_str_c(method), cio_str_c(uri)};
        rc = hash_hex(md, ha2, a2, 2);
    }
    if (rc < 0)
        return rc;
    const char *qop = d->qop == CIO__QOP_AUTH_INT ? "auth-int" : "auth";
    if (d->qop == CIO__QOP_NONE) {
        struct cio_str r[3] = {cio_str_c(ha1), no, cio_str_c(ha2)};
        rc = hash_hex(md, resp, r, 3);
    } else {
        struct cio_str r[6] = {cio_str_c(ha1), no,
                               cio_str_c(nc),  cn,
                               cio_str_c(qop), cio_str_c(ha2)};
        rc = hash_hex(md, resp, r, 6);
    }
    if (rc < 0)
        return rc;

    static const char *const alg_names[] = {"MD5", "SHA-256", "SHA-512-256"};
    struct cio__buf b;
    cio__buf_init(&b, AUTH_MAX_VALUE);
    rc = cio__buf_printf(&b, "Digest ");
    if (d->userhash) {
        /* §3.4.4: username = H(user:realm), so the name is never sent. */
        struct cio_str u[2] = {cio_str_c(user), cio_str_c(d->realm)};
        if (rc == 0)
            rc = hash_hex(md, uhash, u, 2);
        if (rc == 0)
            rc = cio__buf_printf(&b, "username=\"%s\"", uhash);
    } else if (printable_ascii(user)) {
        if (rc == 0)
            rc = cio__buf_printf(&b, "username=");
        if (rc == 0)
            rc = put_quoted(&b, user);
    } else {
        /* §3.4.4 and RFC 8187: username*=UTF-8''percent-encoded. */
        size_t ul = strlen(user);
        ptrdiff_t need = cio_pct_encode(NULL, 0, user, ul, CIO_PCT_COMPONENT);
        if (rc == 0)
            rc =
                need < 0 ? (int)need : cio__buf_printf(&b, "username*=UTF-8''");
        if (rc == 0)
            rc = cio__buf_reserve(&b, (size_t)need + 1);
        if (rc == 0) {
            ptrdiff_t w = cio_pct_encode(cio__buf_tail(&b), cio__buf_room(&b),
                                         user, ul, CIO_PCT_COMPONENT);
            if (w < 0)
                rc = (int)w;
            else
                cio__buf_commit(&b, (size_t)w);
        }
    }
    if (rc == 0)
        rc = cio__buf_printf(&b, ", realm=");
    if (rc == 0)
        rc = put_quoted(&b, d->realm);
    if (rc == 0)
        rc = cio__buf_printf(&b, ", uri=");
    if (rc == 0)
        rc = put_quoted(&b, uri);
    if (rc == 0)
        rc = cio__buf_printf(&b, ", algorithm=%s%s", alg_names[d->alg],
                             d->sess ? "-sess" : "");
    if (rc == 0)
        rc = cio__buf_printf(&b, ", nonce=");
    if (rc == 0)
        rc = put_quoted(&b, d->nonce);
    if (rc == 0 && d->qop != CIO__QOP_NONE)
        rc = cio__buf_printf(&b, ", nc=%s, cnonce=\"%s\", qop=%s", nc, cnonce,
                             qop);
    if (rc == 0)
        rc = cio__buf_printf(&b, ", response=\"%s\"", resp);
    if (rc == 0 && d->opaque != NULL) {
        rc = cio__buf_printf(&b, ", opaque=");
        if (rc == 0)
            rc = put_quoted(&b, d->opaque);
    }
    if (rc == 0 && d->userhash)
        rc = cio__buf_printf(&b, ", userhash=true");
    if (rc == 0)
        rc = cio__buf_append(&b, "", 1);
    if (rc < 0) {
        cio__buf_fini(&b);
        return rc == CIO_ETOOBIG
                   ? cio__err(rc, "Digest auth: Authorization above %d bytes",
                              AUTH_MAX_VALUE)
                   : rc;
    }
    d->nc = ncv;
    *out = b.base;
    return 0;
}
