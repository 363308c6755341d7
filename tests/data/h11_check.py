# SPDX-License-Identifier: MIT
"""Parses HTTP/1.1 messages written by corio with h11 and describes them.

Usage: h11_check.py FILE
FILE holds records, each a line "REQ <n>" or "RESP <method> <n>" followed
by n bytes of one message (a request, or the response to a request with
that method). For each record one line is printed:
  ok <start line> | H <name>=<value> ... | B <body> | T <name>=<value> ... | L <n>
(start line: "<method> <target> <version>" or "<status> <reason> <version>";
informational responses come first as "I <status> <reason>"; L is the
number of bytes h11 left unread) or "error <what h11 said>". Bytes outside
printable ASCII, '\\' and '|' are written as \\xNN, so that the C test can
build the same line.
"""
import sys

import h11


def esc(b):
    if isinstance(b, str):
        b = b.encode("latin-1")
    out = []
    for c in b:
        if 0x20 <= c < 0x7F and c not in (0x5C, 0x7C):
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def fields(tag, headers):
    return "".join(" %s %s=%s" % (tag, esc(n), esc(v))
                   for n, v in headers.raw_items())


def describe(conn, data):
    conn.receive_data(data)
    parts = []
    body = b""
    eof_sent = False
    while True:
        ev = conn.next_event()
        if ev is h11.NEED_DATA:
            if eof_sent:
                return "error incomplete message"
            conn.receive_data(b"")  # the message must end within data
            eof_sent = True
            continue
        if ev is h11.PAUSED:
            return "error paused before the end"
        if isinstance(ev, h11.Request):
            parts.append("%s %s %s |%s" % (esc(ev.method), esc(ev.target),
                                           esc(ev.http_version),
                                           fields("H", ev.headers)))
        elif isinstance(ev, h11.InformationalResponse):
            parts.append("I %d %s" % (ev.status_code, esc(ev.reason)))
        elif isinstance(ev, h11.Response):
            parts.append("%d %s %s |%s" % (ev.status_code, esc(ev.reason),
                                           esc(ev.http_version),
                                           fields("H", ev.headers)))
        elif isinstance(ev, h11.Data):
            body += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            left = len(conn.trailing_data[0])
            return "ok %s | B %s |%s | L %d" % (
                " ".join(parts), esc(body), fields("T", ev.headers), left)
        elif isinstance(ev, h11.ConnectionClosed):
            return "error connection closed"


def main():
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    pos = 0
    while pos < len(blob):
        nl = blob.index(b"\n", pos)
        head = blob[pos:nl].decode().split()
        n = int(head[-1])
        data = blob[nl + 1:nl + 1 + n]
        pos = nl + 1 + n
        try:
            if head[0] == "REQ":
                conn = h11.Connection(our_role=h11.SERVER)
            else:
                conn = h11.Connection(our_role=h11.CLIENT)
                conn.send(h11.Request(method=head[1], target="/",
                                      headers=[("Host", "corio.test")]))
                conn.send(h11.EndOfMessage())
            line = describe(conn, data)
        except h11.ProtocolError as e:
            line = "error " + esc(str(e))
        print(line, flush=True)


if __name__ == "__main__":
    main()
