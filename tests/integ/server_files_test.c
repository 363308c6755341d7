/* SPDX-License-Identifier: MIT */
/*
 * Files, static directories and SSE served by an in-process corio server on
 * 127.0.0.1 to real clients: curl (headers and bodies compared exactly),
 * raw sockets for what curl would normalise, and python3 aiohttp / httpx
 * for SSE. The server runs in a task of the test's loop; the clients run on
 * the executor (cio_blocking), so the loop keeps serving meanwhile.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <corio/corio.h>
#include <corio/server.h>

#include "peers.h"
#include "test.h"

struct fx {
    char dir[128]; /* temp dir: outside.txt, root/, out/ */
    char root[160];
    unsigned port;
    cio_server *srv;
    int (*body)(struct fx *);
    int result;
};

static struct fx fx;

/* ------------------------------------------------------------ files */

static void put(const char *rel, const void *data, size_t len)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", fx.dir, rel);
    FILE *f = fopen(p, "wb");
    cr_assert(f != NULL, "%s: %s", p, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void puts_file(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b != NULL) {
        b[n] = '\0';
        *len = (size_t)n;
    }
    fclose(f);
    return b;
}

static char big[65536]; /* text, compressible: root/big.txt */
#define HELLO "Hello, corio!\n"

static void make_tree(void)
{
    char p[512];
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/cio_files_XXXXXX");
    cr_assert(mkdtemp(fx.dir) != NULL);
    snprintf(fx.root, sizeof(fx.root), "%s/root", fx.dir);
    cr_assert_eq(mkdir(fx.root, 0755), 0);
    snprintf(p, sizeof(p), "%s/out", fx.dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/root/sub", fx.dir);
    cr_assert_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/root/empty", fx.dir);
    cr_assert_eq(mkdir(p, 0755), 0);

    puts_file("outside.txt", "secret outside the root\n");
    puts_file("root/hello.txt", HELLO);
    puts_file("root/a<b>&\"c:'.txt", "odd name\n");
    puts_file("root/.hidden", "secret dotfile\n");
    puts_file("root/sub/index.html", "<h1>sub index</h1>\n");
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = i % 64 == 63 ? '\n' : (char)('a' + (i / 64) % 26);
    put("root/big.txt", big, sizeof(big));
    /* An old mtime: a strong Last-Modified (If-Range by date uses it). */
    snprintf(p, sizeof(p), "%s/root/big.txt", fx.dir);
    struct timespec ts[2] = {{.tv_sec = 1600000000}, {.tv_sec = 1600000000}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0);
    /* app.js and a .gz sibling with different text, so the client's
     * decoded body tells which one was served. */
    static char js[4096];
    memset(js, ';', sizeof(js));
    put("root/app.js", js, sizeof(js));
    put("root/photo.png", js, sizeof(js)); /* compressible bytes, png type */
    snprintf(p, sizeof(p), "%s/root/app.js.gz", fx.dir);
    char cmd[700];
    snprintf(cmd, sizeof(cmd),
             "printf 'precompressed sibling\\n' | gzip -9n > '%s'", p);
    cr_assert_eq(system(cmd), 0);

    snprintf(p, sizeof(p), "%s/root/app.js.zst", fx.dir);
    snprintf(cmd, sizeof(cmd), "printf 'zstd sibling\\n' | zstd -q -c > '%s'",
             p);
    cr_assert_eq(system(cmd), 0);

    snprintf(p, sizeof(p), "%s/outside.txt", fx.dir);
    char l[512];
    snprintf(l, sizeof(l), "%s/root/link_in", fx.dir);
    cr_assert_eq(symlink("hello.txt", l), 0);
    snprintf(l, sizeof(l), "%s/root/link_abs", fx.dir);
    cr_assert_eq(symlink(p, l), 0);
    snprintf(l, sizeof(l), "%s/root/link_up", fx.dir);
    cr_assert_eq(symlink("../outside.txt", l), 0);
    snprintf(l, sizeof(l), "%s/root/link_null", fx.dir);
    cr_assert_eq(symlink("/dev/null", l), 0);
    snprintf(l, sizeof(l), "%s/root/fifo", fx.dir);
    cr_assert_eq(mkfifo(l, 0644), 0);
}

static void rm_tree(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    cr_expect_eq(system(cmd), 0);
}

/* ------------------------------------------------------------ handlers */

static int file_handler(cio_req *req, cio_resp *res, void *ud)
{
    char p[512];
    const char *name = cio_req_param(req, "name");
    if (name == NULL || strchr(name, '/') != NULL || name[0] == '.')
        return cio_resp_error(res, 404, NULL);
    snprintf(p, sizeof(p), "%s/%s", fx.root, name);
    struct cio_file_opts o = {.cache_control = "max-age=60"};
    return cio_resp_file(req, res, p, &o);
}

static int sse_handler(cio_req *req, cio_resp *res, void *ud)
{
    int rc = cio_resp_sse_start(res);
    if (rc < 0)
        return rc;
    struct cio_sse_event ev1 = {.data = "hello"};
    struct cio_sse_event ev2 = {.event = "tick", .id = "2", .data = "a\nb"};
    struct cio_sse_event ev3 = {.retry_ms = 1500, .data = "x\r\ny\rz"};
    struct cio_sse_event bad1 = {.event = "x\ny", .data = "no"};
    struct cio_sse_event bad2 = {.id = "1\r", .data = "no"};
    if ((rc = cio_resp_sse_send(res, &ev1)) < 0 ||
        (rc = cio_resp_sse_send(res, &ev2)) < 0 ||
        (rc = cio_resp_sse_comment(res, "ping")) < 0 ||
        (rc = cio_resp_sse_send(res, &ev3)) < 0)
        return rc;
    /* Refused, and nothing of them is written. */
    int r1 = cio_resp_sse_send(res, &bad1), r2 = cio_resp_sse_send(res, &bad2);
    struct cio_sse_event last = {
        .event = "end",
        .data = r1 == CIO_EINVAL && r2 == CIO_EINVAL ? "einval" : "accepted"};
    return cio_resp_sse_send(res, &last);
}

#define SSE_WIRE                                                               \
    "data: hello\n\n"                                                          \
    "event: tick\nid: 2\ndata: a\ndata: b\n\n"                                 \
    ": ping\n"                                                                 \
    "retry: 1500\ndata: x\ndata: y\ndata: z\n\n"                               \
    "event: end\ndata: einval\n\n"

/* ------------------------------------------------------------ server */

static int serve_task(void *arg)
{
    return cio_server_run(arg);
}

static int main_task(void *arg)
{
    cio_app *app;
    cio_group *g;
    cio_task *t;
    int rc = cio_app_new(&app);
    if (rc < 0)
        return rc;
    struct cio_static_opts so = {.file = {.precompressed = true}};
    struct cio_static_opts fo = {.follow_symlinks = true};
    struct cio_static_opts lo = {.list_dirs = true, .index = ""};
    if ((rc = cio_app_static(app, "/static", fx.root, &so)) < 0 ||
        (rc = cio_app_static(app, "/follow", fx.root, &fo)) < 0 ||
        (rc = cio_app_static(app, "/list", fx.root, &lo)) < 0 ||
        (rc = cio_app_get(app, "/file/{name}", file_handler, NULL)) < 0 ||
        (rc = cio_app_get(app, "/sse", sse_handler, NULL)) < 0) {
        cio_app_free(app);
        return rc;
    }
    struct cio_server_opts o = {.listen = "127.0.0.1:0", .workers = 1};
    rc = cio_server_new(&fx.srv, app, &o);
    if (rc < 0) {
        cio_app_free(app);
        return rc;
    }
    fx.port = cio_server_port(fx.srv, 0);
    rc = cio_group_new(&g);
    if (rc == 0)
        rc = cio_spawn(g, serve_task, fx.srv, NULL, &t);
    if (rc == 0) {
        fx.result = fx.body(&fx);
        cio_server_stop(fx.srv);
        rc = cio_task_join(t, cio_now() + 15000, NULL);
    }
    cio_group_free(g);
    cio_server_free(fx.srv);
    cio_app_free(app);
    return rc;
}

static void free_bodies(void);

static void run(int (*body)(struct fx *))
{
    fx.body = body;
    fx.result = -1;
    int rc = cio_test_run(main_task, NULL);
    free_bodies();
    CIO_ASSERT_RC(rc, 0);
    cr_expect_eq(fx.result, 0, "the client checks failed (see above)");
}

/* ------------------------------------------------------------ clients */

struct job {
    char *argv[40];
    char out[65536];
    ptrdiff_t n;
};

static void *job_fn(void *arg)
{
    struct job *j = arg;
    j->n = peer_run_capture(j->argv, j->out, sizeof(j->out) - 1);
    if (j->n >= 0)
        j->out[j->n] = '\0';
    return NULL;
}

struct reply {
    int status;
    char head[8192];
    char *body;
    size_t blen;
};

/* Bodies are freed together at the end of run(), so a failed CHECK that
 * returns early leaks nothing. */
static char *bodies[256];
static size_t nbodies;

static void reply_free(struct reply *r)
{
    (void)r;
}

static void free_bodies(void)
{
    for (size_t i = 0; i < nbodies; i++)
        free(bodies[i]);
    nbodies = 0;
}

/* The value of a header in r->head (case-insensitive name), or NULL;
 * copied into a static buffer. */
static const char *hdr(const struct reply *r, const char *name)
{
    static char v[1024];
    size_t nl = strlen(name);
    for (const char *l = r->head; l != NULL && *l;) {
        const char *e = strstr(l, "\r\n");
        if (e == NULL)
            break;
        if ((size_t)(e - l) > nl && strncasecmp(l, name, nl) == 0 &&
            l[nl] == ':') {
            const char *s = l + nl + 1;
            while (*s == ' ')
                s++;
            size_t k = (size_t)(e - s) < sizeof(v) - 1 ? (size_t)(e - s)
                                                       : sizeof(v) - 1;
            memcpy(v, s, k);
            v[k] = '\0';
            return v;
        }
        l = e + 2;
    }
    return NULL;
}

/* curl [extra...] http://127.0.0.1:port<path>: headers (the last
 * response's) and body. Returns 0 or -1. */
static int curl(struct fx *f, struct reply *r, const char *path,
                const char *const *extra)
{
    struct job *j = calloc(1, sizeof(*j));
    char url[600], bodyf[300];
    int a = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
    snprintf(bodyf, sizeof(bodyf), "%s/out/body", f->dir);
    unlink(bodyf);
    j->argv[a++] = "curl";
    j->argv[a++] = "-sS";
    j->argv[a++] = "--max-time";
    j->argv[a++] = "10";
    j->argv[a++] = "-D";
    j->argv[a++] = "-";
    j->argv[a++] = "-o";
    j->argv[a++] = bodyf;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        j->argv[a++] = (char *)extra[i];
    j->argv[a++] = url;
    j->argv[a] = NULL;
    int rc = cio_blocking(job_fn, j, NULL);
    memset(r, 0, sizeof(*r));
    if (rc < 0 || j->n < 0) {
        cr_expect(0, "curl %s failed", path);
        free(j);
        return -1;
    }
    /* The last head (after a 100 Continue or a redirect, none here). */
    const char *h = j->out, *nx;
    while ((nx = strstr(h + 1, "\r\n\r\nHTTP/")) != NULL)
        h = nx + 4;
    size_t hl =
        strlen(h) < sizeof(r->head) - 1 ? strlen(h) : sizeof(r->head) - 1;
    memcpy(r->head, h, hl);
    r->head[hl] = '\0';
    sscanf(r->head, "HTTP/%*s %d", &r->status);
    r->body = slurp(bodyf, &r->blen);
    if (r->body == NULL) {
        r->body = calloc(1, 1);
        r->blen = 0;
    }
    if (nbodies < sizeof(bodies) / sizeof(bodies[0]))
        bodies[nbodies++] = r->body;
    free(j);
    return 0;
}

/* Raw request bytes to the server; the whole response until close. */
struct raw_job {
    unsigned port;
    const char *req;
    char out[8192];
    ptrdiff_t n;
};

static void *raw_fn(void *arg)
{
    struct raw_job *j = arg;
    j->n = peer_exchange(j->port, j->req, strlen(j->req), j->out,
                         sizeof(j->out) - 1);
    if (j->n >= 0)
        j->out[j->n] = '\0';
    return NULL;
}

static int raw(struct fx *f, const char *req, char *out, size_t cap)
{
    struct raw_job *j = calloc(1, sizeof(*j));
    j->port = f->port;
    j->req = req;
    int rc = cio_blocking(raw_fn, j, NULL);
    int ok = rc == 0 && j->n >= 0 ? 0 : -1;
    snprintf(out, cap, "%s", ok == 0 ? j->out : "");
    free(j);
    return ok;
}

/* Fails (returns -1 from the body) on the first failed check. */
#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            cr_expect(0, __VA_ARGS__);                                         \
            return -1;                                                         \
        }                                                                      \
    } while (0)

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ------------------------------------------------------------ tests */

static int t_get_head(struct fx *f)
{
    struct reply r;
    CHECK(curl(f, &r, "/static/hello.txt", NULL) == 0, "curl");
    CHECK(r.status == 200, "status %d", r.status);
    CHECK(r.blen == strlen(HELLO) && memcmp(r.body, HELLO, r.blen) == 0,
          "body %s", r.body);
    CHECK(hdr(&r, "content-type") &&
              strcmp(hdr(&r, "content-type"), "text/plain; charset=utf-8") == 0,
          "content-type %s", hdr(&r, "content-type"));
    CHECK(hdr(&r, "accept-ranges") &&
              strcmp(hdr(&r, "accept-ranges"), "bytes") == 0,
          "accept-ranges");
    CHECK(hdr(&r, "last-modified") != NULL, "last-modified");
    const char *et = hdr(&r, "etag");
    CHECK(et != NULL && et[0] == '"', "strong etag %s", et ? et : "(none)");
    CHECK(hdr(&r, "content-length") &&
              atoi(hdr(&r, "content-length")) == (int)strlen(HELLO),
          "content-length");
    reply_free(&r);

    CHECK(curl(f, &r, "/static/hello.txt", ARGS("-I")) == 0, "curl -I");
    /* curl -I writes the head where the body would go: nothing else. */
    CHECK(r.status == 200 && strncmp(r.body, "HTTP/1.1 200", 12) == 0 &&
              strstr(r.body, "Hello") == NULL,
          "HEAD %d %s", r.status, r.body);
    CHECK(hdr(&r, "content-length") &&
              atoi(hdr(&r, "content-length")) == (int)strlen(HELLO),
          "HEAD content-length %s", hdr(&r, "content-length"));
    reply_free(&r);

    /* cio_resp_file with Cache-Control. */
    CHECK(curl(f, &r, "/file/hello.txt", NULL) == 0, "curl");
    CHECK(r.status == 200 && r.blen == strlen(HELLO), "resp_file %d", r.status);
    CHECK(hdr(&r, "cache-control") &&
              strcmp(hdr(&r, "cache-control"), "max-age=60") == 0,
          "cache-control");
    reply_free(&r);
    CHECK(curl(f, &r, "/file/fifo", NULL) == 0 && r.status == 403,
          "resp_file fifo %d", r.status);
    reply_free(&r);

    /* A directory: its index; without the slash, a redirect to it. */
    CHECK(curl(f, &r, "/static/sub/", NULL) == 0 && r.status == 200 &&
              strstr(r.body, "sub index") != NULL,
          "index %d", r.status);
    reply_free(&r);
    CHECK(curl(f, &r, "/static/sub", NULL) == 0 && r.status == 301 &&
              hdr(&r, "location") &&
              strcmp(hdr(&r, "location"), "/static/sub/") == 0,
          "dir redirect %d", r.status);
    reply_free(&r);
    CHECK(curl(f, &r, "/static/empty/", NULL) == 0 && r.status == 404,
          "dir without index %d", r.status);
    reply_free(&r);

    /* The opt-in listing: sorted, escaped, hidden and special entries out. */
    CHECK(curl(f, &r, "/list/", NULL) == 0 && r.status == 200, "list %d",
          r.status);
    CHECK(hdr(&r, "content-type") &&
              strcmp(hdr(&r, "content-type"), "text/html; charset=utf-8") == 0,
          "list ct");
    static const char *const shown[] = {
        "<li><a "
        "href=\"a%3Cb%3E%26%22c%3A%27.txt\">a&lt;b&gt;&amp;&quot;c:&#39;.txt</"
        "a></li>",
        "<li><a href=\"hello.txt\">hello.txt</a></li>",
        "<li><a href=\"sub/\">sub/</a></li>",
        "<li><a href=\"empty/\">empty/</a></li>",
    };
    for (size_t i = 0; i < 4; i++)
        CHECK(strstr(r.body, shown[i]) != NULL, "listing lacks %s:\n%s",
              shown[i], r.body);
    CHECK(strstr(r.body, "a&lt;b") < strstr(r.body, "app.js") &&
              strstr(r.body, "app.js") < strstr(r.body, "hello.txt"),
          "sorted");
    static const char *const hidden[] = {".hidden", "fifo", "link_abs",
                                         "link_in", "<b>"};
    for (size_t i = 0; i < 5; i++)
        CHECK(strstr(r.body, hidden[i]) == NULL, "listing shows %s", hidden[i]);
    CHECK(curl(f, &r, "/list/sub", NULL) == 0 && r.status == 301,
          "list redirect");
    return 0;
}

Test(server_files, get_head_index, .init = make_tree, .fini = rm_tree)
{
    run(t_get_head);
}

static int t_ranges(struct fx *f)
{
    struct reply r;
    char want[128];

    CHECK(curl(f, &r, "/static/big.txt", ARGS("-r", "0-9")) == 0, "curl");
    CHECK(r.status == 206 && r.blen == 10 && memcmp(r.body, big, 10) == 0,
          "single %d %zu", r.status, r.blen);
    CHECK(hdr(&r, "content-range") &&
              strcmp(hdr(&r, "content-range"), "bytes 0-9/65536") == 0,
          "content-range %s", hdr(&r, "content-range"));
    CHECK(hdr(&r, "content-encoding") == NULL, "identity for ranges");
    reply_free(&r);

    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", "Range: bytes=-5")) == 0,
          "curl");
    CHECK(r.status == 206 && r.blen == 5 && memcmp(r.body, big + 65531, 5) == 0,
          "suffix %d %zu", r.status, r.blen);
    reply_free(&r);

    /* Several ranges: multipart/byteranges, each part exact. */
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-r", "1000-1009,0-4,60000-")) ==
              0,
          "curl");
    CHECK(r.status == 206, "multi %d", r.status);
    const char *ct = hdr(&r, "content-type");
    CHECK(ct && strncmp(ct, "multipart/byteranges; boundary=", 31) == 0,
          "ct %s", ct);
    char boundary[80];
    snprintf(boundary, sizeof(boundary), "--%s", ct + 31);
    CHECK(hdr(&r, "content-length") &&
              (size_t)atol(hdr(&r, "content-length")) == r.blen,
          "multipart content-length %s vs %zu", hdr(&r, "content-length"),
          r.blen);
    static const struct {
        unsigned long a, b;
    } parts[] = {{0, 4}, {1000, 1009}, {60000, 65535}};
    const char *p = r.body;
    for (size_t i = 0; i < 3; i++) {
        p = strstr(p, boundary);
        CHECK(p != NULL, "part %zu boundary", i);
        snprintf(want, sizeof(want), "Content-Range: bytes %lu-%lu/65536\r\n",
                 parts[i].a, parts[i].b);
        const char *cr = strstr(p, want);
        CHECK(cr != NULL, "part %zu: %s", i, want);
        const char *data = strstr(cr, "\r\n\r\n") + 4;
        CHECK(memcmp(data, big + parts[i].a, parts[i].b - parts[i].a + 1) == 0,
              "part %zu data", i);
        p = data + (parts[i].b - parts[i].a + 1);
        CHECK(strncmp(p, "\r\n", 2) == 0, "part %zu CRLF", i);
    }
    snprintf(want, sizeof(want), "\r\n%s--\r\n", boundary);
    CHECK(strcmp(p, want) == 0, "close delimiter: %s", p);
    reply_free(&r);

    /* HEAD ignores Range (RFC 9110 §14.2: range handling is defined for
     * GET only): the full head, no body. */
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-I", "-r", "0-1,100-101")) ==
                  0 &&
              r.status == 200 && hdr(&r, "content-length") &&
              atol(hdr(&r, "content-length")) == (long)sizeof(big) &&
              strstr(r.body, "aaaa") == NULL,
          "HEAD with Range %d", r.status);

    CHECK(curl(f, &r, "/static/big.txt", ARGS("-r", "99999-")) == 0, "curl");
    CHECK(r.status == 416 && hdr(&r, "content-range") &&
              strcmp(hdr(&r, "content-range"), "bytes */65536") == 0,
          "416 %d %s", r.status, hdr(&r, "content-range"));
    reply_free(&r);

    /* bytes=5-4 ignored; 0-,0-... x100 refused: both the full 200. */
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", "Range: bytes=5-4")) == 0 &&
              r.status == 200 && r.blen == sizeof(big),
          "5-4 %d", r.status);
    reply_free(&r);
    static char many[1024];
    size_t n = (size_t)snprintf(many, sizeof(many), "Range: bytes=");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "0-,");
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", many)) == 0 &&
              r.status == 200 && r.blen == sizeof(big),
          "0-,0-... %d %zu", r.status, r.blen);
    reply_free(&r);
    return 0;
}

Test(server_files, ranges, .init = make_tree, .fini = rm_tree)
{
    run(t_ranges);
}

static int t_conditional(struct fx *f)
{
    struct reply r;
    char etag[128], lm[64], h[256];

    CHECK(curl(f, &r, "/static/big.txt", NULL) == 0 && r.status == 200, "get");
    snprintf(etag, sizeof(etag), "%s", hdr(&r, "etag"));
    snprintf(lm, sizeof(lm), "%s", hdr(&r, "last-modified"));
    reply_free(&r);

    snprintf(h, sizeof(h), "If-None-Match: \"x\", %s", etag);
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", h)) == 0, "curl");
    CHECK(r.status == 304 && r.blen == 0, "INM %d", r.status);
    CHECK(hdr(&r, "etag") && strcmp(hdr(&r, "etag"), etag) == 0, "304 etag");
    reply_free(&r);

    snprintf(h, sizeof(h), "If-Modified-Since: %s", lm);
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", h)) == 0, "curl");
    CHECK(r.status == 304 && r.blen == 0, "IMS %d", r.status);
    reply_free(&r);

    CHECK(curl(f, &r, "/static/big.txt",
               ARGS("-H",
                    "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT")) == 0,
          "curl");
    CHECK(r.status == 200 && r.blen == sizeof(big), "IMS old %d", r.status);
    reply_free(&r);

    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", "If-Match: \"nope\"")) == 0,
          "curl");
    CHECK(r.status == 412, "If-Match %d", r.status);
    reply_free(&r);

    /* If-Range: a match gives the range, a mismatch the whole file. */
    snprintf(h, sizeof(h), "If-Range: %s", etag);
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-r", "0-3", "-H", h)) == 0 &&
              r.status == 206 && r.blen == 4,
          "If-Range match %d", r.status);
    reply_free(&r);
    CHECK(curl(f, &r, "/static/big.txt",
               ARGS("-r", "0-3", "-H", "If-Range: \"other\"")) == 0 &&
              r.status == 200 && r.blen == sizeof(big),
          "If-Range mismatch %d", r.status);
    reply_free(&r);
    snprintf(h, sizeof(h), "If-Range: %s", lm);
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-r", "0-3", "-H", h)) == 0 &&
              r.status == 206,
          "If-Range date %d", r.status);
    reply_free(&r);
    /* hello.txt was just written: its Last-Modified is weak (it may change
     * again within the second), so If-Range by date gives the whole file. */
    CHECK(curl(f, &r, "/static/hello.txt", NULL) == 0, "curl");
    snprintf(h, sizeof(h), "If-Range: %s", hdr(&r, "last-modified"));
    CHECK(curl(f, &r, "/static/hello.txt", ARGS("-r", "0-3", "-H", h)) == 0 &&
              r.status == 200,
          "If-Range weak date %d", r.status);
    return 0;
}

Test(server_files, conditional, .init = make_tree, .fini = rm_tree)
{
    run(t_conditional);
}

static int t_compression(struct fx *f)
{
    struct reply r;

    /* Precompressed sibling: chosen (zstd over gzip when curl offers both:
     * the server's preference at equal q), decoded by curl to its text. */
    CHECK(curl(f, &r, "/static/app.js", ARGS("--compressed")) == 0, "curl");
    const char *ce = hdr(&r, "content-encoding");
    CHECK(r.status == 200 && ce != NULL &&
              (strcmp(ce, "gzip") == 0 || strcmp(ce, "zstd") == 0),
          "precompressed %d %s", r.status, ce);
    CHECK(strcmp(r.body, strcmp(ce, "gzip") == 0 ? "precompressed sibling\n"
                                                 : "zstd sibling\n") == 0,
          "sibling body %s", r.body);
    CHECK(curl(f, &r, "/static/app.js",
               ARGS("--compressed", "-H", "Accept-Encoding: gzip")) == 0 &&
              hdr(&r, "content-encoding") &&
              strcmp(hdr(&r, "content-encoding"), "gzip") == 0 &&
              strcmp(r.body, "precompressed sibling\n") == 0,
          "gzip sibling %s", r.body);
    CHECK(hdr(&r, "vary") &&
              strcasecmp(hdr(&r, "vary"), "Accept-Encoding") == 0,
          "vary");
    char gz_etag[128];
    snprintf(gz_etag, sizeof(gz_etag), "%s", hdr(&r, "etag"));
    reply_free(&r);
    CHECK(curl(f, &r, "/static/app.js", NULL) == 0 && r.status == 200 &&
              r.blen == 4096 && hdr(&r, "content-encoding") == NULL,
          "identity app.js %d", r.status);
    CHECK(strcmp(hdr(&r, "etag"), gz_etag) != 0, "ETag differs per encoding");
    reply_free(&r);

    /* The client's q-values pick among the siblings. */
    CHECK(curl(f, &r, "/static/app.js",
               ARGS("-H", "Accept-Encoding: gzip;q=0.5, zstd")) == 0 &&
              hdr(&r, "content-encoding") &&
              strcmp(hdr(&r, "content-encoding"), "zstd") == 0,
          "zstd sibling %s", hdr(&r, "content-encoding"));
    CHECK(curl(f, &r, "/static/app.js",
               ARGS("-H", "Accept-Encoding: gzip, zstd;q=0.1")) == 0 &&
              hdr(&r, "content-encoding") &&
              strcmp(hdr(&r, "content-encoding"), "gzip") == 0,
          "gzip sibling by q %s", hdr(&r, "content-encoding"));
    /* A Range on a sibling: its bytes (the gzip magic). */
    CHECK(curl(f, &r, "/static/app.js",
               ARGS("-H", "Accept-Encoding: gzip", "-r", "0-1")) == 0 &&
              r.status == 206 && r.blen == 2 &&
              (unsigned char)r.body[0] == 0x1f &&
              (unsigned char)r.body[1] == 0x8b,
          "range of the gzip sibling %d", r.status);

    /* On the fly (big.txt has no sibling): gzip when asked, weak ETag. */
    CHECK(curl(f, &r, "/static/big.txt", ARGS("-H", "Accept-Encoding: gzip")) ==
              0,
          "curl");
    CHECK(r.status == 200 && hdr(&r, "content-encoding") &&
              strcmp(hdr(&r, "content-encoding"), "gzip") == 0,
          "fly %d", r.status);
    CHECK(r.blen < sizeof(big) / 4 && r.blen > 10, "compressed %zu", r.blen);
    CHECK(hdr(&r, "etag") && strncmp(hdr(&r, "etag"), "W/", 2) == 0,
          "weak etag");
    reply_free(&r);
    CHECK(curl(f, &r, "/static/big.txt", ARGS("--compressed")) == 0 &&
              r.status == 200 && r.blen == sizeof(big) &&
              memcmp(r.body, big, sizeof(big)) == 0,
          "fly decoded %d %zu", r.status, r.blen);
    reply_free(&r);
    /* A Range request gets the identity bytes even when gzip is accepted. */
    CHECK(curl(f, &r, "/static/big.txt",
               ARGS("-H", "Accept-Encoding: gzip", "-r", "0-9")) == 0 &&
              r.status == 206 && r.blen == 10 && memcmp(r.body, big, 10) == 0 &&
              hdr(&r, "content-encoding") == NULL,
          "range with gzip accepted %d", r.status);
    /* Already-compressed types are sent as they are. */
    CHECK(curl(f, &r, "/static/photo.png",
               ARGS("-H", "Accept-Encoding: gzip")) == 0 &&
              r.status == 200 && r.blen == 4096 &&
              hdr(&r, "content-encoding") == NULL && hdr(&r, "content-type") &&
              strcmp(hdr(&r, "content-type"), "image/png") == 0,
          "png %d", r.status);
    /* Small bodies are not compressed. */
    CHECK(curl(f, &r, "/static/hello.txt",
               ARGS("-H", "Accept-Encoding: gzip")) == 0 &&
              hdr(&r, "content-encoding") == NULL,
          "small not compressed");
    reply_free(&r);
    return 0;
}

Test(server_files, compression, .init = make_tree, .fini = rm_tree)
{
    run(t_compression);
}

static int t_escapes(struct fx *f)
{
    static const char *const paths[] = {
        "/static/../outside.txt",
        "/static/%2e%2e/outside.txt",
        "/static/.%2E/outside.txt",
        "/static/%2e%2e%2foutside.txt",
        "/static/..%2foutside.txt",
        "/static/%%32%65%%32%65/outside.txt",
        "/static/%c0%ae%c0%ae/outside.txt",
        "/static/..;/outside.txt",
        "/static/..%5coutside.txt",
        "/static/.hidden",
        "/static/%2ehidden",
        "/static/link_abs",
        "/static/link_up",
        "/static/link_null",
        "/static/hello.txt%00.png",
        "/static/sub/../../outside.txt",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct reply r;
        CHECK(curl(f, &r, paths[i], ARGS("--path-as-is")) == 0, "curl %s",
              paths[i]);
        CHECK(r.status == 400 || r.status == 403 || r.status == 404, "%s: %d",
              paths[i], r.status);
        CHECK(strstr(r.body, "secret") == NULL, "%s leaked", paths[i]);
        reply_free(&r);
    }
    struct reply r;
    CHECK(curl(f, &r, "/static/fifo", NULL) == 0 && r.status == 403, "fifo %d",
          r.status);
    reply_free(&r);
    /* Symlinks: 404 by default; with follow_symlinks, inside the root only. */
    CHECK(curl(f, &r, "/static/link_in", NULL) == 0 && r.status == 404,
          "link_in %d", r.status);
    CHECK(curl(f, &r, "/follow/link_in", NULL) == 0 && r.status == 200 &&
              strcmp(r.body, HELLO) == 0,
          "follow link_in %d", r.status);
    CHECK(curl(f, &r, "/follow/link_abs", NULL) == 0 && r.status == 404,
          "follow link_abs %d", r.status);
    CHECK(curl(f, &r, "/follow/link_up", NULL) == 0 && r.status == 404,
          "follow link_up %d", r.status);
    CHECK(curl(f, &r, "/follow/link_null", NULL) == 0 && r.status == 404,
          "follow link_null %d", r.status);

    /* Raw requests, bytes exactly as written. */
    static const char *const raws[] = {
        "GET /static/../outside.txt HTTP/1.1\r\nHost: a\r\nConnection: "
        "close\r\n\r\n",
        "GET /static/%2e%2e/outside.txt HTTP/1.1\r\nHost: a\r\nConnection: "
        "close\r\n\r\n",
        "GET /static/..\\outside.txt HTTP/1.1\r\nHost: a\r\nConnection: "
        "close\r\n\r\n",
        "GET /static//../outside.txt HTTP/1.1\r\nHost: a\r\nConnection: "
        "close\r\n\r\n",
        "GET /static/hello.txt%00 HTTP/1.1\r\nHost: a\r\nConnection: "
        "close\r\n\r\n",
        "GET /static/fifo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    };
    char out[8192];
    for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
        CHECK(raw(f, raws[i], out, sizeof(out)) == 0, "raw %zu", i);
        int st = 0;
        sscanf(out, "HTTP/1.1 %d", &st);
        CHECK(st == 400 || st == 403 || st == 404, "raw %zu: %d", i, st);
        CHECK(strstr(out, "secret") == NULL, "raw %zu leaked", i);
    }
    /* The server still serves after all of them. */
    CHECK(curl(f, &r, "/static/hello.txt", NULL) == 0 && r.status == 200,
          "alive");
    reply_free(&r);
    return 0;
}

Test(server_files, no_escape, .init = make_tree, .fini = rm_tree)
{
    run(t_escapes);
}

static int t_large(struct fx *f)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/root/large.bin", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create");
    static uint64_t blk[8192];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int b = 0; b < 800; b++) { /* 800 x 64 KiB = 50 MiB */
        for (size_t i = 0; i < 8192; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            blk[i] = x;
        }
        CHECK(write(fd, blk, sizeof(blk)) == (ssize_t)sizeof(blk), "write");
    }
    close(fd);
    struct job *j = calloc(1, sizeof(*j));
    char cmd[800];
    snprintf(cmd, sizeof(cmd),
             "a=$(curl -sS --max-time 60 http://127.0.0.1:%u/static/large.bin "
             "| sha256sum) && b=$(sha256sum < '%s') && [ \"$a\" = \"$b\" ] "
             "&& echo same",
             f->port, path);
    j->argv[0] = "sh";
    j->argv[1] = "-c";
    j->argv[2] = cmd;
    int rc = cio_blocking(job_fn, j, NULL);
    bool same = rc == 0 && j->n > 0 && strcmp(j->out, "same\n") == 0;
    free(j);
    CHECK(same, "50 MiB body hash differs");
    return 0;
}

Test(server_files, large_file_sha256, .init = make_tree, .fini = rm_tree)
{
    run(t_large);
}

/* RELIABILITY 76: a file that shrinks while it is sent. The client reads a
 * little, the file is cut to 1 MiB, then the client reads to the end: it
 * gets fewer bytes than Content-Length and then EOF, never a hang or
 * padding. Loopback socket buffers hold a few MiB at most, so the server is
 * still in the middle of the 50 MiB when the file shrinks. */
struct shrink_job {
    unsigned port;
    const char *path;
    uint64_t got; /* body bytes */
    uint64_t clen;
    bool eof;
    bool same; /* the bytes received are the file's first bytes */
};

static void *shrink_fn(void *arg)
{
    struct shrink_job *j = arg;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)j->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(s);
        return NULL;
    }
    const char *rq = "GET /static/large.bin HTTP/1.1\r\nHost: a\r\n\r\n";
    if (write(s, rq, strlen(rq)) != (ssize_t)strlen(rq)) {
        close(s);
        return NULL;
    }
    static char buf[65536];
    size_t hl = 0;
    char *end = NULL;
    while (end == NULL && hl < sizeof(buf) - 1) {
        ssize_t n = read(s, buf + hl, sizeof(buf) - 1 - hl);
        if (n <= 0)
            break;
        hl += (size_t)n;
        buf[hl] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strcasestr(buf, "content-length:");
    if (end == NULL || cl == NULL) {
        close(s);
        return NULL;
    }
    j->clen = strtoull(cl + 15, NULL, 10);
    j->got = hl - (size_t)(end + 4 - buf);
    if (truncate(j->path, 1 << 20) != 0) {
        close(s);
        return NULL;
    }
    int fd = open(j->path, O_RDONLY);
    j->same = true;
    for (;;) {
        struct pollfd pf = {.fd = s, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0)
            break;
        ssize_t n = read(s, buf, sizeof(buf));
        if (n == 0) {
            j->eof = true;
            break;
        }
        if (n < 0)
            break;
        /* Up to 1 MiB the bytes are checked against the file. */
        static char fb[65536];
        if (j->got < (1u << 20)) {
            size_t k = (size_t)n;
            if (j->got + k > (1u << 20))
                k = (size_t)((1u << 20) - j->got);
            if (pread(fd, fb, k, (off_t)j->got) != (ssize_t)k ||
                memcmp(fb, buf, k) != 0)
                j->same = false;
        }
        j->got += (uint64_t)n;
    }
    close(fd);
    close(s);
    return NULL;
}

static int t_shrink(struct fx *f)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/root/large.bin", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0, "create");
    static char blk[65536];
    for (int b = 0; b < 800; b++) {
        memset(blk, 'a' + b % 26, sizeof(blk));
        CHECK(write(fd, blk, sizeof(blk)) == (ssize_t)sizeof(blk), "write");
    }
    close(fd);
    struct shrink_job j = {.port = f->port, .path = path};
    int rc = cio_blocking(shrink_fn, &j, NULL);
    CHECK(rc == 0, "job");
    CHECK(j.clen == 800u * 65536, "content-length %llu",
          (unsigned long long)j.clen);
    CHECK(j.eof, "the connection was closed (got %llu)",
          (unsigned long long)j.got);
    CHECK(j.got < j.clen, "short body: %llu", (unsigned long long)j.got);
    CHECK(j.same, "the bytes sent are the file's");
    /* The server still serves. */
    struct reply r;
    CHECK(curl(f, &r, "/static/hello.txt", NULL) == 0 && r.status == 200,
          "alive");
    return 0;
}

Test(server_files, file_shrinks_mid_send, .init = make_tree, .fini = rm_tree)
{
    run(t_shrink);
}

static int t_sse(struct fx *f)
{
    struct reply r;
    CHECK(curl(f, &r, "/sse", ARGS("-N")) == 0, "curl -N");
    CHECK(r.status == 200, "sse %d", r.status);
    CHECK(hdr(&r, "content-type") &&
              strcmp(hdr(&r, "content-type"), "text/event-stream") == 0,
          "ct");
    CHECK(hdr(&r, "cache-control") &&
              strcmp(hdr(&r, "cache-control"), "no-cache") == 0,
          "cache-control");
    CHECK(hdr(&r, "x-accel-buffering") != NULL, "x-accel-buffering");
    CHECK(strcmp(r.body, SSE_WIRE) == 0, "wire:\n%s", r.body);
    reply_free(&r);

    /* The Python clients parse the events the way browsers do. */
    static const char *const scripts[] = {"sse_aiohttp.py", "sse_httpx.py"};
    for (size_t i = 0; i < 2; i++) {
        struct job *j = calloc(1, sizeof(*j));
        char script[512], url[128];
        snprintf(script, sizeof(script), "%s/../peers/%s", cio_test_data(""),
                 scripts[i]);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/sse", f->port);
        j->argv[0] = "/usr/bin/python3"; /* Debian's aiohttp, httpx */
        j->argv[1] = script;
        j->argv[2] = url;
        int rc = cio_blocking(job_fn, j, NULL);
        bool ok = rc == 0 && j->n > 0 &&
                  strcmp(j->out, "message|||hello\n"
                                 "tick|2||a\\nb\n"
                                 "message|2|1500|x\\ny\\nz\n"
                                 "end|2||einval\n") == 0;
        cr_expect(ok, "%s output:\n%s", scripts[i],
                  j->n >= 0 ? j->out : "(failed)");
        free(j);
        CHECK(ok, "%s", scripts[i]);
    }
    return 0;
}

Test(server_files, sse, .init = make_tree, .fini = rm_tree)
{
    run(t_sse);
}
