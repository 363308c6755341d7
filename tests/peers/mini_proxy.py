#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A minimal HTTP forward proxy for corio's client tests (nginx cannot
CONNECT). Listens on 127.0.0.1:0 and prints its port on stdout.

  - "CONNECT host:port HTTP/1.1": opens a TCP connection to host:port,
    answers 200 and relays bytes both ways (the TLS tunnel);
  - "GET http://host:port/path HTTP/1.1" (absolute-form): forwards the
    request in origin-form with "Connection: close" (Proxy-Authorization
    and Proxy-Connection removed) and relays the answer, then closes.

--tls CERT KEY makes it an https:// proxy: clients speak TLS to it (then
absolute-form or CONNECT inside that TLS); the log gets "sni=NAME" (the
client's server name, "None" without one) at each handshake.
--auth USER:PASS requires "Proxy-Authorization: Basic ..." (407 otherwise).
--log FILE appends one line per request: the request line, then
"auth=yes|no" (whether Proxy-Authorization was sent).
Exits when stdin closes or on SIGTERM.
"""
import argparse
import asyncio
import base64
import os
import signal
import sys


async def relay(r, w, first=None):
    """Copies r to w until EOF, then closes w; first(bytes), if given, sees
    the first chunk (socks5_server.py logs it)."""
    try:
        while True:
            b = await r.read(65536)
            if not b:
                break
            if first is not None:
                first(b)
                first = None
            w.write(b)
            await w.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            w.close()
        except Exception:
            pass


def make_handler(args):
    want = None
    if args.auth:
        want = "Basic " + base64.b64encode(args.auth.encode()).decode()

    async def handle(cr, cw):
        try:
            head = await cr.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            cw.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        fields = [l for l in lines[1:] if l]
        auth = None
        for f in fields:
            k, _, v = f.partition(":")
            if k.strip().lower() == "proxy-authorization":
                auth = v.strip()
        if args.log:
            with open(args.log, "a") as f:
                f.write(f"{lines[0]} auth={'yes' if auth else 'no'}\n")
        if want is not None and auth != want:
            cw.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                     b"Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
                     b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await cw.drain()
            cw.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            try:
                ur, uw = await asyncio.open_connection(host.strip("[]"), int(port))
            except OSError:
                cw.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                await cw.drain()
                cw.close()
                return
            cw.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await cw.drain()
            await asyncio.gather(relay(cr, uw), relay(ur, cw))
            return
        if not target.startswith("http://"):
            cw.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await cw.drain()
            cw.close()
            return
        rest = target[len("http://"):]
        hostport, slash, path = rest.partition("/")
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "80")
        body = b""
        cl = 0
        out = [f"{method} /{path} {version}"]
        for f in fields:
            k, _, v = f.partition(":")
            lk = k.strip().lower()
            if lk in ("proxy-authorization", "proxy-connection", "connection"):
                continue
            if lk == "content-length":
                cl = int(v)
            out.append(f)
        out.append("Connection: close")
        if cl:
            body = await cr.readexactly(cl)
        ur, uw = await asyncio.open_connection(host, int(port))
        uw.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        await uw.drain()
        await relay(ur, cw)
        uw.close()

    return handle


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auth")
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    ssl_ctx = None
    if args.tls:
        import ssl
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(args.tls[0], args.tls[1])

        def sni(_sock, name, _ctx):
            if args.log:
                with open(args.log, "a") as f:
                    f.write(f"sni={name}\n")
        ssl_ctx.sni_callback = sni
    srv = await asyncio.start_server(make_handler(args), "127.0.0.1", 0,
                                     ssl=ssl_ctx)
    await serve_until_stopped(srv)


async def serve_until_stopped(srv):
    """Prints the port, serves until stdin closes or SIGTERM."""
    print(srv.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(),
                    lambda: stop.set() if not os.read(sys.stdin.fileno(), 1) else None)
    await stop.wait()
    srv.close()


if __name__ == "__main__":
    asyncio.run(main())
