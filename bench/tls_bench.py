#!/usr/bin/env python3
# bench/tls_bench.py — HTTPS termination: Ballast (`protocol: https`) vs HAProxy (`bind … ssl`)
# vs NGINX (`listen … ssl`), one worker each, the same ECDSA P-256 certificate, the same plain
# HTTP backends, in one run; prints one table and appends it to docs/benchmarks.md.
#
# Three phases per proxy, each measuring the proxy's CPU from /proc (bench/l4_bench.py's
# Window: the proxy pinned to CPU 1, the load and this script on CPU 0):
#   full handshakes     openssl s_time -new: a new TCP connection and TLS 1.3 handshake per GET
#   resumed handshakes  openssl s_time -reuse: the same with the first session resumed
#   keep-alive HTTPS    wrk -t1 -c64 over https: CPU per request once connections are up
# s_time is single-threaded, so handshakes/s reflects the client as much as the proxy; CPU µs per
# handshake is the figure to compare.
#
# Environment: BALLAST_BIN, BALLAST_IO, HTTP_BACKEND_BIN, WRK_BIN, BENCH_QUICK=1, BENCH_PROXIES,
# BENCH_RECORD=0, as bench/http_bench.py. Python standard library only.

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3
SECONDS = 2 if QUICK else 5
CONNECTIONS = 64


def log(msg):
    print(f"[tls_bench] {msg}", file=sys.stderr, flush=True)


class Ballast(l4.Ballast):
    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-tls.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: error}}
listeners:
  - name: bench
    bind: "127.0.0.1:{listen_port}"
    protocol: https
    pool: backends
    tls: {{certificates: [{{cert: "{tmp}/cert.pem", key: "{tmp}/key.pem"}}]}}
pools:
  - name: backends
    backends: [{servers}]
""")
        return [self.binary, "run", "-c", cfg]


class HAProxy(l4.HAProxy):
    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"  server b{i} 127.0.0.1:{b}" for i, b in enumerate(backends))
        cfg = tmp / "haproxy-tls.cfg"
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
  bind 127.0.0.1:{listen_port} ssl crt {tmp}/combined.pem
  balance roundrobin
  http-reuse always
{servers}
""")
        return ["haproxy", "-f", cfg, "-db"]


class Nginx(hb.Nginx):
    def argv(self, tmp, listen_port, backends):
        servers = "\n".join(f"    server 127.0.0.1:{b};" for b in backends)
        cfg = tmp / "nginx-tls.conf"
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
{servers}
    keepalive {CONNECTIONS};
  }}
  server {{
    listen 127.0.0.1:{listen_port} ssl;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    ssl_session_cache shared:SSL:10m;
    # nginx 1.22 offers TLS 1.0-1.2 unless told: without this line its full handshakes were
    # TLS 1.2 (no HKDF key schedule) while Ballast's and HAProxy's were TLS 1.3.
    ssl_protocols TLSv1.3;
    location / {{
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
        return ["nginx", "-c", cfg, "-p", f"{tmp}/", "-e", "stderr"]


def make_certificate(tmp):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tmp / "key.pem",
                    "-out", tmp / "cert.pem", "-days", "30", "-subj", "/CN=bench.local",
                    "-addext", "subjectAltName=DNS:bench.local"], check=True,
                   capture_output=True)
    (tmp / "combined.pem").write_text((tmp / "cert.pem").read_text() +
                                      (tmp / "key.pem").read_text())


def s_time(port, mode):
    """Connections made by openssl s_time in SECONDS (each a handshake and a GET /). TLS 1.3 only:
    a proxy that would settle for 1.2 fails the phase instead of winning it by doing less."""
    out = subprocess.run(["taskset", "-c", str(l4.LOAD_CPU), "openssl", "s_time", "-connect",
                          f"127.0.0.1:{port}", mode, "-tls1_3", "-time", str(SECONDS), "-www", "/"],
                         capture_output=True, text=True, timeout=SECONDS + 60)
    m = re.search(r"(\d+) connections in [\d.]+s", out.stdout)
    if not m:
        raise l4.PhaseFailed(f"s_time {mode}: {(out.stdout + out.stderr)[-300:]!r}")
    return int(m.group(1))


class TlsBench(hb.HttpBench):
    def phase(self, proxy, name, measure):
        p, port = self.start_proxy(proxy, "http", f"tls-{name}")
        try:
            measure(port)  # warm-up: the proxy's upstream pool, OpenSSL's first-use costs
            runs = []
            for _ in range(RUNS):
                w = l4.Window(p.pid)
                count = measure(port)
                win = w.close()
                self.alive(p, proxy, f"tls-{name}")
                runs.append((count, win.proxy_cpu_s))
        finally:
            self.procs.stop(p)
        total = sum(c for c, _ in runs)
        if not total:
            raise l4.PhaseFailed(f"{name}: nothing completed")
        log(f"{proxy.key} {name}: {[c for c, _ in runs]}")
        return (statistics.median(c / SECONDS for c, _ in runs),
                1e6 * sum(s for _, s in runs) / total)

    def run_tls(self, proxy):
        why = proxy.available()
        if why:
            return {}, why
        out = {}
        try:
            out["new_rate"], out["new_cpu_us"] = self.phase(
                proxy, "new", lambda port: s_time(port, "-new"))
            out["reuse_rate"], out["reuse_cpu_us"] = self.phase(
                proxy, "reuse", lambda port: s_time(port, "-reuse"))

            def keepalive(port):
                argv = ["taskset", "-c", str(l4.LOAD_CPU), self.wrk_bin, "-t1",
                        f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency",
                        f"https://127.0.0.1:{port}/"]
                r = hb.parse_wrk(subprocess.run(argv, capture_output=True, text=True,
                                                timeout=SECONDS + 60).stdout)
                if r["non2xx"] or r["errors"]:
                    raise l4.PhaseFailed(f"wrk: {r['non2xx']} non-2xx, errors {r['errors']}")
                return r["requests"]
            out["ka_rate"], out["ka_cpu_us"] = self.phase(proxy, "keepalive", keepalive)
        except (l4.PhaseFailed, subprocess.TimeoutExpired, OSError, RuntimeError) as e:
            log(f"{proxy.key}: failed: {e}")
            return out, str(e)
        return out, None


ROWS = [
    ("new_rate", "full TLS 1.3 handshakes/s (s_time -new, client-bound)", "{:,.0f}", True),
    ("new_cpu_us", "proxy CPU µs per full handshake + GET (lower better)", "{:.0f}", True),
    ("reuse_rate", "resumed handshakes/s (s_time -reuse)", "{:,.0f}", True),
    ("reuse_cpu_us", "proxy CPU µs per resumed handshake + GET (lower better)", "{:.0f}", True),
    ("ka_rate", f"HTTPS keep-alive requests/s (wrk -c{CONNECTIONS})", "{:,.0f}", True),
    ("ka_cpu_us", "proxy CPU µs per HTTPS keep-alive request (lower better)", "{:.2f}", True),
]


def main():
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not wrk or not shutil.which("openssl"):
        sys.exit("tls_bench: needs wrk and openssl")
    os.sched_setaffinity(0, {l4.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ballast_bin = os.environ.get("BALLAST_BIN", str(l4.REPO / "build" / "ballast"))
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring").split(",") if x.strip()]
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy,nginx").split(",")
    proxies = ([Ballast(ballast_bin, io) for io in ios] if "ballast" in wanted else []) + \
        ([HAProxy()] if "haproxy" in wanted else []) + ([Nginx()] if "nginx" in wanted else [])
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-tls-bench-") as tmpdir:
        tmp = Path(tmpdir)
        make_certificate(tmp)
        bench = TlsBench(backend_bin, wrk, tmp)
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], notes[p.key] = bench.run_tls(p)
        finally:
            bench.procs.stop_all()
    haproxy = next((p for p in proxies if isinstance(p, HAProxy)), None)
    others = [p for p in proxies if p is not haproxy] if haproxy else []
    head = ["metric"] + [p.label for p in proxies] + [f"{p.label} ÷ HAProxy" for p in others]
    rows = [head, ["---"] + ["---:"] * (len(head) - 1)]
    for key, label, fmt, ratio in ROWS:
        row = [label] + [fmt.format(results[p.key][key]) if key in results[p.key] else "failed"
                         for p in proxies]
        for p in others:
            v, h = results[p.key].get(key), results[haproxy.key].get(key)
            row.append(f"{v / h:.2f}" if ratio and v and h else "—")
        rows.append(row)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    busy = l4.host_busy()
    notes_md = "".join(f"- {p.label}: {notes[p.key]}\n" for p in proxies if notes.get(p.key))
    section = (
        f"\n## HTTPS termination, {stamp}{' (BENCH_QUICK smoke run)' if QUICK else ''}\n\n"
        f"- `python3 bench/tls_bench.py`: one worker each, ECDSA P-256 certificate, TLS 1.3, "
        f"{RUNS} runs of {SECONDS} s per phase (median rate; CPU summed over runs), GET / → "
        f"64-byte body from two plain `http_backend` ports\n"
        f"- {l4.version_of(['haproxy', '-v'])}; {l4.version_of(['nginx', '-v'])}; "
        f"{l4.version_of(['openssl', 'version'])}; host busy before: CPU{l4.LOAD_CPU} "
        f"{busy[0]:.0f}%, CPU{l4.PROXY_CPU} {busy[1]:.0f}%\n" + notes_md + "\n" +
        "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
