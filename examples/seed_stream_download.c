/* SPDX-License-Identifier: MIT */
/*
 * seed_stream_download: the httpx docs' "Async Support", section
 * "Streaming responses": the body read chunk by chunk as it arrives,
 * decoded (aiter_bytes) and undecoded (aiter_raw).
 *
 *   async with client.stream('GET', url) as response:
 *       async for chunk in response.aiter_bytes():
 *           ...
 *   # Response.aiter_raw(): the raw bytes, without content decoding
 *
 *   seed_stream_download [BASE_URL [N]]     (default N = 1048576)
 *
 * GETs BASE_URL/bytes/N (N pseudo-random bytes) with .stream and counts
 * the chunks, then BASE_URL/gzip twice: decoded and raw (still gzip).
 * Only one buffer is ever in memory, whatever the size.
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>

struct args {
    const char *base;
    const char *n;
};

/* Streams url; raw = aiter_raw instead of aiter_bytes. Returns the byte
 * count or a negative error. */
static long long download(cio_client *client, const char *url, int raw)
{
    cio_response *r;
    char chunk[16384];
    long long total = 0;
    int chunks = 0;
    ptrdiff_t n;

    int rc = cio_request(client,
                         &(struct cio_request){.url = url, .stream = true}, &r);
    if (rc == 0 && (rc = cio_response_raise(r)) < 0)
        cio_response_free(r);
    if (rc < 0) {
        fprintf(stderr, "%s: %s: %s\n", url, cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    while ((n = raw ? cio_response_read_raw(r, chunk, sizeof(chunk))
                    : cio_response_read(r, chunk, sizeof(chunk))) > 0) {
        total += n; /* ... the chunk would be written to a file here */
        chunks++;
    }
    if (n < 0)
        fprintf(stderr, "%s: %s: %s\n", url, cio_strerror((int)n),
                cio_last_error());
    else
        printf("%s (%s): %lld bytes in %d chunks, Content-Encoding: %s\n", url,
               raw ? "aiter_raw" : "aiter_bytes", total, chunks,
               cio_response_header(r, "Content-Encoding") ?: "none");
    cio_response_free(r);
    return n < 0 ? n : total;
}

static int amain(void *arg)
{
    const struct args *a = arg;
    char url[256];
    cio_client *client;
    int rc = cio_client_new(&client, NULL);

    if (rc < 0) {
        fprintf(stderr, "seed_stream_download: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    snprintf(url, sizeof(url), "%s/bytes/%s", a->base, a->n);
    long long got = download(client, url, 0);
    if (got >= 0 && got != atoll(a->n))
        got = CIO_EPROTO;
    snprintf(url, sizeof(url), "%s/gzip", a->base);
    long long decoded = got >= 0 ? download(client, url, 0) : got;
    long long raw = decoded >= 0 ? download(client, url, 1) : decoded;
    cio_client_free(client);
    return raw < 0 ? (int)raw : 0;
}

int main(int argc, char **argv)
{
    struct args a = {argc > 1 ? argv[1] : "http://127.0.0.1:8080",
                     argc > 2 ? argv[2] : "1048576"};
    return cio_run(amain, &a) == 0 ? 0 : 1;
}
