"""tests/integration/test_discovery.py — `pools[].discovery: {file}`: a pool's backends come from
a YAML/JSON list that something else writes, re-read on change and applied in place.

What it holds Ballast to:
- a change to the file (written the way deploy tools do: a new file renamed over the old one)
  updates the pool without a reload: no `config.reloaded`, one `discovery.updated` line, one
  audit record naming what was added and removed, `ballast_discovery_updates_total` counts it;
- a backend that stays keeps its state (an admin drain survives the change);
- a backend that goes takes no new connections, and a connection already open to it goes on;
- an unreadable or invalid file is refused with its own file:line:column, logged and counted,
  and the last good set keeps serving; an empty list is a valid set (a service at zero);
- `ballast validate` reports a bad discovery file at its line:column, and `backends` beside
  `discovery` as an error.
Each case on both I/O backends. fd budget: a few sockets, far under the 20,000 hard limit."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest
import urllib.request

from harness import (BALLAST_BIN, IO_BACKENDS, Backend, Ballast, BallastTest, UnixHTTPConnection,
                     ask_name, free_port, main, wait_until)


def api(lb, method, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, json.loads(body) if body else None


def pool_backends(lb):
    return {b["address"]: b for b in api(lb, "GET", "/api/v1/pools/app/backends")[1]["backends"]}


def metric(port, name, pool="app"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{pool="{pool}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def write_list(path, text):
    """As deploy tools do: write a new file beside it, then rename it over the old one."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def audit(lb, kind):
    """Audit records of one kind, with their before and after, from the admin API."""
    events = api(lb, "GET", "/api/v1/events?since=0")[1]["events"]
    return [e for e in events if e["kind"] == kind]


class DiscoveryFileTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.a, cls.b = Backend("a"), Backend("b")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ballast-discovery-")
        self.list = os.path.join(self.dir, "app.yaml")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, port, metrics_port, lb_dir):
        return f"""workers: 2
logging: {{level: debug}}
admin: {{socket: "{lb_dir}/admin.sock"}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - {{name: front, bind: "127.0.0.1:{port}", pool: app}}
pools:
  - name: app
    discovery: {{file: "{self.list}"}}
"""

    def start(self, io):
        port, metrics_port = free_port(), free_port()
        lb = Ballast("", io=io)
        lb.write_config(self.config(port, metrics_port, lb.dir))
        return lb, port, metrics_port

    def test_changes_apply_in_place_and_keep_state_and_connections(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                write_list(self.list, f'- {{address: "{self.a.address}"}}\n')
                lb, port, metrics_port = self.start(io)
                with lb:
                    self.assertEqual(set(pool_backends(lb)), {self.a.address})
                    self.assertEqual(ask_name(port), "a")
                    # A connection to a, open across both changes below.
                    held = socket.create_connection(("127.0.0.1", port), timeout=10)
                    held_file = held.makefile("rb")
                    self.assertEqual(held_file.readline(), b"a\n")
                    status, _ = api(lb, "POST",
                                    f"/api/v1/pools/app/backends/{self.a.address}/drain")
                    self.assertEqual(status, 200)

                    # JSON is YAML too: a registry's template may write either.
                    write_list(self.list, json.dumps([{"address": self.a.address},
                                                      {"address": self.b.address, "weight": 3}]))
                    wait_until(lambda: set(pool_backends(lb)) == {self.a.address,
                                                                  self.b.address},
                               what="b discovered")
                    self.assertEqual(pool_backends(lb)[self.a.address]["admin_state"], "drain",
                                     "a backend that stays keeps its state")
                    self.assertEqual(pool_backends(lb)[self.b.address]["weight"], 3)
                    self.assertEqual({ask_name(port) for _ in range(6)}, {"b"})  # a is drained
                    added = audit(lb, "discovery.update")
                    self.assertEqual(len(added), 1)
                    self.assertEqual(added[0]["after"]["added"], [self.b.address])
                    self.assertEqual(added[0]["after"]["removed"], [])

                    write_list(self.list, f'- {{address: "{self.b.address}"}}\n')
                    wait_until(lambda: set(pool_backends(lb)) == {self.b.address},
                               what="a removed")
                    removed = audit(lb, "discovery.update")[-1]["after"]
                    self.assertEqual((removed["added"], removed["removed"]),
                                     ([], [self.a.address]))
                    # The connection to a outlived both changes: removal drains, it does not cut.
                    held.sendall(b"still here\n")
                    self.assertEqual(held_file.readline(), b"still here\n")
                    held_file.close()
                    held.close()

                    self.assertEqual(len(lb.events("discovery.updated")), 2)
                    self.assertEqual(lb.events("config.reloaded"), [], "no reload was involved")
                    self.assertEqual(metric(metrics_port, "ballast_discovery_updates_total"), 2)
                    self.assertEqual(metric(metrics_port, "ballast_discovery_errors_total"), 0)

    def test_a_bad_file_is_refused_and_the_last_good_set_serves(self):
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                write_list(self.list, f'- {{address: "{self.a.address}"}}\n')
                lb, port, metrics_port = self.start(io)
                with lb:
                    write_list(self.list, f'- {{address: "{self.a.address}"}}\n'
                                          '- {address: "not-an-address", weight: 1}\n')
                    wait_until(lambda: lb.events("discovery.rejected"), what="refusal logged")
                    error = lb.events("discovery.rejected")[0]["error"]
                    self.assertTrue(error.startswith(f"{self.list}:2:"), error)
                    self.assertEqual(metric(metrics_port, "ballast_discovery_errors_total"), 1)
                    self.assertEqual(set(pool_backends(lb)), {self.a.address})
                    self.assertEqual(ask_name(port), "a")
                    # The API and `ballast show pools` say the source is failing, and why.
                    status = api(lb, "GET", "/api/v1/pools/app")[1]["discovery"]["file"]
                    self.assertEqual(status["path"], self.list)
                    self.assertEqual(status["errors"], 1)
                    self.assertTrue(status["last_error"].startswith(f"{self.list}:2:"), status)
                    shown = subprocess.run(
                        [BALLAST_BIN, "show", "pools", "--socket",
                         os.path.join(lb.dir, "admin.sock")],
                        capture_output=True, text=True, timeout=30)
                    self.assertEqual(shown.returncode, 0, shown.stderr)
                    self.assertRegex(shown.stdout, r"(?m)^POOL\s+ALGORITHM\s+UP\s+BACKENDS\s+"
                                                   r"DISCOVERY")
                    self.assertRegex(shown.stdout, rf"(?m)^app\s.*file failing \(1\): "
                                                   rf"{re.escape(self.list)}:2:")

                    # Unreadable: the same refusal.
                    os.unlink(self.list)
                    os.mkdir(self.list)
                    wait_until(lambda: len(lb.events("discovery.rejected")) >= 2,
                               what="second refusal")
                    self.assertEqual(ask_name(port), "a")
                    os.rmdir(self.list)

                    # An empty list is a valid set: no backend, so a new connection is closed
                    # (with a reset, as for a pool whose backends are all down).
                    write_list(self.list, "[]\n")
                    wait_until(lambda: pool_backends(lb) == {}, what="empty set applied")
                    # The reset may even beat connect() back to the client.
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            self.assertEqual(s.recv(16), b"")
                    except ConnectionResetError:
                        pass
                    write_list(self.list, f'- {{address: "{self.b.address}"}}\n')
                    wait_until(lambda: set(pool_backends(lb)) == {self.b.address},
                               what="b after empty")
                    self.assertEqual(ask_name(port), "b")
                    self.assertEqual(audit(lb, "discovery.update")[-1]["after"]["added"],
                                     [self.b.address])
                    status = api(lb, "GET", "/api/v1/pools/app")[1]["discovery"]["file"]
                    self.assertIsNone(status["last_error"])  # a good read clears it
                    self.assertGreaterEqual(status["updates"], 2)
                    self.assertGreater(status["last_update_unix_ms"], 0)

    def test_validate_reports_the_discovery_file_at_line_and_column(self):
        write_list(self.list, f'- {{address: "{self.a.address}"}}\n- {{address: "x", wait: 1}}\n')
        cfg = os.path.join(self.dir, "ballast.yaml")
        with open(cfg, "w") as f:
            f.write(f"""listeners:
  - {{name: front, bind: "127.0.0.1:{free_port()}", pool: app}}
pools:
  - name: app
    discovery: {{file: "{self.list}"}}
  - name: both
    backends: [{{address: "{self.a.address}"}}]
    discovery: {{file: "{self.list}"}}
""")
        r = subprocess.run([BALLAST_BIN, "validate", "-c", cfg], capture_output=True, text=True,
                           timeout=20)
        out = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, out)
        self.assertRegex(out, rf"{re.escape(self.list)}:2:\d+: .*wait")
        self.assertRegex(out, rf"{re.escape(cfg)}:7:\d+: .*backends and discovery are exclusive")


if __name__ == "__main__":
    main()
