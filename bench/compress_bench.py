#!/usr/bin/env python3
# bench/compress_bench.py — response compression: Ballast `compress:` with gzip (level 6), zstd
# (3) and brotli (4) vs NGINX `gzip` at the same level 6, one worker each, same run. The backend
# answers every GET with 64 KiB of text lines (compressible like HTML or JSON); wrk asks with
# `Accept-Encoding: <coding>`. The figure that matters is the proxy's CPU per MB of body
# compressed, and the ratio the coding reached. Same machinery as bench/http_bench.py (wrk -t1
# -c64, proxy pinned to CPU 1, wrk and the backend on CPU 0, median of 3 runs); prints one table
# and appends it to docs/benchmarks.md. Environment as for http_bench.py.
import gzip
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402

BODY_BYTES = 64 * 1024
LEVELS = {"gzip": 6, "zstd": 3, "br": 4}


class Ballast(hb.Ballast):
    def __init__(self, binary, io, coding):
        super().__init__(binary, io)
        self.coding = coding
        self.key = f"ballast-{coding}"
        self.label = f"Ballast {coding} {LEVELS[coding]}"

    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-http.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - {{name: bench, bind: "127.0.0.1:{listen_port}", protocol: http, pool: backends,
     compress: {{algorithms: [{self.coding}], level: {{{self.coding}: {LEVELS[self.coding]}}}}}}}
pools:
  - name: backends
    backends: [{servers}]
""")
        return [self.binary, "run", "-c", cfg]


class Nginx(hb.Nginx):
    coding = "gzip"

    def __init__(self):
        super().__init__()
        self.label = "NGINX gzip 6"

    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"    server 127.0.0.1:{b};" for b in backends)
        cfg = tmp / "nginx-http.conf"
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
  gzip on;
  gzip_comp_level {LEVELS['gzip']};
  gzip_types text/plain;
  gzip_proxied any;
  gzip_min_length 1024;
  upstream backends {{
{servers}
    keepalive {hb.CONNECTIONS};
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


def check_compressed(coding):
    def check(port, what, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/", headers={"Host": "bench.local", "Accept-Encoding": coding,
                                                  **(headers or {})})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or resp.getheader("Content-Encoding") != coding:
                raise l4.PhaseFailed(f"{what} check: status {resp.status}, Content-Encoding "
                                     f"{resp.getheader('Content-Encoding')!r} (want {coding})")
            if coding == "gzip" and len(gzip.decompress(body)) != BODY_BYTES:
                raise l4.PhaseFailed(f"{what} check: gzip body does not decode to {BODY_BYTES}")
            check.compressed_bytes = len(body)
        except (OSError, http.client.HTTPException) as e:
            raise l4.PhaseFailed(f"{what} check: {type(e).__name__}: {e}") from e
        finally:
            conn.close()
    check.compressed_bytes = 0
    return check


class CompressBench(hb.HttpBench):
    backend_args = ("--body-bytes", str(BODY_BYTES))
    coding = "gzip"

    def wrk(self, port, seconds):
        argv = ["taskset", "-c", str(hb.LOAD_CPU), self.wrk_bin, "-t1", f"-c{hb.CONNECTIONS}",
                f"-d{seconds}s", "--latency", "-H", f"Accept-Encoding: {self.coding}",
                f"http://127.0.0.1:{port}/"]
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=seconds + hb.WRK_TIMEOUT_S, preexec_fn=l4._die_with_parent)
        try:
            r = hb.parse_wrk(out.stdout)
        except ValueError as e:
            raise l4.PhaseFailed(f"wrk: {e}; exit {out.returncode}") from e
        r["raw"] = out.stdout.strip()
        return r


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("compress_bench: needs 2 CPUs")
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not wrk:
        sys.exit("compress_bench: wrk not found")
    os.sched_setaffinity(0, {hb.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ballast_bin = os.environ.get("BALLAST_BIN", str(hb.REPO / "build" / "ballast"))
    io = os.environ.get("BALLAST_IO", "io_uring").split(",")[0]
    wanted = os.environ.get("BENCH_PROXIES", "ballast,nginx").split(",")
    proxies = []
    if "ballast" in wanted:
        proxies += [Ballast(ballast_bin, io, c) for c in ("gzip", "zstd", "br")]
    if "nginx" in wanted:
        proxies.append(Nginx())
    results, notes, sizes = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-compress-bench-") as tmpdir:
        bench = CompressBench(backend_bin, wrk, Path(tmpdir))
        try:
            bench.start_backends()
            for p in proxies:
                bench.coding = p.coding
                check = check_compressed(p.coding)
                hb.check_response = check
                results[p.key], notes[p.key] = bench.run(p)
                sizes[p.key] = check.compressed_bytes
        finally:
            bench.procs.stop_all()
    mb = BODY_BYTES / 1e6
    head = ["metric"] + [p.label for p in proxies]
    rows = [head, ["---"] + ["---:"] * len(proxies)]

    def row(label, fn):
        cells = [label]
        for p in proxies:
            r = results.get(p.key) or {}
            try:
                cells.append(fn(p, r))
            except (KeyError, TypeError, ZeroDivisionError):
                cells.append("failed")
        rows.append(cells)
    row(f"requests/s, median of {hb.RUNS} (higher better)", lambda p, r: f"{r['rps']:,.0f}")
    row("proxy CPU µs per request (lower better)", lambda p, r: f"{r['cpu_us']:.1f}")
    row("proxy CPU ms per MB of body compressed (lower better)",
        lambda p, r: f"{r['cpu_us'] / 1000 / mb:.2f}")
    row("compressed size, % of the 64 KiB body", lambda p, r: f"{100 * sizes[p.key] / BODY_BYTES:.1f}")
    row("p99 latency, ms", lambda p, r: f"{r['p99_ms']:.3f}")
    row("non-2xx/3xx + socket errors", lambda p, r: f"{r['non2xx'] + r['sock_errors']}")
    text = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    notes_md = [f"- {p.label}: {'failed' if not results[p.key] else 'anomaly'} ({notes[p.key]})"
                for p in proxies if notes.get(p.key)]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"\n## Response compression, {stamp}{' (BENCH_QUICK smoke run)' if hb.QUICK else ''}\n\n"
        f"- `python3 bench/compress_bench.py`: wrk -t1 -c{hb.CONNECTIONS} -d{hb.RUN_SECONDS}s with "
        f"`Accept-Encoding: <coding>`, {hb.RUNS} runs after a warm-up; GET / → 200 with "
        f"{BODY_BYTES // 1024} KiB of text lines; Ballast `compress:` (io {io}) at gzip 6, zstd 3, "
        f"br 4 vs NGINX `gzip_comp_level 6`; no access logging\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}; {l4.version_of(['nginx', '-v'])}\n"
        + ("\n".join(notes_md) + "\n" if notes_md else "")
        + f"\n{text}\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
