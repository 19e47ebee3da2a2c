"""tests/integration/test_uplinks.py — the uplink plane in network namespaces (issue #7).

A host with three veth uplinks to three NATing ISPs and a LAN behind it (see uplink_netns.py).
`ballast run` runs the plane inside the host namespace; each scenario waits on the kernel's
balancing route or the log, never on a fixed sleep. Needs root and `ip netns`; skipped otherwise.
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from uplink_netns import ISPS, Lab, have_netns, wait_for  # noqa: E402

BALLAST_BIN = os.environ.get("BALLAST_BIN",
                             os.path.join(os.path.dirname(__file__), "../../build/ballast"))
SKIP = have_netns()
WEIGHTS = {1: 1, 2: 2, 3: 1}
ALL = ["up1", "up2", "up3"]
# Detection bounds: probes every 300 ms, two failures to go down; the neighbour path needs the
# ARP state machine (about 2-3 s with the lab's timers).
DETECT = 8.0
BACKOFF_BASE, BACKOFF_MAX = 1.0, 4.0

CONFIG = """
uplinks:
  - interface: up1
    weight: 1
    gateway: 198.18.1.1
    probe: gateway
  - interface: up2
    weight: 2
    gateway: 198.18.2.1
    probe:
      targets: ["198.19.100.1:7000"]
  - interface: up3
    weight: 1
    probe:
      targets: ["198.19.100.1:7000"]
lan_interfaces: [lan0]
uplink_policy:
  interval: 300ms
  timeout: 250ms
  failure_threshold: 2
  recovery_threshold: 2
  debounce: 100ms
  backoff_base: 1s
  backoff_max: 4s
  hold_down: 20s
  state_file: {state}
"""


def isp_of(ip):
    """198.19.K.1 (seen by the server) or 198.18.K.2 (the host's own address) → K."""
    return int(ip.split(".")[2])


@unittest.skipIf(SKIP, SKIP or "")
class UplinkPlaneTest(unittest.TestCase):
    maxDiff = None
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ballast-uplinks-")
        cls.state = os.path.join(cls.dir, "uplinks.state")
        cls.config = os.path.join(cls.dir, "uplinks.yaml")
        with open(cls.config, "w") as f:
            f.write(CONFIG.format(state=cls.state))
        cls.lab = Lab()
        try:
            cls.lab.build()
            # Fast ARP timers on up1, so a silent gateway turns FAILED in seconds.
            for key, value in (("base_reachable_time_ms", 500), ("delay_first_probe_time", 1),
                               ("retrans_time_ms", 200), ("ucast_solicit", 2),
                               ("mcast_solicit", 2)):
                cls.lab.ns(cls.lab.host, "sysctl", "-qw", f"net.ipv4.neigh.up1.{key}={value}")
            cls.before = cls.lab.snapshot()
            cls.log_path = os.path.join(cls.dir, "ballast.log")
            cls.log = open(cls.log_path, "w")
            cls.proc = subprocess.Popen(
                ["ip", "netns", "exec", cls.lab.host, BALLAST_BIN, "run", "-c", cls.config,
                 "--workers", "1"], stdout=cls.log, stderr=subprocess.STDOUT)
            wait_for(lambda: cls.lab.balanced() == ALL, 30, "all three uplinks balanced")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        proc = getattr(cls, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if getattr(cls, "log", None):
            cls.log.close()
        cls.lab.close()
        if sys.exc_info()[0] is None:
            shutil.rmtree(cls.dir, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------

    def events(self, name, uplink=None):
        out = []
        with open(self.log_path) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("event") == name and (uplink is None or e.get("uplink") == uplink):
                    out.append(e)
        return out

    def wait_balanced(self, expected, timeout=DETECT):
        start = time.monotonic()
        wait_for(lambda: self.lab.balanced() == expected, timeout, f"balance over {expected}")
        return time.monotonic() - start

    def assert_spread(self, counts, expected_weights, total):
        self.assertEqual(counts.pop("errors"), 0, counts)
        by_isp = {isp_of(ip): n for ip, n in counts.items()}
        weight_sum = sum(expected_weights.values())
        for k in ISPS:
            share = by_isp.get(k, 0) / total
            expected = expected_weights.get(k, 0) / weight_sum
            # 4.5 standard deviations of a fair hash: tight enough to tell 1:2:1 from 1:1:1,
            # loose enough that the dozen checks here do not flake.
            if expected == 0:
                self.assertEqual(by_isp.get(k, 0), 0, f"ISP {k} is out: {by_isp}")
                continue
            delta = max(0.05, 4.5 * math.sqrt(expected * (1 - expected) / total))
            self.assertAlmostEqual(share, expected, delta=delta, msg=f"ISP {k}: {by_isp}")

    def restore_all(self):
        for k in ISPS:
            self.lab.link(k, True)
        self.wait_balanced(ALL, DETECT + BACKOFF_MAX)

    # --- scenarios, in order -------------------------------------------------------------

    def test_01_spreads_flows_by_weight(self):
        self.assert_spread(self.lab.count(400), WEIGHTS, 400)
        self.assertEqual(self.lab.ns(self.lab.host, "sysctl", "-n",
                                     "net.ipv4.fib_multipath_hash_policy").strip(), "1")
        status = json.loads(self.lab.ns(self.lab.host, BALLAST_BIN, "uplinks", "status",
                                        "--state", self.state))
        self.assertTrue(status["applied"])
        self.assertTrue(status["nft_table"])
        self.assertEqual(len(status["routes"]), 4)  # three uplink tables and the balance

    def test_02_lan_traffic_spreads(self):
        self.assert_spread(self.lab.count(400, self.lab.lan), WEIGHTS, 400)

    def test_03_uplink_down_then_up(self):
        t0 = time.monotonic()
        self.lab.link(1, False)
        self.wait_balanced(["up2", "up3"])
        failover = time.monotonic() - t0
        sys.stderr.write(f"\n  link-down failover: {failover * 1000:.0f} ms\n")
        self.assertLess(failover, 2.0)
        self.assertEqual(self.events("uplink.down", "up1")[-1]["reason"], "link")
        self.assert_spread(self.lab.count(200), {2: 2, 3: 1}, 200)
        self.assert_spread(self.lab.count(200, self.lab.lan), {2: 2, 3: 1}, 200)
        self.lab.link(1, True)
        back = self.wait_balanced(ALL, DETECT + BACKOFF_MAX)
        sys.stderr.write(f"  link-up recovery: {back * 1000:.0f} ms\n")
        self.assert_spread(self.lab.count(400), WEIGHTS, 400)

    def test_04_established_flows_survive_another_uplinks_failure(self):
        holder = self.lab.hold(40)
        try:
            first = self.lab.ping(holder)
            self.assertTrue(all(ok for _, ok in first), first)
            per_isp = {isp_of(ip) for ip, _ in first}
            self.assertEqual(per_isp, set(ISPS), "flows should start on every uplink")
            self.lab.link(2, False)
            self.wait_balanced(["up1", "up3"])
            after = self.lab.ping(holder)
            survivors = [ok for ip, ok in after if isp_of(ip) != 2]
            self.assertTrue(survivors and all(survivors), after)
        finally:
            holder.kill()
            holder.wait()
            self.restore_all()

    def test_05_probe_target_blocked(self):
        isp = self.lab.isp[3]
        self.lab.nft(isp, "add rule ip isp filter_fwd tcp dport 7000 drop\n")
        try:
            self.wait_balanced(["up1", "up2"])
            self.assertEqual(self.events("uplink.down", "up3")[-1]["reason"], "probe")
            self.assert_spread(self.lab.count(200), {1: 1, 2: 2}, 200)
        finally:
            self.lab.nft(isp, "flush chain ip isp filter_fwd\n")
        self.wait_balanced(ALL, DETECT + BACKOFF_MAX)

    def test_06_gateway_neighbour_failure(self):
        isp = self.lab.isp[1]
        # The gateway stops answering ARP; only the neighbour state can tell (probe: gateway).
        self.lab.nft(isp, "table arp mute {\n chain in { type filter hook input priority 0; "
                          "policy drop; }\n}\n")
        try:
            t0 = time.monotonic()
            self.wait_balanced(["up2", "up3"], 15)
            sys.stderr.write(f"\n  neighbour-failure detection: {time.monotonic() - t0:.1f} s\n")
            self.assertEqual(self.events("uplink.down", "up1")[-1]["reason"], "neighbour")
        finally:
            self.lab.nft(isp, "delete table arp mute\n")
        self.wait_balanced(ALL, DETECT + BACKOFF_MAX)

    def test_07_flapping_uplink_is_held_down(self):
        holds = []
        for _ in range(3):
            downs_before = len(self.events("uplink.down", "up3"))
            t_down = time.monotonic()
            self.lab.link(3, False)
            wait_for(lambda: len(self.events("uplink.down", "up3")) > downs_before, DETECT,
                     "up3 down")
            self.lab.link(3, True)  # back at once: only the hold-down keeps it out
            self.wait_balanced(ALL, DETECT + BACKOFF_MAX)
            elapsed = time.monotonic() - t_down
            hold = self.events("uplink.down", "up3")[-1]["hold_ms"] / 1000.0
            self.assertGreaterEqual(elapsed, hold, "re-added before its hold-down ended")
            holds.append(hold)
        sys.stderr.write(f"\n  hold-downs of three flaps: {holds}\n")
        for a, b in zip(holds, holds[1:]):
            self.assertAlmostEqual(b, min(BACKOFF_MAX, 2 * a), delta=0.3, msg=holds)

    def test_08_reload_changes_weights(self):
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace("weight: 2", "weight: 6"))
        try:
            self.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "weight 6" in self.lab.ns(self.lab.host, "ip", "route", "show",
                                                        "table", "200"), 5, "weight 6")
            self.assert_spread(self.lab.count(400), {1: 1, 2: 6, 3: 1}, 400)
        finally:
            with open(self.config, "w") as f:
                f.write(text)
            self.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "weight 2" in self.lab.ns(self.lab.host, "ip", "route", "show",
                                                        "table", "200"), 5, "weight 2")

    def test_09_stop_restores_the_host(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(15), 0)
        self.assertEqual(self.lab.snapshot(), self.before)
        self.assertFalse(os.path.exists(self.state))

    def test_10_cli_apply_then_remove_restores_the_host(self):
        host = self.lab.host
        out = self.lab.ns(host, BALLAST_BIN, "uplinks", "apply", "-c", self.config)
        self.assertEqual(json.loads(out)["active"], 3)
        self.assertEqual(self.lab.balanced(), ALL)
        self.assert_spread(self.lab.count(400), WEIGHTS, 400)
        status = subprocess.run(["ip", "netns", "exec", host, BALLAST_BIN, "uplinks", "status",
                                 "-c", self.config], capture_output=True, text=True)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertEqual(json.loads(status.stdout)["state"]["sysctls"]
                         ["net.ipv4.fib_multipath_hash_policy"], "0")
        self.lab.ns(host, BALLAST_BIN, "uplinks", "remove", "-c", self.config)
        self.assertEqual(self.lab.snapshot(), self.before)
        again = subprocess.run(["ip", "netns", "exec", host, BALLAST_BIN, "uplinks", "status",
                                "--state", self.state], capture_output=True, text=True)
        self.assertEqual(again.returncode, 4, again.stdout)

    def test_11_daemon_mode_runs_and_cleans_up(self):
        """The systemd unit's mode: `uplinks apply --daemon`; SIGTERM removes everything."""
        log = open(os.path.join(self.dir, "daemon.log"), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", self.lab.host, BALLAST_BIN, "uplinks",
                                 "apply", "--daemon", "-c", self.config], stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            self.wait_balanced(ALL, 10)
            self.lab.link(2, False)
            self.wait_balanced(["up1", "up3"])
            self.lab.link(2, True)
            self.wait_balanced(ALL, DETECT + BACKOFF_MAX)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(15), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        self.assertEqual(self.lab.snapshot(), self.before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
