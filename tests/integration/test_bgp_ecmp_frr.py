"""tests/integration/test_bgp_ecmp_frr.py — test_bgp_ecmp.py's scenario with FRR on the nodes.

Each node's ballast runs FRR's bgpd (daemon: frr) instead of BIRD; the router stays BIRD 2, so
the sessions are FRR to BIRD, as in a network whose routers are not FRR. The same steps and
bounds: flows spread over the nodes, drain / backend failure / SIGKILL / SIGTERM withdraw
within 3 s, a returning node and a restarted bgpd are re-added, a frozen bgpd is dropped by
the hold timer and the drain sent meanwhile reaches it once it answers. Needs root, `ip netns`,
bird2 and frr; skipped otherwise.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_bgp_ecmp as base  # noqa: E402

BGPD = "/usr/lib/frr/bgpd"
SKIP = base.SKIP or (None if os.access(BGPD, os.X_OK) else f"needs {BGPD} (Debian frr)")


@unittest.skipIf(SKIP, SKIP)
class BgpEcmpFrrTest(base.BgpEcmpTest):
    DAEMON = "frr"


if __name__ == "__main__":
    unittest.main(verbosity=2)
