"""tests/integration/test_discovery_kubernetes.py — `pools[].discovery: {kubernetes}`: a pool's
backends follow a Service's EndpointSlices, listed then watched on a fake API server written
for the test (fake_kube_api.py: HTTPS with a test CA, bearer token, the API reference's shapes).

What it holds Ballast to:
- the first list fills the pool; traffic reaches the listed endpoints;
- each watch event is applied in place: no `config.reloaded`, a `discovery.updated` line and an
  audit record per change; an added endpoint takes traffic; a removed one takes no new
  connections while one already open to it goes on; ready=false takes one out, ready again
  brings it back; ready=false with serving and terminating keeps it known but drained
  (weight 0: no new connections, open ones finish);
- an expired watch (an ERROR event with code 410, or HTTP 410 for the next watch) re-lists and
  converges, counted in ballast_discovery_kubernetes_relists_total;
- the API server gone: the last good set keeps serving, errors are counted and the pool's
  discovery JSON says why; when it returns the pool converges to what it says then;
- the fake server's JSON is what the official Python client (python3-kubernetes) reads into
  its models, so the shapes are the real ones.
Discovery runs on the control thread, so one I/O backend is enough (the first of
BALLAST_TEST_IO). fd budget: a handful of sockets."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.request

from fake_kube_api import FakeKubeApi, endpoint
from harness import (BALLAST_BIN, IO_BACKENDS, Backend, Ballast, BallastTest, UnixHTTPConnection,
                     free_port, main, wait_until)
from tls_material import issue, make_ca

TOKEN = "fake-service-account-token"
PORTS = [("metrics", 9), ("http", None)]  # None: the backends' port; "http" is the one chosen


def api(lb, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return json.loads(body)


def backends(lb):
    """address -> weight, from the admin API."""
    return {b["address"]: b["weight"] for b in api(lb, "/api/v1/pools/app/backends")["backends"]}


def status(lb):
    return api(lb, "/api/v1/pools/app")["discovery"]["kubernetes"]


def metric(port, name, pool="app"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{pool="{pool}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def audit(lb):
    events = api(lb, "/api/v1/events?since=0")["events"]
    return [e for e in events if e["kind"] == "discovery.update"]


class LoopbackBackend(Backend):
    """A harness backend on another loopback address (127.0.0.x), so several endpoints of one
    slice share one port, as pods do."""

    def __init__(self, name, host, port):
        self._host = host
        super().__init__(name, port=port)

    def server_bind(self):
        self.server_address = (self._host, self.server_address[1])
        super().server_bind()


def ask(port):
    """The name of the backend a new connection through the proxy reaches."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.makefile("rb").readline().decode().strip()


def hold(port, name, tries=50):
    """A connection through the proxy that landed on backend `name`, kept open."""
    for _ in range(tries):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")
        if f.readline().decode().strip() == name:
            return s, f
        f.close()
        s.close()
    raise AssertionError(f"no connection reached {name}")


def echoes(held):
    s, f = held
    s.sendall(b"still here\n")
    return f.readline() == b"still here\n"


class KubernetesDiscoveryTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-k8s-")
        ca = make_ca(cls.dir, "kube")
        cls.ca = ca[0]
        cls.cert = issue(cls.dir, ca, "apiserver", "/CN=kube-apiserver", sans=["localhost"])
        cls.port = free_port()
        # Four endpoints of one Service: one port, four pod addresses.
        cls.pods = {n: LoopbackBackend(f"pod{n}", f"127.0.0.{n}", cls.port) for n in (2, 3, 4, 5)}

    @classmethod
    def tearDownClass(cls):
        for b in cls.pods.values():
            b.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.api = FakeKubeApi(*self.cert, TOKEN, "shop", "web").start()
        self.addCleanup(lambda: self.api.httpd and self.api.stop())

    def ports(self):
        return [(n, p or self.port) for n, p in PORTS]

    def addr(self, n):
        return f"127.0.0.{n}:{self.port}"

    def kubeconfig(self, token=TOKEN):
        path = os.path.join(self.dir, f"kubeconfig-{token}")
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
current-context: test
clusters:
  - name: fake
    cluster: {{server: "{self.api.url()}", certificate-authority: "{self.ca}"}}
contexts:
  - name: test
    context: {{cluster: fake, user: ballast, namespace: shop}}
users:
  - name: ballast
    user: {{token: "{token}"}}
""")
        return path

    def start(self, token=TOKEN):
        listen, metrics_port = free_port(), free_port()
        lb = Ballast("", io=IO_BACKENDS[0])
        lb.write_config(f"""workers: 2
logging: {{level: debug}}
admin: {{socket: "{lb.dir}/admin.sock"}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
listeners:
  - {{name: front, bind: "127.0.0.1:{listen}", pool: app}}
pools:
  - name: app
    discovery:
      kubernetes: {{namespace: shop, service: web, port: http, kubeconfig: "{self.kubeconfig(token)}"}}
""")
        return lb, listen, metrics_port

    def test_slices_drive_the_pool_in_place(self):
        self.api.set_slice("web-abc", [endpoint("127.0.0.2"), endpoint("127.0.0.3",
                                                                        conditions=False)],
                           self.ports())
        lb, port, metrics_port = self.start()
        with lb:
            # Initial list: both endpoints, traffic reaches both.
            wait_until(lambda: backends(lb) == {self.addr(2): 1, self.addr(3): 1},
                       what="listed endpoints")
            self.assertEqual({ask(port) for _ in range(8)}, {"pod2", "pod3"})
            st = status(lb)
            self.assertEqual((st["namespace"], st["service"], st["lists"]), ("shop", "web", 1))
            self.assertTrue(st["resource_version"])
            held3 = hold(port, "pod3")

            # Add: a second slice with pod4 (a Service's endpoints span slices).
            self.api.set_slice("web-def", [endpoint("127.0.0.4")], self.ports())
            wait_until(lambda: self.addr(4) in backends(lb), what="pod4 added")
            self.assertIn("pod4", {ask(port) for _ in range(12)})
            self.assertEqual(audit(lb)[-1]["after"]["added"], [self.addr(4)])
            held4 = hold(port, "pod4")

            # Remove pod3: no new connections, the open one goes on.
            self.api.set_slice("web-abc", [endpoint("127.0.0.2")], self.ports())
            wait_until(lambda: self.addr(3) not in backends(lb), what="pod3 removed")
            self.assertEqual(audit(lb)[-1]["after"]["removed"], [self.addr(3)])
            self.assertNotIn("pod3", {ask(port) for _ in range(12)})
            self.assertTrue(echoes(held3), "a removed endpoint's open connection goes on")

            # Not ready: out; ready again: in.
            self.api.set_slice("web-abc", [endpoint("127.0.0.2", ready=False)], self.ports())
            wait_until(lambda: self.addr(2) not in backends(lb), what="pod2 not ready")
            self.assertEqual({ask(port) for _ in range(6)}, {"pod4"})
            self.api.set_slice("web-abc", [endpoint("127.0.0.2")], self.ports())
            wait_until(lambda: self.addr(2) in backends(lb), what="pod2 ready again")
            self.assertEqual({ask(port) for _ in range(8)}, {"pod2", "pod4"})

            # Terminating but serving: known, drained (weight 0), its connection finishes.
            self.api.set_slice("web-def", [endpoint("127.0.0.4", ready=False, serving=True,
                                                    terminating=True)], self.ports())
            wait_until(lambda: backends(lb).get(self.addr(4)) == 0, what="pod4 drained")
            self.assertEqual(audit(lb)[-1]["after"]["draining"], [self.addr(4)])
            self.assertEqual(status(lb)["draining"], [self.addr(4)])
            self.assertEqual({ask(port) for _ in range(8)}, {"pod2"})
            self.assertTrue(echoes(held4), "a draining endpoint's open connection goes on")
            # Gone for good: out.
            self.api.delete_slice("web-def")
            wait_until(lambda: self.addr(4) not in backends(lb), what="pod4 deleted")

            changes = len(audit(lb))
            self.assertEqual(changes, 7)
            self.assertEqual(len(lb.events("discovery.updated")), changes)
            self.assertEqual(lb.events("config.reloaded"), [], "no reload was involved")
            self.assertEqual(metric(metrics_port, "ballast_discovery_updates_total"), changes)
            self.assertEqual(metric(metrics_port, "ballast_discovery_kubernetes_lists_total"), 1)
            self.assertEqual(metric(metrics_port, "ballast_discovery_kubernetes_errors_total"), 0)
            self.assertEqual(self.api.unauthorized, 0)
            shown = subprocess.run([BALLAST_BIN, "show", "pools", "--socket",
                                    os.path.join(lb.dir, "admin.sock")],
                                   capture_output=True, text=True, timeout=30)
            self.assertRegex(shown.stdout, r"(?m)^app\s.*kubernetes ok")
            if shutil.which("promtool"):
                with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                            timeout=5) as r:
                    lint = subprocess.run(["promtool", "check", "metrics"], input=r.read(),
                                          capture_output=True, timeout=30)
                self.assertEqual(lint.returncode, 0, lint.stdout + lint.stderr)
            for h in (held3, held4):
                h[1].close()
                h[0].close()

    def test_expired_watches_relist_and_a_lost_api_server_keeps_the_last_set(self):
        self.api.set_slice("web-abc", [endpoint("127.0.0.2")], self.ports())
        lb, port, metrics_port = self.start()
        with lb:
            wait_until(lambda: backends(lb) == {self.addr(2): 1}, what="listed")

            # 410 as an ERROR event on the open watch; a change made meanwhile is found.
            self.api.expire(with_event=True)
            self.api.set_slice("web-abc", [endpoint("127.0.0.2"), endpoint("127.0.0.3")],
                               self.ports())
            wait_until(lambda: metric(metrics_port,
                                      "ballast_discovery_kubernetes_relists_total") == 1,
                       what="relist after ERROR 410")
            wait_until(lambda: set(backends(lb)) == {self.addr(2), self.addr(3)},
                       what="converged after 410 event")
            self.assertGreaterEqual(self.api.count("list"), 2)

            # 410 as the HTTP status of the next watch, from a compacted resourceVersion: the
            # open watch is cut, the client watches again from its last resourceVersion.
            wait_until(lambda: self.api.open_watches() == 1, what="a watch open again")
            self.api.expire(with_event=False)
            self.api.set_slice("web-abc", [endpoint("127.0.0.3")], self.ports())
            wait_until(lambda: metric(metrics_port,
                                      "ballast_discovery_kubernetes_relists_total") == 2,
                       what="relist after HTTP 410")
            wait_until(lambda: set(backends(lb)) == {self.addr(3)}, what="converged after 410")
            self.assertGreaterEqual(
                metric(metrics_port, "ballast_discovery_kubernetes_watch_restarts_total"), 1)

            # The API server goes away: the last good set serves on, the failure is counted.
            self.api.stop()
            wait_until(lambda: metric(metrics_port,
                                      "ballast_discovery_kubernetes_errors_total") >= 1,
                       what="failure counted")
            self.assertIsNotNone(status(lb)["last_error"])
            self.assertEqual({ask(port) for _ in range(4)}, {"pod3"})
            self.assertTrue(lb.events("discovery.kubernetes_failed"))
            # It comes back (same port) with other endpoints: the pool converges.
            self.api.delete_slice("web-abc")
            self.api.set_slice("web-xyz", [endpoint("127.0.0.5")], self.ports())
            self.api.start()
            wait_until(lambda: set(backends(lb)) == {self.addr(5)}, timeout=40,
                       what="converged after the API server returned")
            self.assertEqual({ask(port) for _ in range(4)}, {"pod5"})
            wait_until(lambda: status(lb)["last_error"] is None, what="error cleared")
            self.assertEqual(lb.events("config.reloaded"), [])

    def test_a_wrong_token_is_refused_counted_and_explained(self):
        self.api.set_slice("web-abc", [endpoint("127.0.0.2")], self.ports())
        lb, port, metrics_port = self.start(token="wrong")
        with lb:
            wait_until(lambda: self.api.unauthorized >= 1, what="request refused")
            wait_until(lambda: (status(lb)["last_error"] or "").find("401") >= 0,
                       what="401 reported")
            self.assertEqual(backends(lb), {})
            self.assertGreaterEqual(metric(metrics_port,
                                           "ballast_discovery_kubernetes_errors_total"), 1)

    def test_validate_accepts_the_config_and_reports_mistakes_at_line_and_column(self):
        cfg = os.path.join(self.dir, "validate.yaml")
        with open(cfg, "w") as f:
            f.write(f"""listeners:
  - {{name: front, bind: "127.0.0.1:{free_port()}", pool: app}}
pools:
  - name: app
    discovery: {{kubernetes: {{namespace: shop, service: web, kubeconfig: "{self.kubeconfig()}"}}}}
""")
        r = subprocess.run([BALLAST_BIN, "validate", "-c", cfg], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(cfg, "a") as f:
            f.write("""  - name: both
    discovery: {kubernetes: {namespace: shop, service: web, in_cluster: true, kubeconfig: /k}}
""")
        r = subprocess.run([BALLAST_BIN, "validate", "-c", cfg], capture_output=True, text=True,
                           timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stdout + r.stderr, r"validate\.yaml:7:\d+: .*exclusive")


try:
    import kubernetes  # noqa: F401
except ImportError:  # an interpreter other than Debian's: use its python3-kubernetes
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    from kubernetes import client as kube_client
    from kubernetes import watch as kube_watch
except ImportError:
    kube_client = None


@unittest.skipIf(kube_client is None, "python3-kubernetes is not installed")
class FakeServerShapesTest(unittest.TestCase):
    """The official client reads the fake server's list and watch events into its models: the
    shapes Ballast is tested against are the API's."""

    def test_the_official_client_reads_the_fake_servers_json(self):
        d = tempfile.mkdtemp(prefix="ballast-k8s-shapes-")
        self.addCleanup(shutil.rmtree, d, True)
        ca = make_ca(d, "kube")
        cert = issue(d, ca, "apiserver", "/CN=kube-apiserver", sans=["localhost"])
        fake = FakeKubeApi(*cert, TOKEN, "shop", "web").start()
        self.addCleanup(fake.stop)
        fake.set_slice("web-abc", [endpoint("10.0.0.1"),
                                   endpoint("10.0.0.2", ready=False, serving=True,
                                            terminating=True)],
                       [("http", 8080)])
        conf = kube_client.Configuration()
        conf.host = fake.url()
        conf.ssl_ca_cert = ca[0]
        conf.api_key = {"authorization": TOKEN}
        conf.api_key_prefix = {"authorization": "Bearer"}
        v1 = kube_client.DiscoveryV1Api(kube_client.ApiClient(conf))
        listed = v1.list_namespaced_endpoint_slice(
            "shop", label_selector="kubernetes.io/service-name=web")
        self.assertEqual(listed.metadata.resource_version, str(fake.rv))
        s = listed.items[0]
        self.assertEqual((s.address_type, s.ports[0].name, s.ports[0].port), ("IPv4", "http", 8080))
        self.assertEqual(s.endpoints[1].conditions.terminating, True)
        self.assertEqual(s.endpoints[1].conditions.serving, True)
        # A watch from the list's resourceVersion: the next change arrives as a typed event.
        fake.set_slice("web-abc", [endpoint("10.0.0.3")], [("http", 8080)])
        w = kube_watch.Watch()
        for event in w.stream(v1.list_namespaced_endpoint_slice, "shop",
                              label_selector="kubernetes.io/service-name=web",
                              resource_version=listed.metadata.resource_version,
                              allow_watch_bookmarks=True, timeout_seconds=5):
            self.assertEqual(event["type"], "MODIFIED")
            self.assertEqual(event["object"].endpoints[0].addresses, ["10.0.0.3"])
            w.stop()
            break
        self.assertEqual(fake.unauthorized, 0)


if __name__ == "__main__":
    main()
