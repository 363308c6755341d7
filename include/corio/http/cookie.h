/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_COOKIE_H
#define CORIO_HTTP_COOKIE_H

/*
 * Cookies (RFC 6265bis): a Set-Cookie parser, and a cookie jar that applies
 * the storage model, writes the Cookie header of a request, and saves and
 * loads the Netscape cookie file format that curl and wget use.
 *
 * Pure code: no I/O and no clock reads. Every call that needs the time takes
 * `now`, in seconds since the Unix epoch (UTC wall clock, not cio_now()).
 */

#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

/* ------------------------------------------------------------ Set-Cookie */

enum cio_same_site {
    CIO_SAMESITE_DEFAULT = 0, /* no (valid) SameSite attribute: acts as Lax */
    CIO_SAMESITE_NONE,
    CIO_SAMESITE_LAX,
    CIO_SAMESITE_STRICT,
};

/* One Set-Cookie field value, parsed. Views point into the parsed buffer. */
struct cio_set_cookie {
    struct cio_str name;   /* may be empty; no leading/trailing SP/HTAB */
    struct cio_str value;  /* ditto; name.len + value.len <= 4096 */
    struct cio_str domain; /* last Domain attribute with its leading '.'
                                * removed, not lowercased; ptr NULL if none.
                                * Present but empty ("Domain=.") = host-only */
    struct cio_str path;   /* last Path attribute if it starts with '/';
                                * ptr NULL if none or if the last one did not
                                * (then the default path applies) */
    int64_t expires;       /* Unix seconds, if has_expires */
    int64_t max_age;       /* seconds (<= 0: expire now), if has_max_age */
    enum cio_same_site same_site;
    unsigned has_path : 1;    /* a Path attribute was present (__Host-) */
    unsigned has_expires : 1; /* a valid Expires attribute was present */
    unsigned has_max_age : 1; /* a valid Max-Age attribute; wins over Expires */
    unsigned secure : 1;
    unsigned http_only : 1;
};

/*
 * Parses one Set-Cookie field value buf[0..len) by the RFC 6265bis §5.6
 * algorithm: unknown attributes, attribute values over 1024 bytes and
 * attributes whose value does not parse (e.g. a bad Expires date) are
 * ignored, the last valid one of each kind wins. Never allocates; buf need
 * not be NUL-terminated. On success fills *out (views into buf).
 * Errors (the whole cookie is to be ignored; cio_last_error() says why):
 * CIO_EPROTO for a control byte other than HTAB anywhere (NUL included), an
 * empty name and value, or a nameless cookie whose value starts with
 * "__Secure-" or "__Host-"; CIO_ETOOBIG if name and value exceed 4096 bytes.
 */
CIO_API int cio_set_cookie_parse(const char *buf, size_t len,
                                 struct cio_set_cookie *out);

/*
 * Parses a date by the lenient cookie-date algorithm of RFC 6265bis §5.1.1
 * (used by Expires; accepts RFC 1123, RFC 850, asctime and many broken
 * forms). Two-digit years 70-99 mean 19xx and 00-69 mean 20xx. On success
 * writes Unix seconds to *out. Errors: CIO_EPROTO.
 */
CIO_API int cio_cookie_date_parse(const char *buf, size_t len, int64_t *out);

/* ------------------------------------------------------------------ jar */

/* A jar is not thread-safe: one task uses it at a time. Its operations
 * are linear in the number of cookies, which its limits bound. */
typedef struct cio_cookie_jar cio_cookie_jar;

/* Limits of a jar; zero always means the default. */
struct cio_cookie_jar_opts {
    uint32_t max_cookies;      /* whole jar; 0 = 3000 */
    uint32_t max_per_site;     /* per registrable domain (eTLD+1, from the
                                * public suffix list; the host itself for IP
                                * addresses), so subdomains share one quota;
                                * 0 = 50 */
    uint32_t max_bytes;        /* sum of the names, values, domains and paths
                                * of all cookies; 0 = 2 MiB */
    uint32_t max_header_bytes; /* Cookie header value written by
                                * cio_cookie_jar_header(); 0 = 8192 */
    uint32_t max_age_s;        /* Max-Age and Expires are capped to now plus
                                * this (RFC 6265bis §5.6.1); 0 = 400 days */
};

/* How the request relates to the site that caused it (RFC 6265bis §5.2). */
enum cio_cookie_site {
    CIO_COOKIE_SAME_SITE = 0,  /* same-site, or no browsing context at all
                                * (the usual case for an HTTP client) */
    CIO_COOKIE_CROSS_SITE_NAV, /* cross-site top-level navigation with a safe
                                * method: SameSite=Strict cookies withheld */
    CIO_COOKIE_CROSS_SITE,     /* any other cross-site request: only
                                * SameSite=None cookies are stored or sent */
};

/*
 * The request a Set-Cookie came with, or that a Cookie header is for. The
 * client fills it from its parsed URL; the strings need not be
 * NUL-terminated and are only read during the call.
 */
struct cio_cookie_req {
    struct cio_str scheme; /* "https" and "wss" (any case) are secure;
                                * anything else is not */
    struct cio_str host;   /* ASCII host name (IDNs as A-labels) or IP
                                * literal, no port; "[v6]" brackets allowed;
                                * case and one trailing dot do not matter */
    struct cio_str path;   /* URL path; a '?' or '#' ends it; "" = "/" */
    enum cio_cookie_site site;
    unsigned non_http : 1; /* a non-HTTP API (scripts): HttpOnly cookies
                                * are neither set, replaced nor returned */
};

/*
 * Creates an empty jar. opts may be NULL (all defaults); it is copied.
 * The public suffix list is libpsl's newest (psl_latest), else its built-in
 * one; it is loaded once per process. Errors: CIO_ENOMEM.
 */
CIO_API int cio_cookie_jar_new(cio_cookie_jar **out,
                               const struct cio_cookie_jar_opts *opts);

/* Frees the jar and its cookies. NULL ok. */
CIO_API void cio_cookie_jar_free(cio_cookie_jar *jar);

/*
 * Applies one Set-Cookie field value received in the response to req, by
 * the storage model of RFC 6265bis §5.7: Domain must domain-match the host
 * and must not be a public suffix (unless it equals the host: then the
 * cookie is host-only); IP hosts only get host-only cookies; Secure,
 * SameSite=None, "__Secure-" and "__Host-" need a secure scheme; a cookie
 * with the same name, domain, host-only flag and path is replaced (keeping
 * its creation time); an expired one deletes it. Then the limits of the
 * jar are enforced, evicting expired cookies first, then the least recently
 * used ones (of the same site first).
 * Returns 0 if the jar took the cookie (a deletion counts), else the reason
 * it was ignored (cio_last_error() names it): CIO_EPROTO (see
 * cio_set_cookie_parse; also a name, value or path containing HTAB, which
 * the cookie file cannot hold), CIO_ETOOBIG (name and value over 4096
 * bytes, a default path over 1024, or a cookie larger than max_bytes),
 * CIO_EPERM (refused by a rule above), CIO_EINVAL (req->host is not a
 * valid host, or req->path has a control byte), CIO_ENOMEM.
 */
CIO_API int cio_cookie_jar_store(cio_cookie_jar *jar, const char *buf,
                                 size_t len, const struct cio_cookie_req *req,
                                 int64_t now);

/*
 * Writes the Cookie header value for req ("a=1; b=2", no field name) into
 * buf and NUL-terminates it (if cap > 0). Cookies are those whose domain,
 * path, Secure, SameSite and expiry match req, longest path first, then
 * oldest first (RFC 6265bis §5.8.3); each one sent counts as used for the
 * LRU eviction. The value never exceeds min(cap - 1, max_header_bytes):
 * a cookie that does not fit is left out and the next ones are tried.
 * Returns the length written (0: no cookie applies), or CIO_EINVAL (bad
 * host). Expired cookies met on the way are removed.
 */
CIO_API ptrdiff_t cio_cookie_jar_header(cio_cookie_jar *jar,
                                        const struct cio_cookie_req *req,
                                        int64_t now, char *buf, size_t cap);

/* The number of cookies in the jar, after removing those expired at now. */
CIO_API size_t cio_cookie_jar_count(cio_cookie_jar *jar, int64_t now);

/* Removes the session (non-persistent) cookies: the end of a session. */
CIO_API void cio_cookie_jar_clear_session(cio_cookie_jar *jar);

/* --------------------------------------------------- Netscape cookie file */

/*
 * Writes the jar in the Netscape cookie file format (a comment header, then
 * one line per cookie: domain, include-subdomains TRUE/FALSE, path, secure
 * TRUE/FALSE, expiry in Unix seconds (0 = session cookie), name, value;
 * tab-separated; HttpOnly cookies have "#HttpOnly_" before the domain), as
 * curl and wget read it. SameSite is not part of the format and is lost.
 * Expired cookies are removed first. If buf is NULL, writes nothing and
 * returns the length needed; else writes and NUL-terminates, returning the
 * length written, or CIO_ETOOBIG (buf untouched) if it needs more than
 * cap - 1 bytes.
 */
CIO_API ptrdiff_t cio_cookie_jar_save(cio_cookie_jar *jar, int64_t now,
                                      char *buf, size_t cap);

struct cio_cookie_load_stats {
    size_t loaded;         /* cookies put in the jar */
    size_t expired;        /* valid lines already expired at now */
    size_t bad;            /* malformed or refused lines, skipped */
    size_t first_bad_line; /* 1-based; 0 if none */
};

/*
 * Adds the cookies of a Netscape cookie file in buf[0..len) (LF or CRLF
 * lines; '#' comments and blank lines ignored) to the jar, with the checks
 * of cio_cookie_jar_store that the format allows (host and Domain rules,
 * public suffixes, prefixes, sizes) and the jar's limits. A line that
 * breaks a rule or is longer than 8 KiB is skipped and counted. stats may
 * be NULL; it is written on success. Errors: CIO_ETOOBIG (len > 32 MiB;
 * nothing loaded), CIO_ENOMEM (the cookies loaded before it stay).
 */
CIO_API int cio_cookie_jar_load(cio_cookie_jar *jar, const char *buf,
                                size_t len, int64_t now,
                                struct cio_cookie_load_stats *stats);

#endif
