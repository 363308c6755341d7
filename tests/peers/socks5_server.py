#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small SOCKS5 server (RFC 1928, RFC 1929 auth) for corio's client tests.
Standard library only. Listens on 127.0.0.1:0 and prints its port on stdout.

Serves CONNECT: opens a TCP connection to the destination (a domain name,
ATYP 3, is resolved here), answers success with the bound address and
relays bytes both ways.

  --auth USER:PASS  require username/password (method 2); without it
                    only "no authentication" (method 0) is accepted
  --log FILE        append one line per handshake:
                    "methods=0,2 method=2 user=U pass=P atyp=3 dest=HOST:PORT"
                    (user/pass "-" when none; written once the request is
                    read, or at the step where the handshake ended), then
                    "first=<request line>" (or "first=tls") with the first
                    bytes the client sends through the tunnel
  --listen ADDR     the address to listen on (default 127.0.0.1; ::1 too)
  --reply N         answer every CONNECT with reply code N (no connection);
                    N = -1: the destination port is the code
  --garbage MODES   misbehave instead of answering; a comma-separated list
                    applies to successive connections (the last one stays):
      method-short   1 byte of the method reply, then close
      method-version a method reply with version 4
      http           "HTTP/1.1 400 Bad Request" to the greeting
      silent         read the greeting, never answer (client times out)
      reply-short    a good method reply, then 3 bytes of the CONNECT reply
      reply-atyp     a CONNECT reply with address type 9
      reply-domain   a CONNECT reply announcing a 255-byte domain, 10 sent
      reply-silent   a good method reply, no CONNECT reply
      reply-extra    a good CONNECT reply followed by "junk" (before the
                     origin says anything)
Exits when stdin closes or on SIGTERM.
"""
import argparse
import asyncio
import ipaddress
import socket
import struct

from mini_proxy import relay, serve_until_stopped  # same directory


async def answer(cw, data):
    """Sends data and closes: every refusal and misbehaviour ends so."""
    cw.write(data)
    await cw.drain()
    cw.close()


def make_handler(args):
    want = args.auth.split(":", 1) if args.auth else None

    def log(rec):
        if args.log:
            with open(args.log, "a") as f:
                f.write(" ".join(f"{k}={v}" for k, v in rec.items()) + "\n")

    async def handle(cr, cw):
        rec = {"methods": "-", "method": "-", "user": "-", "pass": "-",
               "atyp": "-", "dest": "-"}
        try:
            await serve(cr, cw, rec)
        except (asyncio.IncompleteReadError, ConnectionError):
            log(rec)
            cw.close()

    modes = args.garbage.split(",") if args.garbage else [None]
    conns = [0]

    async def serve(cr, cw, rec):
        g = modes[min(conns[0], len(modes) - 1)]
        conns[0] += 1
        ver, n = await cr.readexactly(2)
        methods = list(await cr.readexactly(n))
        rec["methods"] = ",".join(str(m) for m in methods)
        if ver != 5:
            raise ConnectionError
        if g == "silent":
            log(rec)
            await cr.read()  # until the client gives up
            cw.close()
            return
        if g == "method-short":
            log(rec)
            await answer(cw, b"\x05")
            return
        if g == "method-version":
            log(rec)
            await answer(cw, b"\x04\x00")
            return
        if g == "http":
            log(rec)
            await answer(cw, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        m = 2 if want else 0
        if m not in methods:
            rec["method"] = 255
            log(rec)
            await answer(cw, b"\x05\xff")
            return
        rec["method"] = m
        cw.write(bytes([5, m]))
        await cw.drain()
        if m == 2:
            v, ul = await cr.readexactly(2)
            user = (await cr.readexactly(ul)).decode("latin-1")
            pl = (await cr.readexactly(1))[0]
            pw = (await cr.readexactly(pl)).decode("latin-1")
            rec["user"], rec["pass"] = user, pw
            if v != 1 or [user, pw] != want:
                log(rec)
                await answer(cw, b"\x01\x01")
                return
            cw.write(b"\x01\x00")
            await cw.drain()
        ver, cmd, _rsv, atyp = await cr.readexactly(4)
        rec["atyp"] = atyp
        if atyp == 1:
            host = str(ipaddress.IPv4Address(await cr.readexactly(4)))
        elif atyp == 4:
            host = str(ipaddress.IPv6Address(await cr.readexactly(16)))
        elif atyp == 3:
            ln = (await cr.readexactly(1))[0]
            host = (await cr.readexactly(ln)).decode("latin-1")
        else:
            log(rec)
            await answer(cw, b"\x05\x08\x00\x01\0\0\0\0\0\0")
            return
        (port,) = struct.unpack("!H", await cr.readexactly(2))
        rec["dest"] = f"{host}:{port}"
        log(rec)
        if g == "reply-silent":
            await cr.read()
            cw.close()
            return
        if g == "reply-short":
            await answer(cw, b"\x05\x00\x00")
            return
        if g == "reply-atyp":
            await answer(cw, b"\x05\x00\x00\x09\0\0\0\0\0\0")
            return
        if g == "reply-domain":
            await answer(cw, b"\x05\x00\x00\x03\xff" + b"a" * 10)
            return
        if args.reply is not None:
            code = port & 255 if args.reply < 0 else args.reply
            await answer(cw, bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))
            return
        if cmd != 1:
            await answer(cw, b"\x05\x07\x00\x01\0\0\0\0\0\0")
            return
        try:
            ur, uw = await asyncio.open_connection(host, port)
        except OSError:
            await answer(cw, b"\x05\x05\x00\x01\0\0\0\0\0\0")
            return
        bh, bp = uw.get_extra_info("sockname")[:2]
        fam = socket.AF_INET6 if ":" in bh else socket.AF_INET
        cw.write(bytes([5, 0, 0, 4 if fam == socket.AF_INET6 else 1]) +
                 socket.inet_pton(fam, bh) + struct.pack("!H", bp) +
                 (b"junk" if g == "reply-extra" else b""))
        await cw.drain()
        def first(b):
            # What the client sent first inside the tunnel: a TLS record,
            # or the request line (origin-form through SOCKS).
            line = "tls" if b[:1] == b"\x16" else \
                b.split(b"\r\n", 1)[0].decode("latin-1")
            log({"first": line})
        await asyncio.gather(relay(cr, uw, first), relay(ur, cw))

    return handle


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--auth")
    ap.add_argument("--log")
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--reply", type=int)
    ap.add_argument("--garbage")
    args = ap.parse_args()
    srv = await asyncio.start_server(make_handler(args), args.listen, 0)
    await serve_until_stopped(srv)

if __name__ == "__main__":
    asyncio.run(main())
