"""tests/integration/bgp_netns.py — a lab of network namespaces for BGP announcement (issue #20).

    client (198.18.200.2) ── router (BIRD, ECMP) ─┬─ node1 (198.18.21.2, VIP on lo)
                                                  ├─ node2 (198.18.22.2)
                                                  └─ node3 (198.18.23.2)

The router runs its own BIRD 2 with one eBGP session per node and installs the VIP as a
multipath route (`merge paths`), hashing on L4 (fib_multipath_hash_policy=1). Each node has the
VIP on lo and a backend on 127.0.0.1 that answers its node's name; the test runs ballast there,
and ballast runs the node's BIRD. Only 198.18.0.0/15 is used, nothing is linked to a real
interface, and every namespace and process is removed on close(), whatever happened.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

VIP = "198.18.100.1"
VIP_PORT = 80
BACKEND_PORT = 8080
ROUTER_ASN = 65000
NODE_ASN = 65001
CLIENT_IP = "198.18.200.2"

# Answers every connection with the node's name; argv[1] is the name.
BACKEND = r"""
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8080)); s.listen(1024)
print("ready", flush=True)
def serve(c):
    try: c.sendall((sys.argv[1] + "\n").encode())
    finally: c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# Opens argv[2] connections to the VIP, each from its own source port (a new flow);
# prints {"node1": count, ..., "errors": n}.
COUNT = r"""
import json, socket, sys
counts = {"errors": 0}
for _ in range(int(sys.argv[2])):
    try:
        with socket.create_connection((sys.argv[1], 80), timeout=2) as s:
            name = s.makefile("rb").readline().decode().strip()
            counts[name] = counts.get(name, 0) + 1
    except OSError:
        counts["errors"] += 1
print(json.dumps(counts))
"""

ROUTER_CONF = """
router id 198.18.200.1;
log "{log}" all;
protocol device {{ }}
protocol kernel {{
  ipv4 {{ export all; }};
  merge paths yes;
}}
"""
ROUTER_PEER = """
protocol bgp node{k} {{
  local as {router_asn};
  neighbor 198.18.2{k}.2 as {node_asn};
  hold time 3;
  keepalive time 1;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import all; export none; }};
}}
"""


def missing():
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "bird", "birdc"):
        if shutil.which(tool) is None:
            return f"needs {tool} (iproute2, bird2)"
    probe = f"bg{os.getpid()}probe"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "cannot create network namespaces here"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def sh(*cmd, check=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def wait_for(predicate, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Lab:
    def __init__(self, nodes=3):
        tag = f"bg{os.getpid()}"
        self.nodes = list(range(1, nodes + 1))
        self.client = f"{tag}c"
        self.router = f"{tag}r"
        self.node = {k: f"{tag}n{k}" for k in self.nodes}
        self.namespaces = [self.client, self.router, *self.node.values()]
        self.dir = tempfile.mkdtemp(prefix="ballast-bgp-")
        self.procs = []

    def ns(self, name, *cmd, check=True):
        return sh("ip", "netns", "exec", name, *cmd, check=check)

    def build(self):
        for n in self.namespaces:
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
            for key in ("all", "default"):
                self.ns(n, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1")
        sh("ip", "link", "add", "eth0", "netns", self.client, "type", "veth", "peer", "name",
           "cli", "netns", self.router)
        sh("ip", "-n", self.client, "addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        sh("ip", "-n", self.router, "addr", "add", "198.18.200.1/24", "dev", "cli")
        sh("ip", "-n", self.client, "link", "set", "eth0", "up")
        sh("ip", "-n", self.router, "link", "set", "cli", "up")
        sh("ip", "-n", self.client, "route", "add", "default", "via", "198.18.200.1")
        for k in self.nodes:
            n = self.node[k]
            sh("ip", "link", "add", "eth0", "netns", n, "type", "veth", "peer", "name", f"n{k}",
               "netns", self.router)
            sh("ip", "-n", n, "addr", "add", f"198.18.2{k}.2/24", "dev", "eth0")
            sh("ip", "-n", self.router, "addr", "add", f"198.18.2{k}.1/24", "dev", f"n{k}")
            sh("ip", "-n", n, "link", "set", "eth0", "up")
            sh("ip", "-n", self.router, "link", "set", f"n{k}", "up")
            sh("ip", "-n", n, "route", "add", "default", "via", f"198.18.2{k}.1")
            sh("ip", "-n", n, "addr", "add", f"{VIP}/32", "dev", "lo")
            backend = subprocess.Popen(["ip", "netns", "exec", n, sys.executable, "-c", BACKEND,
                                        f"node{k}"], stdout=subprocess.PIPE, text=True)
            self.procs.append(backend)
            if backend.stdout.readline().strip() != "ready":
                raise AssertionError(f"backend of node{k} did not start")
        self.ns(self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.ns(self.router, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=1")
        conf = os.path.join(self.dir, "router.conf")
        with open(conf, "w") as f:
            f.write(ROUTER_CONF.format(log=os.path.join(self.dir, "router.log")))
            for k in self.nodes:
                f.write(ROUTER_PEER.format(k=k, router_asn=ROUTER_ASN, node_asn=NODE_ASN))
        self.router_socket = os.path.join(self.dir, "router.ctl")
        bird = subprocess.Popen(["ip", "netns", "exec", self.router, "bird", "-f", "-c", conf,
                                 "-s", self.router_socket, "-P",
                                 os.path.join(self.dir, "router.pid")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(bird)
        wait_for(lambda: os.path.exists(self.router_socket), 5, "the router's BIRD socket")
        return self

    def node_config(self, k, extra="", daemon="bird"):
        d = os.path.join(self.dir, f"node{k}")
        os.makedirs(d, exist_ok=True)
        return f"""workers: 1
logging: {{level: debug}}
shutdown_timeout: 2s
admin:
  socket: {d}/admin.sock
  audit_log: {d}/audit.log
listeners:
  - name: vip
    bind: "{VIP}:{VIP_PORT}"
    pool: app
pools:
  - name: app
    health_check: {{type: tcp, interval: 200ms, timeout: 150ms, rise: 1, fall: 1}}
    backends: [{{address: "127.0.0.1:{BACKEND_PORT}"}}]
bgp:
  daemon: {daemon}
  asn: {NODE_ASN}
  router_id: 198.18.2{k}.2
  peers:
    - {{address: 198.18.2{k}.1, asn: {ROUTER_ASN}}}
  vips: [{VIP}]
  announce_when: healthy
  hold_time: 3s
  state_dir: {d}/bgp
{extra}"""

    def nexthops(self):
        """Node numbers in the router's route to the VIP, as the kernel has it."""
        out = self.ns(self.router, "ip", "-4", "route", "show", f"{VIP}/32", check=False)
        hops = set()
        words = out.split()
        for i, w in enumerate(words):
            if w == "via" and i + 1 < len(words) and words[i + 1].startswith("198.18.2"):
                hops.add(int(words[i + 1].split(".")[2]) - 20)
        return hops

    def count(self, n):
        return json.loads(self.ns(self.client, sys.executable, "-c", COUNT, VIP, str(n)))

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()
        for n in self.namespaces:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
