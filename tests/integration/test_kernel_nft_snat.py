"""tests/integration/test_kernel_nft_snat.py — masquerade is per service, not per backend.

Hosts (198.18.0.0/15, wired through bridges in a switch namespace):
  client 198.18.1.100 ── front bridge ── lb 198.18.1.1 (VIPs 198.18.1.10 and 198.18.1.11)
  lb 198.18.2.251 ── back bridge ── backend 198.18.2.1:8080, routed back to the clients via lb
Two virtual services share the one backend: `masq` (VIP .10, snat: true, one-armed) and
`direct` (VIP .11, no snat: the backend must see the client's own address, as behind a NAT
gateway). The backend answers each connection with the address it came from.

Asserts: through `masq` the backend sees the load balancer's address, through `direct` the
client's, both before and after an older layout's table (snat sets keyed by backend alone,
which masqueraded `direct` too) is found and repaired; once converged, reconcile passes write
nothing (the old layout read `direct` back as snat and rewrote it every full pass).
Runs as root only; skips with the reason otherwise.
"""
import json
import os
import sys
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kernel_netns  # noqa: E402
from kernel_netns import Lab, wait_until  # noqa: E402

BALLAST_BIN = os.path.abspath(os.environ.get(
    "BALLAST_BIN", os.path.join(os.path.dirname(__file__), "../../build/ballast")))
CLIENT = "198.18.1.100"
LB_BACK = "198.18.2.251"
MASQ_VIP, DIRECT_VIP = "198.18.1.10", "198.18.1.11"
BACKEND, BACKEND_PORT = "198.18.2.1", 8080
INTERVAL_MS = 500  # reconcile_interval

# Answers every connection with the peer address it sees, then closes.
PEER_ECHO = textwrap.dedent('''
    import socket, sys
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[1])))
    s.listen(64)
    while True:
        c, peer = s.accept()
        c.sendall(peer[0].encode())
        c.close()
''')

# The table an older Ballast wrote: snat sets keyed by backend . protocol . port.
LEGACY_TABLE = textwrap.dedent(f'''
    table inet ballast {{
      map services4 {{ type ipv4_addr . inet_proto . inet_service : verdict; }}
      map services6 {{ type ipv6_addr . inet_proto . inet_service : verdict; }}
      set snat4 {{ type ipv4_addr . inet_proto . inet_service; elements = {{ {BACKEND} . tcp . {BACKEND_PORT} }} }}
      set snat6 {{ type ipv6_addr . inet_proto . inet_service; }}
      chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        ct status dnat ip daddr . meta l4proto . th dport @snat4 masquerade
        ct status dnat ip6 daddr . meta l4proto . th dport @snat6 masquerade
      }}
    }}
''')


def config(lab):
    def service(name, vip, snat):
        return f"""  - name: {name}
    vip: {vip}
    port: 80
    snat: {str(snat).lower()}
    backends:
      - {{address: {BACKEND}, port: {BACKEND_PORT}}}
"""
    return (f"""admin: {{socket: {lab.dir}/lb.sock}}
kernel:
  driver: nftables
  reconcile_interval: {INTERVAL_MS}ms
  vip_gate: {{addresses: [{MASQ_VIP}, {DIRECT_VIP}]}}
virtual_services:
""" + service("masq", MASQ_VIP, True) + service("direct", DIRECT_VIP, False))


class KernelNftSnatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = kernel_netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if not os.access(BALLAST_BIN, os.X_OK):
            raise unittest.SkipTest(f"no ballast binary at {BALLAST_BIN} (set BALLAST_BIN)")

    def setUp(self):
        self.lab = lab = Lab(tag="ks")
        self.addCleanup(lab.close)
        lab.switch("brf", "brb")
        lab.add_ns("c")
        lab.plug("c", "eth0", "brf", "fc", f"{CLIENT}/24")
        lab.add_ns("lb")
        lab.plug("lb", "f0", "brf", "f1", "198.18.1.1/24")
        lab.plug("lb", "b0", "brb", "b1", f"{LB_BACK}/24")
        lab.sh("lb", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for vip in (MASQ_VIP, DIRECT_VIP):
            lab.ip("lb", "addr", "add", f"{vip}/24", "dev", "f0")
        lab.add_ns("b")
        lab.plug("b", "eth0", "brb", "pb", f"{BACKEND}/24")
        # Replies to clients that were not masqueraded go back through the load balancer.
        lab.ip("b", "route", "add", "198.18.1.0/24", "via", LB_BACK)
        echo = os.path.join(lab.dir, "peer_echo.py")
        with open(echo, "w") as f:
            f.write(PEER_ECHO)
        lab.spawn("b", sys.executable, echo, str(BACKEND_PORT))
        wait_until(lambda: lab.accepts("lb", BACKEND, BACKEND_PORT), 10, what="backend listening")

    def peer_seen(self, vip):
        """What the backend says a connection from the client to vip:80 came from."""
        code = (f"import socket\ns = socket.create_connection(('{vip}', 80), 2)\n"
                f"print(s.recv(64).decode())")
        out = self.lab.sh("c", sys.executable, "-c", code, check=False)
        return out.stdout.strip() if out.returncode == 0 else f"error: {out.stderr.strip()[-200:]}"

    def applied(self):
        with open(os.path.join(self.lab.dir, "lb.log")) as f:
            events = [json.loads(line) for line in f if line.startswith("{")]
        return [e for e in events if e.get("event") == "kernel.applied"]

    def start_ballast(self):
        path = os.path.join(self.lab.dir, "lb.yaml")
        with open(path, "w") as f:
            f.write(config(self.lab))
        log = os.path.join(self.lab.dir, "lb.log")
        proc = self.lab.spawn("lb", BALLAST_BIN, "run", "-c", path, log=log)
        self.addCleanup(self.lab.stop, proc)
        return proc

    def assert_per_service_masquerade(self):
        wait_until(lambda: self.peer_seen(MASQ_VIP) == LB_BACK, 10,
                   what=f"{MASQ_VIP} masqueraded (saw {self.peer_seen(MASQ_VIP)})")
        self.assertEqual(self.peer_seen(DIRECT_VIP), CLIENT)
        self.assertEqual(self.peer_seen(MASQ_VIP), LB_BACK)

    def assert_passes_write_nothing(self):
        """Converged: over four more reconcile intervals (full passes among them) nothing is
        applied and the table does not change. An absence can only be watched for a while."""
        wait_until(lambda: self.applied(), 10, what="a first kernel.applied")
        before = len(self.applied())
        table = self.lab.sh("lb", "nft", "list", "table", "inet", "ballast").stdout
        with self.assertRaises(AssertionError):  # the wait must run out
            wait_until(lambda: len(self.applied()) > before, 4 * INTERVAL_MS / 1000,
                       interval=0.1, what="no further apply")
        self.assertEqual(len(self.applied()), before, self.applied()[before:])
        self.assertEqual(self.lab.sh("lb", "nft", "list", "table", "inet", "ballast").stdout,
                         table)

    def test_masquerade_is_per_service(self):
        self.start_ballast()
        self.assert_per_service_masquerade()
        self.assert_passes_write_nothing()

    def test_an_older_layout_is_repaired(self):
        # Before Ballast starts, the older layout, which masquerades everything to the backend.
        path = os.path.join(self.lab.dir, "legacy.nft")
        with open(path, "w") as f:
            f.write(LEGACY_TABLE)
        self.lab.sh("lb", "nft", "-f", path)
        self.start_ballast()
        self.assert_per_service_masquerade()
        sets = self.lab.nft_json("lb", "list", "sets", "inet") or []
        names = {item["set"]["name"] for item in sets if "set" in item}
        self.assertIn("snat_vip4", names)
        self.assertFalse({"snat4", "snat6"} & names, names)
        self.assert_passes_write_nothing()


if __name__ == "__main__":
    unittest.main(verbosity=2)
