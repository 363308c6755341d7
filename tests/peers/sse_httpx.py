# SPDX-License-Identifier: MIT
"""Reads an SSE stream with httpx (bounded by 10 s) and prints its events."""
import os
import sys

import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sse_parse import SSE  # noqa: E402

p = SSE()
with httpx.Client(timeout=10) as c:
    with c.stream("GET", sys.argv[1], headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200, r.status_code
        assert r.headers["content-type"] == "text/event-stream"
        for chunk in r.iter_text():
            p.feed(chunk)
for line in p.out:
    print(line)
