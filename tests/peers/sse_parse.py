# SPDX-License-Identifier: MIT
"""An SSE stream parser following WHATWG HTML 9.2.6 (as browsers do), shared
by sse_aiohttp.py and sse_httpx.py. Prints one line per dispatched event:
event|last-event-id|retry|data, with LF in data shown as \\n."""
import re


class SSE:
    def __init__(self):
        self.buf = ""
        self.event = ""
        self.data = []
        self.last_id = ""
        self.retry = ""
        self.out = []

    def feed(self, text):
        self.buf += text
        # Lines end in CRLF, LF or CR; keep a trailing CR (maybe CRLF split).
        parts = re.split(r"\r\n|\n|\r(?!$)", self.buf)
        self.buf = parts.pop()
        for line in parts:
            self.line(line)

    def line(self, line):
        if line == "":
            if self.data:
                self.out.append("%s|%s|%s|%s" % (self.event or "message", self.last_id,
                                                 self.retry, "\\n".join(self.data)))
            self.event, self.data, self.retry = "", [], ""
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry = value
