/* SPDX-License-Identifier: MIT */
/*
 * seed_headers_cookies_params: "Python3-aiohttp:高性能异步HTTP客户端与服务器
 * 开发框架", section "请求配置进阶:Headers、Cookies、Query 参数全掌控":
 * custom headers, cookies for the whole session and for one request, and
 * query parameters.
 *
 *   headers = {"User-Agent": "MyApp/1.0", "Authorization": "Bearer ...",
 *              "X-Request-ID": "req-12345"}
 *   session.get(url, headers=headers)
 *   cookies = {"session_id": "abc123", "lang": "zh-CN"}
 *   async with aiohttp.ClientSession(cookies=cookies) as session:   # session-wide
 *       session.get(url, cookies={"temp_token": "xyz"})             # this request only
 *   params = {"page": 2, "limit": 10, "filter": "active"}
 *   session.get(url, params=params)     # /users?page=2&limit=10&filter=active
 *
 *   seed_headers_cookies_params [BASE_URL]     (default http://127.0.0.1:8080)
 *
 * Uses BASE_URL/headers, /cookies and /get, which echo what they received.
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>
#include <jansson.h>

/* GETs base + path with req and prints the echoed object `field`. */
static int show(cio_client *session, const char *base, const char *path,
                const char *field, const struct cio_request *req,
                const char *what)
{
    char url[256];
    cio_response *r = NULL;
    json_t *j;

    snprintf(url, sizeof(url), "%s%s", base, path);
    int rc = cio_get(session, url, req, &r);
    if (rc == 0 && (rc = cio_response_raise(r)) == 0 &&
        (rc = cio_response_json(r, &j)) == 0) {
        char *s = json_dumps(json_object_get(j, field),
                             JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        printf("%s: %s\n", what, s ? s : "?");
        free(s);
    } else {
        fprintf(stderr, "%s: %s: %s\n", what, cio_strerror(rc),
                cio_last_error());
    }
    cio_response_free(r);
    return rc;
}

static int amain(void *arg)
{
    const char *base = arg;
    cio_client *session;
    /* ClientSession(cookies=cookies): sent with every request. */
    int rc = cio_client_new(
        &session, &(struct cio_client_opts){
                      .cookies = (struct cio_kv[]){
                          {"session_id", "abc123"}, {"lang", "zh-CN"}, {0}}});
    if (rc < 0) {
        fprintf(stderr, "session: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    const struct cio_kv headers[] = {
        {"User-Agent", "MyApp/1.0"},
        {"Authorization", "Bearer eyJhbGciOiJIUzI1NiIs"},
        {"X-Request-ID", "req-12345"},
        {0},
    };
    const struct cio_kv params[] = {
        {"page", "2"}, {"limit", "10"}, {"filter", "active"}, {0}};

    if ((rc = show(session, base, "/headers", "headers",
                   &(struct cio_request){.headers = headers}, "headers")) ==
            0 &&
        (rc = show(session, base, "/cookies", "cookies", NULL,
                   "session cookies")) == 0 &&
        (rc =
             show(session, base, "/cookies", "cookies",
                  &(struct cio_request){
                      .cookies = (struct cio_kv[]){{"temp_token", "xyz"}, {0}}},
                  "session + request cookies")) == 0)
        rc = show(session, base, "/get", "url",
                  &(struct cio_request){.params = params}, "params");
    cio_client_free(session);
    return rc;
}

int main(int argc, char **argv)
{
    return cio_run(amain, argc > 1 ? argv[1] : "http://127.0.0.1:8080") == 0
               ? 0
               : 1;
}
