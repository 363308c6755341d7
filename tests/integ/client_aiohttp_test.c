/* SPDX-License-Identifier: MIT */
/*
 * The client against a real python3-aiohttp server
 * (tests/peers/aiohttp_server.py): JSON, delays, cookies, form and
 * multipart echo, Basic, Bearer and Digest (verified by the server with
 * hashlib), Retry-After, redirect chains and a cross-origin redirect to
 * the server's second port. Skipped when python3-aiohttp is missing.
 */
#include <jansson.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "client/client_int.h"
#include "test.h"
#include "aiohttp_peer.h"

static struct aiohttp_peer peer;

static void setup(void)
{
    int rc = aiohttp_peer_start(&peer);
    if (rc == 77)
        cr_skip_test("python3-aiohttp is not installed");
    cr_assert_eq(rc, 0, "aiohttp server did not start");
}

static void teardown(void)
{
    aiohttp_peer_stop(&peer);
}

typedef void (*body_fn)(cio_client *c);

static int run_main(void *arg)
{
    void **a = arg;
    struct cio_client_opts *o = a[1];
    cio_client *c;
    int rc = cio_client_new(&c, o);
    if (rc < 0)
        return rc;
    ((body_fn)a[0])(c);
    cio_client_free(c);
    return 0;
}

static void run(body_fn fn, struct cio_client_opts *o)
{
    struct cio_client_opts dflt = {0};
    void *a[2] = {(void *)fn, o != NULL ? o : &dflt};
    CIO_ASSERT_RC(cio_test_run(run_main, a), 0);
}

/* GET url with req, expect status; returns the parsed JSON (caller
 * decrefs) or NULL. */
static json_t *get_json(cio_client *c, const char *method, const char *path,
                        struct cio_request *req, int want_status)
{
    struct cio_request q = req != NULL ? *req : (struct cio_request){0};
    q.method = method;
    q.url = aiohttp_peer_url(&peer, path, 0);
    cio_response *r;
    int rc = cio_request(c, &q, &r);
    cr_expect_eq(rc, 0, "%s %s: %s %s", method, path, cio_errname(rc),
                 cio_last_error());
    if (rc < 0)
        return NULL;
    cr_expect_eq(cio_response_status(r), want_status, "%s %s: status %d",
                 method, path, cio_response_status(r));
    json_t *j = NULL;
    if (cio_response_json(r, &j) == 0)
        json_incref(j);
    cio_response_free(r);
    return j;
}

static const char *jstr(json_t *j, const char *path)
{
    /* "a.b": nested object keys */
    char key[64];
    const char *dot;
    while (j != NULL && (dot = strchr(path, '.')) != NULL) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        j = json_object_get(j, key);
        path = dot + 1;
    }
    j = j != NULL ? json_object_get(j, path) : NULL;
    return json_is_string(j) ? json_string_value(j) : NULL;
}

static json_int_t jint(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

TestSuite(client_aiohttp, .init = setup, .fini = teardown);

static void t_json(cio_client *c)
{
    json_t *j = get_json(c, "GET", "/json", NULL, 200);
    cr_expect_str_eq(jstr(j, "hello"), "world");
    json_decref(j);
    j = get_json(c, "POST", "/anything",
                 &(struct cio_request){.json = "{\"k\": [1, 2]}"}, 200);
    cr_expect_str_eq(jstr(j, "headers.Content-Type"), "application/json");
    cr_expect_eq(json_integer_value(json_array_get(
                     json_object_get(json_object_get(j, "json"), "k"), 1)),
                 2);
    json_decref(j);
    j = get_json(c, "GET", "/gzip", NULL, 200);
    cr_expect(json_is_true(json_object_get(j, "gzipped")));
    json_decref(j);
}

Test(client_aiohttp, json_bodies_and_gzip)
{
    run(t_json, NULL);
}

static void t_delay(cio_client *c)
{
    json_t *j = get_json(c, "GET", "/delay/150", NULL, 200);
    cr_expect_eq(jint(j, "delayed_ms"), 150);
    json_decref(j);
    /* A read timeout shorter than the delay names the phase. */
    cio_response *r;
    int rc = cio_get(c, aiohttp_peer_url(&peer, "/delay/3000", 0),
                     &(struct cio_request){
                         .timeouts = &(struct cio_timeouts){.read_ms = 100}},
                     &r);
    CIO_EXPECT_RC(rc, CIO_ETIMEDOUT);
    cr_expect(strstr(cio_last_error(), "read") != NULL, "%s", cio_last_error());
}

Test(client_aiohttp, delays_and_read_timeout)
{
    run(t_delay, NULL);
}

static void t_cookies(cio_client *c)
{
    json_t *j = get_json(c, "GET", "/cookies/set?a=1&b=two", NULL, 200);
    json_decref(j);
    j = get_json(c, "GET", "/cookies", NULL, 200);
    cr_expect_str_eq(jstr(j, "cookies.a"), "1");
    cr_expect_str_eq(jstr(j, "cookies.b"), "two");
    json_decref(j);
    j = get_json(
        c, "GET", "/cookies",
        &(struct cio_request){.cookies = (struct cio_kv[]){{"c", "3"}, {0}}},
        200);
    cr_expect_str_eq(jstr(j, "cookies.c"), "3");
    cr_expect_str_eq(jstr(j, "cookies.a"), "1");
    json_decref(j);
}

Test(client_aiohttp, cookies_set_and_sent_back)
{
    run(t_cookies, NULL);
}

static void t_forms(cio_client *c)
{
    json_t *j = get_json(
        c, "POST", "/form",
        &(struct cio_request){
            .form = (struct cio_kv[]){{"a", "1"}, {"b", "x y&z"}, {0}}},
        200);
    cr_expect_str_eq(jstr(j, "form.a"), "1");
    cr_expect_str_eq(jstr(j, "form.b"), "x y&z");
    json_decref(j);

    cio_multipart *mp;
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_field(mp, "field", cio_str_c("value")), 0);
    static char big[100000];
    memset(big, 'q', sizeof(big));
    CIO_ASSERT_RC(cio_multipart_add_file_data(mp,
                                              &(struct cio_multipart_file){
                                                  .name = "f",
                                                  .filename = "big.txt",
                                                  .content_type = "text/plain"},
                                              big, sizeof(big)),
                  0);
    j = get_json(c, "POST", "/multipart",
                 &(struct cio_request){.multipart = mp}, 200);
    json_t *parts = json_object_get(j, "parts");
    cr_assert_eq(json_array_size(parts), 2);
    cr_expect_str_eq(jstr(json_array_get(parts, 0), "name"), "field");
    cr_expect_eq(jint(json_array_get(parts, 0), "size"), 5);
    cr_expect_str_eq(jstr(json_array_get(parts, 1), "filename"), "big.txt");
    cr_expect_str_eq(jstr(json_array_get(parts, 1), "content_type"),
                     "text/plain");
    cr_expect_eq(jint(json_array_get(parts, 1), "size"),
                 (json_int_t)sizeof(big));
    json_decref(j);
    cio_multipart_free(mp);
}

Test(client_aiohttp, form_and_multipart_echo)
{
    run(t_forms, NULL);
}

/*
 * A file part whose bytes are not in the page cache is read ahead on the
 * executor, not on the loop (src/client/h1.c): the upload is byte-exact
 * and the read-ahead counter moved.
 */
static char cold_path[64];
static char cold_sha[65];

static void t_cold_file(cio_client *c)
{
    unsigned long before = atomic_load(&cio__client_read_aheads);
    cio_multipart *mp;
    CIO_ASSERT_RC(cio_multipart_new(&mp, NULL), 0);
    CIO_ASSERT_RC(cio_multipart_add_file_path(
                      mp,
                      &(struct cio_multipart_file){
                          .name = "f",
                          .filename = "cold.bin",
                          .content_type = "application/octet-stream"},
                      cold_path),
                  0);
    json_t *j = get_json(c, "POST", "/multipart",
                         &(struct cio_request){.multipart = mp}, 200);
    json_t *parts = json_object_get(j, "parts");
    cr_assert_eq(json_array_size(parts), 1);
    cr_expect_eq(jint(json_array_get(parts, 0), "size"), 3 << 20);
    cr_expect_str_eq(jstr(json_array_get(parts, 0), "sha256"), cold_sha);
    json_decref(j);
    cio_multipart_free(mp);
    cr_expect_gt(atomic_load(&cio__client_read_aheads), before,
                 "the cold file was read on the loop");
}

Test(client_aiohttp, cold_file_part_is_read_ahead_on_the_executor)
{
    enum { SIZE = 3 << 20 };
    static unsigned char data[SIZE];
    unsigned x = 12345;
    for (size_t i = 0; i < SIZE; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    unsigned char md[32];
    unsigned mdlen = 0;
    cr_assert(EVP_Digest(data, SIZE, md, &mdlen, EVP_sha256(), NULL) == 1);
    for (unsigned i = 0; i < 32; i++)
        snprintf(cold_sha + 2 * i, 3, "%02x", md[i]);
    /* on the disk, not in /dev/shm: a file system with a page cache */
    snprintf(cold_path, sizeof(cold_path), "/var/tmp/cio-cold-XXXXXX");
    int fd = mkstemp(cold_path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, data, SIZE), SIZE);
    cr_assert_eq(fsync(fd), 0);
    cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    /* the check needs a file system that evicts on request and knows
     * RWF_NOWAIT (ext4, xfs, btrfs): say so when this one does not */
    char b[4096];
    struct iovec v = {b, sizeof(b)};
    ssize_t r = preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    int e = errno;
    close(fd);
    if (!(r < 0 && e == EAGAIN)) {
        unlink(cold_path);
        cr_skip_test(
            "%s stayed in the page cache or RWF_NOWAIT is refused (%zd, %s)",
            cold_path, r, strerror(e));
    }
    run(t_cold_file, NULL);
    unlink(cold_path);
}

static void t_auth(cio_client *c)
{
    json_t *j = get_json(c, "GET", "/basic-auth/user/p%40ss",
                         &(struct cio_request){.auth_basic_user = "user",
                                               .auth_basic_pass = "p@ss"},
                         200);
    cr_expect(json_is_true(json_object_get(j, "authenticated")));
    json_decref(j);
    j = get_json(c, "GET", "/basic-auth/user/right",
                 &(struct cio_request){.auth_basic_user = "user",
                                       .auth_basic_pass = "wrong"},
                 401);
    json_decref(j);
    j = get_json(c, "GET", "/bearer/tok.123",
                 &(struct cio_request){.auth_bearer = "tok.123"}, 200);
    json_decref(j);
    /* Credentials in the URL. */
    char url[160];
    snprintf(url, sizeof(url), "http://user:pw@127.0.0.1:%u/basic-auth/user/pw",
             peer.port);
    cio_response *r;
    CIO_ASSERT_RC(cio_get(c, url, NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cio_response_free(r);

    /* Digest: each algorithm, qop auth and none, checked by the server. */
    static const char *const paths[] = {
        "/digest-auth/auth/Mufasa/Circle%20of%20Life/MD5",
        "/digest-auth/auth/Mufasa/Circle%20of%20Life/MD5-sess",
        "/digest-auth/auth/Mufasa/Circle%20of%20Life/SHA-256",
        "/digest-auth/auth/Mufasa/Circle%20of%20Life/SHA-256-sess",
        "/digest-auth/none/Mufasa/Circle%20of%20Life/MD5",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        j = get_json(
            c, "GET", paths[i],
            &(struct cio_request){.auth_digest_user = "Mufasa",
                                  .auth_digest_pass = "Circle of Life"},
            200);
        cr_expect(json_is_true(json_object_get(j, "authenticated")), "%s",
                  paths[i]);
        json_decref(j);
    }
    /* A POST with a body goes twice (challenge, then answer). */
    j = get_json(c, "POST", "/digest-auth/auth/u/p/SHA-256",
                 &(struct cio_request){.auth_digest_user = "u",
                                       .auth_digest_pass = "p",
                                       .body = "data",
                                       .body_len = 4},
                 200);
    json_decref(j);
    /* Wrong password: the 401 comes back after one answer, no loop. */
    j = get_json(c, "GET", "/digest-auth/auth/u/right/MD5",
                 &(struct cio_request){.auth_digest_user = "u",
                                       .auth_digest_pass = "wrong"},
                 401);
    json_decref(j);
}

Test(client_aiohttp, basic_bearer_and_digest_auth)
{
    run(t_auth, NULL);
}

static unsigned attempts; /* requests on the wire (on_request hook) */

static int count_attempt(const cio_request_info *req, void *ud)
{
    (void)req;
    (void)ud;
    attempts++;
    return 0;
}

/* One Digest request; returns the nc the server accepted ("" if none) and
 * the attempts it took. */
static unsigned digest_get(cio_client *c, const char *path, const char *pass,
                           int want, char *nc, size_t cap)
{
    unsigned before = attempts;
    json_t *j = get_json(c, "GET", path,
                         &(struct cio_request){.auth_digest_user = "Mufasa",
                                               .auth_digest_pass = pass},
                         want);
    const char *v =
        j != NULL ? json_string_value(json_object_get(j, "nc")) : NULL;
    snprintf(nc, cap, "%s", v != NULL ? v : "");
    json_decref(j);
    return attempts - before;
}

/* The nonce cache: the second Digest request to an origin answers the
 * last challenge at once (one round trip, nc counted up); an expired
 * nonce (401 stale=true) is answered once with the new one; a refused
 * cached answer with a different algorithm falls back to the challenge. */
static void t_digest_cache(cio_client *c)
{
    const char *p = "/digest-auth/auth/Mufasa/Circle%20of%20Life/SHA-256";
    char nc[16];
    attempts = 0;
    cr_expect_eq(digest_get(c, p, "Circle of Life", 200, nc, sizeof(nc)), 2);
    cr_expect_str_eq(nc, "00000001");
    cr_expect_eq(digest_get(c, p, "Circle of Life", 200, nc, sizeof(nc)), 1);
    cr_expect_str_eq(nc, "00000002");
    cr_expect_eq(digest_get(c, p, "Circle of Life", 200, nc, sizeof(nc)), 1);
    cr_expect_str_eq(nc, "00000003");
    /* The server expires every nonce: stale=true, answered once more. */
    json_decref(get_json(c, "POST", "/digest-expire", NULL, 200));
    cr_expect_eq(digest_get(c, p, "Circle of Life", 200, nc, sizeof(nc)), 2);
    cr_expect_str_eq(nc, "00000001");
    cr_expect_eq(digest_get(c, p, "Circle of Life", 200, nc, sizeof(nc)), 1);
    cr_expect_str_eq(nc, "00000002");
    /* Another path of the origin asks MD5: the cached SHA-256 answer is
     * refused, the new challenge answered (two attempts after the first). */
    const char *q = "/digest-auth/auth/Mufasa/Circle%20of%20Life/MD5";
    cr_expect_eq(digest_get(c, q, "Circle of Life", 200, nc, sizeof(nc)), 2);
    cr_expect_str_eq(nc, "00000001");
    cr_expect_eq(digest_get(c, q, "Circle of Life", 200, nc, sizeof(nc)), 1);
    /* A wrong password with a cached nonce: no loop, the 401 comes back. */
    unsigned n = digest_get(c, q, "wrong", 401, nc, sizeof(nc));
    cr_expect(n == 2, "%u attempts", n);
}

Test(client_aiohttp, digest_nonce_cache)
{
    struct cio_client_opts o = {.hooks = {.on_request = count_attempt}};
    run(t_digest_cache, &o);
}

static void t_retry(cio_client *c)
{
    json_t *j = get_json(c, "GET", "/retry-after/3?key=k1&after=0", NULL, 200);
    cr_expect_eq(jint(j, "calls"), 3);
    json_decref(j);
    /* Retry-After as one second is honoured (capped by max_backoff). */
    j = get_json(c, "GET", "/retry-after/2?key=k2&after=1", NULL, 200);
    cr_expect_eq(jint(j, "calls"), 2);
    json_decref(j);
    /* Not idempotent: not retried. */
    j = get_json(c, "POST", "/retry-after/3?key=k3&after=0", NULL, 503);
    json_decref(j);
    j = get_json(c, "GET", "/calls?key=k3", NULL, 200);
    cr_expect_eq(jint(j, "calls"), 1);
    json_decref(j);
}

Test(client_aiohttp, retry_after_policy)
{
    struct cio_client_opts o = {.retry = {.statuses = (int[]){503, 0},
                                          .respect_retry_after = true,
                                          .max_backoff_ms = 1500}};
    run(t_retry, &o);
}

static void t_redirects(cio_client *c)
{
    cio_response *r;
    CIO_ASSERT_RC(
        cio_get(c, aiohttp_peer_url(&peer, "/redirect/3", 0), NULL, &r), 0);
    cr_expect_eq(cio_response_status(r), 200);
    cr_expect_eq(cio_response_history(r), 3);
    cr_expect(strstr(cio_response_url(r), "/anything") != NULL);
    cio_response_free(r);

    /* Cross-origin (other port): the server echoes what arrived. */
    json_t *j =
        get_json(c, "GET", "/cross-origin?path=/headers",
                 &(struct cio_request){
                     .headers = (struct cio_kv[]){{"Authorization", "Bearer x"},
                                                  {"X-Keep", "1"},
                                                  {0}},
                     .auth_basic_user = "u",
                     .auth_basic_pass = "p"},
                 200);
    cr_expect_null(jstr(j, "Authorization"), "Authorization crossed origins");
    cr_expect_str_eq(jstr(j, "X-Keep"), "1");
    json_decref(j);

    /* POST + 303 -> GET without body. */
    j = get_json(c, "POST", "/redirect-to?url=/anything&status=303",
                 &(struct cio_request){.body = "abc", .body_len = 3}, 200);
    cr_expect_str_eq(jstr(j, "method"), "GET");
    cr_expect_eq(jint(j, "body_len"), 0);
    json_decref(j);
    /* 308 keeps POST and its body. */
    j = get_json(c, "POST", "/redirect-to?url=/anything&status=308",
                 &(struct cio_request){.body = "abc", .body_len = 3}, 200);
    cr_expect_str_eq(jstr(j, "method"), "POST");
    cr_expect_str_eq(jstr(j, "body"), "abc");
    json_decref(j);
}

Test(client_aiohttp, redirect_chains_and_cross_origin)
{
    run(t_redirects, NULL);
}
