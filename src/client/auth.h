/* SPDX-License-Identifier: MIT */
#ifndef CIO_CLIENT_AUTH_H
#define CIO_CLIENT_AUTH_H

/*
 * HTTP authentication for the client: Basic (RFC 7617), Bearer (RFC 6750)
 * and Digest (RFC 7616), and the parser of WWW-Authenticate /
 * Proxy-Authenticate challenges (RFC 9110 §11). No I/O. Every value this
 * produces is safe to put in a header (no CR, LF, NUL or other CTL).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

/*
 * "Basic " + base64(user ":" pass) into *out (cio__malloc'd, NUL-terminated;
 * free with cio__free). Errors: CIO_EINVAL (':' in user, RFC 7617 §2; a
 * control byte in either), CIO_ENOMEM.
 */
int cio__auth_basic(char **out, const char *user, const char *pass);

/* "Bearer " + token. Errors: CIO_EINVAL (empty, or a byte outside
 * 0x21-0x7E: nothing that could split a header), CIO_ENOMEM. */
int cio__auth_bearer(char **out, const char *token);

/* ------------------------------------------------------------ challenges */

#define CIO__AUTH_MAX_PARAMS 16

struct cio__auth_param {
    struct cio_str name;  /* a token, case kept */
    struct cio_str value; /* quoted-strings unescaped; NUL-terminated */
};

struct cio__auth_challenge {
    struct cio_str scheme;  /* a token, case kept ("Digest", "basic") */
    struct cio_str token68; /* len 0 if none */
    struct cio__auth_param params[CIO__AUTH_MAX_PARAMS];
    size_t nparams;
};

/*
 * Parses one WWW-Authenticate (or Proxy-Authenticate) field value
 * s[0..len): a comma-separated list of challenges, each a scheme followed
 * by a token68 or by comma-separated name=value parameters (token or
 * quoted-string with backslash escapes), so "Basic realm=\"a\", Digest
 * realm=\"b\", nonce=x" is two challenges. Several field lines: join them
 * with ", " or call once per line.
 *
 * Fills out[0..*n). The views point into scratch (scratch_cap >= len + 1
 * bytes is always enough; copies are NUL-terminated), so s may go away.
 * Errors: CIO_EPROTO (malformed; cio_last_error() gives the offset),
 * CIO_ETOOBIG (more than max challenges or CIO__AUTH_MAX_PARAMS
 * parameters in one), CIO_EINVAL (scratch too small). *n is written only
 * on success.
 */
int cio__auth_parse(const char *s, size_t len, struct cio__auth_challenge *out,
                    size_t max, size_t *n, char *scratch, size_t scratch_cap);

/* The value of parameter name (case-insensitive; name in lower case), or
 * NULL. */
const struct cio_str *cio__auth_param(const struct cio__auth_challenge *c,
                                      const char *lcname);

/* 1 if c's scheme is lcname, ignoring case (lcname in lower case). */
int cio__auth_is(const struct cio__auth_challenge *c, const char *lcname);

/* ------------------------------------------------------------ digest */

enum cio__digest_alg {
    CIO__DIGEST_MD5 = 0,
    CIO__DIGEST_SHA256,
    CIO__DIGEST_SHA512_256,
};

enum cio__digest_qop {
    CIO__QOP_NONE = 0, /* RFC 2069 compatibility: no qop, nc or cnonce */
    CIO__QOP_AUTH,
    CIO__QOP_AUTH_INT,
};

/* What a Digest challenge asked for, kept to answer it (and later requests
 * with the same nonce, counting nc). */
struct cio__digest {
    char *realm, *nonce, *opaque; /* cio__malloc'd; opaque may be NULL */
    enum cio__digest_alg alg;
    bool sess;     /* "-sess" variant of alg */
    bool userhash; /* RFC 7616 §3.4.4 */
    bool stale;    /* the challenge said stale=true */
    enum cio__digest_qop qop;
    uint32_t nc; /* answers sent with this nonce */
};

/*
 * Picks the first Digest challenge of ch[0..n) that this code supports
 * (the server lists them in its order of preference, RFC 7616 §3.7):
 * algorithm MD5, MD5-sess, SHA-256, SHA-256-sess, SHA-512-256[-sess]
 * (none given = MD5); qop "auth" preferred over "auth-int"; none = RFC 2069
 * mode. Fills *d. Errors: CIO_EAUTH (no usable Digest challenge: the
 * message says why), CIO_ENOMEM.
 */
int cio__digest_init(struct cio__digest *d,
                     const struct cio__auth_challenge *ch, size_t n);

/* Frees the strings; d may be zeroed or initialised. */
void cio__digest_fini(struct cio__digest *d);

/*
 * The Authorization value for a request (method, request-target uri) into
 * *out (cio__malloc'd). Increments d->nc. For qop auth-int the body must be
 * in memory (body, body_len; NULL = empty); cnonce NULL = 16 random bytes
 * from RAND_bytes in hex (tests pass a fixed one). A user name that is not
 * printable ASCII is sent as username* (RFC 8187 UTF-8 encoding) unless
 * userhash is on. Errors: CIO_EINVAL (a control byte in user or pass, or
 * a cnonce that is not a token), CIO_EAUTH (RAND_bytes or the hash failed),
 * CIO_ETOOBIG (the value would exceed 8 KiB), CIO_ENOMEM.
 */
int cio__digest_authorization(struct cio__digest *d, const char *user,
                              const char *pass, const char *method,
                              const char *uri, const void *body,
                              size_t body_len, const char *cnonce, char **out);

#endif
