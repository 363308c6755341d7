/* SPDX-License-Identifier: MIT */
/*
 * seed_paginated_auth: "Python3-aiohttp:高性能异步HTTP客户端与服务器开发框架",
 * section "综合案例:带认证的分页请求": a page of an API fetched with a
 * Bearer token from the environment, an Accept header, a tracking cookie
 * and page/size parameters.
 *
 *   async def fetch_paginated_data(page: int):
 *       params = {"page": page, "size": 50}
 *       headers = {"Authorization": f"Bearer {os.getenv('API_TOKEN')}",
 *                  "Accept": "application/json"}
 *       cookies = {"tracking_id": generate_tracking_id()}
 *       async with aiohttp.ClientSession() as session:
 *           async with session.get(url, params=params, headers=headers,
 *                                  cookies=cookies) as resp:
 *               if resp.status != 200: raise RuntimeError(f"请求失败: {resp.status}")
 *               return await resp.json()
 *
 *   API_TOKEN=... seed_paginated_auth [BASE_URL]     (default http://127.0.0.1:8080)
 *
 * Fetches BASE_URL/data page 1, learns the page count, then gathers the
 * other pages. Unlike the seed it shares one client between the pages (a
 * session per call would open a connection per page). Without API_TOKEN
 * the server answers 401 and the example says so.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <corio/corio.h>
#include <jansson.h>

#define SIZE 50
#define MAX_PAGES 64

struct page {
    cio_client *session;
    const char *base;
    int page;
    int items, first_id, last_id, pages;
};

static void generate_tracking_id(char *out, size_t cap)
{
    snprintf(out, cap, "trk-%ld-%d", (long)getpid(), rand() % 100000);
}

static int fetch_paginated_data(void *arg)
{
    struct page *p = arg;
    char url[256], page[16], size[16], auth[256], tracking_id[64];
    const char *token = getenv("API_TOKEN");
    cio_response *resp;
    json_t *j;

    snprintf(url, sizeof(url), "%s/data", p->base);
    snprintf(page, sizeof(page), "%d", p->page);
    snprintf(size, sizeof(size), "%d", SIZE);
    snprintf(auth, sizeof(auth), "Bearer %s", token != NULL ? token : "");
    generate_tracking_id(tracking_id, sizeof(tracking_id));
    int rc = cio_get(
        p->session, url,
        &(struct cio_request){
            .params = (struct cio_kv[]){{"page", page}, {"size", size}, {0}},
            .headers = (struct cio_kv[]){{"Authorization", auth},
                                         {"Accept", "application/json"},
                                         {0}},
            .cookies = (struct cio_kv[]){{"tracking_id", tracking_id}, {0}},
        },
        &resp);
    if (rc < 0) {
        fprintf(stderr, "page %d: %s: %s\n", p->page, cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    if (cio_response_status(resp) != 200) {
        fprintf(stderr, "page %d: request failed: %d\n", p->page,
                cio_response_status(resp));
        rc = CIO_ESTATUS;
    } else if ((rc = cio_response_json(resp, &j)) == 0) {
        json_t *items = json_object_get(j, "items");
        p->items = (int)json_array_size(items);
        p->first_id = (int)json_integer_value(
            json_object_get(json_array_get(items, 0), "id"));
        p->last_id = (int)json_integer_value(json_object_get(
            json_array_get(items, json_array_size(items) - 1), "id"));
        p->pages = (int)json_integer_value(json_object_get(j, "pages"));
        printf("page %d: %d items (ids %d..%d), tracking_id %s\n", p->page,
               p->items, p->first_id, p->last_id,
               json_string_value(json_object_get(j, "tracking_id")) ?: "?");
    }
    cio_response_free(resp);
    return rc;
}

static int amain(void *arg)
{
    const char *base = arg;
    struct page pages[MAX_PAGES] = {0};
    cio_client *session;
    cio_group *g = NULL;
    int rc = cio_client_new(&session, NULL);

    if (rc < 0) {
        fprintf(stderr, "session: %s: %s\n", cio_strerror(rc),
                cio_last_error());
        return rc;
    }
    pages[0] = (struct page){.session = session, .base = base, .page = 1};
    rc = fetch_paginated_data(&pages[0]);
    int n = pages[0].pages < MAX_PAGES ? pages[0].pages : MAX_PAGES;
    if (rc == 0)
        rc = cio_group_new(&g);
    for (int i = 1; i < n && rc == 0; i++) {
        pages[i] =
            (struct page){.session = session, .base = base, .page = i + 1};
        rc = cio_spawn(g, fetch_paginated_data, &pages[i], NULL, NULL);
    }
    if (g != NULL && rc == 0 && (rc = cio_group_wait(g, CIO_NEVER)) == 0)
        rc = cio_group_error(g);
    cio_group_free(g);
    cio_client_free(session);
    if (rc == 0) {
        int total = 0;
        for (int i = 0; i < n; i++)
            total += pages[i].items;
        printf("%d pages, %d items\n", n, total);
    }
    return rc;
}

int main(int argc, char **argv)
{
    srand((unsigned)getpid());
    return cio_run(amain, argc > 1 ? argv[1] : "http://127.0.0.1:8080") == 0
               ? 0
               : 1;
}
