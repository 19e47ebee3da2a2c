"""tests/integration/test_systemd_notify.py — the Type=notify protocol, without systemd: the test
binds the datagram socket systemd would (NOTIFY_SOCKET) and reads what ballast reports: READY=1
once serving, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around a reload, STOPPING=1 on
SIGTERM."""
import os
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BALLAST_BIN


class SystemdNotifyTest(unittest.TestCase):
    def test_ready_reloading_stopping(self):
        tmp = tempfile.mkdtemp(prefix="ballast-notify-")
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        config = os.path.join(tmp, "ballast.yaml")
        with open(config, "w") as f:
            f.write(f'admin: {{socket: "{tmp}/admin.sock"}}\n')
        env = dict(os.environ, NOTIFY_SOCKET=path)
        with open(os.path.join(tmp, "log"), "w") as log:
            proc = subprocess.Popen([BALLAST_BIN, "run", "-c", config], env=env, stdout=log,
                                    stderr=log)
        try:
            def next_message():
                return sock.recv(4096).decode()

            self.assertIn("READY=1", next_message())
            proc.send_signal(signal.SIGHUP)
            reloading = next_message()
            self.assertIn("RELOADING=1", reloading)
            self.assertIn("MONOTONIC_USEC=", reloading)
            self.assertIn("READY=1", next_message())
            proc.send_signal(signal.SIGTERM)
            self.assertIn("STOPPING=1", next_message())
            self.assertEqual(proc.wait(timeout=15), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
            sock.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
