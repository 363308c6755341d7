/* SPDX-License-Identifier: MIT */
/*
 * seed_transport_retries: the httpx docs' "Async Support", section
 * "Explicit transport instances": a client whose transport retries a
 * failed connection once.
 *
 *   transport = httpx.AsyncHTTPTransport(retries=1)
 *   async with httpx.AsyncClient(transport=transport) as client:
 *       ...
 *
 *   seed_transport_retries [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * corio has no separate transport object: `retries` is a client option
 * with httpx's meaning (only failures to connect are retried, so nothing
 * is ever sent twice; see docs/client.md, Retries). The example makes one
 * request to BASE_URL/get, then one to a port where nothing listens, to
 * show the retried failure.
 */
#include <stdio.h>

#include <corio/corio.h>

static int get(cio_client *client, const char *url)
{
    cio_response *r;
    cio_time t0 = cio_now();
    int rc = cio_get(client, url, NULL, &r);

    if (rc < 0) {
        printf("%s: %s (%s) after %.1f s\n", url, cio_errname(rc),
               cio_last_error(), (double)(cio_now() - t0) / 1000.0);
        return rc;
    }
    printf("%s: <Response [%d %s]>\n", url, cio_response_status(r),
           cio_response_reason(r));
    cio_response_free(r);
    return 0;
}

static int amain(void *arg)
{
    const char *base = arg;
    char url[256];
    cio_client *client;
    int rc = cio_client_new(&client, &(struct cio_client_opts){.retries = 1});

    if (rc < 0) {
        fprintf(stderr, "seed_transport_retries: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    snprintf(url, sizeof(url), "%s/get", base);
    rc = get(client, url);
    /* Port 1 on loopback: refused at once, retried once, refused again. */
    if (rc == 0 && get(client, "http://127.0.0.1:1/get") != CIO_ECONNREFUSED)
        rc = CIO_EPROTO;
    cio_client_free(client);
    return rc;
}

int main(int argc, char **argv)
{
    return cio_run(amain, argc > 1 ? argv[1] : "http://127.0.0.1:8080") == 0
               ? 0
               : 1;
}
