"""tests/integration/test_admin.py — the control plane against the real binary: /healthz and
/readyz, node drain and resume, the /api/v1 read endpoints and their counters, /metrics (checked
by promtool), runtime backend changes and their audit records, reload (API, refused, inotify
watch), the SSE event stream, SIGUSR1 reopening the audit log, TCP admin auth (static tokens,
JWT HS256/RS256, CIDR allowlist, rate limit), config validation of admin.bind, the control CLI
and `ballast doctor`.

Everything runs on loopback with sockets, configs and logs in a temp dir; waits poll a
readiness condition with a deadline.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (BALLAST_BIN, IO_BACKENDS, Ballast, BallastTest, free_port, main, port_accepts,
                     wait_until)
from http_backends import HttpBackend, ResponseReader

BIN = os.path.abspath(BALLAST_BIN)
IO = IO_BACKENDS[0]
OPENSSL = shutil.which("openssl")
PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool"
                                        if os.path.exists("/usr/bin/promtool") else None)


# ---- admin clients ------------------------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<Reply {self.status} {self.body[:300]!r}>"


def request(conn, method, path, body=None, headers=None):
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", errors="replace")
    conn.close()
    return Reply(resp.status, resp.getheaders(), text)


def unix_api(sock_path, method, path, body=None, headers=None):
    return request(UnixHTTPConnection(sock_path), method, path, body, headers)


def tcp_api(port, method, path, body=None, headers=None, token=None):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    return request(http.client.HTTPConnection("127.0.0.1", port, timeout=10), method, path, body,
                   hdrs)


def http_get(port, path="/"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body


def names_of(port, n):
    """Backend names that answered n fresh requests through the listener."""
    out = []
    for _ in range(n):
        status, body = http_get(port)
        if status != 200:
            raise AssertionError(f"proxied request answered {status}: {body!r}")
        out.append(body.split(" ")[0])
    return out


def metric_value(text, name, labels):
    """The value of one sample; labels is the exact label text inside braces."""
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


# ---- JWT ----------------------------------------------------------------------------------------


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_signing_input(header, claims):
    return b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())


def jwt_hs256(secret, claims, alg="HS256"):
    signing = jwt_signing_input({"alg": alg, "typ": "JWT"}, claims)
    if alg == "none":
        return signing + "."
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64u(sig)


def jwt_rs256(private_key_path, claims):
    signing = jwt_signing_input({"alg": "RS256", "typ": "JWT"}, claims)
    r = subprocess.run([OPENSSL, "dgst", "-sha256", "-sign", private_key_path],
                       input=signing.encode(), capture_output=True, check=True)
    return signing + "." + b64u(r.stdout)


# ---- config -------------------------------------------------------------------------------------


def admin_config(d, port, backends, admin_extra="", top="", metrics_port=None, pool_extra=""):
    """One HTTP listener `web` → pool `app`, the admin socket and audit log in dir d."""
    lines = ["workers: 2", "logging: {level: info}", top,
             "admin:", f"  socket: {d}/admin.sock", f"  audit_log: {d}/audit.log", admin_extra]
    if metrics_port:
        lines.append(f"metrics: {{bind: \"127.0.0.1:{metrics_port}\"}}")
    lines += ["listeners:", "  - name: web", f"    bind: \"127.0.0.1:{port}\"",
              "    protocol: http", "    pool: app", "pools:", "  - name: app", pool_extra,
              "    backends:"]
    for b in backends:
        if isinstance(b, tuple):
            lines.append(f"      - {{address: \"{b[0]}\", weight: {b[1]}}}")
        else:
            lines.append(f"      - {{address: \"{b}\"}}")
    return "\n".join(l for l in lines if l) + "\n"


class AdminBallast(Ballast):
    """A Ballast whose config is built from its own temp dir (socket and audit log live there)."""

    def __init__(self, make_config, io=IO):
        super().__init__("", io=io)
        self.make_config = make_config
        self.write_config(make_config(self.dir))
        self.sock = os.path.join(self.dir, "admin.sock")
        self.audit_path = os.path.join(self.dir, "audit.log")

    def start(self):
        super().start()
        wait_until(lambda: os.path.exists(self.sock), what="admin socket")
        return self

    def api(self, method, path, body=None, headers=None):
        return unix_api(self.sock, method, path, body, headers)

    def audit(self, since=0):
        r = self.api("GET", f"/api/v1/events?since={since}")
        assert r.status == 200, r
        return r.json["events"]

    def last_seq(self):
        return self.api("GET", "/api/v1/events").json["last_seq"]

    def audit_file(self, path=None):
        path = path or self.audit_path
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]


# ---- tests --------------------------------------------------------------------------------------


class AdminTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a = HttpBackend("a")
        cls.b = HttpBackend("b")
        cls.c = HttpBackend("c")

    @classmethod
    def tearDownClass(cls):
        for backend in (cls.a, cls.b, cls.c):
            backend.close()

    def daemon(self, backends=None, **kw):
        port = free_port()
        backends = backends if backends is not None else [self.a.address, self.b.address]
        d = AdminBallast(lambda dir_: admin_config(dir_, port, backends, **kw))
        d.port = port
        return d

    def assertAudited(self, d, kind, since, **after_fields):
        """A record of `kind` after `since` in the ring (GET /api/v1/events) and in audit.log."""
        recs = [r for r in d.audit(since) if r["kind"] == kind]
        self.assertTrue(recs, f"no {kind} record after seq {since}: {d.audit(since)}")
        rec = recs[-1]
        for k, v in after_fields.items():
            self.assertEqual(rec["after"].get(k), v, rec)
        self.assertRegex(rec["actor"], r"^admin:unix:uid=\d+,pid=\d+$")
        self.assertIsInstance(rec["time_ms"], int)
        in_file = [r for r in d.audit_file() if r["seq"] == rec["seq"]]
        self.assertEqual(in_file, [rec], "the audit file holds the same record")
        return rec

    # -- health, readiness, node drain

    def test_healthz_readyz_drain_and_reload_resumes(self):
        with self.daemon() as d:
            r = d.api("GET", "/healthz")
            self.assertEqual((r.status, r.json), (200, {"status": "alive"}))
            r = d.api("GET", "/readyz")
            self.assertEqual((r.status, r.json), (200, {"ready": True}))
            self.assertTrue(port_accepts(d.port))
            seq = d.last_seq()

            r = d.api("POST", "/api/v1/drain")
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["draining"], r.json["changed"]), (True, True))
            r = d.api("GET", "/readyz")
            self.assertEqual((r.status, r.json), (503, {"ready": False}))
            self.assertEqual(d.api("GET", "/healthz").status, 200)
            wait_until(lambda: not port_accepts(d.port), what="listener closed after drain")
            self.assertTrue(d.api("GET", "/api/v1/status").json["draining"])
            rec = [e for e in d.audit(seq) if e["kind"] == "admin.node_drain"]
            self.assertEqual(len(rec), 1)
            self.assertEqual(rec[0]["after"], {"draining": True})
            # A second drain changes nothing.
            r = d.api("POST", "/api/v1/drain")
            self.assertEqual((r.status, r.json["changed"]), (200, False))

            r = d.api("POST", "/api/v1/reload")
            self.assertEqual(r.status, 200, r)
            self.assertTrue(r.json["reloaded"])
            self.assertEqual(d.api("GET", "/readyz").status, 200)
            wait_until(lambda: port_accepts(d.port), what="listener back after reload")
            self.assertEqual(http_get(d.port)[0], 200)
            self.assertFalse(d.api("GET", "/api/v1/status").json["draining"])

    def test_drained_node_still_lists_its_listeners_as_not_accepting(self):
        with self.daemon() as d:
            self.assertEqual(d.api("POST", "/api/v1/drain").status, 200)
            listeners = d.api("GET", "/api/v1/listeners").json["listeners"]
            self.assertEqual([(l["name"], l["accepting"]) for l in listeners], [("web", False)])
            self.assertEqual(d.api("GET", "/api/v1/status").json["listeners"], 1)

    def test_health_probes_need_no_token_over_tcp(self):
        admin_port = free_port()
        with self.daemon(admin_extra=f"  bind: \"127.0.0.1:{admin_port}\"") as d:
            wait_until(lambda: port_accepts(admin_port), what="admin TCP port")
            self.assertEqual(tcp_api(admin_port, "GET", "/healthz").status, 200)
            self.assertEqual(tcp_api(admin_port, "GET", "/readyz").status, 200)
            # No tokens configured: the API itself is unix-socket only.
            r = tcp_api(admin_port, "GET", "/api/v1/status")
            self.assertEqual(r.status, 401, r)
            self.assertEqual(r.json["error"]["code"], "unauthorized")
            self.assertEqual(d.api("GET", "/api/v1/status").status, 200)

    # -- read endpoints

    def test_read_endpoints_shapes_and_counters_follow_traffic(self):
        metrics_port = free_port()
        with self.daemon(metrics_port=metrics_port) as d:
            s = d.api("GET", "/api/v1/status").json
            for key in ("version", "pid", "uptime_seconds", "config_file", "config_generation",
                        "workers", "io", "listeners", "pools", "draining", "ready", "reloads",
                        "reload_failures"):
                self.assertIn(key, s)
            self.assertEqual(s["pid"], d.proc.pid)
            self.assertEqual(s["workers"], 2)
            self.assertEqual(s["config_file"], d.config_path)
            self.assertEqual((s["listeners"], s["pools"], s["ready"]), (1, 1, True))
            self.assertRegex(s["version"], r"^\d+\.\d+\.\d+")

            listeners = d.api("GET", "/api/v1/listeners").json["listeners"]
            self.assertEqual(len(listeners), 1)
            web = listeners[0]
            self.assertEqual((web["name"], web["bind"], web["protocol"], web["pool"]),
                             ("web", f"127.0.0.1:{d.port}", "http", "app"))
            self.assertTrue(web["accepting"])

            pools = d.api("GET", "/api/v1/pools").json["pools"]
            self.assertEqual([p["name"] for p in pools], ["app"])
            app = d.api("GET", "/api/v1/pools/app").json
            self.assertEqual(app["name"], "app")
            self.assertEqual(app["backends_up"], 2)
            self.assertEqual([b["address"] for b in app["backends"]],
                             [self.a.address, self.b.address])
            for b in app["backends"]:
                for key in ("weight", "config_weight", "health", "admin_state",
                            "active_connections"):
                    self.assertIn(key, b)
                self.assertEqual((b["health"], b["admin_state"]), ("unchecked", "enabled"))
            bl = d.api("GET", "/api/v1/pools/app/backends").json
            self.assertEqual(bl["pool"], "app")
            self.assertEqual([b["address"] for b in bl["backends"]],
                             [self.a.address, self.b.address])
            self.assertEqual(d.api("GET", "/api/v1/pools/nope").status, 404)
            self.assertEqual(d.api("GET", "/api/v1/pools/nope/backends").status, 404)

            cfg = d.api("GET", "/api/v1/config").json
            self.assertEqual(cfg["listeners"][0]["bind"], f"127.0.0.1:{d.port}")
            self.assertEqual(cfg["admin"]["socket"], d.sock)

            ev = d.api("GET", "/api/v1/events").json
            self.assertEqual(ev["events"][0]["kind"], "config.load")
            self.assertEqual(ev["events"][0]["actor"], "system")
            self.assertEqual(ev["last_seq"], ev["events"][-1]["seq"])

            def counters():
                lst = d.api("GET", "/api/v1/listeners").json["listeners"][0]
                backends = d.api("GET", "/api/v1/pools/app/backends").json["backends"]
                text = http_get(metrics_port, "/metrics")[1]
                return (lst.get("requests_total", 0), lst.get("connections_total", 0),
                        sum(b.get("requests_total", 0) for b in backends),
                        metric_value(text, "ballast_http_requests_total", 'listener="web"'))

            before = counters()
            n = 9
            names = names_of(d.port, n)
            self.assertEqual(sorted(set(names)), ["a", "b"])
            want = (before[0] + n, before[1] + n, before[2] + n, before[3] + n)
            wait_until(lambda: counters() == want, what=f"counters to grow by {n}")
            lst = d.api("GET", "/api/v1/listeners").json["listeners"][0]
            self.assertGreaterEqual(lst["responses"]["2xx"], n)
            self.assertGreater(lst["bytes_out"], 0)

    def test_metrics_endpoint_passes_promtool_and_has_the_families(self):
        metrics_port = free_port()
        with self.daemon(metrics_port=metrics_port) as d:
            wait_until(lambda: port_accepts(metrics_port), what="metrics port")
            names_of(d.port, 4)
            status, text = http_get(metrics_port, "/metrics")
            self.assertEqual(status, 200)
            for family, labels in [
                    ("ballast_listener_connections_total", 'listener="web"'),
                    ("ballast_listener_connections_active", 'listener="web"'),
                    ("ballast_http_requests_total", 'listener="web"'),
                    ("ballast_http_responses_total", 'listener="web",code="2xx"'),
                    ("ballast_http_request_duration_seconds_bucket", 'listener="web",le="+Inf"'),
                    ("ballast_backend_requests_total", f'pool="app",backend="{self.a.address}"'),
                    ("ballast_backend_connections_total", f'pool="app",backend="{self.b.address}"'),
                    ("ballast_backend_up", f'pool="app",backend="{self.a.address}"'),
                    ("ballast_backend_weight", f'pool="app",backend="{self.a.address}"'),
                    ("ballast_pool_backends_up", 'pool="app"')]:
                self.assertIsNotNone(metric_value(text, family, labels), f"{family}{{{labels}}}")
            self.assertEqual(metric_value(text, "ballast_pool_backends_up", 'pool="app"'), 2)
            for family in ("ballast_config_generation", "ballast_workers",
                           "ballast_process_open_fds", "ballast_process_resident_memory_bytes"):
                self.assertRegex(text, rf"(?m)^{family} \d")
            self.assertIn("# TYPE ballast_http_request_duration_seconds histogram", text)
            # The same text over the admin API; other paths on the metrics port are 404.
            self.assertIn("ballast_http_requests_total", d.api("GET", "/metrics").body)
            self.assertEqual(http_get(metrics_port, "/other")[0], 404)
            if PROMTOOL is None:
                self.skipTest("promtool not installed (Debian package prometheus): "
                              "exposition format not checked")
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    # -- runtime backend changes

    def test_weight_zero_takes_a_backend_out_of_rotation(self):
        with self.daemon() as d:
            self.assertEqual(set(names_of(d.port, 10)), {"a", "b"})
            seq = d.last_seq()
            r = d.api("PUT", f"/api/v1/pools/app/backends/{self.a.address}/weight", {"weight": 0})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["backend"]["weight"], 0)
            self.assertEqual(r.json["backend"]["config_weight"], 1)
            self.assertFalse(r.json["backend"]["persists_across_reload"])
            rec = self.assertAudited(d, "admin.backend_weight", seq)
            self.assertEqual(rec["before"]["backend"]["weight"], 1)
            self.assertEqual(rec["after"]["backend"]["weight"], 0)
            self.assertEqual(rec["after"]["pool"], "app")
            self.assertEqual(names_of(d.port, 50), ["b"] * 50)
            # Back to 1: a gets traffic again.
            r = d.api("PUT", f"/api/v1/pools/app/backends/{self.a.address}/weight", {"weight": 1})
            self.assertEqual(r.status, 200, r)
            self.assertIn("a", names_of(d.port, 10))

    def test_drain_disable_enable(self):
        with self.daemon() as d:
            url = f"/api/v1/pools/app/backends/{self.a.address}"
            for verb, state in (("drain", "drain"), ("enable", "enabled"),
                                ("disable", "disabled"), ("enable", "enabled")):
                with self.subTest(verb=verb):
                    seq = d.last_seq()
                    r = d.api("POST", f"{url}/{verb}")
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json["backend"]["admin_state"], state)
                    self.assertTrue(r.json["backend"]["persists_across_reload"])
                    rec = self.assertAudited(d, f"admin.backend_{verb}", seq)
                    self.assertEqual(rec["after"]["backend"]["admin_state"], state)
                    b = [x for x in d.api("GET", "/api/v1/pools/app").json["backends"]
                         if x["address"] == self.a.address][0]
                    self.assertEqual(b["admin_state"], state)
                    names = names_of(d.port, 50 if state != "enabled" else 10)
                    if state == "enabled":
                        self.assertIn("a", names)
                    else:
                        self.assertEqual(set(names), {"b"})

    def test_add_and_remove_backends(self):
        with self.daemon(backends=[self.a.address]) as d:
            self.assertEqual(set(names_of(d.port, 5)), {"a"})
            gen = d.api("GET", "/api/v1/status").json["config_generation"]
            seq = d.last_seq()
            r = d.api("POST", "/api/v1/pools/app/backends", {"address": self.c.address,
                                                             "weight": 1})
            self.assertEqual(r.status, 201, r)
            self.assertEqual((r.json["result"], r.json["backend"]), ("added", self.c.address))
            self.assertFalse(r.json["persists_across_reload"])
            self.assertGreater(r.json["generation"], gen)
            self.assertAudited(d, "admin.backend_add", seq, backend=self.c.address, pool="app")
            self.assertEqual([b["address"] for b in d.api("GET", "/api/v1/pools/app").json[
                "backends"]], [self.a.address, self.c.address])
            wait_until(lambda: "c" in names_of(d.port, 4), what="new backend c gets traffic")

            seq = d.last_seq()
            r = d.api("DELETE", f"/api/v1/pools/app/backends/{self.a.address}")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["result"], "removed")
            rec = self.assertAudited(d, "admin.backend_remove", seq)
            self.assertEqual(rec["before"]["backend"], self.a.address)
            self.assertIsNone(rec["after"])
            self.assertEqual(names_of(d.port, 20), ["c"] * 20)

    def test_reload_keeps_admin_state_and_drops_runtime_weight_and_adds(self):
        """What the responses promise: drain/disable survive a reload, a weight override and an
        added backend last until the file speaks again."""
        with self.daemon() as d:
            a, b, c = self.a.address, self.b.address, self.c.address
            self.assertEqual(d.api("POST", f"/api/v1/pools/app/backends/{b}/drain").status, 200)
            self.assertEqual(d.api("PUT", f"/api/v1/pools/app/backends/{a}/weight",
                                   {"weight": 7}).status, 200)
            self.assertEqual(d.api("POST", "/api/v1/pools/app/backends",
                                   {"address": c}).status, 201)
            r = d.api("POST", "/api/v1/reload")
            self.assertEqual(r.status, 200, r)
            backends = {x["address"]: x for x in d.api("GET", "/api/v1/pools/app").json[
                "backends"]}
            self.assertEqual(sorted(backends), sorted([a, b]))
            self.assertEqual(backends[b]["admin_state"], "drain")
            self.assertEqual(backends[a]["weight"], 1)
            self.assertEqual(names_of(d.port, 20), ["a"] * 20)

    def test_adding_a_backend_keeps_other_runtime_weights(self):
        with self.daemon() as d:
            a = self.a.address
            r = d.api("PUT", f"/api/v1/pools/app/backends/{a}/weight", {"weight": 0})
            self.assertEqual(r.status, 200, r)
            r = d.api("POST", "/api/v1/pools/app/backends", {"address": self.c.address})
            self.assertEqual(r.status, 201, r)
            weights = {x["address"]: x["weight"] for x in d.api("GET", "/api/v1/pools/app").json[
                "backends"]}
            self.assertEqual(weights[a], 0, weights)
            self.assertNotIn("a", names_of(d.port, 30))

    def test_refused_backend_changes(self):
        with self.daemon() as d:
            seq = d.last_seq()
            a = self.a.address
            cases = [
                ("PUT", f"/api/v1/pools/nope/backends/{a}/weight", {"weight": 1}, 404),
                ("POST", f"/api/v1/pools/nope/backends/{a}/drain", None, 404),
                ("PUT", "/api/v1/pools/app/backends/127.0.0.1:1/weight", {"weight": 1}, 404),
                ("POST", "/api/v1/pools/app/backends/127.0.0.1:1/disable", None, 404),
                ("DELETE", "/api/v1/pools/app/backends/127.0.0.1:1", None, 404),
                ("POST", "/api/v1/pools/app/backends", {"address": a}, 409),
                ("PUT", f"/api/v1/pools/app/backends/{a}/weight", {"weight": 1001}, 400),
                ("PUT", f"/api/v1/pools/app/backends/{a}/weight", {"weight": -1}, 400),
                ("PUT", f"/api/v1/pools/app/backends/{a}/weight", {"weight": "3"}, 400),
                ("PUT", f"/api/v1/pools/app/backends/{a}/weight", {}, 400),
                ("PUT", f"/api/v1/pools/app/backends/{a}/weight", "not json", 400),
                ("POST", "/api/v1/pools/app/backends", {"weight": 1}, 400),
                ("POST", "/api/v1/pools/app/backends", {"address": "no-port"}, 400),
                ("POST", "/api/v1/pools/app/backends", "[1]", 400),
            ]
            for method, path, body, status in cases:
                with self.subTest(method=method, path=path, body=body):
                    r = d.api(method, path, body)
                    self.assertEqual(r.status, status, r)
                    self.assertIsInstance(r.json["error"]["code"], str)
                    self.assertIsInstance(r.json["error"]["message"], str)
            for method, path, allow in (("GET", "/api/v1/reload", "POST"),
                                        ("POST", "/api/v1/status", "GET"),
                                        ("DELETE", "/api/v1/pools/app/backends", "GET, POST"),
                                        ("GET", f"/api/v1/pools/app/backends/{a}/drain", "POST")):
                with self.subTest(method=method, path=path):
                    r = d.api(method, path)
                    self.assertEqual(r.status, 405, r)
                    self.assertEqual(r.header("Allow"), allow)
            self.assertEqual(d.api("GET", "/api/v2/status").status, 404)
            self.assertEqual(d.api("GET", "/api/v1/nothing").status, 404)
            # Nothing changed, so no record says it did.
            kinds = [e["kind"] for e in d.audit(seq)]
            self.assertFalse([k for k in kinds if k.startswith("admin.backend_")], kinds)
            app = d.api("GET", "/api/v1/pools/app").json
            self.assertEqual([(b["weight"], b["admin_state"]) for b in app["backends"]],
                             [(1, "enabled"), (1, "enabled")])

    # -- reload

    def test_refused_reload_keeps_the_old_config_serving(self):
        with self.daemon(backends=[self.a.address]) as d:
            gen = d.api("GET", "/api/v1/status").json["config_generation"]
            seq = d.last_seq()
            good = d.make_config(d.dir)
            bad = good.replace("    pool: app\n", "    pool: app\n    bogus_key: 1\n", 1)
            d.write_config(bad)
            line = bad.splitlines().index("    bogus_key: 1") + 1
            r = d.api("POST", "/api/v1/reload")
            self.assertEqual(r.status, 422, r)
            self.assertFalse(r.json["reloaded"])
            self.assertEqual(r.json["generation"], gen)
            self.assertTrue(r.json["errors"])
            for e in r.json["errors"]:
                self.assertRegex(e, r"^\S+:\d+:\d+: ")
            self.assertTrue(any(e.startswith(f"{d.config_path}:{line}:5: ")
                                for e in r.json["errors"]), r.json["errors"])
            rec = [e for e in d.audit(seq) if e["kind"] == "config.reload_rejected"]
            self.assertEqual(len(rec), 1)
            self.assertEqual(rec[0]["after"]["errors"], r.json["errors"])
            self.assertEqual(names_of(d.port, 5), ["a"] * 5)
            s = d.api("GET", "/api/v1/status").json
            self.assertEqual((s["config_generation"], s["reload_failures"]), (gen, 1))
            # SIGHUP with the same file is refused too; the good file then goes in.
            d.reload(expect="config.reload_rejected")
            self.assertEqual(names_of(d.port, 3), ["a"] * 3)
            d.write_config(good.replace(self.a.address, self.b.address))
            r = d.api("POST", "/api/v1/reload")
            self.assertEqual(r.status, 200, r)
            self.assertGreater(r.json["generation"], gen)
            self.assertEqual(names_of(d.port, 5), ["b"] * 5)

    def test_watch_reloads_on_atomic_rename(self):
        with self.daemon(backends=[self.a.address], top="reload: {watch: true}") as d:
            wait_until(lambda: d.events("config.watching"), what="config.watching")
            gen = d.api("GET", "/api/v1/status").json["config_generation"]
            seq = d.last_seq()
            text = d.make_config(d.dir).replace(self.a.address, self.b.address)
            tmp = os.path.join(d.dir, ".ballast.yaml.tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, d.config_path)

            def reloaded():
                return [e for e in d.audit(seq) if e["kind"] == "config.reload"]

            rec = wait_until(reloaded, what="reload by inotify")
            self.assertEqual(len(rec), 1, rec)
            self.assertEqual(rec[0]["actor"], "watch:inotify")
            self.assertGreater(rec[0]["after"]["generation"], gen)
            self.assertEqual(names_of(d.port, 5), ["b"] * 5)
            # A broken file written the same way is refused; b keeps serving.
            seq = d.last_seq()
            with open(tmp, "w") as f:
                f.write(text.replace("listeners:", "listeners: [", 1))
            os.rename(tmp, d.config_path)
            rec = wait_until(lambda: [e for e in d.audit(seq)
                                      if e["kind"] == "config.reload_rejected"],
                             what="refused reload by inotify")
            self.assertEqual(rec[0]["actor"], "watch:inotify")
            self.assertRegex(rec[0]["after"]["errors"][0], r"ballast\.yaml:\d+:\d+: ")
            self.assertEqual(names_of(d.port, 5), ["b"] * 5)

    # -- event stream and audit file

    def test_event_stream_delivers_records_made_after_it_opened(self):
        with self.daemon() as d:
            last = d.last_seq()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(d.sock)
            s.sendall(f"GET /api/v1/events?since={last} HTTP/1.1\r\nHost: x\r\n"
                      "Accept: text/event-stream\r\n\r\n".encode())
            buf = b""
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
                buf += s.recv(65536)
            head, _, rest = buf.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            self.assertIn(b"content-type: text/event-stream", head.lower())
            # The stream is open; now make a record.
            r = d.api("PUT", f"/api/v1/pools/app/backends/{self.b.address}/weight", {"weight": 3})
            self.assertEqual(r.status, 200)
            buf = rest
            frame = None
            while frame is None and time.monotonic() < deadline:
                for block in buf.split(b"\n\n")[:-1]:
                    fields = dict(l.split(b": ", 1) for l in block.split(b"\n") if b": " in l)
                    if fields.get(b"event") == b"audit":
                        data = json.loads(fields[b"data"])
                        if data["kind"] == "admin.backend_weight":
                            frame = (fields, data)
                if frame is None:
                    buf += s.recv(65536)
            s.close()
            self.assertIsNotNone(frame, f"no audit frame in {buf!r}")
            fields, data = frame
            self.assertGreater(data["seq"], last)
            self.assertEqual(int(fields[b"id"]), data["seq"])
            self.assertEqual(data["after"]["backend"]["weight"], 3)

    def test_admin_connection_keep_alive_limits_and_socket_mode(self):
        with self.daemon() as d:
            self.assertEqual(stat.S_IMODE(os.stat(d.sock).st_mode), 0o660)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(d.sock)
                # Two pipelined requests on one connection, answered in order.
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
                reader = ResponseReader(s)
                first, second = reader.read(), reader.read()
                self.assertEqual((first.status, json.loads(first.body)), (200, {"status": "alive"}))
                self.assertEqual(second.status, 200)
                self.assertEqual(json.loads(second.body)["pid"], d.proc.pid)
                self.assertEqual(second.header("Cache-Control"), "no-store")
            r = d.api("GET", "/api/v1/pools/a%zz")
            self.assertEqual(r.status, 400, r)
            # A body over the 1 MiB admin limit is refused from its Content-Length alone.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(d.sock)
                s.sendall(b"POST /api/v1/pools/app/backends HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n{")
                r = ResponseReader(s).read()
                self.assertEqual(r.status, 413, r)
            self.assertEqual(d.api("GET", "/healthz").status, 200)

    def test_sigusr1_reopens_the_audit_log(self):
        with self.daemon() as d:
            self.assertTrue(d.audit_file())
            rotated = d.audit_path + ".1"
            os.rename(d.audit_path, rotated)
            d.proc.send_signal(signal.SIGUSR1)
            wait_until(lambda: d.events("server.logs_reopened"), what="server.logs_reopened")
            r = d.api("POST", f"/api/v1/pools/app/backends/{self.a.address}/drain")
            self.assertEqual(r.status, 200)
            wait_until(lambda: os.path.exists(d.audit_path), what="fresh audit.log")
            fresh = d.audit_file()
            self.assertEqual([e["kind"] for e in fresh], ["admin.backend_drain"])
            self.assertNotIn("admin.backend_drain", [e["kind"] for e in d.audit_file(rotated)])
            self.assertEqual(fresh[0]["seq"], d.audit_file(rotated)[-1]["seq"] + 1)


class AdminAuthTest(BallastTest):
    """The TCP admin listener: tokens, JWT, allowlist, rate limit."""

    HS_SECRET = b"hs256-secret-for-the-ballast-tests-0123456789"
    STATIC = "static-token-6f1e2d3c4b5a"

    @classmethod
    def setUpClass(cls):
        cls.keys = tempfile.mkdtemp(prefix="ballast-keys-")
        cls.tokens_file = os.path.join(cls.keys, "tokens")
        with open(cls.tokens_file, "w") as f:
            f.write(f"# operators\n{cls.STATIC}\n\n")
        cls.hs_file = os.path.join(cls.keys, "hs256.secret")
        with open(cls.hs_file, "wb") as f:
            f.write(cls.HS_SECRET + b"\n")
        cls.backend = HttpBackend("a")
        cls.rsa_key = os.path.join(cls.keys, "rsa.pem")
        cls.rsa_pub = os.path.join(cls.keys, "rsa.pub.pem")
        cls.other_key = os.path.join(cls.keys, "other.pem")
        if OPENSSL is None:
            cls.rsa_pub = None  # RS256 cases are skipped; install Debian package openssl
            return
        for key in (cls.rsa_key, cls.other_key):
            subprocess.run([OPENSSL, "genrsa", "-out", key, "2048"], check=True,
                           capture_output=True)
        subprocess.run([OPENSSL, "rsa", "-in", cls.rsa_key, "-pubout", "-out", cls.rsa_pub],
                       check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        shutil.rmtree(cls.keys, ignore_errors=True)

    def daemon(self, allow=None, rate=1000):
        self.admin_port = free_port()
        port = free_port()
        extra = [f"  bind: \"127.0.0.1:{self.admin_port}\"", "  auth:",
                 f"    tokens_file: {self.tokens_file}",
                 f"    jwt_hs256_secret_file: {self.hs_file}",
                 f"    rate_limit_per_sec: {rate}"]
        if self.rsa_pub:
            extra.append(f"    jwt_rs256_public_key_file: {self.rsa_pub}")
        if allow:
            extra.append(f"    allow: [{allow}]")
        d = AdminBallast(lambda dir_: admin_config(dir_, port, [self.backend.address],
                                                   admin_extra="\n".join(extra)))
        return d

    def get(self, token=None, path="/api/v1/status", method="GET", body=None):
        return tcp_api(self.admin_port, method, path, body, token=token)

    def assertUnauthorized(self, r, why=None):
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json["error"]["code"], "unauthorized")
        self.assertRegex(r.header("WWW-Authenticate") or "", r"^Bearer ")
        if why:
            self.assertIn(why, r.json["error"]["message"])

    def test_tokens_and_jwts(self):
        now = int(time.time())
        ok_claims = {"sub": "alice", "iat": now, "exp": now + 300}
        with self.daemon() as d:
            wait_until(lambda: port_accepts(self.admin_port), what="admin TCP port")
            self.assertUnauthorized(self.get(), "missing bearer token")
            r = tcp_api(self.admin_port, "GET", "/api/v1/status",
                        headers={"Authorization": f"Basic {self.STATIC}"})
            self.assertUnauthorized(r)
            self.assertEqual(self.get(self.STATIC).status, 200)
            self.assertEqual(self.get(self.STATIC).json["pid"], d.proc.pid)
            self.assertUnauthorized(self.get(self.STATIC + "x"))
            self.assertUnauthorized(self.get("# operators"))

            cases = {
                "hs256 valid": (jwt_hs256(self.HS_SECRET, ok_claims), 200, None),
                "hs256 nbf past": (jwt_hs256(self.HS_SECRET, {**ok_claims, "nbf": now - 10}),
                                   200, None),
                "hs256 expired": (jwt_hs256(self.HS_SECRET, {**ok_claims, "exp": now - 10}),
                                  401, "expired"),
                "hs256 no exp": (jwt_hs256(self.HS_SECRET, {"sub": "alice"}), 401, "exp"),
                "hs256 nbf future": (jwt_hs256(self.HS_SECRET, {**ok_claims, "nbf": now + 3600}),
                                     401, "nbf"),
                "hs256 wrong secret": (jwt_hs256(b"not-the-secret", ok_claims), 401, None),
                "alg none": (jwt_hs256(b"", ok_claims, alg="none"), 401, None),
            }
            if self.rsa_pub:
                cases.update({
                    "rs256 valid": (jwt_rs256(self.rsa_key, ok_claims), 200, None),
                    "rs256 expired": (jwt_rs256(self.rsa_key, {**ok_claims, "exp": now - 10}),
                                      401, "expired"),
                    "rs256 other key": (jwt_rs256(self.other_key, ok_claims), 401, None),
                })
                with open(self.rsa_pub, "rb") as f:
                    pub = f.read()
                # Key confusion: HS256 keyed with the RSA public key must not pass as RS256.
                cases["hs256 keyed with rsa public key"] = (jwt_hs256(pub, ok_claims), 401, None)
            else:
                sys.stderr.write("openssl not installed (Debian package openssl): RS256 "
                                 "cases skipped\n")
            good = cases["hs256 valid"][0]
            h, p, sig = good.split(".")
            tampered = b64u(json.dumps({**ok_claims, "sub": "mallory"}).encode())
            cases["hs256 tampered payload"] = (f"{h}.{tampered}.{sig}", 401, None)
            for name, (token, status, why) in cases.items():
                with self.subTest(name):
                    r = self.get(token)
                    if status == 401:
                        self.assertUnauthorized(r, why)
                    else:
                        self.assertEqual(r.status, status, r)

            # The actor of a change names the token's subject and the peer.
            seq = d.last_seq()
            r = self.get(jwt_hs256(self.HS_SECRET, ok_claims), method="POST",
                         path=f"/api/v1/pools/app/backends/{self.backend.address}/drain")
            self.assertEqual(r.status, 200, r)
            r = self.get(self.STATIC, method="POST",
                         path=f"/api/v1/pools/app/backends/{self.backend.address}/enable")
            self.assertEqual(r.status, 200, r)
            actors = [(e["kind"], e["actor"]) for e in d.audit(seq)]
            self.assertEqual(actors, [("admin.backend_drain", "admin:jwt:alice@127.0.0.1"),
                                      ("admin.backend_enable", "admin:static@127.0.0.1")])

    def test_reload_applies_a_rotated_tokens_file(self):
        tokens = os.path.join(self.keys, "rotating-tokens")
        with open(tokens, "w") as f:
            f.write("old-token-1\n")
        self.admin_port = free_port()
        port = free_port()
        extra = "\n".join([f"  bind: \"127.0.0.1:{self.admin_port}\"", "  auth:",
                           f"    tokens_file: {tokens}", "    rate_limit_per_sec: 0"])
        with AdminBallast(lambda dir_: admin_config(dir_, port, [self.backend.address],
                                                    admin_extra=extra)) as d:
            wait_until(lambda: port_accepts(self.admin_port), what="admin TCP port")
            self.assertEqual(self.get("old-token-1").status, 200)
            with open(tokens, "w") as f:
                f.write("new-token-2\n")
            self.assertEqual(d.api("POST", "/api/v1/reload").status, 200)
            self.assertEqual(self.get("new-token-2").status, 200)
            self.assertUnauthorized(self.get("old-token-1"))

    def test_bearer_scheme_is_case_insensitive(self):
        with self.daemon():
            wait_until(lambda: port_accepts(self.admin_port), what="admin TCP port")
            r = tcp_api(self.admin_port, "GET", "/api/v1/status",
                        headers={"Authorization": f"bearer {self.STATIC}"})
            self.assertEqual(r.status, 200, r)

    def test_allowlist_refuses_other_addresses(self):
        # A peer outside the allow-list is closed at accept, before a byte is read (#21), so it
        # gets no answer at all, not even to /healthz; the unix socket is not behind the list.
        with self.daemon(allow="198.18.0.0/15") as d:
            wait_until(lambda: d.events("server.started"), what="started")
            for path in ("/api/v1/status", "/healthz"):
                with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
                    tcp_api(self.admin_port, "GET", path, token=self.STATIC)
            self.assertEqual(d.api("GET", "/api/v1/status").status, 200)
            refused = re.search(r'^ballast_control_connections_refused_total\{server="admin",'
                                r'reason="not_allowed"\} (\d+)$', d.api("GET", "/metrics").body,
                                re.M)
            self.assertEqual(int(refused.group(1)), 2)

    def test_rate_limit_answers_429(self):
        with self.daemon(rate=5):
            wait_until(lambda: port_accepts(self.admin_port), what="admin TCP port")
            statuses = []
            limited = None
            for _ in range(20):
                r = self.get(self.STATIC)
                statuses.append(r.status)
                if r.status == 429:
                    limited = r
            self.assertEqual(statuses[0], 200)
            self.assertIn(429, statuses, statuses)
            self.assertLessEqual(statuses.count(200), 5 + 2, statuses)  # burst 5, refill 5/s
            self.assertEqual(limited.json["error"]["code"], "rate_limited")
            self.assertEqual(limited.header("Retry-After"), "1")
            # The bucket refills: after a second or so a request passes again.
            wait_until(lambda: self.get(self.STATIC).status == 200, timeout=5, interval=0.25,
                       what="rate bucket refill")


class AdminCliTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a = HttpBackend("a")
        cls.b = HttpBackend("b")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()

    def ballast(self, *args, env=None, cwd=None):
        e = {k: v for k, v in os.environ.items() if k != "BALLAST_ADMIN_SOCKET"}
        e.update(env or {})
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, env=e,
                              cwd=cwd)

    def daemon(self):
        port = free_port()
        d = AdminBallast(lambda dir_: admin_config(dir_, port, [self.a.address]))
        d.port = port
        return d

    def test_status_show_and_backend_commands(self):
        with self.daemon() as d:
            sock = ["--socket", d.sock]
            r = self.ballast("status", *sock)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"(?m)^FIELD\s+VALUE")
            self.assertRegex(r.stdout, rf"(?m)^pid\s+{d.proc.pid}$")
            for what, header, row in (
                    ("listeners", r"^LISTENER\s+BIND", rf"^web\s+127\.0\.0\.1:{d.port}\s+http\s+app"),
                    ("pools", r"^POOL\s+ALGORITHM\s+UP", r"^app\s+round_robin\s+1\s+1"),
                    ("events", r"^SEQ\s+TIME_MS\s+KIND", r"^1\s+\d+\s+config\.load\s+system")):
                with self.subTest(show=what):
                    r = self.ballast("show", what, *sock)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertRegex(r.stdout, "(?m)" + header)
                    self.assertRegex(r.stdout, "(?m)" + row)
            r = self.ballast("show", "backends", "app", *sock)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, rf"(?m)^app\s+{re.escape(self.a.address)}\s+unchecked\s+"
                                       r"enabled\s+1\s")
            r = self.ballast("show", "config", *sock)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["pools"][0]["name"], "app")
            for args, key in ((["status"], "pid"), (["show", "listeners"], "listeners"),
                              (["show", "pools"], "pools"), (["show", "backends", "app"], "backends"),
                              (["show", "events"], "events")):
                with self.subTest(json=args):
                    r = self.ballast(*args, "--json", *sock)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn(key, json.loads(r.stdout))

            # BALLAST_ADMIN_SOCKET instead of --socket.
            r = self.ballast("status", "--json", env={"BALLAST_ADMIN_SOCKET": d.sock})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["pid"], d.proc.pid)

            a, b = self.a.address, self.b.address
            for args in (["backend", "add", "app", b, "2"], ["backend", "drain", "app", b],
                         ["backend", "enable", "app", b], ["backend", "disable", "app", b],
                         ["backend", "weight", "app", b, "5"], ["backend", "remove", "app", b]):
                with self.subTest(args=args):
                    r = self.ballast(*args, *sock)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn("note:", r.stdout)
            kinds = [e["kind"] for e in d.audit()]
            for k in ("admin.backend_add", "admin.backend_drain", "admin.backend_enable",
                      "admin.backend_disable", "admin.backend_weight", "admin.backend_remove"):
                self.assertIn(k, kinds)
            r = self.ballast("backend", "drain", "app", "127.0.0.1:1", *sock)
            self.assertEqual(r.returncode, 1)
            self.assertIn("is not in app", r.stderr)
            r = self.ballast("backend", "weight", "nope", a, "1", *sock)
            self.assertEqual(r.returncode, 1)
            r = self.ballast("backend", "weight", "app", a, "1001", *sock)
            self.assertEqual(r.returncode, 2)
            r = self.ballast("show", "nothing", *sock)
            self.assertEqual(r.returncode, 2)

    def test_reload_and_drain_commands(self):
        with self.daemon() as d:
            sock = ["--socket", d.sock]
            r = self.ballast("reload", *sock)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^reloaded: generation \d+\n$")
            good = d.make_config(d.dir)
            d.write_config(good + "bogus_top_level: 1\n")
            r = self.ballast("reload", *sock)
            self.assertEqual(r.returncode, 1, r.stdout)
            self.assertIn("refused (422)", r.stderr)
            self.assertRegex(r.stderr, rf"(?m)^  {re.escape(d.config_path)}:\d+:1: ")
            d.write_config(good)
            r = self.ballast("drain", *sock)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("draining:", r.stdout)
            wait_until(lambda: not port_accepts(d.port), what="listener closed by ballast drain")
            r = self.ballast("show", "backends", *sock)  # every pool
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, rf"(?m)^app\s+{re.escape(self.a.address)}\s")
            self.assertEqual(self.ballast("reload", *sock).returncode, 0)
            wait_until(lambda: port_accepts(d.port), what="listener back after ballast reload")

    def test_no_daemon_exits_3(self):
        missing = os.path.join(tempfile.mkdtemp(prefix="ballast-nodaemon-"), "admin.sock")
        for args, env in ((["status", "--socket", missing], None),
                          (["show", "pools"], {"BALLAST_ADMIN_SOCKET": missing}),
                          (["backend", "drain", "app", "127.0.0.1:1", "--socket", missing], None)):
            with self.subTest(args=args):
                r = self.ballast(*args, env=env)
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn(missing, r.stderr)

    def test_validate_refuses_plain_admin_bind_off_loopback(self):
        d = tempfile.mkdtemp(prefix="ballast-validate-")
        base = ("listeners:\n  - name: web\n    bind: \"127.0.0.1:18080\"\n    pool: app\n"
                "pools:\n  - name: app\n    backends:\n      - {address: \"127.0.0.1:18081\"}\n"
                "admin:\n  socket: \"\"\n  bind: \"192.0.2.1:9900\"\n")
        with open(os.path.join(d, "open.yaml"), "w") as f:
            f.write(base)
        with open(os.path.join(d, "insecure.yaml"), "w") as f:
            f.write(base + "  insecure: true\n")
        r = self.ballast("validate", "-c", "open.yaml", cwd=d)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        # admin.bind is on line 11; its value starts at column 9.
        self.assertRegex(r.stderr, r"(?m)^open\.yaml:11:9: bind: plain HTTP is allowed only on "
                                   r"loopback")
        r = self.ballast("validate", "-c", "insecure.yaml", cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        shutil.rmtree(d, ignore_errors=True)

    def test_doctor(self):
        d = tempfile.mkdtemp(prefix="ballast-doctor-")
        port = free_port()
        good = os.path.join(d, "good.yaml")
        with open(good, "w") as f:
            f.write(admin_config(d, port, [self.a.address]))
        sock = ["--socket", os.path.join(d, "admin.sock")]
        r = self.ballast("doctor", "-c", good, *sock)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for check in ("fd_limit", "net.core.somaxconn", "io_uring", f"config {good}", "daemon",
                      f"listener web 127.0.0.1:{port}"):
            self.assertIn(check, r.stdout)
        r = self.ballast("doctor", "-c", good, "--json", *sock)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertTrue(report["ok"])
        self.assertIn("fd_limit", [f["check"] for f in report["findings"]])
        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("listeners: nope\n")
        r = self.ballast("doctor", "-c", bad, *sock)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, rf"(?m)^ERROR\s+config {re.escape(bad)}\s+1 error")
        self.assertIn("ballast validate -c", r.stdout)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
