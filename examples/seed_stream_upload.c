/* SPDX-License-Identifier: MIT */
/*
 * seed_stream_upload: the httpx docs' "Async Support", section "Streaming
 * requests": a request body produced piece by piece by an async generator,
 * sent chunked as it is produced.
 *
 *   async def upload_bytes():
 *       ...  # yield byte content
 *   await client.post(url, content=upload_bytes())
 *
 *   seed_stream_upload [BASE_URL [CHUNKS]]     (default 8 chunks of 64 KiB)
 *
 * The generator is a cio_body_fn: it runs in the requesting task, so it
 * may block (here it yields to the loop between chunks, as an async
 * generator awaiting its source would). POSTs to BASE_URL/upload, which
 * answers with the byte count it read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>
#include <jansson.h>

#define CHUNK (64 * 1024)

struct upload {
    const char *base;
    int chunks, sent; /* chunks to send, chunks sent */
    size_t off;       /* bytes of the current chunk already handed over */
};

/* upload_bytes(): the chunks, as much as fits in cap per call; 0 at the end. */
static ptrdiff_t upload_bytes(void *buf, size_t cap, void *ud)
{
    struct upload *u = ud;
    if (u->sent == u->chunks)
        return 0;
    if (u->off == 0) {
        int rc = cio_yield(); /* "await" the next chunk of content */
        if (rc < 0)
            return rc;
    }
    size_t n = CHUNK - u->off < cap ? CHUNK - u->off : cap;
    memset(buf, 'a' + u->sent % 26, n);
    if ((u->off += n) == CHUNK) {
        u->off = 0;
        u->sent++;
    }
    return (ptrdiff_t)n;
}

static int amain(void *arg)
{
    struct upload *u = arg;
    char url[256];
    cio_client *client;
    cio_response *r = NULL;
    json_t *j;

    snprintf(url, sizeof(url), "%s/upload", u->base);
    int rc = cio_client_new(&client, NULL);
    if (rc == 0)
        rc = cio_post(
            client, url,
            &(struct cio_request){.body_fn = upload_bytes,
                                  .body_ud = u,
                                  .body_fn_len = -1,
                                  .content_type = "application/octet-stream"},
            &r);
    if (rc == 0 && (rc = cio_response_raise(r)) == 0 &&
        (rc = cio_response_json(r, &j)) == 0) {
        long long got = json_integer_value(json_object_get(j, "bytes"));
        printf("sent %d chunks of %d bytes; the server read %lld bytes "
               "(chunked: %s)\n",
               u->chunks, CHUNK, got,
               json_is_true(json_object_get(j, "chunked")) ? "yes" : "no");
        if (got != (long long)u->chunks * CHUNK)
            rc = CIO_EPROTO;
    } else if (rc < 0) {
        fprintf(stderr, "seed_stream_upload: %s: %s\n", cio_strerror(rc),
                cio_last_error());
    }
    cio_response_free(r);
    cio_client_free(client);
    return rc;
}

int main(int argc, char **argv)
{
    struct upload u = {argc > 1 ? argv[1] : "http://127.0.0.1:8080",
                       argc > 2 ? atoi(argv[2]) : 8, 0, 0};
    return cio_run(amain, &u) == 0 ? 0 : 1;
}
