#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""httpx 0.23 against a corio server: JSON, urlencoded form, multipart
upload, cookies. Usage: server_httpx.py BASE_URL. Prints one "ok <name>"
line per check and exits 1 at the first failure."""
import sys

import httpx

base = sys.argv[1]


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    print(f"ok {name}")


with httpx.Client(base_url=base, timeout=10) as c:
    r = c.post("/json", json={"a": [1, 2, {"b": "ü"}]})
    check("json", r.status_code == 200 and r.json() == {"got": {"a": [1, 2, {"b": "ü"}]}},
          r.text)
    r = c.post("/json", content=b"{bad", headers={"content-type": "application/json"})
    check("json_bad_400", r.status_code == 400, r.text)
    r = c.post("/form", data={"a": "1 2", "b": "x&y"})
    check("form", r.status_code == 200 and r.text == "a=1 2 b=x&y", r.text)
    files = {"doc": ("report.bin", b"\0\1\2" * 40000, "application/octet-stream")}
    r = c.post("/upload", files=files, data={"title": "hello"})
    check("multipart", r.status_code == 200 and
          r.text == "title:-:5:hello\ndoc:report.bin:120000:\n", repr(r.text))
    r = c.get("/cookie", cookies={"session": "abc"})
    check("cookie_read", r.text == "session=abc", r.text)
    check("cookie_set", c.cookies.get("seen") == "1", str(r.headers))
    r = c.get("/cookie")
    check("cookie_jar_roundtrip", "session=none" in r.text and r.request.headers.get("cookie") == "seen=1",
          r.text + " " + str(r.request.headers))
