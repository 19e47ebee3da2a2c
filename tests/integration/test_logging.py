"""tests/integration/test_logging.py — application log destinations: `logging.file` (reopened on
SIGUSR1 after logrotate moved it) and `logging.gelf` (GELF 1.1 over UDP, received here on
loopback)."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BALLAST_BIN, free_port, wait_until


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class LoggingTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ballast-log-")
        self.gelf = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.gelf.bind(("127.0.0.1", 0))
        self.gelf.settimeout(5)
        self.log = os.path.join(self.dir, "ballast.log")
        self.port = free_port()
        self.config = os.path.join(self.dir, "ballast.yaml")
        with open(self.config, "w") as f:
            f.write(f"""
admin: {{socket: "{self.dir}/admin.sock"}}
logging: {{level: info, file: "{self.log}", gelf: "127.0.0.1:{self.gelf.getsockname()[1]}"}}
listeners:
  - {{name: raw, bind: "127.0.0.1:{self.port}", protocol: tcp, pool: p}}
pools:
  - {{name: p, backends: [{{address: "127.0.0.1:9"}}]}}
""")
        self.stderr = open(os.path.join(self.dir, "stderr"), "w")
        self.proc = subprocess.Popen([BALLAST_BIN, "run", "-c", self.config],
                                     stdout=self.stderr, stderr=self.stderr)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)
        self.stderr.close()
        self.gelf.close()

    def test_file_gets_the_log_and_is_reopened_on_sigusr1(self):
        wait_until(lambda: '"server.started"' in read(self.log), what="start line in the file")
        for line in read(self.log).splitlines():
            json.loads(line)  # every line is one JSON object
        os.rename(self.log, self.log + ".1")
        self.proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: '"server.logs_reopened"' in read(self.log), what="fresh log file")
        self.assertNotIn('"server.logs_reopened"', read(self.log + ".1"))
        # Later lines go to the new file too.
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: '"config.reloaded"' in read(self.log), what="reload logged")

    def test_gelf_datagrams(self):
        seen = {}
        while "server.started" not in seen:
            data, _ = self.gelf.recvfrom(65536)
            msg = json.loads(data)
            seen[msg["short_message"]] = msg
        started = seen["server.started"]
        self.assertEqual(started["version"], "1.1")
        self.assertEqual(started["level"], 6)  # syslog informational
        self.assertIn("host", started)
        self.assertIsInstance(started["timestamp"], float)
        self.assertIn("_pid", started)  # fields come across with a leading underscore
        self.assertEqual(started["_pid"], self.proc.pid)


if __name__ == "__main__":
    unittest.main(verbosity=2)
