/* SPDX-License-Identifier: MIT */
/*
 * seed_gather_sleep: "Python -- httpx + asyncio 的异步并发请求", 用法2
 * (使用 asyncio.gather() 并发执行, 推荐): three tasks that each sleep 1 s,
 * gathered. About 1 s in all.
 *
 *   async def fetch(i):
 *       print(f"Start {i}")
 *       await asyncio.sleep(1)
 *       print(f"Done {i}")
 *   await asyncio.gather(fetch(1), fetch(2), fetch(3))
 *
 *   seed_gather_sleep
 *
 * gather is a group: cio_spawn each coroutine, then cio_group_wait.
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
    cio_time t0 = cio_now();
    int rc = cio_group_new(&g);

    if (rc < 0)
        return rc;
    for (intptr_t i = 1; i <= 3 && rc == 0; i++)
        rc = cio_spawn(g, fetch, (void *)i, NULL, NULL);
    if (rc == 0 && (rc = cio_group_wait(g, CIO_NEVER)) == 0)
        rc = cio_group_error(g);
    cio_group_free(g);
    if (rc < 0) {
        fprintf(stderr, "seed_gather_sleep: %s\n", cio_strerror(rc));
        return rc;
    }
    printf("3 tasks in %.1f s\n", (double)(cio_now() - t0) / 1000.0);
    return 0;
}

int main(void)
{
    return cio_run(amain, NULL) == 0 ? 0 : 1;
}
