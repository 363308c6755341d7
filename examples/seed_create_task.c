/* SPDX-License-Identifier: MIT */
/*
 * seed_create_task: "Python -- httpx + asyncio 的异步并发请求", 用法1
 * (使用 asyncio.create_task() 并发执行): two tasks that each sleep 1 s,
 * started, then awaited one by one. Both sleeps overlap: about 1 s in all.
 *
 *   async def fetch(i):
 *       print(f"Start {i}")
 *       await asyncio.sleep(1)
 *       print(f"Done {i}")
 *   task1 = asyncio.create_task(fetch(1))
 *   task2 = asyncio.create_task(fetch(2))
 *   await task1
 *   await task2
 *
 *   seed_create_task
 */
#include <stdint.h>
#include <stdio.h>

#include <corio/corio.h>

static int fetch(void *arg)
{
    int i = (int)(intptr_t)arg;
    printf("Start %d\n", i);
    int rc = cio_sleep(cio_after(1000));
    if (rc == 0)
        printf("Done %d\n", i);
    return rc;
}

static int amain(void *arg)
{
    (void)arg;
    cio_group *g;
    cio_task *task1, *task2;
    cio_time t0 = cio_now();
    int rc = cio_group_new(&g), r1 = -1, r2 = -1;

    if (rc < 0)
        return rc;
    if ((rc = cio_spawn(g, fetch, (void *)1, NULL, &task1)) == 0 &&
        (rc = cio_spawn(g, fetch, (void *)2, NULL, &task2)) == 0 &&
        (rc = cio_task_join(task1, CIO_NEVER, &r1)) == 0)
        rc = cio_task_join(task2, CIO_NEVER, &r2);
    cio_group_free(g);
    if (rc < 0 || r1 < 0 || r2 < 0) {
        fprintf(stderr, "seed_create_task: %s\n",
                cio_strerror(rc < 0   ? rc
                             : r1 < 0 ? r1
                                      : r2));
        return -1;
    }
    printf("2 tasks in %.1f s\n", (double)(cio_now() - t0) / 1000.0);
    return 0;
}

int main(void)
{
    return cio_run(amain, NULL) == 0 ? 0 : 1;
}
