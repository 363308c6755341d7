/* SPDX-License-Identifier: MIT */
/*
 * seed_gather: "Python -- httpx + asyncio 的异步并发请求", 实例2
 * (引入asyncio异步处理): ten GETs of /getStudentInfo?id=1 gathered on one
 * AsyncClient, under a semaphore of MAX_CONCURRENCY = 10.
 *
 *   async def async_get_method(client, task_id):
 *       async with httpxMethods.semaphore:
 *           response = await client.get(url, params={'id': 1}, timeout=10.0)
 *           response.raise_for_status()
 *           return response.json()
 *   async with httpx.AsyncClient(timeout=10.0) as client:
 *       results = await asyncio.gather(*tasks)
 *
 *   seed_gather [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * Against `corio serve --student-delay 1` the ten requests take about 1 s
 * in all, and reach the server together.
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>

#include <corio/corio.h>
#include <jansson.h>

#define NUM 10
#define MAX_CONCURRENCY 10

static const char *base = "http://127.0.0.1:8080";
static cio_client *client;
static cio_sem *semaphore;
static double t0; /* wall-clock start: cio_now() is the loop's clock, which
                   * a task that blocks the loop would stop */

struct task {
    int id;
    json_t *result; /* the response's JSON, or {"error": ...} */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double secs(void)
{
    return now() - t0;
}

static int async_get_method(void *arg)
{
    struct task *t = arg;
    char url[256];
    cio_response *r = NULL;
    json_t *j;

    printf("[task %d] start at %.2f s\n", t->id, secs());
    int rc = cio_sem_acquire(semaphore, CIO_NEVER);
    if (rc < 0)
        return rc;
    snprintf(url, sizeof(url), "%s/getStudentInfo", base);
    rc = cio_get(
        client, url,
        &(struct cio_request){.params = (struct cio_kv[]){{"id", "1"}, {0}}},
        &r);
    if (rc == 0 && (rc = cio_response_raise(r)) == 0 &&
        (rc = cio_response_json(r, &j)) == 0) {
        t->result = json_incref(j);
        printf("[task %d] done at %.2f s\n", t->id, secs());
    } else {
        t->result = json_pack("{s:s}", "error", cio_last_error());
    }
    cio_response_free(r);
    cio_sem_release(semaphore);
    return rc;
}

static int run_concurrent_requests(void *arg)
{
    struct task *tasks = arg;
    cio_group *g;
    int rc = cio_client_new(
        &client, &(struct cio_client_opts){.timeouts = {.connect_ms = 10000,
                                                        .read_ms = 10000,
                                                        .write_ms = 10000}});
    if (rc < 0 || (rc = cio_sem_new(&semaphore, MAX_CONCURRENCY)) < 0 ||
        (rc = cio_group_new(&g)) < 0) {
        fprintf(stderr, "setup: %s: %s\n", cio_strerror(rc), cio_last_error());
        cio_sem_free(semaphore);
        cio_client_free(client);
        return rc;
    }
    t0 = now();
    for (int i = 0; i < NUM && rc == 0; i++) {
        tasks[i].id = i;
        rc = cio_spawn(g, async_get_method, &tasks[i], NULL, NULL);
    }
    cio_group_wait(g, CIO_NEVER); /* asyncio.gather */
    double took = secs();
    cio_group_free(g);
    cio_sem_free(semaphore);
    cio_client_free(client);

    int ok = 0;
    for (int i = 0; i < NUM; i++) {
        char *s =
            tasks[i].result ? json_dumps(tasks[i].result, JSON_COMPACT) : NULL;
        printf("result %d: %s\n", i, s ? s : "(none)");
        ok += tasks[i].result &&
              json_object_get(tasks[i].result, "error") == NULL;
        free(s);
        json_decref(tasks[i].result);
    }
    printf("%d/%d requests in %.1f s (gathered)\n", ok, NUM, took);
    return ok == NUM ? 0 : CIO_EPROTO;
}

int main(int argc, char **argv)
{
    struct task tasks[NUM] = {0};
    if (argc > 1)
        base = argv[1];
    return cio_run(run_concurrent_requests, tasks) == 0 ? 0 : 1;
}
