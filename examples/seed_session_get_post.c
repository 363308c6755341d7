/* SPDX-License-Identifier: MIT */
/*
 * seed_session_get_post: "Python3-aiohttp:高性能异步HTTP客户端与服务器开发
 * 框架", sections "GET 请求" and "POST 请求怎么发?JSON、表单、文件上传全解析":
 * a GET whose JSON is printed, then POSTs with each kind of body on one
 * session.
 *
 *   async with session.get(url) as response:               # fetch_json
 *       if response.status == 200: data = await response.json()
 *       else: raise Exception(f"HTTP {response.status}: {response.reason}")
 *   session.post(url, json=payload)                        # post_json_data
 *   session.post(url, data={'name': 'Alice', ...})         # urlencoded form
 *   data = aiohttp.FormData()                              # post_form_data
 *   data.add_field('name', 'Alice')
 *   data.add_field('file', open('report.pdf', 'rb'), filename='report.pdf',
 *                  content_type='application/pdf')
 *   session.post(url, data=text_data.encode('utf-8'))      # post_raw_text
 *
 *   seed_session_get_post [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * GETs BASE_URL/json and POSTs to BASE_URL/post, which echoes what it got
 * ("json", "form", "files", "data"); the example prints those fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>
#include <jansson.h>

static char url_buf[256];

static const char *url(const char *base, const char *path)
{
    snprintf(url_buf, sizeof(url_buf), "%s%s", base, path);
    return url_buf;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s\n", what, cio_strerror(rc), cio_last_error());
    return rc;
}

/* Prints the echoed field of a /post answer, compact. */
static int print_echo(const char *what, cio_response *r, const char *field)
{
    json_t *j;
    int rc = cio_response_raise(r);
    if (rc == 0)
        rc = cio_response_json(r, &j);
    if (rc < 0)
        return fail(what, rc);
    char *s =
        json_dumps(json_object_get(j, field), JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%s: %d, %s = %s\n", what, cio_response_status(r), field,
           s ? s : "?");
    free(s);
    return 0;
}

static int fetch_json(cio_client *session, const char *base)
{
    cio_response *r;
    json_t *data;
    int rc = cio_get(session, url(base, "/json"), NULL, &r);
    if (rc < 0)
        return fail("fetch_json", rc);
    if (cio_response_status(r) != 200) {
        fprintf(stderr, "HTTP %d: %s\n", cio_response_status(r),
                cio_response_reason(r));
        rc = CIO_ESTATUS;
    } else if ((rc = cio_response_json(r, &data)) == 0) {
        char *s = json_dumps(data, JSON_INDENT(2));
        printf("%s\n", s ? s : "?");
        free(s);
    } else {
        fail("fetch_json", rc);
    }
    cio_response_free(r);
    return rc;
}

static int post_json_data(cio_client *session, const char *base)
{
    cio_response *r;
    json_t *payload = json_pack("{s:s,s:s,s:i}", "title", "New Post", "body",
                                "This is the content.", "userId", 1);
    int rc = cio_post(session, url(base, "/post"),
                      &(struct cio_request){.json_value = payload}, &r);
    json_decref(payload);
    if (rc < 0)
        return fail("post_json_data", rc);
    rc = print_echo("post_json_data", r, "json");
    cio_response_free(r);
    return rc;
}

static int post_form(cio_client *session, const char *base)
{
    cio_response *r;
    int rc = cio_post(
        session, url(base, "/post"),
        &(struct cio_request){
            .form =
                (struct cio_kv[]){{"name", "Alice"}, {"lang", "zh-CN"}, {0}}},
        &r);
    if (rc < 0)
        return fail("post_form", rc);
    rc = print_echo("post_form", r, "form");
    cio_response_free(r);
    return rc;
}

static int post_form_data(cio_client *session, const char *base)
{
    static const char report[] = "%PDF-1.4\n% a stand-in for report.pdf\n";
    cio_multipart *data;
    cio_response *r = NULL;
    int rc = cio_multipart_new(&data, NULL);
    if (rc < 0)
        return fail("post_form_data", rc);
    if ((rc = cio_multipart_add_field(data, "name", cio_str_c("Alice"))) == 0)
        rc = cio_multipart_add_file_data(
            data,
            &(struct cio_multipart_file){.name = "file",
                                         .filename = "report.pdf",
                                         .content_type = "application/pdf"},
            report, sizeof(report) - 1);
    if (rc == 0)
        rc = cio_post(session, url(base, "/post"),
                      &(struct cio_request){.multipart = data}, &r);
    if (rc == 0) {
        rc = print_echo("post_form_data", r, "form");
        if (rc == 0)
            rc = print_echo("post_form_data", r, "files");
    } else {
        fail("post_form_data", rc);
    }
    cio_response_free(r);
    cio_multipart_free(data);
    return rc;
}

static int post_raw_text(cio_client *session, const char *base)
{
    const char *text_data = "Plain text message";
    cio_response *r;
    int rc = cio_post(
        session, url(base, "/post"),
        &(struct cio_request){.body = text_data,
                              .body_len = strlen(text_data),
                              .content_type = "text/plain; charset=utf-8"},
        &r);
    if (rc < 0)
        return fail("post_raw_text", rc);
    rc = print_echo("post_raw_text", r, "data");
    cio_response_free(r);
    return rc;
}

static int amain(void *arg)
{
    const char *base = arg;
    cio_client *session;
    int rc = cio_client_new(&session, NULL);
    if (rc < 0)
        return fail("session", rc);
    if ((rc = fetch_json(session, base)) == 0 &&
        (rc = post_json_data(session, base)) == 0 &&
        (rc = post_form(session, base)) == 0 &&
        (rc = post_form_data(session, base)) == 0)
        rc = post_raw_text(session, base);
    cio_client_free(session);
    return rc;
}

int main(int argc, char **argv)
{
    return cio_run(amain, argc > 1 ? argv[1] : "http://127.0.0.1:8080") == 0
               ? 0
               : 1;
}
