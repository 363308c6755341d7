/* SPDX-License-Identifier: MIT */
/*
 * corio get|post|put|patch|delete|head URL [ITEM...]: an httpie-style
 * client on cio_client.
 *
 * Items: Header:value  param==value  field=value (JSON string)
 *        field:=json (raw JSON)  field@file (multipart file upload).
 * A backslash escapes a separator character in a name ("a\=b=c").
 *
 * Output: on a terminal the response head and the body (JSON pretty-printed
 * and coloured); piped, the body only, unchanged. Exit status: 0, or with
 * --check-status 3/4/5 for 3xx/4xx/5xx; 2 for a timeout; 1 for any other
 * error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>
#include <jansson.h>

#include "cmd.h"
#include "progress.h"

#define EXIT_ERROR 1
#define EXIT_TIMEOUT 2
#define IO_BUF 65536

enum { SHOW_REQ_HEAD = 1, SHOW_REQ_BODY = 2, SHOW_HEAD = 4, SHOW_BODY = 8 };

struct kvlist {
    struct cio_kv *v; /* v[0..n) then {NULL, NULL} */
    size_t n, cap;
};

struct http_cli {
    char method[16];
    char *url;
    bool form, json, follow, insecure, check_status, download, resume, color;
    const char *raw, *cacert, *output;
    double timeout;
    uint32_t max_redirects;
    unsigned show;
    struct kvlist headers, params, fields;
    struct kvlist files; /* name -> path */
    json_t *data;        /* JSON body fields */
    bool has_data;
    int exit_code;
};

static void http_usage(FILE *f)
{
    fprintf(
        f,
        "usage: corio get|post|put|patch|delete|head [OPTIONS] URL "
        "[ITEM...]\n\n"
        "ITEMs:  Header:value   param==value   field=value (JSON string)\n"
        "        field:=json (raw JSON)   field@path (multipart file)\n"
        "URL:    ':8080/x' = http://localhost:8080/x; no scheme = http://\n\n"
        "  -f, --form             fields as a form (multipart when a file is "
        "given)\n"
        "  -j, --json             JSON body (the default) and Accept: "
        "application/json\n"
        "      --raw BODY         send BODY as is\n"
        "      --timeout SEC      connect/read/write timeout (fractions ok)\n"
        "  -F, --follow           follow redirects (off by default)\n"
        "      --max-redirects N  with --follow (default 30; with 0 a "
        "redirect\n"
        "                         is an error)\n"
        "      --cacert FILE      trust this CA bundle\n"
        "  -k, --insecure         do not verify the server's certificate\n"
        "      --http1.1          HTTP/1.1 only (the only version for now)\n"
        "  -v, --verbose          print the request too\n"
        "  -h, --headers          print the response head only\n"
        "  -b, --body             print the response body only\n"
        "  -d, --download         save the body to a file, with a progress "
        "bar\n"
        "  -o, --output FILE      the file for --download\n"
        "  -c, --continue         resume a --download (Range from the file's "
        "size)\n"
        "      --check-status     exit 3/4/5 on a 3xx/4xx/5xx status\n"
        "      --pretty all|none  colours and formatting (default: on a "
        "terminal)\n");
}

static int kv_push(struct kvlist *l, const char *name, const char *value)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        struct cio_kv *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return CIO_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (struct cio_kv){name, value};
    l->v[l->n] = (struct cio_kv){NULL, NULL};
    return 0;
}

static const char *kv_get(const struct kvlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i].name, name) == 0)
            return l->v[i].value;
    return NULL;
}

/* Removes backslash escapes in place. */
static char *unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        *o++ = *p;
    }
    *o = '\0';
    return s;
}

/*
 * Splits one item at its first separator (the longest one at that place):
 * "==" param, ":=" raw JSON, "=" field, "@" file, ":" header.
 */
static int parse_item(struct http_cli *h, char *item)
{
    static const char *const seps[] = {"==", ":=", "=", "@", ":"};
    for (char *p = item; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
            continue;
        }
        for (size_t k = 0; k < sizeof(seps) / sizeof(seps[0]); k++) {
            size_t sl = strlen(seps[k]);
            if (strncmp(p, seps[k], sl) != 0)
                continue;
            *p = '\0';
            char *name = unescape(item), *value = p + sl;
            if (*name == '\0')
                break;
            switch (k) {
            case 0:
                return kv_push(&h->params, name, unescape(value));
            case 4:
                return kv_push(&h->headers, name, value);
            case 3:
                h->has_data = true;
                return kv_push(&h->files, name, unescape(value));
            case 2:
                h->has_data = true;
                unescape(value);
                json_object_set_new(h->data, name, json_string(value));
                return kv_push(&h->fields, name, value);
            case 1: {
                json_error_t err;
                json_t *v = json_loads(value, JSON_DECODE_ANY, &err);
                if (v == NULL) {
                    fprintf(stderr,
                            "corio: item \"%s:=%s\": invalid JSON: %s\n", name,
                            value, err.text);
                    return CIO_EINVAL;
                }
                h->has_data = true;
                json_object_set_new(h->data, name, v);
                return kv_push(&h->fields, name, value);
            }
            }
        }
    }
    fprintf(stderr,
            "corio: \"%s\" is not an item (Header:value, param==value, "
            "field=value, "
            "field:=json, field@file)\n",
            item);
    return CIO_EINVAL;
}

/* httpie's URL shorthand: ":8080/x" -> http://localhost:8080/x, and a URL
 * without a scheme gets http://. */
static char *expand_url(const char *u)
{
    char *out = NULL;
    int n;
    if (strstr(u, "://") != NULL)
        n = asprintf(&out, "%s", u);
    else if (u[0] == ':')
        n = asprintf(&out, "http://localhost%s%s",
                     isdigit((unsigned char)u[1]) ? ":" : "", u + 1);
    else
        n = asprintf(&out, "http://%s", u);
    return n < 0 ? NULL : out;
}

/* ---------------------------------------------------------------- output */

#define C_RESET "\033[0m"
#define C_BLUE "\033[34m"
#define C_CYAN "\033[36m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED "\033[31m"
#define C_MAGENTA "\033[35m"
#define C_BOLD "\033[1m"

static const char *col(const struct http_cli *h, const char *c)
{
    return h->color ? c : "";
}

static void print_headers(FILE *f, const struct http_cli *h,
                          const cio_headers *hs)
{
    struct cio_field fl;
    for (size_t i = 0; hs != NULL && cio_headers_at(hs, i, &fl) == 0; i++)
        fprintf(f, "%s%s%s: %s\n", col(h, C_CYAN), fl.name.ptr, col(h, C_RESET),
                fl.value.ptr);
}

static void print_status(FILE *f, const struct http_cli *h, cio_response *r)
{
    int st = cio_response_status(r), v = cio_response_version(r);
    const char *sc = st < 300 ? C_GREEN : st < 400 ? C_YELLOW : C_RED;
    fprintf(f, "%sHTTP/%d.%d%s %s%s%d %s%s\n", col(h, C_BLUE), v / 10, v % 10,
            col(h, C_RESET), col(h, C_BOLD), col(h, sc), st,
            cio_response_reason(r), col(h, C_RESET));
}

/* Colours a pretty-printed JSON text: keys blue, strings green, numbers
 * and literals yellow/magenta. The text is jansson's, so it is valid. */
static void print_json_colored(FILE *f, const char *s)
{
    while (*s != '\0') {
        if (*s == '"') {
            const char *e = s + 1;
            while (*e != '\0' && *e != '"')
                e += *e == '\\' && e[1] != '\0' ? 2 : 1;
            if (*e == '"')
                e++;
            const char *after = e;
            while (*after == ' ')
                after++;
            fprintf(f, "%s%.*s%s", *after == ':' ? C_BLUE : C_GREEN,
                    (int)(e - s), s, C_RESET);
            s = e;
        } else if (*s == '-' || isdigit((unsigned char)*s)) {
            size_t n = strspn(s, "-+.eE0123456789");
            fprintf(f, "%s%.*s%s", C_YELLOW, (int)n, s, C_RESET);
            s += n;
        } else if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0 ||
                   strncmp(s, "null", 4) == 0) {
            size_t n = s[0] == 'f' ? 5 : 4;
            fprintf(f, "%s%.*s%s", C_MAGENTA, (int)n, s, C_RESET);
            s += n;
        } else {
            fputc(*s++, f);
        }
    }
}

static bool is_json_type(const char *ct)
{
    if (ct == NULL)
        return false;
    const char *semi = strchr(ct, ';');
    size_t n = semi != NULL ? (size_t)(semi - ct) : strlen(ct);
    return (n >= 4 && strncasecmp(ct + n - 4, "json", 4) == 0) ||
           (n >= 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* Prints a body: pretty JSON on a terminal, a note for binary data on a
 * terminal, else the bytes as they are. */
static void print_body(FILE *f, const struct http_cli *h, const char *body,
                       size_t len, const char *ctype)
{
    if (len == 0)
        return;
    if (h->color && memchr(body, '\0', len) != NULL) {
        fprintf(f, "+-----------------------------------------+\n"
                   "| NOTE: binary data not shown in terminal |\n"
                   "+-----------------------------------------+\n");
        return;
    }
    if (h->color && is_json_type(ctype)) {
        json_t *v = json_loadb(body, len, JSON_DECODE_ANY, NULL);
        char *s =
            v != NULL ? json_dumps(v, JSON_INDENT(4) | JSON_ENCODE_ANY) : NULL;
        json_decref(v);
        if (s != NULL) {
            print_json_colored(f, s);
            fputc('\n', f);
            free(s);
            return;
        }
    }
    fwrite(body, 1, len, f);
    if (h->color && body[len - 1] != '\n')
        fputc('\n', f);
}

/* The request as sent, from the on_request hook (-v). */
static int on_request(const cio_request_info *req, void *ud)
{
    struct http_cli *h = ud;
    if (!(h->show & SHOW_REQ_HEAD))
        return 0;
    const char *url = cio_request_info_url(req);
    cio_url *u = NULL;
    struct cio_str target = cio_str_c(url), host = {"", 0};
    if (cio_url_parse(&u, url, strlen(url), NULL) == 0) {
        target = cio_url_target(u);
        host = cio_url_hostport(u);
    }
    FILE *f = h->download ? stderr : stdout;
    fprintf(f, "%s%s%s %.*s %sHTTP/1.1%s\n", col(h, C_BOLD C_GREEN),
            cio_request_info_method(req), col(h, C_RESET), (int)target.len,
            target.ptr, col(h, C_BLUE), col(h, C_RESET));
    const cio_headers *hs = cio_request_info_headers(req);
    if (cio_headers_get(hs, "Host") == NULL)
        fprintf(f, "%sHost%s: %.*s\n", col(h, C_CYAN), col(h, C_RESET),
                (int)host.len, host.ptr);
    print_headers(f, h, hs);
    size_t blen = 0;
    const void *body = cio_request_info_body(req, &blen);
    /* The framing header is written with the head, after this hook. */
    if (body != NULL && blen > 0 &&
        cio_headers_get(hs, "Content-Length") == NULL &&
        cio_headers_get(hs, "Transfer-Encoding") == NULL)
        fprintf(f, "%sContent-Length%s: %zu\n", col(h, C_CYAN), col(h, C_RESET),
                blen);
    fputc('\n', f);
    if (body != NULL && blen > 0 && (h->show & SHOW_REQ_BODY)) {
        print_body(f, h, body, blen, cio_headers_get(hs, "Content-Type"));
        fputs("\n\n", f);
    }
    cio_url_free(u);
    return 0;
}

/* ---------------------------------------------------------------- download */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One progress line on stderr (the text is progress.c's). */
static void progress(uint64_t done, int64_t total, uint64_t start_at, double t0,
                     bool final)
{
    char line[160];
    cli_progress_line(line, sizeof(line), done, total, start_at, mono() - t0,
                      final);
    fprintf(stderr, "\r%-78s%s", line, final ? "\n" : "");
    fflush(stderr);
}

/* The file name for --download without -o: the URL's last path segment. */
static char *download_name(const char *url)
{
    cio_url *u = NULL;
    char *name = NULL;
    if (cio_url_parse(&u, url, strlen(url), NULL) == 0) {
        struct cio_str p = cio_url_path(u);
        size_t s = p.len;
        while (s > 0 && p.ptr[s - 1] != '/')
            s--;
        if (s < p.len && p.ptr[s] != '.')
            name = strndup(p.ptr + s, p.len - s);
        cio_url_free(u);
    }
    return name != NULL ? name : strdup("index.html");
}

/* Streams the body of r into path; appended when r is the 206 of a -c
 * resume (have > 0), else the file is rewritten. */
static int download_body(struct http_cli *h, cio_response *r, const char *path,
                         uint64_t have)
{
    int st = cio_response_status(r);
    const char *cl = cio_response_header(r, "Content-Length");
    const char *cr = cio_response_header(r, "Content-Range");
    int64_t total = cl != NULL ? strtoll(cl, NULL, 10) : -1;
    uint64_t done = 0;

    if (st == 206) {
        unsigned long long first = 0, last = 0;
        if (cr == NULL || sscanf(cr, "bytes %llu-%llu", &first, &last) != 2 ||
            first != have || last < first || last >= INT64_MAX) {
            fprintf(stderr,
                    "corio: the server resumed at a different offset (%s)\n",
                    cr != NULL ? cr : "no Content-Range");
            return EXIT_ERROR;
        }
        done = have;
        /* A -c resume (bytes=N-) must end with the whole resource; any
         * other 206 (a Range item of the user) with its range. */
        const char *slash = strchr(cr, '/');
        total = have > 0 && slash != NULL && slash[1] != '*'
                    ? strtoll(slash + 1, NULL, 10)
                    : (int64_t)last + 1;
        /* A complete length not above the range's end is invalid (RFC 9110
         * §14.4); the range itself frames the body, so it gives the size. */
        if (total <= (int64_t)last)
            total = (int64_t)last + 1;
    }
    /* Append only to the part a -c resume found; any other 206 (a Range
     * item) starts the file afresh like a 200. */
    int fd = open(path,
                  O_WRONLY | O_CREAT | O_CLOEXEC |
                      (st == 206 && have > 0 ? O_APPEND : O_TRUNC),
                  0644);
    if (fd < 0) {
        fprintf(stderr, "corio: %s: %s\n", path, strerror(errno));
        return EXIT_ERROR;
    }
    fprintf(stderr, "Downloading %s to \"%s\"%s\n", cio_response_url(r), path,
            st == 206 ? " (resumed)" : "");
    bool tty = isatty(STDERR_FILENO);
    double t0 = mono(), last = 0;
    uint64_t start_at = done;
    /* Heap, not the task's stack (64 KiB by default). */
    char *buf = malloc(IO_BUF);
    ptrdiff_t n = CIO_ENOMEM;
    int rc = 0;
    while (buf != NULL && (n = cio_response_read(r, buf, IO_BUF)) > 0) {
        for (ptrdiff_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                fprintf(stderr, "\ncorio: %s: %s\n", path, strerror(errno));
                free(buf);
                close(fd);
                return EXIT_ERROR;
            }
            off += w;
        }
        done += (uint64_t)n;
        double now = mono();
        if (tty && now - last >= 0.1) {
            progress(done, total, start_at, t0, false);
            last = now;
        }
    }
    free(buf);
    close(fd);
    progress(done, total, start_at, t0, true);
    if (n < 0) {
        fprintf(stderr,
                "corio: download interrupted: %s (%s); resume with -c\n",
                cio_strerror((int)n), cio_last_error());
        return n == CIO_ETIMEDOUT ? EXIT_TIMEOUT : EXIT_ERROR;
    }
    if (total >= 0 && done != (uint64_t)total) {
        fprintf(stderr,
                "corio: incomplete download: %" PRIu64 " of %" PRId64
                " bytes\n",
                done, total);
        rc = EXIT_ERROR;
    }
    return rc;
}

/* ---------------------------------------------------------------- request */

/* The statuses cio_client follows (with a Location). */
static bool is_redirect(int st)
{
    return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

static int status_exit(int st, bool followed)
{
    if (st >= 500)
        return 5;
    if (st >= 400)
        return 4;
    if (st >= 300 && !followed)
        return 3;
    return 0;
}

static int run_request(void *arg)
{
    struct http_cli *h = arg;
    struct cio_client *c = NULL;
    cio_response *r = NULL;
    cio_multipart *mp = NULL;
    char *path = NULL, range[64];
    uint64_t have = 0;
    int rc;

    uint32_t tmo = h->timeout > 0 ? (uint32_t)(h->timeout * 1000 + 0.5) : 0;
    struct cio_client_opts co = {
        .timeouts = {.connect_ms = tmo, .read_ms = tmo, .write_ms = tmo},
        .tls = {.ca_file = h->cacert, .insecure_skip_verify = h->insecure},
        /* The client's 0 means its default (20): --max-redirects 0 does not
         * follow and refuses a redirect below instead. */
        .no_follow_redirects = !h->follow || h->max_redirects == 0,
        .max_redirects = h->max_redirects,
        .no_cookies = false,
        .no_decode = h->download,
        .hooks = {.on_request = on_request, .ud = h},
    };
    struct cio_request req = {
        .method = h->method,
        .url = h->url,
        .params = h->params.n ? h->params.v : NULL,
        .stream = true,
    };

    if (h->json && kv_get(&h->headers, "Accept") == NULL)
        kv_push(&h->headers, "Accept", "application/json, */*;q=0.5");
    if (h->raw != NULL) {
        req.body = h->raw;
        req.body_len = strlen(h->raw);
        if (kv_get(&h->headers, "Content-Type") == NULL)
            req.content_type =
                h->form ? CIO_FORM_CONTENT_TYPE : "application/json";
    } else if (h->files.n > 0) {
        if ((rc = cio_multipart_new(&mp, NULL)) < 0)
            goto fail;
        for (size_t i = 0; rc == 0 && i < h->fields.n; i++)
            rc = cio_multipart_add_field(mp, h->fields.v[i].name,
                                         cio_str_c(h->fields.v[i].value));
        for (size_t i = 0; rc == 0 && i < h->files.n; i++)
            rc = cio_multipart_add_file_path(
                mp, &(struct cio_multipart_file){.name = h->files.v[i].name},
                h->files.v[i].value);
        if (rc < 0)
            goto fail;
        req.multipart = mp;
    } else if (h->has_data && h->form) {
        req.form = h->fields.v;
    } else if (h->has_data) {
        req.json_value = h->data;
        if (kv_get(&h->headers, "Accept") == NULL)
            kv_push(&h->headers, "Accept", "application/json, */*;q=0.5");
    }

    if (h->download) {
        path = h->output != NULL ? strdup(h->output) : download_name(h->url);
        if (path == NULL) {
            rc = CIO_ENOMEM;
            goto fail;
        }
        struct stat sb;
        if (h->resume && stat(path, &sb) == 0 && sb.st_size > 0) {
            have = (uint64_t)sb.st_size;
            snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", have);
            kv_push(&h->headers, "Range", range);
        } else if (!h->resume && h->output == NULL && access(path, F_OK) == 0) {
            /* Never overwrite a file whose name we chose: name-N. */
            for (int i = 1; i < 1000; i++) {
                char *alt = NULL;
                if (asprintf(&alt, "%s-%d", path, i) < 0)
                    break;
                if (access(alt, F_OK) != 0) {
                    free(path);
                    path = alt;
                    break;
                }
                free(alt);
            }
        }
        if (kv_get(&h->headers, "Accept-Encoding") == NULL)
            kv_push(&h->headers, "Accept-Encoding", "identity");
    }
    req.headers = h->headers.n ? h->headers.v : NULL;

    if ((rc = cio_client_new(&c, &co)) < 0)
        goto fail;
    if ((rc = cio_request(c, &req, &r)) < 0)
        goto fail;

    int st = cio_response_status(r);
    /* As httpie: with --follow, --max-redirects 0 makes any redirect one
     * too many (an error), not a response to print. */
    if (h->follow && h->max_redirects == 0 && is_redirect(st) &&
        cio_response_header(r, "Location") != NULL) {
        fprintf(stderr,
                "corio: error: %s: too many redirects (--max-redirects 0): "
                "HTTP %d to %s\n",
                cio_strerror(CIO_EREDIRECT), st,
                cio_response_header(r, "Location"));
        h->exit_code = EXIT_ERROR;
        goto done;
    }
    FILE *hf = h->download ? stderr : stdout;
    if (h->show & SHOW_HEAD ||
        (h->download && (isatty(STDERR_FILENO) || st >= 300))) {
        print_status(hf, h, r);
        print_headers(hf, h, cio_response_headers(r));
        if (h->show & SHOW_BODY || h->download)
            fputc('\n', hf);
    }
    if (h->download) {
        if (st == 416 && have > 0) {
            const char *cr = cio_response_header(r, "Content-Range");
            const char *slash = cr != NULL ? strchr(cr, '/') : NULL;
            if (slash != NULL && strtoull(slash + 1, NULL, 10) == have) {
                fprintf(stderr,
                        "\"%s\" is already complete (%" PRIu64 " bytes)\n",
                        path, have);
                h->exit_code = 0;
                goto done;
            }
        }
        if (st >= 300) {
            fprintf(stderr, "corio: download failed: HTTP %d %s\n", st,
                    cio_response_reason(r));
            h->exit_code = status_exit(st, h->follow);
            if (h->exit_code == 0)
                h->exit_code = EXIT_ERROR;
            goto done;
        }
        h->exit_code = download_body(h, r, path, st == 206 ? have : 0);
        goto done;
    }
    if (h->show & SHOW_BODY) {
        const char *ct = cio_response_header(r, "Content-Type");
        if (h->color && is_json_type(ct)) {
            /* Formatting needs the whole body. */
            size_t len;
            const char *body = cio_response_body(r, &len);
            if (body == NULL && (rc = cio_response_error(r)) < 0)
                goto fail;
            print_body(stdout, h, body, len, ct);
        } else {
            char *buf = malloc(IO_BUF);
            ptrdiff_t n = CIO_ENOMEM;
            while (buf != NULL && (n = cio_response_read(r, buf, IO_BUF)) > 0) {
                if (h->color && memchr(buf, '\0', (size_t)n) != NULL) {
                    print_body(stdout, h, buf, (size_t)n,
                               ct); /* the binary note */
                    break;
                }
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
            }
            free(buf);
            if (n < 0) {
                rc = (int)n;
                goto fail;
            }
        }
    }
    fflush(stdout);
    if (h->check_status) {
        h->exit_code = status_exit(st, h->follow);
        if (h->exit_code != 0)
            fprintf(stderr, "corio: warning: HTTP %d %s\n", st,
                    cio_response_reason(r));
    }
done:
    rc = 0;
fail:
    if (rc < 0) {
        fflush(stdout);
        fprintf(stderr, "corio: error: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        h->exit_code = rc == CIO_ETIMEDOUT ? EXIT_TIMEOUT : EXIT_ERROR;
    }
    cio_response_free(r);
    cio_client_free(c);
    cio_multipart_free(mp);
    free(path);
    return 0;
}

int cmd_http(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"form", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"raw", required_argument, NULL, 'R'},
        {"timeout", required_argument, NULL, 'T'},
        {"follow", no_argument, NULL, 'F'},
        {"max-redirects", required_argument, NULL, 'M'},
        {"cacert", required_argument, NULL, 'C'},
        {"insecure", no_argument, NULL, 'k'},
        {"http1.1", no_argument, NULL, '1'},
        {"verbose", no_argument, NULL, 'v'},
        {"headers", no_argument, NULL, 'h'},
        {"body", no_argument, NULL, 'b'},
        {"download", no_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"continue", no_argument, NULL, 'c'},
        {"check-status", no_argument, NULL, 'S'},
        {"pretty", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    struct http_cli h = {.max_redirects = 30};
    const char *pretty = NULL;
    int c, rc = 0;

    for (size_t i = 0; argv[0][i] != '\0' && i < sizeof(h.method) - 1; i++)
        h.method[i] = (char)toupper((unsigned char)argv[0][i]);
    optind = 1;
    while ((c = getopt_long(argc, argv, "fjFkvhbdo:c", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            h.form = true;
            break;
        case 'j':
            h.json = true;
            break;
        case 'R':
            h.raw = optarg;
            break;
        case 'T':
            /* Within the client's uint32 milliseconds; 1 ms at least. */
            if (cli_seconds(argv[0], "--timeout", optarg, 0.001, 4000000,
                            &h.timeout) < 0)
                return EXIT_ERROR;
            break;
        case 'F':
            h.follow = true;
            break;
        case 'M': {
            unsigned long long m;
            if (cli_uint(argv[0], "--max-redirects", optarg, 0, 1000, &m) < 0)
                return EXIT_ERROR;
            h.max_redirects = (uint32_t)m;
            break;
        }
        case 'C':
            h.cacert = optarg;
            break;
        case 'k':
            h.insecure = true;
            break;
        case '1':
            break;
        case 'v':
            h.show |= SHOW_REQ_HEAD | SHOW_REQ_BODY | SHOW_HEAD | SHOW_BODY;
            break;
        case 'h':
            h.show |= SHOW_HEAD;
            break;
        case 'b':
            h.show |= SHOW_BODY;
            break;
        case 'd':
            h.download = true;
            break;
        case 'o':
            h.output = optarg;
            break;
        case 'c':
            h.resume = true;
            break;
        case 'S':
            h.check_status = true;
            break;
        case 'P':
            pretty = optarg;
            break;
        case 'H':
            http_usage(stdout);
            return 0;
        default:
            http_usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (optind >= argc) {
        http_usage(stderr);
        return EXIT_ERROR;
    }
    if (pretty != NULL && strcmp(pretty, "all") != 0 &&
        strcmp(pretty, "none") != 0) {
        fprintf(stderr, "corio: --pretty wants all or none\n");
        return EXIT_ERROR;
    }
    h.color =
        pretty != NULL ? strcmp(pretty, "all") == 0 : isatty(STDOUT_FILENO);
    if (h.show == 0)
        h.show = isatty(STDOUT_FILENO) ? SHOW_HEAD | SHOW_BODY : SHOW_BODY;
    if (strcmp(h.method, "HEAD") == 0 && !(h.show & SHOW_HEAD))
        h.show |= SHOW_HEAD;
    if (h.resume && !h.download) {
        fprintf(stderr, "corio: -c/--continue goes with --download\n");
        return EXIT_ERROR;
    }
    h.url = expand_url(argv[optind++]);
    h.data = json_object();
    if (h.url == NULL || h.data == NULL)
        rc = CIO_ENOMEM;
    for (; rc == 0 && optind < argc; optind++)
        rc = parse_item(&h, argv[optind]);
    if (rc == 0 && h.raw != NULL && h.has_data) {
        fprintf(stderr, "corio: --raw and data items do not mix\n");
        rc = CIO_EINVAL;
    }
    if (rc == 0 && h.files.n > 0 && !h.form)
        h.form = true; /* a file upload is a multipart form */
    if (rc == 0) {
        rc = cio_run(run_request, &h);
        if (rc < 0) {
            fprintf(stderr, "corio: %s\n", cio_strerror(rc));
            h.exit_code = EXIT_ERROR;
        }
    } else {
        h.exit_code = EXIT_ERROR;
    }
    json_decref(h.data);
    free(h.url);
    free(h.headers.v);
    free(h.params.v);
    free(h.fields.v);
    free(h.files.v);
    return h.exit_code;
}
