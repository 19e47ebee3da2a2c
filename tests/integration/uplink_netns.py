"""tests/integration/uplink_netns.py — a lab of network namespaces for the uplink plane.

    lan (198.18.10.2) ── lan0 ┐
                              host ── up1/up2/up3 ── isp1/isp2/isp3 (NAT) ── inet (198.19.100.1)

Three ISPs behind veth pairs (198.18.K.0/24, host .2, ISP .1), each masquerading towards the
"internet" namespace over 198.19.K.0/24, where one process serves: 8000 answers the peer address
it sees (198.19.K.1 names the ISP), 8001 echoes lines, 7000 is the probe target. Only
198.18.0.0/15 is used and nothing is linked to a real interface. Every namespace is deleted on
close(), whatever happened.
"""
import json
import os
import shutil
import subprocess
import sys
import time

ISPS = (1, 2, 3)
SERVER_IP = "198.19.100.1"
WHO_PORT = 8000
ECHO_PORT = 8001
PROBE_PORT = 7000

SERVER = r"""
import socket, sys, threading
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen(1024)
    def loop():
        while True:
            c, peer = s.accept()
            threading.Thread(target=fn, args=(c, peer), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def who(c, peer):
    try: c.sendall((peer[0] + "\n").encode())
    finally: c.close()
def echo(c, peer):
    f = c.makefile("rb")
    try:
        for line in f: c.sendall(line)
    except OSError: pass
    finally: c.close()
def probe(c, peer): c.close()
serve(8000, who); serve(8001, echo); serve(7000, probe)
print("ready", flush=True)
sys.stdin.read()
"""

# Opens argv[2] connections to the who server; prints {"198.19.K.1": count, ..., "errors": n}.
COUNT = r"""
import json, socket, sys
counts = {"errors": 0}
for _ in range(int(sys.argv[2])):
    try:
        with socket.create_connection((sys.argv[1], 8000), timeout=2) as s:
            ip = s.makefile("rb").readline().decode().strip()
            counts[ip] = counts.get(ip, 0) + 1
    except OSError:
        counts["errors"] += 1
print(json.dumps(counts))
"""

# Holds argv[2] echo connections; each "ping" line on stdin answers with one JSON line:
# [[local address, ok], ...].
HOLD = r"""
import json, socket, sys
conns = []
for _ in range(int(sys.argv[2])):
    s = socket.create_connection((sys.argv[1], 8001), timeout=2)
    conns.append(s)
print("ready", flush=True)
for line in sys.stdin:
    out = []
    for s in conns:
        try:
            s.settimeout(2)
            s.sendall(b"x\n")
            ok = s.recv(16) == b"x\n"
        except OSError:
            ok = False
        out.append([s.getsockname()[0], ok])
    print(json.dumps(out), flush=True)
"""


def have_netns():
    if os.geteuid() != 0:
        return "needs root (network namespaces, routes and nftables)"
    if shutil.which("ip") is None or shutil.which("nft") is None:
        return "needs iproute2 (ip) and nft"
    probe = f"bu{os.getpid()}probe"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "cannot create network namespaces here"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def sh(*cmd, check=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


class Lab:
    def __init__(self):
        tag = f"bu{os.getpid()}"
        self.host = f"{tag}h"
        self.inet = f"{tag}n"
        self.lan = f"{tag}l"
        self.isp = {k: f"{tag}i{k}" for k in ISPS}
        self.namespaces = [self.host, self.inet, self.lan, *self.isp.values()]
        self.procs = []

    # Runs a command inside a namespace.
    def ns(self, name, *cmd, check=True):
        return sh("ip", "netns", "exec", name, *cmd, check=check)

    def build(self):
        for n in self.namespaces:
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
            # IPv4 only: IPv6 link-local addresses and routes appear asynchronously (DAD), which
            # would make the before/after snapshots race.
            for key in ("all", "default"):
                self.ns(n, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1")
        for k in ISPS:
            isp = self.isp[k]
            sh("ip", "link", "add", f"up{k}", "netns", self.host, "type", "veth", "peer", "name",
               "hst", "netns", isp)
            sh("ip", "-n", self.host, "addr", "add", f"198.18.{k}.2/24", "dev", f"up{k}")
            sh("ip", "-n", isp, "addr", "add", f"198.18.{k}.1/24", "dev", "hst")
            sh("ip", "link", "add", "wan", "netns", isp, "type", "veth", "peer", "name", f"isp{k}",
               "netns", self.inet)
            sh("ip", "-n", isp, "addr", "add", f"198.19.{k}.1/24", "dev", "wan")
            sh("ip", "-n", self.inet, "addr", "add", f"198.19.{k}.2/24", "dev", f"isp{k}")
            for dev, n in ((f"up{k}", self.host), ("hst", isp), ("wan", isp), (f"isp{k}", self.inet)):
                sh("ip", "-n", n, "link", "set", dev, "up")
            sh("ip", "-n", isp, "route", "add", f"{SERVER_IP}/32", "via", f"198.19.{k}.2")
            self.ns(isp, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self.nft(isp, "table ip isp {\n"
                          " chain filter_fwd { type filter hook forward priority 0; policy accept; }\n"
                          " chain nat_post { type nat hook postrouting priority srcnat; policy accept;\n"
                          '   oifname "wan" counter masquerade\n }\n}\n')
        sh("ip", "-n", self.inet, "addr", "add", f"{SERVER_IP}/32", "dev", "lo")
        sh("ip", "link", "add", "lan0", "netns", self.host, "type", "veth", "peer", "name", "eth0",
           "netns", self.lan)
        sh("ip", "-n", self.host, "addr", "add", "198.18.10.1/24", "dev", "lan0")
        sh("ip", "-n", self.lan, "addr", "add", "198.18.10.2/24", "dev", "eth0")
        sh("ip", "-n", self.host, "link", "set", "lan0", "up")
        sh("ip", "-n", self.lan, "link", "set", "eth0", "up")
        sh("ip", "-n", self.lan, "route", "add", "default", "via", "198.18.10.1")
        self.ns(self.host, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # up3's gateway is learned from the main table, as DHCP would have installed it.
        sh("ip", "-n", self.host, "route", "add", "default", "via", "198.18.3.1", "dev", "up3",
           "metric", "300")
        server = subprocess.Popen(["ip", "netns", "exec", self.inet, sys.executable, "-c", SERVER,
                                   SERVER_IP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        self.procs.append(server)
        if server.stdout.readline().strip() != "ready":
            raise AssertionError("test servers did not start")
        return self

    def nft(self, name, script):
        r = subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], input=script,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"nft in {name}: {r.stderr.strip()}")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for n in self.namespaces:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)

    def snapshot(self):
        """What `remove` must leave exactly as it found it."""
        return {
            "rules": self.ns(self.host, "ip", "rule"),
            "routes": self.ns(self.host, "ip", "-4", "route", "show", "table", "all"),
            # The kernel re-adds IPv6 link-local routes in another order after a link flap.
            "routes6": sorted(self.ns(self.host, "ip", "-6", "route", "show", "table", "all")
                              .splitlines()),
            "rules6": self.ns(self.host, "ip", "-6", "rule"),
            "nft": self.ns(self.host, "nft", "list", "ruleset"),
            "hash": self.ns(self.host, "sysctl", "-n", "net.ipv4.fib_multipath_hash_policy"),
        }

    def count(self, n, where=None):
        """Opens n connections to the who server from `where` (host namespace by default)."""
        out = self.ns(where or self.host, sys.executable, "-c", COUNT, SERVER_IP, str(n))
        return json.loads(out)

    def hold(self, n, where=None):
        p = subprocess.Popen(["ip", "netns", "exec", where or self.host, sys.executable, "-c", HOLD,
                              SERVER_IP, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != "ready":
            raise AssertionError("echo flows did not connect")
        return p

    @staticmethod
    def ping(holder):
        holder.stdin.write("ping\n")
        holder.stdin.flush()
        return json.loads(holder.stdout.readline())

    def balanced(self, table=200):
        """Interfaces in the balancing table's default route, as the kernel has it."""
        out = self.ns(self.host, "ip", "route", "show", "table", str(table), check=False)
        return sorted({w[w.index("dev") + 1] for w in (l.split() for l in out.splitlines())
                       if "dev" in w} if out else set())

    def link(self, k, up):
        """Carrier of host's up<k> follows the ISP's end of the pair (host routes stay)."""
        sh("ip", "-n", self.isp[k], "link", "set", "hst", "up" if up else "down")


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
