/* SPDX-License-Identifier: MIT */
/*
 * seed_async_client: the httpx docs' "Async Support", sections "Making
 * Async requests", "Opening and closing clients" and "AsyncIO": one
 * AsyncClient, one GET, the response printed, the client closed.
 *
 *   async def main():
 *       async with httpx.AsyncClient() as client:   # or ... await client.aclose()
 *           response = await client.get('https://www.example.com/')
 *           print(response)                          # <Response [200 OK]>
 *   asyncio.run(main())
 *
 *   seed_async_client [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * C has no context managers: cio_client_free is `aclose()`, and the
 * client is made once and shared (the docs' warning about clients created
 * in a hot loop). cio_run plays asyncio.run; corio has one runtime, so the
 * trio and anyio variants of the page have no counterpart.
 */
#include <stdio.h>

#include <corio/corio.h>

static int amain(void *arg)
{
    const char *base = arg;
    char url[256];
    cio_client *client;
    cio_response *response;

    snprintf(url, sizeof(url), "%s/", base);
    int rc = cio_client_new(&client, NULL);
    if (rc == 0) {
        rc = cio_get(client, url, NULL, &response);
        if (rc == 0) {
            printf("<Response [%d %s]>\n", cio_response_status(response),
                   cio_response_reason(response));
            cio_response_free(response);
        }
        cio_client_free(client); /* await client.aclose() */
    }
    if (rc < 0)
        fprintf(stderr, "seed_async_client: %s: %s\n", cio_strerror(rc),
                cio_last_error());
    return rc;
}

int main(int argc, char **argv)
{
    return cio_run(amain, argc > 1 ? argv[1] : "http://127.0.0.1:8080") == 0
               ? 0
               : 1;
}
