#!/usr/bin/env python3
"""bench/kernel_reconcile_bench.py — how fast the kernel plane converges (nftables driver).

In a throwaway network namespace (root only), with N services × M backends (default 1,000 × 10):
  converge from empty    `ballast apply` on an empty kernel: read, diff, one transaction, verify
  idle apply             `ballast apply` again: read + diff only, nothing to change
  one change (apply)     one backend's weight changed, `ballast apply`: one service rewritten
  one change (reload)    `ballast run` running; one weight changed + SIGHUP → kernel updated
  health check → map     `ballast run`; one backend (the only one with a health check) dies →
                         out of the map, detection by the check included
  one health change      that pass alone, from its kernel.applied log line (pass_ms, apply_ms)
  CPU per idle reconcile `ballast run` idle for a while: process CPU / reconcile passes
Prints a table. Nothing leaves the namespace; the namespace is deleted at the end.

  sudo python3 bench/kernel_reconcile_bench.py            # BALLAST_BIN=build/ballast
  BENCH_SERVICES=100 sudo python3 bench/kernel_reconcile_bench.py
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BALLAST = os.path.abspath(os.environ.get("BALLAST_BIN", os.path.join(HERE, "../build/ballast")))
SERVICES = int(os.environ.get("BENCH_SERVICES", "1000"))
BACKENDS = int(os.environ.get("BENCH_BACKENDS", "10"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "10"))
INTERVAL_MS = 1000
NS = f"bkbench{os.getpid()}"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def vip(i):
    return f"198.18.{100 + i // 250}.{i % 250 + 1}"


def backend(i, j):
    n = i * BACKENDS + j
    return f"198.19.{n // 250}.{n % 250 + 1}"


def config(weight_bump=None, health_port=None):
    lines = [f"kernel: {{driver: nftables, reconcile_interval: {INTERVAL_MS}ms}}",
             "admin: {socket: ''}", "virtual_services:"]
    for i in range(SERVICES):
        lines += [f"  - name: s{i}", f"    vip: {vip(i)}", "    port: 80", "    backends:"]
        for j in range(BACKENDS):
            w = 1 + (i + j) % 3
            if weight_bump == (i, j):
                w += 10
            lines.append(f"      - {{address: {backend(i, j)}, port: 8080, weight: {w}}}")
    if health_port is not None:
        # One extra service whose single checked backend lives in the namespace itself.
        lines += ["  - name: checked", "    vip: 198.18.99.1", "    port: 80", "    backends:",
                  f"      - {{address: 127.0.0.1, port: {health_port}}}",
                  f"      - {{address: 127.0.0.2, port: {health_port}}}",
                  "    health_check: {type: tcp, interval: 200ms, timeout: 100ms, fall: 1, "
                  "rise: 1, jitter: 0}"]
    return "\n".join(lines) + "\n"


def netns(*cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", NS, *cmd], capture_output=True, text=True, **kw)


def timed_apply(path):
    start = time.perf_counter()
    out = netns(BALLAST, "apply", "-q", "-c", path)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"ballast apply failed: {out.stderr.strip()}")
    return took


def map_has(name, needle):
    out = netns("nft", "list", "map", "inet", "ballast", name)
    return out.returncode == 0 and needle in out.stdout


def wait_for(pred, timeout, what, poll_s=0.002):
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if pred():
            return time.perf_counter() - start
        time.sleep(poll_s)
    raise RuntimeError(f"timed out waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def log_time(stamp):
    # "2026-12-06T10:31:09.718451Z" → seconds (only differences are used)
    hms = stamp.split("T")[1].rstrip("Z")
    h, m, sec = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def health_pass(log_path, backend):
    """The health.down event for `backend` and the kernel.applied pass it started, from the log:
    the pass's own stage timings, not the health check's detection time."""
    down = applied = None
    with open(log_path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            e = json.loads(line)
            if e.get("event") == "health.down" and e.get("backend", "").startswith(backend):
                down, applied = e, None
            elif (down is not None and applied is None and e.get("event") == "kernel.applied"
                  and backend in e.get("reason", "")):
                applied = e
    if down is None or applied is None:
        raise RuntimeError(f"no health.down / kernel.applied pair for {backend} in the log")
    down["t"], applied["t"] = log_time(down["time"]), log_time(applied["time"])
    return down, applied


def main():
    if os.geteuid() != 0:
        print("kernel_reconcile_bench: needs root (network namespace, nftables); skipped")
        return 0
    if not os.access(BALLAST, os.X_OK):
        print(f"kernel_reconcile_bench: no ballast binary at {BALLAST}; skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="ballast-kbench-")
    subprocess.run(["ip", "netns", "add", NS], check=True)
    proc = None
    rows = []
    try:
        netns("ip", "link", "set", "lo", "up")
        path = os.path.join(tmp, "k.yaml")
        with open(path, "w") as f:
            f.write(config())
        rows.append(("converge from empty (apply)", f"{timed_apply(path) * 1000:.0f} ms"))
        rows.append(("idle apply (read + diff)", f"{timed_apply(path) * 1000:.0f} ms"))
        with open(path, "w") as f:
            f.write(config(weight_bump=(SERVICES // 2, 0)))
        rows.append(("one weight change (apply)", f"{timed_apply(path) * 1000:.0f} ms"))

        # Daemon: reload latency, health latency, idle CPU.
        netns("nft", "delete", "table", "inet", "ballast")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        listener = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c",
                                     "import socket,time\ns=socket.socket()\n"
                                     "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                                     f"s.bind(('127.0.0.1',{port}))\ns.listen(64)\n"
                                     "time.sleep(3600)"])
        try:
            with open(path, "w") as f:
                f.write(config(health_port=port))
            log = open(os.path.join(tmp, "run.log"), "w")
            start = time.perf_counter()
            proc = subprocess.Popen(["ip", "netns", "exec", NS, BALLAST, "run", "-c", path],
                                    stdout=log, stderr=log)
            log.close()
            last = f"s{SERVICES - 1}"
            wait_for(lambda: map_has(f"be_{last}", backend(SERVICES - 1, 0)), 120,
                     "daemon convergence", poll_s=0.02)
            rows.append(("converge from empty (run)",
                         f"{(time.perf_counter() - start) * 1000:.0f} ms incl. start-up"))
            # 127.0.0.2 is down (nothing listens there): wait until the checker took it out.
            wait_for(lambda: map_has("be_checked", "127.0.0.1") and
                     not map_has("be_checked", "127.0.0.2"), 10, "first health pass")

            i, j = SERVICES // 3, 1
            with open(path, "w") as f:
                f.write(config(weight_bump=(i, j), health_port=port))
            old = netns("nft", "list", "map", "inet", "ballast", f"be_s{i}").stdout
            start = time.perf_counter()
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: netns("nft", "list", "map", "inet", "ballast",
                                   f"be_s{i}").stdout != old, 30, "reload applied")
            rows.append(("one weight change (SIGHUP)",
                         f"{(time.perf_counter() - start) * 1000:.0f} ms incl. reload"))

            start = time.perf_counter()
            listener.kill()
            listener.wait()
            # Polled gently: each poll is an `nft` process taking the same netlink mutex as the
            # pass being timed; the pass's own timings come from its log line below.
            wait_for(lambda: not map_has("be_checked", "127.0.0.1"), 10, "health removal",
                     poll_s=0.05)
            rows.append(("health check sees it → map",
                         f"{(time.perf_counter() - start) * 1000:.0f} ms "
                         "(check interval 200 ms, fall 1)"))
            down, applied = health_pass(os.path.join(tmp, "run.log"), "127.0.0.1")
            rows.append(("one health change → map",
                         f"{applied['pass_ms']:.1f} ms pass (apply {applied['apply_ms']:.1f} ms,"
                         f" {'partial' if applied.get('partial') else 'full'}); "
                         f"{(applied['t'] - down['t']) * 1000:.1f} ms from health.down logged"))

            time.sleep(INTERVAL_MS / 1000)  # let any pass in flight finish
            cpu0 = cpu_seconds(proc.pid)
            time.sleep(IDLE_SECONDS)  # measuring: the process is left alone on purpose
            cpu = cpu_seconds(proc.pid) - cpu0
            passes = IDLE_SECONDS * 1000 / INTERVAL_MS
            rows.append(("CPU per idle reconcile", f"{cpu / passes * 1000:.1f} ms "
                         f"({cpu:.2f} s CPU over {IDLE_SECONDS:.0f} s, {passes:.0f} passes)"))
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()
        nft_elems = netns("nft", "list", "table", "inet", "ballast").stdout.count(" : ")
        rows.append(("map elements in the table", str(nft_elems)))
    except Exception:
        logpath = os.path.join(tmp, "run.log")
        if os.path.exists(logpath):
            with open(logpath) as f:
                sys.stderr.write("--- ballast run log (tail)\n" + f.read()[-3000:] + "\n")
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    title = f"Kernel plane, nftables: {SERVICES} services x {BACKENDS} backends"
    width = max(len(r[0]) for r in rows)
    print(title)
    print("| " + "measure".ljust(width) + " | result |")
    print("|" + "-" * (width + 2) + "|--------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
