#!/usr/bin/env python3
# bench/http_bench.py — HTTP/1.1 keep-alive benchmark: Ballast (`protocol: http`) vs HAProxy
# `mode http` (`http-reuse always`) vs NGINX `proxy_pass` (upstream `keepalive 64`), one worker
# each, same two backends, same run; prints one table and appends it to docs/benchmarks.md.
#
# wrk (1 thread, 64 keep-alive connections, `--latency`) asks for a 64-byte response from
# bench/tools/http_backend (C++ epoll, two ports in one process). As in bench/l4_bench.py, whose
# process handling, CPU accounting and proxy classes this reuses, the proxy is pinned to CPU 1
# and wrk, the backends and this script share CPU 0. Every proxy runs without access logging.
#
# Environment:
#   BALLAST_BIN       Ballast binary (default: build/ballast)
#   BALLAST_IO        io backend(s) for Ballast, comma-separated: io_uring (default), epoll, or both
#   HTTP_BACKEND_BIN  prebuilt bench/tools/http_backend (default: compiled into build/bench-tools/)
#   WRK_BIN           wrk binary (default: wrk on PATH)
#   BALLAST_BASELINE_BIN  a second Ballast binary (say, the commit before a refactor) measured in
#                     the same run, as extra rows labelled "baseline"
#   BENCH_QUICK=1     1 s runs instead of 5 s; figures are noisy
#   BENCH_PROXIES     subset to run, comma-separated (default: ballast,haproxy,nginx)
#   BENCH_RECORD=0    print the table only; do not append to docs/benchmarks.md
#   BENCH_BACKEND=nginx  the two backends are one NGINX (two ports, a static body) instead of
#                     http_backend: HAProxy's and Ballast's costs differ between the two
#   BENCH_BODY_BYTES  response body size (default 64; 16384 for the 16 KiB case)
#   BENCH_UPLOAD_BYTES  request body size: wrk POSTs this many bytes with Content-Length
#                     (default 0, GET). With either body at 1 MiB or more the table adds
#                     Gbit/s and proxy CPU s per GB of body (the bulk HTTP case, #19)
#   BENCH_CONNECTIONS wrk connections (default 64; fewer for bulk bodies)
#   BALLAST_IO=…-copy  (io_uring-copy, epoll-copy) Ballast with BALLAST_SPLICE=off, beside it
#   BENCH_PROXIES=…,haproxy-splice  adds HAProxy with `option splice-auto`
# Python standard library only.

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True  # importing the L4 bench must not litter bench/__pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))
import l4_bench as l4  # noqa: E402  (shared: Procs, Window, readiness waits, proxy classes)

REPO = l4.REPO
BACKEND_SRC = REPO / "bench" / "tools" / "http_backend.cpp"

QUICK = os.environ.get("BENCH_QUICK") == "1"
PROXY_CPU, LOAD_CPU = l4.PROXY_CPU, l4.LOAD_CPU

RUNS = 3  # the table shows the median
RUN_SECONDS = 1 if QUICK else 5
WARMUP_SECONDS = 1  # wrk's -d takes whole seconds; fills the proxies' upstream pools
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
# What the backends answer; checked through each proxy before and after.
BODY_BYTES = int(os.environ.get("BENCH_BODY_BYTES", "64"))
UPLOAD_BYTES = int(os.environ.get("BENCH_UPLOAD_BYTES", "0"))
BULK_BYTES = BODY_BYTES + UPLOAD_BYTES  # body bytes through the proxy per request
BULK = max(BODY_BYTES, UPLOAD_BYTES) >= 1 << 20
BACKEND_KIND = os.environ.get("BENCH_BACKEND", "http_backend")
WRK_TIMEOUT_S = 60  # wall-clock cap on one wrk process beyond its -d


def log(msg):
    print(f"[http_bench] {msg}", file=sys.stderr, flush=True)


# ---- proxies: the L4 classes, with HTTP configs ----------------------------------------------


class Ballast(l4.Ballast):
    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-http.yaml"
        # level warn suppresses the info-level `http.access` line per request. (A listener
        # `access_log` key exists in the config structs but the loader rejects it as unknown.)
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - {{name: bench, bind: "127.0.0.1:{listen_port}", protocol: http, pool: backends}}
pools:
  - name: backends
    backends: [{servers}]
""")
        prefix = ["env", "BALLAST_SPLICE=off"] if self.copy_only else []  # env execs: same pid
        return prefix + [self.binary, "run", "-c", cfg]


class HAProxy(l4.HAProxy):
    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"  server b{i} 127.0.0.1:{b}" for i, b in enumerate(backends))
        cfg = tmp / "haproxy-http.cfg"
        # No `log` line and no `option httplog`: no access logging. Keep-alive on both sides is
        # the 2.x default; `http-reuse always` shares idle server connections between clients.
        # maxconn and "no strict-limits" as in the L4 bench (never the limit here).
        cfg.write_text(f"""global
  nbthread 1
  maxconn {l4.PROXY_MAX_CONNECTIONS}
  no strict-limits

defaults
  mode http
  timeout connect 5s
  timeout client 1m
  timeout server 1m

listen bench
  bind 127.0.0.1:{listen_port}
  balance roundrobin
  http-reuse always
{"  option splice-auto" if self.splice else ""}
{servers}
""")
        return ["haproxy", "-f", cfg, "-db"]


class Nginx(l4.Nginx):
    def available(self):
        return None if shutil.which("nginx") else "nginx not installed"  # http is built in

    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"    server 127.0.0.1:{b};" for b in backends)
        cfg = tmp / "nginx-http.conf"
        # keepalive_requests (client and upstream) stays at its default of 1000: NGINX closes a
        # keep-alive connection after 1000 requests and wrk reconnects. Stock treatment, as for
        # the other proxies.
        cfg.write_text(f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {l4.PROXY_MAX_CONNECTIONS};
pid {tmp}/nginx.pid;
error_log stderr warn;

events {{
  worker_connections {l4.PROXY_MAX_CONNECTIONS};
}}

http {{
  access_log off;
  client_max_body_size 0;  # the upload case's 8 MiB bodies; NGINX refuses over 1 MiB by default
  upstream backends {{
{servers}
    keepalive {CONNECTIONS};
  }}
  server {{
    listen 127.0.0.1:{listen_port};
    location / {{
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
        return ["nginx", "-c", cfg, "-p", f"{tmp}/", "-e", "stderr"]


# ---- wrk -------------------------------------------------------------------------------------

_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"latency {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(out):
    """requests, req/s, p50/p99 ms, non-2xx/3xx count and socket errors from wrk --latency."""
    r = {"non2xx": 0, "errors": {}}
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", out, re.M)
    if not m:
        raise ValueError("no 'requests in' line")
    r["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s*([\d.]+)", out, re.M)
    if not m:
        raise ValueError("no 'Requests/sec' line")
    r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s*{pct}%\s+(\S+)", out, re.M)
        if not m:
            raise ValueError(f"no {pct}% latency line")
        r[key] = _ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"),
                                                  m.groups()) if int(v)}
    return r


# ---- bench -----------------------------------------------------------------------------------


def check_response(port, what, headers=None):
    """Two GETs on one connection through the proxy: 200, 64-byte body, connection kept."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        for i in range(2):
            conn.request("GET", "/", headers={"Host": "bench.local", **(headers or {})})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or len(body) != BODY_BYTES:
                raise l4.PhaseFailed(f"{what} check, request {i + 1}: status {resp.status}, "
                                     f"{len(body)} body bytes (want 200, {BODY_BYTES})")
            if resp.will_close:
                raise l4.PhaseFailed(f"{what} check, request {i + 1}: proxy closed keep-alive")
    except (OSError, http.client.HTTPException) as e:
        raise l4.PhaseFailed(f"{what} check: {type(e).__name__}: {e}") from e
    finally:
        conn.close()


class HttpBench(l4.Bench):
    """l4.Bench's proxy start-up, readiness wait, liveness check and log tails; HTTP phases."""

    def __init__(self, backend_bin, wrk, tmp):
        super().__init__(None, tmp)
        self.backend_bin = backend_bin
        self.wrk_bin = wrk
        self.backend = None
        self.wrk_outputs = {}  # proxy key -> raw wrk output of each run with errors

    backend_args = ()  # extra http_backend arguments (the cache bench adds Cache-Control)
    request_headers = {}  # sent with every request (the filter bench adds a bearer token)

    def start_backends(self):
        if BACKEND_KIND == "nginx":
            self.start_nginx_backends()
            return
        size = ("--body-bytes", str(BODY_BYTES)) if BODY_BYTES != 64 else ()
        p = self.procs.start([self.backend_bin, "--port", 0, "--port", 0, *size,
                              *self.backend_args], LOAD_CPU, stdout=subprocess.PIPE)
        line = l4.read_line(p, l4.READY_TIMEOUT_S)
        if not line or not line.startswith("ready "):
            raise RuntimeError(f"http_backend did not get ready: {line!r}")
        self.backend = p
        self.backends["http"] = [int(x) for x in line.split()[1:]]
        log(f"backends: {self.backends['http']}")

    def start_nginx_backends(self):
        """One NGINX worker on the load core serving a static body on two ports, and its
        stub_status on a third, for the connection and request counts."""
        root = self.tmp / "nginx-backend"
        root.mkdir(exist_ok=True)
        (root / "index.html").write_bytes(b"x" * BODY_BYTES)
        ports = [l4.free_port(), l4.free_port()]
        self.stats_port = l4.free_port()
        listens = "\n".join(f"    listen 127.0.0.1:{p};" for p in ports)
        cfg = root / "nginx.conf"
        cfg.write_text(f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {l4.PROXY_MAX_CONNECTIONS};
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {l4.PROXY_MAX_CONNECTIONS}; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  server {{
{listens}
    root {root};
    location = / {{ try_files /index.html =404; default_type text/plain; }}
  }}
  server {{
    listen 127.0.0.1:{self.stats_port};
    location / {{ stub_status; }}
  }}
}}
""")
        self.backend = self.procs.start(["nginx", "-c", cfg, "-p", f"{root}/", "-e", "stderr"],
                                        LOAD_CPU)
        for p in ports + [self.stats_port]:
            l4.wait_accepting(p, self.backend)
        self.backends["http"] = ports
        log(f"nginx backends: {ports}")

    def nginx_stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/", timeout=5) as r:
            text = r.read().decode()
        # "server accepts handled requests\n A H R": the numbers on the third line.
        accepts, _, requests = (int(x) for x in text.splitlines()[2].split())
        return {"accepted": [accepts], "requests": [requests]}

    def backend_stats(self):
        """Per-port accepted connections and answered requests since the backend started."""
        if BACKEND_KIND == "nginx":
            return self.nginx_stats()
        if self.backend.poll() is not None:
            raise RuntimeError(f"http_backend exited with {self.backend.returncode}")
        self.backend.send_signal(signal.SIGUSR1)
        line = l4.read_line(self.backend, l4.READY_TIMEOUT_S)
        if not line or not line.startswith("stats "):
            raise RuntimeError(f"http_backend stats: {line!r}")
        return json.loads(line[len("stats "):])

    def wrk(self, port, seconds):
        headers = [a for k, v in self.request_headers.items() for a in ("-H", f"{k}: {v}")]
        script = []
        if UPLOAD_BYTES:
            lua = self.tmp / "upload.lua"
            if not lua.exists():
                lua.write_text(f'wrk.method = "POST"\nwrk.body = string.rep("u", {UPLOAD_BYTES})\n'
                               'wrk.headers["Content-Type"] = "application/octet-stream"\n')
            script = ["-s", str(lua)]
        argv = ["taskset", "-c", str(LOAD_CPU), self.wrk_bin, "-t1", f"-c{CONNECTIONS}",
                f"-d{seconds}s", "--latency", *script, *headers, f"http://127.0.0.1:{port}/"]
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=seconds + WRK_TIMEOUT_S, preexec_fn=l4._die_with_parent)
        try:
            r = parse_wrk(out.stdout)
        except ValueError as e:
            raise l4.PhaseFailed(f"wrk: {e}; exit {out.returncode}; "
                                 f"{(out.stdout + out.stderr).strip()[-300:]!r}") from e
        r["raw"] = out.stdout.strip()
        return r

    def keepalive(self, proxy):
        p, port = self.start_proxy(proxy, "http", "http")
        try:
            check_response(port, "pre-run", self.request_headers)
            self.wrk(port, WARMUP_SECONDS)
            self.alive(p, proxy, "http")
            s0 = self.backend_stats()
            runs = []
            for i in range(RUNS):
                w = l4.Window(p.pid)
                r = self.wrk(port, RUN_SECONDS)
                self.windows.append(w.close())
                self.alive(p, proxy, "http")
                r["cpu_s"], r["cpu_pct"], r["load_pct"] = w.proxy_cpu_s, w.proxy_cpu_pct, \
                    w.load_busy_pct
                r["host_cpu_s"] = w.host_cpu_s
                runs.append(r)
                if r["non2xx"] or r["errors"]:
                    self.wrk_outputs.setdefault(proxy.key, []).append(r["raw"])
                log(f"{proxy.key} run {i + 1}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.3f} ms, "
                    f"p99 {r['p99_ms']:.3f} ms, non-2xx/3xx {r['non2xx']}, socket errors "
                    f"{r['errors'] or 0}, proxy CPU {w.proxy_cpu_pct:.0f}%, load core "
                    f"{w.load_busy_pct:.0f}%, others on proxy core "
                    f"{100 * w.others_ticks / w.core_ticks:.0f}%")
            s1 = self.backend_stats()
            check_response(port, "post-run", self.request_headers)
            self.alive(p, proxy, "http")
        finally:
            self.procs.stop(p)
        reqs = sum(r["requests"] for r in runs)
        if not reqs:
            raise l4.PhaseFailed("wrk completed no request")
        accepted = [b - a for a, b in zip(s0["accepted"], s1["accepted"])]
        answered = [b - a for a, b in zip(s0["requests"], s1["requests"])]
        log(f"{proxy.key}: backends answered {answered} requests on {accepted} new connections; "
            f"wrk saw {reqs}")
        mid = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        return {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": mid["p50_ms"],
            "p99_ms": mid["p99_ms"],
            "cpu_us": 1e6 * sum(r["cpu_s"] for r in runs) / reqs,
            "gbps": statistics.median(r["rps"] for r in runs) * BULK_BYTES * 8 / 1e9,
            "cpu_s_per_gb": sum(r["cpu_s"] for r in runs) / (reqs * BULK_BYTES / 1e9),
            "host_cpu_us": 1e6 * sum(r["host_cpu_s"] for r in runs) / reqs,
            "host_cpu_s_per_gb": sum(r["host_cpu_s"] for r in runs) / (reqs * BULK_BYTES / 1e9),
            "cpu_pct": statistics.median(r["cpu_pct"] for r in runs),
            "load_pct": statistics.median(r["load_pct"] for r in runs),
            "non2xx": sum(r["non2xx"] for r in runs),
            "sock_errors": sum(sum(r["errors"].values()) for r in runs),
            "upstream_conns_per_1k": 1000 * sum(accepted) / max(sum(answered), 1),
            "backend_reqs_per_1k": 1000 * sum(answered) / reqs,
            # One NGINX counts both ports together: no share to show.
            "backend_share_pct": (100 * min(answered) / max(sum(answered), 1)
                                  if len(answered) > 1 else None),
        }

    def run(self, proxy):
        why = proxy.available()
        if why:
            log(f"{proxy.key}: failed: {why}")
            return {}, why
        self.windows = []
        log(f"{proxy.key}: keep-alive")
        try:
            results = self.keepalive(proxy)
        except (l4.PhaseFailed, subprocess.TimeoutExpired, json.JSONDecodeError, OSError,
                RuntimeError, KeyError) as e:
            log(f"{proxy.key}: failed: {e}")
            return {}, str(e)
        finally:
            self.report_log(proxy)
        if self.windows:
            results["others_pct"] = 100 * sum(w.others_ticks for w in self.windows) / sum(
                w.core_ticks for w in self.windows)
        note = None
        if results["non2xx"] or results["sock_errors"]:
            note = (f"{results['non2xx']} non-2xx/3xx responses, {results['sock_errors']} socket "
                    f"errors; log: {self.log_tail(proxy, 'http')}")
            for raw in self.wrk_outputs.get(proxy.key, []):
                log(f"{proxy.key}: wrk output of a run with errors:\n{raw}")
        return results, note

    def report_log(self, proxy):
        """Whatever the proxy logged (warnings and up, or its stderr) goes to our stderr."""
        path = self.tmp / f"{proxy.key}-http.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return
        if lines:
            log(f"{proxy.key}: {len(lines)} log lines, last ones:\n  " + "\n  ".join(lines[-10:]))


# ---- report ----------------------------------------------------------------------------------

# (key, label, format, ratio shown)
ROWS = [
    ("rps", f"requests/s, median of {RUNS} (higher better)", "{:,.0f}", True),
    ("cpu_us", "proxy CPU µs per request (lower better)", "{:.2f}", True),
    ("gbps", "body Gbit/s through the proxy, median run (bulk bodies)", "{:.2f}", True),
    ("cpu_s_per_gb", "proxy CPU s per GB of body (bulk bodies; lower better)", "{:.3f}", True),
    # Both cores: the proxy, wrk, the backends and the softirq work between them. On loopback a
    # receiver's ACK can clock out its sender's queued segments in the receiver's context, so
    # the proxy's own CPU can shrink by moving work to wrk or a backend; this total cannot.
    ("host_cpu_us", "host CPU µs per request, both cores: proxy + wrk + backends (quiet host "
     "only)", "{:.2f}", True),
    ("host_cpu_s_per_gb", "host CPU s per GB of body, both cores (bulk bodies; quiet host only)",
     "{:.3f}", True),
    ("p50_ms", "p50 latency, ms, median run (lower better)", "{:.3f}", True),
    ("p99_ms", "p99 latency, ms, median run (lower better)", "{:.3f}", True),
    ("non2xx", "non-2xx/3xx responses, all runs", "{:,.0f}", False),
    ("sock_errors", "socket errors (connect/read/write/timeout), all runs", "{:,.0f}", False),
    ("upstream_conns_per_1k", "new backend connections per 1,000 requests", "{:.2f}", False),
    ("backend_share_pct", "requests to the less-used backend, %", "{:.1f}", False),
    ("cpu_pct", "proxy CPU, % of its core", "{:.0f}", False),
    ("load_pct", "load core (wrk + backends) busy, %", "{:.0f}", False),
    ("others_pct", "noise: other processes' CPU on the proxy core, % (want ~0)", "{:.0f}", False),
]


def table(proxies, results):
    haproxy = next((p for p in proxies if isinstance(p, HAProxy)), None)
    ratio_cols = [p for p in proxies if p is not haproxy] if haproxy else []
    head = ["metric"] + [p.label for p in proxies] + [f"{p.label} ÷ HAProxy" for p in ratio_cols]
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)]
    for key, label, fmt, with_ratio in ROWS:
        if key in ("gbps", "cpu_s_per_gb", "host_cpu_s_per_gb") and not BULK:
            continue
        row = [label]
        for p in proxies:
            v = results[p.key].get(key)
            # A run that worked but has no such figure (the NGINX backend's one share) says "—".
            row.append(("—" if results[p.key] else "failed") if v is None else fmt.format(v))
        for p in ratio_cols:
            v, h = results[p.key].get(key), results[haproxy.key].get(key)
            row.append(f"{v / h:.2f}" if with_ratio and v is not None and h else "—")
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def noisy_note(proxies, results):
    """A line for the record when other processes ran on the proxy core during the runs."""
    noisy = [f"{p.label} {results[p.key]['others_pct']:.0f}%" for p in proxies
             if results[p.key].get("others_pct", 0) > l4.HOST_BUSY_WARN_PCT]
    if not noisy:
        return ""
    return (f"- other processes ran on the proxy core during the runs ({', '.join(noisy)} of it): "
            f"those columns are skewed; proxy CPU µs per request suffers least\n")


def record(text):
    l4.DOC.parent.mkdir(parents=True, exist_ok=True)
    if not l4.DOC.exists():
        l4.DOC.write_text(l4.DOC_HEADER)
    with l4.DOC.open("a") as f:
        f.write(text)
    log(f"appended to {l4.DOC}")


# ---- main ------------------------------------------------------------------------------------


def build_backend():
    return l4.build_tool("HTTP_BACKEND_BIN", BACKEND_SRC)


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("http_bench: needs 2 CPUs (one for the proxy, one for the load)")
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not wrk:
        sys.exit("http_bench: wrk not found (apt-get install wrk, or set WRK_BIN)")
    os.sched_setaffinity(0, {LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = build_backend()

    ballast_bin = os.environ.get("BALLAST_BIN", str(REPO / "build" / "ballast"))
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring").split(",") if x.strip()]
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy,nginx").split(",")
    proxies = []
    if "ballast" in wanted:
        proxies += [Ballast(ballast_bin, io) for io in ios]
        baseline = os.environ.get("BALLAST_BASELINE_BIN")
        for io in ios if baseline else []:
            b = Ballast(baseline, io)
            b.key, b.label = f"{b.key}-baseline", f"{b.label} baseline"
            proxies.append(b)
    if "haproxy" in wanted:
        proxies.append(HAProxy())
    if "haproxy-splice" in wanted:
        proxies.append(HAProxy(splice=True))
    if "nginx" in wanted:
        proxies.append(Nginx())

    busy = l4.host_busy()
    busy_note = ""
    if max(busy) > l4.HOST_BUSY_WARN_PCT:
        busy_note = (f"- host was busy before the run (CPU{LOAD_CPU} {busy[0]:.0f}%, "
                     f"CPU{PROXY_CPU} {busy[1]:.0f}%): figures are skewed\n")
        log(f"warning: {busy_note[2:].strip()}")
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-http-bench-") as tmpdir:
        bench = HttpBench(backend_bin, wrk, Path(tmpdir))
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], notes[p.key] = bench.run(p)
        finally:
            bench.procs.stop_all()

    text = table(proxies, results)
    versions = [l4.version_of(["haproxy", "-v"]), l4.version_of(["nginx", "-v"]),
                l4.version_of([wrk, "-v"]).split(" Copyright")[0]]
    notes_md = [f"- {p.label}: {'failed' if not results[p.key] else 'anomaly'} ({notes[p.key]})"
                for p in proxies if notes.get(p.key)]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    shown_bin = Path(ballast_bin).resolve()
    if shown_bin.is_relative_to(REPO):
        shown_bin = shown_bin.relative_to(REPO)
    section = (
        f"\n## HTTP/1.1 keep-alive proxy, {stamp}{' (BENCH_QUICK smoke run)' if QUICK else ''}\n\n"
        f"- `python3 bench/http_bench.py`: wrk -t1 -c{CONNECTIONS} -d{RUN_SECONDS}s --latency, "
        f"{RUNS} runs after a {WARMUP_SECONDS} s warm-up, "
        f"{f'POST / with a {UPLOAD_BYTES:,}-byte body' if UPLOAD_BYTES else 'GET /'} → 200 with a "
        f"{BODY_BYTES:,}-byte body from two `{BACKEND_KIND}` ports; keep-alive to the backends (Ballast's pool, HAProxy "
        f"`http-reuse always`, NGINX `keepalive {CONNECTIONS}`); no access logging anywhere\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}, {os.cpu_count()} CPUs\n"
        f"- Ballast io: {', '.join(ios)} (`{shown_bin}`); {'; '.join(versions)}\n"
        + busy_note
        + noisy_note(proxies, results)
        + ("\n".join(notes_md) + "\n" if notes_md else "")
        + f"\n{text}\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
