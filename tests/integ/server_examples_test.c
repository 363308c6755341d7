/* SPDX-License-Identifier: MIT */
/*
 * Every server example from the seeds (examples/web_*.c), run as its own
 * process on 127.0.0.1:0 and exercised with curl: the bodies, statuses and
 * headers the example promises in its comment. Each example must also
 * stop cleanly on SIGTERM (exit 0) without a sanitizer report.
 */
#include "test.h"

#include <strings.h>
#include <unistd.h>

#include "srvproc.h"

static struct srvproc S;
static struct http_res R;
static char errbuf[65536];

static void start(const char *name, const char *const *extra)
{
    /* examples/CMakeLists.txt skips an example whose API the library does
     * not define yet (cio_resp_file, the SSE helpers): say so, visibly. */
    if (access(srvproc_bin("examples", name), X_OK) != 0)
        cr_skip_test("%s not built (see cmake's \"corio examples\" messages)",
                     name);
    int rc = srvproc_start(&S, srvproc_bin("examples", name), extra);
    cr_assert_eq(rc, 0, "%s did not start", name);
}

/* Stops the example; returns its stderr (checked for sanitizer reports). */
static const char *stop(void)
{
    int rc = srvproc_stop(&S);
    srvproc_stderr(&S, errbuf, sizeof(errbuf));
    srvproc_cleanup(&S);
    cr_expect_eq(
        rc, 0,
        "the example did not exit 0 on SIGTERM (status %#x); stderr:\n%s",
        S.status, errbuf);
    cr_expect(strstr(errbuf, "Sanitizer") == NULL &&
                  strstr(errbuf, "runtime error") == NULL,
              "sanitizer report:\n%s", errbuf);
    return errbuf;
}

static char url_buf[4][256];

static const char *url(int i, const char *path)
{
    snprintf(url_buf[i], sizeof(url_buf[i]), "%s%s", S.base, path);
    return url_buf[i];
}

#define CURL(...)                                                              \
    do {                                                                       \
        const char *args_[] = {__VA_ARGS__, NULL};                             \
        cr_assert_eq(http_curl(&R, args_), 0, "curl failed: %s", args_[0]);    \
    } while (0)

/* Compares ignoring spaces (the JSON encoder's spacing is not the point). */
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

#define EXPECT_STATUS(want)                                                    \
    cr_expect_eq(R.status, want, "status %d, body: %s", R.status, R.body)
#define EXPECT_BODY(want) cr_expect_str_eq(R.body, want)
#define EXPECT_HEADER(name, want)                                              \
    do {                                                                       \
        const char *h_ = http_header(&R, name);                                \
        cr_expect(h_ != NULL && strcmp(h_, want) == 0, "%s: got %s, want %s",  \
                  name, h_ ? h_ : "(none)", want);                             \
    } while (0)

Test(server_examples, hello)
{
    start("web_hello", NULL);
    CURL(url(0, "/"));
    EXPECT_STATUS(200);
    EXPECT_BODY("Hello, corio!");
    CURL(url(0, "/nope"));
    EXPECT_STATUS(404);
    stop();
}

Test(server_examples, users_json)
{
    start("web_users", NULL);
    CURL("-A", "seed-agent/1.0", url(0, "/users/42?page=2&tag=x"));
    EXPECT_STATUS(200);
    cr_expect(strncmp(http_header(&R, "Content-Type") ?: "", "application/json",
                      16) == 0);
    cr_expect(has_nospace(R.body, "\"user_id\":\"42\""), "%s", R.body);
    cr_expect(has_nospace(R.body, "\"page\":\"2\""), "%s", R.body);
    cr_expect(has_nospace(R.body, "\"tag\":\"x\""), "%s", R.body);
    cr_expect(has_nospace(R.body, "\"agent\":\"seed-agent/1.0\""), "%s",
              R.body);
    CURL(url(0, "/profile"));
    EXPECT_STATUS(200);
    EXPECT_HEADER("X-API-Version", "1.0");
    cr_expect(has_nospace(R.body, "{\"name\":\"Alice\",\"age\":30}"), "%s",
              R.body);
    stop();
}

Test(server_examples, files_regex_param)
{
    start("web_files", NULL);
    CURL(url(0, "/files/docs/readme.txt"));
    EXPECT_STATUS(200);
    EXPECT_BODY("file: docs/readme.txt");
    CURL(url(0, "/files/a%20b.txt"));
    EXPECT_BODY("file: a b.txt");
    CURL(url(0, "/files/"));
    EXPECT_STATUS(404); /* ".+" needs one character */
    stop();
}

Test(server_examples, crud_route_table)
{
    start("web_crud", NULL);
    const char *json = "Content-Type: application/json";
    CURL("-X", "POST", "-H", json, "-d", "{\"name\": \"Ada\"}",
         url(0, "/api/users"));
    EXPECT_STATUS(201);
    cr_expect(has_nospace(R.body, "{\"id\":1,\"name\":\"Ada\"}"), "%s", R.body);
    CURL("-X", "POST", "-H", json, "-d", "{\"name\": \"Alan\"}",
         url(0, "/api/users"));
    EXPECT_STATUS(201);
    CURL(url(0, "/api/users"));
    EXPECT_STATUS(200);
    cr_expect(has_nospace(
                  R.body,
                  "[{\"id\":1,\"name\":\"Ada\"},{\"id\":2,\"name\":\"Alan\"}]"),
              "%s", R.body);
    CURL("-X", "PUT", "-H", json, "-d", "{\"name\": \"Grace\"}",
         url(0, "/api/users/1"));
    EXPECT_STATUS(200);
    cr_expect(has_nospace(R.body, "{\"id\":1,\"name\":\"Grace\"}"), "%s",
              R.body);
    CURL(url(0, "/api/users/1"));
    cr_expect(has_nospace(R.body, "\"name\":\"Grace\""), "%s", R.body);
    CURL("-X", "DELETE", url(0, "/api/users/1"));
    EXPECT_STATUS(204);
    CURL(url(0, "/api/users/1"));
    EXPECT_STATUS(404);
    CURL("-X", "POST", "-H", json, "-d", "not json", url(0, "/api/users"));
    EXPECT_STATUS(400);
    /* A method with no route on a known path: 405 with Allow. */
    CURL("-X", "PATCH", url(0, "/api/users"));
    EXPECT_STATUS(405);
    const char *allow = http_header(&R, "Allow");
    cr_expect(allow != NULL && strstr(allow, "GET") && strstr(allow, "POST"),
              "Allow: %s", allow ? allow : "(none)");
    stop();
}

Test(server_examples, subapps)
{
    start("web_subapps", NULL);
    CURL(url(0, "/"));
    EXPECT_BODY("main app");
    CURL(url(0, "/users/"));
    EXPECT_STATUS(200);
    EXPECT_BODY("users: list");
    CURL(url(0, "/users/7"));
    EXPECT_BODY("users: user 7");
    /* admin_app's middleware guards /admin only. */
    CURL(url(0, "/admin/dashboard"));
    EXPECT_STATUS(403);
    CURL("-H", "X-Admin-Token: letmein", url(0, "/admin/dashboard"));
    EXPECT_STATUS(200);
    EXPECT_BODY("admin: dashboard");
    stop();
}

Test(server_examples, logging_and_auth_middleware)
{
    start("web_middleware", NULL);
    CURL(url(0, "/me"));
    EXPECT_STATUS(401);
    cr_expect(http_header(&R, "WWW-Authenticate") != NULL);
    CURL("-H", "Authorization: Bearer wrong", url(0, "/me"));
    EXPECT_STATUS(401);
    CURL("-H", "Authorization: Bearer alice-token", url(0, "/me"));
    EXPECT_STATUS(200);
    EXPECT_BODY("hello, alice");
    CURL(url(0, "/public"));
    EXPECT_BODY("public");
    const char *err = stop();
    /* The logging middleware is outside auth: it saw both outcomes. */
    cr_expect(strstr(err, "-> GET /me\n<- 401 GET /me\n") != NULL, "%s", err);
    cr_expect(strstr(err, "-> GET /me\n<- 200 GET /me\n") != NULL, "%s", err);
    cr_expect(strstr(err, "<- 200 GET /public\n") != NULL, "%s", err);
}

Test(server_examples, lifecycle_app_state)
{
    start("web_lifecycle", NULL);
    /* 8 queries at once through a pool of 4: all answered, every
     * connection number used. */
    const char *u = url(0, "/query");
    CURL("--no-progress-meter", "--parallel", "--parallel-max", "8", u, u, u, u,
         u, u, u, u);
    EXPECT_STATUS(200);
    CURL(u);
    EXPECT_STATUS(200);
    cr_expect(has_nospace(R.body, "{\"id\":1,\"name\":\"AdaLovelace\"}"), "%s",
              R.body);
    const char *err = stop();
    const char *opened = strstr(err, "db: pool opened");
    const char *closed = strstr(err, "db: pool closed");
    const char *cleaned = strstr(err, "db: cleanup");
    cr_expect(opened && closed && cleaned && opened < closed &&
                  closed < cleaned,
              "hooks out of order or missing:\n%s", err);
}

Test(server_examples, streaming_response)
{
    start("web_stream", NULL);
    CURL(url(0, "/stream?n=5&delay_ms=10"));
    EXPECT_STATUS(200);
    EXPECT_HEADER("Transfer-Encoding", "chunked");
    EXPECT_BODY("Chunk 0\nChunk 1\nChunk 2\nChunk 3\nChunk 4\n");
    stop();
}

Test(server_examples, download_with_range)
{
    start("web_download", NULL);
    CURL(url(0, "/download"));
    EXPECT_STATUS(200);
    EXPECT_HEADER("Content-Length", "26000");
    EXPECT_HEADER("Content-Disposition", "attachment; filename=\"report.txt\"");
    cr_expect(R.body_len == 26000 &&
              strncmp(R.body, "abcdefghijklmnopqrstuvwxyzabc", 29) == 0);
    char etag[256];
    const char *e = http_header(&R, "ETag");
    cr_assert(e != NULL, "no ETag");
    snprintf(etag, sizeof(etag), "If-None-Match: %s", e);

    CURL("-r", "10-19", url(0, "/download"));
    EXPECT_STATUS(206);
    EXPECT_BODY("klmnopqrst");
    EXPECT_HEADER("Content-Range", "bytes 10-19/26000");
    CURL("-r", "25990-", url(0, "/download"));
    EXPECT_STATUS(206);
    EXPECT_BODY("qrstuvwxyz");
    CURL("-H", etag, url(0, "/download"));
    EXPECT_STATUS(304);
    cr_expect_eq(R.body_len, 0);
    CURL("-r", "30000-", url(0, "/download"));
    EXPECT_STATUS(416);
    stop();
}

Test(server_examples, server_sent_events)
{
    start("web_sse", NULL);
    CURL(url(0, "/events?n=3&interval_ms=10"));
    EXPECT_STATUS(200);
    const char *ct = http_header(&R, "Content-Type");
    cr_expect(ct != NULL && strncmp(ct, "text/event-stream", 17) == 0, "%s",
              ct ? ct : "-");
    for (int i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof(want), "id: %d\n", i);
        cr_expect(strstr(R.body, want) != NULL, "no %s in %s", want, R.body);
        snprintf(want, sizeof(want), "data: tick %d\n", i);
        cr_expect(strstr(R.body, want) != NULL, "no %s in %s", want, R.body);
    }
    cr_expect(strstr(R.body, "event: tick\n") != NULL, "%s", R.body);
    cr_expect(strstr(R.body, "retry: 3000\n") != NULL, "%s", R.body);
    cr_expect(strstr(R.body, ": keep-alive\n") != NULL, "%s", R.body);
    cr_expect(strstr(R.body, "id: 3\n") == NULL, "%s", R.body);
    /* Resuming after Last-Event-ID. */
    CURL("-H", "Last-Event-ID: 5", url(0, "/events?n=1"));
    cr_expect(strstr(R.body, "data: tick 6\n") != NULL, "%s", R.body);
    stop();
}
