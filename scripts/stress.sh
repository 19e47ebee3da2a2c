#!/usr/bin/env bash
# scripts/stress.sh — repeats the tests that race the most (reload, binary upgrade, graceful
# drain, all under load) STRESS_RUNS times each, beside a CPU hog, and prints a pass count per
# test. One failure in fifty is a race to find, not noise (docs/testing.md). Not part of
# `make test`: 50 runs take about 40 minutes on a 2-core machine.
#
#   STRESS_RUNS=50        runs per test
#   STRESS_HOG=1          a busy-loop process beside the tests (0 to run without)
#   STRESS_TESTS="..."    override the list (unittest names, relative to tests/integration)
#   BALLAST_TEST_IO=...   io_uring,epoll by default (the harness runs each case on both)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${STRESS_RUNS:-50}
hog_on=${STRESS_HOG:-1}
tests=${STRESS_TESTS:-"test_upgrade test_upgrade_storm test_reload_under_load
  test_http_proxy.HttpProxyTest.test_graceful_stop_does_not_wait_for_idle_keep_alive_clients
  test_l4_resilience.ResilienceTest.test_sigterm_stops_accepting_and_lets_open_connections_finish
  test_chaos test_outlier_detection test_circuit_breaker test_per_ip_limits
  test_h2_upstream_resilience"}
logs=${STRESS_LOGS:-$(mktemp -d /tmp/ballast-stress-XXXXXX)}
export BALLAST_BIN=${BALLAST_BIN:-$root/build/ballast}

hog_pid=""
if [[ $hog_on == 1 ]]; then
  (while :; do :; done) &
  hog_pid=$!
fi
trap '[[ -n $hog_pid ]] && kill $hog_pid 2>/dev/null' EXIT

failed_any=0
summary=()
cd "$root/tests/integration"
for t in $tests; do
  passed=0
  for ((i = 1; i <= runs; i++)); do
    log="$logs/${t//\//_}.$i.log"
    if python3 -m unittest "$t" >"$log" 2>&1; then
      passed=$((passed + 1))
      rm -f "$log"
    else
      echo "stress: $t run $i FAILED (log: $log)"
      failed_any=1
    fi
  done
  summary+=("$(printf '%-95s %3d/%d passed' "$t" "$passed" "$runs")")
done
echo
echo "stress summary (STRESS_RUNS=$runs, hog=$hog_on, io=${BALLAST_TEST_IO:-io_uring,epoll}):"
printf '  %s\n' "${summary[@]}"
[[ $failed_any == 0 ]] && echo "stress: every run passed" || echo "stress: failures kept in $logs"
exit $failed_any
