#!/usr/bin/env python3
# bench/l4_bench.py — L4 proxy benchmark: Ballast vs HAProxy `mode tcp` vs NGINX `stream`, one
# worker each, same backends, same run; prints one table and appends it to docs/benchmarks.md.
#
# Every proxy is pinned to CPU 1; the load generator, the backends and this script share CPU 0,
# so the proxy's core does nothing but proxy. Each phase (connrate, bulk up, bulk down, idle)
# gets a freshly started proxy with one listener and one pool, so one proxy crashing in one phase
# costs only that phase's cells, and memory from bulk buffers cannot hide the idle cost.
#
# Environment:
#   BALLAST_BIN    Ballast binary (default: build/ballast)
#   BALLAST_IO     io backend(s) for Ballast, comma-separated: io_uring (default), epoll, or both;
#                  epoll-copy / io_uring-copy: splice off (BALLAST_SPLICE=off), to compare in one
#                  run; a backend may carry environment settings for that Ballast only, after colons:
#                  io_uring:BALLAST_SPLICE_PIPE_BYTES=262144 (variants side by side in one run)
#   TCPLOAD_BIN    prebuilt bench/tools/tcpload (default: compiled into build/bench-tools/)
#   BENCH_QUICK=1  short smoke run; figures are noisy
#   BENCH_BULK_MIB bytes per bulk phase in MiB (default 4096, quick 256)
#   BENCH_PROXIES  subset to run, comma-separated (default: ballast,haproxy,nginx);
#                  haproxy-splice adds HAProxy with `option splice-auto`
#   BENCH_PHASES   subset of phases, comma-separated (default: connrate,bulk up,bulk down,idle)
#   BALLAST_SPLICE=off  (passed through) keeps Ballast's epoll loop on the copy path
#   BENCH_RECORD=0 print the table only; do not append to docs/benchmarks.md
# Python standard library only.

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TCPLOAD_SRC = REPO / "bench" / "tools" / "tcpload.cpp"
DOC = REPO / "docs" / "benchmarks.md"
NGINX_STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")

QUICK = os.environ.get("BENCH_QUICK") == "1"
PROXY_CPU = 1  # the proxy under test owns this core
LOAD_CPU = 0  # generator, backends and this script share this one

# The hard RLIMIT_NOFILE is 20,000 per process and cannot be raised here. A proxied pair costs
# the proxy 2 fds (client side + backend side), so 9,000 pairs = 18,000 fds leaves headroom for
# listeners, logs and epoll; the client side needs 9,000 fds in one tcpload process.
IDLE_PAIRS = 9000
# maxconn / worker_connections / max_connections: above IDLE_PAIRS, so never the limit, yet
# within the fd limit. Set past it (it was 20,000), HAProxy raised an alert, and Ballast, which
# keeps the fds its configured connections need before it gives any to splice pipes, copied.
PROXY_MAX_CONNECTIONS = 9500

CONNRATE_RUNS = 3  # the table shows the median
CONNRATE_SECONDS = 1 if QUICK else 5
CONNRATE_WARMUP_SECONDS = 0.5
CONNRATE_CONCURRENCY = 64
CONNRATE_PAYLOAD_BYTES = 64
BULK_STREAMS = 4
BULK_TOTAL_BYTES = int(os.environ.get("BENCH_BULK_MIB", 256 if QUICK else 4096)) << 20
BULK_TIMEOUT_S = 300
IDLE_SETTLE_S = 1.0  # lets the proxy finish lazy per-connection work before RSS is read
READY_TIMEOUT_S = 10
STOP_GRACE_S = 5
GB = 1e9  # CPU seconds per GB use decimal GB, like Gbit/s
HOST_SAMPLE_S = 1.0
HOST_BUSY_WARN_PCT = 10


def log(msg):
    print(f"[l4_bench] {msg}", file=sys.stderr, flush=True)


# ---- processes -----------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Children get SIGKILL if this script dies, even by SIGKILL; it survives taskset's exec.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Procs:
    """Everything this script starts, so every exit path can stop all of it."""

    def __init__(self):
        self.live = []

    def start(self, argv, cpu, stdin=subprocess.DEVNULL, stdout=None, stderr=None):
        p = subprocess.Popen(["taskset", "-c", str(cpu), *map(str, argv)], stdin=stdin,
                             stdout=stdout, stderr=stderr, preexec_fn=_die_with_parent)
        self.live.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                f.close()
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(self.live):
            self.stop(p)


def read_line(p, timeout):
    """One stdout line from p within timeout, or None if it timed out or p exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([p.stdout], [], [], 0.1)
        if ready:
            line = p.stdout.readline()
            return line.decode().strip() if line else None
        if p.poll() is not None:
            return None
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_accepting(port, p, timeout=READY_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


HZ = os.sysconf("SC_CLK_TCK")  # /proc/PID/stat and /proc/stat both count in these ticks


def proc_ticks(pid):
    """(utime, stime) of the whole process, all threads, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def core_ticks(cpu):
    """One core's /proc/stat counters: user nice system idle iowait irq softirq steal ..."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                return [int(x) for x in line.split()[1:]]
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")


def busy_ticks(before, after):
    """Ticks a core spent working: user, nice, system, irq, softirq (not idle, iowait, steal;
    guest time is already inside user)."""
    d = [b - a for a, b in zip(before, after)]
    return d[0] + d[1] + d[2] + d[5] + d[6]


def busy_pct(before, after):
    d = [b - a for a, b in zip(before, after)]
    total = max(sum(d), 1)
    return 100 * (total - d[3] - d[4]) / total  # all but idle and iowait


class Window:
    """CPU accounting over one measured interval: the proxy's own time, what else ran on its
    core (other jobs on a shared host skew every figure), and how busy the load core was."""

    def __init__(self, pid):
        self.pid = pid
        self.t0 = time.monotonic()
        self.p0 = proc_ticks(pid)
        self.c0 = core_ticks(PROXY_CPU)
        self.l0 = core_ticks(LOAD_CPU)

    def close(self):
        wall = time.monotonic() - self.t0
        p1, c1, l1 = proc_ticks(self.pid), core_ticks(PROXY_CPU), core_ticks(LOAD_CPU)
        self.proxy_cpu_s = (sum(p1) - sum(self.p0)) / HZ
        self.proxy_cpu_pct = 100 * self.proxy_cpu_s / wall
        d = [b - a for a, b in zip(self.c0, c1)]
        # User time on the proxy core not spent by the proxy: other processes. Kernel time is
        # left out because loopback softirq work for the proxy's own packets lands there too.
        self.others_ticks = max(0, d[0] + d[1] - (p1[0] - self.p0[0]))
        self.core_ticks = max(sum(d), 1)
        self.load_busy_pct = busy_pct(self.l0, l1)
        # Everything both cores did: the proxy, the load and backends, and the softirq work
        # between them. On loopback a sender's work can run in its receiver's context (an ACK
        # the receiver sends clocks out the sender's queued segments), so the proxy's own CPU
        # alone can shrink by moving work to its peers; this total cannot.
        self.host_cpu_s = (busy_ticks(self.c0, c1) + busy_ticks(self.l0, l1)) / HZ
        return self


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---- proxies -------------------------------------------------------------------------------


class Proxy:
    """Writes a config for one listener in front of one pool and says how to run it."""

    key = ""
    label = ""

    def available(self):
        return None  # or why it cannot run

    def argv(self, tmp, listen_port, backends):
        raise NotImplementedError


class Ballast(Proxy):
    def __init__(self, binary, io):
        self.binary = Path(binary)
        io, *self.env = io.split(":")
        self.copy_only = io.endswith("-copy")
        self.io = io.removesuffix("-copy")
        self.key = "ballast-" + ":".join([io] + self.env)
        self.label = f"Ballast ({' '.join([io] + self.env)})"

    def available(self):
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            return f"binary not found: {self.binary}"
        return None

    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - {{name: bench, bind: "127.0.0.1:{listen_port}", protocol: tcp, pool: backends,
     limits: {{max_connections: {PROXY_MAX_CONNECTIONS}}}}}
pools:
  - name: backends
    algorithm: round_robin
    backends: [{servers}]
""")
        env = (["BALLAST_SPLICE=off"] if self.copy_only else []) + self.env
        prefix = ["env"] + env if env else []  # env execs: same pid
        return prefix + [self.binary, "run", "-c", cfg]


class HAProxy(Proxy):
    key = "haproxy"
    label = "HAProxy"

    def __init__(self, splice=False):
        self.splice = splice
        if splice:
            self.key = "haproxy-splice"
            self.label = "HAProxy (splice-auto)"

    def available(self):
        return None if shutil.which("haproxy") else "haproxy not installed"

    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"  server b{i} 127.0.0.1:{b}" for i, b in enumerate(backends))
        cfg = tmp / f"{self.key}.cfg"
        # Timeouts outlast every phase so none of them closes a connection mid-measurement.
        # maxconn counts client connections and HAProxy wants 2 fds each, 40,014 in all, which
        # the 20,000 hard limit refuses; "no strict-limits" makes that a warning. Only 9,000
        # pairs ever exist, so the fd limit is never reached.
        cfg.write_text(f"""global
  nbthread 1
  maxconn {PROXY_MAX_CONNECTIONS}
  no strict-limits

defaults
  mode tcp
{"  option splice-auto" if self.splice else ""}
  timeout connect 5s
  timeout client 10m
  timeout server 10m

listen bench
  bind 127.0.0.1:{listen_port}
  balance roundrobin
{servers}
""")
        return ["haproxy", "-f", cfg, "-db"]


class Nginx(Proxy):
    key = "nginx"
    label = "NGINX"

    def available(self):
        if not shutil.which("nginx"):
            return "nginx not installed"
        if not NGINX_STREAM_MODULE.exists():
            return f"missing {NGINX_STREAM_MODULE} (libnginx-mod-stream)"
        return None

    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"    server 127.0.0.1:{b};" for b in backends)
        cfg = tmp / "nginx.conf"
        cfg.write_text(f"""load_module {NGINX_STREAM_MODULE};
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {PROXY_MAX_CONNECTIONS};
pid {tmp}/nginx.pid;
error_log stderr warn;

events {{
  worker_connections {PROXY_MAX_CONNECTIONS};
}}

stream {{
  upstream backends {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{listen_port};
    proxy_pass backends;
    proxy_timeout 10m;
  }}
}}
""")
        return ["nginx", "-c", cfg, "-p", f"{tmp}/", "-e", "stderr"]


def version_of(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        text = (out.stdout + out.stderr).strip().splitlines()
        return text[0] if text else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# ---- phases --------------------------------------------------------------------------------


class PhaseFailed(Exception):
    pass


class StartFailed(PhaseFailed):
    """The proxy exited before accepting: a config or binary problem every phase would repeat."""


class Bench:
    def __init__(self, tcpload, tmp):
        self.tcpload = tcpload
        self.tmp = tmp
        self.procs = Procs()
        self.backends = {}  # mode -> [port, port]
        self.windows = []  # the current proxy's measured intervals

    def start_backends(self):
        for mode in ("echo", "sink", "source"):
            p = self.procs.start([self.tcpload, "serve", "--mode", mode, "--port", 0, "--port", 0],
                                 LOAD_CPU, stdout=subprocess.PIPE)
            line = read_line(p, READY_TIMEOUT_S)
            if not line or not line.startswith("ready "):
                raise RuntimeError(f"tcpload serve --mode {mode} did not get ready: {line!r}")
            self.backends[mode] = [int(x) for x in line.split()[1:]]
        log(f"backends: {self.backends}")

    def start_proxy(self, proxy, mode, phase):
        port = free_port()
        argv = proxy.argv(self.tmp, port, self.backends[mode])
        logf = open(self.tmp / f"{proxy.key}-{phase}.log", "wb")
        p = self.procs.start(argv, PROXY_CPU, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        if not wait_accepting(port, p):
            exited = p.poll() is not None
            self.procs.stop(p)
            if exited:
                raise StartFailed(f"exited with {p.returncode} before accepting; "
                                  f"{self.log_tail(proxy, phase)}")
            raise PhaseFailed(f"not accepting on :{port} after {READY_TIMEOUT_S} s; "
                              f"{self.log_tail(proxy, phase)}")
        return p, port

    def log_tail(self, proxy, phase):
        path = self.tmp / f"{proxy.key}-{phase}.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(lines[-3:]) or "empty log"

    def client(self, args, timeout):
        out = subprocess.run(["taskset", "-c", str(LOAD_CPU), self.tcpload, *map(str, args)],
                             capture_output=True, text=True, timeout=timeout,
                             preexec_fn=_die_with_parent)
        lines = out.stdout.strip().splitlines()
        if not lines:
            raise PhaseFailed(f"tcpload {args[0]} printed nothing: {out.stderr.strip()}")
        return json.loads(lines[-1])

    def alive(self, p, proxy, phase):
        if p.poll() is not None:
            raise PhaseFailed(f"exited with {p.returncode}; {self.log_tail(proxy, phase)}")

    def connrate(self, proxy):
        p, port = self.start_proxy(proxy, "echo", "connrate")
        try:
            target = f"127.0.0.1:{port}"
            common = ["--target", target, "--concurrency", CONNRATE_CONCURRENCY,
                      "--payload", CONNRATE_PAYLOAD_BYTES]
            self.client(["connrate", *common, "--duration", CONNRATE_WARMUP_SECONDS], 60)
            runs = []
            for _ in range(CONNRATE_RUNS):
                w = Window(p.pid)
                r = self.client(["connrate", *common, "--duration", CONNRATE_SECONDS], 60)
                self.windows.append(w.close())
                self.alive(p, proxy, "connrate")
                r["proxy_cpu_s"] = w.proxy_cpu_s
                r["proxy_cpu_pct"] = w.proxy_cpu_pct
                r["load_busy_pct"] = w.load_busy_pct
                runs.append(r)
                log(f"{proxy.key} connrate: {r['conn_per_s']:.0f}/s, {r['failures']} failed, "
                    f"{r['unfinished']} unfinished {r['errors'] or ''}, proxy CPU "
                    f"{w.proxy_cpu_pct:.0f}%, load core {w.load_busy_pct:.0f}%, others on proxy "
                    f"core {100 * w.others_ticks / w.core_ticks:.0f}%")
            mid = sorted(runs, key=lambda r: r["conn_per_s"])[len(runs) // 2]
            conns = sum(r["connections"] for r in runs)
            if not conns:
                raise PhaseFailed(f"no connection completed: {runs[-1]['errors']}")
            return {
                "conn_per_s": statistics.median(r["conn_per_s"] for r in runs),
                "conn_failures": sum(r["failures"] for r in runs),
                "conn_p99_ms": mid["p99_us"] / 1000,
                "conn_cpu_us": 1e6 * sum(r["proxy_cpu_s"] for r in runs) / conns if conns else None,
                "conn_cpu_pct": statistics.median(r["proxy_cpu_pct"] for r in runs),
                "conn_load_pct": statistics.median(r["load_busy_pct"] for r in runs),
            }
        finally:
            self.procs.stop(p)

    def bulk(self, proxy, direction):
        mode = "sink" if direction == "up" else "source"
        phase = f"bulk-{direction}"
        p, port = self.start_proxy(proxy, mode, phase)
        try:
            w = Window(p.pid)
            r = self.client(["bulk", "--target", f"127.0.0.1:{port}", "--direction", direction,
                             "--streams", BULK_STREAMS, "--bytes", BULK_TOTAL_BYTES // BULK_STREAMS,
                             "--timeout", BULK_TIMEOUT_S], BULK_TIMEOUT_S + 30)
            cpu = w.close().proxy_cpu_s
            host = w.host_cpu_s
            self.windows.append(w)
            self.alive(p, proxy, phase)
            if r["failures"]:
                raise PhaseFailed(f"{r['failures']} streams failed: {r['errors']}")
            log(f"{proxy.key} bulk {direction}: {r['gbit_per_s']:.2f} Gbit/s, "
                f"proxy CPU {cpu:.2f} s")
            return {f"bulk_{direction}_gbps": r["gbit_per_s"],
                    f"bulk_{direction}_cpu_s_per_gb": cpu / (r["bytes"] / GB),
                    f"bulk_{direction}_host_cpu_s_per_gb": host / (r["bytes"] / GB)}
        finally:
            self.procs.stop(p)

    def idle(self, proxy):
        p, port = self.start_proxy(proxy, "echo", "idle")
        client = None
        try:
            time.sleep(IDLE_SETTLE_S)
            before = rss_bytes(p.pid)
            client = self.procs.start(
                [self.tcpload, "idle", "--target", f"127.0.0.1:{port}", "--count", IDLE_PAIRS],
                LOAD_CPU, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            line = read_line(client, 120)
            if not line or not line.startswith("ready "):
                raise PhaseFailed(f"idle client not ready: {line!r}")
            ready = json.loads(line[len("ready "):])
            time.sleep(IDLE_SETTLE_S)
            self.alive(p, proxy, "idle")
            after, fds = rss_bytes(p.pid), fd_count(p.pid)
            client.stdin.close()
            end = read_line(client, READY_TIMEOUT_S)
            held = json.loads(end)["held_at_end"] if end else ready["held"]
            if not held:
                raise PhaseFailed(f"no pair established: {ready['errors']}")
            log(f"{proxy.key} idle: {held} pairs held, {ready['failures']} failed "
                f"{ready['errors'] or ''}, proxy fds {fds}, RSS {before >> 10} -> {after >> 10} KiB")
            return {
                "idle_held": held,
                "idle_rss_before_mib": before / (1 << 20),
                "idle_rss_after_mib": after / (1 << 20),
                "idle_bytes_per_pair": (after - before) / held if held else None,
            }
        finally:
            if client:
                self.procs.stop(client)
            self.procs.stop(p)

    def run(self, proxy):
        results = {}
        why = proxy.available()
        if why:
            log(f"{proxy.key}: failed: {why}")
            return results, why
        phases = [("connrate", lambda: self.connrate(proxy)),
                  ("bulk up", lambda: self.bulk(proxy, "up")),
                  ("bulk down", lambda: self.bulk(proxy, "down")),
                  ("idle", lambda: self.idle(proxy))]
        only = os.environ.get("BENCH_PHASES")
        if only:
            phases = [p for p in phases if p[0] in only.split(",")]
        errors = []
        self.windows = []
        for name, fn in phases:
            log(f"{proxy.key}: {name}")
            try:
                results.update(fn())
            except (PhaseFailed, subprocess.TimeoutExpired, json.JSONDecodeError, OSError,
                    KeyError) as e:
                log(f"{proxy.key}: {name} failed: {e}")
                errors.append(f"{name}: {e}")
                if isinstance(e, StartFailed):
                    break
        if self.windows:
            others = sum(w.others_ticks for w in self.windows)
            results["others_pct"] = 100 * others / sum(w.core_ticks for w in self.windows)
        return results, "; ".join(errors) or None


# ---- report --------------------------------------------------------------------------------

# Both cores' busy time: the proxy plus load generator, backends and softirq (see Window).
HOST_CPU_LABEL = ("{}host CPU s per GB, both cores: proxy + load + backends (lower better; "
                  "quiet host only)")

# (key, label, format, ratio shown); labels say which way is better. Ratios of counts and of
# context rows (load, noise) would only mislead, so those show a dash.
ROWS = [
    ("conn_per_s", "connrate: connections/s, median of 3 (higher better)", "{:,.0f}", True),
    ("conn_failures", "connrate: failed connections, all runs", "{:,.0f}", False),
    ("conn_p99_ms", "connrate: p99 connect+echo+close latency, ms", "{:.2f}", True),
    ("conn_cpu_us", "connrate: proxy CPU µs per connection (lower better)", "{:.1f}", True),
    ("conn_cpu_pct", "connrate: proxy CPU, % of its core", "{:.0f}", False),
    ("conn_load_pct", "connrate: load-generator core busy, %", "{:.0f}", False),
    ("bulk_up_gbps", "bulk upload: Gbit/s (higher better)", "{:.2f}", True),
    ("bulk_up_cpu_s_per_gb", "bulk upload: proxy CPU s per GB (lower better)", "{:.3f}", True),
    ("bulk_up_host_cpu_s_per_gb", HOST_CPU_LABEL.format("bulk upload: "), "{:.3f}", True),
    ("bulk_down_gbps", "bulk download: Gbit/s (higher better)", "{:.2f}", True),
    ("bulk_down_cpu_s_per_gb", "bulk download: proxy CPU s per GB (lower better)", "{:.3f}",
     True),
    ("bulk_down_host_cpu_s_per_gb", HOST_CPU_LABEL.format("bulk download: "), "{:.3f}", True),
    ("idle_held", f"idle: proxied pairs held (of {IDLE_PAIRS:,})", "{:,.0f}", False),
    ("idle_rss_before_mib", "idle: proxy RSS before, MiB", "{:.1f}", True),
    ("idle_rss_after_mib", "idle: proxy RSS with all pairs open, MiB", "{:.1f}", True),
    ("idle_bytes_per_pair", "idle: proxy RSS bytes per pair (lower better)", "{:,.0f}", True),
    ("others_pct", "noise: other processes' CPU on the proxy core, % (want ~0)", "{:.0f}", False),
]


def table(proxies, results):
    ballasts = [p for p in proxies if isinstance(p, Ballast)]
    haproxy = next((p for p in proxies if isinstance(p, HAProxy)), None)
    ratio_cols = ballasts if haproxy else []
    head = ["metric"] + [p.label for p in proxies]
    head += [f"{b.label} ÷ HAProxy" for b in ratio_cols]
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)]
    for key, label, fmt, with_ratio in ROWS:
        row = [label]
        for p in proxies:
            v = results[p.key].get(key)
            row.append("failed" if v is None else fmt.format(v))
        for b in ratio_cols:
            v, h = results[b.key].get(key), results[haproxy.key].get(key)
            row.append(f"{v / h:.2f}" if with_ratio and v is not None and h else "—")
        rows.append(row)
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


DOC_HEADER = """# Benchmarks

Produced by `make bench` (`python3 bench/l4_bench.py`); see bench/README.md for how to run it.

**Method.** One run compares Ballast, HAProxy (`mode tcp`) and NGINX (`stream`), each with one
worker thread, in front of the same two `tcpload serve` backends. The proxy is pinned to CPU 1;
the load generator and backends share CPU 0. Each phase starts the proxy afresh:

- **connrate**: 64 concurrent short connections (connect, 64-byte echo, close) for 5 s, three
  runs, median reported; proxy CPU per connection from `/proc/PID/stat`.
- **bulk**: 4 GiB through 4 streams to a sink (upload) and from a source (download); Gbit/s seen
  by the client, proxy CPU seconds (utime+stime) per 10⁹ bytes.
- **idle**: 9,000 proxied pairs, each after one echo round trip (the per-process limit of 20,000
  fds caps it: each pair is 2 fds in the proxy); RSS growth divided by 9,000.

Everything runs over loopback on one machine: the figures rank the proxies on this host, they
are not network throughput. Each section below is one run, newest last.
"""


def record(text):
    DOC.parent.mkdir(parents=True, exist_ok=True)
    if not DOC.exists():
        DOC.write_text(DOC_HEADER)
    with DOC.open("a") as f:
        f.write(text)
    log(f"appended to {DOC}")


# ---- main ----------------------------------------------------------------------------------


def build_tool(env_var, src):
    """A bench tool from bench/tools: the binary named by env_var, else compiled (when stale)
    into build/bench-tools/."""
    given = os.environ.get(env_var)
    if given:
        return Path(given)
    out = REPO / "build" / "bench-tools" / src.stem
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        out.parent.mkdir(parents=True, exist_ok=True)
        log(f"compiling {out}")
        subprocess.run(["g++", "-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror",
                        str(src), "-o", str(out)], check=True)
    return out


def build_tcpload():
    return build_tool("TCPLOAD_BIN", TCPLOAD_SRC)


def host_busy():
    """Both cores' busy % over a short sample; a shared host makes every figure noisier."""
    before = [core_ticks(c) for c in (LOAD_CPU, PROXY_CPU)]
    time.sleep(HOST_SAMPLE_S)
    return [busy_pct(b, core_ticks(c)) for b, c in zip(before, (LOAD_CPU, PROXY_CPU))]


def check_host():
    if (os.cpu_count() or 1) < 2:
        sys.exit("l4_bench: needs 2 CPUs (one for the proxy, one for the load)")
    try:
        reuse = Path("/proc/sys/net/ipv4/tcp_tw_reuse").read_text().strip()
        if reuse == "0":
            log("warning: net.ipv4.tcp_tw_reuse=0; connrate will run out of ports in TIME_WAIT")
    except OSError:
        pass


def main():
    check_host()
    os.sched_setaffinity(0, {LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tcpload = build_tcpload()

    ballast_bin = os.environ.get("BALLAST_BIN", str(REPO / "build" / "ballast"))
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring").split(",") if x.strip()]
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy,nginx").split(",")
    proxies = []
    if "ballast" in wanted:
        proxies += [Ballast(ballast_bin, io) for io in ios]
    if "haproxy" in wanted:
        proxies.append(HAProxy())
    if "haproxy-splice" in wanted:
        proxies.append(HAProxy(splice=True))
    if "nginx" in wanted:
        proxies.append(Nginx())

    busy = host_busy()
    busy_note = ""
    if max(busy) > HOST_BUSY_WARN_PCT:
        busy_note = (f"- host was busy before the run (CPU{LOAD_CPU} {busy[0]:.0f}%, "
                     f"CPU{PROXY_CPU} {busy[1]:.0f}%): figures are skewed\n")
        log(f"warning: {busy_note[2:].strip()}")
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-l4-bench-") as tmpdir:
        bench = Bench(tcpload, Path(tmpdir))
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], notes[p.key] = bench.run(p)
        finally:
            bench.procs.stop_all()

    text = table(proxies, results)
    versions = {"haproxy": version_of(["haproxy", "-v"]), "nginx": version_of(["nginx", "-v"])}
    failures = [f"- {p.label}: failed ({notes[p.key]})" for p in proxies if notes.get(p.key)]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    shown_bin = Path(ballast_bin).resolve()
    if shown_bin.is_relative_to(REPO):
        shown_bin = shown_bin.relative_to(REPO)  # the record reads the same on every checkout
    section = (
        f"\n## L4 proxy, {stamp}{' (BENCH_QUICK smoke run)' if QUICK else ''}\n\n"
        f"- kernel `{os.uname().release}`, CPU {cpu_model()}, {os.cpu_count()} CPUs\n"
        f"- Ballast io: {', '.join(ios)} (`{shown_bin}`); {versions['haproxy']}; "
        f"{versions['nginx']}\n"
        + busy_note
        + ("\n".join(failures) + "\n" if failures else "")
        + f"\n{text}\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
