#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: the built-in demo (three HTTP backends behind 127.0.0.1:8080).
# Try: curl localhost:8080 — Ctrl-C stops it. examples/quickstart.yaml is the same shape for
# your own backends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "${BALLAST_BIN:-$root/build/ballast}" demo
