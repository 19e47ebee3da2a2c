"""tests/integration/load_peers.py — real peers for tests under load: nginx serving a fixed
answer per port (from a temp prefix, in its own session so it can be killed whole, like a
crashed host), and wrk with a script that reports its counters as one JSON line."""
import json
import os
import shutil
import signal
import subprocess
import tempfile

from harness import free_port, port_accepts, wait_until

WRK = shutil.which("wrk")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

# wrk reports its counters as one JSON line at the end.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_RESULT {"requests": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}\\n', summary.requests, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_result(out):
    """The counters of a wrk run that used WRK_SCRIPT; AssertionError when it printed none."""
    lines = [l for l in out.splitlines() if l.startswith("WRK_RESULT ")]
    if len(lines) != 1:
        raise AssertionError(f"wrk printed no result:\n{out}")
    return json.loads(lines[0][len("WRK_RESULT "):])


class NginxBackends:
    """One nginx serving `name\\n` on one port per name."""

    def __init__(self, names):
        self.dir = tempfile.mkdtemp(prefix="ballast-nginx-")
        self.proc = None
        # free_port() can race with other tests on the host: try fresh ports a few times.
        for _ in range(3):
            self.ports = {n: free_port() for n in names}
            if self._start():
                return
        with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
            raise AssertionError(f"nginx did not start: {f.read()}")

    def _start(self):
        servers = "".join(
            f"  server {{ listen 127.0.0.1:{p}; keepalive_requests 1000000; access_log off;\n"
            f"    location / {{ return 200 \"{n}\\n\"; }} }}\n" for n, p in self.ports.items())
        conf = (f"worker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log;\n"
                "daemon off;\nevents { worker_connections 1024; }\n"
                "http {\n"
                f"  client_body_temp_path {self.dir}/body; proxy_temp_path {self.dir}/proxy;\n"
                f"  fastcgi_temp_path {self.dir}/fcgi; uwsgi_temp_path {self.dir}/uwsgi;\n"
                f"  scgi_temp_path {self.dir}/scgi;\n{servers}}}\n")
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", path], start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.ports.values():
            wait_until(lambda p=p: port_accepts(p) or self.proc.poll() is not None,
                       what="nginx listening")
        return self.proc.poll() is None

    def address(self, name):
        return f"127.0.0.1:{self.ports[name]}"

    def kill(self):
        """SIGKILL to master and workers at once: connections reset, the ports refuse."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def restart(self):
        """After kill(): the same ports again (they were just freed, so they are ours)."""
        if not self._start():
            raise AssertionError("nginx did not come back on its ports")

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
