#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks corio's built-in middleware with python3-httpx (and json).
Usage: mw_client.py CHECK ARG...   prints "ok ..." and exits 0, or fails.
  reqid URL     X-Request-ID: generated (32 hex, fresh each time), kept when sane
  auth URL      Basic auth with httpx's auth=(user, password): 401 then 200
  cors URL      preflight and actual request as a browser would send them
  jsonl FILE N  the access log file holds N JSON lines with the right fields
  metrics URL   the exposition parses; prints the requests_total samples
"""
import json
import re
import sys

import httpx


def check(cond, msg):
    if not cond:
        print("FAIL", msg, flush=True)
        sys.exit(1)


def reqid(url):
    with httpx.Client(timeout=5) as c:
        a = c.get(url).headers.get("x-request-id", "")
        b = c.get(url).headers.get("x-request-id", "")
        check(re.fullmatch(r"[0-9a-f]{32}", a or ""), f"generated id {a!r}")
        check(a != b, "two requests got the same id")
        r = c.get(url, headers={"X-Request-ID": "trace-abc.123"})
        check(r.headers.get("x-request-id") == "trace-abc.123", f"kept id {r.headers}")
        check(r.text == "trace-abc.123", f"handler saw {r.text!r}")
        r = c.get(url, headers={"X-Request-ID": "x" * 201})
        check(re.fullmatch(r"[0-9a-f]{32}", r.headers.get("x-request-id", "")), "long id kept")
    print("ok reqid", a, b)


def auth(url):
    with httpx.Client(timeout=5) as c:
        r = c.get(url)
        check(r.status_code == 401, f"no credentials: {r.status_code}")
        check(r.headers.get("www-authenticate", "").startswith("Basic realm="), str(r.headers))
        r = c.get(url, auth=("alice", "wrong"))
        check(r.status_code == 401, f"wrong password: {r.status_code}")
        r = c.get(url, auth=("alice", "s3cret"))
        check(r.status_code == 200 and r.text == "user=alice", f"{r.status_code} {r.text!r}")
    print("ok auth")


def cors(url):
    origin = "https://app.example"
    with httpx.Client(timeout=5) as c:
        r = c.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "PUT",
                                    "Access-Control-Request-Headers": "content-type, x-token"})
        check(r.status_code == 204, f"preflight status {r.status_code}")
        h = r.headers
        check(h.get("access-control-allow-origin") == origin, f"ACAO {h}")
        check(h.get("access-control-allow-credentials") == "true", f"ACAC {h}")
        check("PUT" in h.get("access-control-allow-methods", ""), f"methods {h}")
        check(h.get("access-control-allow-headers") == "content-type, x-token", f"headers {h}")
        check(h.get("access-control-max-age") == "600", f"max-age {h}")
        check("Origin" in h.get("vary", ""), f"vary {h}")
        r = c.put(url, headers={"Origin": origin}, content=b"{}")
        check(r.status_code == 200 and r.headers.get("access-control-allow-origin") == origin,
              f"actual {r.status_code} {r.headers}")
        r = c.get(url, headers={"Origin": "https://evil.example"})
        check("access-control-allow-origin" not in r.headers, f"evil origin allowed {r.headers}")
    print("ok cors")


def jsonl(path, n):
    with open(path) as f:
        lines = f.read().splitlines()
    check(len(lines) == int(n), f"{len(lines)} lines, want {n}: {lines}")
    for line in lines:
        d = json.loads(line)
        for k in ("time", "remote", "method", "path", "proto", "status", "bytes", "duration_ms"):
            check(k in d, f"no {k} in {line}")
        check(d["remote"] == "127.0.0.1", line)
    d = json.loads(lines[-1])
    print("ok jsonl", d["path"], d["status"], d.get("user_agent", ""), d.get("request_id", ""))


def metrics(url):
    r = httpx.get(url, timeout=5)
    check(r.status_code == 200, f"status {r.status_code}")
    check(r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers["content-type"])
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_]+="(\\.|[^"\\])*",?)*\})? '
                        r'([0-9.eE+-]+|\+Inf|NaN)$')
    for line in r.text.splitlines():
        if line.startswith("#"):
            check(re.match(r"^# (HELP|TYPE) [a-z_]+ ", line), f"bad comment {line!r}")
            continue
        check(sample.match(line), f"bad sample {line!r}")
    for line in r.text.splitlines():
        if line.startswith("corio_http_requests_total"):
            print(line)
    print("ok metrics")


if __name__ == "__main__":
    {"reqid": reqid, "auth": auth, "cors": cors, "jsonl": jsonl, "metrics": metrics}[sys.argv[1]](*sys.argv[2:])
