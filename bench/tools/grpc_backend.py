#!/usr/bin/env python3
# bench/tools/grpc_backend.py — the gRPC backend of bench/h2_bench.py: Debian's python3-grpcio
# serving one unary method, /bench.Echo/Unary, that answers each request with its own bytes
# (no protobuf: the messages are opaque). Listens on the given ports (0: any) on 127.0.0.1 and
# prints `ready PORT PORT...` once serving; runs until SIGTERM.
#
# Python's GIL caps it at a few thousand calls/s, so behind a fast proxy it, not the proxy, sets
# the gRPC row's requests/s; the proxy's CPU per request is the figure to read there.

import argparse
import signal
import sys
from concurrent import futures

try:
    import grpc
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-grpcio
    import grpc

METHOD = "/bench.Echo/Unary"
THREADS = 8


def echo(request, _context):
    return request


class Handler(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        if handler_call_details.method != METHOD:
            return None
        return grpc.unary_unary_rpc_method_handler(echo)  # bytes in, bytes out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, action="append", required=True)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=THREADS),
                         handlers=[Handler()])
    ports = [server.add_insecure_port(f"127.0.0.1:{p}") for p in args.port]
    server.start()
    print("ready " + " ".join(map(str, ports)), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main())
