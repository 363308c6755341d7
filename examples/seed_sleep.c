/* SPDX-License-Identifier: MIT */
/*
 * seed_sleep: "Python3-aiohttp:高性能异步HTTP客户端与服务器开发框架",
 * 异步编程的本质: one coroutine that "downloads" for 2 s with a sleep that
 * parks the task, not the thread; asyncio.run is cio_run.
 *
 *   async def fetch_data():
 *       print("🚀 开始获取数据...")
 *       await asyncio.sleep(2)
 *       print("✅ 数据就绪!")
 *   asyncio.run(fetch_data())
 *
 *   seed_sleep [SECONDS]        (default 2)
 */
#include <stdio.h>
#include <stdlib.h>

#include <corio/corio.h>

static int fetch_data(void *arg)
{
    double seconds = *(double *)arg;
    printf("fetching data...\n");
    int rc = cio_sleep(cio_after((int64_t)(seconds * 1000)));
    if (rc < 0) {
        fprintf(stderr, "seed_sleep: %s\n", cio_strerror(rc));
        return rc;
    }
    printf("data ready!\n");
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    return cio_run(fetch_data, &seconds) == 0 ? 0 : 1;
}
