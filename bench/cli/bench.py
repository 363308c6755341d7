# SPDX-License-Identifier: MIT
"""bench/cli/bench.py: the body of bench/cli/run (read its header).

Runs each load generator against the epoll floor and tabulates client CPU
per request. Environment from run: TMP, CORIO, FLOOR, ROOT, OUT, PEERS,
SECS, TRIES, SRV_CPU, CLI_CPU.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

TMP = os.environ["TMP"]
CORIO = os.environ["CORIO"]
FLOOR = os.environ["FLOOR"]
ROOT = os.environ["ROOT"]
OUT = os.environ.get("OUT", "")
PEERS = os.environ.get("PEERS", "/work/shared/peers")
SECS = int(os.environ.get("SECS", "5"))
TRIES = int(os.environ.get("TRIES", "2"))
SRV_CPU = os.environ.get("SRV_CPU", "0")
CLI_CPU = os.environ.get("CLI_CPU", "1")
CLK = os.sysconf("SC_CLK_TCK")
FOREIGN_MAX = 0.05  # of a core, over the run's wall time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_ticks():
    """pid -> (utime+stime ticks, kernel thread?) for every process"""
    d = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            fl = st[st.rindex(")") + 2:].split()
            d[int(pid)] = (int(fl[11]) + int(fl[12]), fl[1] == "2" or pid == "2")
        except (OSError, ValueError, IndexError):
            pass
    return d


def run_client(argv, server_pid, timeout):
    """Runs argv pinned to CLI_CPU under /usr/bin/time; retries a noisy run.
    Returns (output, client_cpu_s, wall_s, server_cpu_s, foreign_cpu_s)."""
    cmd = ["taskset", "-c", CLI_CPU, "/usr/bin/time", "-f", "@@TIME %U %S %e"] + argv
    best = None
    for attempt in range(TRIES):
        b = proc_ticks()
        t0 = time.time()
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
            out = cp.stdout + cp.stderr
        except subprocess.TimeoutExpired as e:
            o = e.stdout or b""
            out = (o.decode() if isinstance(o, bytes) else o) + "\n@@TIMEOUT"
        wall = time.time() - t0
        a = proc_ticks()
        me = os.getpid()
        m = re.search(r"@@TIME ([\d.]+) ([\d.]+) ([\d.]+)", out)
        cpu = float(m.group(1)) + float(m.group(2)) if m else None
        scpu = (a.get(server_pid, (0, 0))[0] - b.get(server_pid, (0, 0))[0]) / CLK
        # processes that are neither the server nor us (the client has
        # exited, so its ticks are gone from /proc: nothing to subtract)
        foreign = sum(t - b.get(p, (0, 0))[0] for p, (t, kt) in a.items()
                      if not kt and p not in (server_pid, me)) / CLK
        r = (out, cpu, wall, scpu, round(foreign, 3))
        if best is None or r[4] < best[4]:
            best = r
        if foreign <= FOREIGN_MAX * wall:
            break
        print(f"   noisy run (foreign cpu {foreign:.2f}s in {wall:.1f}s), retrying", flush=True)
        time.sleep(2)
    return best


def to_us(v, unit):
    return float(v) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[unit]


def parse(kind, out):
    r = {"pct": {}}
    if kind == "corio":
        m = re.search(r"^\{.*\}\s*$", out, re.M | re.S)
        if m:
            d = json.loads(out[out.index("{"):out.rindex("}") + 1])
            r["requests"], r["rps"], r["errors"] = d["requests"], d["rps"], d["errors"]
            lat = d["latency_us"]
            for k, p in (("p50", 50), ("p75", 75), ("p90", 90), ("p99", 99),
                         ("p99_9", 99.9), ("p99_99", 99.99), ("max", 100)):
                r["pct"][p] = lat[k]
    elif kind == "wrk":
        m = re.search(r"(\d+) requests in", out)
        r["requests"] = int(m.group(1)) if m else None
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        r["rps"] = float(m.group(1)) if m else None
        e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        n2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        r["errors"] = (sum(map(int, e.groups())) if e else 0) + (int(n2.group(1)) if n2 else 0)
        for p in (50, 75, 90, 99):
            m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\b", out, re.M)
            if m:
                r["pct"][p] = to_us(*m.groups())
    elif kind == "h2load":
        m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
        if m:
            r["requests"] = int(m.group(3))
            r["errors"] = int(m.group(4)) + int(m.group(5))
        m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
        r["rps"] = float(m.group(1)) if m else None
    elif kind == "ab":
        m = re.search(r"Complete requests:\s+(\d+)", out)
        r["requests"] = int(m.group(1)) if m else None
        m = re.search(r"Requests per second:\s+([\d.]+)", out)
        r["rps"] = float(m.group(1)) if m else None
        m = re.search(r"Failed requests:\s+(\d+)", out)
        r["errors"] = int(m.group(1)) if m else None
        for p in (50, 75, 90, 99, 100):
            m = re.search(rf"^\s+{p}%\s+(\d+)", out, re.M)
            if m:
                r["pct"][p] = float(m.group(1)) * 1e3
    return r


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    srv = subprocess.Popen(["taskset", "-c", SRV_CPU, FLOOR, str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        if not wait_port(port):
            sys.exit("run: the epoll floor did not start")
        lua = os.path.join(PEERS, "src", "pipeline16.lua")
        d = f"{SECS}s"
        clients = [
            ("corio bench", "corio", [CORIO, "bench", "-c64", "-t1", f"-d{d}", "--json", "-q", url]),
            ("wrk", "wrk", ["wrk", "-t1", "-c64", f"-d{d}", "--latency", url]),
        ]
        if shutil.which("h2load"):
            clients.append(("h2load --h1", "h2load", ["h2load", "--h1", "-c64", "-t1", "-D", str(SECS), url]))
        # ab -k is left out: it keeps a connection alive only when the
        # response says "Connection: keep-alive", which the floor does not
        # (HTTP/1.1 needs no such header), so ab waits 30 s per response.
        clients.append(("corio bench -m16", "corio", [CORIO, "bench", "-c64", "-t1", "-m16", f"-d{d}", "--json", "-q", url]))
        if os.path.exists(lua):
            clients.append(("wrk pipeline16.lua", "wrk", ["wrk", "-t1", "-c64", f"-d{d}", "--latency", "-s", lua, url]))
        # warm the floor and the page cache of every binary
        run_client(["wrk", "-t1", "-c64", "-d1s", url], srv.pid, 30)
        for label, kind, argv in clients:
            out, cpu, wall, scpu, foreign = run_client(argv, srv.pid, SECS + 60)
            r = parse(kind, out)
            r.update({"client": label, "cmd": f"taskset -c {CLI_CPU} " + " ".join(argv),
                      "client_cpu_s": cpu, "wall_s": round(wall, 2),
                      "server_cpu_s": scpu, "foreign_cpu_s": foreign})
            n = r.get("requests") or 0
            r["client_us_per_req"] = cpu / n * 1e6 if cpu and n else None
            r["server_us_per_req"] = scpu / n * 1e6 if n else None
            rows.append(r)
            print(f"{label:20s} req/s {r.get('rps') or 0:10.0f}  client µs/req "
                  f"{r['client_us_per_req'] or 0:6.2f}  errors {r.get('errors')}  "
                  f"foreign {foreign:.2f}s", flush=True)
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()

    base = {r["client"]: r for r in rows}
    wrk = base.get("wrk", {}).get("client_us_per_req")
    wrkp = base.get("wrk pipeline16.lua", {}).get("client_us_per_req")
    lines = ["# `corio bench` against other load generators", "",
             f"Measured by `bench/cli/run` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): "
             f"target the epoll floor (`{PEERS}/src/epoll_hello.c`) pinned to cpu {SRV_CPU}, "
             f"each client pinned to cpu {CLI_CPU}, -c64, one thread, {SECS} s, one run each "
             "(a run with more than 5 % of a core of foreign CPU is retried). "
             "Client CPU = utime+stime of the client process. "
             "Ratios are against wrk in the same run; absolute figures from a "
             "shared 2-core machine are noisy.", "",
             "| client | req/s | client µs/req | ratio to wrk | server µs/req | errors | p50 | p99 | foreign CPU s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref = wrkp if "pipeline" in r["client"] or "-m16" in r["client"] else wrk
        c = r["client_us_per_req"]
        ratio = f"{c / ref:.2f}x" if c and ref else "-"
        p50 = r["pct"].get(50)
        p99 = r["pct"].get(99)
        lines.append(f"| {r['client']} | {r.get('rps') or 0:.0f} | {c or 0:.2f} | {ratio} | "
                     f"{r['server_us_per_req'] or 0:.2f} | {r.get('errors')} | "
                     f"{'%.0f µs' % p50 if p50 else '-'} | {'%.0f µs' % p99 if p99 else '-'} | "
                     f"{r['foreign_cpu_s']} |")
    lines += ["", "Pipelined rows (-m16, pipeline16.lua) are compared with each other. "
              "wrk's pipeline script sends 16 requests per write and counts "
              "each response; its latency runs from the batch's write.", "",
              "Commands:", ""] + [f"    {r['cmd']}" for r in rows]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if OUT:
        with open(OUT, "w") as f:
            f.write(text)
        with open(os.path.join(os.path.dirname(OUT), "results.json"), "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
