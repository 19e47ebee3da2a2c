#!/usr/bin/env python3
# bench/scaling_bench.py — does CPU per request stay flat from one worker to two (#19)? Ballast
# (`workers: 1` vs `workers: 2`) and HAProxy (`nbthread 1` vs `nbthread 2`) in front of the same
# two HTTP/1.1 backends, in one run; prints one table and appends it to docs/benchmarks.md.
#
# The closed-loop benches (wrk, h2load -m) saturate a core of their own, so on this 2-core VM a
# second proxy worker would compete with the load generator and measure that. Here the load is
# OPEN-LOOP: `h2load --h1 --rps` asks every connection for a fixed number of requests per second,
# the same at one and at two workers, well below what the machine can do, so the generator's
# cost is the same in every cell and the proxy's CPU per request is what changes. Nothing is
# pinned (two workers need both cores): proxy, backends, h2load and this script float.
# SCALING_PLACEMENT pins them instead, to tell the cost of a second worker from the cost of
# running on the other core than the load: `apart` (proxy on CPU 1, h2load and backends on
# CPU 0) or `together` (all on CPU 0); the script itself floats in every case.
#
# A figure is only valid if the open loop delivered its rate: any failed request, or an achieved
# rate more than 2% below the asked one, fails the run (exit 1) instead of recording it; so does
# a run in which other processes still took the CPU after it was redone.
#
# Per proxy, one instance at each worker count, side by side (each checked through: two GETs,
# 200, 64-byte body, keep-alive; again after the runs; then a 1 s warm-up), measured in turns
# (ABBA) so that the host's drift hits both counts alike; RUNS runs of RUN_SECONDS each, a run
# redone (twice at most, after waiting for a quiet host) if other processes took the CPU:
#   - proxy utime+stime, whole process (/proc/PID/stat), ÷ requests h2load completed;
#   - perf stat -e task-clock,context-switches -p PID around the run, if perf
#     works (the same CPU time to the nanosecond, and the scheduler's view);
#   - per-thread CPU (/proc/PID/task/*/stat): how the kernel's SO_REUSEPORT hash spread the
#     connections over Ballast's workers (threads `worker-N`), or how HAProxy's threads shared it;
#   - p50/p99 of h2load's per-request times (--log-file);
#   - the machine: both cores' busy time (/proc/stat) and the part no process of this bench
#     used (another job on the host skews every figure: above OTHERS_MAX_PCT the record
#     says so).
#
# Environment:
#   BALLAST_BIN       Ballast binary (default: build/ballast)
#   BALLAST_IO        io backend(s), comma-separated (default: io_uring,epoll)
#   HTTP_BACKEND_BIN  prebuilt bench/tools/http_backend (default: compiled into build/bench-tools/)
#   H2LOAD_BIN        h2load binary (default: h2load on PATH; Debian: nghttp2-client)
#   SCALING_RATE      total requests/s asked (default 12800: 64 connections × 200/s)
#   SCALING_PLACEMENT free (default: nothing pinned), apart or together (see above)
#   BENCH_QUICK=1     1 s runs instead of 5 s; figures are noisy
#   BENCH_PROXIES     subset, comma-separated (default: ballast,haproxy)
#   BENCH_RECORD=0    print the table only; do not append to docs/benchmarks.md
# Python standard library only.

import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_bench as hb  # noqa: E402  (HTTP configs, backend, response check, record)
import l4_bench as l4  # noqa: E402  (processes, readiness, /proc accounting, host checks)

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = 3  # the table shows the median and the min–max range
RUN_SECONDS = 1 if QUICK else 5
WARMUP_SECONDS = 1  # opens the connections and fills the upstream pools
WORKER_COUNTS = (1, 2)  # the machine has two cores: what can be shown
CONNECTIONS = 64  # enough for the kernel's SO_REUSEPORT hash to split them about evenly
RATE = int(os.environ.get("SCALING_RATE", "12800"))
MAX_SHORTFALL = 0.02  # an open loop below its asked rate by more than this is invalid
H2LOAD_TIMEOUT_S = 60  # wall-clock cap on one h2load beyond its -D
# "Others" is the cores' busy time that none of this bench's processes was charged, so it also
# holds kernel threads doing the bench's own work (ksoftirqd taking over loopback softirqs,
# io_uring and RCU workers): 2-9% of a core on a quiet host. Above this, another job ran.
OTHERS_MAX_PCT = 15
NOISY_RETRIES = 2  # a run during which other processes took the CPU is redone this often
QUIET_WAIT_S = 60  # how long to wait for a quiet host before a cell or a redone run
QUIET_BUDGET_S = 150  # all waits of one bench together: past it, nothing is redone any more
PERF_EVENTS = ("task-clock", "context-switches")
ALL_CPUS = f"0-{(os.cpu_count() or 1) - 1}"
# SCALING_PLACEMENT -> (proxy's cores, load's cores): the load is h2load and the backends.
PLACEMENTS = {"free": (ALL_CPUS, ALL_CPUS), "apart": ("1", "0"), "together": ("0", "0")}
PLACEMENT = os.environ.get("SCALING_PLACEMENT", "free")


def log(msg):
    print(f"[scaling_bench] {msg}", file=sys.stderr, flush=True)


class RunInvalid(Exception):
    """A run that errored or could not deliver the asked rate: its figure means nothing."""


# ---- processes: the L4 bench's, placed by SCALING_PLACEMENT ----------------------------------


class PlacedProcs(l4.Procs):
    """l4.Procs with the cores of SCALING_PLACEMENT. The shared helpers (start_proxy,
    start_backends) ask for the L4 bench's proxy and load cores; by default every process may
    run on every core, since two workers need both."""

    def start(self, argv, cpu, **kwargs):
        proxy_cpus, load_cpus = PLACEMENTS[PLACEMENT]
        return super().start(argv, proxy_cpus if cpu == l4.PROXY_CPU else load_cpus, **kwargs)


# ---- proxies: http_bench's configs with N workers --------------------------------------------


def set_workers(argv, one, many):
    """Rewrites the config http_bench wrote (the argv's .yaml or .cfg) from one worker to many;
    fails if the line is not there, so a changed template cannot silently measure one worker."""
    cfg = next(Path(a) for a in argv if str(a).endswith((".yaml", ".cfg")))
    text = cfg.read_text()
    if one not in text:
        raise l4.StartFailed(f"{cfg.name}: no {one!r} line to change")
    cfg.write_text(text.replace(one, many, 1))
    return argv


class Ballast(hb.Ballast):
    thread_prefix = "worker-"  # src/server/worker.cpp names its threads so

    def __init__(self, binary, io, workers):
        super().__init__(binary, io)
        self.workers = workers
        self.key = f"{self.key}-w{workers}"
        self.family = f"Ballast ({io})"

    def argv(self, tmp, listen_port, backends):
        return set_workers(super().argv(tmp, listen_port, backends), "workers: 1",
                           f"workers: {self.workers}")


class HAProxy(hb.HAProxy):
    thread_prefix = ""  # HAProxy's threads all keep the process name: every thread counts

    def __init__(self, workers):
        super().__init__()
        self.workers = workers
        self.key = f"haproxy-w{workers}"
        self.family = "HAProxy"

    def argv(self, tmp, listen_port, backends):
        argv = super().argv(tmp, listen_port, backends)
        cfg = next(Path(a) for a in argv if str(a).endswith(".cfg"))
        own = cfg.with_name(f"{self.key}.cfg")  # one file per cell, kept for the post-mortem
        cfg.rename(own)
        argv = [own if a == cfg else a for a in argv]
        return set_workers(argv, "nbthread 1", f"nbthread {self.workers}")


# ---- /proc and perf --------------------------------------------------------------------------


def thread_ticks(pid):
    """{tid: (name, utime+stime ticks)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except FileNotFoundError:
            continue  # a thread that ended between listdir and open
        fields = tail.split()
        out[int(tid)] = (head.split("(", 1)[1], int(fields[11]) + int(fields[12]))
    return out


def all_cores_ticks():
    """The aggregate `cpu` line of /proc/stat: every core's user nice system idle iowait ..."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def perf_usable():
    """None if `perf stat` counts the software events here, else why not."""
    if not shutil.which("perf"):
        return "perf not installed"
    out = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(PERF_EVENTS), "--", "true"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0 or "<not supported>" in out.stderr:
        return f"perf stat failed: {out.stderr.strip()[-200:]}"
    return None


def hardware_counters():
    """What `perf stat -e cache-misses` says on this host (a VM usually has none)."""
    if not shutil.which("perf"):
        return "perf not installed"
    out = subprocess.run(["perf", "stat", "-x,", "-e", "cache-misses", "--", "true"],
                         capture_output=True, text=True, timeout=30)
    line = next((x for x in out.stderr.splitlines() if "cache-misses" in x), "")
    if "<not supported>" in line:
        return "`<not supported>`"
    return f"`{line.strip()}`" if line else f"no answer (exit {out.returncode})"


def parse_perf(text):
    """{event: value} from `perf stat -x,`: task-clock in ms, the others as counts."""
    values = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] in PERF_EVENTS:
            try:
                values[fields[2]] = float(fields[0])
            except ValueError:
                pass  # "<not counted>"
    return values


# ---- h2load ----------------------------------------------------------------------------------


def parse_h2load(out):
    """Completed requests, req/s and every kind of failure from h2load's summary (HTTP/1.1)."""
    m = re.search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", out, re.M)
    r = re.search(r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out, re.M)
    s = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.M)
    if not (m and r and s):
        raise ValueError("no summary")
    if not re.search(r"^Application protocol: http/1.1$", out, re.M):
        raise ValueError("HTTP/1.1 was not used")
    return {"rps": float(m.group(1)), "requests": int(r.group(2)),
            "failed": sum(int(x) for x in r.groups()[2:]),
            "non2xx": sum(int(x) for x in s.groups()[1:])}


def percentiles_ms(log_file):
    """p50 and p99 of h2load's per-request times (--log-file, µs in the third column)."""
    times = sorted(int(line.split("\t")[2]) for line in log_file.read_text().splitlines())
    if not times:
        raise ValueError("empty log file")
    return [times[min(len(times) - 1, len(times) * q // 100)] / 1000 for q in (50, 99)]


# ---- bench -----------------------------------------------------------------------------------


class ScalingBench(hb.HttpBench):
    """http_bench's backend, proxy start-up and checks; open-loop runs with CPU accounting."""

    def __init__(self, backend_bin, h2load, tmp, perf_ok):
        super().__init__(backend_bin, None, tmp)
        self.procs = PlacedProcs()
        self.h2load_bin = h2load
        self.perf_ok = perf_ok

    def h2load(self, port, seconds, log_file=None):
        per_client = RATE // CONNECTIONS
        argv = ["taskset", "-c", PLACEMENTS[PLACEMENT][1], self.h2load_bin, "--h1", "-t1",
                f"-c{CONNECTIONS}", f"--rps={per_client}",
                f"-D{seconds}", *([f"--log-file={log_file}"] if log_file else []),
                f"http://127.0.0.1:{port}/"]
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=seconds + H2LOAD_TIMEOUT_S, preexec_fn=l4._die_with_parent)
        try:
            return parse_h2load(out.stdout)
        except ValueError as e:
            raise l4.PhaseFailed(f"h2load: {e}; exit {out.returncode}; "
                                 f"{(out.stdout + out.stderr).strip()[-300:]!r}") from e

    def threads_of(self, p, proxy):
        """The proxy's data-plane threads once they all exist: its config must have taken."""
        deadline = time.monotonic() + l4.READY_TIMEOUT_S
        while True:
            tids = [t for t, (name, _) in thread_ticks(p.pid).items()
                    if name.startswith(proxy.thread_prefix)]
            if len(tids) >= proxy.workers or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(tids) != proxy.workers:
            raise l4.PhaseFailed(f"{len(tids)} worker threads, configured {proxy.workers}")
        return tids

    def measured_run(self, p, port, proxy, index):
        log_file = self.tmp / f"{proxy.key}-{index}.tsv"
        perf = None
        if self.perf_ok:
            perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(PERF_EVENTS), "-p",
                                     str(p.pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True,
                                    preexec_fn=l4._die_with_parent)
        t0, c0, th0 = time.monotonic(), all_cores_ticks(), thread_ticks(p.pid)
        p0, b0 = l4.proc_ticks(p.pid), l4.proc_ticks(self.backend.pid)
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        r = self.h2load(port, RUN_SECONDS, log_file)
        perf_values = {}
        if perf:
            perf.send_signal(signal.SIGINT)  # perf prints its counts on SIGINT
            perf_values = parse_perf(perf.communicate(timeout=l4.STOP_GRACE_S)[1])
        wall = time.monotonic() - t0
        c1, th1 = all_cores_ticks(), thread_ticks(p.pid)
        p1, b1 = l4.proc_ticks(p.pid), l4.proc_ticks(self.backend.pid)
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self1 = resource.getrusage(resource.RUSAGE_SELF)
        self.alive(p, proxy, "http")

        hz = l4.HZ
        proxy_s = (sum(p1) - sum(p0)) / hz
        # h2load and perf (waited-for children) and this script, from getrusage; the backend and
        # the proxy from /proc. What the cores did beyond these is other processes.
        ours_s = (proxy_s + (sum(b1) - sum(b0)) / hz
                  + sum(getattr(kids1, f) - getattr(kids0, f) for f in ("ru_utime", "ru_stime"))
                  + sum(getattr(self1, f) - getattr(self0, f) for f in ("ru_utime", "ru_stime")))
        d = [b - a for a, b in zip(c0, c1)]
        busy_s = (sum(d) - d[3] - d[4]) / hz
        workers = [th1[t][1] - th0.get(t, ("", 0))[1] for t in self.threads_of(p, proxy)]
        r["p50_ms"], r["p99_ms"] = percentiles_ms(log_file)
        r["cpu_us"] = 1e6 * proxy_s / max(r["requests"], 1)
        if "task-clock" in perf_values:
            r["perf_cpu_us"] = 1e3 * perf_values["task-clock"] / max(r["requests"], 1)
            r["cs_per_req"] = perf_values.get("context-switches", 0) / max(r["requests"], 1)
        r["worker_split"] = [100 * w / max(sum(workers), 1) for w in workers]
        r["proxy_pct"] = 100 * proxy_s / wall
        r["host_pct"] = 100 * busy_s / wall  # of one core: 200 is both cores full
        r["others_pct"] = 100 * max(0.0, busy_s - ours_s) / wall
        log_file.unlink()
        return r

    def family(self, proxies):
        """One proxy at each worker count, all started at once and measured in turns (ABBA:
        1, 2, 2, 1, 1, 2 workers…), so a drift in the host's speed (this VM shows no steal
        time, yet its speed moves from one minute to the next) hits every worker count alike.
        {key: [run, …]}; an idle proxy costs nothing measurable while the other is measured."""
        started = {}
        try:
            for proxy in proxies:
                p, port = self.start_proxy(proxy, "http", "http")
                started[proxy.key] = (p, port)
                hb.check_response(port, f"{proxy.key} pre-run")
                self.threads_of(p, proxy)
                self.h2load(port, WARMUP_SECONDS)
            runs = {proxy.key: [] for proxy in proxies}
            for i in range(RUNS):
                for proxy in proxies if i % 2 == 0 else reversed(proxies):
                    p, port = started[proxy.key]
                    runs[proxy.key].append(self.quiet_run(p, port, proxy, i))
            for proxy in proxies:
                p, port = started[proxy.key]
                hb.check_response(port, f"{proxy.key} post-run")
                self.alive(p, proxy, "http")
            return runs
        finally:
            for proxy in proxies:
                if proxy.key in started:
                    self.procs.stop(started[proxy.key][0])
                    self.report_log(proxy)

    def quiet_run(self, p, port, proxy, i):
        """One measured run, redone (NOISY_RETRIES at most) when other processes took the CPU."""
        for attempt in range(1 + NOISY_RETRIES):
            r = self.measured_run(p, port, proxy, i)
            if (r["others_pct"] <= OTHERS_MAX_PCT or attempt == NOISY_RETRIES
                    or _quiet_budget_left <= 0):
                break
            # Another job took a share of the cores: this run's figure is skewed. The record
            # keeps a clean run when the host gives one within QUIET_WAIT_S.
            log(f"{proxy.key} run {i + 1}: other processes took {r['others_pct']:.0f}% of a "
                f"core; waiting for a quiet host to redo it")
            wait_quiet()
        log(f"{proxy.key} run {i + 1}: {r['rps']:,.0f} req/s of {RATE:,}, {r['cpu_us']:.2f} "
            f"µs/req (perf {r.get('perf_cpu_us', float('nan')):.2f}), p50 {r['p50_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms, failed {r['failed']}, non-2xx {r['non2xx']}, proxy "
            f"{r['proxy_pct']:.0f}%, host {r['host_pct']:.0f}% of 200, others "
            f"{r['others_pct']:.0f}%, worker split "
            f"{'/'.join(f'{x:.0f}' for x in r['worker_split'])}")
        return r


_quiet_budget_left = QUIET_BUDGET_S


def wait_quiet():
    """Waits until both cores are near idle (l4.host_busy, 1 s samples), QUIET_WAIT_S at most;
    False if the host stayed busy."""
    global _quiet_budget_left
    deadline = time.monotonic() + min(QUIET_WAIT_S, _quiet_budget_left)
    start = time.monotonic()
    while True:
        busy = l4.host_busy()
        _quiet_budget_left -= time.monotonic() - start
        start = time.monotonic()
        if max(busy) <= l4.HOST_BUSY_WARN_PCT:
            return True
        if time.monotonic() > deadline:
            log(f"host still busy ({', '.join(f'{b:.0f}%' for b in busy)}); going on, "
                f"{max(0, _quiet_budget_left):.0f} s of waiting left")
            return False


def invalid(runs):
    """Why these runs' figures are invalid, or None."""
    why = []
    for i, r in enumerate(runs, 1):
        if r["failed"] or r["non2xx"]:
            why.append(f"run {i}: {r['failed']} failed, {r['non2xx']} non-2xx")
        if r["rps"] < RATE * (1 - MAX_SHORTFALL):
            why.append(f"run {i}: {r['rps']:,.0f} req/s, asked {RATE:,}")
    return "; ".join(why) or None


def summarize(runs):
    def med_range(key):
        values = [r[key] for r in runs if key in r]
        return (statistics.median(values), min(values), max(values)) if values else None

    mid = sorted(runs, key=lambda r: r["cpu_us"])[len(runs) // 2]
    return {
        "rps": med_range("rps"),
        "cpu_us": med_range("cpu_us"),
        "perf_cpu_us": med_range("perf_cpu_us"),
        "cs_per_req": med_range("cs_per_req"),
        "p50_ms": mid["p50_ms"],
        "p99_ms": mid["p99_ms"],
        "split": mid["worker_split"],
        "host_pct": max(r["host_pct"] for r in runs),
        "others_pct": max(r["others_pct"] for r in runs),
        "errors": sum(r["failed"] + r["non2xx"] for r in runs),
        "cpu_runs": [r["cpu_us"] for r in runs],  # in run order: run i of each count paired
    }


# ---- report ----------------------------------------------------------------------------------


def fmt_range(v, fmt):
    if v is None:
        return "n/a"
    mid, lo, hi = v
    return f"{fmt.format(mid)} ({fmt.format(lo)}–{fmt.format(hi)})"


def table(cells):
    """cells: [(proxy, summary)] in order, the workers: 1 cell of a family before its others."""
    head = ["proxy", "workers", "req/s asked", "req/s achieved, median",
            "proxy CPU µs/request, median (range)", "perf task-clock µs/request",
            "÷ 1 worker (range of paired runs)", "context switches/request",
            "p50 / p99 ms (median run)", "CPU split over workers, %", "host busy, % of 200",
            "others, % of a core", "errors"]
    rows = [head, ["---", "---:"] + ["---:"] * (len(head) - 2)]
    base = {}
    for proxy, s in cells:
        base.setdefault(proxy.family, s)
        ratio = "—"
        one = base[proxy.family]
        if one is not s:
            # The ratio of the medians, and the range of the ratios of the runs measured one
            # after the other (run i at this count ÷ run i at one worker).
            pairs = [b / a for a, b in zip(one["cpu_runs"], s["cpu_runs"])]
            ratio = (f"{s['cpu_us'][0] / one['cpu_us'][0]:.2f} "
                     f"({min(pairs):.2f}–{max(pairs):.2f})")
        rows.append([
            proxy.family, str(proxy.workers), f"{RATE:,}", f"{s['rps'][0]:,.0f}",
            fmt_range(s["cpu_us"], "{:.2f}"), fmt_range(s["perf_cpu_us"], "{:.2f}"), ratio,
            fmt_range(s["cs_per_req"], "{:.2f}"),
            f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f}",
            "/".join(f"{x:.0f}" for x in s["split"]),
            f"{s['host_pct']:.0f}", f"{s['others_pct']:.0f}", str(s["errors"])])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


PLACEMENT_TEXT = {"free": "nothing pinned",
                  "apart": "proxy pinned to CPU 1, h2load and backends to CPU 0",
                  "together": "proxy, h2load and backends all pinned to CPU 0"}


def section(cells, notes, ios, host, perf_note, hw_note, h2load):
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = [l4.version_of(["haproxy", "-v"]), l4.version_of([h2load, "--version"])]
    return (
        f"\n## Scaling, workers 1 → 2, open loop"
        f"{'' if PLACEMENT == 'free' else f' ({PLACEMENT_TEXT[PLACEMENT]})'}, {stamp}"
        f"{' (BENCH_QUICK smoke run)' if QUICK else ''}\n\n"
        f"- `python3 bench/scaling_bench.py`: h2load --h1 -t1 -c{CONNECTIONS} "
        f"--rps={RATE // CONNECTIONS} (open loop, {RATE:,} req/s in all) -D{RUN_SECONDS}, "
        f"{RUNS} runs after a {WARMUP_SECONDS} s warm-up per cell, the worker counts of one "
        f"proxy running side by side and measured in turns (1, 2, 2, 1, 1, 2); a run during "
        f"which other processes took >{OTHERS_MAX_PCT}% of a core is redone after "
        f"waiting for a quiet host; GET / → 200 with a 64-byte "
        f"body from two `http_backend` ports; {PLACEMENT_TEXT[PLACEMENT]}; proxy CPU = "
        f"utime+stime of the whole process (/proc) ÷ requests h2load completed, median and "
        f"range of the runs; latency from h2load's --log-file\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}, {os.cpu_count()} CPUs; host "
        f"busy before: {' '.join(f'CPU{i} {b:.0f}%' for i, b in enumerate(host))}\n"
        f"- Ballast io: {', '.join(ios)}; {'; '.join(versions)}\n"
        f"- perf: {perf_note or 'software counters of the proxy process (perf stat -p)'}; "
        f"hardware counters: `perf stat -e cache-misses` → {hw_note}\n"
        + "".join(f"- {n}\n" for n in notes)
        + "\n" + table(cells) + "\n")


# ---- main ------------------------------------------------------------------------------------


def make_families(ios):
    ballast_bin = os.environ.get("BALLAST_BIN", str(l4.REPO / "build" / "ballast"))
    wanted = os.environ.get("BENCH_PROXIES", "ballast,haproxy").split(",")
    families = []  # one list per proxy: the same proxy at each worker count
    if "ballast" in wanted:
        families += [[Ballast(ballast_bin, io, n) for n in WORKER_COUNTS] for io in ios]
    if "haproxy" in wanted:
        families.append([HAProxy(n) for n in WORKER_COUNTS])
    return families


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("scaling_bench: needs 2 CPUs")
    if PLACEMENT not in PLACEMENTS:
        sys.exit(f"scaling_bench: SCALING_PLACEMENT must be one of {', '.join(PLACEMENTS)}")
    h2load = os.environ.get("H2LOAD_BIN") or shutil.which("h2load")
    if not h2load:
        sys.exit("scaling_bench: h2load not found (apt-get install nghttp2-client)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ios = [x.strip() for x in os.environ.get("BALLAST_IO", "io_uring,epoll").split(",")
           if x.strip()]
    families = make_families(ios)
    perf_note = perf_usable()
    hw_note = hardware_counters()

    wait_quiet()
    host = l4.host_busy()
    notes = []
    if max(host) > l4.HOST_BUSY_WARN_PCT:
        notes.append(f"host was busy before the run ({', '.join(f'{b:.0f}%' for b in host)}); "
                     f"each run's own share of other processes is the 'others' column")
        log(f"warning: {notes[-1]}")
    cells, failed = [], []
    with tempfile.TemporaryDirectory(prefix="ballast-scaling-bench-") as tmpdir:
        bench = ScalingBench(backend_bin, h2load, Path(tmpdir), perf_note is None)
        try:
            bench.start_backends()
            for family in families:
                missing = [f"{p.key}: {why}" for p in family for why in [p.available()] if why]
                if missing:
                    failed += missing
                    continue
                wait_quiet()
                log(f"{family[0].family}: {RATE:,} req/s, {RUNS} × {RUN_SECONDS} s per worker "
                    f"count, in turns")
                try:
                    runs = bench.family(family)
                except (l4.PhaseFailed, subprocess.TimeoutExpired, OSError, RuntimeError,
                        ValueError) as e:
                    failed.append(f"{family[0].family}: {e}")
                    log(f"{family[0].family}: failed: {e}")
                    continue
                for proxy in family:
                    why = invalid(runs[proxy.key])
                    if why:
                        failed.append(f"{proxy.key}: invalid: {why}")
                        log(f"{proxy.key}: invalid: {why}")
                    cells.append((proxy, summarize(runs[proxy.key])))
        finally:
            bench.procs.stop_all()

    noisy = [f"{p.key} {s['others_pct']:.0f}%" for p, s in cells
             if s["others_pct"] > OTHERS_MAX_PCT]
    if noisy:
        notes.append(f"other processes took CPU during the runs (worst run: {', '.join(noisy)} "
                     f"of a core): those rows are skewed")
    text = section(cells, notes + failed, ios, host, perf_note, hw_note, h2load)
    print(text)
    if failed:
        # Invalid figures are printed for the post-mortem but never recorded.
        log("FAILED: " + "; ".join(failed))
        return 1
    if noisy:
        # A differential figure (two worker counts, a few µs apart) is lost in another job's
        # noise: even after the redone runs the host was shared, so nothing is recorded.
        log("FAILED: the host stayed busy; not recorded, re-run on a quiet host")
        return 1
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
