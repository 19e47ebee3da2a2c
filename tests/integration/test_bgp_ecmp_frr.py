"""tests/integration/test_bgp_ecmp_frr.py — test_bgp_ecmp.py's scenario with FRR on the nodes.

Each node's ballast runs FRR's bgpd (daemon: frr) instead of BIRD; the router stays BIRD 2, so
the sessions are FRR to BIRD, as in a network whose routers are not FRR. The same steps and
bounds: flows spread over the nodes, drain / backend failure / SIGKILL / SIGTERM withdraw
within 3 s, a returning node and a restarted bgpd are re-added, a frozen bgpd is dropped by
the hold timer and the drain sent meanwhile reaches it once it answers. Needs root, `ip netns`,
bird2 and frr; skipped otherwise.
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_bgp_ecmp as base  # noqa: E402
from bgp_netns import wait_for  # noqa: E402
from harness import free_port  # noqa: E402

BGPD = "/usr/lib/frr/bgpd"
SKIP = base.SKIP or (None if os.access(BGPD, os.X_OK) else f"needs {BGPD} (Debian frr)")


@unittest.skipIf(SKIP, SKIP)
class BgpEcmpFrrTest(base.BgpEcmpTest):
    DAEMON = "frr"

    def test_session_change_restarts_bgpd_from_the_new_config(self):
        """bgpd cannot take a new ASN, peer or hold time from the vty as BIRD's `configure`
        takes them from its file: ballast restarts it, and the node is back in the route."""
        node = self.nodes[1]
        self.wait_hops({1, 2, 3}, base.ANNOUNCE_BOUND, "all three nodes in the router's route")
        before = node.daemon_pid()
        self.assertIsNotNone(before)
        with open(node.config_path, "w") as f:
            f.write(node.config.replace("hold_time: 3s", "hold_time: 6s"))
        r = node.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: node.daemon_pid() not in (None, before), 5, "bgpd restarted")
        self.wait_hops({1, 2, 3}, base.ANNOUNCE_BOUND, "node1 back after the restart")
        conf = os.path.join(node.dir, "bgp", "bgpd.conf")
        with open(conf) as f:
            self.assertIn(" timers bgp 2 6\n", f.read())
        # bgpd goes on past a line it does not know, so ask it to check the file it was given:
        # its dry run exits 0 either way and prints the lines it refused.
        with tempfile.TemporaryDirectory(prefix="ballast-bgpd-check-") as d:
            r = subprocess.run([BGPD, "-S", "-Z", "-C", "-f", conf, "--vty_socket", d, "-P", "0",
                                "-i", os.path.join(d, "bgpd.pid")],
                               capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("config line", r.stdout + r.stderr)


class BgpStartFrrTest(unittest.TestCase):
    """Start-up checks that need no namespace and no root."""

    def test_missing_bgpd_stops_the_start_naming_the_package(self):
        with tempfile.TemporaryDirectory(prefix="ballast-bgp-") as d:
            config = os.path.join(d, "ballast.yaml")
            with open(config, "w") as f:
                f.write(f"""workers: 1
admin: {{socket: ""}}
listeners:
  - {{name: vip, bind: "127.0.0.1:{free_port()}", pool: app}}
pools:
  - {{name: app, backends: [{{address: "127.0.0.1:9"}}]}}
bgp:
  daemon: frr
  asn: 65001
  router_id: 198.18.21.2
  peers: [{{address: 198.18.21.1, asn: 65000}}]
  vips: [198.18.100.1]
  state_dir: {d}/bgp
  daemon_binary: {d}/no-such-bgpd
""")
            r = subprocess.run([base.BALLAST_BIN, "run", "-c", config], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("no-such-bgpd not found", r.stderr)
            self.assertIn("Debian package frr", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
