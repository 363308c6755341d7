/* SPDX-License-Identifier: MIT */
#ifndef CORIO_HTTP_URL_H
#define CORIO_HTTP_URL_H

/*
 * URLs (RFC 3986), percent-encoding, and query strings.
 *
 * A cio_url is an immutable, normalised absolute URL that owns its strings.
 * Parsing is strict and always normalises, so two URLs that mean the same
 * resource have the same href, and parsing an href again gives it back
 * unchanged:
 *   - scheme and host in lower case; "%xx" escapes in upper case; escapes of
 *     unreserved characters (ALPHA DIGIT - . _ ~) decoded (RFC 3986 §6.2.2);
 *   - dot segments removed from the path (§5.2.4), after that decoding, so
 *     "/a/%2e%2e/b" is "/b"; a path without authority that would start with
 *     "//" is written "/.//" so it cannot turn into an authority;
 *   - the default port removed, leading zeros in a port removed, an empty
 *     port (":") removed; an empty userinfo ("@", ":@") removed, an empty
 *     password (user:@) written as "user@";
 *   - in the path, query, fragment and userinfo, bytes 0x80-0xFF and the
 *     characters " < > \ ^ ` { | } [ ] (and '#' inside the fragment) are
 *     percent-encoded instead of rejected: non-ASCII text becomes
 *     percent-encoded UTF-8 (bytes are kept as they are, never transcoded
 *     or truncated).
 *
 * Rejected with CIO_EURL (cio_last_error() names the problem and usually
 * the offset): control characters (0x00-0x1F, 0x7F) and spaces anywhere,
 * "%" not followed by two hex digits, a missing or malformed scheme, more
 * than one "@" in the authority (write "%40"), a port that is not digits or
 * is above 65535, IPvFuture literals and IPv6 zone identifiers ("[fe80::1%25
 * eth0]", RFC 6874: not supported), and for the special schemes below
 * a missing or bad host.
 *
 * The special schemes http, https, ws and wss (cio_url_scheme_id) also get:
 *   - an authority with a non-empty host is required, an empty path is "/";
 *   - default ports 80 (http, ws) and 443 (https, wss); port 0 is rejected;
 *   - the host is percent-decoded and must then be a DNS name made of
 *     letters, digits, '-', '_' and '.' (labels of 1-63 bytes, 253 bytes in
 *     all, one trailing dot allowed), a dotted-decimal IPv4 address, or an
 *     IPv6 literal in brackets (written in RFC 5952 form). A name that ends
 *     in a number ("0x7f.1", "127.1", "2130706433", "1.2.3.04") must be a
 *     strict dotted-decimal IPv4 address: the lenient inet_aton forms that
 *     getaddrinfo would accept are rejected, never reinterpreted;
 *   - a host with non-ASCII characters is converted to its ASCII (punycode)
 *     form with libidn2 (UTS #46 non-transitional, NFC input): "bücher.de"
 *     is "xn--bcher-kva.de". If libidn2 refuses it, CIO_EURL carries its
 *     reason. The result must pass the ASCII rule above ("ａ＜b" is rejected,
 *     never silently turned into "ab").
 * Other schemes ("mailto:", "urn:", "file:", "g:") are parsed generically:
 * authority optional, host kept as a normalised reg-name, no default port.
 * Their origin is opaque ("null").
 *
 * Limit: the input, and the normalised href (percent-encoding can triple
 * it), are at most cio_url_opts.max_len bytes, CIO_URL_MAX_LEN (8 KiB) by
 * default; longer gives CIO_ETOOBIG. A URL made from another one
 * (resolve, add_params, dup) keeps the limit of the one it came from.
 *
 * Errors of every function that returns int: CIO_EURL, CIO_ETOOBIG,
 * CIO_ENOMEM, CIO_EINVAL (NULL arguments). On failure *out is untouched.
 */

#include <stddef.h>
#include <stdint.h>

#include <corio/http/common.h>

typedef struct cio_url cio_url;

#define CIO_URL_MAX_LEN 8192

struct cio_url_opts {
    size_t max_len; /* input and href bytes; 0 = CIO_URL_MAX_LEN */
};

enum cio_url_scheme_id {
    CIO_SCHEME_OTHER = 0, /* generic parsing, opaque origin */
    CIO_SCHEME_HTTP,
    CIO_SCHEME_HTTPS,
    CIO_SCHEME_WS,
    CIO_SCHEME_WSS,
};

enum cio_url_host_kind {
    CIO_HOST_NONE = 0, /* no authority ("mailto:x") */
    CIO_HOST_NAME,     /* reg-name: DNS name for special schemes;
                                    may be empty for others ("file:///") */
    CIO_HOST_IPV4,     /* dotted decimal */
    CIO_HOST_IPV6,     /* cio_url_host() without brackets */
};

/*
 * Parses and normalises the absolute URL s[0..len) (no NUL needed; a NUL
 * byte inside is an error). opts may be NULL for the defaults. A relative
 * reference is an error here: use cio_url_resolve().
 */
CIO_API int cio_url_parse(cio_url **out, const char *s, size_t len,
                          const struct cio_url_opts *opts);

/*
 * Resolves the URI-reference ref[0..len) (relative or absolute: a redirect
 * Location, a link) against base, following RFC 3986 §5.2 in strict mode
 * ("http:g" is the absolute URL "http:g", hence CIO_EURL: no host), then
 * normalises the result as cio_url_parse() does. The base's fragment is
 * ignored. An empty ref gives the base without its fragment.
 */
CIO_API int cio_url_resolve(cio_url **out, const cio_url *base, const char *ref,
                            size_t len);

/*
 * A new URL: u with params appended to its query (after "&" when the query
 * is not empty), each name and value encoded as by cio_query_encode() with
 * flags 0 (space as %20). An empty params array (or NULL) gives a copy.
 */
CIO_API int cio_url_add_params(cio_url **out, const cio_url *u,
                               const struct cio_kv *params);

CIO_API int cio_url_dup(cio_url **out, const cio_url *u);

/* NULL is ok. */
CIO_API void cio_url_free(cio_url *u);

/*
 * Accessors. Every string returned is borrowed from u (valid until
 * cio_url_free), and NUL-terminated at ptr[len]; len is authoritative
 * (a decoded password may contain a NUL). Absent parts are "" (len 0).
 */
/* The whole normalised URL. */
CIO_API const char *cio_url_href(const cio_url *u);
CIO_API struct cio_str cio_url_href_str(const cio_url *u);
/* Lower case, without ':'. */
CIO_API struct cio_str cio_url_scheme(const cio_url *u);
CIO_API enum cio_url_scheme_id cio_url_scheme_id(const cio_url *u);
/* 1 for https and wss. */
CIO_API int cio_url_is_secure(const cio_url *u);
/* Percent-decoded userinfo parts (for Basic credentials). */
CIO_API struct cio_str cio_url_username(const cio_url *u);
CIO_API struct cio_str cio_url_password(const cio_url *u);
/* 1 if the href carries a userinfo (a username or a password). */
CIO_API int cio_url_has_userinfo(const cio_url *u);
/* For special schemes the name to resolve (punycode) or the address; for
 * others the normalised reg-name as in the href. IPv6 without brackets. */
CIO_API struct cio_str cio_url_host(const cio_url *u);
CIO_API enum cio_url_host_kind cio_url_host_kind(const cio_url *u);
/* The Host header value: host (IPv6 in brackets) plus ":port" unless the
 * port is the scheme's default. */
CIO_API struct cio_str cio_url_hostport(const cio_url *u);
/* The port to connect to: explicit, else the scheme's default; -1 if
 * neither (a generic scheme without a port). */
CIO_API int cio_url_port(const cio_url *u);
/* Path, query (without '?') and fragment (without '#'), percent-encoded as
 * in the href. */
CIO_API struct cio_str cio_url_path(const cio_url *u);
CIO_API struct cio_str cio_url_query(const cio_url *u);
CIO_API struct cio_str cio_url_fragment(const cio_url *u);
/* 1 if the href has a '?' (or '#'), even when what follows is empty. */
CIO_API int cio_url_has_query(const cio_url *u);
CIO_API int cio_url_has_fragment(const cio_url *u);
/* The request-target in origin-form: path, then '?' and the query if the
 * href has one. Never contains a space, control byte or non-ASCII byte. */
CIO_API struct cio_str cio_url_target(const cio_url *u);
/* "scheme://host[:port]" for special schemes (the default port omitted),
 * "null" for others. */
CIO_API struct cio_str cio_url_origin(const cio_url *u);

/*
 * 1 if a and b have the same origin: both special, same scheme, same host
 * and same port (http and https differ, as do ws and http). Use it to
 * decide what may follow a redirect (credentials, cookies). 0 otherwise,
 * always 0 for generic schemes.
 */
CIO_API int cio_url_same_origin(const cio_url *a, const cio_url *b);

#define CIO_URL_FMT_NO_USERINFO 1u /* drop "user:pass@" (Referer, logs) */
#define CIO_URL_FMT_NO_FRAGMENT 2u /* drop "#..." (Referer, proxies) */

/*
 * Writes the href, minus the parts flags name, and a NUL into dst[0..cap).
 * Returns its length without the NUL, or CIO_ETOOBIG if cap is too small
 * (dst untouched). dst == NULL with cap == 0 returns the length needed.
 */
CIO_API ptrdiff_t cio_url_format(const cio_url *u, char *dst, size_t cap,
                                 unsigned flags);

/* ----------------------------------------------------- percent-encoding */

/* Which bytes are left as they are; every other byte becomes "%XX" (upper
 * case hex). */
enum cio_pct_set {
    CIO_PCT_COMPONENT = 0, /* only unreserved ALPHA DIGIT - . _ ~: a query
                                name or value, any opaque component */
    CIO_PCT_FORM,          /* as COMPONENT, but space is written '+' */
    CIO_PCT_PATH,          /* unreserved, sub-delims ! $ & ' ( ) * + , ; =
                                and : @ / : a whole path */
    CIO_PCT_SEGMENT,       /* as PATH but '/' is encoded: one segment */
    CIO_PCT_USERINFO,      /* unreserved and sub-delims (':' encoded) */
};

/*
 * Encodes src[0..len) (any bytes) into dst[0..cap) plus a NUL. Returns the
 * length without the NUL, or CIO_ETOOBIG if cap is too small (dst
 * untouched), CIO_EINVAL for an unknown set. dst == NULL with cap == 0
 * returns the length needed.
 */
CIO_API ptrdiff_t cio_pct_encode(char *dst, size_t cap, const char *src,
                                 size_t len, enum cio_pct_set set);

#define CIO_PCT_PLUS 1u /* '+' decodes to a space (forms) */
#define CIO_PCT_LENIENT                                                        \
    2u /* a '%' without two hex digits is copied as it
                                is; without this flag it is CIO_EURL */

/*
 * Decodes src[0..len) into dst[0..cap) plus a NUL; the result may contain
 * any byte, NUL included. Returns its length without the NUL, CIO_EURL for
 * an invalid escape (strict mode), or CIO_ETOOBIG if cap is too small (dst
 * untouched in both cases). dst == NULL with cap == 0 returns the length
 * needed. Decoding is done once: "%2541" gives "%41".
 */
CIO_API ptrdiff_t cio_pct_decode(char *dst, size_t cap, const char *src,
                                 size_t len, unsigned flags);

/* --------------------------------------------------------- query strings */

/*
 * Query strings are '&'-separated name=value pairs, each percent-encoded
 * with CIO_PCT_COMPONENT. The same code serves application/x-www-form-
 * urlencoded bodies (corio/http/form.h): the only difference is
 * CIO_QUERY_FORM, under which a space is '+' when encoding and '+' is a
 * space when parsing. Without it, encoding writes a space as "%20" and
 * '+' as "%2B" (so both readings agree), and parsing keeps '+' as '+'.
 * A server reading an HTML form submitted by GET passes CIO_QUERY_FORM.
 */
#define CIO_QUERY_FORM 1u    /* '+' for space */
#define CIO_QUERY_LENIENT 2u /* parse: invalid escapes copied as they are */

/*
 * Writes the pairs of params (ended by a NULL name) as "a=1&b=2" and a NUL
 * into dst[0..cap). A NULL value writes the name alone ("flag"), "" writes
 * "name=". Returns the length without the NUL, or CIO_ETOOBIG if cap is
 * too small (dst untouched). dst == NULL with cap == 0 returns the length
 * needed. {{"page","2"},{"limit","10"},{NULL,NULL}} gives
 * "page=2&limit=10".
 */
CIO_API ptrdiff_t cio_query_encode(char *dst, size_t cap,
                                   const struct cio_kv *params, unsigned flags);

/*
 * Appends one pair to the query in dst[0..len) (preceded by '&' if len >
 * 0) and a NUL. name and value are byte strings (may contain NUL); a value
 * with ptr == NULL writes the name alone. Returns the new length, or
 * CIO_ETOOBIG if cap is too small (dst untouched). dst == NULL with cap ==
 * 0 returns the length needed.
 */
CIO_API ptrdiff_t cio_query_append(char *dst, size_t cap, size_t len,
                                   struct cio_str name, struct cio_str value,
                                   unsigned flags);

/* Parsed pairs; owns the decoded strings. */
typedef struct cio_params cio_params;

struct cio_query_opts {
    size_t max_pairs; /* more gives CIO_ETOOBIG; 0 = 1000 */
    size_t max_len;   /* input bytes; 0 = 64 KiB (forms: 1 MiB) */
    unsigned flags;   /* CIO_QUERY_FORM, CIO_QUERY_LENIENT */
};

/*
 * Parses the query s[0..len) (without the '?') into pairs, in order,
 * duplicates kept. Empty pieces ("a=1&&b") are skipped; "a" is name "a"
 * with value ""; the first '=' splits name and value. Raw bytes other than
 * '%', '+', '&' and '=' are taken as they are. opts may be NULL. Errors:
 * CIO_EURL (invalid escape, strict mode), CIO_ETOOBIG (limits), CIO_ENOMEM.
 */
CIO_API int cio_query_parse(cio_params **out, const char *s, size_t len,
                            const struct cio_query_opts *opts);

CIO_API size_t cio_params_count(const cio_params *p);
/* Decoded, NUL-terminated, borrowed from p; i < count. */
CIO_API struct cio_str cio_params_name(const cio_params *p, size_t i);
CIO_API struct cio_str cio_params_value(const cio_params *p, size_t i);
/* The value of the first pair called name, or NULL. */
CIO_API const char *cio_params_get(const cio_params *p, const char *name);
/* NULL is ok. */
CIO_API void cio_params_free(cio_params *p);

#endif
