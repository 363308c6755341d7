/* SPDX-License-Identifier: MIT */
/*
 * httpbin-like endpoints (see httpbin.h). Every handler answers from the
 * request alone, so any number of workers may serve them; the only shared
 * state is the optional arrivals record behind its mutex.
 */
#include "httpbin.h"

#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <zlib.h>

#define MAX_DELAY_S 10.0
#define MAX_BYTES (10u * 1024 * 1024)
#define MAX_STREAM 100
#define MAX_REDIRECTS 100
#define MAX_SSE 1000
#define MAX_PAGE 1000000

double httpbin_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- request views */

static json_t *headers_obj(cio_req *req)
{
    const cio_headers *h = cio_req_headers(req);
    json_t *o = json_object();
    struct cio_field f;

    for (size_t i = 0; cio_headers_at(h, i, &f) == 0; i++) {
        json_t *old = json_object_get(o, f.name.ptr);
        if (old != NULL) {
            /* Repeated fields read as one comma-joined list (RFC 9110 §5.3). */
            char *j = NULL;
            if (asprintf(&j, "%s, %s", json_string_value(old), f.value.ptr) >=
                0) {
                json_object_set_new(o, f.name.ptr, json_string(j));
                free(j);
            }
        } else {
            json_t *v = json_stringn(f.value.ptr, f.value.len);
            json_object_set_new(o, f.name.ptr,
                                v != NULL ? v : json_string("?"));
        }
    }
    return o;
}

/* Adds name=value to o; a repeated name becomes an array (as httpbin). */
static void multi_add(json_t *o, const char *name, size_t nlen, const char *val,
                      size_t vlen)
{
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(nlen < 255 ? nlen : 255), name);
    json_t *v = json_stringn(val, vlen);
    if (v == NULL)
        v = json_string("?");
    json_t *old = json_object_get(o, key);
    if (old == NULL) {
        json_object_set_new(o, key, v);
    } else if (json_is_array(old)) {
        json_array_append_new(old, v);
    } else {
        json_t *a = json_array();
        json_array_append(a, old);
        json_array_append_new(a, v);
        json_object_set_new(o, key, a);
    }
}

static json_t *params_obj(const cio_params *p)
{
    json_t *o = json_object();
    for (size_t i = 0; p != NULL && i < cio_params_count(p); i++) {
        struct cio_str n = cio_params_name(p, i), v = cio_params_value(p, i);
        multi_add(o, n.ptr, n.len, v.ptr != NULL ? v.ptr : "", v.len);
    }
    return o;
}

static json_t *args_obj(cio_req *req)
{
    const cio_params *p = NULL;
    if (cio_req_query_params(req, &p) < 0)
        p = NULL;
    return params_obj(p);
}

/* The client's address without the port: "127.0.0.1", "::1". */
static json_t *origin_str(const cio_req *req)
{
    const char *peer = cio_req_peer(req);
    if (peer == NULL)
        return json_string("");
    if (peer[0] == '[') {
        const char *e = strchr(peer, ']');
        return json_stringn(peer + 1, e != NULL ? (size_t)(e - peer - 1)
                                                : strlen(peer + 1));
    }
    const char *c = strrchr(peer, ':');
    return json_stringn(peer, c != NULL ? (size_t)(c - peer) : strlen(peer));
}

static json_t *url_str(const cio_req *req)
{
    const char *host = cio_req_header(req, "Host");
    char *u = NULL;
    if (asprintf(&u, "%s://%s%s", cio_req_secure(req) ? "https" : "http",
                 host != NULL ? host : "localhost", cio_req_raw_path(req)) < 0)
        return json_string("");
    json_t *v = json_string(u);
    free(u);
    return v != NULL ? v : json_string("");
}

/* A request's text as a JSON string; "?" when it is not UTF-8 (header
 * values may carry obs-text), NULL for NULL (json_pack's "o?"). */
static json_t *text(const char *s)
{
    if (s == NULL)
        return NULL;
    json_t *v = json_string(s);
    return v != NULL ? v : json_string("?");
}

/* {"args", "headers", "origin", "url"}: httpbin's /get. */
static json_t *get_info(cio_req *req)
{
    json_t *o = json_object();
    json_object_set_new(o, "args", args_obj(req));
    json_object_set_new(o, "headers", headers_obj(req));
    json_object_set_new(o, "origin", origin_str(req));
    json_object_set_new(o, "url", url_str(req));
    return o;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64_encode(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 |
                     (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Decodes standard base64 into out (cap bytes, NUL-terminated); -1 if bad. */
static ptrdiff_t base64_decode(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s != '\0' && *s != '='; s++) {
        const char *c = strchr(b64, *s);
        if (c == NULL || *s == '\0')
            return -1;
        acc = acc << 6 | (unsigned)(c - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)(acc >> bits & 0xff);
        }
    }
    out[n] = '\0';
    return (ptrdiff_t)n;
}

/* A body as a JSON string: UTF-8 text as is, anything else as a data URL. */
static json_t *data_str(const char *body, size_t len, const char *ctype)
{
    json_t *v = json_stringn(body, len);
    if (v != NULL)
        return v;
    char *enc = base64_encode((const unsigned char *)body, len);
    char *u = NULL;
    if (enc == NULL ||
        asprintf(&u, "data:%s;base64,%s",
                 ctype != NULL ? ctype : "application/octet-stream", enc) < 0) {
        free(enc);
        return json_string("");
    }
    v = json_string(u);
    free(u);
    free(enc);
    return v;
}

static int ctype_is(const char *ct, const char *want)
{
    return ct != NULL && strncasecmp(ct, want, strlen(want)) == 0;
}

/*
 * Reads a multipart body into form (fields) and files (file contents), each
 * part whole, as httpbin echoes them. A part used to be read into a fixed
 * 1 MiB buffer and silently cut there; now the buffer grows, and the only
 * bound is the server's max_body (`corio serve --max-body`), past which the
 * read fails with CIO_ETOOBIG and the answer is 413.
 */
static int read_multipart(cio_req *req, json_t *form, json_t *files)
{
    struct cio_part part;
    int rc;
    size_t cap = 65536;
    char *buf = malloc(cap);
    if (buf == NULL)
        return CIO_ENOMEM;
    while ((rc = cio_req_part_next(req, &part)) == 1) {
        size_t len = 0;
        ptrdiff_t n;
        for (;;) {
            if (len == cap) {
                char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
                if (nb == NULL) {
                    n = CIO_ENOMEM;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
            if ((n = cio_req_part_read(req, buf + len, cap - len)) <= 0)
                break;
            len += (size_t)n;
        }
        if (n < 0) {
            rc = (int)n;
            break;
        }
        const char *name = part.name != NULL ? part.name : "";
        if (part.filename != NULL)
            json_object_set_new(files, name,
                                data_str(buf, len, part.content_type));
        else
            multi_add(form, name, strlen(name), buf, len);
    }
    free(buf);
    return rc < 0 ? rc : 0;
}

/* httpbin's /anything: method, args, data, files, form, headers, json,
 * origin, url. */
static int anything(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    const char *ct = cio_req_header(req, "Content-Type");
    json_t *o = get_info(req), *form = json_object(), *files = json_object();
    json_t *data = NULL, *js = json_null();
    int rc = 0;

    if (ctype_is(ct, "multipart/form-data")) {
        rc = read_multipart(req, form, files);
        data = json_string("");
    } else if (ctype_is(ct, CIO_FORM_CONTENT_TYPE)) {
        const cio_params *p;
        if ((rc = cio_req_form(req, &p)) == 0) {
            json_decref(form);
            form = params_obj(p);
        }
        data = json_string("");
    } else {
        const char *body;
        size_t len;
        if ((rc = cio_req_body(req, 0, &body, &len)) == 0) {
            data = data_str(body, len, ct);
            json_t *parsed =
                len > 0 ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
            if (parsed != NULL) {
                json_decref(js);
                js = parsed;
            }
        }
    }
    if (rc < 0) {
        json_decref(o);
        json_decref(form);
        json_decref(files);
        json_decref(js);
        json_decref(data);
        return rc == CIO_ETOOBIG ? cio_resp_error(res, 413, NULL)
                                 : cio_resp_error(res, 400, cio_last_error());
    }
    json_object_set_new(o, "method", json_string(cio_req_method(req)));
    json_object_set_new(o, "data", data);
    json_object_set_new(o, "files", files);
    json_object_set_new(o, "form", form);
    json_object_set_new(o, "json", js);
    rc = cio_resp_json(res, 200, o);
    json_decref(o);
    return rc;
}

static int reply(cio_resp *res, json_t *o)
{
    int rc = cio_resp_json(res, 200, o);
    json_decref(o);
    return rc;
}

static int get(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return reply(res, get_info(req));
}

static int headers(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return reply(res, json_pack("{s:o}", "headers", headers_obj(req)));
}

static int ip(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return reply(res, json_pack("{s:o}", "origin", origin_str(req)));
}

static int user_agent(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    const char *ua = cio_req_header(req, "User-Agent");
    return reply(res,
                 json_pack("{s:o}", "user-agent", text(ua != NULL ? ua : "")));
}

/*
 * Numeric arguments of the endpoints (route parameters and query values).
 * Only plain decimals are taken: no sign, spaces, exponent, hex, "nan" or
 * "inf", so "-5", "abc", "2x" and an overflow are refused before any
 * conversion, and a value outside lo..hi is refused too (never clamped or
 * looped on). Each refusal is a 400 naming the argument (arg_bad).
 */
static bool arg_int(const char *s, long lo, long hi, long *out)
{
    size_t n = s != NULL ? strspn(s, "0123456789") : 0;
    if (n == 0 || s[n] != '\0' || n > 18) /* 18 digits fit a long */
        return false;
    long v = strtol(s, NULL, 10);
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool arg_num(const char *s, double lo, double hi, double *out)
{
    size_t n = s != NULL ? strspn(s, "0123456789.") : 0;
    if (n == 0 || s[n] != '\0' || n > 32)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (end != s + n || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* 400 "<name> must be <want>" (cio_resp_error copies the message). */
static int arg_bad(cio_resp *res, const char *name, const char *want)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "%s must be %s", name, want);
    return cio_resp_error(res, 400, msg);
}

static uint32_t to_ms(double s)
{
    return (uint32_t)(s * 1000.0 + 0.5);
}

static int status(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    long code;
    if (!arg_int(cio_req_param(req, "code"), 200, 599, &code))
        return arg_bad(res, "code", "an integer 200..599");
    cio_resp_set_status(res, (int)code);
    if (code >= 300 && code < 400 && code != 304)
        return cio_resp_set_header(res, "Location", "/redirect/1");
    if (code == 401)
        return cio_resp_set_header(res, "WWW-Authenticate",
                                   "Basic realm=\"Fake Realm\"");
    return 0;
}

static int delay(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    double secs;
    if (!arg_num(cio_req_param(req, "seconds"), 0, MAX_DELAY_S, &secs))
        return arg_bad(res, "seconds", "a number 0..10");
    int rc = cio_sleep(cio_after(to_ms(secs)));
    if (rc < 0)
        return rc;
    return reply(res, get_info(req));
}

static int json_sample(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_json_str(
        res, 200,
        "{\"slideshow\": {\"author\": \"Yours Truly\", \"date\": \"date of "
        "publication\", "
        "\"slides\": [{\"title\": \"Wake up to WonderWidgets!\", \"type\": "
        "\"all\"}, "
        "{\"items\": [\"Why <em>WonderWidgets</em> are great\", \"Who "
        "<em>buys</em> "
        "WonderWidgets\"], \"title\": \"Overview\", \"type\": \"all\"}], "
        "\"title\": \"Sample Slide Show\"}}");
}

/* n pseudo-random bytes (xorshift64; ?seed= makes them reproducible),
 * streamed with a Content-Length. */
static int bytes(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    long n, seed = (long)time(NULL);
    if (!arg_int(cio_req_param(req, "n"), 0, MAX_BYTES, &n))
        return arg_bad(res, "n", "an integer 0..10485760");
    const char *ss = cio_req_query(req, "seed");
    if (ss != NULL && !arg_int(ss, 0, LONG_MAX, &seed))
        return arg_bad(res, "seed", "a non-negative integer");
    uint64_t x = (uint64_t)seed;
    x = x * 0x9E3779B97F4A7C15ull + 1;
    char len[32];
    snprintf(len, sizeof(len), "%ld", n);
    int rc =
        cio_resp_set_header(res, "Content-Type", "application/octet-stream");
    if (rc == 0)
        rc = cio_resp_set_header(res, "Content-Length", len);
    if (rc == 0)
        rc = cio_resp_prepare(res);
    unsigned char buf[16384];
    while (rc == 0 && n > 0) {
        size_t k = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf);
        for (size_t i = 0; i < k; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (unsigned char)(x >> 24);
        }
        rc = cio_resp_write(res, buf, k);
        n -= (long)k;
    }
    return rc;
}

/* n JSON lines (httpbin's /stream/{n}), each flushed on its own. */
static int stream(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    long n;
    if (!arg_int(cio_req_param(req, "n"), 0, MAX_STREAM, &n))
        return arg_bad(res, "n", "an integer 0..100");
    int rc = cio_resp_set_header(res, "Content-Type", "application/json");
    if (rc == 0)
        rc = cio_resp_prepare(res);
    for (long i = 0; rc == 0 && i < n; i++) {
        json_t *o = get_info(req);
        json_object_set_new(o, "id", json_integer(i));
        char *line = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (line == NULL)
            return CIO_ENOMEM;
        rc = cio_resp_write(res, line, strlen(line));
        if (rc == 0)
            rc = cio_resp_write(res, "\n", 1);
        if (rc == 0)
            rc = cio_resp_flush(res);
        free(line);
    }
    return rc;
}

static json_t *cookies_obj(cio_req *req)
{
    json_t *o = json_object();
    const cio_headers *h = cio_req_headers(req);
    size_t pos = 0;
    for (const char *v = cio_headers_next(h, "Cookie", &pos); v != NULL;
         v = cio_headers_next(h, "Cookie", &pos)) {
        const char *p = v;
        while (*p != '\0') {
            while (*p == ' ' || *p == ';')
                p++;
            const char *e = strchr(p, ';');
            size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            if (eq != NULL && eq > p)
                multi_add(o, p, (size_t)(eq - p), eq + 1,
                          len - (size_t)(eq - p) - 1);
            p += len;
        }
    }
    return o;
}

static int cookies(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    return reply(res, json_pack("{s:o}", "cookies", cookies_obj(req)));
}

/* /cookies/set?name=value and /cookies/delete?name: then 302 to /cookies. */
static int cookies_change(cio_req *req, cio_resp *res, void *ud)
{
    const cio_params *p;
    int del = ud != NULL;
    int rc = cio_req_query_params(req, &p);
    for (size_t i = 0; rc == 0 && i < cio_params_count(p); i++) {
        char name[256];
        struct cio_str n = cio_params_name(p, i), v = cio_params_value(p, i);
        snprintf(name, sizeof(name), "%.*s", (int)(n.len < 255 ? n.len : 255),
                 n.ptr);
        if (del)
            rc = cio_resp_del_cookie(res, name, "/", NULL);
        else
            rc = cio_resp_set_cookie(res, name, v.ptr != NULL ? v.ptr : "",
                                     &(struct cio_cookie_opts){.path = "/"});
    }
    if (rc < 0)
        return cio_resp_error(res, 400, cio_last_error());
    return cio_resp_redirect(res, 302, "/cookies");
}

static int redirect(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    long n;
    if (!arg_int(cio_req_param(req, "n"), 1, MAX_REDIRECTS, &n))
        return arg_bad(res, "n", "an integer 1..100");
    char loc[64];
    if (n == 1)
        snprintf(loc, sizeof(loc), "/get");
    else
        snprintf(loc, sizeof(loc), "/redirect/%ld", n - 1);
    return cio_resp_redirect(res, 302, loc);
}

static int basic_auth(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    const char *user = cio_req_param(req, "user"),
               *pass = cio_req_param(req, "pass");
    const char *auth = cio_req_header(req, "Authorization");
    char want[512], got[512];
    snprintf(want, sizeof(want), "%s:%s", user, pass);
    if (auth != NULL && strncasecmp(auth, "Basic ", 6) == 0 &&
        base64_decode(auth + 6, got, sizeof(got)) >= 0 &&
        cio_secure_equal(got, want))
        return reply(res, json_pack("{s:b,s:o}", "authenticated", 1, "user",
                                    text(user)));
    cio_resp_set_status(res, 401);
    return cio_resp_set_header(res, "WWW-Authenticate",
                               "Basic realm=\"Fake Realm\"");
}

static int gzip_reply(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    json_t *o = json_object();
    json_object_set_new(o, "gzipped", json_true());
    json_object_set_new(o, "headers", headers_obj(req));
    json_object_set_new(o, "method", json_string(cio_req_method(req)));
    json_object_set_new(o, "origin", origin_str(req));
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (text == NULL)
        return CIO_ENOMEM;
    z_stream z = {0};
    size_t tlen = strlen(text), cap = deflateBound(&z, (uLong)tlen) + 32;
    unsigned char *out = malloc(cap);
    int rc = CIO_ENOMEM;
    /* windowBits 15 + 16: a gzip wrapper, not zlib's. */
    if (out != NULL && deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
                                    Z_DEFAULT_STRATEGY) == Z_OK) {
        z.next_in = (unsigned char *)text;
        z.avail_in = (uInt)tlen;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
            rc = cio_resp_set_header(res, "Content-Encoding", "gzip");
            if (rc == 0)
                rc = cio_resp_body(res, out, z.total_out, "application/json");
        }
        deflateEnd(&z);
    }
    free(out);
    free(text);
    return rc;
}

/* n Server-Sent Events (?n=5, ?interval=0.1 seconds between them). */
static int sse(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    const char *ns = cio_req_query(req, "n"),
               *is = cio_req_query(req, "interval");
    long n = 5;
    double interval = 0;
    if (ns != NULL && !arg_int(ns, 0, MAX_SSE, &n))
        return arg_bad(res, "n", "an integer 0..1000");
    if (is != NULL && !arg_num(is, 0, MAX_DELAY_S, &interval))
        return arg_bad(res, "interval", "a number of seconds 0..10");
    uint32_t gap = to_ms(interval);
    int rc = cio_resp_sse_start(res);
    for (long i = 0; rc == 0 && i < n; i++) {
        char id[32], data[96];
        snprintf(id, sizeof(id), "%ld", i);
        snprintf(data, sizeof(data), "{\"n\": %ld, \"of\": %ld}", i + 1, n);
        rc = cio_resp_sse_send(
            res,
            &(struct cio_sse_event){.event = "tick", .id = id, .data = data});
        if (rc == 0 && gap > 0 && i + 1 < n)
            rc = cio_sleep(cio_after(gap));
    }
    return rc;
}

/* The seeds' Spring Boot endpoint: {"id": id, "name": ...} after a delay
 * (the server's --student-delay, or ?delay=SECONDS). */
static int student(cio_req *req, cio_resp *res, void *ud)
{
    const struct httpbin_opts *o = ud;
    if (o->arrivals != NULL) {
        double t = httpbin_now();
        struct httpbin_arrivals *a = o->arrivals;
        pthread_mutex_lock(&a->mu);
        if (a->n < a->cap)
            a->t[a->n++] = t;
        else
            a->dropped++;
        pthread_mutex_unlock(&a->mu);
    }
    const char *d = cio_req_query(req, "delay");
    uint32_t ms = o->student_delay_ms;
    double secs;
    if (d != NULL) {
        if (!arg_num(d, 0, MAX_DELAY_S, &secs))
            return arg_bad(res, "delay", "a number of seconds 0..10");
        ms = to_ms(secs);
    }
    if (ms > 0) {
        int rc = cio_sleep(cio_after(ms));
        if (rc < 0)
            return rc;
    }
    const char *id = cio_req_query(req, "id");
    if (id == NULL)
        return cio_resp_error(res, 400, "missing id");
    char *end;
    long num = strtol(id, &end, 10);
    char name[64];
    /* At most 40 bytes of the id, not cutting a UTF-8 sequence. */
    size_t cut = strlen(id);
    if (cut > 40) {
        cut = 40;
        while (cut > 0 && ((unsigned char)id[cut] & 0xC0) == 0x80)
            cut--;
    }
    snprintf(name, sizeof(name), "student-%.*s", (int)cut, id);
    json_t *v = *id != '\0' && *end == '\0' ? json_integer(num) : text(id);
    return reply(res, json_pack("{s:o,s:o}", "id", v, "name", text(name)));
}

/* ---------------------------------------------------------------- seed APIs */

/* The Bearer token of the request, or NULL (httpbin's /bearer rule: any
 * non-empty token is accepted). */
static const char *bearer_token(const cio_req *req)
{
    const char *auth = cio_req_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0')
        return NULL;
    return auth + 7;
}

static int bearer_challenge(cio_resp *res)
{
    cio_resp_set_status(res, 401);
    return cio_resp_set_header(res, "WWW-Authenticate", "Bearer");
}

static int bearer(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    const char *token = bearer_token(req);
    if (token == NULL)
        return bearer_challenge(res);
    return reply(
        res, json_pack("{s:b,s:o}", "authenticated", 1, "token", text(token)));
}

/* The seed's paginated API: DATA_TOTAL records, page by page, behind a
 * Bearer token; the tracking cookie is echoed so a client can check it. */
#define DATA_TOTAL 120

static int data_page(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    if (bearer_token(req) == NULL)
        return bearer_challenge(res);
    const char *p = cio_req_query(req, "page"), *s = cio_req_query(req, "size");
    long page = 1, size = 10;
    /* page * size stays far from overflow. */
    if (p != NULL && !arg_int(p, 1, MAX_PAGE, &page))
        return arg_bad(res, "page", "an integer 1..1000000");
    if (s != NULL && !arg_int(s, 1, 1000, &size))
        return arg_bad(res, "size", "an integer 1..1000");
    json_t *items = json_array();
    for (long i = (page - 1) * size; i < page * size && i < DATA_TOTAL; i++) {
        char name[32];
        snprintf(name, sizeof(name), "item-%ld", i + 1);
        json_array_append_new(
            items,
            json_pack("{s:I,s:s}", "id", (json_int_t)(i + 1), "name", name));
    }
    const char *track = cio_req_cookie(req, "tracking_id");
    return reply(res, json_pack("{s:I,s:I,s:I,s:I,s:o,s:o?}", "page",
                                (json_int_t)page, "size", (json_int_t)size,
                                "total", (json_int_t)DATA_TOTAL, "pages",
                                (json_int_t)((DATA_TOTAL + size - 1) / size),
                                "items", items, "tracking_id", text(track)));
}

/* An upload sink: reads the body as it arrives (up to the server's body
 * limit) and answers with
 * its length, so streaming uploads need not be echoed back. */
static int upload(cio_req *req, cio_resp *res, void *ud)
{
    (void)ud;
    char buf[16384];
    uint64_t total = 0, reads = 0;
    ptrdiff_t n;
    while ((n = cio_req_read(req, buf, sizeof(buf))) > 0) {
        total += (uint64_t)n;
        reads++;
    }
    if (n < 0)
        return cio_resp_error(res, 400, cio_last_error());
    const char *te = cio_req_header(req, "Transfer-Encoding");
    const char *ct = cio_req_header(req, "Content-Type");
    return reply(res, json_pack("{s:I,s:b,s:o?}", "bytes", (json_int_t)total,
                                "chunked",
                                te != NULL && strcasestr(te, "chunked") != NULL,
                                "content_type", text(ct)));
}

static int index_page(cio_req *req, cio_resp *res, void *ud)
{
    (void)req;
    (void)ud;
    return cio_resp_text(
        res, 200,
        "corio serve: httpbin-like endpoints\n\n"
        "GET  /get /headers /ip /user-agent /json\n"
        "ANY  /anything[/...]   POST /post  PUT /put  PATCH /patch  DELETE "
        "/delete\n"
        "GET  /status/{code} /delay/{seconds} /bytes/{n} /stream/{n}\n"
        "GET  /cookies /cookies/set?name=value /cookies/delete?name\n"
        "GET  /redirect/{n} /basic-auth/{user}/{pass} /gzip "
        "/sse?n=5&interval=0.1\n"
        "GET  /getStudentInfo?id=1[&delay=SECONDS]\n"
        "GET  /bearer /data?page=1&size=50 (Bearer token)   POST /upload\n");
}

int httpbin_register(cio_app *app, const struct httpbin_opts *opts)
{
    const struct cio_route routes[] = {
        {"GET", "/get", get, NULL, NULL},
        {"POST", "/post", anything, NULL, NULL},
        {"PUT", "/put", anything, NULL, NULL},
        {"PATCH", "/patch", anything, NULL, NULL},
        {"DELETE", "/delete", anything, NULL, NULL},
        {"*", "/anything", anything, NULL, NULL},
        {"*", "/anything/{rest:.*}", anything, NULL, NULL},
        {"*", "/status/{code}", status, NULL, NULL},
        {"*", "/delay/{seconds}", delay, NULL, NULL},
        {"GET", "/headers", headers, NULL, NULL},
        {"GET", "/ip", ip, NULL, NULL},
        {"GET", "/user-agent", user_agent, NULL, NULL},
        {"GET", "/json", json_sample, NULL, NULL},
        {"GET", "/bytes/{n}", bytes, NULL, NULL},
        {"GET", "/stream/{n}", stream, NULL, NULL},
        {"GET", "/cookies", cookies, NULL, NULL},
        {"GET", "/cookies/set", cookies_change, NULL, NULL},
        {"GET", "/cookies/delete", cookies_change, (void *)1, NULL},
        {"GET", "/redirect/{n}", redirect, NULL, NULL},
        {"GET", "/basic-auth/{user}/{pass}", basic_auth, NULL, NULL},
        {"GET", "/gzip", gzip_reply, NULL, NULL},
        {"GET", "/sse", sse, NULL, NULL},
        {"GET", "/getStudentInfo", student, (void *)opts, NULL},
        {"GET", "/bearer", bearer, NULL, NULL},
        {"GET", "/data", data_page, NULL, NULL},
        {"POST", "/upload", upload, NULL, NULL},
        {"PUT", "/upload", upload, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL},
    };
    int rc = cio_app_add_routes(app, routes);
    if (rc == 0 && opts->index_page)
        rc = cio_app_get(app, "/", index_page, NULL);
    return rc;
}
