#!/usr/bin/env python3
# bench/cache_bench.py — cache hits: Ballast `cache:` vs NGINX `proxy_cache` (on tmpfs, as the
# issue asks) vs HAProxy's `cache`, one worker each, same run. The backend answers every request
# with `Cache-Control: max-age=3600`, so after the warm-up every request is a hit: the figure
# that matters is the proxy's CPU per request, and "backend requests per 1,000" shows that the
# hits were hits. Same machinery as bench/http_bench.py (wrk -t1 -c64, proxy pinned to CPU 1,
# wrk and the backend on CPU 0, median of 3 runs); prints one table and appends it to
# docs/benchmarks.md. Environment as for http_bench.py.
import os
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402

MAX_AGE = 3600


class Ballast(hb.Ballast):
    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-http.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - {{name: bench, bind: "127.0.0.1:{listen_port}", protocol: http, pool: backends,
     cache: {{max_size: 64MiB}}}}
pools:
  - name: backends
    backends: [{servers}]
""")
        return [self.binary, "run", "-c", cfg]


class HAProxy(hb.HAProxy):
    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"  server b{i} 127.0.0.1:{b}" for i, b in enumerate(backends))
        cfg = tmp / "haproxy-http.cfg"
        cfg.write_text(f"""global
  nbthread 1
  maxconn {l4.PROXY_MAX_CONNECTIONS}
  no strict-limits

defaults
  mode http
  timeout connect 5s
  timeout client 1m
  timeout server 1m

cache bench
  total-max-size 64
  max-age {MAX_AGE}

listen bench
  bind 127.0.0.1:{listen_port}
  balance roundrobin
  http-reuse always
  http-request cache-use bench
  http-response cache-store bench
{servers}
""")
        return ["haproxy", "-f", cfg, "-db"]


class Nginx(hb.Nginx):
    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"    server 127.0.0.1:{b};" for b in backends)
        cfg = tmp / "nginx-http.conf"
        # The cache's files on tmpfs (/dev/shm): no disk in the measurement.
        self.cache_dir = tempfile.mkdtemp(prefix="ballast-nginx-cache-", dir="/dev/shm")
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
  proxy_cache_path {self.cache_dir} levels=1:2 keys_zone=bench:10m max_size=64m;
  upstream backends {{
{servers}
    keepalive {hb.CONNECTIONS};
  }}
  server {{
    listen 127.0.0.1:{listen_port};
    location / {{
      proxy_cache bench;
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
        return ["nginx", "-c", cfg, "-p", f"{tmp}/", "-e", "stderr"]


class CacheBench(hb.HttpBench):
    backend_args = ("--cache-control", f"max-age={MAX_AGE}")


ROWS = [
    ("rps", f"requests/s, median of {hb.RUNS} (higher better)", "{:,.0f}", True),
    ("cpu_us", "proxy CPU µs per request (lower better)", "{:.2f}", True),
    ("p50_ms", "p50 latency, ms, median run (lower better)", "{:.3f}", True),
    ("p99_ms", "p99 latency, ms, median run (lower better)", "{:.3f}", True),
    ("backend_reqs_per_1k", "backend requests per 1,000 (0: every request a hit)", "{:.2f}",
     False),
    ("non2xx", "non-2xx/3xx responses, all runs", "{:,.0f}", False),
    ("sock_errors", "socket errors (connect/read/write/timeout), all runs", "{:,.0f}", False),
    ("cpu_pct", "proxy CPU, % of its core", "{:.0f}", False),
    ("others_pct", "noise: other processes' CPU on the proxy core, % (want ~0)", "{:.0f}", False),
]


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("cache_bench: needs 2 CPUs (one for the proxy, one for the load)")
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not wrk:
        sys.exit("cache_bench: wrk not found (apt-get install wrk, or set WRK_BIN)")
    os.sched_setaffinity(0, {hb.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ballast_bin = os.environ.get("BALLAST_BIN", str(hb.REPO / "build" / "ballast"))
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring").split(",") if x.strip()]
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy,nginx").split(",")
    proxies = []
    if "ballast" in wanted:
        proxies += [Ballast(ballast_bin, io) for io in ios]
    if "haproxy" in wanted:
        proxies.append(HAProxy())
    if "nginx" in wanted:
        proxies.append(Nginx())
    hb.ROWS[:] = ROWS
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-cache-bench-") as tmpdir:
        bench = CacheBench(backend_bin, wrk, Path(tmpdir))
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], notes[p.key] = bench.run(p)
        finally:
            bench.procs.stop_all()
            for p in proxies:
                if getattr(p, "cache_dir", None):
                    shutil.rmtree(p.cache_dir, ignore_errors=True)
    text = hb.table(proxies, results)
    notes_md = [f"- {p.label}: {'failed' if not results[p.key] else 'anomaly'} ({notes[p.key]})"
                for p in proxies if notes.get(p.key)]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## HTTP cache hits, {stamp}{' (BENCH_QUICK smoke run)' if hb.QUICK else ''}\n\n"
        f"- `python3 bench/cache_bench.py`: wrk -t1 -c{hb.CONNECTIONS} -d{hb.RUN_SECONDS}s, "
        f"{hb.RUNS} runs after a {hb.WARMUP_SECONDS} s warm-up; GET / → 200, 64-byte body, "
        f"`Cache-Control: max-age={MAX_AGE}`: every request after the first is a hit. Ballast "
        f"`cache:`, NGINX `proxy_cache` (files on tmpfs), HAProxy `cache` (memory); no access "
        f"logging anywhere\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}, {os.cpu_count()} CPUs; "
        f"{l4.version_of(['haproxy', '-v'])}; {l4.version_of(['nginx', '-v'])}\n"
        + hb.noisy_note(proxies, results)
        + ("\n".join(notes_md) + "\n" if notes_md else "")
        + f"\n{text}\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
