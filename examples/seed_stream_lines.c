/* SPDX-License-Identifier: MIT */
/*
 * seed_stream_lines: the httpx docs' "Async Support", section "Streaming
 * responses": a streamed body read as lines of text (aiter_lines), each
 * handled as soon as it arrives.
 *
 *   async with client.stream('GET', url) as response:
 *       async for line in response.aiter_lines():
 *           ...
 *
 *   seed_stream_lines [BASE_URL [N]]     (default N = 5)
 *
 * GETs BASE_URL/stream/N: N JSON lines, chunked, one flush each.
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>
#include <jansson.h>

struct args {
    const char *base;
    const char *n;
};

static int amain(void *arg)
{
    const struct args *a = arg;
    char url[256];
    cio_client *client;
    cio_response *response = NULL;
    const char *line;
    size_t len;
    int lines = 0;

    snprintf(url, sizeof(url), "%s/stream/%s", a->base, a->n);
    int rc = cio_client_new(&client, NULL);
    if (rc == 0)
        rc = cio_request(client,
                         &(struct cio_request){.url = url, .stream = true},
                         &response);
    if (rc == 0)
        rc = cio_response_raise(response);
    while (rc == 0 &&
           (rc = cio_response_read_line(response, &line, &len, 0)) == 1) {
        json_t *j = json_loadb(line, len, 0, NULL);
        printf("line %d: id %lld (%zu bytes)\n", ++lines,
               (long long)json_integer_value(json_object_get(j, "id")), len);
        json_decref(j);
        rc = 0;
    }
    if (rc < 0)
        fprintf(stderr, "seed_stream_lines: %s: %s\n", cio_strerror(rc),
                cio_last_error());
    else
        printf("%d lines\n", lines);
    cio_response_free(response);
    cio_client_free(client);
    return rc;
}

int main(int argc, char **argv)
{
    struct args a = {argc > 1 ? argv[1] : "http://127.0.0.1:8080",
                     argc > 2 ? argv[2] : "5"};
    return cio_run(amain, &a) == 0 ? 0 : 1;
}
