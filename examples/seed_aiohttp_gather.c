/* SPDX-License-Identifier: MIT */
/*
 * seed_aiohttp_gather: the http.client article, "备选方案:使用 aiohttp":
 * one ClientSession created outside and shared by three gathered GETs
 * (the session is the connection pool); raise_for_status on each.
 *
 *   async def fetch_data_with_aiohttp(session, url):
 *       async with session.get(url) as response:
 *           response.raise_for_status()
 *           return await response.text()
 *       except aiohttp.ClientError as e: ... return None
 *   async with aiohttp.ClientSession() as session:
 *       results = await asyncio.gather(*tasks)   # /get, /delay/2, /status/200
 *
 *   seed_aiohttp_gather [BASE_URL [DELAY]]     (DELAY default 2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

struct fetch {
    cio_client *session;
    char url[256];
    char *text; /* the body (malloc'ed), or NULL after a request error */
};

static int fetch_data_with_aiohttp(void *arg)
{
    struct fetch *f = arg;
    cio_response *r = NULL;

    printf("[aiohttp] start: %s\n", f->url);
    int rc = cio_get(f->session, f->url, NULL, &r);
    if (rc == 0)
        rc = cio_response_raise(r);
    if (rc == 0) {
        size_t len;
        const char *text = cio_response_body(r, &len);
        printf("[aiohttp] ok, status %d\n", cio_response_status(r));
        f->text = text != NULL ? strndup(text, len) : NULL;
    } else {
        printf("[aiohttp] failed: %s: %s\n", cio_strerror(rc),
               cio_last_error());
    }
    cio_response_free(r);
    return rc;
}

static int amain(void *arg)
{
    struct fetch *fetches = arg;
    cio_client *session;
    cio_group *g = NULL;
    cio_time t0 = cio_now();
    int rc = cio_client_new(&session, NULL);

    if (rc == 0)
        rc = cio_group_new(&g);
    for (int i = 0; i < 3 && rc == 0; i++) {
        fetches[i].session = session;
        rc = cio_spawn(g, fetch_data_with_aiohttp, &fetches[i], NULL, NULL);
    }
    if (rc == 0)
        rc = cio_group_wait(g, CIO_NEVER);
    cio_group_free(g);
    cio_client_free(session);
    if (rc < 0) {
        fprintf(stderr, "seed_aiohttp_gather: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    printf("\n--- all requests done in %.1f s ---\n",
           (double)(cio_now() - t0) / 1000.0);
    for (int i = 0; i < 3; i++) {
        if (fetches[i].text != NULL)
            printf("task %d result length: %zu\n", i + 1,
                   strlen(fetches[i].text));
        else
            printf("task %d result length: N/A\n", i + 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
    const char *delay = argc > 2 ? argv[2] : "2";
    struct fetch fetches[3] = {0};

    snprintf(fetches[0].url, sizeof(fetches[0].url), "%s/get", base);
    snprintf(fetches[1].url, sizeof(fetches[1].url), "%s/delay/%s", base,
             delay);
    snprintf(fetches[2].url, sizeof(fetches[2].url), "%s/status/200", base);
    int rc = cio_run(amain, fetches);
    int ok = 0;
    for (int i = 0; i < 3; i++) {
        ok += fetches[i].text != NULL;
        free(fetches[i].text);
    }
    return rc == 0 && ok == 3 ? 0 : 1;
}
