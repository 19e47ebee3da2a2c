"""tests/integration/kernel_netns.py — throwaway network namespaces for the kernel-plane tests.

Builds hosts on 198.18.0.0/15 only (RFC 2544 benchmarking space), wired through bridges that
live in their own "switch" namespace, so nothing is created in (or routed through) the host's
own namespace. Every namespace name carries the test's pid; `Lab.close()` kills what the lab
started and deletes every namespace it made, also after a failure.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

BACKEND_SERVER = textwrap.dedent('''
    import http.server, socketserver, sys
    NAME = sys.argv[1].encode()
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(NAME)))
            self.end_headers()
            self.wfile.write(NAME)
        def log_message(self, *args):
            pass
    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
    Server(("0.0.0.0", int(sys.argv[2])), Handler).serve_forever()
''')

# Opens `count` new connections one after another (each a new conntrack flow, so each is a new
# balancing decision) and prints {"backend name": connections, "error": failures} as JSON.
CLIENT = textwrap.dedent('''
    import json, socket, sys
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seen = {}
    for _ in range(count):
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(b"GET / HTTP/1.0\\r\\nHost: vip\\r\\n\\r\\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            name = data.split(b"\\r\\n\\r\\n", 1)[1].decode() if b"\\r\\n\\r\\n" in data else "?"
        except OSError:
            name = "error"
        seen[name] = seen.get(name, 0) + 1
    print(json.dumps(seen))
''')


def skip_reason():
    """Why the namespace tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, nftables)"
    if shutil.which("ip") is None or shutil.which("nft") is None:
        return "needs iproute2 (ip) and nftables (nft)"
    probe = f"bkprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "ip netns add is not permitted here"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls with a deadline; returns the predicate's value and the seconds it took."""
    start = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value, time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Lab:
    def __init__(self, tag="bk"):
        self.prefix = f"{tag}{os.getpid()}"
        self.dir = tempfile.mkdtemp(prefix="ballast-kernel-")
        self.namespaces = []
        self.procs = []
        with open(os.path.join(self.dir, "server.py"), "w") as f:
            f.write(BACKEND_SERVER)
        with open(os.path.join(self.dir, "client.py"), "w") as f:
            f.write(CLIENT)

    # --- plumbing -------------------------------------------------------------------------
    def ns(self, short):
        return f"{self.prefix}{short}"

    def sh(self, ns, *cmd, check=True):
        out = subprocess.run(["ip", "netns", "exec", self.ns(ns), *cmd], capture_output=True,
                             text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{ns}: {' '.join(cmd)}: {out.stderr.strip()}")
        return out

    def ip(self, ns, *args, check=True):
        out = subprocess.run(["ip", "-n", self.ns(ns), *args], capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{ns}: ip {' '.join(args)}: {out.stderr.strip()}")
        return out

    def add_ns(self, short):
        name = self.ns(short)
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.namespaces.append(name)
        self.ip(short, "link", "set", "lo", "up")

    def switch(self, *bridges):
        self.add_ns("sw")
        for br in bridges:
            self.ip("sw", "link", "add", br, "type", "bridge")
            self.ip("sw", "link", "set", br, "up")

    def plug(self, ns, ifname, bridge, port, cidr):
        """A veth from `bridge` (in the switch) to `ifname` in `ns`, addressed `cidr`."""
        self.ip("sw", "link", "add", port, "type", "veth", "peer", "name", ifname, "netns",
                self.ns(ns))
        self.ip("sw", "link", "set", port, "master", bridge, "up")
        self.ip(ns, "addr", "add", cidr, "dev", ifname)
        self.ip(ns, "link", "set", ifname, "up")

    def spawn(self, ns, *cmd, log=None):
        out = open(log, "w") if log else subprocess.DEVNULL
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(ns), *cmd], stdout=out,
                                 stderr=subprocess.STDOUT if log else subprocess.DEVNULL)
        finally:
            if log:
                out.close()  # the child has its own copy
        self.procs.append(p)
        return p

    def stop(self, proc, sig=signal.SIGTERM, timeout=10):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self):
        for p in reversed(self.procs):
            try:
                self.stop(p, timeout=5)
            except OSError:
                pass
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- what the tests ask -----------------------------------------------------------------
    def backend(self, ns, name, port):
        return self.spawn(ns, sys.executable, os.path.join(self.dir, "server.py"), name,
                          str(port))

    def accepts(self, ns, host, port):
        code = (f"import socket\ntry:\n socket.create_connection(('{host}', {port}), 0.3)"
                f".close()\nexcept OSError:\n raise SystemExit(1)")
        return self.sh(ns, sys.executable, "-c", code, check=False).returncode == 0

    def traffic(self, ns, host, port, count):
        out = self.sh(ns, sys.executable, os.path.join(self.dir, "client.py"), host, str(port),
                      str(count))
        return json.loads(out.stdout)

    def nft_json(self, ns, *what):
        out = self.sh(ns, "nft", "-j", *what, check=False)
        if out.returncode != 0:
            return None
        return json.loads(out.stdout)["nftables"]

    def has_table(self, ns):
        return self.sh(ns, "nft", "list", "table", "inet", "ballast", check=False).returncode == 0

    def map_backends(self, ns, map_name):
        """Addresses in a Ballast backend map, with their slot counts; None if no map."""
        items = self.nft_json(ns, "list", "map", "inet", "ballast", map_name)
        if items is None:
            return None
        slots = {}
        for item in items:
            for elem in item.get("map", {}).get("elem", []):
                value = elem[1]
                addr = value["concat"][0] if isinstance(value, dict) else value
                slots[addr] = slots.get(addr, 0) + 1
        return slots

    def chain_rules(self, ns, chain):
        items = self.nft_json(ns, "list", "chain", "inet", "ballast", chain)
        if items is None:
            return 0
        return sum(1 for item in items if "rule" in item)

    def has_address(self, ns, addr):
        out = self.ip(ns, "-j", "addr", "show", check=False)
        try:
            links = json.loads(out.stdout or "[]")
        except ValueError:
            return False
        return any(a.get("local") == addr for link in links for a in link.get("addr_info", []))
