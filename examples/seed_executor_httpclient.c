/* SPDX-License-Identifier: MIT */
/*
 * seed_executor_httpclient: the http.client article, "手动封装 http.client
 * (使用 run_in_executor)": a blocking HTTP function runs on the executor
 * (a thread pool) so the loop is not blocked; three such calls gathered.
 *
 *   def fetch_data_sync(url, path):               # blocking
 *       conn = http.client.HTTPConnection(url)
 *       conn.request("GET", path)
 *       response = conn.getresponse()
 *       data = response.read()
 *       return data.decode('utf-8')
 *   async def fetch_data_async(url, path):
 *       return await loop.run_in_executor(None, fetch_data_sync, url, path)
 *   results = await asyncio.gather(*tasks)   # /get, /delay/2, /status/200
 *
 *   seed_executor_httpclient [BASE_URL [DELAY]]     (DELAY default 2)
 *
 * The blocking call is cio_fetch (corio's synchronous one-request API: it
 * runs its own loop on the pool thread). Each call holds a pool thread for
 * its whole duration: that is the cost the article warns about, and why
 * seed_httpx_gather and seed_aiohttp_gather are the recommended way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <corio/corio.h>

struct fetch {
    char url[256];
    char *text; /* the body, malloc'ed, or NULL on failure */
};

/* Runs on an executor thread: it may block, and uses no loop of ours. */
static void *fetch_data_sync(void *arg)
{
    struct fetch *f = arg;
    cio_response *r;

    printf("[sync] start: %s\n", f->url);
    int rc = cio_fetch(&(struct cio_request){.url = f->url}, NULL, &r);
    if (rc < 0) {
        printf("[sync] failed: %s: %s\n", cio_strerror(rc), cio_last_error());
        return NULL;
    }
    size_t len;
    const char *body = cio_response_body(r, &len);
    printf("[sync] ok, status %d\n", cio_response_status(r));
    f->text = body != NULL ? strndup(body, len) : NULL;
    cio_response_free(r);
    return f->text;
}

static int fetch_data_async(void *arg)
{
    return cio_blocking(fetch_data_sync, arg, NULL);
}

static int amain(void *arg)
{
    struct fetch *fetches = arg;
    cio_group *g;
    cio_time t0 = cio_now();
    int rc = cio_group_new(&g);

    for (int i = 0; i < 3 && rc == 0; i++)
        rc = cio_spawn(g, fetch_data_async, &fetches[i], NULL, NULL);
    if (rc == 0)
        rc = cio_group_wait(g, CIO_NEVER);
    cio_group_free(g);
    if (rc < 0) {
        fprintf(stderr, "seed_executor_httpclient: %s\n", cio_strerror(rc));
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
