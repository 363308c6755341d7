#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""aiohttp.web peer for bench/server: the settings of the lead's
peers/src/aiohttp_server.py (no access log, keep-alive 300 s, backlog 4096)
with the benchmark's two routes.
Usage: aiohttp_server.py PORT
  GET /      -> "Hello, World!" text/plain
  GET /json  -> {"message":"Hello, World!"} application/json
"""
import asyncio
import sys

from aiohttp import web

port = int(sys.argv[1])
JSON = b'{"message":"Hello, World!"}'


async def hello(request):
    return web.Response(text="Hello, World!")


async def json_(request):
    return web.Response(body=JSON, content_type="application/json")


async def main():
    app = web.Application()
    app.router.add_get("/", hello)
    app.router.add_get("/json", json_)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=300)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    print("listening", port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
