# Makefile — the entry points a user and CI type. CMake + Ninja do the building.
SHELL := /bin/bash
JOBS ?= 2
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
CMAKE_FLAGS ?= -G Ninja

.PHONY: all deps build test test-ipvs unit integration asan fuzz fuzz-build fuzz-smoke demo bench bench-quick stress soak format format-check clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Unit and integration tests, a short fuzz run of every parser, the unit and integration tests
# again under AddressSanitizer + UBSan, then IPVS in a VM (about a minute; more under load).
test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j 1
	$(MAKE) fuzz-smoke
	$(MAKE) asan
	$(MAKE) test-ipvs

unit: build
	cd $(BUILD) && ctest --output-on-failure -LE integration

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# The unit tests, then the integration suite against the sanitized binary (any ASan, LSan or
# UBSan report in ballast's output fails the test that caused it). The binary is the fuzz build's:
# clang, RelWithDebInfo, ASan + UBSan on every target (CMakeLists.txt), so the tree is compiled
# once for fuzzing and sanitized tests together.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
asan: fuzz-build
	$(SAN_ENV) $(FUZZ_BUILD)/ballast_unit_tests --gtest_brief=1
	cd $(FUZZ_BUILD) && BALLAST_SANITIZED=1 $(SAN_ENV) ctest --output-on-failure -L integration

$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(CMAKE_FLAGS) -DBALLAST_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

# A short run of each fuzz target over its corpus (CI); `make fuzz FUZZ_SECONDS=600` for longer.
fuzz-smoke: fuzz-build
	./scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz: fuzz-build
	./scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	./scripts/demo.sh

# Micro-benchmarks of every picker, then Ballast vs HAProxy vs NGINX on the L4 and HTTP paths;
# each table
# is printed and appended to docs/benchmarks.md (BENCH_RECORD=0 to only print).
# Under 2 minutes: Ballast ÷ HAProxy on connections, bulk, HTTP/1.1 and idle memory, one row
# added to the history table in docs/benchmarks.md (BENCH_RECORD=0 to only print).
bench-quick: build
	BALLAST_BIN=$(BUILD)/ballast python3 bench/quick.py

bench: build
	cmake --build $(BUILD) -j $(JOBS) --target ballast_micro_bench
	$(BUILD)/ballast_micro_bench --benchmark_min_time=0.2
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring,epoll} python3 bench/l4_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring,epoll} python3 bench/http_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring,io_uring-copy} BENCH_PROXIES=ballast,haproxy,nginx BENCH_CONNECTIONS=8 BENCH_BODY_BYTES=8388608 python3 bench/http_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring,io_uring-copy} BENCH_PROXIES=ballast,haproxy,nginx BENCH_CONNECTIONS=8 BENCH_UPLOAD_BYTES=8388608 python3 bench/http_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring,epoll} python3 bench/scaling_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring} python3 bench/cache_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring} python3 bench/compress_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring} python3 bench/tls_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring} python3 bench/filter_bench.py
	BALLAST_BIN=$(BUILD)/ballast BALLAST_IO=$${BALLAST_IO:-io_uring} python3 bench/h2_bench.py
	BALLAST_BIN=$(BUILD)/ballast python3 bench/kernel_reconcile_bench.py
	BALLAST_BIN=$(BUILD)/ballast python3 bench/health_bench.py

# The racy tests (reload, upgrade, drain under load) STRESS_RUNS times each beside a CPU hog,
# with a pass count per test (docs/testing.md). Not part of `make test`.
stress: build
	STRESS_RUNS=$${STRESS_RUNS:-50} ./scripts/stress.sh

# Tests too slow for `make test` (minutes each): today, testssl.sh scanning an HTTPS listener.
soak: build
	for t in tests/slow/test_*.py; do BALLAST_BIN=$(CURDIR)/$(BUILD)/ballast python3 $$t || exit 1; done

# IPVS against a real kernel: Debian's kernel (it has ip_vs) booted under qemu with the host's
# root shared read-only; the guest runs this build's ballast (tests/vm/README.md).
test-ipvs: build
	cmake --build $(BUILD) -j $(JOBS) --target ipvs_tool
	tests/vm/run-ipvs-test.sh $(BUILD)/ballast $(BUILD)/ipvs_tool

format:
	clang-format -i --style=file $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp')

format-check:
	clang-format --dry-run --Werror --style=file $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
