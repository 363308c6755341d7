# SPDX-License-Identifier: MIT
"""Reads an SSE stream with aiohttp (bounded by 10 s) and prints its events."""
import asyncio
import os
import sys

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sse_parse import SSE  # noqa: E402


async def main(url):
    p = SSE()
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        async with s.get(url, headers={"Accept": "text/event-stream"}) as r:
            assert r.status == 200, r.status
            assert r.headers["Content-Type"] == "text/event-stream"
            async for chunk in r.content.iter_any():
                p.feed(chunk.decode())
    p.feed("\n")  # a stream that ends mid-event does not dispatch it
    for line in p.out:
        print(line)


asyncio.run(main(sys.argv[1]))
