#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A python3-aiohttp test server for corio's client tests.
Usage: aiohttp_server.py [--tls CERT KEY]   (HTTPS on both ports with --tls)

Listens on two loopback ports (two origins, for cross-origin redirects)
and prints "PORT1 PORT2" on stdout. Exits when stdin closes or on SIGTERM.

Endpoints (both ports serve the same app):
  /json                      {"hello": "world", "n": 1}
  /anything[/...]            echo: method, path, query, headers, body, json
  /headers                   the request headers as JSON
  /delay/{ms}                answers after ms milliseconds
  /status/{code}             that status, empty body
  /cookies/set?k=v&...       sets the cookies, then echoes the cookies it got
  /cookies                   the cookies received
  /form                      POST urlencoded or multipart form: the fields
  /multipart                 POST multipart: each part's name, filename,
                             content type, size and sha256
  /basic-auth/{user}/{pass}  401 + WWW-Authenticate: Basic unless matching
  /bearer/{token}            401 unless "Authorization: Bearer <token>"
  /digest-auth/{qop}/{user}/{pass}/{alg}
                             RFC 7616 Digest (qop auth or none; alg MD5,
                             MD5-sess, SHA-256, SHA-256-sess), verified here
                             with hashlib; nonces are single-use per nc
  /digest-expire             POST: every nonce so far expires (answers
                             with one get a 401 with stale=true)
  /retry-after/{n}?key=k&after=s
                             503 with Retry-After: s (default 0) for the
                             first n-1 calls with that key, then 200 with
                             the call count
  /calls?key=k               how many times /retry-after saw key
  /redirect/{n}              302 chain: n hops ending at /anything
  /redirect-to?url=u&status=s
                             a redirect to u with status s (default 302)
  /cross-origin?status=s&path=p
                             a redirect to the other port (same host)
  /gzip                      a gzip-encoded JSON body
"""
import asyncio
import gzip
import hashlib
import json
import os
import signal
import sys

from aiohttp import web

PORTS = []
CALLS = {}
NONCES = {}
EXPIRED = set()


async def echo(request):
    body = await request.read()
    doc = {
        "method": request.method,
        "path": request.path,
        "query": {k: request.query.getall(k) for k in request.query.keys()},
        "headers": {k: v for k, v in request.headers.items()},
        "body": body.decode("utf-8", "replace"),
        "body_len": len(body),
    }
    if request.content_type == "application/json" and body:
        try:
            doc["json"] = json.loads(body)
        except ValueError:
            doc["json_error"] = True
    return web.json_response(doc)


async def headers(request):
    return web.json_response({k: v for k, v in request.headers.items()})


async def hello(request):
    return web.json_response({"hello": "world", "n": 1})


async def delay(request):
    await asyncio.sleep(int(request.match_info["ms"]) / 1000)
    return web.json_response({"delayed_ms": int(request.match_info["ms"])})


async def status(request):
    return web.Response(status=int(request.match_info["code"]))


async def cookies_set(request):
    resp = web.json_response({"cookies": dict(request.cookies)})
    for k, v in request.query.items():
        resp.set_cookie(k, v, path="/")
    return resp


async def cookies(request):
    return web.json_response({"cookies": dict(request.cookies)})


async def form(request):
    data = await request.post()
    out = {}
    for k in data.keys():
        vals = []
        for v in data.getall(k):
            if hasattr(v, "file"):
                vals.append({"filename": v.filename, "content_type": v.content_type,
                             "data": v.file.read().decode("utf-8", "replace")})
            else:
                vals.append(v)
        out[k] = vals if len(vals) > 1 else vals[0]
    return web.json_response({"form": out, "content_type": request.content_type})


async def multipart(request):
    reader = await request.multipart()
    parts = []
    while True:
        part = await reader.next()
        if part is None:
            break
        data = await part.read(decode=False)
        parts.append({"name": part.name, "filename": part.filename,
                      "content_type": part.headers.get("Content-Type"),
                      "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return web.json_response({"parts": parts})


async def basic_auth(request):
    import base64
    user, pw = request.match_info["user"], request.match_info["pass"]
    want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
    if request.headers.get("Authorization") != want:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="corio"'})
    return web.json_response({"authenticated": True, "user": user})


async def bearer(request):
    if request.headers.get("Authorization") != "Bearer " + request.match_info["token"]:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="corio"'})
    return web.json_response({"authenticated": True})


def _h(alg, s):
    name = "md5" if alg.upper().startswith("MD5") else "sha256"
    return hashlib.new(name, s.encode()).hexdigest()


def _parse_digest(value):
    # Enough of RFC 9110's auth-param syntax for what clients send.
    if not value.startswith("Digest "):
        return None
    s, i, out = value[7:], 0, {}
    while i < len(s):
        while i < len(s) and s[i] in " ,":
            i += 1
        j = s.find("=", i)
        if j < 0:
            break
        k = s[i:j].strip().lower()
        i = j + 1
        if i < len(s) and s[i] == '"':
            i += 1
            v = []
            while i < len(s) and s[i] != '"':
                if s[i] == "\\":
                    i += 1
                v.append(s[i])
                i += 1
            i += 1
            out[k] = "".join(v)
        else:
            j = s.find(",", i)
            j = len(s) if j < 0 else j
            out[k] = s[i:j].strip()
            i = j
    return out


async def digest_auth(request):
    qop, user, pw, alg = (request.match_info[k] for k in ("qop", "user", "pass", "alg"))
    realm = "corio@test"

    def challenge(stale=False):
        nonce = os.urandom(16).hex()
        NONCES[nonce] = 0
        parts = [f'realm="{realm}"', f'nonce="{nonce}"', f"algorithm={alg}",
                 'opaque="0pa9ue"']
        if qop != "none":
            parts.append(f'qop="{qop}"')
        if stale:
            parts.append("stale=true")
        return web.Response(status=401, headers={
            "WWW-Authenticate": "Digest " + ", ".join(parts)})

    a = _parse_digest(request.headers.get("Authorization", ""))
    if a is not None and a.get("nonce") in EXPIRED:
        return challenge(stale=True)  # RFC 7616 3.3: a nonce past its life
    if a is None or a.get("nonce") not in NONCES:
        return challenge()
    if a.get("username") != user or a.get("realm") != realm or \
            a.get("opaque") != "0pa9ue" or a.get("algorithm", "MD5") != alg:
        return challenge()
    uri = request.path_qs
    if a.get("uri") != uri:
        return web.Response(status=400, text="uri mismatch")
    ha1 = _h(alg, f"{user}:{realm}:{pw}")
    if alg.endswith("-sess"):
        ha1 = _h(alg, f"{ha1}:{a['nonce']}:{a.get('cnonce', '')}")
    ha2 = _h(alg, f"{request.method}:{uri}")
    if qop == "none":
        want = _h(alg, f"{ha1}:{a['nonce']}:{ha2}")
    else:
        nc = int(a.get("nc", "0"), 16)
        if nc <= NONCES[a["nonce"]]:
            return challenge(stale=True)  # replayed nc
        NONCES[a["nonce"]] = nc
        want = _h(alg, f"{ha1}:{a['nonce']}:{a['nc']}:{a['cnonce']}:{a['qop']}:{ha2}")
    if a.get("response") != want:
        return challenge()
    return web.json_response({"authenticated": True, "user": user, "nc": a.get("nc")})


async def digest_expire(request):
    # Every nonce issued so far expires: answers with them get stale=true.
    EXPIRED.update(NONCES)
    NONCES.clear()
    return web.json_response({"expired": len(EXPIRED)})


async def retry_after(request):
    key = request.query.get("key", "default")
    CALLS[key] = CALLS.get(key, 0) + 1
    if CALLS[key] < int(request.match_info["n"]):
        return web.Response(status=503, headers={"Retry-After": request.query.get("after", "0")})
    return web.json_response({"calls": CALLS[key]})


async def calls(request):
    return web.json_response({"calls": CALLS.get(request.query.get("key", "default"), 0)})


async def redirect_n(request):
    n = int(request.match_info["n"])
    loc = "/anything" if n <= 1 else f"/redirect/{n - 1}"
    return web.Response(status=302, headers={"Location": loc})


async def redirect_to(request):
    return web.Response(status=int(request.query.get("status", "302")),
                        headers={"Location": request.query["url"]})


async def cross_origin(request):
    here = request.url.port
    other = PORTS[1] if here == PORTS[0] else PORTS[0]
    path = request.query.get("path", "/headers")
    return web.Response(status=int(request.query.get("status", "302")),
                        headers={"Location": f"http://127.0.0.1:{other}{path}"})


async def gz(request):
    body = gzip.compress(json.dumps({"gzipped": True}).encode())
    return web.Response(body=body, headers={"Content-Encoding": "gzip",
                                            "Content-Type": "application/json"})


def make_app():
    app = web.Application(client_max_size=64 * 1024 * 1024)
    r = app.router
    r.add_get("/json", hello)
    r.add_route("*", "/anything", echo)
    r.add_route("*", "/anything/{tail:.*}", echo)
    r.add_get("/headers", headers)
    r.add_get("/delay/{ms}", delay)
    r.add_route("*", "/status/{code}", status)
    r.add_get("/cookies/set", cookies_set)
    r.add_get("/cookies", cookies)
    r.add_post("/form", form)
    r.add_post("/multipart", multipart)
    r.add_get("/basic-auth/{user}/{pass}", basic_auth)
    r.add_get("/bearer/{token}", bearer)
    r.add_route("*", "/digest-auth/{qop}/{user}/{pass}/{alg}", digest_auth)
    r.add_post("/digest-expire", digest_expire)
    r.add_route("*", "/retry-after/{n}", retry_after)
    r.add_get("/calls", calls)
    r.add_get("/redirect/{n}", redirect_n)
    r.add_route("*", "/redirect-to", redirect_to)
    r.add_route("*", "/cross-origin", cross_origin)
    r.add_get("/gzip", gz)
    return app


async def main():
    ssl_ctx = None
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        import ssl
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    for _ in range(2):
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_ctx)
        await site.start()
        PORTS.append(site._server.sockets[0].getsockname()[1])
    print(f"{PORTS[0]} {PORTS[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # Exit when the test process goes away (stdin closes).
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
