/* SPDX-License-Identifier: MIT */
/*
 * Cookies: the Set-Cookie parser (RFC 6265bis §5.6), the cookie-date
 * algorithm (§5.1.1), the jar with the storage model (§5.7) and the Cookie
 * header (§5.8.3), and the Netscape cookie file.
 *
 * The jar is one list kept in the order the Cookie header needs (longest
 * path first, then creation order), so writing a header is one pass and
 * allocates nothing. Every other operation is also one or a few passes over
 * the list: with at most a few thousand cookies that is cheaper and simpler
 * than an index, and the jar's limits bound it.
 */
#include <inttypes.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <corio/http/cookie.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "base/list.h"
#include "http/cookie.h"
#include "http/token.h"

#define NV_MAX CIO__COOKIE_NV_MAX
#define AV_MAX CIO__COOKIE_AV_MAX
#define HOST_MAX CIO__COOKIE_HOST_MAX
#define LINE_MAX_ CIO__COOKIE_LINE_MAX
#define LOAD_MAX ((size_t)32 << 20)
#define MAX_AGE_CAP INT64_C(1000000000000000) /* saturation of Max-Age */

/* ------------------------------------------------------------- bytes */

/* RFC 6265bis §5.6 step 1: CTLs except HTAB. */
static bool is_bad_ctl(unsigned char c)
{
    return c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c == 0x7f;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive: does s equal the lowercase literal lit? */
static bool ieq(struct cio_str s, const char *lit)
{
    return cio__tok_ieq(s.ptr, s.len, lit, strlen(lit));
}

/* Case-insensitive: does s start with the lowercase literal lit? */
static bool iprefix(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && cio__tok_ieq(s, n, lit, n);
}

static bool str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static struct cio_str trim(const char *p, size_t n)
{
    while (n > 0 && is_wsp(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_wsp(p[n - 1]))
        n--;
    return (struct cio_str){p, n};
}

/* ------------------------------------------------------- cookie-date */

static bool is_date_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
           (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* Reads 1..max digits at t[*i]; returns the value or -1. */
static int read_digits(const char *t, size_t n, size_t *i, size_t min,
                       size_t max)
{
    size_t start = *i;
    int v = 0;
    while (*i < n && *i - start < max && is_digit(t[*i]))
        v = v * 10 + (t[(*i)++] - '0');
    if (*i - start < min)
        return -1;
    return v;
}

/* "[ non-digit *OCTET ]" after a number: the end, or a non-digit. */
static bool tail_ok(const char *t, size_t n, size_t i)
{
    return i == n || !is_digit(t[i]);
}

static bool date_time(const char *t, size_t n, int *h, int *m, int *s)
{
    size_t i = 0;
    int v[3];
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            if (i >= n || t[i] != ':')
                return false;
            i++;
        }
        v[k] = read_digits(t, n, &i, 1, 2);
        if (v[k] < 0)
            return false;
    }
    if (!tail_ok(t, n, i))
        return false;
    *h = v[0];
    *m = v[1];
    *s = v[2];
    return true;
}

static bool date_number(const char *t, size_t n, size_t min, size_t max,
                        int *out)
{
    size_t i = 0;
    int v = read_digits(t, n, &i, min, max);
    if (v < 0 || !tail_ok(t, n, i))
        return false;
    *out = v;
    return true;
}

static bool date_month(const char *t, size_t n, int *out)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 3)
        return false;
    for (int m = 0; m < 12; m++) {
        if (lower(t[0]) == names[3 * m] && lower(t[1]) == names[3 * m + 1] &&
            lower(t[2]) == names[3 * m + 2]) {
            *out = m + 1;
            return true;
        }
    }
    return false;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), for y >= 1. */
static int64_t days_from_epoch(int y, int m, int d)
{
    /* Counting years from March makes the leap day the last of the year. */
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = yy / 400; /* yy >= 0 here */
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int cio_cookie_date_parse(const char *buf, size_t len, int64_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    bool f_time = false, f_day = false, f_month = false, f_year = false;
    int hh = 0, mi = 0, ss = 0, day = 0, month = 0, year = 0;
    size_t i = 0;

    while (i < len) {
        while (i < len && is_date_delim((unsigned char)buf[i]))
            i++;
        size_t start = i;
        while (i < len && !is_date_delim((unsigned char)buf[i]))
            i++;
        if (i == start)
            break;
        const char *t = buf + start;
        size_t n = i - start;
        if (!f_time && date_time(t, n, &hh, &mi, &ss))
            f_time = true;
        else if (!f_day && date_number(t, n, 1, 2, &day))
            f_day = true;
        else if (!f_month && date_month(t, n, &month))
            f_month = true;
        else if (!f_year && date_number(t, n, 2, 4, &year))
            f_year = true;
    }
    if (!f_time || !f_day || !f_month || !f_year)
        return cio__err(CIO_EPROTO, "cookie date lacks a%s%s%s%s",
                        f_time ? "" : " time", f_day ? "" : " day",
                        f_month ? "" : " month", f_year ? "" : " year");
    if (year >= 70 && year <= 99)
        year += 1900;
    else if (year <= 69)
        year += 2000;
    if (year < 1601 || day < 1 || day > 31 || hh > 23 || mi > 59 || ss > 59)
        return cio__err(CIO_EPROTO, "cookie date out of range");
    if (day > mdays[month - 1] + (month == 2 && leap(year)))
        return cio__err(CIO_EPROTO, "cookie date %d-%02d-%02d does not exist",
                        year, month, day);
    *out = days_from_epoch(year, month, day) * 86400 + hh * 3600 + mi * 60 + ss;
    return 0;
}

/* -------------------------------------------------------- Set-Cookie */

static void parse_max_age(struct cio_set_cookie *c, struct cio_str v)
{
    size_t i = 0;
    bool neg = false;
    int64_t n = 0;

    /* RFC 6265bis §5.6.2: a DIGIT or '-' first, then only DIGITs. */
    if (v.len > 0 && v.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == v.len)
        return;
    for (; i < v.len; i++) {
        if (!is_digit(v.ptr[i]))
            return;
        if (n < MAX_AGE_CAP)
            n = n * 10 + (v.ptr[i] - '0');
    }
    if (n > MAX_AGE_CAP)
        n = MAX_AGE_CAP;
    c->max_age = neg ? -n : n;
    c->has_max_age = 1;
}

static void parse_av(struct cio_set_cookie *c, struct cio_str name,
                     struct cio_str v)
{
    int64_t t;

    if (ieq(name, "expires")) {
        if (cio_cookie_date_parse(v.ptr, v.len, &t) == 0) {
            c->expires = t;
            c->has_expires = 1;
        }
    } else if (ieq(name, "max-age")) {
        parse_max_age(c, v);
    } else if (ieq(name, "domain")) {
        /* §5.6.3: an empty value is ignored; a leading '.' is dropped. */
        if (v.len == 0)
            return;
        if (v.ptr[0] == '.') {
            v.ptr++;
            v.len--;
        }
        c->domain = v;
    } else if (ieq(name, "path")) {
        /* §5.6.4: a value not starting with '/' means the default path. */
        c->has_path = 1;
        if (v.len > 0 && v.ptr[0] == '/')
            c->path = v;
        else
            c->path = (struct cio_str){NULL, 0};
    } else if (ieq(name, "secure")) {
        c->secure = 1;
    } else if (ieq(name, "httponly")) {
        c->http_only = 1;
    } else if (ieq(name, "samesite")) {
        if (ieq(v, "none"))
            c->same_site = CIO_SAMESITE_NONE;
        else if (ieq(v, "strict"))
            c->same_site = CIO_SAMESITE_STRICT;
        else if (ieq(v, "lax"))
            c->same_site = CIO_SAMESITE_LAX;
        else
            c->same_site = CIO_SAMESITE_DEFAULT;
    }
    /* Partitioned (CHIPS) and unknown attributes are ignored. */
}

int cio_set_cookie_parse(const char *buf, size_t len,
                         struct cio_set_cookie *out)
{
    struct cio_set_cookie c = {0};
    const char *end = buf + len;

    for (size_t i = 0; i < len; i++)
        if (is_bad_ctl((unsigned char)buf[i]))
            return cio__err(CIO_EPROTO,
                            "Set-Cookie has control byte 0x%02x at %zu",
                            (unsigned char)buf[i], i);

    const char *semi = len > 0 ? memchr(buf, ';', len) : NULL;
    const char *nv_end = semi != NULL ? semi : end;
    size_t nv_len = (size_t)(nv_end - buf);
    const char *eq = nv_len > 0 ? memchr(buf, '=', nv_len) : NULL;
    if (eq == NULL) {
        c.name = (struct cio_str){buf, 0};
        c.value = trim(buf, nv_len);
    } else {
        c.name = trim(buf, (size_t)(eq - buf));
        c.value = trim(eq + 1, (size_t)(nv_end - eq - 1));
    }
    if (c.name.len + c.value.len > NV_MAX)
        return cio__err(CIO_ETOOBIG,
                        "Set-Cookie name and value are %zu bytes"
                        " (limit %d)",
                        c.name.len + c.value.len, NV_MAX);
    if (c.name.len == 0 && c.value.len == 0)
        return cio__err(CIO_EPROTO, "Set-Cookie has no name and no value");
    /* §5.6 step 7: a nameless cookie must not look like a prefixed one. */
    if (c.name.len == 0 && (iprefix(c.value.ptr, c.value.len, "__secure-") ||
                            iprefix(c.value.ptr, c.value.len, "__host-")))
        return cio__err(CIO_EPROTO, "nameless Set-Cookie with a prefix");

    const char *p = nv_end;
    while (p < end) {
        p++; /* the ';' */
        const char *av_end = memchr(p, ';', (size_t)(end - p));
        if (av_end == NULL)
            av_end = end;
        size_t n = (size_t)(av_end - p);
        const char *aeq = n > 0 ? memchr(p, '=', n) : NULL;
        struct cio_str an, av;
        if (aeq != NULL) {
            an = trim(p, (size_t)(aeq - p));
            av = trim(aeq + 1, (size_t)(av_end - aeq - 1));
        } else {
            an = trim(p, n);
            av = (struct cio_str){av_end, 0};
        }
        p = av_end;
        if (av.len > AV_MAX)
            continue; /* §5.6 step 5 */
        parse_av(&c, an, av);
    }
    *out = c;
    return 0;
}

/* ------------------------------------------------------ public suffix */

static const psl_ctx_t *psl_ctx;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_init(void)
{
    /* The newest of the system's list and the built-in one; kept for the
     * life of the process. */
    psl_ctx = psl_latest(NULL);
    if (psl_ctx == NULL)
        psl_ctx = psl_builtin();
}

static const psl_ctx_t *get_psl(void)
{
    pthread_once(&psl_once, psl_init);
    return psl_ctx;
}

/* d is canonical and NUL-terminated. Without a list, everything is a
 * public suffix: only host-only cookies are then possible. */
static bool is_public_suffix(const char *d)
{
    const psl_ctx_t *psl = get_psl();
    return psl == NULL || psl_is_public_suffix(psl, d) != 0;
}

/* ---------------------------------------------------- hosts and paths */

/* WHATWG URL "ends in a number": the last label is decimal or 0x-hex, so
 * the host is an IPv4 address in some spelling. */
static bool ends_in_number(const char *h, size_t n)
{
    size_t dot = n;
    while (dot > 0 && h[dot - 1] != '.')
        dot--;
    const char *l = h + dot;
    size_t ln = n - dot;
    if (ln == 0)
        return false;
    if (ln >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
        for (size_t i = 2; i < ln; i++)
            if (!is_digit(l[i]) &&
                !((lower(l[i]) >= 'a' && lower(l[i]) <= 'f')))
                return false;
        return true;
    }
    for (size_t i = 0; i < ln; i++)
        if (!is_digit(l[i]))
            return false;
    return true;
}

/*
 * Canonical host: brackets of an IPv6 literal dropped, lowercase, one
 * trailing dot dropped; names are LDH labels (plus '_', seen in the wild),
 * IPv6 literals hex digits, ':' and '.'. Writes out (NUL-terminated).
 */
static int canon_host(const char *p, size_t n, char out[HOST_MAX + 1],
                      size_t *outlen, bool *ip)
{
    bool v6;

    if (n >= 2 && p[0] == '[' && p[n - 1] == ']') {
        p++;
        n -= 2;
        if (memchr(p, ':', n) == NULL)
            return -1;
    }
    v6 = memchr(p, ':', n) != NULL;
    if (!v6 && n > 1 && p[n - 1] == '.')
        n--;
    if (n == 0 || n > HOST_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = lower(p[i]);
        bool ok;
        if (v6)
            ok = is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
        else if (c == '.')
            ok = i > 0 && i + 1 < n && p[i + 1] != '.';
        else
            ok = is_digit(c) || (c >= 'a' && c <= 'z') || c == '-' || c == '_';
        if (!ok)
            return -1;
        out[i] = c;
    }
    out[n] = '\0';
    *outlen = n;
    *ip = v6 || ends_in_number(out, n);
    return 0;
}

/* RFC 6265bis §5.1.3: does string s (an IP if s_ip) domain-match d? */
static bool domain_match(const char *s, size_t sn, bool s_ip, const char *d,
                         size_t dn)
{
    if (str_eq(s, sn, d, dn))
        return true;
    return !s_ip && dn > 0 && sn > dn && memcmp(s + sn - dn, d, dn) == 0 &&
           s[sn - dn - 1] == '.';
}

/* RFC 6265bis §5.1.4: does request path r path-match cookie path c? */
static bool path_match(const char *r, size_t rn, const char *c, size_t cn)
{
    if (str_eq(r, rn, c, cn))
        return true;
    return cn < rn && memcmp(r, c, cn) == 0 &&
           (c[cn - 1] == '/' || r[cn] == '/');
}

struct creq {
    char host[HOST_MAX + 1]; /* canonical */
    size_t host_len;
    bool host_ip;
    struct cio_str path; /* cut at '?'/'#'; "/" if empty or relative */
    bool secure;
    enum cio_cookie_site site;
    bool non_http;
};

static int canon_req(const struct cio_cookie_req *r, struct creq *c)
{
    if (r->host.ptr == NULL || canon_host(r->host.ptr, r->host.len, c->host,
                                          &c->host_len, &c->host_ip) < 0)
        return cio__err(CIO_EINVAL, "cookie request host \"%.*s\" is not valid",
                        (int)(r->host.len < 64 ? r->host.len : 64),
                        r->host.ptr != NULL ? r->host.ptr : "");
    size_t n = 0;
    if (r->path.ptr != NULL)
        while (n < r->path.len && r->path.ptr[n] != '?' &&
               r->path.ptr[n] != '#')
            n++;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)r->path.ptr[i] < 0x20 || r->path.ptr[i] == 0x7f)
            return cio__err(CIO_EINVAL, "cookie request path has a control "
                                        "byte");
    if (n == 0 || r->path.ptr[0] != '/')
        c->path = CIO_STR_LIT("/");
    else
        c->path = (struct cio_str){r->path.ptr, n};
    c->secure = r->scheme.ptr != NULL &&
                (ieq(r->scheme, "https") || ieq(r->scheme, "wss"));
    c->site = r->site;
    c->non_http = r->non_http;
    return 0;
}

/* RFC 6265bis §5.1.4 default-path. */
static struct cio_str default_path(struct cio_str p)
{
    size_t last = 0;
    for (size_t i = 0; i < p.len; i++)
        if (p.ptr[i] == '/')
            last = i;
    if (last == 0)
        return CIO_STR_LIT("/");
    return (struct cio_str){p.ptr, last};
}

/* ---------------------------------------------------------------- jar */

struct jcookie {
    struct cio__list node; /* in jar->cookies: path_len descending, then
                             * seq ascending (the Cookie header order) */
    int64_t expiry;        /* Unix seconds; INT64_MAX if !persistent */
    uint64_t seq;          /* creation order; kept when replaced */
    uint64_t used;         /* jar->tick at the last store or send (LRU) */
    char *name, *value, *domain, *path; /* NUL-terminated, in data[] */
    uint16_t name_len, value_len, domain_len, path_len;
    uint16_t site_off; /* domain + site_off = the registrable domain */
    unsigned persistent : 1;
    unsigned host_only : 1;
    unsigned ip : 1; /* domain is an IP address (host_only too) */
    unsigned secure : 1;
    unsigned http_only : 1;
    unsigned same_site : 2; /* enum cio_same_site */
    char data[];
};

struct cio_cookie_jar {
    struct cio__list cookies;     /* of struct jcookie */
    struct cio_cookie_jar_opts o; /* defaults filled in */
    size_t count;                 /* cookies on the list */
    size_t bytes;                 /* sum of cookie_bytes() on the list */
    uint64_t seq, tick;           /* counters for jcookie seq and used */
};

/* A cookie being added, before it is copied into the jar. */
struct proto {
    struct cio_str name, value, path;
    const char *domain; /* canonical, NUL-terminated */
    size_t domain_len;
    int64_t expiry;
    bool persistent, host_only, ip, secure, http_only;
    enum cio_same_site same_site;
};

#define JC(n) CIO_CONTAINER_OF(n, struct jcookie, node)

static size_t cookie_bytes(const struct jcookie *k)
{
    return (size_t)k->name_len + k->value_len + k->domain_len + k->path_len;
}

static bool expired(const struct jcookie *k, int64_t now)
{
    return k->persistent && k->expiry <= now;
}

static struct cio_str site_of(const struct jcookie *k)
{
    return (struct cio_str){k->domain + k->site_off,
                            (size_t)(k->domain_len - k->site_off)};
}

static void drop(cio_cookie_jar *jar, struct jcookie *k)
{
    cio__list_remove(&k->node);
    jar->count--;
    jar->bytes -= cookie_bytes(k);
    cio__free(k);
}

static void drop_expired(cio_cookie_jar *jar, int64_t now)
{
    for (struct cio__list *n = jar->cookies.next, *next; n != &jar->cookies;
         n = next) {
        next = n->next;
        if (expired(JC(n), now))
            drop(jar, JC(n));
    }
}

int cio_cookie_jar_new(cio_cookie_jar **out,
                       const struct cio_cookie_jar_opts *opts)
{
    cio_cookie_jar *jar = cio__calloc(1, sizeof(*jar));
    if (jar == NULL)
        return CIO_ENOMEM;
    if (opts != NULL)
        jar->o = *opts;
    if (jar->o.max_cookies == 0)
        jar->o.max_cookies = 3000;
    if (jar->o.max_per_site == 0)
        jar->o.max_per_site = 50;
    if (jar->o.max_bytes == 0)
        jar->o.max_bytes = (uint32_t)2 << 20;
    if (jar->o.max_header_bytes == 0)
        jar->o.max_header_bytes = 8192;
    if (jar->o.max_age_s == 0)
        jar->o.max_age_s = 400 * 86400;
    cio__list_init(&jar->cookies);
    (void)get_psl(); /* load it now, not on a first cookie */
    *out = jar;
    return 0;
}

void cio_cookie_jar_free(cio_cookie_jar *jar)
{
    if (jar == NULL)
        return;
    while (!cio__list_empty(&jar->cookies))
        drop(jar, JC(jar->cookies.next));
    cio__free(jar);
}

size_t cio_cookie_jar_count(cio_cookie_jar *jar, int64_t now)
{
    drop_expired(jar, now);
    return jar->count;
}

void cio_cookie_jar_clear_session(cio_cookie_jar *jar)
{
    for (struct cio__list *n = jar->cookies.next, *next; n != &jar->cookies;
         n = next) {
        next = n->next;
        if (!JC(n)->persistent)
            drop(jar, JC(n));
    }
}

/* The least recently used cookie, of the given site only if site.ptr. */
static struct jcookie *lru(cio_cookie_jar *jar, struct cio_str site)
{
    struct jcookie *best = NULL;
    cio__list_each(n, &jar->cookies)
    {
        struct jcookie *k = JC(n);
        if (site.ptr != NULL) {
            struct cio_str s = site_of(k);
            if (!str_eq(s.ptr, s.len, site.ptr, site.len))
                continue;
        }
        if (best == NULL || k->used < best->used)
            best = k;
    }
    return best;
}

/* RFC 6265bis §5.7.3 eviction, after nc was added (expired cookies are
 * already gone). nc is the most recently used, so it is evicted last; the
 * per-cookie size check in put() guarantees it is never evicted. */
static void enforce_limits(cio_cookie_jar *jar, struct jcookie *nc)
{
    struct cio_str site = site_of(nc);
    size_t nsite = 0;

    cio__list_each(n, &jar->cookies)
    {
        struct cio_str s = site_of(JC(n));
        nsite += str_eq(s.ptr, s.len, site.ptr, site.len);
    }
    for (; nsite > jar->o.max_per_site; nsite--)
        drop(jar, lru(jar, site));
    while (jar->count > jar->o.max_cookies || jar->bytes > jar->o.max_bytes)
        drop(jar, lru(jar, (struct cio_str){NULL, 0}));
}

/* The registrable domain of the canonical domain d, as an offset in d. */
static uint16_t site_offset(const char *d, size_t dn, bool ip)
{
    const psl_ctx_t *psl = get_psl();
    const char *r;

    if (ip || psl == NULL)
        return 0;
    r = psl_registrable_domain(psl, d);
    if (r == NULL || r < d || r >= d + dn)
        return 0;
    return (uint16_t)(r - d);
}

static bool same_key(const struct jcookie *k, const struct proto *pc)
{
    return k->host_only == pc->host_only &&
           str_eq(k->name, k->name_len, pc->name.ptr, pc->name.len) &&
           str_eq(k->domain, k->domain_len, pc->domain, pc->domain_len) &&
           str_eq(k->path, k->path_len, pc->path.ptr, pc->path.len);
}

/*
 * Adds or replaces pc (RFC 6265bis §5.7 steps 16 and 22-23), then enforces
 * the limits. insecure_req: the request was not secure (the "leave secure
 * cookies alone" rule applies). Returns 0 if added, 1 if pc was already
 * expired (it only deleted its namesake), CIO_EPERM or CIO_ETOOBIG if
 * refused, CIO_ENOMEM.
 */
static int put(cio_cookie_jar *jar, const struct proto *pc, bool insecure_req,
               bool non_http, int64_t now)
{
    struct jcookie *old = NULL, *nc;
    size_t size = pc->name.len + pc->value.len + pc->domain_len + pc->path.len;

    if (size > jar->o.max_bytes)
        return cio__err(CIO_ETOOBIG,
                        "cookie of %zu bytes exceeds the jar's "
                        "%" PRIu32,
                        size, jar->o.max_bytes);
    for (struct cio__list *n = jar->cookies.next, *next; n != &jar->cookies;
         n = next) {
        struct jcookie *k = JC(n);
        next = n->next;
        if (expired(k, now)) {
            drop(jar, k);
            continue;
        }
        if (insecure_req && !pc->secure && k->secure &&
            str_eq(k->name, k->name_len, pc->name.ptr, pc->name.len) &&
            (domain_match(k->domain, k->domain_len, k->ip, pc->domain,
                          pc->domain_len) ||
             domain_match(pc->domain, pc->domain_len, pc->ip, k->domain,
                          k->domain_len)) &&
            path_match(pc->path.ptr, pc->path.len, k->path, k->path_len))
            return cio__err(CIO_EPERM,
                            "insecure cookie \"%.*s\" would shadow"
                            " a Secure one",
                            (int)k->name_len, k->name);
        if (same_key(k, pc))
            old = k;
    }
    if (old != NULL && non_http && old->http_only)
        return cio__err(CIO_EPERM,
                        "non-HTTP API cannot replace HttpOnly "
                        "cookie \"%.*s\"",
                        (int)old->name_len, old->name);
    if (pc->persistent && pc->expiry <= now) {
        if (old != NULL)
            drop(jar, old);
        return 1;
    }

    nc = cio__malloc(sizeof(*nc) + pc->name.len + pc->value.len +
                     pc->domain_len + pc->path.len + 4);
    if (nc == NULL)
        return CIO_ENOMEM;
    char *d = nc->data;
    struct {
        char **dst;
        uint16_t *len;
        const char *src;
        size_t n;
    } f[4] = {
        {&nc->name, &nc->name_len, pc->name.ptr, pc->name.len},
        {&nc->value, &nc->value_len, pc->value.ptr, pc->value.len},
        {&nc->domain, &nc->domain_len, pc->domain, pc->domain_len},
        {&nc->path, &nc->path_len, pc->path.ptr, pc->path.len},
    };
    for (int i = 0; i < 4; i++) {
        *f[i].dst = d;
        *f[i].len = (uint16_t)f[i].n;
        if (f[i].n > 0)
            memcpy(d, f[i].src, f[i].n);
        d[f[i].n] = '\0';
        d += f[i].n + 1;
    }
    nc->expiry = pc->persistent ? pc->expiry : INT64_MAX;
    nc->persistent = pc->persistent;
    nc->host_only = pc->host_only;
    nc->ip = pc->ip;
    nc->secure = pc->secure;
    nc->http_only = pc->http_only;
    nc->same_site = (unsigned)pc->same_site & 3u;
    nc->site_off = site_offset(nc->domain, nc->domain_len, nc->ip);
    nc->used = ++jar->tick;

    if (old != NULL) {
        /* §5.7 step 22: the new cookie keeps the old one's creation time,
         * so it also keeps its place in the order. */
        nc->seq = old->seq;
        cio__list_push_back(&old->node, &nc->node); /* before old */
        drop(jar, old);
    } else {
        struct cio__list *at = &jar->cookies;
        nc->seq = jar->seq++;
        cio__list_each(n, &jar->cookies)
        {
            if (JC(n)->path_len < nc->path_len) {
                at = n;
                break;
            }
        }
        cio__list_push_back(at, &nc->node);
    }
    jar->count++;
    jar->bytes += size;
    enforce_limits(jar, nc);
    return 0;
}

static bool has_byte(struct cio_str s, char c)
{
    return s.len > 0 && memchr(s.ptr, c, s.len) != NULL;
}

/* Rules shared by Set-Cookie and the cookie file (§5.7 steps 19-21). */
static int check_rules(const struct proto *pc, bool has_root_path_attr)
{
    if (has_byte(pc->name, '\t') || has_byte(pc->value, '\t') ||
        has_byte(pc->path, '\t'))
        return cio__err(CIO_EPROTO, "cookie \"%.*s\" contains a tab",
                        (int)(pc->name.len < 64 ? pc->name.len : 64),
                        pc->name.ptr);
    if (pc->same_site == CIO_SAMESITE_NONE && !pc->secure)
        return cio__err(CIO_EPERM, "SameSite=None cookie without Secure");
    if (iprefix(pc->name.ptr, pc->name.len, "__secure-") && !pc->secure)
        return cio__err(CIO_EPERM, "__Secure- cookie without Secure");
    if (iprefix(pc->name.ptr, pc->name.len, "__host-") &&
        (!pc->secure || !pc->host_only || !has_root_path_attr))
        return cio__err(CIO_EPERM, "__Host- cookie needs Secure, no Domain "
                                   "and Path=/");
    return 0;
}

/* now + delta (delta >= 0), saturating instead of overflowing. */
static int64_t add_sat(int64_t now, int64_t delta)
{
    return now > INT64_MAX - delta ? INT64_MAX : now + delta;
}

static int64_t cap_expiry(const cio_cookie_jar *jar, int64_t t, int64_t now)
{
    int64_t limit = add_sat(now, (int64_t)jar->o.max_age_s);
    return t > limit ? limit : t;
}

int cio_cookie_jar_store(cio_cookie_jar *jar, const char *buf, size_t len,
                         const struct cio_cookie_req *req, int64_t now)
{
    struct cio_set_cookie sc;
    struct creq r;
    struct proto pc = {0};
    char dom[HOST_MAX + 1];
    int rc;

    rc = cio_set_cookie_parse(buf, len, &sc);
    if (rc < 0)
        return rc;
    rc = canon_req(req, &r);
    if (rc < 0)
        return rc;
    pc.name = sc.name;
    pc.value = sc.value;

    /* Expiry (§5.7 step 6): Max-Age wins over Expires. */
    if (sc.has_max_age) {
        pc.persistent = true;
        int64_t d = sc.max_age < (int64_t)jar->o.max_age_s
                        ? sc.max_age
                        : (int64_t)jar->o.max_age_s;
        pc.expiry = d <= 0 ? INT64_MIN : add_sat(now, d);
    } else if (sc.has_expires) {
        pc.persistent = true;
        pc.expiry = cap_expiry(jar, sc.expires, now);
    }

    /* Domain (§5.7 steps 7-10). */
    size_t dn = 0;
    if (sc.domain.ptr != NULL) {
        dn = sc.domain.len;
        for (size_t i = 0; i < dn; i++)
            if ((unsigned char)sc.domain.ptr[i] >= 0x80)
                return cio__err(CIO_EPERM, "Domain is not ASCII");
        if (dn > 1 && sc.domain.ptr[dn - 1] == '.')
            dn--; /* as canon_host() does for hosts */
        if (dn == 1 && sc.domain.ptr[0] == '.')
            dn = 0;
        if (dn > HOST_MAX)
            return cio__err(CIO_EPERM, "Domain does not match the host");
        for (size_t i = 0; i < dn; i++)
            dom[i] = lower(sc.domain.ptr[i]);
        dom[dn] = '\0';
    }
    if (dn > 0) {
        if (!domain_match(r.host, r.host_len, r.host_ip, dom, dn))
            return cio__err(CIO_EPERM,
                            "Domain \"%s\" does not match host "
                            "\"%s\"",
                            dom, r.host);
        if (str_eq(dom, dn, r.host, r.host_len) &&
            (r.host_ip || is_public_suffix(dom))) {
            pc.host_only = true; /* step 9; IP hosts: host-only */
        } else if (is_public_suffix(dom)) {
            return cio__err(CIO_EPERM, "Domain \"%s\" is a public suffix", dom);
        } else {
            pc.host_only = false;
        }
    } else {
        pc.host_only = true;
    }
    pc.domain = r.host;
    pc.domain_len = r.host_len;
    if (!pc.host_only) {
        pc.domain = dom;
        pc.domain_len = dn;
    }
    pc.ip = r.host_ip;

    /* Path (§5.7 step 11). */
    pc.path = sc.path.ptr != NULL ? sc.path : default_path(r.path);
    if (pc.path.len > AV_MAX)
        return cio__err(CIO_ETOOBIG, "cookie default path is %zu bytes",
                        pc.path.len);

    pc.secure = sc.secure;
    if (pc.secure && !r.secure)
        return cio__err(CIO_EPERM, "Secure cookie from an insecure scheme");
    pc.http_only = sc.http_only;
    if (pc.http_only && r.non_http)
        return cio__err(CIO_EPERM, "HttpOnly cookie from a non-HTTP API");
    pc.same_site = sc.same_site;
    /* §5.7 step 18, for a client: only SameSite=None cookies may be set by
     * a cross-site request that is not a top-level navigation. */
    if (pc.same_site != CIO_SAMESITE_NONE && r.site == CIO_COOKIE_CROSS_SITE)
        return cio__err(CIO_EPERM, "SameSite cookie from a cross-site request");
    rc = check_rules(&pc,
                     sc.has_path && str_eq(pc.path.ptr, pc.path.len, "/", 1));
    if (rc < 0)
        return rc;
    rc = put(jar, &pc, !r.secure, r.non_http, now);
    return rc < 0 ? rc : 0;
}

ptrdiff_t cio_cookie_jar_header(cio_cookie_jar *jar,
                                const struct cio_cookie_req *req, int64_t now,
                                char *buf, size_t cap)
{
    struct creq r;
    size_t limit, pos = 0;
    int rc;

    rc = canon_req(req, &r);
    if (rc < 0)
        return rc;
    limit = cap > 0 ? cap - 1 : 0;
    if (limit > jar->o.max_header_bytes)
        limit = jar->o.max_header_bytes;

    for (struct cio__list *n = jar->cookies.next, *next; n != &jar->cookies;
         n = next) {
        struct jcookie *k = JC(n);
        next = n->next;
        if (expired(k, now)) {
            drop(jar, k);
            continue;
        }
        if (k->host_only ? !str_eq(r.host, r.host_len, k->domain, k->domain_len)
                         : !domain_match(r.host, r.host_len, r.host_ip,
                                         k->domain, k->domain_len))
            continue;
        if (!path_match(r.path.ptr, r.path.len, k->path, k->path_len))
            continue;
        if ((k->secure && !r.secure) || (k->http_only && r.non_http))
            continue;
        if (r.site == CIO_COOKIE_CROSS_SITE &&
            k->same_site != CIO_SAMESITE_NONE)
            continue;
        if (r.site == CIO_COOKIE_CROSS_SITE_NAV &&
            k->same_site == CIO_SAMESITE_STRICT)
            continue;
        size_t need = (pos > 0 ? 2 : 0) +
                      (k->name_len > 0 ? k->name_len + 1u : 0) + k->value_len;
        if (need > limit - pos)
            continue; /* RELIABILITY 34: cap the header */
        if (pos > 0) {
            memcpy(buf + pos, "; ", 2);
            pos += 2;
        }
        if (k->name_len > 0) {
            memcpy(buf + pos, k->name, k->name_len);
            pos += k->name_len;
            buf[pos++] = '=';
        }
        memcpy(buf + pos, k->value, k->value_len);
        pos += k->value_len;
        k->used = ++jar->tick;
    }
    if (cap > 0)
        buf[pos] = '\0';
    return (ptrdiff_t)pos;
}

/* ------------------------------------------------------- cookie file */

static const char file_head[] =
    "# Netscape HTTP Cookie File\n"
    "# Written by corio; curl and wget read this format.\n"
    "\n";

/* Appends s to buf if it fits; always counts. */
static void emit(char *buf, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (buf != NULL && *pos + n < cap)
        memcpy(buf + *pos, s, n);
    *pos += n;
}

/* Writes the file into buf if it is not NULL (cap is then large enough);
 * returns its length. */
static size_t save_pass(cio_cookie_jar *jar, char *buf, size_t cap)
{
    size_t pos = 0;
    char num[24];

    emit(buf, cap, &pos, file_head, sizeof(file_head) - 1);
    cio__list_each(n, &jar->cookies)
    {
        const struct jcookie *k = JC(n);
        /* A persistent cookie's expiry is never 0, which means "session". */
        int64_t e = !k->persistent ? 0 : k->expiry < 1 ? 1 : k->expiry;
        int nn = snprintf(num, sizeof(num), "%" PRId64, e);

        if (k->http_only)
            emit(buf, cap, &pos, "#HttpOnly_", 10);
        if (!k->host_only)
            emit(buf, cap, &pos, ".", 1);
        emit(buf, cap, &pos, k->domain, k->domain_len);
        emit(buf, cap, &pos, k->host_only ? "\tFALSE\t" : "\tTRUE\t",
             k->host_only ? 7 : 6);
        emit(buf, cap, &pos, k->path, k->path_len);
        emit(buf, cap, &pos, k->secure ? "\tTRUE\t" : "\tFALSE\t",
             k->secure ? 6 : 7);
        emit(buf, cap, &pos, num, (size_t)nn);
        emit(buf, cap, &pos, "\t", 1);
        emit(buf, cap, &pos, k->name, k->name_len);
        emit(buf, cap, &pos, "\t", 1);
        emit(buf, cap, &pos, k->value, k->value_len);
        emit(buf, cap, &pos, "\n", 1);
    }
    return pos;
}

ptrdiff_t cio_cookie_jar_save(cio_cookie_jar *jar, int64_t now, char *buf,
                              size_t cap)
{
    drop_expired(jar, now);
    size_t need = save_pass(jar, NULL, 0);
    if (buf == NULL)
        return (ptrdiff_t)need;
    if (need >= cap)
        return cio__err(CIO_ETOOBIG, "cookie file needs %zu bytes", need + 1);
    save_pass(jar, buf, cap);
    buf[need] = '\0';
    return (ptrdiff_t)need;
}

static int parse_bool(struct cio_str s, bool *out)
{
    if (ieq(s, "true"))
        *out = true;
    else if (ieq(s, "false"))
        *out = false;
    else
        return -1;
    return 0;
}

/*
 * One cookie line (without "#HttpOnly_" and the line end). Returns 0 if
 * the cookie was added, 1 if it had expired, CIO_ENOMEM, or another
 * negative code if the line is bad.
 */
static int load_line(cio_cookie_jar *jar, const char *p, size_t n,
                     bool http_only, int64_t now)
{
    struct cio_str f[7];
    struct proto pc = {0};
    char dom[HOST_MAX + 1];
    size_t nf = 0, start = 0, dn;
    bool sub, ip;
    int rc;

    for (size_t i = 0; i < n; i++)
        if (is_bad_ctl((unsigned char)p[i]))
            return CIO_EPROTO;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != '\t')
            continue;
        if (nf == 7)
            return CIO_EPROTO;
        f[nf++] = (struct cio_str){p + start, i - start};
        start = i + 1;
    }
    if (nf != 7)
        return CIO_EPROTO;

    struct cio_str d = f[0];
    if (d.len > 0 && d.ptr[0] == '.') {
        d.ptr++;
        d.len--;
    }
    if (canon_host(d.ptr, d.len, dom, &dn, &ip) < 0 ||
        parse_bool(f[1], &sub) < 0 || parse_bool(f[3], &pc.secure) < 0)
        return CIO_EPROTO;
    /* A domain cookie on an IP address matches only that address: it is
     * host-only. On a public suffix it cannot come from a Set-Cookie. */
    pc.host_only = !sub || ip;
    if (!pc.host_only && is_public_suffix(dom))
        return CIO_EPERM;
    pc.domain = dom;
    pc.domain_len = dn;
    pc.ip = ip;

    pc.path = f[2];
    if (pc.path.len == 0 || pc.path.ptr[0] != '/' || pc.path.len > AV_MAX)
        return CIO_EPROTO;

    if (f[4].len == 0 || f[4].len > 20)
        return CIO_EPROTO;
    int64_t e = 0;
    for (size_t i = 0; i < f[4].len; i++) {
        if (!is_digit(f[4].ptr[i]))
            return CIO_EPROTO;
        if (e <= (INT64_MAX - 9) / 10)
            e = e * 10 + (f[4].ptr[i] - '0');
        else
            e = INT64_MAX;
    }
    pc.persistent = e != 0;
    pc.expiry = pc.persistent ? cap_expiry(jar, e, now) : 0;

    /* Name and value as cio_set_cookie_parse would have produced them, so
     * that a loaded cookie is one that a Set-Cookie could have set. */
    pc.name = f[5];
    pc.value = f[6];
    if (trim(pc.name.ptr, pc.name.len).len != pc.name.len ||
        trim(pc.value.ptr, pc.value.len).len != pc.value.len ||
        has_byte(pc.name, '=') || has_byte(pc.name, ';') ||
        has_byte(pc.value, ';') || pc.name.len + pc.value.len > NV_MAX ||
        (pc.name.len == 0 && pc.value.len == 0))
        return CIO_EPROTO;
    if (pc.name.len == 0 && (iprefix(pc.value.ptr, pc.value.len, "__secure-") ||
                             iprefix(pc.value.ptr, pc.value.len, "__host-")))
        return CIO_EPROTO;
    pc.http_only = http_only;
    pc.same_site = CIO_SAMESITE_DEFAULT;
    rc = check_rules(&pc, str_eq(pc.path.ptr, pc.path.len, "/", 1));
    if (rc < 0)
        return rc;
    return put(jar, &pc, false, false, now);
}

int cio_cookie_jar_load(cio_cookie_jar *jar, const char *buf, size_t len,
                        int64_t now, struct cio_cookie_load_stats *stats)
{
    struct cio_cookie_load_stats st = {0};
    const char *p = buf, *end = buf + len;
    size_t lineno = 0;
    int rc = 0;

    if (len > LOAD_MAX)
        return cio__err(CIO_ETOOBIG, "cookie file of %zu bytes", len);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        size_t n = (size_t)(le - p);
        const char *line = p;
        bool http_only = false;

        p = nl != NULL ? nl + 1 : end;
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > LINE_MAX_) {
            rc = CIO_ETOOBIG;
        } else if (n == 0) {
            continue;
        } else {
            if (n > 10 && memcmp(line, "#HttpOnly_", 10) == 0) {
                http_only = true;
                line += 10;
                n -= 10;
            } else if (line[0] == '#') {
                continue;
            }
            rc = load_line(jar, line, n, http_only, now);
        }
        if (rc == CIO_ENOMEM)
            break;
        if (rc == 0) {
            st.loaded++;
        } else if (rc == 1) {
            st.expired++;
        } else {
            st.bad++;
            if (st.first_bad_line == 0)
                st.first_bad_line = lineno;
        }
    }
    if (rc == CIO_ENOMEM)
        return rc;
    if (stats != NULL)
        *stats = st;
    return 0;
}

/* ------------------------------------------------------- invariants */

int cio__cookie_jar_check(cio_cookie_jar *jar)
{
    size_t count = 0, bytes = 0;
    const struct jcookie *prev = NULL;

    cio__list_each(n, &jar->cookies)
    {
        const struct jcookie *k = JC(n);
        struct proto pc = {
            .name = {k->name, k->name_len},
            .value = {k->value, k->value_len},
            .path = {k->path, k->path_len},
            .domain = k->domain,
            .domain_len = k->domain_len,
            .secure = k->secure,
            .host_only = k->host_only,
            .same_site = (enum cio_same_site)k->same_site,
        };
        size_t nsite = 0;
        struct cio_str site = site_of(k);

        count++;
        bytes += cookie_bytes(k);
        if (prev != NULL &&
            (prev->path_len < k->path_len ||
             (prev->path_len == k->path_len && prev->seq >= k->seq)))
            return cio__err(CIO_EPROTO, "cookie list out of order");
        prev = k;
        for (uint16_t i = 0; i < k->name_len; i++)
            if (is_bad_ctl((unsigned char)k->name[i]))
                return cio__err(CIO_EPROTO, "control byte in a name");
        for (uint16_t i = 0; i < k->value_len; i++)
            if (is_bad_ctl((unsigned char)k->value[i]))
                return cio__err(CIO_EPROTO, "control byte in a value");
        if (k->name_len + k->value_len > NV_MAX ||
            (k->name_len == 0 && k->value_len == 0) || k->path_len == 0 ||
            k->path[0] != '/' || k->path_len > AV_MAX || k->domain_len == 0 ||
            k->domain_len > HOST_MAX)
            return cio__err(CIO_EPROTO, "cookie field sizes");
        if (check_rules(&pc, str_eq(k->path, k->path_len, "/", 1)) < 0)
            return CIO_EPROTO; /* message set by check_rules */
        if (k->ip && !k->host_only)
            return cio__err(CIO_EPROTO, "domain cookie on an IP address");
        if (!k->host_only && is_public_suffix(k->domain))
            return cio__err(CIO_EPROTO, "domain cookie on a public suffix");
        cio__list_each(m, &jar->cookies)
        {
            const struct jcookie *o = JC(m);
            struct cio_str s = site_of(o);
            nsite += str_eq(s.ptr, s.len, site.ptr, site.len);
            if (o != k && o->host_only == k->host_only &&
                str_eq(o->name, o->name_len, k->name, k->name_len) &&
                str_eq(o->domain, o->domain_len, k->domain, k->domain_len) &&
                str_eq(o->path, o->path_len, k->path, k->path_len))
                return cio__err(CIO_EPROTO, "duplicate cookie key");
        }
        if (nsite > jar->o.max_per_site)
            return cio__err(CIO_EPROTO, "%zu cookies for site %.*s", nsite,
                            (int)site.len, site.ptr);
    }
    if (count != jar->count || bytes != jar->bytes)
        return cio__err(CIO_EPROTO, "jar counters wrong");
    if (count > jar->o.max_cookies || bytes > jar->o.max_bytes)
        return cio__err(CIO_EPROTO, "jar over its limits");
    return 0;
}
