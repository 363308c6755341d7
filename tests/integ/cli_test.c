/* SPDX-License-Identifier: MIT */
/*
 * The corio program (tools/corio), run as a child process:
 *   - `corio serve DIR` answers every httpbin-like endpoint (checked with
 *     curl: status and the key JSON fields) and serves DIR's files;
 *   - `corio get|post|...` items produce exactly the request they promise
 *     (checked through the /anything echo), --check-status exit codes,
 *     timeouts and errors map to 2 and 1;
 *   - --download is byte-exact, and -c resumes a truncated file and
 *     recognises a complete one;
 *   - `corio demo --quick` exits 0 and prints every row with all its
 *     requests answered.
 * No timing assertions. Every child is bounded in time and stopped by PID.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "srvproc.h"
#include "tls_fixture.h"

TLS_FIXTURE_PRE_ALL()
TLS_FIXTURE_POST_ALL()

extern char **environ;

#ifndef CIO_CORIO_BIN
#define CIO_CORIO_BIN ""
#endif

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------------------------------------------------------- running corio */

struct run {
    int status;       /* exit status, or -1 if killed / not exited */
    char out[262144]; /* stdout, NUL-terminated */
    size_t out_len;
    char err[16384]; /* stderr, NUL-terminated */
};

static struct run RUN;

/* Runs corio with args (NULL-terminated), bounded by limit_ms. */
static void run_corio(struct run *r, long limit_ms, const char *const *args)
{
    const char *argv[48] = {CIO_CORIO_BIN};
    size_t n = 1;
    for (; *args != NULL && n < 47; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    char errpath[] = "/tmp/cio-cli-err-XXXXXX";
    int efd = mkstemp(errpath);
    int pfd[2];
    cr_assert(efd >= 0 && pipe2(pfd, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    int rc =
        posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    cr_assert_eq(rc, 0, "cannot run %s: %s", argv[0], strerror(rc));
    long t0 = now_ms();
    for (;;) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = limit_ms - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        char tmp[8192];
        ssize_t k = read(pfd[0], tmp, sizeof(tmp));
        if (k <= 0)
            break;
        size_t room = sizeof(r->out) - 1 - r->out_len;
        size_t c = (size_t)k < room ? (size_t)k : room;
        memcpy(r->out + r->out_len, tmp, c);
        r->out_len += c;
    }
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        r->status = WEXITSTATUS(st);
    r->out[r->out_len] = '\0';
    ssize_t e = pread(efd, r->err, sizeof(r->err) - 1, 0);
    r->err[e > 0 ? e : 0] = '\0';
    close(efd);
    unlink(errpath);
    cr_expect(strstr(r->err, "Sanitizer") == NULL &&
                  strstr(r->err, "runtime error") == NULL,
              "sanitizer report from corio:\n%s", r->err);
}

#define CORIO(limit, ...)                                                      \
    do {                                                                       \
        const char *a_[] = {__VA_ARGS__, NULL};                                \
        run_corio(&RUN, limit, a_);                                            \
    } while (0)

/* ---------------------------------------------------------------- corio serve */

static pid_t srv_pid;
static char srv_addr[64], srv_base[96], srv_port[16];
static char dir[64];

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Starts `corio serve ARGS...` and reads its address line into addr. */
static pid_t spawn_serve(const char *const *argv, char *addr, size_t cap)
{
    int pfd[2];
    pid_t pid;
    cr_assert(pipe2(pfd, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    int rc =
        posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    cr_assert_eq(rc, 0);
    size_t got = 0;
    long t0 = now_ms();
    memset(addr, 0, cap);
    while (got < cap - 1 && memchr(addr, '\n', got) == NULL) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = 10000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t k = read(pfd[0], addr + got, cap - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(pfd[0]);
    char *nl = memchr(addr, '\n', got);
    if (nl == NULL)
        kill(pid, SIGKILL);
    cr_assert(nl != NULL, "corio serve printed no address");
    *nl = '\0';
    return pid;
}

/* SIGTERM, bounded wait; a graceful stop exits 0. */
static void stop_serve(pid_t pid)
{
    kill(pid, SIGTERM);
    int st = 0;
    long t0 = now_ms();
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() - t0 > 10000) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(10000);
    }
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "corio serve exit status %#x", st);
}

static void serve_start(void)
{
    if (access(CIO_CORIO_BIN, X_OK) != 0)
        cr_skip_test(
            "the corio program is not built (CIO_BUILD_TOOLS, jansson, zlib)");
    snprintf(dir, sizeof(dir), "/tmp/cio-cli-dir-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof(path), "%s/hello.txt", dir);
    write_file(path, "hello, corio\n", 13);

    const char *argv[] = {CIO_CORIO_BIN,     "serve",       dir,
                          "--listen",        "127.0.0.1:0", "--quiet",
                          "--student-delay", "0.05",        NULL};
    srv_pid = spawn_serve(argv, srv_addr, sizeof(srv_addr));
    snprintf(srv_base, sizeof(srv_base), "http://%s", srv_addr);
    snprintf(srv_port, sizeof(srv_port), "%s", strrchr(srv_addr, ':') + 1);
}

static void serve_stop(void)
{
    if (srv_pid > 0) {
        stop_serve(srv_pid);
        srv_pid = 0;
    }
    if (dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_expect_eq(system(cmd), 0);
        dir[0] = '\0';
    }
}

static char url_buf[8][256];

static const char *url(int i, const char *path)
{
    snprintf(url_buf[i], sizeof(url_buf[i]), "%s%s", srv_base, path);
    return url_buf[i];
}

/* Compares ignoring spaces and newlines (encoders differ in spacing). */
static int has_nospace(const char *hay, const char *needle)
{
    static char a[65536];
    size_t n = 0;
    for (const char *p = hay; *p != '\0' && n < sizeof(a) - 1; p++)
        if (*p != ' ' && *p != '\n')
            a[n++] = *p;
    a[n] = '\0';
    return strstr(a, needle) != NULL;
}

static struct http_res R;

TestSuite(cli, .init = serve_start, .fini = serve_stop);

/* ---------------------------------------------------------------- endpoints */

static const struct {
    const char *path;
    const char *curl[6]; /* extra curl arguments before the URL */
    int status;
    const char *body[3]; /* substrings of the body (spaces ignored) */
    const char *header;  /* "Name: value" expected in the head, or NULL */
} endpoints[] = {
    {"/get?a=1&a=2&b=x",
     {0},
     200,
     {"\"args\":{\"a\":[\"1\",\"2\"],\"b\":\"x\"}",
      "\"url\":\"http://127.0.0.1:"},
     NULL},
    {"/post",
     {"-d", "k=v"},
     200,
     {"\"form\":{\"k\":\"v\"}", "\"method\":\"POST\""},
     NULL},
    {"/put",
     {"-X", "PUT", "-H", "Content-Type: application/json", "-d", "{\"a\":[1]}"},
     200,
     {"\"json\":{\"a\":[1]}"},
     NULL},
    {"/patch",
     {"-X", "PATCH", "-H", "Content-Type: text/plain", "--data-binary", "raw!"},
     200,
     {"\"data\":\"raw!\"", "\"method\":\"PATCH\""},
     NULL},
    {"/delete", {"-X", "DELETE"}, 200, {"\"method\":\"DELETE\""}, NULL},
    {"/anything/x/y?q=1",
     {"-X", "OPTIONS"},
     200,
     {"\"method\":\"OPTIONS\"", "\"args\":{\"q\":\"1\"}", "/anything/x/y"},
     NULL},
    {"/status/418", {0}, 418, {0}, NULL},
    {"/status/302", {0}, 302, {0}, "Location: /redirect/1"},
    {"/status/599", {0}, 599, {0}, NULL},
    {"/status/abc", {0}, 400, {0}, NULL},
    {"/delay/0.1", {0}, 200, {"\"url\":\"http://127.0.0.1:"}, NULL},
    {"/headers", {"-H", "X-Test: 42"}, 200, {"\"X-Test\":\"42\""}, NULL},
    {"/ip", {0}, 200, {"\"origin\":\"127.0.0.1\""}, NULL},
    {"/user-agent",
     {"-A", "probe/1"},
     200,
     {"\"user-agent\":\"probe/1\""},
     NULL},
    {"/json",
     {0},
     200,
     {"\"slideshow\":{", "\"title\":\"SampleSlideShow\""},
     NULL},
    {"/bytes/1000?seed=1", {0}, 200, {0}, "Content-Length: 1000"},
    {"/stream/3", {0}, 200, {"\"id\":0", "\"id\":2"}, NULL},
    {"/cookies",
     {"-b", "a=1; b=two"},
     200,
     {"\"cookies\":{\"a\":\"1\",\"b\":\"two\"}"},
     NULL},
    {"/cookies/set?flavour=oat",
     {0},
     302,
     {0},
     "Set-Cookie: flavour=oat; Path=/"},
    {"/cookies/delete?flavour", {0}, 302, {0}, "Location: /cookies"},
    {"/redirect/3", {0}, 302, {0}, "Location: /redirect/2"},
    {"/redirect/1", {0}, 302, {0}, "Location: /get"},
    {"/basic-auth/ann/s3cret",
     {"-u", "ann:s3cret"},
     200,
     {"\"authenticated\":true", "\"user\":\"ann\""},
     NULL},
    {"/basic-auth/ann/s3cret",
     {"-u", "ann:wrong"},
     401,
     {0},
     "WWW-Authenticate: Basic realm=\"Fake Realm\""},
    {"/gzip",
     {"--compressed"},
     200,
     {"\"gzipped\":true", "\"method\":\"GET\""},
     "Content-Encoding: gzip"},
    {"/sse?n=3",
     {0},
     200,
     {"event:tick", "data:{\"n\":3,\"of\":3}"},
     "Content-Type: text/event-stream"},
    {"/getStudentInfo?id=7",
     {0},
     200,
     {"\"id\":7", "\"name\":\"student-7\""},
     NULL},
    {"/getStudentInfo?id=7&delay=0.01", {0}, 200, {"\"id\":7"}, NULL},
    {"/hello.txt", {0}, 200, {"hello,corio"}, "Accept-Ranges: bytes"},
    {"/nope.txt", {0}, 404, {0}, NULL},
};

Test(cli, serve_endpoints)
{
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        const char *args[12];
        size_t n = 0;
        for (size_t k = 0; k < 6 && endpoints[i].curl[k] != NULL; k++)
            args[n++] = endpoints[i].curl[k];
        args[n++] = url(0, endpoints[i].path);
        args[n] = NULL;
        cr_assert_eq(http_curl(&R, args), 0, "curl %s failed",
                     endpoints[i].path);
        cr_expect_eq(R.status, endpoints[i].status, "%s: status %d, body %s",
                     endpoints[i].path, R.status, R.body);
        for (size_t k = 0; k < 3 && endpoints[i].body[k] != NULL; k++)
            cr_expect(has_nospace(R.body, endpoints[i].body[k]),
                      "%s: no %s in %s", endpoints[i].path,
                      endpoints[i].body[k], R.body);
        if (endpoints[i].header != NULL) {
            char name[64];
            const char *colon = strchr(endpoints[i].header, ':');
            snprintf(name, sizeof(name), "%.*s",
                     (int)(colon - endpoints[i].header), endpoints[i].header);
            const char *v = http_header(&R, name);
            cr_expect(v != NULL && strcmp(v, colon + 2) == 0, "%s: %s is %s",
                      endpoints[i].path, name, v != NULL ? v : "(none)");
        }
    }
    /* /bytes is exactly n bytes, reproducible with a seed; /stream is n lines. */
    cr_assert_eq(
        http_curl(&R, (const char *[]){url(0, "/bytes/4096?seed=9"), NULL}), 0);
    cr_expect_eq(R.body_len, 4096);
    cr_assert_eq(http_curl(&R, (const char *[]){url(0, "/stream/5"), NULL}), 0);
    size_t lines = 0;
    for (const char *p = R.body; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_expect_eq(lines, 5);
}

/* ---------------------------------------------------------------- get/post items */

static json_t *run_json(void)
{
    cr_assert_eq(RUN.status, 0, "corio exit %d; stderr: %s", RUN.status,
                 RUN.err);
    json_error_t e;
    json_t *j = json_loads(RUN.out, 0, &e);
    cr_assert(j != NULL, "not JSON (%s): %s", e.text, RUN.out);
    return j;
}

static const char *jstr(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2 != NULL)
        v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : "(missing)";
}

Test(cli, items_make_the_exact_request)
{
    /* JSON (the default): headers, params, strings, raw JSON. */
    CORIO(20000, "post", url(0, "/anything"), "X-Api:k1", "page==2", "q==a b",
          "name=ann", "age:=42", "tags:=[\"x\",true]", "esc\\=aped=v");
    json_t *j = run_json();
    cr_expect_str_eq(jstr(j, "method", NULL), "POST");
    cr_expect_str_eq(jstr(j, "headers", "X-Api"), "k1");
    cr_expect_str_eq(jstr(j, "headers", "Content-Type"), "application/json");
    cr_expect_str_eq(jstr(j, "headers", "Accept"),
                     "application/json, */*;q=0.5");
    cr_expect_str_eq(jstr(j, "args", "page"), "2");
    cr_expect_str_eq(jstr(j, "args", "q"), "a b");
    json_t *want = json_loads("{\"name\":\"ann\",\"age\":42,\"tags\":[\"x\","
                              "true],\"esc=aped\":\"v\"}",
                              0, NULL);
    cr_expect(json_equal(json_object_get(j, "json"), want), "json: %s",
              RUN.out);
    json_decref(want);
    json_decref(j);

    /* --form: urlencoded fields. */
    CORIO(20000, "put", "--form", url(0, "/anything"), "a=1", "b=x y");
    j = run_json();
    cr_expect_str_eq(jstr(j, "method", NULL), "PUT");
    cr_expect_str_eq(jstr(j, "headers", "Content-Type"),
                     "application/x-www-form-urlencoded");
    cr_expect_str_eq(jstr(j, "form", "a"), "1");
    cr_expect_str_eq(jstr(j, "form", "b"), "x y");
    json_decref(j);

    /* field@file: multipart with the file's bytes. */
    char path[128];
    snprintf(path, sizeof(path), "%s/up.txt", dir);
    write_file(path, "file body\n", 10);
    char item[160];
    snprintf(item, sizeof(item), "doc@%s", path);
    CORIO(20000, "post", url(0, "/anything"), item, "title=report");
    j = run_json();
    cr_expect(strncmp(jstr(j, "headers", "Content-Type"),
                      "multipart/form-data; boundary=", 30) == 0);
    cr_expect_str_eq(jstr(j, "files", "doc"), "file body\n");
    cr_expect_str_eq(jstr(j, "form", "title"), "report");
    json_decref(j);

    /* --raw: the bytes as given. */
    CORIO(20000, "patch", "--raw", "<hello/>", url(0, "/anything"),
          "Content-Type:text/xml");
    j = run_json();
    cr_expect_str_eq(jstr(j, "method", NULL), "PATCH");
    cr_expect_str_eq(jstr(j, "data", NULL), "<hello/>");
    cr_expect_str_eq(jstr(j, "headers", "Content-Type"), "text/xml");
    json_decref(j);

    /* delete, and the ":PORT/path" shorthand (localhost). */
    char shorthand[64];
    snprintf(shorthand, sizeof(shorthand), ":%s/anything", srv_port);
    CORIO(20000, "delete", shorthand);
    j = run_json();
    cr_expect_str_eq(jstr(j, "method", NULL), "DELETE");
    char want_url[96];
    snprintf(want_url, sizeof(want_url), "http://localhost:%s/anything",
             srv_port);
    cr_expect_str_eq(jstr(j, "url", NULL), want_url);
    json_decref(j);

    /* --follow: the redirect chain ends at /get. */
    CORIO(20000, "get", "--follow", url(0, "/redirect/3"));
    j = run_json();
    cr_expect(strstr(jstr(j, "url", NULL), "/get") != NULL, "%s", RUN.out);
    json_decref(j);

    /* head: the response head is printed even when piped. */
    CORIO(20000, "head", url(0, "/get"));
    cr_expect_eq(RUN.status, 0);
    cr_expect(strncmp(RUN.out, "HTTP/1.1 200 OK\n", 16) == 0, "%s", RUN.out);

    /* -v: both heads; --pretty all formats JSON (the body is indented). */
    CORIO(20000, "get", "-v", url(0, "/get"), "X-Trace:on");
    cr_expect(strstr(RUN.out, "GET /get HTTP/1.1\n") != NULL, "%s", RUN.out);
    cr_expect(strstr(RUN.out, "X-Trace: on\n") != NULL, "%s", RUN.out);
    cr_expect(strstr(RUN.out, "HTTP/1.1 200 OK\n") != NULL, "%s", RUN.out);
    CORIO(20000, "get", "--pretty", "all", "-b", url(0, "/ip"));
    cr_expect(strstr(RUN.out, "\033[") != NULL &&
                  strstr(RUN.out, "\n    ") != NULL,
              "%s", RUN.out);
    /* piped: the body unchanged, no colours. */
    CORIO(20000, "get", url(0, "/bytes/3000?seed=5"));
    cr_expect_eq(RUN.out_len, 3000);
}

/* ---------------------------------------------------------------- exit codes */

Test(cli, check_status_exit_codes)
{
    static const struct {
        const char *path;
        int check; /* --check-status */
        int follow;
        int want;
    } cases[] = {
        {"/status/200", 1, 0, 0}, {"/status/302", 1, 0, 3},
        {"/status/302", 1, 1, 0}, {"/status/404", 1, 0, 4},
        {"/status/418", 1, 0, 4}, {"/status/503", 1, 0, 5},
        {"/status/404", 0, 0, 0}, {"/status/500", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a[6] = {"get", url(0, cases[i].path)};
        size_t n = 2;
        if (cases[i].check)
            a[n++] = "--check-status";
        if (cases[i].follow)
            a[n++] = "--follow";
        a[n] = NULL;
        run_corio(&RUN, 20000, a);
        cr_expect_eq(RUN.status, cases[i].want,
                     "%s check=%d follow=%d: exit %d (%s)", cases[i].path,
                     cases[i].check, cases[i].follow, RUN.status, RUN.err);
    }
    /* A timeout is 2, a refused connection 1 (port 1 on loopback is closed). */
    CORIO(20000, "get", "--timeout", "0.2", url(0, "/delay/3"));
    cr_expect_eq(RUN.status, 2, "timeout: exit %d (%s)", RUN.status, RUN.err);
    CORIO(20000, "get", "http://127.0.0.1:1/");
    cr_expect_eq(RUN.status, 1, "refused: exit %d (%s)", RUN.status, RUN.err);
    /* Bad items are usage errors. */
    CORIO(20000, "post", url(0, "/post"), "n:={oops");
    cr_expect_eq(RUN.status, 1);
}

/* ---------------------------------------------------------------- download */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert(b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

Test(cli, download_and_resume_byte_exact)
{
    enum { SIZE = 700000 };
    char *data = malloc(SIZE);
    cr_assert(data != NULL);
    unsigned x = 12345;
    for (size_t i = 0; i < SIZE; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (char)(x >> 16);
    }
    char src[128], out[128];
    snprintf(src, sizeof(src), "%s/big.bin", dir);
    snprintf(out, sizeof(out), "%s/got.bin", dir);
    write_file(src, data, SIZE);

    CORIO(30000, "get", "--download", "-o", out, url(0, "/big.bin"));
    cr_assert_eq(RUN.status, 0, "download: exit %d: %s", RUN.status, RUN.err);
    size_t len;
    char *got = read_all(out, &len);
    cr_expect(len == SIZE && memcmp(got, data, SIZE) == 0,
              "download differs (%zu bytes)", len);
    free(got);

    /* Cut it short, then resume with -c: a Range request, appended. */
    cr_assert_eq(truncate(out, 123457), 0);
    CORIO(30000, "get", "--download", "-c", "-o", out, url(0, "/big.bin"));
    cr_assert_eq(RUN.status, 0, "resume: exit %d: %s", RUN.status, RUN.err);
    cr_expect(strstr(RUN.err, "resumed") != NULL, "not resumed: %s", RUN.err);
    got = read_all(out, &len);
    cr_expect(len == SIZE && memcmp(got, data, SIZE) == 0,
              "resumed file differs (%zu bytes)", len);
    free(got);

    /* Resuming a complete file: nothing to do, unchanged. */
    CORIO(30000, "get", "--download", "-c", "-o", out, url(0, "/big.bin"));
    cr_expect_eq(RUN.status, 0, "complete: exit %d: %s", RUN.status, RUN.err);
    cr_expect(strstr(RUN.err, "already complete") != NULL, "%s", RUN.err);
    got = read_all(out, &len);
    cr_expect(len == SIZE && memcmp(got, data, SIZE) == 0);
    free(got);

    /* A failed download (404) leaves an error status. */
    CORIO(30000, "get", "--download", "-o", out, url(0, "/missing.bin"));
    cr_expect_eq(RUN.status, 4, "404 download: exit %d", RUN.status);
    free(data);
}

/* ---------------------------------------------------------------- demo */

Test(cli, demo_quick_prints_every_row)
{
    CORIO(120000, "demo", "--quick");
    cr_assert_eq(RUN.status, 0, "demo exit %d\nstdout:\n%s\nstderr:\n%s",
                 RUN.status, RUN.out, RUN.err);
    static const char *const rows[] = {
        "one after another",       "gathered (cio_spawn",
        "lookup blocks the loop",  "lookup on the executor",
        "semaphore of 3",          "executor lookup + barrier",
        "1,000 x 200 ms gathered",
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *line = strstr(RUN.out, rows[i]);
        cr_expect(line != NULL, "row \"%s\" missing:\n%s", rows[i], RUN.out);
        if (line == NULL)
            continue;
        /* "reqs ok" columns: every request answered 200 with its id. */
        int reqs = 0, ok = -1;
        const char *p = line + 44;
        cr_expect(sscanf(p, "%d %d", &reqs, &ok) == 2 && reqs == ok && reqs > 0,
                  "row \"%s\": %d requests, %d ok", rows[i], reqs, ok);
    }
    cr_expect(strstr(RUN.out, "total ") != NULL);
}

/* ---------------------------------------------------------------- TLS */

Test(cli, tls_serve_and_verify)
{
    tls_fixture_require();
    char cert[256], key[256], ca[256], addr[64], u[128];
    snprintf(cert, sizeof(cert), "%s", tls_fixture_path("server.pem"));
    snprintf(key, sizeof(key), "%s", tls_fixture_path("server.key"));
    snprintf(ca, sizeof(ca), "%s", tls_fixture_path("ca.pem"));
    const char *argv[] = {CIO_CORIO_BIN, "serve", "--listen",  "127.0.0.1:0",
                          "--tls-cert",  cert,    "--tls-key", key,
                          "--quiet",     NULL};
    pid_t pid = spawn_serve(argv, addr, sizeof(addr));
    snprintf(u, sizeof(u), "https://localhost:%s/ip", strrchr(addr, ':') + 1);

    /* The test CA is not in the system store: refused, exit 1. */
    CORIO(20000, "get", u);
    cr_expect_eq(RUN.status, 1, "unverified: exit %d (%s)", RUN.status,
                 RUN.err);
    CORIO(20000, "get", "--cacert", ca, u);
    cr_expect_eq(RUN.status, 0, "--cacert: exit %d (%s)", RUN.status, RUN.err);
    cr_expect(strstr(RUN.out, "\"origin\":\"127.0.0.1\"") != NULL, "%s",
              RUN.out);
    CORIO(20000, "get", "--insecure", u);
    cr_expect_eq(RUN.status, 0, "--insecure: exit %d (%s)", RUN.status,
                 RUN.err);
    stop_serve(pid);
}

/* A 206 to a download that was not resumed (the user's own Range item)
 * starts the file afresh: it is not appended to what -o held, and the
 * download is complete when the range is, not the whole resource. */
Test(cli, download_range_item_replaces_file)
{
    char out[128];
    snprintf(out, sizeof(out), "%s/range.bin", dir);
    write_file(out, "stale stale stale\n", 18);
    CORIO(30000, "get", "--download", "-o", out, url(0, "/hello.txt"),
          "Range:bytes=0-4");
    cr_expect_eq(RUN.status, 0, "exit %d: %s", RUN.status, RUN.err);
    size_t len;
    char *got = read_all(out, &len);
    cr_expect(len == 5 && memcmp(got, "hello", 5) == 0,
              "file holds %zu bytes: %.*s", len, (int)len, got);
    free(got);
}

/* Header values may carry obs-text (RFC 9110 §5.5), which is not UTF-8:
 * the JSON endpoints that echo one answer 200 (with "?" for it, as
 * /headers does) instead of failing to encode and answering 500. */
Test(cli, endpoints_echo_non_utf8_values)
{
    static const struct {
        const char *path;
        const char *arg[2]; /* curl arguments */
    } cases[] = {
        {"/user-agent", {"-A", "agent-\xff"}},
        {"/bearer", {"-H", "Authorization: Bearer tok\xff"}},
        {"/getStudentInfo?id=a%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
         "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
         "%C3%A9%C3%A9%C3%A9",
         {"-H", "X-Nothing: 1"}},
        {"/data?page=1&size=2", {"-H", "Cookie: tracking_id=\xff; x=1"}},
        {"/upload", {"-H", "Content-Type: text/\xff"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[8] = {cases[i].arg[0], cases[i].arg[1]};
        size_t n = 2;
        if (strncmp(cases[i].path, "/data", 5) == 0) {
            args[n++] = "-H";
            args[n++] = "Authorization: Bearer t";
        }
        if (strcmp(cases[i].path, "/upload") == 0) {
            args[n++] = "--data-binary";
            args[n++] = "abc";
        }
        args[n++] = url(0, cases[i].path);
        args[n] = NULL;
        cr_assert_eq(http_curl(&R, args), 0, "curl %s failed", cases[i].path);
        cr_expect_eq(R.status, 200, "%s: %d %s", cases[i].path, R.status,
                     R.body);
    }
}

/* --student-delay is checked as a number in 0..10: "nan" passed both
 * comparisons and was then converted to an integer (undefined), "2x" and
 * "abc" were read as 2 and 0. Each is a usage error, exit 1, at once. */
Test(cli, serve_rejects_bad_student_delay)
{
    static const char *const bad[] = {"nan", "2x", "abc", "-1", "11"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CORIO(5000, "serve", "--listen", "127.0.0.1:0", "--quiet",
              "--student-delay", bad[i]);
        cr_expect_eq(RUN.status, 1, "--student-delay %s: exit %d", bad[i],
                     RUN.status);
    }
}

/* --timeout is a number of seconds > 0 that fits the client's millisecond
 * timeouts: "abc" and "nan" were a silent default, 1e20 an out-of-range
 * float-to-integer conversion. Each is a usage error (exit 1). */
Test(cli, get_rejects_bad_timeout)
{
    static const char *const bad[] = {"abc", "nan", "1e20", "-1", "0", "2x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CORIO(20000, "get", "--timeout", bad[i], url(0, "/get"));
        cr_expect_eq(RUN.status, 1, "--timeout %s: exit %d", bad[i],
                     RUN.status);
    }
    CORIO(20000, "get", "--timeout", "2.5", url(0, "/get"));
    cr_expect_eq(RUN.status, 0, "--timeout 2.5: exit %d (%s)", RUN.status,
                 RUN.err);
}

/* The httpbin endpoints' numeric arguments are plain decimals within the
 * documented range: "/sse?n=-5" sent 1000 events, "n=abc" none,
 * "/delay/abc" and "/delay/-1" answered at once, "?page=<huge>" overflowed
 * page * size, "/bytes/99999999999" was clamped. Each is now a 400 whose
 * message names the argument. */
static const struct {
    const char *path;
    const char *name; /* in the message */
} bad_args[] = {
    {"/sse?n=-5", "n must be"},
    {"/sse?n=abc", "n must be"},
    {"/sse?n=99999999999999999999", "n must be"},
    {"/sse?n=1001", "n must be"},
    {"/sse?n=2&interval=-1", "interval must be"},
    {"/sse?n=2&interval=nan", "interval must be"},
    {"/sse?n=2&interval=1e9", "interval must be"},
    {"/stream/-1", "n must be"},
    {"/stream/101", "n must be"},
    {"/stream/99999999999999999999", "n must be"},
    {"/bytes/-1", "n must be"},
    {"/bytes/abc", "n must be"},
    {"/bytes/10485761", "n must be"},
    {"/bytes/99999999999999999999", "n must be"},
    {"/bytes/10?seed=-1", "seed must be"},
    {"/bytes/10?seed=x", "seed must be"},
    {"/delay/-1", "seconds must be"},
    {"/delay/abc", "seconds must be"},
    {"/delay/nan", "seconds must be"},
    {"/delay/11", "seconds must be"},
    {"/delay/1e3", "seconds must be"},
    {"/status/-200", "code must be"},
    {"/status/99999999999999999999", "code must be"},
    {"/status/200x", "code must be"},
    {"/redirect/0", "n must be"},
    {"/redirect/-1", "n must be"},
    {"/redirect/101", "n must be"},
    {"/getStudentInfo?id=1&delay=-1", "delay must be"},
    {"/getStudentInfo?id=1&delay=abc", "delay must be"},
};

Test(cli, serve_rejects_bad_numeric_args)
{
    for (size_t i = 0; i < sizeof bad_args / sizeof *bad_args; i++) {
        cr_assert_eq(
            http_curl(&R, (const char *[]){url(0, bad_args[i].path), NULL}), 0,
            "curl %s failed", bad_args[i].path);
        cr_expect_eq(R.status, 400, "%s: status %d, body %.200s",
                     bad_args[i].path, R.status, R.body);
        cr_expect(strstr(R.body, bad_args[i].name) != NULL,
                  "%s: no \"%s\" in %.200s", bad_args[i].path, bad_args[i].name,
                  R.body);
    }
    /* /data behind its token: a huge page overflowed page * size. */
    static const char *const data_bad[] = {"/data?page=9223372036854775807",
                                           "/data?page=0", "/data?size=-1",
                                           "/data?size=2x"};
    for (size_t i = 0; i < sizeof data_bad / sizeof *data_bad; i++) {
        cr_assert_eq(
            http_curl(&R, (const char *[]){"-H", "Authorization: Bearer t",
                                           url(0, data_bad[i]), NULL}),
            0);
        cr_expect_eq(R.status, 400, "%s: status %d", data_bad[i], R.status);
    }
    /* The range ends are still accepted. */
    static const char *const good[] = {"/sse?n=0",  "/sse?n=2&interval=0.01",
                                       "/stream/0", "/bytes/0?seed=7",
                                       "/delay/0",  "/redirect/100"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        cr_assert_eq(http_curl(&R, (const char *[]){url(0, good[i]), NULL}), 0);
        cr_expect(R.status == 200 || R.status == 302, "%s: status %d", good[i],
                  R.status);
    }
}

/* Every numeric option is checked whole and in range, and the message names
 * the option and the value: strtoul read "--workers -1" as 2^64 - 1 threads
 * and "--workers abc" as 0 (one per CPU), "--max-redirects -1" as 2^32 - 1.
 * The exit status is each command's usage status (docs/cli.md: 1 for
 * get/serve, whose 2 means a timeout; docs/bench.md: 2 for bench). */
Test(cli, numeric_options_are_checked)
{
    static const struct {
        const char *args[6];
        int status;
        const char *msg;
    } cases[] = {
        {{"serve", "--workers", "-1"},
         1,
         "--workers wants an integer 0..1024, not \"-1\""},
        {{"serve", "--workers", "abc"},
         1,
         "--workers wants an integer 0..1024, not \"abc\""},
        {{"serve", "-w", "99999"}, 1, "not \"99999\""},
        {{"serve", "--student-delay", "inf"},
         1,
         "--student-delay wants seconds 0..10, not \"inf\""},
        {{"get", "--max-redirects", "-1", ":1/"},
         1,
         "--max-redirects wants an integer 0..1000, not \"-1\""},
        {{"post", "--max-redirects", "abc", ":1/"},
         1,
         "corio post: --max-redirects"},
        {{"get", "--timeout", "-3", ":1/"},
         1,
         "--timeout wants seconds 0.001..4000000, not \"-3\""},
        {{"bench", "-c", "0"},
         2,
         "-c/--connections wants an integer 1..1000000, not \"0\""},
        {{"bench", "-n", "-1"}, 2, "-n/--requests wants an integer"},
        {{"bench", "-m", "x"},
         2,
         "-m/--inflight wants an integer 1..1000000, not \"x\""},
        {{"bench", "-t", "-2"},
         2,
         "-t/--threads wants an integer 1..1000000, not \"-2\""},
        {{"bench", "-d", "nan"}, 2, "-d/--duration wants a duration > 0"},
        {{"bench", "-d", "1e30"}, 2, "not \"1e30\""},
        {{"bench", "--timeout", "-3"}, 2, "--timeout wants a duration > 0"},
        {{"bench", "--rate", "inf"},
         2,
         "--rate wants requests/s in (0, 1e9], not \"inf\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *a[8];
        size_t n = 0;
        for (; n < 6 && cases[i].args[n] != NULL; n++)
            a[n] = cases[i].args[n];
        a[n] = NULL;
        run_corio(&RUN, 5000, a);
        cr_expect_eq(RUN.status, cases[i].status, "%s %s %s: exit %d (%s)",
                     a[0], a[1], a[2], RUN.status, RUN.err);
        cr_expect(strstr(RUN.err, cases[i].msg) != NULL,
                  "%s %s %s: no '%s' in: %s", a[0], a[1], a[2], cases[i].msg,
                  RUN.err);
    }
}

/* --max-redirects 0 with --follow is httpie's: any redirect is one too many
 * (an error, exit 1), where the client's own 0 would mean its default of 20.
 * Without --follow the 3xx is the response. */
Test(cli, max_redirects_zero_refuses_a_redirect)
{
    CORIO(20000, "get", "--follow", "--max-redirects", "0",
          url(0, "/redirect/1"));
    cr_expect_eq(RUN.status, 1, "exit %d (%s)", RUN.status, RUN.err);
    cr_expect(strstr(RUN.err, "too many redirects") != NULL, "%s", RUN.err);
    CORIO(20000, "get", "--follow", "--max-redirects", "1",
          url(0, "/redirect/2"));
    cr_expect_eq(RUN.status, 1, "limit 1: exit %d (%s)", RUN.status, RUN.err);
    CORIO(20000, "get", "--follow", "--max-redirects", "2",
          url(0, "/redirect/2"));
    cr_expect_eq(RUN.status, 0, "limit 2: exit %d (%s)", RUN.status, RUN.err);
    CORIO(20000, "get", "--max-redirects", "0", "--check-status",
          url(0, "/redirect/1"));
    cr_expect_eq(RUN.status, 3, "not followed: exit %d (%s)", RUN.status,
                 RUN.err);
}

/* A multipart file part above 1 MiB is echoed whole: read_multipart read
 * each part into a fixed 1 MiB buffer and cut it there without a word. The
 * bound is the server's --max-body (413 beyond it). curl writes the answer
 * to a file (the JSON holds the 2 MiB text). */
Test(cli, serve_multipart_echoes_big_parts_whole)
{
    static const size_t big = 2u * 1024 * 1024 + 17;
    char in[] = "/tmp/cio-cli-mp-XXXXXX", out[64], cmd[512], addr[64];
    int fd = mkstemp(in);
    cr_assert(fd >= 0);
    char *data = malloc(big);
    cr_assert(data != NULL);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + (i * 7 + i / 4099) % 26);
    cr_assert_eq(write(fd, data, big), (ssize_t)big);
    close(fd);
    snprintf(out, sizeof(out), "%s.json", in);

    const char *argv[] = {CIO_CORIO_BIN, "serve",   "--listen",
                          "127.0.0.1:0", "--quiet", "--max-body",
                          "4194304",     NULL};
    pid_t pid = spawn_serve(argv, addr, sizeof(addr));
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -o %s -w '%%{http_code}' "
             "-F 'up=@%s;type=text/plain' -F note=hi http://%s/post",
             out, in, addr);
    FILE *p = popen(cmd, "r");
    cr_assert(p != NULL);
    char code[16] = {0};
    cr_expect(fgets(code, sizeof(code), p) != NULL);
    pclose(p);
    cr_expect_str_eq(code, "200");
    json_error_t e;
    json_t *j = json_load_file(out, 0, &e);
    cr_expect(j != NULL, "not JSON: %s", e.text);
    json_t *f = json_object_get(json_object_get(j, "files"), "up");
    cr_expect_eq(json_string_length(f), big, "file part: %zu of %zu bytes",
                 json_string_length(f), big);
    cr_expect(json_string_length(f) == big &&
                  memcmp(json_string_value(f), data, big) == 0,
              "file part differs");
    cr_expect_str_eq(jstr(j, "form", "note"), "hi");
    json_decref(j);

    /* Over --max-body: 413, not a cut echo. */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 20 -o /dev/null -w '%%{http_code}' "
             "-F 'up=@%s' -F 'up2=@%s' -F 'up3=@%s' http://%s/post",
             in, in, in, addr);
    p = popen(cmd, "r");
    cr_assert(p != NULL);
    memset(code, 0, sizeof(code));
    cr_expect(fgets(code, sizeof(code), p) != NULL);
    pclose(p);
    cr_expect_str_eq(code, "413");
    stop_serve(pid);
    unlink(out);
    unlink(in);
    free(data);
}
