/* SPDX-License-Identifier: MIT */
/*
 * Every client and concurrency example translated from the seeds
 * (examples/seed_*.c), run as a child process against `corio serve` on
 * 127.0.0.1:0 (its /getStudentInfo answering after 50 ms): each must exit 0
 * without a sanitizer report and print its key lines: counts, ids, echoed
 * fields, and the ORDER that the example is about (the loop stalling on a
 * blocking lookup, every lookup done before the barrier or the event
 * releases the requests, at most three requests in flight under the
 * semaphore). No timing assertions. Every child is bounded in time and
 * stopped by PID.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "srvproc.h"

extern char **environ;

#ifndef CIO_CORIO_BIN
#define CIO_CORIO_BIN ""
#endif
#ifndef CIO_EXAMPLES_DIR
#define CIO_EXAMPLES_DIR ""
#endif

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------------------------------------------------------- corio serve */

static pid_t srv_pid;
static char srv_base[96];

static void serve_start(void)
{
    if (access(CIO_CORIO_BIN, X_OK) != 0)
        cr_skip_test(
            "the corio program is not built (CIO_BUILD_TOOLS, jansson, zlib)");
    const char *argv[] = {CIO_CORIO_BIN, "serve",   "--listen",
                          "127.0.0.1:0", "--quiet", "--student-delay",
                          "0.05",        NULL};
    int pfd[2];
    cr_assert(pipe2(pfd, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    int rc =
        posix_spawn(&srv_pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    cr_assert_eq(rc, 0, "cannot run corio: %s", strerror(rc));

    char addr[64] = {0};
    size_t got = 0;
    long t0 = now_ms();
    while (got < sizeof(addr) - 1 && memchr(addr, '\n', got) == NULL) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = 10000 - (now_ms() - t0);
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t k = read(pfd[0], addr + got, sizeof(addr) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(pfd[0]);
    char *nl = memchr(addr, '\n', got);
    if (nl == NULL) {
        kill(srv_pid, SIGKILL);
        waitpid(srv_pid, NULL, 0);
        srv_pid = 0;
    }
    cr_assert(nl != NULL, "corio serve printed no address");
    *nl = '\0';
    snprintf(srv_base, sizeof(srv_base), "http://%s", addr);
}

static void serve_stop(void)
{
    if (srv_pid <= 0)
        return;
    kill(srv_pid, SIGTERM);
    int st = 0;
    long t0 = now_ms();
    while (waitpid(srv_pid, &st, WNOHANG) == 0) {
        if (now_ms() - t0 > 10000) {
            kill(srv_pid, SIGKILL);
            waitpid(srv_pid, &st, 0);
            break;
        }
        usleep(10000);
    }
    srv_pid = 0;
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "corio serve exit status %#x", st);
}

TestSuite(seed_examples, .init = serve_start, .fini = serve_stop);

/* ---------------------------------------------------------------- running an example */

struct run {
    int status;      /* exit status, or -1 if killed */
    char out[65536]; /* stdout, NUL-terminated */
    size_t out_len;
    char err[16384]; /* stderr */
};

static struct run RUN;

/* Runs examples/<name> with args (NULL-terminated) and an optional extra
 * environment entry, bounded by 20 s. */
static void run_example(const char *name, const char *env,
                        const char *const *args)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", CIO_EXAMPLES_DIR, name);
    cr_assert(access(path, X_OK) == 0, "%s is not built", path);
    const char *argv[16] = {path};
    size_t n = 1;
    for (; *args != NULL && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    char *envp[512];
    size_t e = 0;
    for (char **p = environ; *p != NULL && e < 510; p++)
        envp[e++] = *p;
    if (env != NULL)
        envp[e++] = (char *)env;
    envp[e] = NULL;

    struct run *r = &RUN;
    memset(r, 0, sizeof(*r));
    r->status = -1;
    char errpath[] = "/tmp/cio-seed-err-XXXXXX";
    int efd = mkstemp(errpath);
    int pfd[2];
    cr_assert(efd >= 0 && pipe2(pfd, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    cr_assert_eq(rc, 0, "cannot run %s: %s", path, strerror(rc));
    long t0 = now_ms();
    for (;;) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        long left = 20000 - (now_ms() - t0);
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
    ssize_t k = pread(efd, r->err, sizeof(r->err) - 1, 0);
    r->err[k > 0 ? k : 0] = '\0';
    close(efd);
    unlink(errpath);
    cr_expect(strstr(r->err, "Sanitizer") == NULL &&
                  strstr(r->err, "runtime error") == NULL,
              "sanitizer report from %s:\n%s", name, r->err);
}

#define RUN_OK(name, ...)                                                      \
    do {                                                                       \
        const char *a_[] = {__VA_ARGS__, NULL};                                \
        run_example(name, NULL, a_);                                           \
        cr_assert_eq(RUN.status, 0, "%s exit %d\nstdout:\n%s\nstderr:\n%s",    \
                     name, RUN.status, RUN.out, RUN.err);                      \
    } while (0)

#define HAS(s)                                                                 \
    cr_expect(strstr(RUN.out, s) != NULL, "no \"%s\" in:\n%s", s, RUN.out)

/* Number of occurrences of s in the output. */
static int count(const char *s)
{
    int n = 0;
    for (const char *p = RUN.out; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

/* Offset of the first line containing s, or -1. */
static long at(const char *s)
{
    const char *p = strstr(RUN.out, s);
    return p != NULL ? p - RUN.out : -1;
}

/* Offset of the last occurrence of s, or -1. */
static long last_at(const char *s)
{
    long pos = -1;
    for (const char *p = RUN.out; (p = strstr(p, s)) != NULL; p++)
        pos = p - RUN.out;
    return pos;
}

/* Occurrences of s before offset end. */
static int count_before(const char *s, long end)
{
    int n = 0;
    for (const char *p = RUN.out;
         (p = strstr(p, s)) != NULL && p - RUN.out < end; p++)
        n++;
    return n;
}

/* ---------------------------------------------------------------- the httpx + asyncio article */

Test(seed_examples, create_task_and_gather_usage)
{
    RUN_OK("seed_create_task", NULL);
    cr_expect(at("Start 1") >= 0 && at("Start 2") > at("Start 1") &&
                  at("Done 1") > at("Start 2") && at("Done 2") > at("Start 2"),
              "both tasks start before either ends:\n%s", RUN.out);
    HAS("2 tasks in");
    RUN_OK("seed_gather_sleep", NULL);
    long first_done = at("Done");
    cr_expect(first_done > at("Start 1") && first_done > at("Start 2") &&
                  first_done > at("Start 3"),
              "%s", RUN.out);
    cr_expect_eq(count("Done"), 3);
}

Test(seed_examples, for_loop)
{
    RUN_OK("seed_for_loop", srv_base);
    HAS("10/10 requests in");
    cr_expect_eq(count("{\"id\":1,\"name\":\"student-1\"}"), 10, "%s", RUN.out);
    /* One after another: task n+1 starts after task n is done. */
    for (int i = 1; i < 10; i++) {
        char done[32], next[32];
        snprintf(done, sizeof(done), "[task %d] done", i);
        snprintf(next, sizeof(next), "[task %d] start", i + 1);
        cr_expect(at(done) >= 0 && at(next) > at(done), "%s before %s:\n%s",
                  done, next, RUN.out);
    }
}

Test(seed_examples, gather)
{
    RUN_OK("seed_gather", srv_base);
    HAS("10/10 requests in");
    cr_expect_eq(count("{\"id\":1,\"name\":\"student-1\"}"), 10, "%s", RUN.out);
    /* Gathered: every task starts before the first one is done. */
    cr_expect(last_at("start at") < at("done at"), "%s", RUN.out);
}

Test(seed_examples, semaphore_waves)
{
    RUN_OK("seed_semaphore", srv_base);
    HAS("10 requests in");
    /* FIFO admission, three at a time: task i (admitted i-th) is in wave
     * i/3 + 1 and is sent only after i - 2 requests are done. */
    for (int i = 0; i < 10; i++) {
        char sent[48], done[48];
        snprintf(sent, sizeof(sent), "[task %d] wave %d: sent", i, i / 3 + 1);
        snprintf(done, sizeof(done), "[task %d] wave %d: done", i, i / 3 + 1);
        long pos = at(sent);
        cr_expect(pos >= 0 && at(done) > pos, "%s / %s:\n%s", sent, done,
                  RUN.out);
        if (i >= 3)
            cr_expect(count_before(": done", pos) >= i - 2,
                      "%s with more than 3 in flight:\n%s", sent, RUN.out);
    }
    cr_expect_eq(count("\"name\":\"student-"), 10);
}

Test(seed_examples, slow_lookup_stalls_the_loop)
{
    RUN_OK("seed_slow_lookup", srv_base, "10");
    HAS("10 requests in");
    cr_expect_eq(count("] done at "), 10, "%s", RUN.out);
    /* The blocking lookup holds the loop: no task starts while another's
     * lookup runs, so the lines alternate start / lookup done. */
    const char *p = RUN.out;
    for (int i = 0; i < 10; i++) {
        char start[48], lookup[48];
        snprintf(start, sizeof(start), "[task %d] start", i);
        snprintf(lookup, sizeof(lookup), "[task %d] lookup done", i);
        cr_assert(strncmp(p, start, strlen(start)) == 0, "want %s at:\n%s",
                  start, p);
        p = strchr(p, '\n') + 1;
        cr_assert(strncmp(p, lookup, strlen(lookup)) == 0, "want %s at:\n%s",
                  lookup, p);
        p = strchr(p, '\n') + 1;
    }
}

Test(seed_examples, executor_lookup)
{
    RUN_OK("seed_executor_lookup", srv_base, "10");
    HAS("10 requests in");
    cr_expect_eq(count("lookup done"), 10);
    cr_expect_eq(count("{\"id\":1,\"name\":\"student-1\"}"), 10, "%s", RUN.out);
    /* On the executor the lookups overlap: every task starts before the
     * first lookup ends. */
    cr_expect(last_at("] start") < at("lookup done"), "%s", RUN.out);
}

Test(seed_examples, counter_event)
{
    RUN_OK("seed_counter_event", srv_base, "10");
    HAS("10 requests in");
    cr_expect_eq(count("request sent"), 10);
    cr_expect_eq(count("{\"id\":1,\"name\":\"student-1\"}"), 10, "%s", RUN.out);
    cr_expect(last_at("lookup done") < at("request sent"),
              "a request left before every lookup was done:\n%s", RUN.out);
}

Test(seed_examples, barrier)
{
    RUN_OK("seed_barrier", srv_base, "10");
    HAS("10 requests in");
    cr_expect_eq(count("{\"id\":1,\"name\":\"student-1\"}"), 10, "%s", RUN.out);
    cr_expect(last_at("lookup done") < at("request sent"),
              "a request left before every lookup was done:\n%s", RUN.out);
    for (int i = 1; i <= 10; i++) {
        char arrived[32];
        snprintf(arrived, sizeof(arrived), "(arrived %d at", i);
        cr_expect_eq(count(arrived), 1, "%s:\n%s", arrived, RUN.out);
    }
}

/* ---------------------------------------------------------------- the http.client article */

static void expect_three_lengths(void)
{
    HAS("--- all requests done");
    cr_expect(strstr(RUN.out, "task 1 result length: N/A") == NULL, "%s",
              RUN.out);
    cr_expect(strstr(RUN.out, "task 2 result length: N/A") == NULL, "%s",
              RUN.out);
    HAS("task 3 result length: 0"); /* /status/200 has an empty body */
    cr_expect_eq(count("status 200"), 3, "%s", RUN.out);
}

Test(seed_examples, executor_httpclient)
{
    RUN_OK("seed_executor_httpclient", srv_base, "0.1");
    expect_three_lengths();
}

Test(seed_examples, httpx_and_aiohttp_gather)
{
    RUN_OK("seed_httpx_gather", srv_base, "0.1");
    expect_three_lengths();
    RUN_OK("seed_aiohttp_gather", srv_base, "0.1");
    expect_three_lengths();
}

/* ---------------------------------------------------------------- the httpx docs */

Test(seed_examples, async_client_and_retries)
{
    RUN_OK("seed_async_client", srv_base);
    HAS("<Response [200 OK]>");
    RUN_OK("seed_transport_retries", srv_base);
    HAS("/get: <Response [200 OK]>");
    HAS("http://127.0.0.1:1/get: CIO_ECONNREFUSED");
}

Test(seed_examples, stream_download)
{
    RUN_OK("seed_stream_download", srv_base, "300000");
    HAS("/bytes/300000 (aiter_bytes): 300000 bytes in");
    HAS("/gzip (aiter_bytes):");
    HAS("/gzip (aiter_raw):");
    cr_expect_eq(count("Content-Encoding: gzip"), 2, "%s", RUN.out);
}

Test(seed_examples, stream_lines)
{
    RUN_OK("seed_stream_lines", srv_base, "7");
    for (int i = 1; i <= 7; i++) {
        char line[32];
        snprintf(line, sizeof(line), "line %d: id %d ", i, i - 1);
        HAS(line);
    }
    HAS("7 lines");
}

Test(seed_examples, stream_upload)
{
    RUN_OK("seed_stream_upload", srv_base, "5");
    HAS("sent 5 chunks of 65536 bytes; the server read 327680 bytes (chunked: "
        "yes)");
}

Test(seed_examples, stream_forward)
{
    const char *extra[] = {srv_base, NULL};
    struct srvproc fw;
    static struct http_res res;
    static char err[16384];
    char url[160];

    cr_assert_eq(
        srvproc_start(&fw, CIO_EXAMPLES_DIR "/seed_stream_forward", extra), 0);
    snprintf(url, sizeof(url), "%s/stream/3", fw.base);
    const char *args[] = {url, NULL};
    int rc = http_curl(&res, args);
    int stopped = srvproc_stop(&fw);
    srvproc_stderr(&fw, err, sizeof(err));
    srvproc_cleanup(&fw);
    cr_assert_eq(rc, 0);
    cr_expect_eq(res.status, 200);
    cr_expect(strstr(res.body, "\"id\":2") != NULL &&
                  strstr(res.body, "/stream/3") != NULL,
              "%s", res.body);
    cr_expect_eq(stopped, 0,
                 "seed_stream_forward did not exit 0 on SIGTERM:\n%s", err);
    cr_expect(strstr(err, "Sanitizer") == NULL &&
                  strstr(err, "runtime error") == NULL,
              "sanitizer report:\n%s", err);
}

/* ---------------------------------------------------------------- the aiohttp article */

Test(seed_examples, sleep)
{
    RUN_OK("seed_sleep", "0.05");
    cr_expect(at("fetching data...") >= 0 &&
                  at("data ready!") > at("fetching data..."),
              "%s", RUN.out);
}

Test(seed_examples, session_get_post)
{
    RUN_OK("seed_session_get_post", srv_base);
    HAS("\"title\": \"Sample Slide Show\"");
    HAS("post_json_data: 200, json = {\"title\":\"New Post\",\"body\":\"This "
        "is the "
        "content.\",\"userId\":1}");
    HAS("post_form: 200, form = {\"name\":\"Alice\",\"lang\":\"zh-CN\"}");
    HAS("post_form_data: 200, form = {\"name\":\"Alice\"}");
    HAS("post_form_data: 200, files = {\"file\":\"%PDF-1.4");
    HAS("post_raw_text: 200, data = \"Plain text message\"");
}

Test(seed_examples, headers_cookies_params)
{
    RUN_OK("seed_headers_cookies_params", srv_base);
    HAS("\"User-Agent\":\"MyApp/1.0\"");
    HAS("\"X-Request-ID\":\"req-12345\"");
    HAS("\"Authorization\":\"Bearer eyJhbGciOiJIUzI1NiIs\"");
    HAS("session cookies: {\"lang\":\"zh-CN\",\"session_id\":\"abc123\"}");
    HAS("session + request cookies: "
        "{\"lang\":\"zh-CN\",\"session_id\":\"abc123\","
        "\"temp_token\":\"xyz\"}");
    HAS("/get?page=2&limit=10&filter=active\"");
}

Test(seed_examples, paginated_auth)
{
    const char *args[] = {srv_base, NULL};
    run_example("seed_paginated_auth", "API_TOKEN=s3cret", args);
    cr_assert_eq(RUN.status, 0, "exit %d\n%s\n%s", RUN.status, RUN.out,
                 RUN.err);
    HAS("page 1: 50 items (ids 1..50), tracking_id trk-");
    HAS("page 2: 50 items (ids 51..100)");
    HAS("page 3: 20 items (ids 101..120)");
    HAS("3 pages, 120 items");
    /* Without a token the API answers 401 and the example fails. */
    run_example("seed_paginated_auth", "API_TOKEN=", args);
    cr_expect_eq(RUN.status, 1);
    cr_expect(strstr(RUN.err, "page 1: request failed: 401") != NULL, "%s",
              RUN.err);
}

/* ---------------------------------------------------------------- the endpoints added for them */

Test(seed_examples, serve_bearer_data_upload)
{
    static struct http_res res;
    char url[160];
    const char *bearer = "Authorization: Bearer t0k";

    snprintf(url, sizeof(url), "%s/bearer", srv_base);
    cr_assert_eq(http_curl(&res, (const char *[]){url, NULL}), 0);
    cr_expect_eq(res.status, 401);
    const char *www = http_header(&res, "WWW-Authenticate");
    cr_expect(www != NULL && strcmp(www, "Bearer") == 0, "%s",
              www ? www : "(none)");
    cr_assert_eq(http_curl(&res, (const char *[]){"-H", bearer, url, NULL}), 0);
    cr_expect_eq(res.status, 200);
    cr_expect(strstr(res.body, "\"token\":\"t0k\"") != NULL, "%s", res.body);

    snprintf(url, sizeof(url), "%s/data?page=2&size=7", srv_base);
    cr_assert_eq(http_curl(&res, (const char *[]){url, NULL}), 0);
    cr_expect_eq(res.status, 401);
    cr_assert_eq(
        http_curl(&res, (const char *[]){"-H", bearer, "-b", "tracking_id=abc",
                                         url, NULL}),
        0);
    cr_expect_eq(res.status, 200);
    cr_expect(strstr(res.body, "\"page\":2") &&
                  strstr(res.body, "\"pages\":18") &&
                  strstr(res.body, "{\"id\":8,\"name\":\"item-8\"}") &&
                  strstr(res.body, "{\"id\":14,") &&
                  !strstr(res.body, "{\"id\":15,") &&
                  strstr(res.body, "\"tracking_id\":\"abc\""),
              "%s", res.body);
    snprintf(url, sizeof(url), "%s/data?page=0", srv_base);
    cr_assert_eq(http_curl(&res, (const char *[]){"-H", bearer, url, NULL}), 0);
    cr_expect_eq(res.status, 400);

    snprintf(url, sizeof(url), "%s/upload", srv_base);
    cr_assert_eq(http_curl(&res, (const char *[]){"-d", "hello", url, NULL}),
                 0);
    cr_expect_eq(res.status, 200);
    cr_expect(strstr(res.body, "\"bytes\":5") &&
                  strstr(res.body, "\"chunked\":false"),
              "%s", res.body);
}
