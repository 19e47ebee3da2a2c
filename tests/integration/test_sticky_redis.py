"""tests/integration/test_sticky_redis.py — `sticky: {cookie, store: redis://…}` through two real
Ballast nodes and a real `redis-server` on loopback.

What it holds Ballast to:
- the cookie is an opaque random session id (32 hex digits), not a backend id;
- a session pinned by node A is honoured by node B on B's first request with it;
- when the pinned backend goes (drained on both nodes), node A re-pins the session and node B
  follows A's new pin, though the client still sends the same cookie: with the algorithm
  alone, B would pick on its own (round robin over two backends, eight sessions: all eight
  agreeing by chance is 1 in 256);
- Redis killed in the middle: both nodes keep answering and keep honouring the sessions they
  know, a session pinned meanwhile stays on its node (counted as a fallback, the outage logged
  once), and once Redis is back on the same port the nodes re-sync: B honours the session A
  pinned during the outage.
Sessions are pinned by real requests; no sleeps: each step waits on the nodes' own metrics.
fd budget: two nodes, three backends, a handful of connections, far under the 20,000 limit."""
import http.client
import json
import os
import re
import shutil
import socket
import unittest
import urllib.request

from harness import Ballast, BallastTest, UnixHTTPConnection, free_port, main, wait_until
from http_backends import HttpBackend
from test_rate_limit_redis import RedisServer

SESSIONS = 8


def get(port, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/", headers={"Cookie": f"SID={cookie}"} if cookie else {})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    set_cookie = resp.getheader("Set-Cookie")
    return body.split()[0], set_cookie.split(";")[0].split("=", 1)[1] if set_cookie else None


def metric(port, name, redis_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(rf'^{name}\{{store="redis://127.0.0.1:{redis_port}"\}} (\S+)$', text, re.M)
    return int(float(m.group(1))) if m else None


def redis_get(port, key):
    """GET over RESP by hand: the value, or None."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n".encode())
        data = b""
        while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2
                                               and not data.startswith(b"$-1")):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if data.startswith(b"$-1"):
        return None
    return data.split(b"\r\n")[1].decode()


def admin(lb, method, path):
    conn = UnixHTTPConnection(os.path.join(lb.dir, "admin.sock"))
    conn.request(method, path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, json.loads(body) if body else None


@unittest.skipUnless(shutil.which("redis-server"), "needs redis-server")
class StickyRedisTest(BallastTest):
    def setUp(self):
        self.backends = [HttpBackend(n) for n in ("a", "b", "c")]
        for b in self.backends:
            self.addCleanup(b.close)
        self.redis_port = free_port()
        self.redis = RedisServer(self.redis_port).start()
        self.addCleanup(lambda: self.redis.kill())

    def node(self):
        web, metrics = free_port(), free_port()
        lb = Ballast("")
        backends = "\n".join(f'      - {{address: "{b.address}"}}' for b in self.backends)
        lb.write_config(f"""workers: 2
logging: {{level: info}}
admin: {{socket: "{lb.dir}/admin.sock"}}
metrics: {{bind: "127.0.0.1:{metrics}"}}
listeners:
  - {{name: web, bind: "127.0.0.1:{web}", protocol: http, pool: app}}
pools:
  - name: app
    sticky: {{cookie: SID, ttl: 10m, store: "redis://127.0.0.1:{self.redis_port}"}}
    backends:
{backends}
""")
        return lb, web, metrics

    def metric(self, port, name):
        return metric(port, name, self.redis_port)

    def synced(self, nodes, writes):
        """Waits until the nodes have written `writes` pins in all and each has received every
        one of them back from the store (a node hears its own messages too)."""
        count = lambda m, name: self.metric(m, name) or 0
        wait_until(lambda: sum(count(m, "ballast_sticky_store_writes_total") for m in nodes)
                   >= writes, what=f"{writes} pins written")
        wait_until(lambda: all(count(m, "ballast_sticky_store_received_total") >= writes
                               for m in nodes), what=f"{writes} pins received by every node")

    def test_pins_and_repins_of_one_node_are_followed_by_another(self):
        (a, web_a, m_a), (b, web_b, m_b) = self.node(), self.node()
        with a, b:
            for m in (m_a, m_b):
                wait_until(lambda: self.metric(m, "ballast_sticky_store_up") == 1
                           and self.metric(m, "ballast_sticky_store_resyncs_total") == 1,
                           what="store up")
            # Sessions pinned by A to backend "a" (round robin: every third new client).
            sessions = []
            while len(sessions) < SESSIONS:
                name, sid = get(web_a)
                self.assertRegex(sid, r"^[0-9a-f]{32}$")  # opaque: no backend id in it
                if name == "a":
                    sessions.append(sid)
            self.assertEqual(len(set(sessions)), SESSIONS)
            writes = self.metric(m_a, "ballast_sticky_store_sessions")  # one pin per new client
            self.synced((m_a, m_b), writes)
            for sid in sessions:
                name, renewed = get(web_b, sid)
                self.assertEqual(name, "a")  # B's own round robin would spread them
                self.assertIsNone(renewed)  # known and up: no new cookie

            # "a" goes on both nodes; A re-pins every session, B follows A's choice.
            for lb in (a, b):
                status, _ = admin(lb, "POST", f"/api/v1/pools/app/backends/"
                                              f"{self.backends[0].address}/drain")
                self.assertEqual(status, 200)
            moved = {}
            for sid in sessions:
                name, renewed = get(web_a, sid)
                self.assertIn(name, ("b", "c"))
                self.assertEqual(renewed, sid)  # same session, new pin
                moved[sid] = name
            self.assertGreater(len(set(moved.values())), 1)  # A's round robin spread them
            writes += SESSIONS
            self.synced((m_a, m_b), writes)
            for sid in sessions:
                self.assertEqual(get(web_b, sid), (moved[sid], None), sid)

            # A session no node knows is claimed by the node that sees it first.
            fresh = "0123456789abcdef0123456789abcdef"
            name, renewed = get(web_b, fresh)
            self.assertEqual(renewed, fresh)
            writes += 1
            self.synced((m_a, m_b), writes)
            self.assertEqual(get(web_a, fresh), (name, None))
            self.assertEqual(redis_get(self.redis_port, f"ballast:sticky:app:{fresh}"),
                             self.backends["abc".index(name)].address)
            for m in (m_a, m_b):
                self.assertEqual(self.metric(m, "ballast_sticky_store_fallbacks_total"), 0)

    def test_redis_outage_keeps_local_pins_and_resyncs_when_it_returns(self):
        (a, web_a, m_a), (b, web_b, m_b) = self.node(), self.node()
        with a, b:
            for m in (m_a, m_b):
                wait_until(lambda: self.metric(m, "ballast_sticky_store_up") == 1,
                           what="store up")
            name1, s1 = get(web_a)
            self.synced((m_a, m_b), 1)
            self.assertEqual(get(web_b, s1), (name1, None))

            self.redis.kill()
            for m in (m_a, m_b):
                wait_until(lambda: self.metric(m, "ballast_sticky_store_up") == 0,
                           what="store down")
            # Known sessions still hold on both nodes, from their own tables.
            for web in (web_a, web_b):
                self.assertEqual(get(web, s1), (name1, None))
            # Pinned during the outage: kept on A, counted, the outage logged once.
            name2, s2 = get(web_a)
            self.assertEqual(get(web_a, s2), (name2, None))
            self.assertEqual(self.metric(m_a, "ballast_sticky_store_fallbacks_total"), 1)
            down = a.events("sticky.store_down")
            self.assertEqual(len(down), 1, down)
            self.assertIn("written when the store returns", down[0]["fallback"])

            # Redis back, empty (no persistence): A pushes what it pinned, B reads it back.
            self.redis = RedisServer(self.redis_port).start()
            for m in (m_a, m_b):
                wait_until(lambda: self.metric(m, "ballast_sticky_store_up") == 1,
                           what="store up again")
            # Both pins are in the store again: s2 from A's table, s1 from both nodes' tables.
            for sid, name in ((s1, name1), (s2, name2)):
                wait_until(lambda: redis_get(self.redis_port, f"ballast:sticky:app:{sid}")
                           == self.backends["abc".index(name)].address, what=f"{sid} re-synced")
            self.assertEqual(get(web_b, s2), (name2, None))
            self.assertEqual(get(web_b, s1), (name1, None))
            self.assertEqual(self.metric(m_b, "ballast_sticky_store_fallbacks_total"), 0)
            for lb in (a, b):
                self.assertEqual(len(lb.events("sticky.store_up")), 1)


if __name__ == "__main__":
    main()
