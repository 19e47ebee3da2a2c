"""tests/integration/test_l4_udp.py — the UDP proxy end to end: flows pinned to one backend,
replies coming from the listener's address, round robin over flows, idle expiry of a flow and
the bounded flow table, on io_uring and epoll."""
import socket
import threading
import time

from harness import IO_BACKENDS, Ballast, BallastTest, free_port, main, wait_until

REPLY_TIMEOUT = 2.0


class UdpBackend:
    """A UDP server on loopback answering each datagram with "<name> <ip:port seen> <payload>".

    Records every source address it saw, in order, so tests can tell flows apart."""

    def __init__(self, name):
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.lock = threading.Lock()
        self.sources = []  # one entry per datagram
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.sources.append(addr)
            reply = f"{self.name} {addr[0]}:{addr[1]} ".encode() + data
            try:
                self.sock.sendto(reply, addr)
            except OSError:
                pass

    @property
    def port(self):
        return self.sock.getsockname()[1]

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def distinct_sources(self, since=0):
        """Distinct source addresses among the datagrams from number `since` on."""
        with self.lock:
            return set(self.sources[since:])

    def datagrams(self):
        with self.lock:
            return len(self.sources)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def udp_config(listen_port, backends, idle=None, max_flows=None, workers=1,
               algorithm="round_robin"):
    lines = [f"workers: {workers}", "logging: {level: debug}", "listeners:",
             "  - name: front", f"    bind: \"127.0.0.1:{listen_port}\"", "    protocol: udp",
             "    pool: app"]
    if idle is not None:
        lines.append(f"    timeouts: {{idle: {idle}}}")
    if max_flows is not None:
        lines.append(f"    limits: {{max_flows: {max_flows}}}")
    lines += ["pools:", "  - name: app", f"    algorithm: {algorithm}", "    backends:"]
    lines += [f"      - {{address: \"{b.address}\"}}" for b in backends]
    return "\n".join(lines) + "\n"


def client_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(REPLY_TIMEOUT)
    return s


def parse_reply(data):
    """b"<name> <ip:port> <payload>" → (name, (ip, port), payload)."""
    name, seen, payload = data.split(b" ", 2)
    ip, port = seen.decode().rsplit(":", 1)
    return name.decode(), (ip, int(port)), payload


def exchange(sock, port, payload):
    """Sends one datagram to the listener; returns (reply, address the reply came from).

    A lost datagram on loopback is rare but possible; it is re-sent a few times (the same
    socket, so the same flow) before the test gives up."""
    for _ in range(3):
        sock.sendto(payload, ("127.0.0.1", port))
        try:
            return sock.recvfrom(65536)
        except socket.timeout:
            continue
    raise AssertionError(f"no reply to {payload!r} through the proxy")


def udp_local_ports():
    """Local ports of every IPv4 UDP socket bound to 127.0.0.1 on this host (/proc/net/udp)."""
    ports = set()
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            local = line.split()[1]  # "0100007F:1F90"
            host, port = local.split(":")
            if host == "0100007F":
                ports.add(int(port, 16))
    return ports


class UdpProxyTest(BallastTest):
    def setUp(self):
        self.backends = []

    def tearDown(self):
        for b in self.backends:
            b.close()

    def make_backends(self, n, prefix="u"):
        self.backends = [UdpBackend(f"{prefix}{i}") for i in range(n)]
        return self.backends

    def test_flow_is_pinned_and_replies_come_from_the_listener(self):
        backends = self.make_backends(3)
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port(kind=socket.SOCK_DGRAM)
                with Ballast(udp_config(port, backends), io=io):
                    with client_socket() as c:
                        client_addr = c.getsockname()
                        names, seen, froms = set(), set(), set()
                        for i in range(20):
                            payload = f"msg-{i}".encode()
                            data, addr = exchange(c, port, payload)
                            name, backend_saw, echoed = parse_reply(data)
                            self.assertEqual(echoed, payload)
                            names.add(name)
                            seen.add(backend_saw)
                            froms.add(addr)
                # Every reply from one backend, through one flow socket, and out of the
                # listener's own address rather than the flow socket's.
                self.assertEqual(len(names), 1, names)
                self.assertEqual(len(seen), 1, seen)
                self.assertEqual(froms, {("127.0.0.1", port)})
                # The backend saw the proxy's flow socket, not the client.
                self.assertNotEqual(next(iter(seen)), client_addr)

    def test_round_robin_spreads_flows_over_three_backends(self):
        backends = self.make_backends(3)
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port(kind=socket.SOCK_DGRAM)
                marks = [b.datagrams() for b in backends]
                with Ballast(udp_config(port, backends), io=io):
                    clients = [client_socket() for _ in range(30)]
                    try:
                        names = []
                        for i, c in enumerate(clients):
                            data, addr = exchange(c, port, f"c{i}".encode())
                            self.assertEqual(addr, ("127.0.0.1", port))
                            names.append(parse_reply(data)[0])
                        # A second round on the same sockets stays on the same backends.
                        again = [parse_reply(exchange(c, port, b"again")[0])[0] for c in clients]
                        self.assertEqual(again, names)
                    finally:
                        for c in clients:
                            c.close()
                counts = {n: names.count(n) for n in set(names)}
                self.assertEqual(counts, {"u0": 10, "u1": 10, "u2": 10})
                # Ten flows, so ten distinct flow sockets, seen by each backend.
                new_flows = [len(b.distinct_sources(m)) for b, m in zip(backends, marks)]
                self.assertEqual(new_flows, [10, 10, 10])

    def test_idle_flow_expires_and_the_next_datagram_opens_a_new_one(self):
        backends = self.make_backends(1, prefix="e")
        idle_s = 0.3
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port(kind=socket.SOCK_DGRAM)
                with Ballast(udp_config(port, backends, idle="300ms"), io=io):
                    with client_socket() as c:
                        _, first_src, _ = parse_reply(exchange(c, port, b"one")[0])
                        self.assertIn(first_src[1], udp_local_ports())
                        # Traffic keeps the flow alive past the idle timeout: a datagram every
                        # 100 ms for 0.8 s (pacing, not synchronisation) stays on one flow.
                        deadline = time.monotonic() + 0.8
                        while True:
                            _, src, _ = parse_reply(exchange(c, port, b"keep")[0])
                            silent_since = time.monotonic()  # the flow's last activity
                            self.assertEqual(src, first_src)
                            if silent_since >= deadline:
                                break
                            time.sleep(0.1)
                        # Silence: the flow socket closes once idle has passed, which shows in
                        # the host's UDP socket table.
                        wait_until(lambda: first_src[1] not in udp_local_ports(), timeout=2,
                                   what="the idle flow socket to close")
                        silent_for = time.monotonic() - silent_since
                        self.assertGreaterEqual(silent_for, idle_s - 0.05,
                                                "flow expired before its idle timeout")
                        _, second_src, payload = parse_reply(exchange(c, port, b"two")[0])
                        self.assertEqual(payload, b"two")
                        self.assertNotEqual(second_src, first_src)
                        # And the new flow is pinned in turn.
                        _, third_src, _ = parse_reply(exchange(c, port, b"three")[0])
                        self.assertEqual(third_src, second_src)

    def test_flow_table_is_bounded(self):
        backends = self.make_backends(1, prefix="f")
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port(kind=socket.SOCK_DGRAM)
                with Ballast(udp_config(port, backends, max_flows=5), io=io) as lb:
                    clients = [client_socket() for _ in range(6)]
                    try:
                        for i, c in enumerate(clients[:5]):
                            data, _ = exchange(c, port, f"c{i}".encode())
                            self.assertEqual(parse_reply(data)[2], f"c{i}".encode())
                        before = backends[0].datagrams()
                        sixth = clients[5]
                        sixth.settimeout(0.5)
                        sixth.sendto(b"c5", ("127.0.0.1", port))
                        with self.assertRaises(socket.timeout):
                            sixth.recvfrom(65536)
                        events = wait_until(lambda: lb.events("l4.udp_flow_table_full"),
                                            what="l4.udp_flow_table_full")
                        self.assertEqual(events[0].get("listener"), "front")
                        self.assertEqual(events[0].get("max_flows"), 5)
                        # The dropped datagram never reached the backend...
                        self.assertEqual(backends[0].datagrams(), before)
                        # ...and the five flows in the table still work.
                        for i, c in enumerate(clients[:5]):
                            data, _ = exchange(c, port, f"still-{i}".encode())
                            self.assertEqual(parse_reply(data)[2], f"still-{i}".encode())
                    finally:
                        for c in clients:
                            c.close()

    def test_flow_table_full_is_logged_even_after_other_drops(self):
        # A datagram dropped for another reason (here: no backend takes traffic) must not hide
        # the table-full warning that comes later on the same listener.
        backends = self.make_backends(1, prefix="g")
        for io in IO_BACKENDS:
            with self.subTest(io=io):
                port = free_port(kind=socket.SOCK_DGRAM)
                config = udp_config(port, backends, max_flows=2).replace(
                    f'{{address: "{backends[0].address}"}}',
                    f'{{address: "{backends[0].address}", weight: 0}}')
                self.assertIn("weight: 0", config)
                with Ballast(config, io=io) as lb:
                    with client_socket() as c:
                        c.sendto(b"nobody", ("127.0.0.1", port))
                        wait_until(lambda: lb.events("l4.no_backend"), what="l4.no_backend")
                    # The same listener, now with a backend that takes traffic.
                    lb.reload(udp_config(port, backends, max_flows=2))
                    clients = [client_socket() for _ in range(3)]
                    try:
                        for c in clients[:2]:
                            self.assertEqual(parse_reply(exchange(c, port, b"in")[0])[2], b"in")
                        clients[2].settimeout(0.5)
                        clients[2].sendto(b"over", ("127.0.0.1", port))
                        with self.assertRaises(socket.timeout):
                            clients[2].recvfrom(65536)
                        wait_until(lambda: lb.events("l4.udp_flow_table_full"), timeout=2,
                                   what="l4.udp_flow_table_full after an earlier l4.no_backend")
                    finally:
                        for c in clients:
                            c.close()


if __name__ == "__main__":
    main()
