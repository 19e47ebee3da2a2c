"""tests/integration/test_acme_shared.py — ACME across nodes (`tls.acme.store: redis://…`):
two Ballast nodes, Debian's pebble and a real redis-server, all on loopback.

The two nodes listen on 127.0.0.2 and 127.0.0.3 (the same ports, as two machines would), and
pebble's DNS answers a.test with node A's address and www.a.test with node B's. So whichever
node takes the lock and orders, pebble validates one of the two names against the *other* node,
which only knows the answer through the store's channel: an order that succeeds proves that a
node answered a challenge for an order it did not make.

What it holds Ballast to:
- two nodes, one store: exactly one order between them (the metrics of both), the other node
  takes the certificate from the store (`acme.certificate_adopted`), and both serve the very
  same certificate; for http-01 and for tls-alpn-01;
- the store down when a node needs a certificate: it orders alone (`acme.store_down`,
  `acme.order_alone`, `ballast_acme_store_fallbacks_total`), writes its certificate to the store
  once Redis is back (`acme.certificate_shared`), and a node started then takes it without
  ordering;
- Redis killed in the middle of the order (right after the first challenge answer is on the
  channel): the orders fail or finish, nothing crashes, and once Redis is back on the same port
  both nodes converge on one certificate.
Each step waits on the nodes' own logs, metrics or handshakes: no sleeps. fd budget: two nodes,
pebble, challtestsrv, redis and a few client sockets.
"""
import os
import shutil
import socket
import tempfile
import unittest

from harness import Ballast, BallastTest, free_port, main, port_accepts, wait_until
from test_acme import Pebble, make_pebble_tls, sample, scrape, served_cert
from test_rate_limit_redis import RedisServer

ISSUE_TIMEOUT = 30.0
NODE_A, NODE_B = "127.0.0.2", "127.0.0.3"


class Node:
    """One Ballast node's addresses and files."""

    def __init__(self, root, name, host, http_port, https_port):
        self.name, self.host = name, host
        self.http_port, self.https_port = http_port, https_port
        self.metrics_port = free_port()
        self.storage = os.path.join(root, f"acme-{name}")

    def config(self, pebble, tls_ca, challenge, redis_port):
        return f"""
workers: 1
logging: {{level: info}}
metrics: {{bind: "127.0.0.1:{self.metrics_port}"}}
admin: {{socket: "{self.storage}.sock"}}
listeners:
  - name: plain
    bind: "{self.host}:{self.http_port}"
    protocol: http
    pool: app
  - name: web
    bind: "{self.host}:{self.https_port}"
    protocol: https
    pool: app
    tls:
      acme:
        directory: "{pebble.directory_url}"
        email: "ops@a.test"
        domains: [a.test, www.a.test]
        challenge: {challenge}
        storage: "{self.storage}"
        ca: "{tls_ca}"
        retry_backoff: 1s
        store: "redis://127.0.0.1:{redis_port}"
pools:
  - name: app
    backends: [{{address: "127.0.0.1:{free_port()}"}}]
"""

    def metric(self, name, **labels):
        return sample(scrape(self.metrics_port), name, **labels) or 0

    def serves_issued(self):
        try:
            return "Pebble" in served_cert(self.https_port, host=self.host)[0]
        except OSError:
            return False

    def serial(self):
        return served_cert(self.https_port, host=self.host)[1]


def subscribe(port, channel):
    """A raw RESP subscription to `channel` (the caller reads and closes it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=ISSUE_TIMEOUT)
    s.sendall(f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n".encode())
    return s


@unittest.skipUnless(shutil.which("pebble") and shutil.which("redis-server"),
                     "needs pebble and redis-server")
class AcmeSharedTest(BallastTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-acme-shared-")
        cls.tls = make_pebble_tls(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def nodes(self):
        root = tempfile.mkdtemp(prefix="case-", dir=self.dir)
        http_port, https_port = free_port(), free_port()
        return (Node(root, "a", NODE_A, http_port, https_port),
                Node(root, "b", NODE_B, http_port, https_port))

    def wait_serving(self, *nodes):
        for n in nodes:
            wait_until(n.serves_issued, timeout=ISSUE_TIMEOUT,
                       what=f"node {n.name} serving the issued certificate")

    def two_nodes_order_once(self, challenge):
        a, b = self.nodes()
        redis = RedisServer(free_port()).start()
        try:
            with Pebble(self.dir, self.tls, a.http_port, a.https_port) as pebble:
                pebble.point("a.test", NODE_A)
                pebble.point("www.a.test", NODE_B)
                with Ballast(a.config(pebble, self.tls[0], challenge, redis.port)) as ba, \
                        Ballast(b.config(pebble, self.tls[0], challenge, redis.port)) as bb:
                    self.wait_serving(a, b)
                    valid = [n.metric("ballast_acme_orders_total", domain="a.test",
                                      result="valid") for n in (a, b)]
                    self.assertEqual(sum(valid), 1, f"orders per node: {valid}")
                    orderer, other = (ba, bb) if valid[0] == 1 else (bb, ba)
                    other_node = b if valid[0] == 1 else a
                    self.assertEqual(len(orderer.events("acme.certificate_issued")), 1)
                    wait_until(lambda: other.events("acme.certificate_adopted"),
                               what="the other node adopting the certificate")
                    self.assertEqual(other_node.metric("ballast_acme_certificates_adopted_total",
                                                       domain="a.test"), 1)
                    # It answered the challenge for the name pebble resolved to it.
                    self.assertGreaterEqual(other_node.metric(
                        "ballast_acme_store_challenges_received_total",
                        store=f"redis://127.0.0.1:{redis.port}"), 1)
                    # Its own answers, heard back on the channel, are not "received".
                    orderer_node = a if other_node is b else b
                    self.assertEqual(orderer_node.metric(
                        "ballast_acme_store_challenges_received_total",
                        store=f"redis://127.0.0.1:{redis.port}"), 0)
                    self.assertEqual(a.serial(), b.serial())
                    for n in (a, b):
                        self.assertEqual(n.metric("ballast_acme_store_fallbacks_total",
                                                  domain="a.test"), 0)
        finally:
            redis.kill()

    def test_two_nodes_order_once_http01(self):
        self.two_nodes_order_once("http-01")

    def test_two_nodes_order_once_tls_alpn01(self):
        self.two_nodes_order_once("tls-alpn-01")

    def test_store_down_orders_alone_then_shares_when_back(self):
        a, b = self.nodes()
        redis = RedisServer(free_port())  # not started yet: the store is down
        try:
            with Pebble(self.dir, self.tls, a.http_port, a.https_port) as pebble:
                pebble.point("a.test", NODE_A)
                pebble.point("www.a.test", NODE_A)
                with Ballast(a.config(pebble, self.tls[0], "http-01", redis.port)) as ba:
                    self.wait_serving(a)
                    self.assertTrue(ba.events("acme.store_down"))
                    self.assertTrue(ba.events("acme.order_alone"))
                    self.assertEqual(a.metric("ballast_acme_store_fallbacks_total",
                                              domain="a.test"), 1)
                    self.assertEqual(a.metric("ballast_acme_store_up",
                                              store=f"redis://127.0.0.1:{redis.port}"), 0)
                    redis.start()
                    wait_until(lambda: ba.events("acme.certificate_shared"),
                               timeout=ISSUE_TIMEOUT, what="node A writing its certificate")
                    self.assertTrue(ba.events("acme.store_up"))
                    with Ballast(b.config(pebble, self.tls[0], "http-01", redis.port)) as bb:
                        self.wait_serving(b)
                        self.assertTrue(bb.events("acme.certificate_adopted"))
                        self.assertEqual(b.metric("ballast_acme_orders_total", domain="a.test",
                                                  result="valid"), 0)
                        self.assertEqual(a.serial(), b.serial())
        finally:
            redis.kill()

    def test_redis_killed_mid_order_both_nodes_converge(self):
        a, b = self.nodes()
        redis = RedisServer(free_port()).start()
        channel = subscribe(redis.port, "ballast:acme:challenges")
        try:
            with Pebble(self.dir, self.tls, a.http_port, a.https_port) as pebble:
                pebble.point("a.test", NODE_A)
                pebble.point("www.a.test", NODE_B)
                with Ballast(a.config(pebble, self.tls[0], "http-01", redis.port)) as ba, \
                        Ballast(b.config(pebble, self.tls[0], "http-01", redis.port)) as bb:
                    seen = b""
                    while b"http-01 " not in seen:
                        chunk = channel.recv(4096)
                        self.assertTrue(chunk, "redis closed the test's subscription")
                        seen += chunk
                    redis.kill()  # the first answer is out; the rest of the order is not
                    wait_until(lambda: ba.events("acme.store_down") or
                               bb.events("acme.store_down"), what="the outage logged")
                    redis.start()  # same port, empty: no lock, no certificate
                    self.wait_serving(a, b)
                    wait_until(lambda: a.serial() == b.serial(), timeout=ISSUE_TIMEOUT,
                               what="both nodes serving one certificate")
                    self.assertTrue(ba.proc.poll() is None and bb.proc.poll() is None)
        finally:
            channel.close()
            redis.kill()


if __name__ == "__main__":
    main()
