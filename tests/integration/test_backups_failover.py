"""tests/integration/test_backups_failover.py — backup backends, failover groups and slow start
against real TCP backends on loopback: backups serve only while every primary is down (the first
one, or all with allbackups), a group that falls under min_healthy hands traffic to the next,
manual failback waits for the admin API, and a backend that comes back under slow_start gets a
small share first and its full share later. Readiness is read from the log's health and
failover events, never waited out with sleeps."""
import json
import os
import time

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, UnixHTTPConnection, ask_name,
                     free_port, main, wait_until)

CHECK = "{type: tcp, interval: 100ms, timeout: 100ms, rise: 1, fall: 1}"
CONNECTIONS = 40  # per traffic window: enough for every up backend to show up in a count


def admin(lb, method, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body


def config(lb_dir, port, backends, pool_extra=(), algorithm="round_robin"):
    """backends: (address, extra flow-mapping keys) pairs."""
    lines = ["workers: 2", "logging: {level: debug}", "admin:", f"  socket: {lb_dir}/admin.sock",
             "listeners:", f"  - {{name: front, bind: \"127.0.0.1:{port}\", pool: app}}",
             "pools:", "  - name: app", f"    algorithm: {algorithm}",
             f"    health_check: {CHECK}", *pool_extra, "    backends:"]
    lines += [f"      - {{address: \"{a}\"{extra}}}" for a, extra in backends]
    return "\n".join(lines) + "\n"


def counts(port, n=CONNECTIONS):
    seen = {}
    for _ in range(n):
        name = ask_name(port)
        seen[name] = seen.get(name, 0) + 1
    return seen


def wait_events(lb, event, n, backend=None):
    def ok():
        found = lb.events(event)
        if backend is not None:
            found = [e for e in found if e.get("backend") == backend]
        return len(found) >= n
    wait_until(ok, timeout=10, what=f"{n} {event} {backend or ''}")


class BackupsFailoverTest(BallastTest):
    def start(self, names, make_config):
        self.backends = {n: Backend(n) for n in names}
        self.addCleanup(lambda: [b.close() for b in self.backends.values()])
        port = free_port()
        lb = Ballast("")
        lb.write_config(make_config(lb.dir, port, {n: b.address for n, b in
                                                   self.backends.items()}))
        return lb, port

    def stop_backend(self, lb, name):
        address = self.backends[name].address
        before = len([e for e in lb.events("health.down") if e.get("backend") == address])
        self.backends[name].close()
        wait_events(lb, "health.down", before + 1, address)

    def restart_backend(self, lb, name):
        old = self.backends[name]
        address = old.address
        before = len([e for e in lb.events("health.up") if e.get("backend") == address])
        self.backends[name] = Backend(name, port=old.port)
        wait_events(lb, "health.up", before + 1, address)

    def test_backup_serves_only_while_every_primary_is_down(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                def make(d, port, a):
                    return config(d, port, [(a["p1"], ""), (a["p2"], ""),
                                            (a["b1"], ", backup: true"),
                                            (a["b2"], ", backup: true")])
                lb, port = self.start(["p1", "p2", "b1", "b2"], make)
                lb.io = io
                with lb:
                    seen = counts(port)
                    self.assertEqual(set(seen), {"p1", "p2"}, seen)
                    self.stop_backend(lb, "p1")
                    self.assertEqual(set(counts(port)), {"p2"})  # one primary is enough
                    self.stop_backend(lb, "p2")
                    seen = counts(port)
                    self.assertEqual(seen, {"b1": CONNECTIONS}, seen)  # the first backup only
                    self.restart_backend(lb, "p2")
                    seen = counts(port)
                    self.assertEqual(seen, {"p2": CONNECTIONS}, seen)

    def test_allbackups_spreads_over_every_backup(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                def make(d, port, a):
                    return config(d, port, [(a["p1"], ""), (a["b1"], ", backup: true"),
                                            (a["b2"], ", backup: true")],
                                  pool_extra=["    allbackups: true"])
                lb, port = self.start(["p1", "b1", "b2"], make)
                lb.io = io
                with lb:
                    self.assertEqual(set(counts(port)), {"p1"})
                    self.stop_backend(lb, "p1")
                    seen = counts(port)
                    self.assertEqual(set(seen), {"b1", "b2"}, seen)

    def test_group_failover_and_manual_failback(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                def make(d, port, a):
                    groups = [
                        "    failback: manual",
                        "    groups:",
                        f"      - {{name: main, priority: 1, min_healthy: 2, backends: "
                        f"[\"{a['m1']}\", \"{a['m2']}\"]}}",
                        f"      - {{name: dr, priority: 2, backends: [\"{a['d1']}\"]}}"]
                    return config(d, port, [(a["m1"], ""), (a["m2"], ""), (a["d1"], "")],
                                  pool_extra=groups)
                lb, port = self.start(["m1", "m2", "d1"], make)
                lb.io = io
                with lb:
                    self.assertEqual(set(counts(port)), {"m1", "m2"})
                    # One of two down is below min_healthy: 2, so the whole group steps aside.
                    self.stop_backend(lb, "m2")
                    wait_events(lb, "pool.failover", 1)
                    event = lb.events("pool.failover")[-1]
                    self.assertEqual((event["from"], event["to"]), ("main", "dr"))
                    self.assertEqual(counts(port), {"d1": CONNECTIONS})
                    # main is whole again, but failback is manual: traffic stays on dr.
                    self.restart_backend(lb, "m2")
                    self.assertEqual(counts(port), {"d1": CONNECTIONS})
                    status, body = admin(lb, "GET", "/metrics")
                    self.assertEqual(status, 200)
                    self.assertIn('ballast_pool_active_group{pool="app",group="dr"} 1', body)
                    self.assertIn('ballast_pool_failovers_total{pool="app"} 1', body)
                    status, body = admin(lb, "POST", "/api/v1/pools/app/failback")
                    self.assertEqual(status, 200, body)
                    reply = json.loads(body)
                    self.assertEqual((reply["from"], reply["active_group"]), ("dr", "main"))
                    self.assertTrue(reply["changed"])
                    self.assertEqual(set(counts(port)), {"m1", "m2"})
                    status, _ = admin(lb, "POST", "/api/v1/pools/nosuch/failback")
                    self.assertEqual(status, 404)

    def test_slow_start_ramps_a_recovered_backend(self):
        ramp_s = 6
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                def make(d, port, a):
                    return config(d, port, [(a["old"], ", weight: 100"),
                                            (a["new"], ", weight: 100")],
                                  pool_extra=[f"    slow_start: {ramp_s}s"],
                                  algorithm="weighted_round_robin")
                lb, port = self.start(["old", "new"], make)
                lb.io = io
                with lb:
                    self.stop_backend(lb, "new")
                    self.restart_backend(lb, "new")
                    up_at = time.monotonic()
                    early = counts(port, 100)
                    early_s = time.monotonic() - up_at
                    # Weight at most 100 × (early_s + one 600ms step) / 6s of 100; a share of
                    # a third is far above that while the window is short.
                    if early_s < 1.0:
                        self.assertLess(early.get("new", 0), 34, early)
                    wait_until(lambda: time.monotonic() - up_at > ramp_s + 1, timeout=ramp_s + 5,
                               interval=0.2, what="the ramp to end")
                    late = counts(port, 100)
                    self.assertGreaterEqual(late.get("new", 0), 40, late)
                    self.assertGreater(late.get("new", 0), early.get("new", 0) + 15,
                                       (early, late))

    def test_an_enabled_backend_ramps_and_its_weight_shows_it(self):
        # Back from `disable`, a backend ramps as one that came up does; the API's
        # effective_weight and ballast_backend_weight show the weight the pickers use.
        ramp_s = 6
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                def make(d, port, a):
                    return config(d, port, [(a["old"], ", weight: 100"),
                                            (a["new"], ", weight: 100")],
                                  pool_extra=[f"    slow_start: {ramp_s}s"],
                                  algorithm="weighted_round_robin")
                lb, port = self.start(["old", "new"], make)
                lb.io = io
                new = self.backends["new"].address
                path = f"/api/v1/pools/app/backends/{new}"
                with lb:
                    self.assertEqual(admin(lb, "POST", path + "/disable")[0], 200)
                    self.assertEqual(counts(port, 20).get("new", 0), 0)
                    status, body = admin(lb, "POST", path + "/enable")
                    self.assertEqual(status, 200, body)
                    up_at = time.monotonic()
                    backend = json.loads(body)["backend"]
                    self.assertEqual(backend["weight"], 100)
                    self.assertLess(backend["effective_weight"], 50, backend)
                    _, text = admin(lb, "GET", "/metrics")
                    line = next(l for l in text.splitlines()
                                if l.startswith("ballast_backend_weight{") and new in l)
                    self.assertLess(float(line.split()[-1]), 100, line)
                    early = counts(port, 100)
                    if time.monotonic() - up_at < 1.0:
                        self.assertLess(early.get("new", 0), 34, early)
                    wait_until(lambda: time.monotonic() - up_at > ramp_s + 1, timeout=ramp_s + 5,
                               interval=0.2, what="the ramp to end")
                    _, body = admin(lb, "GET", "/api/v1/pools/app")
                    row = next(b for b in json.loads(body)["backends"] if b["address"] == new)
                    self.assertEqual(row["effective_weight"], 100, row)
                    late = counts(port, 100)
                    self.assertGreaterEqual(late.get("new", 0), 40, late)


if __name__ == "__main__":
    main()
