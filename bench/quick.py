#!/usr/bin/env python3
# bench/quick.py — `make bench-quick`: Ballast (io_uring) against HAProxy on the four paths that
# guard against regressions, in one short run (well under 2 minutes on this 2-core VM):
#   connections   proxy CPU µs per new L4 connection       (l4_bench connrate)
#   bulk          proxy CPU s per GB, upload and download   (l4_bench bulk, 256 MiB each way)
#   HTTP/1.1      proxy CPU µs per keep-alive request       (http_bench, 64-byte answers)
#   idle memory   proxy RSS bytes per idle proxied pair     (l4_bench idle, 9,000 pairs)
# It prints each ratio to HAProxy (lower is better for all four) and adds one row per run to the
# history table in docs/benchmarks.md ("Quick ratios, per commit"), BENCH_RECORD=0 to only print.
#
# Not a CI gate: on a shared 2-core VM the noise is ±5–10%, more with builds beside it; the
# "noise" column says how much of the proxy core other processes took during the runs.
# Environment: BALLAST_BIN, TCPLOAD_BIN, HTTP_BACKEND_BIN, WRK_BIN as the benches it reuses.
# Python standard library only.

import os
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

os.environ["BENCH_QUICK"] = "1"  # read by the benches at import
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
HISTORY_HEADING = "## Quick ratios, per commit (`make bench-quick`)"
HISTORY_HEAD = ("| date (UTC) | commit | connections CPU | bulk up CPU | bulk down CPU | "
                "HTTP/1.1 CPU | idle bytes/pair | noise on proxy core, % |\n"
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")

# (label, bench, key): each a Ballast ÷ HAProxy ratio, lower better.
PATHS = [
    ("connections: CPU µs per connection", "l4", "conn_cpu_us"),
    ("bulk upload: CPU s per GB", "l4", "bulk_up_cpu_s_per_gb"),
    ("bulk download: CPU s per GB", "l4", "bulk_down_cpu_s_per_gb"),
    ("HTTP/1.1 keep-alive: CPU µs per request", "http", "cpu_us"),
    ("idle: RSS bytes per proxied pair", "l4", "idle_bytes_per_pair"),
]


def log(msg):
    print(f"[bench-quick] {msg}", file=sys.stderr, flush=True)


def run_pair(proxies, make_bench, prefix):
    """Runs Ballast and HAProxy through one bench; their results, in that order."""
    results = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        bench = make_bench(Path(tmp))
        try:
            bench.start_backends()
            for p in proxies:
                results[p.key], _ = bench.run(p)
        finally:
            bench.procs.stop_all()
    return [results[p.key] for p in proxies]


def ratio(ours, theirs, key):
    a, b = (ours or {}).get(key), (theirs or {}).get(key)
    return a / b if a is not None and b else None


def commit():
    out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def add_history_row(row):
    """Appends `row` to the history table, creating the section the first time."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    if HISTORY_HEADING not in text:
        text = text.rstrip("\n") + (
            f"\n\n{HISTORY_HEADING}\n\nEach cell is Ballast (io_uring) ÷ HAProxy, one worker "
            "each, lower is better; BENCH_QUICK figures, so read trends, not single rows.\n\n"
            + HISTORY_HEAD)
    lines = text.split("\n")
    at = lines.index(HISTORY_HEADING) + 1
    while at < len(lines) and not lines[at].startswith("|"):
        at += 1
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines.insert(at, row)
    DOC.write_text("\n".join(lines).rstrip("\n") + "\n")


def main():
    l4.check_host()
    wrk = os.environ.get("WRK_BIN") or hb.shutil.which("wrk")
    if not wrk:
        sys.exit("bench-quick: wrk not found (apt-get install wrk, or set WRK_BIN)")
    os.sched_setaffinity(0, {l4.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ballast_bin = os.environ.get("BALLAST_BIN", str(REPO / "build" / "ballast"))

    log("L4: connections, bulk, idle")
    l4_ours, l4_haproxy = run_pair([l4.Ballast(ballast_bin, "io_uring"), l4.HAProxy()],
                                   lambda tmp: l4.Bench(l4.build_tcpload(), tmp),
                                   "ballast-quick-l4-")
    log("HTTP/1.1 keep-alive")
    http_ours, http_haproxy = run_pair([hb.Ballast(ballast_bin, "io_uring"), hb.HAProxy()],
                                       lambda tmp: hb.HttpBench(hb.build_backend(), wrk, tmp),
                                       "ballast-quick-http-")
    got = {"l4": (l4_ours, l4_haproxy), "http": (http_ours, http_haproxy)}
    noise = max((r or {}).get("others_pct", 0) or 0
                for r in (l4_ours, l4_haproxy, http_ours, http_haproxy))

    ratios = [ratio(*got[bench], key) for _, bench, key in PATHS]
    rows = ["| path (Ballast ÷ HAProxy, lower better) | ratio |", "| --- | ---: |"]
    for (label, _, _), r in zip(PATHS, ratios):
        rows.append(f"| {label} | {'failed' if r is None else f'{r:.2f}'} |")
    rows.append(f"| noise: other processes on the proxy core, % | {noise:.0f} |")
    print("\n".join(rows))

    cells = ["failed" if r is None else f"{r:.2f}" for r in ratios]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    row = f"| {stamp} | `{commit()}` | " + " | ".join(cells) + f" | {noise:.0f} |"
    if os.environ.get("BENCH_RECORD", "1") != "0":
        add_history_row(row)
        log(f"history row added to {DOC}")
    return 1 if any(r is None for r in ratios) else 0


if __name__ == "__main__":
    sys.exit(main())
