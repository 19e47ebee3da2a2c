#!/usr/bin/env python3
# bench/filter_bench.py — the CPU each access filter adds to an HTTP/1.1 request: one Ballast
# worker with the same listener and route, measured without a filter and then with one of
# `rate_limit`, a route `acl` of 100,000 prefixes, `jwt` with RS256 and `jwt` with ES256, all in
# one run. Same machinery as bench/http_bench.py (wrk -t1 -c64 keep-alive, proxy pinned to CPU 1,
# wrk and the backend on CPU 0, median of 3 runs, proxy CPU from /proc); the figure is the
# proxy's CPU µs per request minus the unfiltered column's. Prints one table and appends it to
# docs/benchmarks.md (BENCH_RECORD=0 to only print). Environment as for http_bench.py.
#
# The rate limit never refuses here (a million per second, one key): what it costs is the
# lookup and the take. The ACL's prefixes deny random IPv4 /24s and IPv6 /48s, none of them
# loopback, so every request walks the list and passes. Each JWT request carries the same
# token, verified anew each time (Ballast keeps no verdict cache).
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import http_bench as hb  # noqa: E402
import l4_bench as l4  # noqa: E402

ACL_PREFIXES = 100_000
ISSUER, AUDIENCE = "https://id.bench.test", "bench"


class Filtered(hb.Ballast):
    """One Ballast column: the shared listener and route, plus one filter (or none)."""

    def __init__(self, binary, io, name, label, listener_yaml="", route_yaml="", headers=None):
        super().__init__(binary, io)
        self.key = f"ballast-{name}"
        self.label = label
        self.listener_yaml = listener_yaml
        self.route_yaml = route_yaml
        self.headers = headers or {}

    def argv(self, tmp, listen_port, backends):
        servers = ", ".join(f'{{address: "127.0.0.1:{b}"}}' for b in backends)
        cfg = tmp / f"{self.key}-http.yaml"
        cfg.write_text(f"""workers: 1
io: {self.io}
logging: {{level: warn}}
listeners:
  - name: bench
    bind: "127.0.0.1:{listen_port}"
    protocol: http
    pool: backends
{self.listener_yaml}    routes:
      - {{name: all, match: {{path: {{prefix: /}}}}, pool: backends{self.route_yaml}}}
pools:
  - name: backends
    backends: [{servers}]
""")
        return [self.binary, "run", "-c", cfg]


def write_acl_file(path):
    """ACL_PREFIXES deny lines, half IPv4 /24s outside 127/8, half IPv6 /48s."""
    rng = random.Random(1)
    lines = ["# filter_bench: random prefixes, none of them loopback"]
    for i in range(ACL_PREFIXES):
        if i % 2:
            lines.append(f"{rng.randrange(0x2000, 0x3fff):x}:{rng.randrange(65536):x}"
                         f":{rng.randrange(65536):x}::/48")
        else:
            first = rng.choice([n for n in range(1, 224) if n != 127])
            lines.append(f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
    path.write_text("\n".join(lines) + "\n")


def jwt_material(tmp):
    """A JWKS file and a token per algorithm (keys made here, as test_jwt.py makes them)."""
    from test_jwt import Keys  # python3-cryptography; the integration tests' key maker
    keys = Keys()
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "exp": int(time.time()) + 86400}
    return jwks, {alg: keys.sign(alg, kid, claims) for alg, kid in (("RS256", "rsa"),
                                                                    ("ES256", "ec"))}


def columns(binary, io, tmp):
    acl = tmp / "acl.txt"
    write_acl_file(acl)
    jwks, tokens = jwt_material(tmp)

    def jwt(alg):
        return Filtered(binary, io, f"jwt-{alg.lower()}", f"jwt {alg}",
                        listener_yaml=(f"    jwt: {{issuer: \"{ISSUER}\", audiences: [{AUDIENCE}],"
                                       f" jwks_file: \"{jwks}\", algorithms: [{alg}]}}\n"),
                        headers={"Authorization": f"Bearer {tokens[alg]}"})
    return [
        Filtered(binary, io, "none", "no filter"),
        Filtered(binary, io, "rate-limit", "rate_limit",
                 listener_yaml="    rate_limit: {key: source_ip, rate: 1000000/s, "
                               "burst: 1000000}\n"),
        Filtered(binary, io, "acl", f"acl, {ACL_PREFIXES:,} prefixes",
                 route_yaml=f', acl: {{files: ["{acl}"]}}'),
        jwt("RS256"),
        jwt("ES256"),
    ]


ROWS = [
    ("rps", f"requests/s, median of {hb.RUNS}", "{:,.0f}"),
    ("cpu_us", "proxy CPU µs per request", "{:.2f}"),
    ("added_us", "added by the filter, µs per request", "{:+.2f}"),
    ("p50_ms", "p50 latency, ms, median run", "{:.3f}"),
    ("p99_ms", "p99 latency, ms, median run", "{:.3f}"),
    ("non2xx", "non-2xx/3xx responses, all runs (want 0)", "{:,.0f}"),
    ("others_pct", "noise: other processes' CPU on the proxy core, % (want ~0)", "{:.0f}"),
]


def table(cols, results):
    base = results[cols[0].key].get("cpu_us")
    for c in cols:
        r = results[c.key]
        if r.get("cpu_us") is not None and base is not None:
            r["added_us"] = r["cpu_us"] - base
    head = ["metric"] + [c.label for c in cols]
    rows = [head, ["---"] + ["---:"] * len(cols)]
    for key, label, fmt in ROWS:
        rows.append([label] + ["failed" if results[c.key].get(key) is None
                               else fmt.format(results[c.key][key]) for c in cols])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main():
    if (os.cpu_count() or 1) < 2:
        sys.exit("filter_bench: needs 2 CPUs (one for the proxy, one for the load)")
    wrk = os.environ.get("WRK_BIN") or shutil.which("wrk")
    if not wrk:
        sys.exit("filter_bench: wrk not found (apt-get install wrk, or set WRK_BIN)")
    os.sched_setaffinity(0, {hb.LOAD_CPU})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backend_bin = hb.build_backend()
    ballast_bin = os.environ.get("BALLAST_BIN", str(hb.REPO / "build" / "ballast"))
    io = os.environ.get("BALLAST_IO", "io_uring").split(",")[0].strip()
    results, notes = {}, {}
    with tempfile.TemporaryDirectory(prefix="ballast-filter-bench-") as tmpdir:
        tmp = Path(tmpdir)
        cols = columns(ballast_bin, io, tmp)
        bench = hb.HttpBench(backend_bin, wrk, tmp)
        try:
            bench.start_backends()
            for c in cols:
                bench.request_headers = c.headers
                results[c.key], notes[c.key] = bench.run(c)
        finally:
            bench.procs.stop_all()
    text = table(cols, results)
    notes_md = [f"- {c.label}: {'failed' if not results[c.key] else 'anomaly'} ({notes[c.key]})"
                for c in cols if notes.get(c.key)]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    section = (
        f"\n## Access filters, CPU added per request, {stamp}"
        f"{' (BENCH_QUICK smoke run)' if hb.QUICK else ''}\n\n"
        f"- `python3 bench/filter_bench.py`: one Ballast worker ({io}), wrk -t1 "
        f"-c{hb.CONNECTIONS} -d{hb.RUN_SECONDS}s, {hb.RUNS} runs after a "
        f"{hb.WARMUP_SECONDS} s warm-up, GET / → 64-byte 200 through one route; each column "
        f"adds one filter to the first; load average {load:.2f} at the end\n"
        f"- kernel `{os.uname().release}`, CPU {l4.cpu_model()}, {os.cpu_count()} CPUs\n"
        + hb.noisy_note(cols, results)
        + ("\n".join(notes_md) + "\n" if notes_md else "")
        + f"\n{text}\n")
    print(section)
    if os.environ.get("BENCH_RECORD", "1") != "0":
        hb.record(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
