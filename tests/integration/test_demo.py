"""tests/integration/test_demo.py — `ballast demo --tls`, the README's first HTTPS step: it must
answer on 127.0.0.1:8080 and, over TLS with a certificate made at start for localhost, on
127.0.0.1:8443, and remove the certificate and key it wrote when it stops.

The demo's ports are fixed (the README names them); when another process holds them the test
skips rather than fail. fd budget: two client sockets.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import unittest

from harness import BALLAST_BIN, BallastTest, main, wait_until


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Ballast binds
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class DemoTlsTest(BallastTest):
    @unittest.skipUnless(port_free(8080) and port_free(8443), "ports 8080/8443 are taken")
    def test_demo_with_tls_answers_on_both_ports(self):
        proc = subprocess.Popen([BALLAST_BIN, "demo", "--tls"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        header = ""
        while "# try:" not in header:
            line = proc.stdout.readline()
            self.assertTrue(line, "the demo printed no configuration")
            header += line
        cert, key = re.search(r'cert: "([^"]+)", key: "([^"]+)"', header).groups()

        def https_get():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cert)  # the demo's own certificate, for "localhost"
            try:
                with ctx.wrap_socket(socket.create_connection(("127.0.0.1", 8443), timeout=5),
                                     server_hostname="localhost") as s:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                    return data
            except OSError:
                return None

        reply = wait_until(https_get, what="the demo's HTTPS listener")
        self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply)
        self.assertIn(b"backend-", reply)
        with socket.create_connection(("127.0.0.1", 8080), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.assertFalse(os.path.exists(cert) or os.path.exists(key), "the demo left its key")


if __name__ == "__main__":
    main()
