/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <corio/http/headers.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/headers_int.h"

#define DEFAULT_MAX_BYTES (64u * 1024)
#define DEFAULT_MAX_FIELDS 200u
/* A field's cost against max_bytes: "Name: value\r\n". */
#define FIELD_OVERHEAD 4

/*
 * Offsets into the string buffer rather than pointers, so that the buffer
 * can grow or be compacted without fixing up every field. 32 bits are
 * plenty: max_bytes bounds the live strings.
 */
struct field {
    uint32_t name_off, name_len;
    uint32_t value_off, value_len;
    unsigned char first; /* lowercased first byte of the name */
};

struct cio_headers {
    struct field *fields; /* nfields used of cap_fields */
    size_t nfields, cap_fields;
    char *buf; /* strings, each NUL-terminated; buf_len <= buf_cap */
    size_t buf_len, buf_cap;
    size_t dead;  /* bytes of buf no field refers to any more */
    size_t bytes; /* sum of name + value + FIELD_OVERHEAD, <= max_bytes */
    size_t max_bytes, max_fields;
    unsigned known; /* CIO__HK_* of the names present */
};

/* ------------------------------------------------------------ helpers */

bool cio__headers_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        if (cio__lower((unsigned char)a[i]) != cio__lower((unsigned char)b[i]))
            return false;
    }
    return true;
}

const char *cio__headers_quote(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    for (i = 0; i < len && o + 8 < cap && o < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

struct cio_str cio__headers_trim(struct cio_str s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

bool cio_is_token(struct cio_str s)
{
    if (s.len == 0 || s.ptr == NULL)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!cio__is_tchar((unsigned char)s.ptr[i]))
            return false;
    }
    return true;
}

static const char *ctl_name(unsigned char c, char tmp[8])
{
    switch (c) {
    case '\0':
        return "NUL";
    case '\r':
        return "CR";
    case '\n':
        return "LF";
    default:
        snprintf(tmp, 8, "0x%02x", c);
        return tmp;
    }
}

int cio__headers_check(const char *what, struct cio_str name,
                       struct cio_str value)
{
    char q[64], tmp[8];

    if (name.len == 0)
        return cio__err(CIO_EHEADER, "%s name is empty", what);
    if (!cio_is_token(name)) {
        return cio__err(CIO_EHEADER, "%s name \"%s\" is not a token", what,
                        cio__headers_quote(q, sizeof(q), name.ptr, name.len));
    }
    for (size_t i = 0; i < value.len; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        if (cio__tok_is((char)c,
                        CIO__TOK_VALUE)) /* HTAB, SP, VCHAR, obs-text */
            continue;
        /* RFC 9110 §5.5: CR, LF and NUL are never valid; other CTLs are
         * refused too (RELIABILITY.md A.10). */
        return cio__err(CIO_EHEADER, "value of %s \"%s\" contains %s", what,
                        cio__headers_quote(q, sizeof(q), name.ptr, name.len),
                        ctl_name(c, tmp));
    }
    return 0;
}

bool cio_list_next(struct cio_str *list, struct cio_str *elem)
{
    const char *p = list->ptr, *end = list->ptr + list->len;

    while (p < end) {
        const char *start = p;
        bool quoted = false;

        while (p < end && (quoted || *p != ',')) {
            if (quoted && *p == '\\' && p + 1 < end)
                p++;
            else if (*p == '"')
                quoted = !quoted;
            p++;
        }
        struct cio_str e =
            cio__headers_trim((struct cio_str){start, (size_t)(p - start)});
        if (p < end)
            p++; /* the comma */
        if (e.len > 0) {
            list->ptr = p;
            list->len = (size_t)(end - p);
            *elem = e;
            return true;
        }
    }
    list->ptr = end;
    list->len = 0;
    return false;
}

/* ------------------------------------------------------------ the map */

/* The CIO__HK_* bit of a name, or 0. */
static unsigned known_bit(struct cio_str name)
{
    switch (name.len) {
    case 4:
        return cio__headers_eq(name.ptr, 4, "date", 4) ? CIO__HK_DATE : 0;
    case 10:
        return cio__headers_eq(name.ptr, 10, "connection", 10)
                   ? CIO__HK_CONNECTION
                   : 0;
    case 14:
        return cio__headers_eq(name.ptr, 14, "content-length", 14)
                   ? CIO__HK_CONTENT_LENGTH
                   : 0;
    case 17:
        return cio__headers_eq(name.ptr, 17, "transfer-encoding", 17)
                   ? CIO__HK_TRANSFER_ENCODING
                   : 0;
    default:
        return 0;
    }
}

unsigned cio__headers_known(const cio_headers *h)
{
    return h->known;
}

char *cio__headers_wire(const cio_headers *h, char *out)
{
    for (size_t i = 0; i < h->nfields; i++) {
        const struct field *f = &h->fields[i];
        memcpy(out, h->buf + f->name_off, f->name_len);
        out += f->name_len;
        *out++ = ':';
        *out++ = ' ';
        memcpy(out, h->buf + f->value_off, f->value_len);
        out += f->value_len;
        *out++ = '\r';
        *out++ = '\n';
    }
    return out;
}

static const char *fname(const cio_headers *h, const struct field *f)
{
    return h->buf + f->name_off;
}

static const char *fvalue(const cio_headers *h, const struct field *f)
{
    return h->buf + f->value_off;
}

static bool matches(const cio_headers *h, const struct field *f,
                    struct cio_str name)
{
    return f->name_len == name.len &&
           f->first == cio__lower((unsigned char)name.ptr[0]) &&
           cio__headers_eq(fname(h, f), f->name_len, name.ptr, name.len);
}

/* Index of the first field named `name` at or after `from`, or nfields. */
static size_t find(const cio_headers *h, struct cio_str name, size_t from)
{
    if (name.len == 0)
        return h->nfields;
    for (size_t i = from; i < h->nfields; i++) {
        if (matches(h, &h->fields[i], name))
            return i;
    }
    return h->nfields;
}

static size_t cost(const struct field *f)
{
    return (size_t)f->name_len + f->value_len + FIELD_OVERHEAD;
}

int cio_headers_new(cio_headers **out, const struct cio_headers_opts *opts)
{
    cio_headers *h = cio__calloc(1, sizeof(*h));
    if (h == NULL)
        return CIO_ENOMEM;
    h->max_bytes = opts != NULL && opts->max_bytes != 0 ? opts->max_bytes
                                                        : DEFAULT_MAX_BYTES;
    h->max_fields = opts != NULL && opts->max_fields != 0 ? opts->max_fields
                                                          : DEFAULT_MAX_FIELDS;
    /* Offsets are 32-bit: keep every string offset representable. */
    if (h->max_bytes > UINT32_MAX / 4)
        h->max_bytes = UINT32_MAX / 4;
    *out = h;
    return 0;
}

void cio_headers_free(cio_headers *h)
{
    if (h == NULL)
        return;
    cio__free(h->fields);
    cio__free(h->buf);
    cio__free(h);
}

void cio_headers_clear(cio_headers *h)
{
    h->known = 0;
    h->nfields = 0;
    h->buf_len = 0;
    h->dead = 0;
    h->bytes = 0;
}

/*
 * Copies the live strings into dst, in field order, and points the fields
 * at them. dst is a fresh buffer: after a set() a field's strings may sit
 * after those of later fields, so compacting in place could overwrite
 * strings not yet moved.
 */
static void compact_into(cio_headers *h, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < h->nfields; i++) {
        struct field *f = &h->fields[i];
        size_t n = (size_t)f->name_len + f->value_len + 2;
        /* A field's name and value are stored together: name\0value\0. */
        memcpy(dst + o, h->buf + f->name_off, n);
        f->name_off = (uint32_t)o;
        f->value_off = (uint32_t)(o + f->name_len + 1);
        o += n;
    }
    h->buf_len = o;
    h->dead = 0;
}

/*
 * Makes room for `need` more string bytes and one more field. A failure
 * leaves the map as it was, field for field. If the strings move to a new
 * buffer, the old one is handed back in *retired (else *retired is NULL). When the buffer is full its
 * live strings move to a new one sized for them, so dead bytes left by
 * remove() and set() never accumulate past one buffer's worth.
 */
static int reserve(cio_headers *h, size_t need, char **retired)
{
    *retired = NULL;
    if (h->nfields == h->cap_fields) {
        size_t ncap = h->cap_fields != 0 ? h->cap_fields * 2 : 8;
        struct field *nf = cio__realloc(h->fields, ncap * sizeof(*nf));
        if (nf == NULL)
            return CIO_ENOMEM;
        h->fields = nf;
        h->cap_fields = ncap;
    }
    if (h->buf_cap - h->buf_len >= need)
        return 0;
    size_t live = h->buf_len - h->dead, ncap = 256;
    while (ncap < live + need)
        ncap *= 2;
    char *nb = cio__malloc(ncap);
    if (nb == NULL)
        return CIO_ENOMEM;
    compact_into(h, nb);
    /* Freed by the caller once the new strings are stored: they may come
     * from this map, e.g. set(h, "A", get(h, "B")). */
    *retired = h->buf;
    h->buf = nb;
    h->buf_cap = ncap;
    return 0;
}

/* Appends name\0value\0 (room reserved) and fills f. */
static void store(cio_headers *h, struct field *f, struct cio_str name,
                  struct cio_str value)
{
    char *p = h->buf + h->buf_len;
    memcpy(p, name.ptr, name.len);
    p[name.len] = '\0';
    if (value.len > 0)
        memcpy(p + name.len + 1, value.ptr, value.len);
    p[name.len + 1 + value.len] = '\0';
    f->name_off = (uint32_t)h->buf_len;
    f->name_len = (uint32_t)name.len;
    f->value_off = (uint32_t)(h->buf_len + name.len + 1);
    f->value_len = (uint32_t)value.len;
    f->first = cio__lower((unsigned char)name.ptr[0]);
    h->buf_len += name.len + value.len + 2;
    h->known |= known_bit(name);
}

static int check_field(struct cio_str name, struct cio_str *value)
{
    if (name.ptr == NULL || value->ptr == NULL)
        return cio__err(CIO_EINVAL, "header name or value is NULL");
    *value = cio__headers_trim(*value);
    return cio__headers_check("header", name, *value);
}

static int too_big(const cio_headers *h, struct cio_str name, const char *why)
{
    char q[64];
    return cio__err(CIO_ETOOBIG, "header \"%s\" would exceed the %s",
                    cio__headers_quote(q, sizeof(q), name.ptr, name.len), why);
}

static int add_unchecked(cio_headers *h, struct cio_str name,
                         struct cio_str value)
{
    int rc;
    size_t c = name.len + value.len + FIELD_OVERHEAD;
    if (h->nfields >= h->max_fields)
        return too_big(h, name, "field count limit");
    if (c > h->max_bytes - h->bytes)
        return too_big(h, name, "header size limit");
    char *retired;
    rc = reserve(h, name.len + value.len + 2, &retired);
    if (rc < 0)
        return rc;
    store(h, &h->fields[h->nfields++], name, value);
    cio__free(retired);
    h->bytes += c;
    return 0;
}

int cio_headers_add_str(cio_headers *h, struct cio_str name,
                        struct cio_str value)
{
    int rc = check_field(name, &value);
    return rc < 0 ? rc : add_unchecked(h, name, value);
}

int cio_headers_add(cio_headers *h, const char *name, const char *value)
{
    return cio_headers_add_str(h, cio_str_c(name), cio_str_c(value));
}

/* Drops the fields at or after `from` named `name`; returns how many. */
static size_t remove_from(cio_headers *h, struct cio_str name, size_t from)
{
    size_t o = from, n = 0;
    for (size_t i = from; i < h->nfields; i++) {
        struct field *f = &h->fields[i];
        if (matches(h, f, name)) {
            h->dead += (size_t)f->name_len + f->value_len + 2;
            h->bytes -= cost(f);
            n++;
        } else {
            h->fields[o++] = *f;
        }
    }
    h->nfields = o;
    return n;
}

static int set_unchecked(cio_headers *h, struct cio_str name,
                         struct cio_str value)
{
    int rc;
    size_t first = find(h, name, 0);
    if (first == h->nfields)
        return add_unchecked(h, name, value);

    /* The limits are checked against the map as it will be afterwards;
     * one field replaces at least one, so the count cannot grow. */
    size_t old = 0;
    for (size_t i = first; i < h->nfields; i++) {
        if (matches(h, &h->fields[i], name))
            old += cost(&h->fields[i]);
    }
    size_t c = name.len + value.len + FIELD_OVERHEAD;
    if (c > h->max_bytes - (h->bytes - old))
        return too_big(h, name, "header size limit");

    char *retired;
    rc = reserve(h, name.len + value.len + 2, &retired);
    if (rc < 0)
        return rc;
    struct field *f = &h->fields[first];
    h->dead += (size_t)f->name_len + f->value_len + 2;
    h->bytes -= cost(f);
    store(h, f, name, value);
    cio__free(retired);
    h->bytes += c;
    remove_from(h, name, first + 1);
    return 0;
}

int cio_headers_set_str(cio_headers *h, struct cio_str name,
                        struct cio_str value)
{
    int rc = check_field(name, &value);
    return rc < 0 ? rc : set_unchecked(h, name, value);
}

int cio__headers_set_trusted(cio_headers *h, struct cio_str name,
                             struct cio_str value)
{
    return set_unchecked(h, name, value);
}

int cio_headers_set(cio_headers *h, const char *name, const char *value)
{
    return cio_headers_set_str(h, cio_str_c(name), cio_str_c(value));
}

size_t cio_headers_remove(cio_headers *h, const char *name)
{
    if (name == NULL)
        return 0;
    struct cio_str nm = cio_str_c(name);
    size_t n = remove_from(h, nm, 0);
    if (n > 0)
        h->known &= ~known_bit(nm);
    if (h->nfields == 0) {
        h->buf_len = 0;
        h->dead = 0;
    }
    return n;
}

const char *cio_headers_get_str(const cio_headers *h, struct cio_str name)
{
    if (name.ptr == NULL)
        return NULL;
    size_t i = find(h, name, 0);
    return i < h->nfields ? fvalue(h, &h->fields[i]) : NULL;
}

const char *cio_headers_get(const cio_headers *h, const char *name)
{
    return cio_headers_get_str(h, cio_str_c(name));
}

const char *cio_headers_next(const cio_headers *h, const char *name,
                             size_t *pos)
{
    if (name == NULL)
        return NULL;
    size_t i = find(h, cio_str_c(name), *pos);
    if (i >= h->nfields) {
        *pos = h->nfields;
        return NULL;
    }
    *pos = i + 1;
    return fvalue(h, &h->fields[i]);
}

size_t cio_headers_get_all(const cio_headers *h, const char *name,
                           const char **vals, size_t max)
{
    size_t n = 0, pos = 0;
    for (const char *v = cio_headers_next(h, name, &pos); v != NULL;
         v = cio_headers_next(h, name, &pos)) {
        if (n < max)
            vals[n] = v;
        n++;
    }
    return n;
}

size_t cio_headers_count(const cio_headers *h)
{
    return h->nfields;
}

size_t cio_headers_count_name(const cio_headers *h, const char *name)
{
    return cio_headers_get_all(h, name, NULL, 0);
}

size_t cio_headers_bytes(const cio_headers *h)
{
    return h->bytes;
}

int cio_headers_at(const cio_headers *h, size_t i, struct cio_field *out)
{
    if (i >= h->nfields)
        return CIO_EINVAL;
    const struct field *f = &h->fields[i];
    out->name = (struct cio_str){fname(h, f), f->name_len};
    out->value = (struct cio_str){fvalue(h, f), f->value_len};
    return 0;
}

int cio_headers_clone(cio_headers **out, const cio_headers *h)
{
    struct cio_headers_opts o = {h->max_bytes, h->max_fields};
    cio_headers *c;
    int rc = cio_headers_new(&c, &o);
    if (rc < 0)
        return rc;
    if (h->nfields > 0) {
        c->fields = cio__malloc(h->nfields * sizeof(*c->fields));
        c->buf = cio__malloc(h->buf_len - h->dead);
        if (c->fields == NULL || c->buf == NULL) {
            cio_headers_free(c);
            return CIO_ENOMEM;
        }
        c->cap_fields = h->nfields;
        c->buf_cap = h->buf_len - h->dead;
        for (size_t i = 0; i < h->nfields; i++) {
            const struct field *f = &h->fields[i];
            store(c, &c->fields[i], (struct cio_str){fname(h, f), f->name_len},
                  (struct cio_str){fvalue(h, f), f->value_len});
        }
        c->nfields = h->nfields;
        c->bytes = h->bytes;
    }
    *out = c;
    return 0;
}

ptrdiff_t cio_headers_join(const cio_headers *h, const char *name, char *buf,
                           size_t cap)
{
    size_t len = 0, n = 0, pos = 0;
    if (name == NULL)
        name = "";
    for (const char *v = cio_headers_next(h, name, &pos); v != NULL;
         v = cio_headers_next(h, name, &pos)) {
        len += (n++ > 0 ? 2 : 0) + strlen(v);
    }
    if (len >= cap) {
        char q[64];
        return cio__err(
            CIO_ETOOBIG, "joined values of header \"%s\" need %zu bytes",
            cio__headers_quote(q, sizeof(q), name, strlen(name)), len + 1);
    }
    size_t o = 0;
    n = 0;
    pos = 0;
    for (const char *v = cio_headers_next(h, name, &pos); v != NULL;
         v = cio_headers_next(h, name, &pos)) {
        if (n++ > 0) {
            memcpy(buf + o, ", ", 2);
            o += 2;
        }
        size_t vl = strlen(v);
        memcpy(buf + o, v, vl);
        o += vl;
    }
    buf[o] = '\0';
    return (ptrdiff_t)o;
}

bool cio_headers_has_token(const cio_headers *h, const char *name,
                           const char *token)
{
    size_t pos = 0, tl = strlen(token);
    for (const char *v = cio_headers_next(h, name, &pos); v != NULL;
         v = cio_headers_next(h, name, &pos)) {
        struct cio_str list = cio_str_c(v), e;
        while (cio_list_next(&list, &e)) {
            size_t k = 0;
            while (k < e.len && e.ptr[k] != ';')
                k++;
            struct cio_str t = cio__headers_trim((struct cio_str){e.ptr, k});
            if (cio__headers_eq(t.ptr, t.len, token, tl))
                return true;
        }
    }
    return false;
}
