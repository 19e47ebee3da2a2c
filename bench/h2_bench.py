#!/usr/bin/env python3
# bench/h2_bench.py — HTTP/2 over TLS: Ballast (`protocol: https`, ALPN h2) vs HAProxy (`bind …
# ssl alpn h2`) vs NGINX (`listen … ssl http2`), one worker each, in one run; prints one table
# and appends it to docs/benchmarks.md.
#
# h2load (nghttp2-client, one thread, 10 connections × 100 concurrent streams) drives each proxy
# against three kinds of backend, two ports each, started once for the whole run:
#   h1    bench/tools/http_backend: HTTP/1.1 keep-alive, 64-byte body (as bench/http_bench.py)
#   h2c   NGINX `listen … http2` without TLS (prior knowledge), the same 64-byte body
#   grpc  bench/tools/grpc_backend.py (python3-grpcio): unary echo of a 64-byte message
# NGINX cannot proxy to an h2c backend (`proxy_pass` speaks HTTP/1.x only; `grpc_pass` speaks
# h2 but only gRPC), so its h2c cells are "—". As in bench/l4_bench.py, whose process handling
# and CPU accounting this reuses, the proxy is pinned to CPU 1 and everything else to CPU 0.
#
# Environment: BALLAST_BIN, BALLAST_IO, HTTP_BACKEND_BIN, BENCH_QUICK=1, BENCH_PROXIES,
# BENCH_RECORD=0, as bench/http_bench.py; H2LOAD_BIN (default: h2load on PATH).

import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402
import tls_bench  # noqa: E402  (the throwaway certificate)

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3  # the table shows the median and the spread
RUN_SECONDS = 1 if QUICK else 3
WARMUP_SECONDS = 1  # opens the upstream connections before anything is measured
CONNECTIONS = 10
STREAMS = 100  # concurrent streams per connection: every proxy's default limit
H2LOAD_TIMEOUT_S = 60  # wall-clock cap on one h2load beyond its -D
BODY_BYTES = 64  # what the h1 and h2c backends answer
GRPC_MESSAGE_BYTES = 64
GRPC_PATH = "/bench.Echo/Unary"
GRPC_BACKEND = l4.REPO / "bench" / "tools" / "grpc_backend.py"
KINDS = ("h1", "h2c", "grpc")
KIND_LABEL = {"h1": "h1 keep-alive backend", "h2c": "h2c backend",
              "grpc": "gRPC unary, h2c backend"}
NGINX_NO_H2C = ("NGINX cannot proxy HTTP/2 to a backend: proxy_pass speaks HTTP/1.x only, "
                "grpc_pass is for gRPC only")


def log(msg):
    print(f"[h2_bench] {msg}", file=sys.stderr, flush=True)


def servers(ports, indent, fmt):
    return "\n".join(indent + fmt.format(i=i, port=p) for i, p in enumerate(ports))


# ---- proxies: one config per backend kind ----------------------------------------------------


class ForKind:
    """A proxy writes one config per backend kind: the one set last by for_kind."""

    kind = "h1"

    def for_kind(self, kind):
        self.kind = kind
        return self

    def unsupported(self, kind):
        return None  # or why this proxy cannot do it at all: its cells then read "—"


class Ballast(ForKind, l4.Ballast):
    def argv(self, tmp, listen_port, backends):
        # max_idle as large as the streams in flight (default 64 per backend): otherwise most
        # h1 backend connections are closed when their stream ends and reopened for the next.
        protocol = "http1" if self.kind == "h1" else "h2c"
        addresses = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-{self.kind}.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - name: bench
    bind: "127.0.0.1:{listen_port}"
    protocol: https
    pool: backends
    tls: {{certificates: [{{cert: "{tmp}/cert.pem", key: "{tmp}/key.pem"}}],
           alpn: [h2, http/1.1]}}
pools:
  - name: backends
    upstream_protocol: {protocol}
    keepalive: {{max_idle: {CONNECTIONS * STREAMS}}}
    backends: [{addresses}]
""")
        return [self.binary, "run", "-c", cfg]


class HAProxy(ForKind, l4.HAProxy):
    def argv(self, tmp, listen_port, backends):
        proto = "" if self.kind == "h1" else " proto h2"
        cfg = tmp / f"haproxy-{self.kind}.cfg"
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
  bind 127.0.0.1:{listen_port} ssl crt {tmp}/combined.pem alpn h2,http/1.1
  balance roundrobin
  http-reuse always
{servers(backends, "  ", "server b{i} 127.0.0.1:{port}" + proto)}
""")
        return ["haproxy", "-f", cfg, "-db"]


class Nginx(ForKind, hb.Nginx):
    def unsupported(self, kind):
        return NGINX_NO_H2C if kind == "h2c" else None

    def argv(self, tmp, listen_port, backends):
        if self.kind == "grpc":
            location = "grpc_pass grpc://backends;"
        else:
            location = ('proxy_pass http://backends; proxy_http_version 1.1; '
                        'proxy_set_header Connection "";')
        cfg = tmp / f"nginx-{self.kind}.conf"
        # keepalive covers every concurrent stream, so idle backend connections are not closed
        # and reopened under load. keepalive_requests: the stock 1000 ends each client
        # connection with GOAWAY after 1000 streams and h2load does not reconnect, so every run
        # would stop at 10,000 requests; the upstream side keeps its stock 1000.
        cfg.write_text(f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {l4.PROXY_MAX_CONNECTIONS};
pid {tmp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {l4.PROXY_MAX_CONNECTIONS}; }}
http {{
  access_log off;
  upstream backends {{
{servers(backends, "    ", "server 127.0.0.1:{port};")}
    keepalive {CONNECTIONS * STREAMS};
  }}
  server {{
    listen 127.0.0.1:{listen_port} ssl http2;
    keepalive_requests 100000000;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    ssl_protocols TLSv1.3;
    location / {{ {location} }}
  }}
}}
""")
        return ["nginx", "-c", cfg, "-p", f"{tmp}/", "-e", "stderr"]


# ---- backends --------------------------------------------------------------------------------


def h2c_backend_conf(tmp, ports):
    """NGINX as a cleartext HTTP/2 (prior knowledge) backend; never closes a connection."""
    cfg = tmp / "h2c-backend.conf"
    cfg.write_text(f"""daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {l4.PROXY_MAX_CONNECTIONS};
pid {tmp}/h2c-backend.pid;
error_log stderr warn;
events {{ worker_connections {l4.PROXY_MAX_CONNECTIONS}; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  server {{
{servers(ports, "    ", "listen 127.0.0.1:{port} http2;")}
    location / {{ return 200 "{'b' * BODY_BYTES}"; }}
  }}
}}
""")
    return cfg


def grpc_frame(tmp):
    """One length-prefixed gRPC message, uncompressed, for h2load -d."""
    path = tmp / "grpc-request.bin"
    path.write_bytes(b"\0" + struct.pack(">I", GRPC_MESSAGE_BYTES) + b"m" * GRPC_MESSAGE_BYTES)
    return path


# ---- h2load ----------------------------------------------------------------------------------


def parse_h2load(out):
    """Completed requests, req/s, non-2xx and failures from h2load's summary."""
    m = re.search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", out, re.M)
    r = re.search(r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out, re.M)
    s = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.M)
    if not (m and r and s):
        raise ValueError("no summary")
    if not re.search(r"^Application protocol: h2$", out, re.M):
        raise ValueError("h2 was not negotiated")
    return {"rps": float(m.group(1)), "requests": int(r.group(2)),
            "failed": int(r.group(3)) + int(r.group(4)) + int(r.group(5)),
            "non2xx": sum(int(x) for x in s.groups()[1:])}


def p99_ms(log_file):
    """99th percentile of the per-request times in h2load's --log-file (µs, third column)."""
    times = sorted(int(line.split("\t")[2]) for line in log_file.read_text().splitlines())
    if not times:
        raise ValueError("empty log file")
    return times[min(len(times) - 1, len(times) * 99 // 100)] / 1000


class H2Bench(l4.Bench):
    """l4.Bench's proxy start-up, readiness wait and liveness check; the three backend kinds
    and the h2load phases."""
    def __init__(self, h2load, backend_bin, tmp):
        super().__init__(None, tmp)
        self.h2load_bin = h2load
        self.backend_bin = backend_bin
        self.frame = grpc_frame(tmp)

    def start_backends(self):
        self.h1_backend, self.backends["h1"] = self.start_ready("http_backend",
                                                                [self.backend_bin])
        _, self.backends["grpc"] = self.start_ready("grpc_backend", [sys.executable, GRPC_BACKEND])
        ports = [l4.free_port(), l4.free_port()]
        p = self.procs.start(["nginx", "-c", h2c_backend_conf(self.tmp, ports), "-p",
                              f"{self.tmp}/", "-e", "stderr"], l4.LOAD_CPU)
        if not all(l4.wait_accepting(port, p) for port in ports):
            raise RuntimeError("h2c backend (nginx) did not start")
        self.backends["h2c"] = ports
        log(f"backends: {self.backends}")

    def start_ready(self, name, argv):
        """A backend that takes `--port 0 --port 0` and prints `ready PORT PORT`."""
        p = self.procs.start([*argv, "--port", 0, "--port", 0], l4.LOAD_CPU,
                             stdout=subprocess.PIPE)
        line = l4.read_line(p, l4.READY_TIMEOUT_S)
        if not line or not line.startswith("ready "):
            raise RuntimeError(f"{name} did not get ready: {line!r}")
        return p, [int(x) for x in line.split()[1:]]

    def accepted(self, kind):
        """Connections the h1 backend has accepted so far (its SIGUSR1 stats line); None for
        the other kinds."""
        if kind != "h1":
            return None
        self.h1_backend.send_signal(signal.SIGUSR1)
        line = l4.read_line(self.h1_backend, l4.READY_TIMEOUT_S)
        if not line or not line.startswith("stats "):
            raise RuntimeError(f"http_backend stats: {line!r}")
        return sum(json.loads(line[len("stats "):])["accepted"])

    def request_args(self, kind):
        if kind != "grpc":
            return [], "/"
        return ["-d", self.frame, "-H", "content-type: application/grpc",
                "-H", "te: trailers"], GRPC_PATH

    def check(self, port, kind, when):
        """One request with nghttp (h2 only): 200 with the 64-byte body, or for gRPC with
        grpc-status 0 in the trailers."""
        args, path = self.request_args(kind)
        out = subprocess.run(["nghttp", "-v", *map(str, args), f"https://127.0.0.1:{port}{path}"],
                             capture_output=True, timeout=10).stdout.decode(errors="replace")
        body = "grpc-status: 0" if kind == "grpc" else f"recv DATA frame <length={BODY_BYTES},"
        if ":status: 200" not in out or body not in out:
            raise l4.PhaseFailed(f"{when} check: {out.strip()[-300:]!r}")

    def h2load(self, port, kind, seconds):
        args, path = self.request_args(kind)
        log_file = self.tmp / "h2load.log"
        argv = ["taskset", "-c", str(l4.LOAD_CPU), self.h2load_bin, "-t1", f"-c{CONNECTIONS}",
                f"-m{STREAMS}", f"-D{seconds}", "--log-file", log_file, *args,
                f"https://127.0.0.1:{port}{path}"]
        out = subprocess.run(list(map(str, argv)), capture_output=True, text=True,
                             timeout=seconds + H2LOAD_TIMEOUT_S, preexec_fn=l4._die_with_parent)
        try:
            r = parse_h2load(out.stdout)
            r["p99_ms"] = p99_ms(log_file)
        except (ValueError, IndexError, OSError) as e:
            raise l4.PhaseFailed(f"h2load: {e}; exit {out.returncode}; "
                                 f"{(out.stdout + out.stderr).strip()[-300:]!r}") from e
        return r

    def measured_run(self, p, port, kind):
        w = l4.Window(p.pid)
        r = self.h2load(port, kind, RUN_SECONDS)
        w.close()
        r.update(cpu_s=w.proxy_cpu_s, cpu_pct=w.proxy_cpu_pct, load_pct=w.load_busy_pct,
                 others_pct=100 * w.others_ticks / w.core_ticks)
        r["cpu_us"] = 1e6 * r["cpu_s"] / max(r["requests"], 1)
        return r

    def phase(self, proxy, kind):
        p, port = self.start_proxy(proxy, kind, kind)
        try:
            self.check(port, kind, "pre-run")
            self.h2load(port, kind, WARMUP_SECONDS)
            accepted = self.accepted(kind)
            runs = []
            for i in range(RUNS):
                runs.append(self.measured_run(p, port, kind))
                self.alive(p, proxy, kind)
                log_run(f"{proxy.key} {kind} run {i + 1}", runs[-1])
            if accepted is not None:
                accepted = self.accepted(kind) - accepted
            self.check(port, kind, "post-run")
        finally:
            self.procs.stop(p)
        return summarize(runs, accepted)

    def run(self, proxy):
        """{kind: figures}, {kind: why it has none}."""
        results, notes = {}, {}
        for kind in KINDS:
            why = proxy.unsupported(kind) or proxy.available()
            if why:
                notes[kind] = why
                continue
            try:
                results[kind] = self.phase(proxy.for_kind(kind), kind)
            except (l4.PhaseFailed, subprocess.TimeoutExpired, OSError, RuntimeError,
                    json.JSONDecodeError, KeyError) as e:
                log(f"{proxy.key} {kind}: failed: {e}")
                notes[kind] = f"failed: {e}"
        return results, notes


def log_run(what, r):
    log(f"{what}: {r['rps']:,.0f} req/s, {r['cpu_us']:.2f} µs/req, p99 {r['p99_ms']:.2f} ms, "
        f"proxy CPU {r['cpu_pct']:.0f}%, load core {r['load_pct']:.0f}%, failed {r['failed']}, "
        f"non-2xx {r['non2xx']}, others on proxy core {r['others_pct']:.0f}%")


def spread_pct(values):
    """Half the min-max range, in % of the median."""
    mid = statistics.median(values)
    return 100 * (max(values) - min(values)) / 2 / mid if mid else 0.0


def summarize(runs, accepted):
    """Median, spread and totals of the runs; accepted: new h1 backend connections, or None."""
    reqs = sum(r["requests"] for r in runs)
    if not reqs:
        raise l4.PhaseFailed("h2load completed no request")
    mid = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    out = {} if accepted is None else {"conns_per_1k": 1000 * accepted / reqs}
    return out | {
        "rps": statistics.median(r["rps"] for r in runs),
        "rps_spread": spread_pct([r["rps"] for r in runs]),
        "cpu_us": 1e6 * sum(r["cpu_s"] for r in runs) / reqs,
        "cpu_us_spread": spread_pct([r["cpu_us"] for r in runs]),
        "p99_ms": mid["p99_ms"],
        "p99_ms_spread": spread_pct([r["p99_ms"] for r in runs]),
        "errors": sum(r["failed"] + r["non2xx"] for r in runs),
        "cpu_pct": statistics.median(r["cpu_pct"] for r in runs),
        "load_pct": statistics.median(r["load_pct"] for r in runs),
        "others_pct": statistics.median(r["others_pct"] for r in runs),
    }


# ---- report ----------------------------------------------------------------------------------

# (key, label, format, ratio shown, spread shown)
ROWS = [
    ("rps", f"requests/s, median of {RUNS} (higher better)", "{:,.0f}", True, True),
    ("cpu_us", "proxy CPU µs per request (lower better)", "{:.2f}", True, True),
    ("p99_ms", "p99 latency, ms, median run (lower better)", "{:.2f}", True, True),
    ("errors", "failed or non-2xx requests, all runs", "{:,.0f}", False, False),
    ("conns_per_1k", "new backend connections per 1,000 requests", "{:.2f}", False, False),
    ("cpu_pct", "proxy CPU, % of its core", "{:.0f}", False, False),
    ("load_pct", "load core (h2load + backends) busy, %", "{:.0f}", False, False),
    ("others_pct", "noise: other processes' CPU on the proxy core, %", "{:.0f}", False, False),
]

H1_ONLY = {"conns_per_1k"}  # counted by http_backend; the other backends do not say


def cell(results, proxy, kind, key, fmt, with_spread):
    figures = results[proxy.key].get(kind)
    if figures is None:
        return "—" if proxy.unsupported(kind) else "failed"
    if key not in figures:
        return "—"
    text = fmt.format(figures[key])
    return f"{text} ±{figures[key + '_spread']:.0f}%" if with_spread else text


def ratio(results, proxy, haproxy, kind, key):
    v = results[proxy.key].get(kind, {}).get(key)
    h = results[haproxy.key].get(kind, {}).get(key)
    return f"{v / h:.2f}" if v is not None and h else "—"


def table(proxies, results):
    haproxy = next((p for p in proxies if isinstance(p, HAProxy)), None)
    ratio_cols = [p for p in proxies if p is not haproxy] if haproxy else []
    head = ["metric"] + [p.label for p in proxies] + [f"{p.label} ÷ HAProxy" for p in ratio_cols]
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)]
    for kind in KINDS:
        for key, label, fmt, with_ratio, with_spread in ROWS:
            if key in H1_ONLY and kind != "h1":
                continue
            row = [f"{KIND_LABEL[kind]}: {label}"]
            row += [cell(results, p, kind, key, fmt, with_spread) for p in proxies]
            row += [ratio(results, p, haproxy, kind, key) if with_ratio else "—"
                    for p in ratio_cols]
            rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def section(proxies, results, notes, ios, host):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = [l4.version_of(["haproxy", "-v"]), l4.version_of(["nginx", "-v"]),
                l4.version_of(["h2load", "--version"])]
    notes_md = "".join(f"- {p.label}, {kind}: {why}\n" for p in proxies
                       for kind, why in notes[p.key].items())
    return (
        f"\n## HTTP/2 over TLS, {stamp}{' (BENCH_QUICK smoke run)' if QUICK else ''}\n\n"
        f"- `python3 bench/h2_bench.py`: h2load -t1 -c{CONNECTIONS} -m{STREAMS} -D{RUN_SECONDS} "
        f"over TLS 1.3 (ALPN h2), {RUNS} runs after a {WARMUP_SECONDS} s warm-up per proxy and "
        f"backend kind; median and ± half the min–max spread; CPU µs per request summed over "
        f"the runs; two backend ports per kind: `http_backend` (h1 keep-alive, 64-byte body), "
        f"NGINX h2c (64-byte body), python3-grpcio unary echo (64-byte message)\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}, {os.cpu_count()} CPUs; "
        f"load average before: {' '.join(f'{x:.2f}' for x in host['loadavg'])}; host busy "
        f"before: CPU{l4.LOAD_CPU} {host['busy'][0]:.0f}%, CPU{l4.PROXY_CPU} "
        f"{host['busy'][1]:.0f}%\n"
        f"- Ballast io: {', '.join(ios)}; {'; '.join(versions)}\n"
        + notes_md + "\n" + table(proxies, results) + "\n")


# ---- main ------------------------------------------------------------------------------------


def make_proxies(ios):
    ballast_bin = os.environ.get("BALLAST_BIN", str(l4.REPO / "build" / "ballast"))
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy,nginx").split(",")
    return (([Ballast(ballast_bin, io) for io in ios] if "ballast" in wanted else []) +
            ([HAProxy()] if "haproxy" in wanted else []) +
            ([Nginx()] if "nginx" in wanted else []))


def main():
    h2load = os.environ.get("H2LOAD_BIN") or shutil.which("h2load")
    if not h2load or not shutil.which("nghttp") or not shutil.which("openssl"):
        sys.exit("h2_bench: needs h2load and nghttp (apt-get install nghttp2-client) and openssl")
    if (os.cpu_count() or 1) < 2:
        sys.exit("h2_bench: needs 2 CPUs (one for the proxy, one for the load)")
    os.sched_setaffinity(0, {l4.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring").split(",") if x.strip()]
    proxies = make_proxies(ios)
    host = {"loadavg": os.getloadavg(), "busy": l4.host_busy()}
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-h2-bench-") as tmpdir:
        tmp = Path(tmpdir)
        tls_bench.make_certificate(tmp)
        bench = H2Bench(h2load, backend_bin, tmp)
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], notes[p.key] = bench.run(p)
        finally:
            bench.procs.stop_all()
    text = section(proxies, results, notes, ios, host)
    print(text)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
