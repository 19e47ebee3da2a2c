#!/usr/bin/env python3
"""tests/vm/line_server.py — a backend for the moved-flow test: answers every line a client sends
with its own NAME, on as many connections as come, until killed. It listens on every address of
its namespace, so it also takes the DR VIP held on lo.

    line_server.py NAME PORT READY_FILE

READY_FILE is written once the socket listens: the test waits for it rather than sleeping."""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        name = self.server.name
        for _ in self.rfile:
            self.wfile.write(name + b"\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    name, port, ready_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with Server(("0.0.0.0", port), Handler) as server:  # listens from here on
        server.name = name.encode()
        with open(ready_file, "w") as f:
            f.write("ready\n")
        server.serve_forever()


if __name__ == "__main__":
    main()
