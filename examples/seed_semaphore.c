/* SPDX-License-Identifier: MIT */
/*
 * seed_semaphore: "Python -- httpx + asyncio 的异步并发请求", the
 * semaphore of 实例2-5 ("设置最大并发数"), with MAX_CONCURRENCY = 3 instead
 * of 10 so that it limits something: ten gathered requests run in waves of
 * three (four waves), first come, first served.
 *
 *   MAX_CONCURRENCY = 3
 *   semaphore = asyncio.Semaphore(MAX_CONCURRENCY)
 *   async with httpxMethods.semaphore:
 *       response = await client.get(url, params={'id': task_id}, timeout=10.0)
 *
 *   seed_semaphore [BASE_URL]        (default http://127.0.0.1:8080)
 *
 * Against `corio serve --student-delay 1` this takes about 4 s.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <corio/corio.h>

#define NUM 10
#define MAX_CONCURRENCY 3

static const char *base = "http://127.0.0.1:8080";
static cio_client *client;
static cio_sem *semaphore;
static double t0;    /* wall-clock start: cio_now() is the loop's clock, which
                   * a task that blocks the loop would stop */
static int admitted; /* tasks let in so far: gives each task its wave */

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
    int task_id = (int)(intptr_t)arg;
    char url[256], id[16];
    cio_response *r = NULL;

    int rc = cio_sem_acquire(semaphore, CIO_NEVER);
    if (rc < 0)
        return rc;
    int wave = admitted++ / MAX_CONCURRENCY + 1;
    printf("[task %d] wave %d: sent at %.2f s (%u permits left)\n", task_id,
           wave, secs(), cio_sem_value(semaphore));
    snprintf(url, sizeof(url), "%s/getStudentInfo", base);
    snprintf(id, sizeof(id), "%d", task_id);
    rc = cio_get(
        client, url,
        &(struct cio_request){.params = (struct cio_kv[]){{"id", id}, {0}}},
        &r);
    if (rc == 0)
        rc = cio_response_raise(r);
    if (rc == 0)
        printf("[task %d] wave %d: done at %.2f s: %s\n", task_id, wave, secs(),
               cio_response_body(r, NULL));
    else
        fprintf(stderr, "[task %d] %s: %s\n", task_id, cio_strerror(rc),
                cio_last_error());
    cio_response_free(r);
    cio_sem_release(semaphore);
    return rc;
}

static int amain(void *arg)
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
        printf("%d requests in %.1f s (semaphore of %d: %d waves)\n", NUM,
               secs(), MAX_CONCURRENCY,
               (NUM + MAX_CONCURRENCY - 1) / MAX_CONCURRENCY);
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
    return cio_run(amain, NULL) == 0 ? 0 : 1;
}
