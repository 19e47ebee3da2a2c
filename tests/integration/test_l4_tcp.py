"""tests/integration/test_l4_tcp.py — the TCP proxy end to end: distribution, weights, half-close,
a 1 GiB transfer with checksum, reset carried across, on io_uring and epoll."""
import hashlib
import os
import socket
import struct
import threading

from harness import (IO_BACKENDS, Backend, Ballast, BallastTest, ask_name, behaviour_digest,
                     free_port, main, tcp_config)


def behaviour_reset(sock, server):
    sock.recv(100)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class TcpProxyTest(BallastTest):
    def test_round_robin_spreads_evenly_over_three_backends(self):
        backends = [Backend(f"b{i}") for i in range(3)]
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(tcp_config(port, [b.address for b in backends]), io=io):
                        names = [ask_name(port) for _ in range(300)]
                    counts = {n: names.count(n) for n in set(names)}
                    # One worker, round robin: exactly a third each.
                    self.assertEqual(counts, {"b0": 100, "b1": 100, "b2": 100})
        finally:
            for b in backends:
                b.close()

    def test_weights_are_honoured(self):
        backends = [Backend(f"w{i}") for i in range(3)]
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    cfg = tcp_config(port, [(backends[0].address, 1), (backends[1].address, 2),
                                            (backends[2].address, 5)],
                                     algorithm="weighted_round_robin")
                    with Ballast(cfg, io=io):
                        names = [ask_name(port) for _ in range(400)]
                    self.assertEqual([names.count(f"w{i}") for i in range(3)], [50, 100, 250])
        finally:
            for b in backends:
                b.close()

    def test_hash_algorithms_pin_a_client_address_to_one_backend(self):
        backends = [Backend(f"h{i}") for i in range(3)]
        try:
            for algorithm in ("source_hash", "consistent_hash"):
                for io in IO_BACKENDS:
                    with self.subTest(io=io, algorithm=algorithm):
                        port = free_port()
                        cfg = tcp_config(port, [b.address for b in backends], algorithm=algorithm)
                        with Ballast(cfg, io=io):
                            seen = {}
                            for host in range(2, 42):  # 40 client addresses, all on loopback
                                src = f"127.0.0.{host}"
                                names = set()
                                for _ in range(4):
                                    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                                                  source_address=(src, 0)) as s:
                                        names.add(s.makefile("rb").readline().decode().strip())
                                self.assertEqual(len(names), 1, f"{src} went to {names}")
                                seen[src] = names.pop()
                        # Forty addresses over three backends: every backend gets some.
                        self.assertEqual(set(seen.values()), {"h0", "h1", "h2"})
        finally:
            for b in backends:
                b.close()

    def test_a_second_instance_on_the_same_port_refuses_to_start(self):
        # SO_REUSEPORT would let it bind and silently take a share of the connections.
        import subprocess
        from harness import BALLAST_BIN
        backend = Backend("only")
        try:
            port = free_port()
            cfg = tcp_config(port, [backend.address])
            with Ballast(cfg) as first:
                second = subprocess.run([BALLAST_BIN, "run", "-c", first.config_path],
                                        capture_output=True, text=True, timeout=10)
                self.assertEqual(second.returncode, 1)
                self.assertIn("another process listens there", second.stderr)
                self.assertEqual(ask_name(port), "only")  # the first one still serves
        finally:
            backend.close()

    def test_half_close_is_carried_both_ways(self):
        backend = Backend("digest", behaviour=behaviour_digest)
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(tcp_config(port, [backend.address]), io=io):
                        payload = os.urandom(300_000)
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(payload)
                            # Our FIN must reach the backend, which only then answers.
                            s.shutdown(socket.SHUT_WR)
                            reply = b""
                            while True:
                                chunk = s.recv(4096)
                                if not chunk:
                                    break  # the backend's FIN, carried back
                                reply += chunk
                        self.assertEqual(reply[:32], hashlib.sha256(payload).digest())
                        self.assertEqual(struct.unpack("!Q", reply[32:])[0], len(payload))
        finally:
            backend.close()

    def test_one_gib_transfer_keeps_every_byte(self):
        backend = Backend("digest", behaviour=behaviour_digest)
        block = os.urandom(1 << 20)
        expected = hashlib.sha256()
        for i in range(1024):
            expected.update(block[i:] + block[:i])
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(tcp_config(port, [backend.address]), io=io):
                        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                            for i in range(1024):
                                s.sendall(block[i:] + block[:i])
                            s.shutdown(socket.SHUT_WR)
                            reply = s.makefile("rb").read()
                    self.assertEqual(struct.unpack("!Q", reply[32:40])[0], 1 << 30)
                    self.assertEqual(reply[:32], expected.digest())
        finally:
            backend.close()

    def test_backend_reset_reaches_the_client_as_reset(self):
        backend = Backend("rst", behaviour=behaviour_reset)
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port()
                    with Ballast(tcp_config(port, [backend.address]), io=io):
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                            s.sendall(b"hello")
                            with self.assertRaises(ConnectionResetError):
                                while s.recv(4096):
                                    pass
        finally:
            backend.close()

    def test_ipv6_listener_and_backend(self):
        import socket as so
        backend = Backend("v6", family=so.AF_INET6)
        try:
            for io in IO_BACKENDS:
                with self.subTest(io=io):
                    port = free_port(so.AF_INET6)
                    with Ballast(tcp_config(port, [backend.address], bind_host="::"), io=io):
                        self.assertEqual(ask_name(port, host="::1"), "v6")
        finally:
            backend.close()


if __name__ == "__main__":
    main()
