/* SPDX-License-Identifier: MIT */
/*
 * multipart/form-data: the pull encoder and the streaming parser.
 * docs/internals/multipart.md has the parser's state diagram.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <corio/http/multipart.h>

#include "base/alloc.h"
#include "base/errmsg.h"
#include "http/multipart.h"
#include "http/token.h"

/* ---------------------------------------------------------------- chars */

/* RFC 9110 §5.6.2 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 §5.1.1 bchars (space allowed, but not last). */
static bool is_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/* A byte allowed in a field value (RFC 9110 §5.5): HTAB, VCHAR, SP,
 * obs-text. Everything else (NUL, CR, LF, other controls, DEL) is not. */
static bool is_vbyte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool ieq(struct cio_str s, const char *lit)
{
    return cio__tok_ieq(s.ptr, s.len, lit, strlen(lit));
}

/* Returns 0 or err (CIO_EPROTO for a peer's value, CIO_EINVAL for ours). */
static int check_boundary(const char *b, size_t n, int err)
{
    if (n == 0 || n > CIO_MULTIPART_BOUNDARY_MAX)
        return cio__err(err,
                        "multipart boundary has %zu characters "
                        "(1 to 70 allowed)",
                        n);
    for (size_t i = 0; i < n; i++)
        if (!is_bchar((unsigned char)b[i]))
            return cio__err(err,
                            "multipart boundary has byte 0x%02x "
                            "at %zu",
                            (unsigned char)b[i], i);
    if (b[n - 1] == ' ')
        return cio__err(err, "multipart boundary ends with a space");
    return 0;
}

/* ---------------------------------------------------------------- parameters */

static size_t skip_ows(const char *s, size_t len, size_t i)
{
    while (i < len && is_ows(s[i]))
        i++;
    return i;
}

static size_t skip_token(const char *s, size_t len, size_t i)
{
    while (i < len && is_tchar((unsigned char)s[i]))
        i++;
    return i;
}

struct param {
    struct cio_str name;
    struct cio_str val; /* raw: between the quotes if quoted */
    bool quoted;
};

/*
 * Parses the next `OWS ";" OWS name "=" (token / quoted-string)` of a header
 * value from s[*pos..len). Returns 1 with *pm, 0 at the end of the value
 * (a trailing ";" is tolerated), or CIO_EPROTO. RFC 9110 §5.6.6 allows no
 * whitespace around "=", and neither do we.
 */
static int next_param(const char *s, size_t len, size_t *pos, struct param *pm)
{
    size_t i = skip_ows(s, len, *pos), j, k;

    if (i == len)
        return 0;
    if (s[i] != ';')
        return cio__err(CIO_EPROTO, "expected ';' at byte %zu of \"%.*s\"", i,
                        (int)(len > 60 ? 60 : len), s);
    i = skip_ows(s, len, i + 1);
    if (i == len) {
        *pos = i;
        return 0;
    }
    j = skip_token(s, len, i);
    if (j == i || j == len || s[j] != '=')
        return cio__err(CIO_EPROTO, "malformed parameter at byte %zu", i);
    pm->name = (struct cio_str){s + i, j - i};
    j++;
    if (j < len && s[j] == '"') {
        for (k = j + 1; k < len && s[k] != '"'; k++) {
            unsigned char c = (unsigned char)s[k];
            if (!is_vbyte(c))
                return cio__err(CIO_EPROTO,
                                "byte 0x%02x in a quoted "
                                "parameter value",
                                c);
            if (c == '\\') {
                if (k + 1 == len || !is_vbyte((unsigned char)s[k + 1]))
                    return cio__err(CIO_EPROTO, "bad quoted-pair");
                k++;
            }
        }
        if (k >= len)
            return cio__err(CIO_EPROTO, "unterminated quoted parameter value");
        pm->val = (struct cio_str){s + j + 1, k - j - 1};
        pm->quoted = true;
        *pos = k + 1;
    } else {
        k = skip_token(s, len, j);
        if (k == j)
            return cio__err(CIO_EPROTO,
                            "empty or malformed value of "
                            "parameter \"%.*s\"",
                            (int)pm->name.len, pm->name.ptr);
        pm->val = (struct cio_str){s + j, k - j};
        pm->quoted = false;
        *pos = k;
    }
    return 1;
}

/*
 * Copies a parameter value to dst (room for v.len bytes), undoing the
 * quoted-pairs \" and \\ only: any other backslash is kept, so that the
 * unescaped Windows paths old browsers sent ("C:\dir\f.txt") survive for
 * the basename step. Returns the length written.
 */
static size_t unquote(char *dst, struct cio_str v, bool quoted)
{
    size_t o = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (quoted && v.ptr[i] == '\\' && i + 1 < v.len &&
            (v.ptr[i + 1] == '"' || v.ptr[i + 1] == '\\'))
            i++;
        dst[o++] = v.ptr[i];
    }
    return o;
}

int cio_multipart_boundary(struct cio_str ct,
                           char out[CIO_MULTIPART_BOUNDARY_MAX + 1])
{
    const char *s = ct.ptr;
    size_t len = ct.len, i, j, pos;
    struct param pm;
    char tmp[2 * CIO_MULTIPART_BOUNDARY_MAX];
    size_t blen = 0;
    bool found = false;
    int rc;

    if (s == NULL)
        return cio__err(CIO_EPROTO, "no Content-Type");
    i = skip_ows(s, len, 0);
    j = skip_token(s, len, i);
    if (j == i || j == len || s[j] != '/')
        return cio__err(CIO_EPROTO, "malformed media type \"%.*s\"",
                        (int)(len > 60 ? 60 : len), s);
    struct cio_str type = {s + i, j - i};
    i = j + 1;
    j = skip_token(s, len, i);
    if (j == i)
        return cio__err(CIO_EPROTO, "malformed media type \"%.*s\"",
                        (int)(len > 60 ? 60 : len), s);
    struct cio_str sub = {s + i, j - i};
    if (!ieq(type, "multipart") || !ieq(sub, "form-data"))
        return cio__err(CIO_ENOTSUP,
                        "media type %.*s/%.*s is not "
                        "multipart/form-data",
                        (int)type.len, type.ptr, (int)sub.len, sub.ptr);
    pos = j;
    while ((rc = next_param(s, len, &pos, &pm)) == 1) {
        if (!ieq(pm.name, "boundary"))
            continue;
        if (found)
            return cio__err(CIO_EPROTO, "two boundary parameters");
        found = true;
        /* The raw value bounds the unquoted one; check before copying. */
        if (pm.val.len > 2 * CIO_MULTIPART_BOUNDARY_MAX)
            return cio__err(CIO_EPROTO, "multipart boundary has more than "
                                        "70 characters");
        blen = unquote(tmp, pm.val, pm.quoted);
        rc = check_boundary(tmp, blen, CIO_EPROTO);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!found)
        return cio__err(CIO_EPROTO, "multipart/form-data without boundary");
    memcpy(out, tmp, blen);
    out[blen] = '\0';
    return (int)blen;
}

/* ================================================================ encoder */

enum src { SRC_MEM, SRC_FD, SRC_PATH };

struct part {
    char *head; /* headers + the empty line; owns data and path */
    size_t headlen;
    enum src src;
    const char *data; /* SRC_MEM: in head's allocation */
    char *path;       /* SRC_PATH: in head's allocation */
    int fd;           /* SRC_FD: the caller's; SRC_PATH: ours or -1 */
    int64_t off;      /* regular files: first byte */
    int64_t len;      /* content bytes; -1: until EOF */
    bool regular;     /* pread from off; can be read again */
    bool no_nowait;   /* RWF_NOWAIT refused here: plain pread */
};

/* Where the reader is: part cur (== nparts: the closing line), segment seg
 * of it, segoff bytes into that segment. */
enum seg { SEG_DLINE, SEG_HEAD, SEG_BODY, SEG_CRLF, SEG_CLOSE, SEG_DONE };

#define MAX_PARTS 65536
#define RANDOM_PREFIX "----cio"

struct cio_multipart {
    struct part *parts;
    size_t nparts, cap;
    char dline[CIO_MULTIPART_BOUNDARY_MAX + 4]; /* "--" B CRLF */
    size_t blen;                                /* B's length */
    char ctype[64 + CIO_MULTIPART_BOUNDARY_MAX];
    bool random; /* boundary is ours to change on a collision */
    bool sealed; /* content type or bytes given out: no more parts */
    size_t cur;
    enum seg seg;
    uint64_t segoff;
    int err; /* sticky read error, 0 if none */
};

static void set_boundary(cio_multipart *mp, const char *b, size_t n)
{
    bool token = true;
    for (size_t i = 0; i < n; i++)
        token = token && is_tchar((unsigned char)b[i]);
    mp->dline[0] = mp->dline[1] = '-';
    memcpy(mp->dline + 2, b, n);
    memcpy(mp->dline + 2 + n, "\r\n", 2);
    mp->blen = n;
    /* bchars hold neither '"' nor '\\': quoting needs no escapes. */
    snprintf(mp->ctype, sizeof(mp->ctype),
             token ? "multipart/form-data; boundary=%.*s"
                   : "multipart/form-data; boundary=\"%.*s\"",
             (int)n, b);
}

static int random_boundary(cio_multipart *mp)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    char b[sizeof(RANDOM_PREFIX) - 1 + 32];
    size_t got = 0;

    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return cio__err(-errno, "getrandom: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    memcpy(b, RANDOM_PREFIX, sizeof(RANDOM_PREFIX) - 1);
    for (size_t i = 0; i < sizeof(rnd); i++) {
        b[sizeof(RANDOM_PREFIX) - 1 + 2 * i] = hex[rnd[i] >> 4];
        b[sizeof(RANDOM_PREFIX) - 1 + 2 * i + 1] = hex[rnd[i] & 15];
    }
    set_boundary(mp, b, sizeof(b));
    return 0;
}

int cio_multipart_new(cio_multipart **out,
                      const struct cio_multipart_opts *opts)
{
    cio_multipart *mp;
    int rc;

    if (out == NULL)
        return cio__err(CIO_EINVAL, "out is NULL");
    mp = cio__calloc(1, sizeof(*mp));
    if (mp == NULL)
        return CIO_ENOMEM;
    if (opts != NULL && opts->boundary != NULL) {
        size_t n = strlen(opts->boundary);
        rc = check_boundary(opts->boundary, n, CIO_EINVAL);
        if (rc < 0) {
            cio__free(mp);
            return rc;
        }
        set_boundary(mp, opts->boundary, n);
    } else {
        mp->random = true;
        rc = random_boundary(mp);
        if (rc < 0) {
            cio__free(mp);
            return rc;
        }
    }
    *out = mp;
    return 0;
}

static void close_path(struct part *pt)
{
    if (pt->src == SRC_PATH && pt->fd >= 0) {
        close(pt->fd);
        pt->fd = -1;
    }
}

void cio_multipart_free(cio_multipart *mp)
{
    if (mp == NULL)
        return;
    for (size_t i = 0; i < mp->nparts; i++) {
        close_path(&mp->parts[i]);
        cio__free(mp->parts[i].head);
    }
    cio__free(mp->parts);
    cio__free(mp);
}

/*
 * WHATWG HTML multipart/form-data: '"' -> %22, CR -> %0D, LF -> %0A. We also
 * escape the other control bytes (except HTAB) so the header stays valid,
 * and the backslash (%5C): parsers that follow RFC 9110 quoted-string rules
 * (Go, werkzeug, ours) read it as an escape, so a raw one would change the
 * value (two backslashes become one) or, before the closing quote, the
 * framing of the header.
 */
static bool needs_pct(unsigned char c)
{
    return c == '"' || c == '\\' || (c < 0x20 && c != '\t') || c == 0x7f;
}

static size_t esc_len(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += needs_pct((unsigned char)*s) ? 3 : 1;
    return n;
}

static char *esc_put(char *d, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (needs_pct(c)) {
            *d++ = '%';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        } else {
            *d++ = (char)c;
        }
    }
    return d;
}

static bool contains(const void *hay, size_t n, const char *needle, size_t m)
{
    return n >= m && memmem(hay, n, needle, m) != NULL;
}

/* Does any in-memory part contain the boundary? A file's bytes are not
 * known in advance; a random boundary (128 bits) makes that a non-event. */
static bool collides(const cio_multipart *mp, const struct part *extra)
{
    const char *b = mp->dline + 2;
    if (extra != NULL && extra->src == SRC_MEM &&
        contains(extra->data, (size_t)extra->len, b, mp->blen))
        return true;
    for (size_t i = 0; i < mp->nparts; i++) {
        const struct part *pt = &mp->parts[i];
        if (pt->src == SRC_MEM &&
            contains(pt->data, (size_t)pt->len, b, mp->blen))
            return true;
    }
    return false;
}

/*
 * Builds the part's headers (and copies its data or path after them, in
 * the same allocation) and appends it. On failure nothing changes.
 */
static int add_part(cio_multipart *mp, const struct cio_multipart_file *f,
                    struct part *pt, const void *data, const char *path)
{
    const char *fn = f->filename, *ct = f->content_type;
    size_t n, extra = 0;
    char *h, *d;
    int rc;

    if (mp->sealed)
        return cio__err(CIO_EINVAL, "multipart: part added after the body "
                                    "was started");
    if (f->name == NULL)
        return cio__err(CIO_EINVAL, "multipart: part without a name");
    if (mp->nparts == MAX_PARTS)
        return cio__err(CIO_ETOOBIG, "multipart: more than %d parts",
                        MAX_PARTS);
    if (path != NULL && fn == NULL) {
        fn = strrchr(path, '/');
        fn = fn != NULL ? fn + 1 : path;
    }
    if (ct != NULL && ct[0] == '\0')
        ct = NULL;
    if (ct == NULL && fn != NULL)
        ct = "application/octet-stream";
    if (ct != NULL)
        for (const char *c = ct; *c != '\0'; c++)
            if (!is_vbyte((unsigned char)*c))
                return cio__err(CIO_EHEADER,
                                "multipart: byte 0x%02x in "
                                "content type",
                                (unsigned char)*c);

    n = strlen("Content-Disposition: form-data; name=\"\"\r\n\r\n") +
        esc_len(f->name);
    if (fn != NULL)
        n += strlen("; filename=\"\"") + esc_len(fn);
    if (ct != NULL)
        n += strlen("Content-Type: \r\n") + strlen(ct);
    if (data != NULL)
        extra = (size_t)pt->len;
    else if (path != NULL)
        extra = strlen(path) + 1;
    if (extra > SIZE_MAX - n - 1)
        return cio__err(CIO_ETOOBIG, "multipart: part too large");
    h = cio__malloc(n + extra + 1);
    if (h == NULL)
        return CIO_ENOMEM;
    d = h;
    d += sprintf(d, "Content-Disposition: form-data; name=\"");
    d = esc_put(d, f->name);
    *d++ = '"';
    if (fn != NULL) {
        d += sprintf(d, "; filename=\"");
        d = esc_put(d, fn);
        *d++ = '"';
    }
    d += sprintf(d, "\r\n");
    if (ct != NULL)
        d += sprintf(d, "Content-Type: %s\r\n", ct);
    d += sprintf(d, "\r\n");
    pt->head = h;
    pt->headlen = n;
    if (data != NULL) {
        if (pt->len > 0)
            memcpy(h + n, data, (size_t)pt->len);
        pt->data = h + n;
    } else if (path != NULL) {
        memcpy(h + n, path, extra);
        pt->path = h + n;
    }

    if (collides(mp, pt)) {
        if (!mp->random) {
            rc = cio__err(CIO_EINVAL,
                          "multipart: part \"%.40s\" contains "
                          "the boundary",
                          f->name);
            goto fail_head;
        }
        /* A chance of 2^-128 per try unless the data was made to collide
         * with a boundary it cannot know; a few tries are plenty. */
        for (int tries = 0;; tries++) {
            if (tries == 8) {
                rc = cio__err(CIO_EINVAL, "multipart: no boundary found");
                goto fail_head;
            }
            rc = random_boundary(mp);
            if (rc < 0)
                goto fail_head;
            if (!collides(mp, pt))
                break;
        }
    }
    if (mp->nparts == mp->cap) {
        size_t cap = mp->cap ? 2 * mp->cap : 8;
        struct part *np = cio__realloc(mp->parts, cap * sizeof(*np));
        if (np == NULL) {
            rc = CIO_ENOMEM;
            goto fail_head;
        }
        mp->parts = np;
        mp->cap = cap;
    }
    mp->parts[mp->nparts++] = *pt;
    return 0;

fail_head:
    cio__free(h);
    return rc;
}

int cio_multipart_add_file_data(cio_multipart *mp,
                                const struct cio_multipart_file *f,
                                const void *data, size_t len)
{
    struct part pt = {
        .src = SRC_MEM, .fd = -1, .len = (int64_t)len, .regular = true};
    if (mp == NULL || f == NULL || (data == NULL && len > 0))
        return cio__err(CIO_EINVAL, "multipart: NULL argument");
    if (len > INT64_MAX)
        return cio__err(CIO_ETOOBIG, "multipart: part too large");
    /* A non-NULL pointer marks "copy data" even when len is 0. */
    return add_part(mp, f, &pt, data != NULL ? data : "", NULL);
}

int cio_multipart_add_field(cio_multipart *mp, const char *name,
                            struct cio_str value)
{
    struct cio_multipart_file f = {.name = name};
    return cio_multipart_add_file_data(mp, &f, value.ptr, value.len);
}

int cio_multipart_add_file_fd(cio_multipart *mp,
                              const struct cio_multipart_file *f, int fd,
                              int64_t offset, int64_t length)
{
    struct part pt = {.src = SRC_FD, .fd = fd};
    struct stat st;

    if (mp == NULL || f == NULL || fd < 0 || offset < 0 || length < -1)
        return cio__err(CIO_EINVAL, "multipart: bad file part arguments");
    if (fstat(fd, &st) < 0)
        return cio__err(-errno, "multipart: fstat: %s", strerror(errno));
    if (S_ISREG(st.st_mode)) {
        if (offset > st.st_size ||
            (length >= 0 && length > st.st_size - offset))
            return cio__err(CIO_EINVAL,
                            "multipart: range %lld+%lld beyond "
                            "the file's %lld bytes",
                            (long long)offset, (long long)length,
                            (long long)st.st_size);
        pt.regular = true;
        pt.off = offset;
        pt.len = length >= 0 ? length : st.st_size - offset;
    } else if (S_ISDIR(st.st_mode)) {
        return cio__err(-EISDIR, "multipart: fd is a directory");
    } else {
        if (offset != 0)
            return cio__err(CIO_EINVAL, "multipart: offset on a "
                                        "non-regular file");
        pt.len = length;
    }
    return add_part(mp, f, &pt, NULL, NULL);
}

int cio_multipart_add_file_path(cio_multipart *mp,
                                const struct cio_multipart_file *f,
                                const char *path)
{
    struct part pt = {.src = SRC_PATH, .fd = -1};
    struct stat st;

    if (mp == NULL || f == NULL || path == NULL)
        return cio__err(CIO_EINVAL, "multipart: NULL argument");
    if (stat(path, &st) < 0)
        return cio__err(-errno, "multipart: %.100s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cio__err(-EISDIR, "multipart: %.100s is a directory", path);
    pt.regular = S_ISREG(st.st_mode);
    pt.len = pt.regular ? st.st_size : -1;
    return add_part(mp, f, &pt, NULL, path);
}

const char *cio__multipart_peek_boundary(const cio_multipart *mp, size_t *len)
{
    *len = mp->blen;
    return mp->dline + 2;
}

const char *cio_multipart_content_type(cio_multipart *mp)
{
    mp->sealed = true;
    return mp->ctype;
}

int64_t cio_multipart_length(cio_multipart *mp)
{
    /* The closing line: "--" B "--" CRLF. */
    int64_t total = (int64_t)mp->blen + 6;

    mp->sealed = true;
    for (size_t i = 0; i < mp->nparts; i++) {
        const struct part *pt = &mp->parts[i];
        if (pt->len < 0)
            return -1;
        /* "--" B CRLF, headers, content, CRLF. */
        total += (int64_t)(mp->blen + 4 + pt->headlen + 2) + pt->len;
    }
    return total;
}

int cio_multipart_rewind(cio_multipart *mp)
{
    for (size_t i = 0; i < mp->nparts; i++)
        if (!mp->parts[i].regular)
            return cio__err(CIO_ENOTSUP,
                            "multipart: part %zu reads a "
                            "stream that cannot be read again",
                            i);
    for (size_t i = 0; i < mp->nparts; i++)
        close_path(&mp->parts[i]);
    mp->cur = 0;
    mp->seg = SEG_DLINE;
    mp->segoff = 0;
    mp->err = 0;
    return 0;
}

/* Opens a path part when the reader reaches it. */
static int open_path(struct part *pt)
{
    struct stat st = {0};
    /* A path that was a regular file is opened without blocking even if
     * someone replaced it by a FIFO; a FIFO from the start is opened as one
     * (open waits for a writer: a blocking call, run on the executor). */
    int fd = open(pt->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                (pt->regular ? O_NONBLOCK : 0));
    if (fd < 0)
        return cio__err(-errno, "multipart: %.100s: %s", pt->path,
                        strerror(errno));
    if (pt->regular) {
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size < pt->len) {
            close(fd);
            return cio__err(-EIO,
                            "multipart: %.100s changed since it was "
                            "added (now %lld bytes, %lld announced)",
                            pt->path, (long long)st.st_size,
                            (long long)pt->len);
        }
    }
    pt->fd = fd;
    return 0;
}

/* body_read's answer when nowait and the bytes are not in memory (no
 * CIO_E* code and no byte count). */
#define COLD PTRDIFF_MIN

/*
 * Reads file content into buf[0..cap). Returns bytes (> 0), 0 at the end
 * of the part, CIO_EAGAIN, or an error; with nowait, COLD when a regular
 * file's next bytes are not in the page cache (the read would wait for
 * the disk: preadv2 with RWF_NOWAIT), COLD.
 */
static ptrdiff_t body_read(struct part *pt, uint64_t done, char *buf,
                           size_t cap, bool nowait)
{
    size_t want = cap;
    ssize_t r;

    if (pt->len >= 0) {
        if (done == (uint64_t)pt->len)
            return 0;
        if ((uint64_t)pt->len - done < want)
            want = (size_t)((uint64_t)pt->len - done);
    }
    if (pt->fd < 0) {
        int rc = open_path(pt);
        if (rc < 0)
            return rc;
    }
    if (nowait && pt->regular && !pt->no_nowait) {
        struct iovec v = {buf, want};
        do
            r = preadv2(pt->fd, &v, 1, pt->off + (off_t)done, RWF_NOWAIT);
        while (r < 0 && errno == EINTR);
        if (r >= 0 || errno == EAGAIN)
            goto got;
        /* a file system (or kernel) without RWF_NOWAIT: read plainly */
        pt->no_nowait = true;
    }
    do {
        if (pt->regular)
            r = pread(pt->fd, buf, want, pt->off + (off_t)done);
        else
            r = read(pt->fd, buf, want);
    } while (r < 0 && errno == EINTR);
got:
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return nowait && pt->regular ? COLD : CIO_EAGAIN;
        return cio__err(-errno, "multipart: reading a file part: %s",
                        strerror(errno));
    }
    if (r == 0 && pt->len >= 0)
        return cio__err(-EIO,
                        "multipart: file part ended after %llu of "
                        "%lld bytes (it shrank)",
                        (unsigned long long)done, (long long)pt->len);
    return r;
}

static ptrdiff_t mp_read(cio_multipart *mp, void *out, size_t cap, bool *cold)
{
    char *buf = out;
    size_t n = 0;

    if (mp == NULL || buf == NULL || cap == 0)
        return cio__err(CIO_EINVAL, "multipart: empty read buffer");
    if (mp->err < 0)
        return mp->err;
    mp->sealed = true;
    if (cap > PTRDIFF_MAX)
        cap = PTRDIFF_MAX;
    while (n < cap && mp->seg != SEG_DONE) {
        struct part *pt = mp->cur < mp->nparts ? &mp->parts[mp->cur] : NULL;
        const char *src = NULL;
        size_t srclen = 0;

        switch (mp->seg) {
        case SEG_DLINE:
            src = mp->dline;
            srclen = mp->blen + (pt != NULL ? 4 : 2);
            break;
        case SEG_HEAD:
            src = pt->head;
            srclen = pt->headlen;
            break;
        case SEG_BODY:
            if (pt->src == SRC_MEM) {
                src = pt->data;
                srclen = (size_t)pt->len;
                break;
            }
            size_t avail = cap - n;
            ptrdiff_t r =
                body_read(pt, mp->segoff, buf + n, avail, cold != NULL);
            if (r == COLD) {
                *cold = true;
                return (ptrdiff_t)n;
            }
            if (r == CIO_EAGAIN)
                return n > 0 ? (ptrdiff_t)n : CIO_EAGAIN;
            if (r < 0) {
                mp->err = (int)r;
                return r;
            }
            if (r > 0) {
                mp->segoff += (uint64_t)r;
                n += (size_t)r;
                /* A short read of a pipe means "no more for now": return
                 * rather than block on the next one. */
                if (!pt->regular && (size_t)r < avail)
                    return (ptrdiff_t)n;
                continue;
            }
            close_path(pt);
            mp->seg = SEG_CRLF;
            mp->segoff = 0;
            continue;
        case SEG_CRLF:
            src = "\r\n";
            srclen = 2;
            break;
        case SEG_CLOSE:
            src = "--\r\n";
            srclen = 4;
            break;
        case SEG_DONE:
            break;
        }
        size_t k = srclen - (size_t)mp->segoff;
        if (k > cap - n)
            k = cap - n;
        memcpy(buf + n, src + mp->segoff, k);
        n += k;
        mp->segoff += k;
        if (mp->segoff < srclen)
            continue;
        mp->segoff = 0;
        switch (mp->seg) {
        case SEG_DLINE:
            mp->seg = pt != NULL ? SEG_HEAD : SEG_CLOSE;
            break;
        case SEG_HEAD:
            mp->seg = SEG_BODY;
            break;
        case SEG_BODY:
            mp->seg = SEG_CRLF;
            break;
        case SEG_CRLF:
            mp->cur++;
            mp->seg = SEG_DLINE;
            break;
        default:
            mp->seg = SEG_DONE;
            break;
        }
    }
    return (ptrdiff_t)n;
}

ptrdiff_t cio_multipart_read(cio_multipart *mp, void *out, size_t cap)
{
    return mp_read(mp, out, cap, NULL);
}

ptrdiff_t cio__multipart_read_nowait(cio_multipart *mp, void *out, size_t cap,
                                     bool *cold)
{
    *cold = false;
    return mp_read(mp, out, cap, cold);
}

int cio__multipart_cold_spot(const cio_multipart *mp, int *fd, int64_t *off,
                             int64_t *left)
{
    if (mp->seg != SEG_BODY || mp->cur >= mp->nparts)
        return CIO_EINVAL;
    const struct part *pt = &mp->parts[mp->cur];
    if (!pt->regular || pt->fd < 0)
        return CIO_EINVAL;
    *fd = pt->fd;
    *off = pt->off + (int64_t)mp->segoff;
    *left = pt->len >= 0 ? pt->len - (int64_t)mp->segoff : -1;
    return 0;
}

/* ================================================================ parser */

enum pstate {
    P_PREAMBLE, /* looking for the first delimiter; bytes are dropped */
    P_AFTER,    /* right after a delimiter */
    P_DASH,     /* after delimiter "-" */
    P_PAD,      /* transport padding after a delimiter */
    P_CR,       /* CR after a delimiter (and padding) */
    P_HEAD,     /* a part's header lines */
    P_DATA,     /* a part's content */
    P_EPILOGUE, /* after the closing delimiter: bytes are dropped */
};

#define MAX_HEADERS 32
#define MAX_PAD 64

struct cio_multipart_parser {
    enum pstate st;
    int err;                                    /* sticky error, 0 if none */
    char delim[4 + CIO_MULTIPART_BOUNDARY_MAX]; /* CRLF "--" boundary */
    size_t dlen;
    size_t m;            /* delim[0..m) matched; m < dlen. In P_DATA
                               * those bytes are held back: they are not yet
                               * known to be content. */
    uint32_t npad;       /* transport padding bytes so far */
    uint32_t nparts;     /* parts begun */
    uint64_t part_bytes; /* content reported for the current part */
    uint64_t part_max;   /* its limit */
    uint64_t body_bytes; /* everything consumed */
    uint32_t max_parts, max_header;
    uint64_t max_field, max_file, max_body;
    char *hbuf; /* the header section; hlen <= max_header */
    size_t hlen;
    size_t hline; /* bytes in the current header line */
    bool hcr;     /* the last header byte was CR */
    char *vbuf;   /* unquoted name and filename; max_header */
    struct cio_multipart_header hdrs[MAX_HEADERS];
    size_t nhdrs;
    struct cio_str name, filename, ctype;
    bool has_filename;
};

int cio_multipart_parser_new(cio_multipart_parser **out,
                             struct cio_str content_type,
                             const struct cio_multipart_parser_opts *opts)
{
    struct cio_multipart_parser_opts o = {0};
    char b[CIO_MULTIPART_BOUNDARY_MAX + 1];
    cio_multipart_parser *p;
    int blen;

    if (out == NULL)
        return cio__err(CIO_EINVAL, "out is NULL");
    if (opts != NULL)
        o = *opts;
    if (o.max_header_bytes > (1u << 20))
        return cio__err(CIO_EINVAL, "multipart: max_header_bytes above 1 MiB");
    blen = cio_multipart_boundary(content_type, b);
    if (blen < 0)
        return blen;
    p = cio__calloc(1, sizeof(*p));
    if (p == NULL)
        return CIO_ENOMEM;
    p->max_parts = o.max_parts ? o.max_parts : 1000;
    p->max_header = o.max_header_bytes ? o.max_header_bytes : 8192;
    p->max_field = o.max_field_bytes ? o.max_field_bytes : (1u << 20);
    p->max_file = o.max_file_bytes ? o.max_file_bytes : UINT64_MAX;
    p->max_body = o.max_body_bytes ? o.max_body_bytes : UINT64_MAX;
    p->hbuf = cio__malloc(2 * (size_t)p->max_header);
    if (p->hbuf == NULL) {
        cio__free(p);
        return CIO_ENOMEM;
    }
    p->vbuf = p->hbuf + p->max_header;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, b, (size_t)blen);
    p->dlen = 4 + (size_t)blen;
    /* The first delimiter may open the body without the CRLF that other
     * delimiters start with (RFC 2046: dash-boundary): act as if a CRLF
     * came before the first byte. */
    p->st = P_PREAMBLE;
    p->m = 2;
    *out = p;
    return 0;
}

void cio_multipart_parser_free(cio_multipart_parser *p)
{
    if (p == NULL)
        return;
    cio__free(p->hbuf);
    cio__free(p);
}

#define FAIL(p, code, ...) ((p)->err = cio__err((code), __VA_ARGS__))

/*
 * Makes filename safe to use as a name, never as a path (RELIABILITY 79):
 * the part after the last '/' or '\\', "." and ".." -> "". A control byte
 * but HTAB (NUL from filename*=...%00) fails the whole body rather than
 * being cut at or dropped (CVE-style truncation).
 */
static int clean_filename(cio_multipart_parser *p, struct cio_str *fn)
{
    size_t start = 0;
    for (size_t i = 0; i < fn->len; i++) {
        unsigned char c = (unsigned char)fn->ptr[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return FAIL(p, CIO_EPROTO,
                        "multipart: byte 0x%02x in the "
                        "filename of part %u",
                        c, p->nparts - 1);
        if (c == '/' || c == '\\')
            start = i + 1;
    }
    fn->ptr += start;
    fn->len -= start;
    if ((fn->len == 1 && fn->ptr[0] == '.') ||
        (fn->len == 2 && fn->ptr[0] == '.' && fn->ptr[1] == '.'))
        fn->len = 0;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 8187 ext-value: charset "'" [language] "'" pct-encoded bytes, written
 * decoded to dst. The bytes are passed on whatever the charset. */
static int ext_value(cio_multipart_parser *p, struct cio_str v, char *dst,
                     size_t *outlen)
{
    const char *q1 = memchr(v.ptr, '\'', v.len), *q2;
    size_t o = 0, i;

    if (q1 == NULL)
        return FAIL(p, CIO_EPROTO, "multipart: filename* without charset");
    q2 = memchr(q1 + 1, '\'', v.len - (size_t)(q1 + 1 - v.ptr));
    if (q2 == NULL)
        return FAIL(p, CIO_EPROTO, "multipart: filename* without language");
    for (i = (size_t)(q2 + 1 - v.ptr); i < v.len; i++) {
        if (v.ptr[i] == '%') {
            int hi = i + 2 < v.len ? hexval(v.ptr[i + 1]) : -1;
            int lo = i + 2 < v.len ? hexval(v.ptr[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return FAIL(p, CIO_EPROTO,
                            "multipart: bad %%-escape in "
                            "filename*");
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            dst[o++] = v.ptr[i];
        }
    }
    *outlen = o;
    return 0;
}

/* Content-Disposition: form-data; name="..."[; filename="..."] */
static int parse_disposition(cio_multipart_parser *p, struct cio_str v)
{
    size_t pos = skip_token(v.ptr, v.len, 0), o = 0, n;
    struct cio_str type = {v.ptr, pos}, fnx = {NULL, 0};
    bool have_name = false, have_fn = false, have_fnx = false;
    struct param pm;
    int rc;

    if (!ieq(type, "form-data"))
        return FAIL(p, CIO_EPROTO,
                    "multipart: part %u: disposition "
                    "\"%.*s\" is not form-data",
                    p->nparts - 1, (int)(v.len > 40 ? 40 : v.len), v.ptr);
    while ((rc = next_param(v.ptr, v.len, &pos, &pm)) == 1) {
        if (ieq(pm.name, "name")) {
            if (have_name)
                return FAIL(p, CIO_EPROTO, "multipart: part %u: two names",
                            p->nparts - 1);
            have_name = true;
            n = unquote(p->vbuf + o, pm.val, pm.quoted);
            p->name = (struct cio_str){p->vbuf + o, n};
            o += n;
        } else if (ieq(pm.name, "filename")) {
            if (have_fn)
                return FAIL(p, CIO_EPROTO,
                            "multipart: part %u: two "
                            "filenames",
                            p->nparts - 1);
            have_fn = true;
            n = unquote(p->vbuf + o, pm.val, pm.quoted);
            p->filename = (struct cio_str){p->vbuf + o, n};
            o += n;
        } else if (ieq(pm.name, "filename*")) {
            if (have_fnx)
                return FAIL(p, CIO_EPROTO,
                            "multipart: part %u: two "
                            "filename* parameters",
                            p->nparts - 1);
            have_fnx = true;
            fnx = pm.val;
            if (pm.quoted) /* RFC 8187 ext-value is a bare token-like value */
                return FAIL(p, CIO_EPROTO, "multipart: quoted filename*");
        }
    }
    if (rc < 0) {
        p->err = rc;
        return rc;
    }
    if (!have_name)
        return FAIL(p, CIO_EPROTO,
                    "multipart: part %u has no name "
                    "(RFC 7578 §4.2)",
                    p->nparts - 1);
    /* RFC 7578 §4.2: senders must not use filename*; old ones did, alone. */
    if (!have_fn && have_fnx) {
        rc = ext_value(p, fnx, p->vbuf + o, &n);
        if (rc < 0)
            return rc;
        p->filename = (struct cio_str){p->vbuf + o, n};
        have_fn = true;
    }
    p->has_filename = have_fn;
    if (have_fn)
        return clean_filename(p, &p->filename);
    return 0;
}

/* Splits hbuf (complete header section) into lines and checks them. */
static int parse_headers(cio_multipart_parser *p)
{
    const char *s = p->hbuf, *end = p->hbuf + p->hlen - 2; /* final CRLF */
    bool have_cd = false, have_ct = false;
    struct cio_str cd = {NULL, 0};

    p->nhdrs = 0;
    p->name = p->filename = p->ctype = (struct cio_str){NULL, 0};
    p->has_filename = false;
    while (s < end) {
        const char *eol = memchr(s, '\r', (size_t)(end - s));
        const char *colon, *v, *ve;

        /* Lines end in CRLF (checked as they came in). */
        if (is_ows(*s))
            return FAIL(p, CIO_EHEADER,
                        "multipart: part %u: folded header "
                        "line",
                        p->nparts - 1);
        colon = memchr(s, ':', (size_t)(eol - s));
        if (colon == NULL || colon == s)
            return FAIL(p, CIO_EHEADER,
                        "multipart: part %u: header line "
                        "without a name and ':'",
                        p->nparts - 1);
        for (const char *c = s; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return FAIL(p, CIO_EHEADER,
                            "multipart: part %u: byte 0x%02x "
                            "in a header name",
                            p->nparts - 1, (unsigned char)*c);
        v = colon + 1;
        ve = eol;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        for (const char *c = v; c < ve; c++)
            if (!is_vbyte((unsigned char)*c))
                return FAIL(p, CIO_EHEADER,
                            "multipart: part %u: byte 0x%02x "
                            "in a header value",
                            p->nparts - 1, (unsigned char)*c);
        if (p->nhdrs == MAX_HEADERS)
            return FAIL(p, CIO_EHEADER,
                        "multipart: part %u has more than %d "
                        "headers",
                        p->nparts - 1, MAX_HEADERS);
        struct cio_multipart_header *h = &p->hdrs[p->nhdrs++];
        h->name = (struct cio_str){s, (size_t)(colon - s)};
        h->value = (struct cio_str){v, (size_t)(ve - v)};
        if (ieq(h->name, "content-disposition")) {
            if (have_cd)
                return FAIL(p, CIO_EPROTO,
                            "multipart: part %u: two "
                            "Content-Disposition headers",
                            p->nparts - 1);
            have_cd = true;
            cd = h->value;
        } else if (ieq(h->name, "content-type")) {
            if (have_ct)
                return FAIL(p, CIO_EPROTO,
                            "multipart: part %u: two "
                            "Content-Type headers",
                            p->nparts - 1);
            have_ct = true;
            p->ctype = h->value;
        }
        s = eol + 2;
    }
    if (!have_cd)
        return FAIL(p, CIO_EPROTO,
                    "multipart: part %u has no "
                    "Content-Disposition (RFC 7578 §4.2)",
                    p->nparts - 1);
    return parse_disposition(p, cd);
}

/* Counts content toward the part's limit. */
static int account(cio_multipart_parser *p, size_t n)
{
    p->part_bytes += n;
    if (p->part_bytes > p->part_max)
        return FAIL(p, CIO_ETOOBIG,
                    "multipart: part %u (\"%.*s\") exceeds "
                    "%llu bytes",
                    p->nparts - 1, (int)(p->name.len > 40 ? 40 : p->name.len),
                    p->name.ptr, (unsigned long long)p->part_max);
    return 0;
}

static void ev_data(cio_multipart_parser *p, struct cio_multipart_event *ev,
                    const char *ptr, size_t n)
{
    ev->type = CIO_MULTIPART_DATA;
    ev->part = p->nparts - 1;
    ev->data = (struct cio_str){ptr, n};
}

/*
 * P_PREAMBLE and P_DATA: looks for the delimiter in buf[*i..lim). Returns 1
 * when it was found (consumed), 0 otherwise; *emitted says whether ev got
 * DATA. Content is reported only in P_DATA.
 */
static int scan(cio_multipart_parser *p, const char *buf, size_t *i, size_t lim,
                struct cio_multipart_event *ev)
{
    bool data = p->st == P_DATA;
    const char *d = p->delim;
    size_t dlen = p->dlen;

    if (p->m > 0) {
        size_t k = *i;
        while (k < lim && p->m < dlen && buf[k] == d[p->m]) {
            p->m++;
            k++;
        }
        *i = k;
        if (p->m == dlen) {
            p->m = 0;
            return 1;
        }
        if (k == lim)
            return 0;
        /* Mismatch: the held bytes were content. No delimiter can start
         * inside them (CR appears in the delimiter only first), so scanning
         * resumes at buf[k]. */
        size_t held = p->m;
        p->m = 0;
        if (data) {
            if (account(p, held) < 0)
                return p->err;
            ev_data(p, ev, d, held);
        }
        return 0;
    }

    const char *s = buf + *i;
    size_t n = lim - *i, j = 0, k, q;
    for (;;) {
        const char *cr = memchr(s + j, '\r', n - j);
        if (cr == NULL) {
            k = n;
            *i = lim;
            break;
        }
        k = (size_t)(cr - s);
        for (q = 1; k + q < n && q < dlen && s[k + q] == d[q]; q++)
            ;
        if (q == dlen) {
            if (k > 0) { /* content first; the delimiter next */
                *i += k;
                break;
            }
            *i += dlen;
            return 1;
        }
        if (k + q == n) { /* a delimiter may start here */
            p->m = q;
            *i = lim;
            break;
        }
        j = k + 1;
    }
    if (data && k > 0) {
        if (account(p, k) < 0)
            return p->err;
        ev_data(p, ev, s, k);
    }
    return 0;
}

ptrdiff_t cio_multipart_parser_feed(cio_multipart_parser *p, const char *buf,
                                    size_t len, struct cio_multipart_event *ev)
{
    size_t i = 0, lim = len;
    int rc;

    if (p == NULL || ev == NULL || (buf == NULL && len > 0))
        return cio__err(CIO_EINVAL, "multipart: NULL argument");
    if (p->err < 0)
        return cio__err(p->err, "multipart: the body was rejected before");
    memset(ev, 0, sizeof(*ev));
    if (len > PTRDIFF_MAX)
        lim = PTRDIFF_MAX;
    /* Bytes past the limit are never looked at, so the verdict does not
     * depend on how the body was split. */
    if (p->max_body - p->body_bytes < lim) {
        if (p->body_bytes == p->max_body)
            return FAIL(p, CIO_ETOOBIG, "multipart: body exceeds %llu bytes",
                        (unsigned long long)p->max_body);
        lim = (size_t)(p->max_body - p->body_bytes);
    }

    while (i < lim && ev->type == CIO_MULTIPART_NONE) {
        unsigned char c = (unsigned char)buf[i];
        switch (p->st) {
        case P_PREAMBLE:
        case P_DATA:
            rc = scan(p, buf, &i, lim, ev);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                if (p->st == P_DATA) {
                    ev->type = CIO_MULTIPART_PART_END;
                    ev->part = p->nparts - 1;
                }
                p->st = P_AFTER;
            }
            break;
        case P_AFTER:
            i++;
            if (c == '-') {
                p->st = P_DASH;
            } else if (is_ows((char)c)) {
                p->st = P_PAD;
                p->npad = 1;
            } else if (c == '\r') {
                p->st = P_CR;
            } else {
                return FAIL(p, CIO_EPROTO,
                            "multipart: byte 0x%02x after a "
                            "delimiter",
                            c);
            }
            break;
        case P_DASH:
            i++;
            if (c != '-')
                return FAIL(p, CIO_EPROTO,
                            "multipart: byte 0x%02x after "
                            "delimiter \"-\"",
                            c);
            p->st = P_EPILOGUE;
            ev->type = CIO_MULTIPART_END;
            ev->part = p->nparts;
            break;
        case P_PAD:
            i++;
            if (c == '\r') {
                p->st = P_CR;
            } else if (!is_ows((char)c) || ++p->npad > MAX_PAD) {
                return FAIL(p, CIO_EPROTO,
                            "multipart: bad transport "
                            "padding after a delimiter");
            }
            break;
        case P_CR:
            i++;
            if (c != '\n')
                return FAIL(p, CIO_EPROTO,
                            "multipart: delimiter line not "
                            "ended by CRLF");
            if (p->nparts == p->max_parts)
                return FAIL(p, CIO_ETOOBIG, "multipart: more than %u parts",
                            p->max_parts);
            p->nparts++;
            p->st = P_HEAD;
            p->hlen = p->hline = 0;
            p->hcr = false;
            break;
        case P_HEAD:
            for (; i < lim; i++) {
                c = (unsigned char)buf[i];
                if (p->hlen == p->max_header)
                    return FAIL(p, CIO_EHEADER,
                                "multipart: part %u: header "
                                "section exceeds %u bytes",
                                p->nparts - 1, p->max_header);
                p->hbuf[p->hlen++] = (char)c;
                if (p->hcr) {
                    if (c != '\n')
                        return FAIL(p, CIO_EHEADER,
                                    "multipart: part %u: CR "
                                    "without LF in headers",
                                    p->nparts - 1);
                    p->hcr = false;
                    if (p->hline == 0)
                        break;
                    p->hline = 0;
                } else if (c == '\r') {
                    p->hcr = true;
                } else if (c == '\n') {
                    return FAIL(p, CIO_EHEADER,
                                "multipart: part %u: bare LF "
                                "in headers",
                                p->nparts - 1);
                } else {
                    p->hline++;
                }
            }
            if (i == lim)
                break;
            i++;
            rc = parse_headers(p);
            if (rc < 0)
                return rc;
            p->st = P_DATA;
            p->m = 0;
            p->part_bytes = 0;
            p->part_max = p->has_filename ? p->max_file : p->max_field;
            ev->type = CIO_MULTIPART_PART_BEGIN;
            ev->part = p->nparts - 1;
            ev->name = p->name;
            ev->filename = p->filename;
            ev->has_filename = p->has_filename;
            ev->content_type = p->ctype;
            ev->headers = p->hdrs;
            ev->nheaders = p->nhdrs;
            break;
        case P_EPILOGUE:
            i = lim;
            break;
        }
    }
    p->body_bytes += i;
    return (ptrdiff_t)i;
}

int cio_multipart_parser_finish(cio_multipart_parser *p)
{
    if (p->err < 0)
        return cio__err(p->err, "multipart: the body was rejected before");
    if (p->st != P_EPILOGUE)
        return FAIL(p, CIO_EPROTO, "%s",
                    p->st == P_PREAMBLE
                        ? "multipart: no delimiter in the body"
                        : "multipart: body ends before the closing delimiter");
    return 0;
}
