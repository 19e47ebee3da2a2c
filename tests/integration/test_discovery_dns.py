"""tests/integration/test_discovery_dns.py — backends by DNS name (`address: "NAME:port"`) and
by SRV (`discovery: {dns_srv}`), resolved through c-ares against a real dnsmasq on loopback
(`discovery.resolvers`), with backends on 127.0.0.2 and 127.0.0.3 (loopback too).

What it holds Ballast to:
- a name's A records become backends with the name's port, and re-resolving at the TTL (dnsmasq
  answers with TTL 1 s; min_ttl 1s) picks up an added address in place: `discovery.update`
  audited with actor discovery:dns, no reload;
- the resolver going away is survived: lookups fail and are counted, the last good set serves;
- a reload keeps the resolved backends (the file lists only the name);
- SRV: every target with its port and weight, one failover group per priority
  (srv-priority-N): the best priority serves and a worse one is unused until the better one has
  no member up (here: drained through the admin API), then traffic returns by itself.
Health-state and connection keeping on change are the file source's tests (same apply path).
Discovery runs on the control thread's loop (epoll whatever `io` says), so the case runs once.
fd budget: a handful of sockets, far under the 20,000 hard limit."""
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import unittest
import urllib.request

from harness import Ballast, BallastTest, UnixHTTPConnection, free_port, main, wait_until


class NamedServer(socketserver.ThreadingTCPServer):
    """Answers each connection with its name and a newline, on a chosen loopback address."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name, host, port):
        class Handler(socketserver.BaseRequestHandler):
            def handle(inner):
                inner.request.sendall(name.encode() + b"\n")

        super().__init__((host, port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.shutdown()
        self.server_close()


def ask(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        return s.makefile("rb").readline().decode().strip()


def api(lb, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("GET", path)
    body = conn.getresponse().read()
    conn.close()
    return json.loads(body)


def post(lb, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request("POST", path)
    status = conn.getresponse().status
    conn.close()
    return status


def group_metric(port, pool):
    """The pool's serving group, from ballast_pool_active_group."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    for m in re.finditer(rf'^ballast_pool_active_group\{{pool="{pool}",group="([^"]+)"\}} 1$',
                         text, re.M):
        return m.group(1)
    return None


def backends(lb, pool):
    return {b["address"]: b for b in api(lb, f"/api/v1/pools/{pool}/backends")["backends"]}


def metric(port, name, pool):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{pool="{pool}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def dns_port():
    """dnsmasq binds the port for UDP and TCP alike, so both must be free."""
    while True:
        port = free_port(kind=socket.SOCK_DGRAM)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def answers(port, name):
    """True once dnsmasq answers an A query for `name` with at least one record."""
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00"
    query = bytes.fromhex("beef01000001000000000000") + qname + b"\x00\x01\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(query, ("127.0.0.1", port))
            reply = s.recv(512)
        except OSError:
            return False
    return reply[:2] == b"\xbe\xef" and int.from_bytes(reply[6:8], "big") > 0


class Dnsmasq:
    def __init__(self, port, hosts_file, extra=()):
        self.log = tempfile.NamedTemporaryFile(prefix="ballast-dnsmasq-", delete=False)
        self.p = subprocess.Popen(
            ["dnsmasq", "--no-daemon", "--conf-file=/dev/null", f"--port={port}",
             "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
             f"--addn-hosts={hosts_file}", "--local-ttl=1", "--pid-file=", *extra],
            stdout=subprocess.DEVNULL, stderr=self.log)

    def ready(self, port, name):
        def check():
            if self.p.poll() is not None:
                with open(self.log.name) as f:
                    raise AssertionError(f"dnsmasq exited {self.p.returncode}: {f.read()}")
            return answers(port, name)
        wait_until(check, what="dnsmasq")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(15)


class DnsDiscoveryTest(BallastTest):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ballast-dns-")
        self.hosts = os.path.join(self.dir, "hosts")
        self.port = free_port()
        self.two = NamedServer("two", "127.0.0.2", self.port)
        self.three = NamedServer("three", "127.0.0.3", self.port)
        self.dns = dns_port()

    def tearDown(self):
        self.two.close()
        self.three.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_hosts(self, text):
        with open(self.hosts + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.hosts + ".tmp", self.hosts)

    def config(self, lb, listen, srv_listen, metrics_port):
        return f"""workers: 1
logging: {{level: debug}}
admin: {{socket: "{lb.dir}/admin.sock"}}
metrics: {{bind: "127.0.0.1:{metrics_port}"}}
discovery: {{resolvers: ["127.0.0.1:{self.dns}"], min_ttl: 1s, max_ttl: 2s}}
listeners:
  - {{name: front, bind: "127.0.0.1:{listen}", pool: app}}
  - {{name: srv, bind: "127.0.0.1:{srv_listen}", pool: bysrv}}
pools:
  - name: app
    backends: [{{address: "app.svc.test:{self.port}"}}]
  - name: bysrv
    discovery: {{dns_srv: "_echo._tcp.svc.test"}}
"""

    def test_names_and_srv_resolve_follow_changes_and_survive_the_resolver(self):
        self.write_hosts("127.0.0.2 app.svc.test\n127.0.0.3 three.svc.test\n"
                         "127.0.0.2 two.svc.test\n")
        srv = [f"--srv-host=_echo._tcp.svc.test,three.svc.test,{self.port},0,7",
               f"--srv-host=_echo._tcp.svc.test,two.svc.test,{self.port},10,1"]
        d = Dnsmasq(self.dns, self.hosts, srv)
        try:
            d.ready(self.dns, "app.svc.test")
            listen, srv_listen, metrics_port = free_port(), free_port(), free_port()
            lb = Ballast("")
            lb.write_config(self.config(lb, listen, srv_listen, metrics_port))
            with lb:
                two, three = f"127.0.0.2:{self.port}", f"127.0.0.3:{self.port}"
                wait_until(lambda: set(backends(lb, "app")) == {two}, what="app.svc.test")
                self.assertEqual(ask(listen), "two")
                status = api(lb, "/api/v1/pools/app")["discovery"]["dns"]
                self.assertEqual(status["names"], [f"app.svc.test:{self.port}"])
                self.assertIsNone(status["last_error"])
                self.assertGreater(status["lookups"], 0)
                self.assertGreater(status["last_answer_unix_ms"], 0)
                # SRV: both targets with their weights, one group per priority; the priority-0
                # one serves and the priority-10 one is unused while it is up.
                wait_until(lambda: set(backends(lb, "bysrv")) == {two, three}, what="srv")
                self.assertEqual(backends(lb, "bysrv")[three]["weight"], 7)
                self.assertEqual(backends(lb, "bysrv")[two]["weight"], 1)
                self.assertEqual(group_metric(metrics_port, "bysrv"), "srv-priority-0")
                self.assertEqual({ask(srv_listen) for _ in range(6)}, {"three"})
                # The priority-0 target out of service: the next priority takes over...
                self.assertEqual(post(lb, f"/api/v1/pools/bysrv/backends/{three}/drain"), 200)
                self.assertEqual(group_metric(metrics_port, "bysrv"), "srv-priority-10")
                self.assertEqual({ask(srv_listen) for _ in range(6)}, {"two"})
                self.assertTrue(lb.events("pool.failover"))
                # ...and gives the traffic back once it returns (failback auto).
                self.assertEqual(post(lb, f"/api/v1/pools/bysrv/backends/{three}/enable"), 200)
                self.assertEqual(group_metric(metrics_port, "bysrv"), "srv-priority-0")
                self.assertEqual({ask(srv_listen) for _ in range(6)}, {"three"})

                # A second address for the name: dnsmasq re-reads its hosts file on SIGHUP,
                # and the next lookup (TTL 1 s) applies it in place.
                self.write_hosts("127.0.0.2 app.svc.test\n127.0.0.3 app.svc.test\n"
                                 "127.0.0.3 three.svc.test\n127.0.0.2 two.svc.test\n")
                d.p.send_signal(signal.SIGHUP)
                wait_until(lambda: set(backends(lb, "app")) == {two, three}, timeout=15,
                           what="second address")
                self.assertEqual({ask(listen) for _ in range(6)}, {"two", "three"})
                events = api(lb, "/api/v1/events?since=0")["events"]
                updates = [e for e in events if e["kind"] == "discovery.update"
                           and e["after"]["pool"] == "app"]
                self.assertEqual(updates[-1]["actor"], "discovery:dns")
                self.assertEqual(updates[-1]["after"]["added"], [three])
                self.assertEqual(lb.events("config.reloaded"), [])

                # A reload lists only the name: the resolved addresses stay.
                lb.reload()
                self.assertEqual(set(backends(lb, "app")), {two, three})

                # No resolver: lookups fail, are counted, and the last good set serves.
                d.stop()
                before = metric(metrics_port, "ballast_discovery_dns_failures_total", "app") or 0
                wait_until(lambda: (metric(metrics_port, "ballast_discovery_dns_failures_total",
                                           "app") or 0) > before, timeout=20,
                           what="a failed lookup counted")
                self.assertEqual(set(backends(lb, "app")), {two, three})
                self.assertIn(ask(listen), {"two", "three"})
                self.assertTrue(lb.events("discovery.dns_failed"))
                status = api(lb, "/api/v1/pools/app")["discovery"]["dns"]
                self.assertTrue(status["last_error"].startswith("app.svc.test: "), status)
                self.assertGreater(status["failures"], 0)
        finally:
            d.stop()


if __name__ == "__main__":
    main()
