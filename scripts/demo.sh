#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: three small HTTP backends on 127.0.0.1:9001-9003 and Ballast
# in front of them on 127.0.0.1:8080 (examples/quickstart.yaml). Try: curl localhost:8080
# Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BALLAST_BIN:-$root/build/ballast}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for i in 1 2 3; do
  python3 - "$i" <<'PY' &
import http.server, sys
n = sys.argv[1]
count = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        body = f"backend-{n} request {count}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 9000 + int(n)), H).serve_forever()
PY
  pids+=($!)
done

echo "demo: backends on 127.0.0.1:9001-9003; Ballast on 127.0.0.1:8080 — try: curl localhost:8080"
echo "demo: config examples/quickstart.yaml:"
sed 's/^/  | /' "$root/examples/quickstart.yaml"
"$bin" run -c "$root/examples/quickstart.yaml" --workers 2 &
pids+=($!)
wait "${pids[-1]}"
