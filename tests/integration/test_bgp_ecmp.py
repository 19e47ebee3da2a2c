"""tests/integration/test_bgp_ecmp.py — many nodes behind ECMP with BGP (issue #20).

Three node namespaces each run ballast (an L4 listener on the VIP) and, as ballast's child, a
BIRD 2 that announces the VIP to a router namespace; the router's BIRD installs it as a
multipath route and a client namespace opens many flows to it (see bgp_netns.py). Every step
waits on the router's route or the flows, never on a fixed sleep. Needs root, `ip netns` and
bird2; skipped otherwise.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bgp_netns import Lab, missing, wait_for  # noqa: E402
from harness import free_port  # noqa: E402

BALLAST_BIN = os.path.abspath(os.environ.get(
    "BALLAST_BIN", os.path.join(os.path.dirname(__file__), "../../build/ballast")))
SKIP = missing()
FLOWS = 60
# The bound for a drained, stopped or killed node's route to leave the router.
WITHDRAW_BOUND = 3.0
HOLD_TIME = 3.0  # bgp.hold_time in bgp_netns.Lab.node_config
# Sessions come up after BIRD's 1 s connect delay, a TCP handshake and an OPEN exchange.
ANNOUNCE_BOUND = 15.0


# The pid file each daemon writes in bgp.state_dir.
PID_FILES = {"bird": "bird.pid", "frr": "bgpd.pid"}


class Node:
    def __init__(self, lab, k, daemon):
        self.lab, self.k = lab, k
        self.dir = os.path.join(lab.dir, f"node{k}")
        self.pid_file = os.path.join(self.dir, "bgp", PID_FILES[daemon])
        self.config = lab.node_config(k, daemon=daemon)
        self.config_path = os.path.join(self.dir, "ballast.yaml")
        with open(self.config_path, "w") as f:
            f.write(self.config)
        self.log_path = os.path.join(self.dir, "ballast.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "a")
        # `ip netns exec` execs ballast in place: the pid is ballast's own.
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.lab.node[self.k], BALLAST_BIN,
                                      "run", "-c", self.config_path], stdout=log, stderr=log)
        log.close()
        self.lab.procs.append(self.proc)
        return self

    def daemon_pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def ctl(self, *args):
        return subprocess.run([BALLAST_BIN, *args, "--socket",
                               os.path.join(self.dir, "admin.sock")],
                              capture_output=True, text=True)

    def metric(self, name):
        """The value of the first sample called `name` (labels included, if given) from the
        admin socket's /metrics."""
        out = subprocess.run(["curl", "-sf", "--unix-socket", os.path.join(self.dir, "admin.sock"),
                              "http://node/metrics"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def audit(self):
        with open(os.path.join(self.dir, "audit.log")) as f:
            return [json.loads(l) for l in f if l.strip()]

    def log(self):
        with open(self.log_path) as f:
            return f.read()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its sockets are closed).
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1][0] != "Z"


@unittest.skipIf(SKIP, SKIP)
class BgpEcmpTest(unittest.TestCase):
    """The node side runs BIRD; test_bgp_ecmp_frr.py runs the same scenario with FRR."""
    DAEMON = "bird"

    def setUp(self):
        self.lab = Lab(nodes=3)
        self.addCleanup(self.lab.close)
        self.lab.build()
        self.nodes = {k: Node(self.lab, k, self.DAEMON).start() for k in self.lab.nodes}

    def dump(self):
        for k, n in self.nodes.items():
            sys.stderr.write(f"--- node{k} ballast log ---\n{n.log()[-3000:]}\n")
        sys.stderr.write(self.lab.ns(self.lab.router, "birdc", "-s", self.lab.router_socket,
                                     "show", "protocols", check=False))

    def wait_hops(self, want, timeout, what):
        t0 = time.monotonic()
        wait_for(lambda: self.lab.nexthops() == want, timeout, what)
        return time.monotonic() - t0

    def flows(self):
        counts = self.lab.count(FLOWS)
        self.assertEqual(counts.pop("errors"), 0, f"every flow is answered: {counts}")
        return counts

    def test_ecmp_announce_withdraw_readd(self):
        try:
            self.scenario()
        except BaseException:
            self.dump()
            raise

    def scenario(self):
        lab, nodes = self.lab, self.nodes
        self.wait_hops({1, 2, 3}, ANNOUNCE_BOUND, "all three nodes in the router's route")
        spread = self.flows()
        self.assertGreaterEqual(len(spread), 2, f"flows spread over the nodes: {spread}")
        self.assertEqual(sum(spread.values()), FLOWS)
        self.assertEqual(nodes[1].metric("ballast_bgp_vip_announced"), 1)
        self.assertEqual(nodes[1].metric("ballast_bgp_daemon_up"), 1)
        shown = nodes[1].ctl("show", "bgp", "--json")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual(json.loads(shown.stdout)["vips"],
                         [{"vip": "198.18.100.1/32", "announced": True}])

        # Drain: ballast withdraws the VIP itself; the session stays up.
        t0 = time.monotonic()
        r = nodes[1].ctl("drain")
        self.assertEqual(r.returncode, 0, r.stderr)
        took = time.monotonic() - t0 + self.wait_hops({2, 3}, WITHDRAW_BOUND, "node1 withdrawn")
        print(f"\nwithdrawal after drain: {took:.3f}s", file=sys.stderr)
        self.assertLess(took, WITHDRAW_BOUND)
        after = self.flows()
        self.assertNotIn("node1", after, f"no new flow reaches the drained node: {after}")
        self.assertEqual(nodes[1].metric("ballast_bgp_vip_announced"), 0)
        withdrawals = [(r["kind"], r["actor"]) for r in nodes[1].audit()
                       if r["kind"].startswith("bgp.")]
        self.assertEqual(withdrawals, [("bgp.announce", "start"), ("bgp.withdraw", "drain")])
        # A reload ends the drain: node1 is re-added.
        r = nodes[1].ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_hops({1, 2, 3}, ANNOUNCE_BOUND, "node1 re-added after the drain")

        # The backend fails its health check: announce_when: healthy withdraws.
        t0 = time.monotonic()
        backend = lab.procs[0]  # node1's backend, started first
        backend.kill()
        backend.wait()
        took = self.wait_hops({2, 3}, WITHDRAW_BOUND, "node1 withdrawn on backend failure")
        print(f"withdrawal after the backend died (check 200ms, fall 1): {took:.3f}s",
              file=sys.stderr)
        self.assertLess(took, WITHDRAW_BOUND)

        # SIGKILL: the daemon dies with ballast (PR_SET_PDEATHSIG), its sessions close, and
        # the router withdraws at once rather than after the hold time.
        pid = nodes[2].daemon_pid()
        self.assertIsNotNone(pid)
        t0 = time.monotonic()
        nodes[2].proc.kill()
        nodes[2].proc.wait()
        took = self.wait_hops({3}, WITHDRAW_BOUND, "node2 withdrawn after SIGKILL")
        print(f"withdrawal after SIGKILL: {took:.3f}s", file=sys.stderr)
        self.assertLess(took, WITHDRAW_BOUND)
        wait_for(lambda: not alive(pid), 2, "node2's daemon to die with its ballast")
        only = self.flows()
        self.assertEqual(set(only), {"node3"}, f"new flows go to the rest: {only}")

        # node2 returns: re-added, and flows reach it again.
        nodes[2].start()
        self.wait_hops({2, 3}, ANNOUNCE_BOUND, "node2 re-added after restart")
        back = self.flows()
        self.assertIn("node2", back, f"flows reach the returned node: {back}")

        # A reload that takes the VIP out of bgp.vips withdraws it; putting it back re-adds.
        other = nodes[2].config.replace("vips: [198.18.100.1]", "vips: [198.18.100.9]")
        self.assertNotEqual(other, nodes[2].config)
        with open(nodes[2].config_path, "w") as f:
            f.write(other)
        self.assertEqual(nodes[2].ctl("reload").returncode, 0)
        self.wait_hops({3}, WITHDRAW_BOUND, "node2 withdrawn when its VIP left the config")
        with open(nodes[2].config_path, "w") as f:
            f.write(nodes[2].config)
        self.assertEqual(nodes[2].ctl("reload").returncode, 0)
        self.wait_hops({2, 3}, ANNOUNCE_BOUND, "node2 re-added when its VIP came back")

        # The daemon dies under a running ballast: its sessions close, ballast restarts it (at
        # most once a second), counts and audits the exit, and the node is re-added.
        pid = nodes[3].daemon_pid()
        os.kill(pid, signal.SIGKILL)
        self.wait_hops({2}, WITHDRAW_BOUND, "node3 withdrawn when its daemon died")
        self.wait_hops({2, 3}, ANNOUNCE_BOUND, "node3 re-added by a restarted daemon")
        self.assertNotEqual(nodes[3].daemon_pid(), pid)
        self.assertEqual(nodes[3].metric("ballast_bgp_daemon_exits_total"), 1)
        self.assertIn("bgp.daemon_exited", [r["kind"] for r in nodes[3].audit()])

        # SIGTERM: ballast withdraws first, then stops its daemon; exits 0.
        t0 = time.monotonic()
        nodes[3].proc.send_signal(signal.SIGTERM)
        took = self.wait_hops({2}, WITHDRAW_BOUND, "node3 withdrawn after SIGTERM")
        print(f"withdrawal after SIGTERM: {took:.3f}s", file=sys.stderr)
        self.assertLess(took, WITHDRAW_BOUND)
        self.assertEqual(nodes[3].proc.wait(10), 0, nodes[3].log()[-2000:])
        log = nodes[3].log()
        self.assertIn('"bgp.withdraw"', log)
        self.assertIn('"bgp.stopped"', log)

        # A node gone silent (here: its daemon frozen) is dropped by the router's hold timer.
        pid = nodes[2].daemon_pid()
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGCONT))
        took = self.wait_hops(set(), HOLD_TIME + 1.5, "node2 dropped by the hold timer")
        print(f"withdrawal of a silent node (hold time {HOLD_TIME:.0f}s): {took:.3f}s",
              file=sys.stderr)

        # A drain while the daemon hangs: the command times out, is counted and audited once, and
        # is retried until BIRD answers again.
        self.assertEqual(nodes[2].ctl("drain").returncode, 0)
        self.assertGreaterEqual(
            nodes[2].metric('ballast_bgp_daemon_failures_total{kind="command"}'), 1)
        self.assertEqual([r["kind"] for r in nodes[2].audit()].count("bgp.daemon_failed"), 1)
        os.kill(pid, signal.SIGCONT)
        wait_for(lambda: "bgp.daemon_recovered" in [r["kind"] for r in nodes[2].audit()], 15,
                 "the withdrawal to reach the daemon once it answers")
        self.assertEqual(nodes[2].metric("ballast_bgp_vip_announced"), 0)


class BgpStartTest(unittest.TestCase):
    """Start-up checks that need no namespace and no root."""

    def test_missing_daemon_stops_the_start_with_a_clear_error(self):
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
  asn: 65001
  router_id: 198.18.21.2
  peers: [{{address: 198.18.21.1, asn: 65000}}]
  vips: [198.18.100.1]
  state_dir: {d}/bgp
  daemon_binary: {d}/no-such-bird
""")
            r = subprocess.run([BALLAST_BIN, "run", "-c", config], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("no-such-bird not found", r.stderr)
            self.assertIn("bird2", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
