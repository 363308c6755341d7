/* SPDX-License-Identifier: MIT */
/*
 * seed_barrier: "Python -- httpx + asyncio 的异步并发请求", 实例5_2
 * (使用 asyncio.Barrier来实现接口并发, the seed's recommendation): each
 * task does its blocking lookup on the executor, then waits at a barrier of
 * NUM parties; the last arrival releases all of them in the same loop turn,
 * so the ten requests reach the server together.
 *
 *   student_id = await loop.run_in_executor(httpxMethods.executor, httpxMethods.get_data)
 *   await barrier.wait()          # barrier = asyncio.Barrier(num_tasks)
 *   async with httpxMethods.semaphore:
 *       response = await client.get(url, params={'id': student_id}, timeout=15.0)
 *
 *   seed_barrier [BASE_URL [UNIT_MS]]
 *
 * UNIT_MS scales the lookups (default 1000: 1, 3 or 5 s as in the seed).
 * Every "lookup done" line is printed before the first "request sent".
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
static cio_barrier *barrier;
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

    int arrival = cio_barrier_wait(barrier, CIO_NEVER);
    if (arrival < 0)
        return arrival;
    printf("[task %d] request sent at %.2f s (arrived %d at the barrier)\n",
           task_id, secs(), arrival + 1);
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
        rc = cio_barrier_new(&barrier, NUM);
    if (rc == 0)
        rc = cio_group_new(&g);
    t0 = now();
    for (int i = 0; i < NUM && rc == 0; i++)
        rc = cio_spawn(g, async_get_method, (void *)(intptr_t)i, NULL, NULL);
    if (rc == 0) {
        cio_group_wait(g, CIO_NEVER);
        rc = cio_group_error(g);
        printf("%d requests in %.1f s (barrier: sent together)\n", NUM, secs());
    } else {
        fprintf(stderr, "setup: %s: %s\n", cio_strerror(rc), cio_last_error());
    }
    cio_group_free(g);
    cio_barrier_free(barrier);
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
