#!/usr/bin/env python3
"""bench/health_bench.py — what active health checks cost the control thread at scale.

Ballast runs with 10,000 backends (BENCH_BACKENDS) in 10 pools, each TCP-checked every 2 s
(jitter 10%), so about 5,000 checks a second. The backends are real listeners of one helper
process: BENCH_ADDRS loopback addresses (127.0.1.1, 127.0.1.2, …) × enough ports, one listening
socket each, kept under the 20,000 open files a process may have. The helper accepts and closes.

After a warm-up of one interval, the control thread's CPU (utime+stime from
/proc/PID/task/TID/stat; the control thread is the main thread, named like the process, while
workers are `worker-N` and the log writer `log-writer`) is sampled over BENCH_SECONDS and
printed as CPU per second, with the checks counted by ballast_health_checks_total over the
same span. Appended to docs/benchmarks.md unless BENCH_RECORD=0.

  python3 bench/health_bench.py          # BALLAST_BIN=build/ballast
"""
import datetime
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BALLAST = os.path.abspath(os.environ.get("BALLAST_BIN", os.path.join(HERE, "../build/ballast")))
BACKENDS = int(os.environ.get("BENCH_BACKENDS", "10000"))
ADDRS = int(os.environ.get("BENCH_ADDRS", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
POOLS = 10
INTERVAL_S = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The helper: binds every backend address, then accepts and closes until killed. Run as its own
# process so its file descriptors and CPU are not ours.
LISTENER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for line in sys.stdin:
    host, port = line.split()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
            c.close()
        except OSError:
            pass
"""


def backend_addresses():
    """BACKENDS (host, port) pairs: ADDRS hosts × the ports free on all of them."""
    per_host = (BACKENDS + ADDRS - 1) // ADDRS
    hosts = [f"127.0.1.{i + 1}" for i in range(ADDRS)]
    ports, port = [], 20000
    while len(ports) < per_host and port < 60000:
        ok = True
        for h in hosts:
            with socket.socket() as s:
                try:
                    s.bind((h, port))
                except OSError:
                    ok = False
                    break
        if ok:
            ports.append(port)
        port += 1
    out = [(h, p) for p in ports for h in hosts]
    return out[:BACKENDS]


def control_cpu_ticks(pid):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() != "ballast":
                continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    raise RuntimeError("no control thread found")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


def main():
    addrs = backend_addresses()
    if len(addrs) < BACKENDS:
        sys.exit(f"health_bench: only {len(addrs)} free addresses")
    helper = subprocess.Popen([sys.executable, "-c", LISTENER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: resource.setrlimit(
                                  resource.RLIMIT_NOFILE, (20000, 20000)))
    helper.stdin.write("".join(f"{h} {p}\n" for h, p in addrs))
    helper.stdin.close()
    if helper.stdout.readline().strip() != "ready":
        sys.exit("health_bench: listener helper failed")
    d = tempfile.mkdtemp(prefix="ballast-health-bench-")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    lines = ["workers: 1", "logging: {level: warn}", f'metrics: {{bind: "127.0.0.1:{metrics_port}"}}',
             "pools:"]
    per_pool = (len(addrs) + POOLS - 1) // POOLS
    for i in range(POOLS):
        lines += [f"  - name: p{i}",
                  f"    health_check: {{type: tcp, interval: {INTERVAL_S}s, timeout: 1s, jitter: 10%}}",
                  "    backends:"]
        lines += [f'      - {{address: "{h}:{p}"}}' for h, p in addrs[i * per_pool:(i + 1) * per_pool]]
    path = os.path.join(d, "ballast.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = open(os.path.join(d, "ballast.log"), "w")
    lb = subprocess.Popen([BALLAST, "run", "-c", path], stdout=log, stderr=log)
    try:
        time.sleep(INTERVAL_S + 1)  # warm-up: every backend checked once (not a readiness wait)
        if lb.poll() is not None:
            sys.exit(f"health_bench: ballast exited {lb.returncode}; see {d}/ballast.log")
        t0, c0, n0 = time.monotonic(), control_cpu_ticks(lb.pid), metric(metrics_port, "ballast_health_checks_total")
        time.sleep(SECONDS)
        t1, c1, n1 = time.monotonic(), control_cpu_ticks(lb.pid), metric(metrics_port, "ballast_health_checks_total")
        changes = metric(metrics_port, "ballast_health_state_changes_total")
    finally:
        lb.send_signal(signal.SIGTERM)
        lb.wait(30)
        helper.kill()
        helper.wait()
    cpu_per_s = (c1 - c0) / CLK_TCK / (t1 - t0)
    checks_per_s = (n1 - n0) / (t1 - t0)
    us_per_check = cpu_per_s * 1e6 / checks_per_s if checks_per_s else float("nan")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    section = "\n".join([
        f"## Health checks at scale, {now}",
        "",
        f"- kernel `{platform.release()}`, {os.cpu_count()} CPUs, load average {load} at the end",
        f"- {len(addrs):,} backends ({ADDRS} loopback addresses × ports of one listener process), "
        f"TCP checks every {INTERVAL_S} s, jitter 10%, sampled over {SECONDS:.0f} s",
        "",
        "| metric | value |",
        "| --- | ---: |",
        f"| checks run per second | {checks_per_s:,.0f} |",
        f"| control thread CPU, seconds per second | {cpu_per_s:.3f} |",
        f"| control thread CPU per check, µs | {us_per_check:.1f} |",
        f"| backends that changed state during the run (should be 0) | {changes:.0f} |",
        "",
    ])
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        with open(os.path.join(HERE, "../docs/benchmarks.md"), "a") as f:
            f.write("\n" + section)


if __name__ == "__main__":
    main()
