/* SPDX-License-Identifier: MIT */
/*
 * seed_slow_lookup: "Python -- httpx + asyncio 的异步并发请求", 实例3
 * (业务逻辑升级,get请求前需查询数据库): before each request a blocking
 * "database query" (time.sleep of 1, 3 or 5 s) runs ON THE LOOP. This is the
 * seed's counter-example: the blocking call stalls every task, so the ten
 * lookups run one after another (about 30 s in the seed).
 *
 *   async def get_data():
 *       time.sleep(random.choice([1, 3, 5]))   # blocks the event loop
 *       return 1
 *   async with httpxMethods.semaphore:
 *       payload = {'id': await httpxMethods.get_data()}
 *       response = await client.get(url, params=payload, timeout=10.0)
 *
 *   seed_slow_lookup [BASE_URL [UNIT_MS]]
 *
 * UNIT_MS scales the lookups (default 1000: 1, 3 or 5 s as in the seed).
 * seed_executor_lookup is the fix.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>
#include <jansson.h>

#define NUM 10
#define MAX_CONCURRENCY 10

static const char *base = "http://127.0.0.1:8080";
static long unit_ms = 1000;
static cio_client *client;
static cio_sem *semaphore;
static double t0; /* wall-clock start: cio_now() is the loop's clock, which
                   * a task that blocks the loop would stop */
static unsigned seed;

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

/* The "pymysql" query: a blocking sleep, called right in the task. */
static int get_data(void)
{
    static const int choice[] = {1, 3, 5};
    usleep((useconds_t)(choice[rand_r(&seed) % 3] * unit_ms * 1000));
    return 1;
}

static int async_get_method(void *arg)
{
    int task_id = (int)(intptr_t)arg;
    char url[256], id[16];
    cio_response *r = NULL;

    printf("[task %d] start at %.2f s\n", task_id, secs());
    int rc = cio_sem_acquire(semaphore, CIO_NEVER);
    if (rc < 0)
        return rc;
    snprintf(id, sizeof(id), "%d", get_data());
    printf("[task %d] lookup done at %.2f s\n", task_id, secs());
    snprintf(url, sizeof(url), "%s/getStudentInfo", base);
    rc = cio_get(
        client, url,
        &(struct cio_request){.params = (struct cio_kv[]){{"id", id}, {0}}},
        &r);
    if (rc == 0)
        rc = cio_response_raise(r);
    if (rc == 0)
        printf("[task %d] done at %.2f s: %s\n", task_id, secs(),
               cio_response_body(r, NULL));
    else
        fprintf(stderr, "[task %d] %s: %s\n", task_id, cio_strerror(rc),
                cio_last_error());
    cio_response_free(r);
    cio_sem_release(semaphore);
    return rc;
}

static int run_concurrent_requests(void *arg)
{
    (void)arg;
    cio_group *g = NULL;
    int rc = cio_client_new(&client, NULL);
    if (rc == 0)
        rc = cio_sem_new(&semaphore, MAX_CONCURRENCY);
    if (rc == 0)
        rc = cio_group_new(&g);
    t0 = now();
    for (int i = 0; i < NUM && rc == 0; i++)
        rc = cio_spawn(g, async_get_method, (void *)(intptr_t)i, NULL, NULL);
    if (rc == 0) {
        cio_group_wait(g, CIO_NEVER);
        rc = cio_group_error(g);
        printf("%d requests in %.1f s (lookups on the loop: it stalls)\n", NUM,
               secs());
    } else {
        fprintf(stderr, "setup: %s: %s\n", cio_strerror(rc), cio_last_error());
    }
    cio_group_free(g);
    cio_sem_free(semaphore);
    cio_client_free(client);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        base = argv[1];
    if (argc > 2)
        unit_ms = atol(argv[2]);
    seed = (unsigned)time(NULL);
    return cio_run(run_concurrent_requests, NULL) == 0 ? 0 : 1;
}
