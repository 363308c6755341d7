/* SPDX-License-Identifier: MIT */
/*
 * seed_executor_lookup: "Python -- httpx + asyncio 的异步并发请求", 实例4
 * (引入loop.run_in_executor()增效): the blocking "database query" of
 * 实例3 runs on the executor, so the ten lookups overlap and the loop keeps
 * running. The whole run takes the longest lookup plus one request (about
 * 6 s in the seed), but each request leaves when its own lookup ends: the
 * server sees them at different times.
 *
 *   def get_data():
 *       time.sleep(random.choice([1, 3, 5]))
 *       return 1
 *   id1 = await loop.run_in_executor(httpxMethods.executor, httpxMethods.get_data)
 *   async with httpxMethods.semaphore:
 *       response = await client.get(url, params={'id': id1}, timeout=10.0)
 *
 *   seed_executor_lookup [BASE_URL [UNIT_MS]]
 *
 * UNIT_MS scales the lookups (default 1000: 1, 3 or 5 s as in the seed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <corio/corio.h>

#define NUM 10
#define MAX_CONCURRENCY 10

static const char *base = "http://127.0.0.1:8080";
static long unit_ms = 1000;
static cio_client *client;
static cio_sem *semaphore;
static double t0; /* wall-clock start: cio_now() is the loop's clock, which
                   * a task that blocks the loop would stop */

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

/* The "pymysql" query, run on an executor thread: it may block. The
 * random choice is made by the task (rand_r state is per task). */
static void *get_data(void *arg)
{
    usleep((useconds_t)((intptr_t)arg * unit_ms * 1000));
    return (void *)(intptr_t)1;
}

static int async_get_method(void *arg)
{
    static const int choice[] = {1, 3, 5};
    int task_id = (int)(intptr_t)arg;
    unsigned seed = (unsigned)(time(NULL) + task_id);
    char url[256], id[16];
    cio_response *r = NULL;
    void *student_id;

    printf("[task %d] start at %.2f s\n", task_id, secs());
    int rc = cio_blocking(get_data, (void *)(intptr_t)choice[rand_r(&seed) % 3],
                          &student_id);
    if (rc < 0)
        return rc;
    printf("[task %d] lookup done at %.2f s\n", task_id, secs());
    snprintf(id, sizeof(id), "%d", (int)(intptr_t)student_id);
    if ((rc = cio_sem_acquire(semaphore, CIO_NEVER)) < 0)
        return rc;
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
        printf("%d requests in %.1f s (lookups on the executor)\n", NUM,
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
    /* ThreadPoolExecutor(max_workers=10) */
    cio_executor_set_max_threads(10);
    return cio_run(run_concurrent_requests, NULL) == 0 ? 0 : 1;
}
