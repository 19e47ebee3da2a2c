#!/usr/bin/env python3
"""tests/vm/moved_flows.py — what ECMP does to a flow when it picks another load balancer, done
by hand in the client's namespace: one TCP connection to VIP:PORT per source address while the
client's route to the VIP points at GW1, one line exchanged on each, then the route switched to
GW2 (`ip route replace`) and one more line exchanged on each SAME connection.

    moved_flows.py VIP PORT GW1 GW2 SRC...

Prints one line per flow, "SRC FIRST SECOND": the backend that answered through GW1 and the one
that answered through GW2, or what happened instead ("reset", "timeout", "closed", "error").
A backend that never saw the connection answers the moved packet with a RST, so "reset" is what
a flow that landed elsewhere looks like. The route is left pointing at GW1 on exit. Exits 0
when it ran; the caller judges the lines."""
import socket
import subprocess
import sys

TIMEOUT_S = 2


def route_via(vip, gateway):
    subprocess.run(["ip", "route", "replace", vip + "/32", "via", gateway], check=True)


def exchange(sock):
    """Sends one line, returns the answer line or what went wrong."""
    try:
        sock.sendall(b"which backend?\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(64)
            if not chunk:
                return "closed"
            data += chunk
        return data.decode().strip()
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error:" + e.__class__.__name__


def main():
    vip, port, gw1, gw2 = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sources = sys.argv[5:]
    route_via(vip, gw1)
    flows = []
    for src in sources:
        try:
            sock = socket.create_connection((vip, port), timeout=TIMEOUT_S,
                                            source_address=(src, 0))
        except OSError as e:
            flows.append((src, None, "connect:" + e.__class__.__name__))
            continue
        flows.append((src, sock, exchange(sock)))
    route_via(vip, gw2)
    try:
        for src, sock, first in flows:
            second = exchange(sock) if sock else "-"
            print(src, first, second)
            if sock:
                sock.close()
    finally:
        route_via(vip, gw1)


if __name__ == "__main__":
    main()
