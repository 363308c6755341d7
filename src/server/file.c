/* SPDX-License-Identifier: MIT */
/*
 * Serving files: cio_resp_file and the static directory handler
 * (cio_app_static). The decisions (validators, preconditions, ranges, path
 * resolution) are pure code in conditional.c, range.c and static_resolve.c;
 * this file reads the request, picks the representation (identity, a
 * precompressed sibling, or compression on the fly) and writes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <corio/http/url.h>
#include <corio/server.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/errmsg.h"
#include "http/coding.h"
#include "server/coldfile.h"
#include "server/conditional.h"
#include "server/range.h"
#include "server/server_int.h"
#include "server/static.h"

#define DEFAULT_MAX_RANGES 16u
/* Smaller bodies are not compressed on the fly: the coding's framing and
 * the chunked encoding would eat most of the gain. */
#define COMPRESS_MIN 1024
#define READ_CHUNK (64 * 1024)

/* Where a file's precompressed siblings are looked up: beneath a static
 * root (dirfd + relative path) or at a plain path (cio_resp_file). */
struct file_src {
    int dirfd;        /* -1 for a plain path */
    const char *path; /* relative to dirfd, or plain */
    unsigned flags;   /* CIO__RESOLVE_* for dirfd */
};

/* The representation chosen to be sent. */
struct rep {
    int fd;
    struct stat st;
    enum cio__coding coding; /* of the bytes on disk, or to apply */
    bool on_the_fly;         /* coding applied while sending */
};

static const struct {
    enum cio__coding coding;
    const char *ext;
} siblings[] = {
    {CIO__CODING_BR, ".br"},
    {CIO__CODING_ZSTD, ".zst"},
    {CIO__CODING_GZIP, ".gz"},
};

/* Media types worth compressing (RFC 6838 structured suffixes included);
 * everything else (images, video, archives, fonts in woff2 ...) is
 * already compressed or gains little. */
static bool compressible(const char *ct)
{
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char *const exact[] = {
        "application/json",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/xml",
        "application/xhtml+xml",
        "application/wasm",
        "application/x-ndjson",
        "application/graphql-response+json",
        "image/svg+xml",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "font/ttf",
        "font/otf",
        "application/vnd.ms-fontobject",
        "application/x-sh",
        "application/x-tar",
        "application/postscript",
    };
    if (n >= 5 && strncasecmp(ct, "text/", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strlen(exact[i]) == n && strncasecmp(ct, exact[i], n) == 0)
            return true;
    return (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0) ||
           (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

/* The values of a list field joined with ", " into buf; ptr NULL when
 * absent or too long to hold (then the field is treated as absent). */
static struct cio_str field_list(cio_req *req, const char *name, char *buf,
                                 size_t cap)
{
    const cio_headers *h = cio_req_headers(req);
    if (h == NULL || cio_headers_count_name(h, name) == 0)
        return (struct cio_str){NULL, 0};
    ptrdiff_t n = cio_headers_join(h, name, buf, cap);
    if (n < 0)
        return (struct cio_str){NULL, 0};
    return (struct cio_str){buf, (size_t)n};
}

/* A singleton field: ignored when it appears more than once (RFC 9110
 * §13.1.3: "more than one member"). */
static struct cio_str field_one(cio_req *req, const char *name)
{
    const cio_headers *h = cio_req_headers(req);
    if (h == NULL || cio_headers_count_name(h, name) != 1)
        return (struct cio_str){NULL, 0};
    return cio_str_c(cio_headers_get(h, name));
}

static int open_sibling(const struct file_src *src, const char *ext, int *fd,
                        struct stat *st)
{
    size_t n = strlen(src->path), e = strlen(ext);
    char *p = cio__malloc(n + e + 1);
    if (p == NULL)
        return CIO_ENOMEM;
    memcpy(p, src->path, n);
    memcpy(p + n, ext, e + 1);
    if (src->dirfd >= 0) {
        int rc = cio__static_open(src->dirfd, p, src->flags, fd, st);
        cio__free(p);
        if (rc == 0 && !S_ISREG(st->st_mode)) {
            close(*fd);
            return 404;
        }
        return rc;
    }
    int f = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    cio__free(p);
    if (f < 0)
        return 404;
    if (fstat(f, st) < 0 || !S_ISREG(st->st_mode)) {
        close(f);
        return 404;
    }
    *fd = f;
    return 0;
}

/*
 * Picks the representation: a precompressed sibling the client prefers
 * (tried best first; a missing one drops out of the offer), else
 * compression on the fly when allowed, else the file as it is. rep->fd
 * starts as the file itself and is replaced by a sibling's.
 */
static void choose(cio_req *req, const struct file_src *src,
                   const struct cio_file_opts *o, const char *ctype,
                   bool ranged, struct rep *rep, bool *vary)
{
    char abuf[1024];
    struct cio_str accept =
        field_list(req, "accept-encoding", abuf, sizeof(abuf));
    bool fly = !o->no_compress && !ranged && compressible(ctype) &&
               rep->st.st_size >= COMPRESS_MIN;

    *vary = o->precompressed || fly;
    if (accept.ptr == NULL)
        return;
    if (o->precompressed && src != NULL) {
        unsigned offer = 0;
        for (size_t i = 0; i < 3; i++)
            if (cio__coding_can_encode(siblings[i].coding))
                offer |= CIO__CODING_BIT(siblings[i].coding);
        while (offer != 0) {
            enum cio__coding c;
            if (cio__coding_negotiate(accept, offer, &c) < 0 ||
                c == CIO__CODING_IDENTITY)
                break;
            offer &= ~CIO__CODING_BIT(c);
            for (size_t i = 0; i < 3; i++) {
                int fd;
                struct stat st;
                if (siblings[i].coding != c ||
                    open_sibling(src, siblings[i].ext, &fd, &st) != 0)
                    continue;
                close(rep->fd);
                rep->fd = fd;
                rep->st = st;
                rep->coding = c;
                return;
            }
        }
    }
    if (fly) {
        enum cio__coding c;
        if (cio__coding_negotiate(accept, 0, &c) == 0 &&
            c != CIO__CODING_IDENTITY) {
            rep->coding = c;
            rep->on_the_fly = true;
        }
    }
}

static int set_u64(cio_resp *res, const char *name, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    return cio_resp_set_header(res, name, b);
}

/* Writes the file's bytes [off, off + len): sendfile where the server
 * can (cleartext), else it copies. A file that shrank fails the call
 * (the server then aborts the connection: RELIABILITY 76). */
static int send_range(cio_resp *res, int fd, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    return cio_resp_sendfile(res, fd, (off_t)off, len);
}

static int sink_write(void *ud, const void *buf, size_t len)
{
    return cio_resp_write(ud, buf, len);
}

/* Compresses the file into the (chunked) body as it is read. */
static int send_compressed(cio_resp *res, const struct rep *rep)
{
    struct cio__encoder *enc;
    int rc = cio__encoder_new(&enc, rep->coding, NULL);
    if (rc < 0)
        return rc;
    char *buf = cio__malloc(READ_CHUNK);
    if (buf == NULL) {
        rc = CIO_ENOMEM;
        goto fail_enc;
    }
    uint64_t off = 0, size = (uint64_t)rep->st.st_size;
    while (off < size) {
        size_t want =
            size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK;
        if (off % CIO__FILE_CHUNK == 0) {
            /* not from the disk on the loop: docs/server-files.md */
            uint64_t n = size - off;
            rc = cio__file_warm(rep->fd, (off_t)off,
                                n < CIO__FILE_CHUNK ? n : CIO__FILE_CHUNK,
                                cio_now() + res->req->srv->to.write_ms);
            if (rc < 0)
                goto fail_buf;
        }
        ssize_t n = pread(rep->fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* Shrunk or failing: abort rather than pad (RELIABILITY 76). */
            rc = n < 0 ? -errno : CIO_EPROTO;
            goto fail_buf;
        }
        rc = cio__encoder_write(enc, buf, (size_t)n, sink_write, res);
        if (rc < 0)
            goto fail_buf;
        off += (uint64_t)n;
    }
    rc = cio__encoder_end(enc, sink_write, res);
fail_buf:
    cio__free(buf);
fail_enc:
    cio__encoder_free(enc);
    return rc;
}

/* multipart/byteranges (RFC 9110 §14.6): a part head per range. */
static int part_head(char *buf, size_t cap, const char *boundary,
                     const char *ctype, const struct cio__range *r,
                     uint64_t size, bool first)
{
    return snprintf(buf, cap,
                    "%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes "
                    "%" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
                    first ? "" : "\r\n", boundary, ctype, r->first, r->last,
                    size);
}

static int send_multipart(cio_req *req, cio_resp *res, const struct rep *rep,
                          const char *ctype, const struct cio__range *r,
                          size_t n, bool head)
{
    unsigned char rnd[12];
    char boundary[32], ct[96], ph[512];
    uint64_t size = (uint64_t)rep->st.st_size;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return cio__err(-errno, "getrandom: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(boundary + 2 * i, 3, "%02x", rnd[i]);
    if (strlen(ctype) > 200)
        ctype = "application/octet-stream";
    /* The length is known in advance: no chunked framing needed. */
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (uint64_t)part_head(ph, sizeof(ph), boundary, ctype, &r[i],
                                     size, i == 0) +
                 r[i].last - r[i].first + 1;
    int close_len = snprintf(ph, sizeof(ph), "\r\n--%s--\r\n", boundary);
    total += (uint64_t)close_len;
    snprintf(ct, sizeof(ct), "multipart/byteranges; boundary=%s", boundary);
    int rc = cio_resp_set_header(res, "Content-Type", ct);
    if (rc == 0)
        rc = set_u64(res, "Content-Length", total);
    if (rc == 0)
        rc = cio_resp_prepare(res);
    if (rc < 0 || head)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int len =
            part_head(ph, sizeof(ph), boundary, ctype, &r[i], size, i == 0);
        rc = cio_resp_write(res, ph, (size_t)len);
        if (rc == 0)
            rc = send_range(res, rep->fd, r[i].first,
                            r[i].last - r[i].first + 1);
    }
    if (rc == 0) {
        snprintf(ph, sizeof(ph), "\r\n--%s--\r\n", boundary);
        rc = cio_resp_write(res, ph, (size_t)close_len);
    }
    (void)req;
    return rc;
}

/*
 * Serves the open regular file rep->fd (owned: closed here). name gives
 * the media type when opts has none; src finds precompressed siblings.
 */
static int serve(cio_req *req, cio_resp *res, struct rep *rep, const char *name,
                 const struct file_src *src, const struct cio_file_opts *o)
{
    const char *method = cio_req_method(req);
    bool is_head = strcmp(method, "HEAD") == 0;
    bool get_or_head = is_head || strcmp(method, "GET") == 0;
    const char *ctype = o->content_type ? o->content_type : cio_mime_type(name);
    size_t max_ranges = o->max_ranges ? o->max_ranges : DEFAULT_MAX_RANGES;
    struct cio_str range = {NULL, 0};
    bool vary;
    int rc;

    if (!o->no_range && strcmp(method, "GET") == 0)
        range = field_one(req, "range");
    /* A ranged request gets identity or a sibling, never compression on
     * the fly (whose bytes are not stable enough to slice). */
    choose(req, src, o, ctype, range.ptr != NULL, rep, &vary);

    /* Validators of the chosen representation. */
    char etag[CIO__ETAG_MAX], lm[CIO_HTTP_DATE_LEN + 1];
    struct cio__validators v = {.has_mtime = true,
                                .mtime = rep->st.st_mtim.tv_sec};
    if (!o->no_etag) {
        const char *sfx = rep->coding == CIO__CODING_IDENTITY ? NULL
                          : rep->coding == CIO__CODING_ZSTD   ? "zst"
                          : rep->coding == CIO__CODING_BR     ? "br"
                                                              : "gz";
        size_t len =
            cio__etag_make(etag, (uint64_t)rep->st.st_size,
                           rep->st.st_mtim.tv_sec, rep->st.st_mtim.tv_nsec,
                           (uint64_t)rep->st.st_ino, rep->on_the_fly, sfx);
        v.etag = (struct cio_str){etag, len};
    }
    bool has_lm = cio_http_date_format(rep->st.st_mtim.tv_sec, lm) > 0;
    v.has_mtime = has_lm;
    /* RFC 9110 §8.8.2.2: a Last-Modified less than a second before now
     * could be followed by another change in the same second: weak. */
    v.mtime_strong = has_lm && rep->st.st_mtim.tv_sec + 1 < time(NULL);

    char inm[2048], im[2048];
    struct cio__cond_req cq = {
        .if_match = field_list(req, "if-match", im, sizeof(im)),
        .if_none_match = field_list(req, "if-none-match", inm, sizeof(inm)),
        .if_modified_since = field_one(req, "if-modified-since"),
        .if_unmodified_since = field_one(req, "if-unmodified-since"),
        .if_range = field_one(req, "if-range"),
        .get_or_head = get_or_head,
        .has_range = range.ptr != NULL,
    };
    int status = cio__cond_eval(&cq, &v);

    /* Headers common to every answer about this representation. */
    rc = 0;
    if (v.etag.ptr != NULL)
        rc = cio_resp_set_header(res, "ETag", etag);
    if (rc == 0 && has_lm)
        rc = cio_resp_set_header(res, "Last-Modified", lm);
    if (rc == 0 && vary)
        rc = cio_resp_add_header(res, "Vary", "Accept-Encoding");
    if (rc == 0 && o->cache_control != NULL)
        rc = cio_resp_set_header(res, "Cache-Control", o->cache_control);
    if (rc < 0)
        goto out;
    if (status == 304) {
        cio_resp_set_status(res, 304);
        goto out;
    }
    if (status == 412) {
        rc = cio_resp_error(res, 412, NULL);
        goto out;
    }

    struct cio__range ranges[CIO__RANGE_MAX_SPECS];
    size_t nranges = 0;
    uint64_t size = (uint64_t)rep->st.st_size;
    if (status == 206)
        status = cio__range_parse(range, size, ranges, max_ranges, &nranges);
    if (status == 416) {
        char cr[40];
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        rc = cio_resp_set_header(res, "Content-Range", cr);
        if (rc == 0)
            rc = cio_resp_error(res, 416, NULL);
        goto out;
    }
    if (!o->no_range && !rep->on_the_fly)
        rc = cio_resp_set_header(res, "Accept-Ranges", "bytes");
    if (rc == 0 && rep->coding != CIO__CODING_IDENTITY)
        rc = cio_resp_set_header(res, "Content-Encoding",
                                 cio__coding_name(rep->coding));
    if (rc < 0)
        goto out;
    cio_resp_set_status(res, status);
    if (status == 206 && nranges > 1) {
        rc = send_multipart(req, res, rep, ctype, ranges, nranges, is_head);
        goto out;
    }
    rc = cio_resp_set_header(res, "Content-Type", ctype);
    if (rc < 0)
        goto out;
    if (rep->on_the_fly) {
        /* No Content-Length: chunked (HTTP/1.1) or close-delimited. */
        rc = cio_resp_prepare(res);
        if (rc == 0 && !is_head)
            rc = send_compressed(res, rep);
        goto out;
    }
    uint64_t off = 0, len = size;
    if (status == 206) {
        char cr[72];
        off = ranges[0].first;
        len = ranges[0].last - ranges[0].first + 1;
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 ranges[0].first, ranges[0].last, size);
        rc = cio_resp_set_header(res, "Content-Range", cr);
    }
    if (rc == 0)
        rc = set_u64(res, "Content-Length", len);
    if (rc == 0)
        rc = cio_resp_prepare(res);
    if (rc == 0 && !is_head)
        rc = send_range(res, rep->fd, off, len);
out:
    close(rep->fd);
    rep->fd = -1;
    if (rc == 0 && cio_resp_prepared(res))
        rc = cio_resp_finish(res);
    return rc;
}

static const struct cio_file_opts no_opts;

int cio_resp_file(cio_req *req, cio_resp *res, const char *path,
                  const struct cio_file_opts *opts)
{
    struct rep rep = {.fd = -1};
    const struct cio_file_opts *o = opts ? opts : &no_opts;

    rep.fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (rep.fd < 0) {
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
        case ELOOP:
        case ENAMETOOLONG:
            return cio_resp_error(res, 404, NULL);
        case EACCES:
        case EPERM:
        case ENXIO: /* a socket */
        case ENODEV:
            return cio_resp_error(res, 403, NULL);
        default: /* EMFILE ...: the server's problem, a 500 */
            return cio__err(-errno, "open %.200s: %s", path, strerror(errno));
        }
    }
    if (fstat(rep.fd, &rep.st) < 0 || !S_ISREG(rep.st.st_mode)) {
        /* Directories, FIFOs, devices, sockets (RELIABILITY 75). */
        bool dir = S_ISDIR(rep.st.st_mode);
        close(rep.fd);
        return cio_resp_error(res, dir ? 404 : 403, NULL);
    }
    struct file_src src = {.dirfd = -1, .path = path};
    return serve(req, res, &rep, path, &src, o);
}

/* ------------------------------------------------------------ static */

struct static_ctx {
    int rootfd;
    unsigned flags;
    bool list_dirs;
    struct cio_file_opts file;
    char *content_type;
    char *cache_control;
    char *index; /* "" = none */
};

static void static_ctx_free(void *p)
{
    struct static_ctx *c = p;
    if (c == NULL)
        return;
    if (c->rootfd >= 0)
        close(c->rootfd);
    cio__free(c->content_type);
    cio__free(c->cache_control);
    cio__free(c->index);
    cio__free(c);
}

/* Whether the raw target holds an encoded NUL: decoding would cut the
 * name short ("/index.html%00.txt", RELIABILITY 73). */
static bool has_pct00(const char *raw)
{
    for (const char *p = strchr(raw, '%'); p != NULL; p = strchr(p + 1, '%'))
        if (p[1] == '0' && p[2] == '0')
            return true;
    return false;
}

#define LIST_MAX_ENTRIES 10000
#define LIST_MAX_BYTES (4u << 20)

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends s with HTML's five special characters escaped. */
static int put_html(struct cio__buf *b, const char *s)
{
    int rc = 0;
    for (; *s != '\0' && rc == 0; s++) {
        switch (*s) {
        case '&':
            rc = cio__buf_append(b, "&amp;", 5);
            break;
        case '<':
            rc = cio__buf_append(b, "&lt;", 4);
            break;
        case '>':
            rc = cio__buf_append(b, "&gt;", 4);
            break;
        case '"':
            rc = cio__buf_append(b, "&quot;", 6);
            break;
        case '\'':
            rc = cio__buf_append(b, "&#39;", 5);
            break;
        default:
            rc = cio__buf_append(b, s, 1);
        }
    }
    return rc;
}

/*
 * An HTML listing of the open directory dfd (owned: closed here). Names are
 * HTML-escaped in the text and percent-encoded (every byte but the
 * unreserved ones) in the links, so a name can never become markup or a
 * scheme ("javascript:"). Entries that static_handler would not serve are
 * left out: dotfiles (unless shown), symlinks (unless followed), special
 * files.
 */
static int send_listing(cio_resp *res, const struct static_ctx *c, int dfd,
                        const char *title)
{
    DIR *d = fdopendir(dfd);
    char **names = NULL;
    size_t n = 0;
    struct cio__buf b;
    int rc = 0;

    if (d == NULL) {
        close(dfd);
        return cio__err(-errno, "fdopendir: %s", strerror(errno));
    }
    names = cio__calloc(LIST_MAX_ENTRIES, sizeof(*names));
    if (names == NULL) {
        closedir(d);
        return CIO_ENOMEM;
    }
    for (struct dirent *e = readdir(d); e != NULL && n < LIST_MAX_ENTRIES;
         e = readdir(d)) {
        struct stat st;
        if (e->d_name[0] == '.' &&
            (!(c->flags & CIO__RESOLVE_DOTFILES) || e->d_name[1] == '\0' ||
             (e->d_name[1] == '.' && e->d_name[2] == '\0')))
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISLNK(st.st_mode) && (c->flags & CIO__RESOLVE_FOLLOW) &&
            fstatat(dirfd(d), e->d_name, &st, 0) < 0)
            continue;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            continue;
        size_t len = strlen(e->d_name);
        names[n] = cio__malloc(len + 2);
        if (names[n] == NULL) {
            rc = CIO_ENOMEM;
            break;
        }
        memcpy(names[n], e->d_name, len);
        names[n][len] = S_ISDIR(st.st_mode) ? '/' : '\0';
        names[n][len + 1] = '\0';
        n++;
    }
    closedir(d);
    if (rc < 0)
        goto done;
    qsort(names, n, sizeof(*names), cmp_names);

    cio__buf_init(&b, LIST_MAX_BYTES);
    rc = cio__buf_printf(&b,
                         "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                         "<title>Index of ");
    if (rc == 0)
        rc = put_html(&b, title);
    if (rc == 0)
        rc = cio__buf_printf(&b, "</title></head>\n<body><h1>Index of ");
    if (rc == 0)
        rc = put_html(&b, title);
    if (rc == 0)
        rc = cio__buf_printf(&b, "</h1>\n<ul>\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(names[i]);
        bool dir = names[i][len - 1] == '/';
        ptrdiff_t need =
            cio_pct_encode(NULL, 0, names[i], len - dir, CIO_PCT_COMPONENT);
        if (need < 0) {
            rc = (int)need;
            break;
        }
        rc = cio__buf_printf(&b, "<li><a href=\"");
        if (rc == 0)
            rc = cio__buf_reserve(&b, (size_t)need + 1);
        if (rc == 0) {
            cio_pct_encode(cio__buf_tail(&b), (size_t)need + 1, names[i],
                           len - dir, CIO_PCT_COMPONENT);
            cio__buf_commit(&b, (size_t)need);
            rc = cio__buf_printf(&b, "%s\">", dir ? "/" : "");
        }
        if (rc == 0)
            rc = put_html(&b, names[i]);
        if (rc == 0)
            rc = cio__buf_printf(&b, "</a></li>\n");
    }
    if (rc == 0)
        rc = cio__buf_printf(&b, "</ul>\n</body></html>\n");
    if (rc == 0) {
        cio_resp_set_status(res, 200);
        rc = cio_resp_body(res, b.base, b.len, "text/html; charset=utf-8");
    }
    cio__buf_fini(&b);
done:
    for (size_t i = 0; i < n; i++)
        cio__free(names[i]);
    cio__free(names);
    return rc;
}

static int static_handler(cio_req *req, cio_resp *res, void *ud)
{
    struct static_ctx *c = ud;
    const char *raw = cio_req_raw_path(req);
    const char *rel = cio_req_param(req, "path");
    struct rep rep = {.fd = -1};
    char *ipath = NULL;
    int rc;

    if (raw == NULL || has_pct00(raw))
        return cio_resp_error(res, 404, NULL);
    if (rel == NULL)
        rel = "";
    rc = cio__static_open(c->rootfd, rel, c->flags, &rep.fd, &rep.st);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return cio_resp_error(res, rc, NULL);
    if (S_ISDIR(rep.st.st_mode)) {
        size_t n = strlen(rel);
        if (c->index[0] == '\0' && !c->list_dirs) {
            close(rep.fd);
            return cio_resp_error(res, 404, NULL);
        }
        if (n > 0 && rel[n - 1] != '/') {
            close(rep.fd);
            /* "/static/dir" → "/static/dir/", so that relative links in
             * the index or the listing resolve. The raw target keeps the
             * client's encoding; never a Location to another origin
             * ("//x"). */
            size_t pl = strcspn(raw, "?#");
            if (raw[0] != '/' || raw[1] == '/' || pl == 0)
                return cio_resp_error(res, 404, NULL);
            char *loc = cio__malloc(pl + 2);
            if (loc == NULL)
                return CIO_ENOMEM;
            memcpy(loc, raw, pl);
            memcpy(loc + pl, "/", 2);
            rc = cio_resp_redirect(res, 301, loc);
            cio__free(loc);
            return rc;
        }
        size_t il = strlen(c->index);
        rc = 404;
        if (il > 0) {
            ipath = cio__malloc(n + il + 1);
            if (ipath == NULL) {
                close(rep.fd);
                return CIO_ENOMEM;
            }
            memcpy(ipath, rel, n);
            memcpy(ipath + n, c->index, il + 1);
            struct rep irep = {.fd = -1};
            rc = cio__static_open(c->rootfd, ipath, c->flags, &irep.fd,
                                  &irep.st);
            if (rc == 0 && !S_ISREG(irep.st.st_mode)) {
                close(irep.fd);
                rc = 404;
            }
            if (rc == 0) {
                close(rep.fd);
                rep = irep;
                rel = ipath;
            }
        }
        if (rc != 0) {
            cio__free(ipath);
            if (rc == 404 && c->list_dirs) {
                const char *title = cio_req_path(req);
                return send_listing(res, c, rep.fd, title ? title : "/");
            }
            close(rep.fd);
            return rc < 0 ? rc : cio_resp_error(res, rc, NULL);
        }
    }
    struct file_src src = {.dirfd = c->rootfd, .path = rel, .flags = c->flags};
    rc = serve(req, res, &rep, rel, &src, &c->file);
    cio__free(ipath);
    return rc;
}

static int dup_opt(char **dst, const char *s)
{
    if (s == NULL)
        return 0;
    *dst = cio__strdup(s);
    return *dst != NULL ? 0 : CIO_ENOMEM;
}

int cio_app_static(cio_app *app, const char *prefix, const char *root,
                   const struct cio_static_opts *opts)
{
    static const struct cio_static_opts defaults;
    const struct cio_static_opts *o = opts ? opts : &defaults;
    char key[64], pattern[1024];
    int rc;

    if (app == NULL || prefix == NULL || root == NULL ||
        (prefix[0] != '\0' && prefix[0] != '/'))
        return cio__err(CIO_EINVAL,
                        "static: prefix must be \"\" or start with '/'");
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    if (plen + 16 > sizeof(pattern))
        return cio__err(CIO_EINVAL, "static: prefix too long");
    memcpy(pattern, prefix, plen);
    memcpy(pattern + plen, "/{path:.*}", sizeof("/{path:.*}"));

    struct static_ctx *c = cio__calloc(1, sizeof(*c));
    if (c == NULL)
        return CIO_ENOMEM;
    c->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->rootfd < 0) {
        rc = cio__err(CIO_EINVAL, "static: cannot open root \"%.200s\": %s",
                      root, strerror(errno));
        goto fail_ctx;
    }
    c->flags = (o->follow_symlinks ? CIO__RESOLVE_FOLLOW : 0) |
               (o->show_dotfiles ? CIO__RESOLVE_DOTFILES : 0);
    c->list_dirs = o->list_dirs;
    c->file = o->file;
    rc = dup_opt(&c->content_type, o->file.content_type);
    if (rc == 0)
        rc = dup_opt(&c->cache_control, o->file.cache_control);
    if (rc == 0)
        rc = dup_opt(&c->index, o->index != NULL ? o->index : "index.html");
    if (rc < 0)
        goto fail_ctx;
    if (strchr(c->index, '/') != NULL) {
        rc = cio__err(CIO_EINVAL, "static: index must be a file name");
        goto fail_ctx;
    }
    c->file.content_type = c->content_type;
    c->file.cache_control = c->cache_control;

    /* The app owns the context through its state (freed with the app);
     * the key is unique per context, so mounting twice frees nothing early. */
    snprintf(key, sizeof(key), "cio.static:%p", (void *)c);
    rc = cio_app_set_state(app, key, c, static_ctx_free);
    if (rc < 0)
        goto fail_ctx;
    return cio_app_route(app, "GET", pattern, static_handler, c, NULL);

fail_ctx:
    static_ctx_free(c);
    return rc;
}
