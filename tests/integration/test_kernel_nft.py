"""tests/integration/test_kernel_nft.py — the kernel plane with nftables, in network namespaces.

Hosts (all on 198.18.0.0/15, wired through bridges in a switch namespace):
  client 198.18.1.100 ── front bridge ── lb1 198.18.1.1 / lb2 198.18.1.2   (VIP 198.18.1.10)
  lb1 198.18.2.251, lb2 198.18.2.252 ── back bridge ── backends 198.18.2.1-3 (HTTP on 8080)
The service masquerades toward the backends (snat: one-armed), so replies return through
whichever load balancer took the connection. `ballast run` runs in each LB namespace.

Asserts: connections to the VIP reach backends by weight; a killed backend leaves the map within
fall × interval; a hand-deleted rule (and table) comes back within one reconcile interval;
removing the VIP makes the node standby (table gone) and re-adding it makes it active; two LBs
under keepalived VRRP fail over and the new master serves within a bounded time.
Runs as root only; skips with the reason otherwise.
"""
import json
import os
import shutil
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import kernel_netns  # noqa: E402
from kernel_netns import Lab, wait_until  # noqa: E402

BALLAST_BIN = os.path.abspath(os.environ.get(
    "BALLAST_BIN", os.path.join(os.path.dirname(__file__), "../../build/ballast")))
VIP = "198.18.1.10"
BACKENDS = {"b1": ("198.18.2.1", 3), "b2": ("198.18.2.2", 2), "b3": ("198.18.2.3", 1)}
BACKEND_PORT = 8080
INTERVAL_S = 1.0           # reconcile_interval
CHECK_INTERVAL_S = 0.3     # health_check interval
CHECK_FALL = 2
CHECK_JITTER = 0.1
SLACK_S = 1.5              # process scheduling, nft round trips, our own polling
FAILOVER_BOUND_S = 10.0    # keepalived advert_int 1: the backup waits ~3 adverts at most


def config(lab, lb):
    backends = "\n".join(
        f"      - {{address: {addr}, port: {BACKEND_PORT}, weight: {w}}}"
        for addr, w in BACKENDS.values())
    return f"""admin: {{socket: {lab.dir}/{lb}.sock}}
kernel:
  driver: nftables
  reconcile_interval: {int(INTERVAL_S * 1000)}ms
  vip_gate: {{addresses: [{VIP}]}}
virtual_services:
  - name: web
    vip: {VIP}
    port: 80
    scheduler: wrr
    snat: true
    backends:
{backends}
    health_check: {{type: tcp, interval: {int(CHECK_INTERVAL_S * 1000)}ms, timeout: 200ms,
                    fall: {CHECK_FALL}, rise: 1, jitter: {CHECK_JITTER}}}
"""


def keepalived_config(lab, lb, priority):
    return f"""global_defs {{
  router_id {lab.prefix}{lb}
}}
vrrp_instance VI_{lab.prefix} {{
  state BACKUP
  interface f0
  virtual_router_id 51
  priority {priority}
  advert_int 1
  virtual_ipaddress {{
    {VIP}/24 dev f0
  }}
}}
"""


class KernelNftTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = kernel_netns.skip_reason()
        if reason:
            raise unittest.SkipTest(reason)
        if not os.access(BALLAST_BIN, os.X_OK):
            raise unittest.SkipTest(f"no ballast binary at {BALLAST_BIN} (set BALLAST_BIN)")

    def setUp(self):
        self.lab = Lab()
        self.addCleanup(self.lab.close)
        lab = self.lab
        lab.switch("brf", "brb")
        lab.add_ns("c")
        lab.plug("c", "eth0", "brf", "fc", "198.18.1.100/24")
        for i, lb in ((1, "l1"), (2, "l2")):
            lab.add_ns(lb)
            lab.plug(lb, "f0", "brf", f"f{i}", f"198.18.1.{i}/24")
            lab.plug(lb, "b0", "brb", f"b{i}", f"198.18.2.{250 + i}/24")
            lab.sh(lb, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.servers = {}
        for name, (addr, _) in BACKENDS.items():
            lab.add_ns(name)
            lab.plug(name, "eth0", "brb", f"p{name}", f"{addr}/24")
            self.servers[name] = lab.backend(name, name, BACKEND_PORT)
        for name, (addr, _) in BACKENDS.items():
            wait_until(lambda a=addr: lab.accepts("l1", a, BACKEND_PORT), 10,
                       what=f"backend {name} listening")

    def start_ballast(self, lb):
        path = os.path.join(self.lab.dir, f"{lb}.yaml")
        with open(path, "w") as f:
            f.write(config(self.lab, lb))
        log = os.path.join(self.lab.dir, f"{lb}.log")
        proc = self.lab.spawn(lb, BALLAST_BIN, "run", "-c", path, log=log)
        self.addCleanup(lambda: self.dump_log_on_failure(log))
        return proc

    def dump_log_on_failure(self, log):
        if hasattr(self, "_outcome") and any(
                e for _, e in getattr(self._outcome, "errors", []) if e):
            with open(log) as f:
                sys.stderr.write(f"--- {log}\n{f.read()[-4000:]}\n")

    def log_events(self, lb, event):
        with open(os.path.join(self.lab.dir, f"{lb}.log")) as f:
            lines = [json.loads(line) for line in f if line.startswith("{")]
        return [e for e in lines if e.get("event") == event]

    def full_map(self, lb):
        return self.lab.map_backends(lb, "be_web") == {"198.18.2.1": 3, "198.18.2.2": 2,
                                                       "198.18.2.3": 1}

    def test_kernel_plane(self):
        lab = self.lab
        lab.ip("l1", "addr", "add", f"{VIP}/24", "dev", "f0")
        ballast1 = self.start_ballast("l1")
        wait_until(lambda: self.full_map("l1") or ballast1.poll() is not None, 10,
                   what="lb1 programs be_web with weights 3:2:1")
        self.assertIsNone(ballast1.poll(), "ballast exited")

        with self.subTest("traffic follows the weights"):
            seen = lab.traffic("c", VIP, 80, 120)
            print(f"120 connections: {seen}", file=sys.stderr)
            self.assertNotIn("error", seen)
            for name, expected in (("b1", 60), ("b2", 40), ("b3", 20)):
                self.assertAlmostEqual(seen.get(name, 0), expected, delta=6, msg=str(seen))

        with self.subTest("a killed backend leaves within fall x interval"):
            lab.stop(self.servers["b3"], sig=signal.SIGKILL)
            bound = CHECK_FALL * CHECK_INTERVAL_S * (1 + CHECK_JITTER) + SLACK_S
            _, took = wait_until(lambda: lab.map_backends("l1", "be_web") ==
                                 {"198.18.2.1": 3, "198.18.2.2": 2}, bound,
                                 what="198.18.2.3 to leave be_web")
            print(f"backend removed after {took:.2f}s (bound {bound:.2f}s)", file=sys.stderr)
            # Taken out by a pass that compared web alone, verified without listing the table.
            passes = [e for e in self.log_events("l1", "kernel.applied")
                      if "198.18.2.3" in e.get("reason", "") and "down" in e["reason"]]
            self.assertEqual(len(passes), 1, passes)
            self.assertTrue(passes[0]["partial"], passes[0])
            seen = lab.traffic("c", VIP, 80, 30)
            self.assertEqual(set(seen), {"b1", "b2"}, seen)
            self.servers["b3"] = lab.backend("b3", "b3", BACKEND_PORT)
            wait_until(lambda: self.full_map("l1"), 10, what="198.18.2.3 back in be_web")

        with self.subTest("a hand-deleted rule comes back within one interval"):
            lab.sh("l1", "nft", "flush", "chain", "inet", "ballast", "svc_web")
            _, took = wait_until(lambda: lab.chain_rules("l1", "svc_web") == 1,
                                 INTERVAL_S + SLACK_S, what="svc_web's rule restored")
            print(f"rule restored after {took:.2f}s", file=sys.stderr)
            lab.sh("l1", "nft", "delete", "table", "inet", "ballast")
            wait_until(lambda: self.full_map("l1"), INTERVAL_S + SLACK_S,
                       what="table inet ballast restored")
            self.assertNotIn("error", lab.traffic("c", VIP, 80, 6))

        with self.subTest("losing the VIP means standby; getting it back, active"):
            lab.ip("l1", "addr", "del", f"{VIP}/24", "dev", "f0")
            wait_until(lambda: not lab.has_table("l1"), SLACK_S + INTERVAL_S,
                       what="table removed on standby")
            lab.ip("l1", "addr", "add", f"{VIP}/24", "dev", "f0")
            wait_until(lambda: self.full_map("l1"), SLACK_S + INTERVAL_S,
                       what="table back when active")

        with self.subTest("keepalived VRRP failover"):
            if shutil.which("keepalived") is None:
                self.skipTest("keepalived is not installed")
            lab.ip("l1", "addr", "del", f"{VIP}/24", "dev", "f0")
            wait_until(lambda: not lab.has_table("l1"), SLACK_S + INTERVAL_S,
                       what="lb1 standby before VRRP starts")
            ballast2 = self.start_ballast("l2")
            keepalived = {}
            for lb, priority in (("l1", 150), ("l2", 100)):
                conf = os.path.join(lab.dir, f"keepalived-{lb}.conf")
                with open(conf, "w") as f:
                    f.write(keepalived_config(lab, lb, priority))
                pid = os.path.join(lab.dir, f"keepalived-{lb}")
                keepalived[lb] = lab.spawn(
                    lb, "keepalived", "-n", "-l", "-D", "-P", "-f", conf, "-p", pid + ".pid",
                    "-r", pid + "-vrrp.pid", log=os.path.join(lab.dir, f"keepalived-{lb}.log"))
            wait_until(lambda: lab.has_address("l1", VIP) and self.full_map("l1"), 15,
                       what="lb1 VRRP master and active")
            self.assertFalse(lab.has_table("l2"), "lb2 must stay standby without the VIP")
            self.assertIsNone(ballast2.poll())
            self.assertNotIn("error", lab.traffic("c", VIP, 80, 6))

            start = time.monotonic()
            lab.stop(keepalived["l1"])  # lb1 steps down: priority 0 advert, VIP removed
            wait_until(lambda: lab.has_address("l2", VIP), FAILOVER_BOUND_S,
                       what="lb2 takes the VIP")
            wait_until(lambda: self.full_map("l2"), FAILOVER_BOUND_S, what="lb2 active")
            wait_until(lambda: lab.traffic("c", VIP, 80, 1).get("error") is None,
                       FAILOVER_BOUND_S, what="client served through lb2")
            took = time.monotonic() - start
            print(f"failover served after {took:.2f}s", file=sys.stderr)
            self.assertLess(took, FAILOVER_BOUND_S)
            wait_until(lambda: not lab.has_table("l1"), SLACK_S + INTERVAL_S,
                       what="lb1 standby after losing the VIP")
            seen = lab.traffic("c", VIP, 80, 12)
            self.assertNotIn("error", seen)


if __name__ == "__main__":
    unittest.main(verbosity=2)
