#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/server/bench.py: the driver behind bench/server/run (read it first).

Starts each server pinned to SRV_CPU on a free 127.0.0.1 port, runs wrk
pinned to CLI_CPU, reads the server's utime+stime from /proc/PID/stat (all
its processes: nginx master + worker) before and after each wrk run, and the
CPU every other user process used meanwhile (noise). Then, for each server
freshly started, holds N_IDLE idle keep-alive connections with the lead's
idle_conns.py and reports the RSS delta per connection. Every server is
stopped by its PID; every client run has a hard timeout.
"""
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time

SECS = int(os.environ.get("SECS", "3"))
SERVERS = os.environ.get("SERVERS", "corio nginx h2o floor aiohttp").split()
N_IDLE = int(os.environ.get("N_IDLE", "10000"))
TRIES = int(os.environ.get("TRIES", "1"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SRV_CPU = os.environ.get("SRV_CPU", "0")
CLI_CPU = os.environ.get("CLI_CPU", "1")
PEERS = os.environ["PEERS"]
TMP = os.environ["TMP"]
CORIO = os.environ.get("CORIO", "")
FLOOR = os.environ["FLOOR"]
OUT = os.environ.get("OUT", "")
HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
CLK = os.sysconf("SC_CLK_TCK")
NOISE_MAX = 0.05  # foreign CPU above 5% of the run's wall time: noisy
JSON_BODY = '{"message":"Hello, World!"}'
HELLO = "Hello, World!"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(port):
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def write_configs(port):
    """nginx and h2o configs like the lead's peers/setup.sh, plus /json."""
    d = os.path.join(TMP, f"peers{port}")
    os.makedirs(os.path.join(d, "nginx"), exist_ok=True)
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    with open(os.path.join(d, "www", "hello.txt"), "w") as f:
        f.write(HELLO)
    with open(os.path.join(d, "www", "hello.json"), "w") as f:
        f.write(JSON_BODY)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
error_log {d}/nginx/error.log warn;
pid {d}/nginx/nginx.pid;
events {{ worker_connections 20000; use epoll; }}
http {{
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_body_temp_path {d}/nginx/body;
  proxy_temp_path {d}/nginx/proxy;
  fastcgi_temp_path {d}/nginx/fastcgi;
  uwsgi_temp_path {d}/nginx/uwsgi;
  scgi_temp_path {d}/nginx/scgi;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      default_type text/plain;
      return 200 "{HELLO}";
    }}
    location = /json {{
      default_type application/json;
      return 200 '{JSON_BODY}';
    }}
  }}
}}
""")
    with open(os.path.join(d, "h2o.conf"), "w") as f:
        f.write(f"""num-threads: 1
max-connections: 20000
http1-request-timeout: 300
error-log: {d}/h2o-error.log
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  default:
    paths:
      /json:
        file.file: {d}/www/hello.json
      /:
        file.file: {d}/www/hello.txt
""")
    return d


def argv_for(name, port):
    d = write_configs(port) if name in ("nginx", "h2o") else None
    return {
        "corio": [CORIO, f"127.0.0.1:{port}"],
        "nginx": ["nginx", "-c", f"{d}/nginx.conf", "-p", f"{d}/nginx/"],
        "h2o": ["h2o", "-c", f"{d}/h2o.conf"],
        "floor": [FLOOR, str(port)],
        "aiohttp": [PY, os.path.join(HERE, "aiohttp_server.py"), str(port)],
    }[name]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    def __init__(self, name):
        self.name = name
        self.port = free_port()
        self.log = open(os.path.join(TMP, f"{name}.log"), "ab")
        self.proc = subprocess.Popen(["taskset", "-c", SRV_CPU] + argv_for(name, self.port),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=raise_nofile)
        t0 = time.time()
        while not port_open(self.port):
            if self.proc.poll() is not None or time.time() - t0 > 15:
                self.stop()
                with open(os.path.join(TMP, f"{name}.log")) as f:
                    sys.stderr.write(f.read()[-2000:])
                raise RuntimeError(f"server {name} failed to start")
            time.sleep(0.05)
        time.sleep(0.3)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def pids(self):
        out, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo += [int(x) for x in f.read().split()]
            except OSError:
                pass
        return out

    def rss_kib(self):
        tot = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            tot += int(line.split()[1])
            except OSError:
                pass
        return tot

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # by PID, never by name
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def proc_ticks():
    """pid -> (utime+stime ticks, kernel thread?, utime ticks) for every process"""
    d = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            fl = st[st.rindex(")") + 2:].split()
            d[int(pid)] = (int(fl[11]) + int(fl[12]), fl[1] == "2" or pid == "2", int(fl[11]))
        except (OSError, ValueError, IndexError):
            pass
    return d


def user_ticks():
    """machine-wide user+nice ticks"""
    with open("/proc/stat") as f:
        v = f.readline().split()
    return int(v[1]) + int(v[2])


def to_ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\b", out, re.M)
    r["p99_ms"] = to_ms(*m.groups()) if m else None
    if r["p99_ms"] == 0:
        r["p99_ms"] = None  # wrk prints 0 when it kept no latency samples (pipelined runs)
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else None
    r["errors"] = bool(re.search(r"Socket errors|Non-2xx", out))
    return r


def run_wrk(srv, argv, timeout):
    """one wrk run (retried while noisy, up to TRIES): the cleanest attempt"""
    best = None
    for attempt in range(TRIES):
        spids = set(srv.pids())
        b = proc_ticks()
        u0 = user_ticks()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        try:
            cp = subprocess.run(["taskset", "-c", CLI_CPU] + argv, capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL)
            out = cp.stdout + cp.stderr
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            out += "\n@@TIMEOUT"
        wall = time.time() - t0
        a = proc_ticks()
        u1 = user_ticks()
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = os.getpid()
        scpu = sum(a[p][0] - b[p][0] for p in spids if p in a and p in b) / CLK
        suser = sum(a[p][2] - b[p][2] for p in spids if p in a and p in b) / CLK
        # Other processes that lived through the run, plus the machine's user
        # time not explained by the server and wrk (catches short-lived
        # processes such as compiler jobs; 3 ticks of slack).
        foreign = sum((t - b[p][0]) / CLK for p, (t, kt, _) in a.items()
                      if not kt and p not in spids and p != me and p in b)
        wrk_user = c1.ru_utime - c0.ru_utime
        foreign = max(foreign, (u1 - u0) / CLK - suser - wrk_user - 3.0 / CLK)
        r = parse_wrk(out)
        r.update(server_cpu_s=scpu, foreign_cpu_s=round(foreign, 3), wall_s=round(wall, 2),
                 attempt=attempt, raw=out)
        if r["requests"]:
            r["us_per_req"] = scpu / r["requests"] * 1e6
            r["user_us_per_req"] = suser / r["requests"] * 1e6
        if best is None or r["foreign_cpu_s"] < best["foreign_cpu_s"]:
            best = r
        if foreign <= NOISE_MAX * wall:
            break
        print(f"   noisy run (foreign cpu {foreign:.2f}s in {wall:.1f}s)", flush=True)
        time.sleep(2)
    best["noisy"] = best["foreign_cpu_s"] > NOISE_MAX * best["wall_s"]
    return best


def check_body(srv, path, want):
    """the server answers path with want (so every row serves the same bytes)"""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m and len(body) >= int(m.group(1)):
                break
        try:
            d = s.recv(65536)
        except OSError:
            break
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200") and body == want.encode()
    if not ok:
        print(f"   {srv.name} {path}: unexpected response {data[:300]!r}", flush=True)
    return ok


LOADS = [("c64", ["-c64", "--latency"]), ("c256", ["-c256", "--latency"]),
         ("p16", ["-c64", "--latency", "-s", os.path.join(HERE, "pipeline16.lua")])]
PATHS = [("hello", "/", HELLO), ("json", "/json", JSON_BODY)]
# TESTS="hello" / LOADSEL="c64 c256" narrow a run to some cells.
PATHS = [p for p in PATHS if p[0] in os.environ.get("TESTS", "hello json").split()]
LOADS = [l for l in LOADS if l[0] in os.environ.get("LOADSEL", "c64 c256 p16").split()]


def bench_loads(rows):
    """every server started at once (pinned to SRV_CPU; an idle one costs
    nothing), then ROUNDS rounds; in each round every cell runs once per
    server, the servers' order rotating from round to round, so a slow spell
    of the machine lands on all of them alike. Each cell reports the median
    of its rounds; the ratios are medians of the per-round ratios (paired)."""
    servers = []
    for name in SERVERS:
        if name == "corio" and not CORIO:
            continue
        try:
            servers.append(Server(name))
        except RuntimeError as e:
            print("  ", e, flush=True)
    try:
        ok = {}
        for srv in servers:
            subprocess.run(["taskset", "-c", CLI_CPU, "wrk", "-t1", "-c64", "-d1s", srv.url("/")],
                           capture_output=True, timeout=30)
            for test, path, want in PATHS:
                ok[(srv.name, test)] = not (srv.name == "floor" and test == "json") and \
                    check_body(srv, path, want)
        per = {}
        for rnd in range(ROUNDS):
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)] if servers else []
            for test, path, _ in PATHS:
                for load, extra in LOADS:
                    for srv in order:
                        if not ok[(srv.name, test)]:
                            continue
                        argv = ["wrk", "-t1", f"-d{SECS}s"] + extra + [srv.url(path)]
                        r = run_wrk(srv, argv, timeout=SECS + 30)
                        r.update(server=srv.name, test=test, load=load, round=rnd,
                                 cmd=f"taskset -c {CLI_CPU} " + " ".join(argv))
                        print(f"  r{rnd} {test:5} {load:4} {srv.name:8} {r['rps'] or 0:>10.0f} req/s  "
                              f"p99 {r['p99_ms'] if r['p99_ms'] is not None else float('nan'):7.2f} ms  "
                              f"{r.get('us_per_req', float('nan')):6.2f} us/req "
                              f"(user {r.get('user_us_per_req', float('nan')):5.2f})  "
                              f"foreign {r['foreign_cpu_s']:.2f}s{'  NOISY' if r['noisy'] else ''}"
                              f"{'  ERRORS' if r['errors'] else ''}", flush=True)
                        per.setdefault((test, load, srv.name), []).append(r)
        for (test, load, name), rs in per.items():
            rows.append(median_row(rs))
        return per
    finally:
        for srv in servers:
            srv.stop()


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def median_row(rs):
    """one cell: the median of each figure over its rounds"""
    r = dict(rs[0])
    for k in ("rps", "p99_ms", "us_per_req", "user_us_per_req", "foreign_cpu_s"):
        r[k] = med([x.get(k) for x in rs])
    r["noisy"] = sum(1 for x in rs if x["noisy"]) * 2 > len(rs)
    r["errors"] = any(x["errors"] for x in rs)
    r["rounds"] = len(rs)
    r["all_us_per_req"] = [x.get("us_per_req") for x in rs]
    r["all_p99_ms"] = [x.get("p99_ms") for x in rs]
    return r


def paired(per, a_key, b_key, k):
    """median over rounds of a[k] / b[k], both measured in the same round"""
    a = {x["round"]: x.get(k) for x in per.get(a_key, [])}
    b = {x["round"]: x.get(k) for x in per.get(b_key, [])}
    return med([a[i] / b[i] for i in a if i in b and a[i] is not None and b[i]])


def bench_idle(rows):
    idle = os.path.join(PEERS, "src", "idle_conns.py")
    for name in SERVERS:
        if name == "corio" and not CORIO:
            continue
        try:
            srv = Server(name)
        except RuntimeError as e:
            print("  ", e, flush=True)
            continue
        with srv:
            subprocess.run(["taskset", "-c", CLI_CPU, "wrk", "-t1", "-c8", "-d1s", srv.url("/")],
                           capture_output=True, timeout=30)
            time.sleep(0.5)
            before = srv.rss_kib()
            cli = subprocess.Popen(["taskset", "-c", CLI_CPU, PY, idle, "127.0.0.1",
                                    str(srv.port), str(N_IDLE)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, preexec_fn=raise_nofile)
            n_open = None
            t0 = time.time()
            while time.time() - t0 < 100:
                line = cli.stdout.readline()
                if not line:
                    break
                if line.startswith("READY"):
                    n_open = int(line.split()[1])
                    break
            time.sleep(2)
            after = srv.rss_kib()
            try:
                cli.stdin.write("close\n")
                cli.stdin.flush()
                cli.wait(timeout=60)
            except Exception:
                cli.kill()
                cli.wait()
            r = {"server": name, "conns": n_open, "rss_before_kib": before, "rss_after_kib": after,
                 "bytes_per_conn": (after - before) * 1024 / n_open if n_open else None}
            print(f"  idle {name:8} {n_open} conns  RSS {before} -> {after} KiB  "
                  f"{r['bytes_per_conn'] or float('nan'):.0f} B/conn", flush=True)
            rows.append(r)


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or not b else a / b


def tables(rows, idle, per):
    by = {(r["test"], r["load"], r["server"]): r for r in rows}

    def pr(test, load, name, other_test, other, k):
        return paired(per, (test, load, name), (other_test, load, other), k)
    lines = []
    for test, path, _ in PATHS:
        lines.append(f"\n### {test} (`GET {path}`)\n")
        lines.append("| load | server | req/s | p99 ms | server µs/req | of which user | "
                     "µs/req ÷ nginx | µs/req ÷ floor | req/s ÷ nginx | p99 ÷ nginx | foreign CPU s |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for load, _ in LOADS:
            ng = by.get((test, load, "nginx"), {})
            fl = by.get(("hello", load, "floor"), {})
            for name in SERVERS:
                r = by.get((test, load, name))
                if not r:
                    continue
                u = r.get("us_per_req")
                flag = " (noisy)" if r["noisy"] else ""
                flag += " (errors)" if r["errors"] else ""
                lines.append(
                    f"| {load} | {name}{flag} | {fmt(r['rps'], '.0f')} | {fmt(r['p99_ms'], '.2f')} | "
                    f"{fmt(u, '.2f')} | {fmt(r.get('user_us_per_req'), '.2f')} | "
                    f"{fmt(pr(test, load, name, test, 'nginx', 'us_per_req'), '.2f')} | "
                    f"{fmt(pr(test, load, name, 'hello', 'floor', 'us_per_req'), '.2f')} | "
                    f"{fmt(pr(test, load, name, test, 'nginx', 'rps'), '.2f')} | "
                    f"{fmt(pr(test, load, name, test, 'nginx', 'p99_ms'), '.2f')} | "
                    f"{r['foreign_cpu_s']:.2f} |")
    # The issue's targets, checked on this run's figures (corio vs peers).
    def get(test, load, name, k):
        return by.get((test, load, name), {}).get(k)
    checks = []
    for test, _, _ in PATHS:
        for load, _ in LOADS:
            if load == "p16":
                continue
            checks.append((f"{test} {load}: server CPU/req ≤ 0.9× nginx",
                           pr(test, load, "corio", test, "nginx", "us_per_req"), 0.9))
            checks.append((f"{test} {load}: server CPU/req ≤ 1.1× floor",
                           pr(test, load, "corio", "hello", "floor", "us_per_req"), 1.1))
        if any(l[0] == "p16" for l in LOADS):
            checks.append((f"{test} p16: req/s ≥ 4× nginx (shown as nginx ÷ corio ≤ 0.25)",
                           pr(test, "p16", "nginx", test, "corio", "rps"), 0.25))
        if any(l[0] == "c256" for l in LOADS):
            checks.append((f"{test} c256: p99 ≤ nginx's",
                           pr(test, "c256", "corio", test, "nginx", "p99_ms"), 1.0))
    mem = {r["server"]: r["bytes_per_conn"] for r in idle}
    checks.append(("idle keep-alive connection ≤ 1 KiB (bytes ÷ 1024)",
                   ratio(mem.get("corio"), 1024), 1.0))
    lines.append("\n### Targets (issue 5), on this run\n")
    lines.append("| target | measured ratio | limit | verdict |")
    lines.append("|---|---|---|---|")
    for what, v, lim in checks:
        verdict = "-" if v is None else ("met" if v <= lim else "missed")
        lines.append(f"| {what} | {fmt(v, '.2f')} | {lim} | {verdict} |")
    lines.append(f"\n### Memory per idle keep-alive connection ({N_IDLE} held)\n")
    lines.append("| server | conns held | RSS before KiB | RSS after KiB | bytes/conn | ÷ nginx |")
    lines.append("|---|---|---|---|---|---|")
    ng = next((r for r in idle if r["server"] == "nginx"), {})
    for r in idle:
        lines.append(f"| {r['server']} | {r['conns']} | {r['rss_before_kib']} | {r['rss_after_kib']} | "
                     f"{fmt(r['bytes_per_conn'], '.0f')} | "
                     f"{fmt(ratio(r['bytes_per_conn'], ng.get('bytes_per_conn')), '.2f')} |")
    return "\n".join(lines)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"


def main():
    t0 = time.time()
    load0 = sh("cut -d' ' -f1-3 /proc/loadavg")
    print(f"bench/server: {ROUNDS} rounds of {SECS}s per cell, servers: {' '.join(SERVERS)}",
          flush=True)
    rows, idle = [], []
    per = bench_loads(rows)
    if N_IDLE > 0:
        bench_idle(idle)
    body = tables(rows, idle, per)
    print(body)
    total = time.time() - t0
    print(f"\ntotal {total:.0f} s", flush=True)
    if not OUT:
        return
    commit = sh(f"git -C {os.environ['ROOT']} rev-parse --short HEAD")
    ngv = sh("nginx -v 2>&1")
    h2v = sh("h2o --version 2>&1 | head -1")
    wrkv = sh("wrk -v 2>&1 | head -1")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
    noisy = sum(1 for r in rows if r["noisy"])
    foreign = sum(r["foreign_cpu_s"] for r in rows)
    with open(OUT, "w") as f:
        f.write(f"""# corio HTTP/1.1 server benchmark

Written by `bench/server/run` (one run; the driver is `bench/server/bench.py`).
Compare ratios measured in one run; absolute figures move with the machine
and its load. **Noise caveat:** this machine has 2 cores shared with other
helpers building and testing; the "foreign CPU" column is the CPU other
processes used during each wrk run ({foreign:.1f} s summed; {noisy} of
{len(rows)} runs above 5% of their wall time are marked "noisy"; the target
verdicts of noisy runs are indicative only).

- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; run took {total:.0f} s
- machine: {cpu}, {os.cpu_count()} cpus; load average before / after: {load0} / {sh("cut -d' ' -f1-3 /proc/loadavg")}
- corio: commit {commit}; `{CORIO or 'not built'}` (1 worker, router with "/" and "/json")
- peers: {ngv} (1 worker); {h2v} (1 thread); epoll floor (`{PEERS}/src/epoll_hello.c`, cc -O2); aiohttp 3.8 (`bench/server/aiohttp_server.py`, no access log); {wrkv}
- method: server on cpu {SRV_CPU}, wrk on cpu {CLI_CPU} (`taskset`), 127.0.0.1, `wrk -t1 -d{SECS}s`
  with `-c64 --latency`, `-c256 --latency`, or `-c64 -s bench/server/pipeline16.lua`
  (16 pipelined requests per write); server µs/req = utime+stime delta of all
  the server's processes over the wrk run (`/proc/PID/stat`) / requests completed.
  All servers run at once; {ROUNDS} rounds, each running every cell once per
  server with the servers' order rotating; a cell shows the median over its
  rounds and every ratio is the median of the per-round ratios (both servers
  measured in the same round). "of which user" is the utime part. TRIES={TRIES}. The floor answers every request with the hello
  body, so its hello figure is the floor for both tables. Idle memory: each server
  freshly started, warmed with `wrk -c8 -d1s`, then `{PEERS}/src/idle_conns.py`
  holds {N_IDLE} keep-alive connections; RSS delta (all server processes) / N.
  The kernel's own socket memory is not included.
{body}
""")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
