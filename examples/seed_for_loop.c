/* SPDX-License-Identifier: MIT */
/*
 * seed_for_loop: "Python -- httpx + asyncio 的异步并发请求", 实例1
 * (使用for循环): ten GETs of /getStudentInfo?id=1, one after another,
 * with httpx's synchronous API (no event loop at all):
 *
 *   for i in range(1, 11):
 *       res = httpx.get(getUrl, params={'id': '1'}).json()
 *   logging.info(f'总共耗时:{endTime-startTime}')
 *
 *   seed_for_loop [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * cio_fetch is httpx.get: it runs its own loop and client for one request.
 * Against `corio serve --student-delay 1` this takes about 10 s, and the
 * server sees the requests arrive one second apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <corio/corio.h>
#include <jansson.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* httpxMethods.get_method */
static int get_method(const char *base, int task_id, double t0)
{
    char url[256];
    cio_response *r = NULL;
    json_t *j;

    printf("[task %d] start at %.2f s\n", task_id, now() - t0);
    snprintf(url, sizeof(url), "%s/getStudentInfo", base);
    int rc = cio_fetch(
        &(struct cio_request){.url = url,
                              .params = (struct cio_kv[]){{"id", "1"}, {0}}},
        NULL, &r);
    if (rc == 0 && (rc = cio_response_raise(r)) == 0 &&
        (rc = cio_response_json(r, &j)) == 0) {
        char *s = json_dumps(j, JSON_COMPACT);
        printf("[task %d] done at %.2f s: %s\n", task_id, now() - t0,
               s ? s : "?");
        free(s);
    } else {
        fprintf(stderr, "[task %d] %s: %s\n", task_id, cio_strerror(rc),
                cio_last_error());
    }
    cio_response_free(r);
    return rc;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
    double t0 = now();
    int ok = 0;

    for (int i = 1; i <= 10; i++)
        ok += get_method(base, i, t0) == 0;
    printf("%d/10 requests in %.1f s (one after another)\n", ok, now() - t0);
    return ok == 10 ? 0 : 1;
}
