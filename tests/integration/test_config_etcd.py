"""tests/integration/test_config_etcd.py — `config_source: {etcd}`: the served configuration
comes from an etcd prefix, watched through etcd's v3 JSON gateway, and `ballast config push`.

Debian's etcd (package etcd-server) runs on loopback, on free ports, with its data in a temp dir.
Two Ballast nodes read the same prefix; each bootstrap file holds its node-local sections
(admin socket, its own listener) and config_source; the pools come from etcd.

What it holds Ballast to:
- both nodes serve the prefix's configuration at start (traffic reaches the etcd-named backend);
- `ballast config push` of a changed file: both converge (traffic, admin API revision);
- an invalid file is refused by `ballast config push` (exit 1, file:line:column), nothing written;
- an invalid revision written straight to etcd is refused by both nodes: counted, logged with
  the revision, shown in GET /api/v1/config/source, and the old configuration keeps serving;
  a later valid revision is taken;
- etcd killed and restarted: the nodes keep serving, count the failure, and take a change made
  after etcd is back;
- a drained node defers a new revision (logged) until the operator's reload ends the drain;
- a node whose etcd does not answer at start fails to start, loudly.
fd budget: a few sockets per process."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import (BALLAST_BIN, Backend, Ballast, BallastTest, UnixHTTPConnection, ask_name,
                     free_port, main, port_accepts, wait_until)

ETCD_BIN = shutil.which("etcd") or "/usr/bin/etcd"
PREFIX = "/ballast/test/"


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Etcd:
    """A one-member etcd on loopback, its data in a temp dir (kept across restarts)."""

    def __init__(self, scheme="http", extra_args=(), ssl_context=None):
        self.dir = tempfile.mkdtemp(prefix="ballast-etcd-")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.client_port}"
        self.extra_args = list(extra_args)
        self.ssl_context = ssl_context
        self.proc = None

    def start(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.log = open(os.path.join(self.dir, "etcd.log"), "a")
        self.proc = subprocess.Popen(
            [ETCD_BIN, "--name", "t", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"t={peer}", "--log-level", "warn", "--logger", "zap",
             *self.extra_args],
            stdout=self.log, stderr=self.log)
        wait_until(self.ready, timeout=30, what="etcd answers /v3/kv/range")
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"etcd exited with {self.proc.returncode}")
        try:
            self.call("/v3/kv/range", {"key": b64("x")})
            return True
        except OSError:
            return False

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5, context=self.ssl_context) as r:
            return json.loads(r.read())

    def put(self, key, value):
        return int(self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})
                   ["header"]["revision"])

    def keys(self):
        end = PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)
        reply = self.call("/v3/kv/range", {"key": b64(PREFIX), "range_end": b64(end)})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode()
                for kv in reply.get("kvs", [])}


def pools_yaml(backend):
    return f"""workers: 1
pools:
  - name: app
    backends:
      - {{address: "{backend.address}"}}
"""


def api(lb, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, (json.loads(body) if r.getheader("content-type", "").startswith(
        "application/json") else body.decode())


def source(lb):
    return api(lb, "/api/v1/config/source")[1]


def metric(lb, name, labels):
    text = api(lb, "/metrics")[1]
    m = re.search(rf'^{name}\{{{labels}\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


class Node:
    """A Ballast node whose bootstrap names the etcd prefix; its listener is its own."""

    def __init__(self, etcd_url, io="epoll"):
        self.port = free_port()
        self.lb = Ballast("", io=io)
        self.lb.write_config(f"""admin: {{socket: "{self.lb.dir}/admin.sock"}}
listeners:
  - {{name: front, bind: "127.0.0.1:{self.port}", pool: app}}
config_source:
  etcd:
    endpoints: ["{etcd_url}"]
    prefix: {PREFIX}
""")

    def name(self):
        return ask_name(self.port)


def push(etcd, path, *extra):
    return subprocess.run([BALLAST_BIN, "config", "push", path, "--etcd", etcd.url, "--prefix",
                           PREFIX, *extra], capture_output=True, text=True, timeout=30)


@unittest.skipUnless(os.path.exists(ETCD_BIN), "etcd not installed (package etcd-server)")
class ConfigFromEtcd(BallastTest):
    def setUp(self):
        self.etcd = Etcd()
        self.addCleanup(self.etcd.close)  # before start: an etcd that never answers is killed too
        self.etcd.start()
        self.backends = {n: Backend(n) for n in ("one", "two", "three", "four")}
        for b in self.backends.values():
            self.addCleanup(b.close)
        self.tmp = tempfile.mkdtemp(prefix="ballast-push-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def push_ok(self, backend):
        r = push(self.etcd, self.write("ballast.yaml", pools_yaml(self.backends[backend])))
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"at revision (\d+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        return int(m.group(1))

    def converge(self, nodes, backend, revision):
        for n in nodes:
            wait_until(lambda: source(n.lb)["revision"] >= revision,
                       what=f"node serves revision {revision}")
            for _ in range(3):
                self.assertEqual(n.name(), backend)

    def test_two_nodes_follow_pushes_and_refuse_invalid_revisions(self):
        first = self.push_ok("one")
        self.assertEqual(set(self.etcd.keys()), {PREFIX + "ballast.yaml"})
        nodes = [Node(self.etcd.url), Node(self.etcd.url, io="io_uring")]
        with nodes[0].lb, nodes[1].lb:
            self.converge(nodes, "one", first)
            for n in nodes:
                s = source(n.lb)
                self.assertEqual(s["type"], "etcd")
                self.assertEqual(s["revision"], first)
                self.assertIsNone(s["last_refused"])
                wait_until(lambda: source(n.lb)["watching"], what="watch established")

            # A changed file: both converge.
            second = self.push_ok("two")
            self.converge(nodes, "two", second)

            # An invalid file never reaches etcd: the CLI refuses it at its line:column.
            bad = self.write("ballast.yaml", "pools:\n  - name: app\n    backends: 7\n")
            r = push(self.etcd, bad)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertRegex(r.stderr, re.escape(bad) + r":3:15: ")
            self.assertIn("nothing pushed", r.stderr)
            self.assertEqual(self.etcd.keys()[PREFIX + "ballast.yaml"],
                             pools_yaml(self.backends["two"]))

            # An invalid revision written straight to etcd: refused by both, old config serves.
            refused = self.etcd.put(PREFIX + "ballast.yaml",
                                    "pools:\n  - name: app\n    backends: [{address: nowhere}]\n")
            for n in nodes:
                wait_until(lambda: source(n.lb)["refused_total"] == 1, what="revision refused")
                s = source(n.lb)
                self.assertEqual(s["revision"], second)
                self.assertEqual(s["last_refused"]["revision"], refused)
                self.assertTrue(any(e.startswith(f"etcd:{PREFIX}ballast.yaml:3:")
                                    for e in s["last_refused"]["errors"]), s)
                self.assertEqual(n.name(), "two")
                self.assertTrue([l for l in n.lb.events("config.source_refused")
                                 if l["revision"] == refused])
                self.assertEqual(metric(n.lb, "ballast_config_source_refused_total",
                                        'source="etcd"'), 1)
                self.assertEqual(metric(n.lb, "ballast_config_source_revision",
                                        'source="etcd"'), second)

            # A second key setting the same section is refused too, naming both keys.
            clash = self.etcd.put(PREFIX + "extra.yaml", pools_yaml(self.backends["three"]))
            for n in nodes:
                wait_until(lambda: source(n.lb)["last_refused"]["revision"] == clash,
                           what="clash refused")
                self.assertIn(f'section "pools" is also set by etcd:{PREFIX}ballast.yaml',
                              " ".join(source(n.lb)["last_refused"]["errors"]))

            # A later valid push (one transaction: the extra key goes) is taken.
            third = self.push_ok("three")
            self.assertEqual(set(self.etcd.keys()), {PREFIX + "ballast.yaml"})
            self.converge(nodes, "three", third)

            # etcd dies: the nodes keep serving and count it; once back, a change is taken.
            self.etcd.kill()
            for n in nodes:
                wait_until(lambda: not source(n.lb)["watching"], what="watch lost")
                self.assertEqual(n.name(), "three")
            self.etcd.start()
            fourth = self.push_ok("four")
            self.converge(nodes, "four", fourth)
            for n in nodes:
                self.assertGreaterEqual(metric(n.lb, "ballast_config_source_errors_total",
                                               'source="etcd",kind="watch"'), 1)

    def test_a_drained_node_defers_a_revision_until_the_operators_reload(self):
        # A push while a node is drained for maintenance must not reopen its listeners: the
        # node logs the revision as deferred and serves it at the reload that ends the drain.
        first = self.push_ok("one")
        node = Node(self.etcd.url)
        with node.lb:
            self.converge([node], "one", first)
            wait_until(lambda: source(node.lb)["watching"], what="watch established")
            conn = UnixHTTPConnection(os.path.join(node.lb.dir, "admin.sock"))
            conn.request("POST", "/api/v1/drain")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
            wait_until(lambda: not port_accepts(node.port), what="listener closed by the drain")
            second = self.push_ok("two")
            wait_until(lambda: node.lb.events("config.source_deferred"),
                       what="revision deferred")
            self.assertEqual(node.lb.events("config.source_deferred")[0]["revision"], second)
            self.assertEqual(source(node.lb)["revision"], first)
            self.assertFalse(port_accepts(node.port))  # still drained: no listener reopened
            node.lb.reload()
            self.assertEqual(source(node.lb)["revision"], second)
            self.assertEqual(node.name(), "two")

    def test_start_fails_loudly_without_etcd(self):
        node = Node(f"http://127.0.0.1:{free_port()}")
        with self.assertRaises(AssertionError) as caught:
            node.lb.start()
        node.lb.log_file.close()
        self.assertIn("config.source_unreachable", str(caught.exception))

    def test_push_refuses_a_file_that_needs_includes(self):
        self.write("part.yaml", pools_yaml(self.backends["one"]).replace("workers: 1\n", ""))
        path = self.write("main.yaml", "include: part.yaml\n")
        self.assertEqual(subprocess.run([BALLAST_BIN, "validate", "-c", path]).returncode, 0)
        r = push(self.etcd, path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("includes are disabled", r.stderr)
        self.assertEqual(self.etcd.keys(), {})


if __name__ == "__main__":
    main()
