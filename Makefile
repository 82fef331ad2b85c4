# Thin wrapper over CMake. The two commands of the README:
#   make demo   set up, build, and run the main job on the shipped sample data
#   make test   set up, build, and run every test
# (make test includes make test-mpi, the MPI build against the serial one, when the MPI
# packages are installed, as make deps does; make ci = make test + make test-sanitize: the
# suite again under ASan + UBSan, as CI runs it)
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DFQ_WERROR=ON

SAN_BUILD ?= build-sanitize
MPI_BUILD ?= build-mpi
SAN_FLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_FLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

.PHONY: all deps build test test-mpi test-sanitize ci demo bench codebooks fuzz format clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@if dpkg-query -W -f='$${Status}' libhdf5-openmpi-dev 2>/dev/null | grep -q "ok installed"; then \
	    $(MAKE) --no-print-directory test-mpi; \
	else echo "make test: libhdf5-openmpi-dev absent: the MPI build is not tested"; fi

# The MPI build (-DFQ_MPI=ON, docs/MPI.md) in its own directory, tested against the serial
# apps of $(BUILD): P = 1, 2, 3 ranks give the serial results.
test-mpi: build
	cmake -S . -B $(MPI_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DFQ_WERROR=ON -DFQ_MPI=ON \
	    -DFQ_SERIAL_APPS=$(CURDIR)/$(BUILD)/apps
	cmake --build $(MPI_BUILD) -j $(JOBS)
	cd $(MPI_BUILD) && ctest --output-on-failure

# Every test again in an AddressSanitizer + UndefinedBehaviorSanitizer build (own directory).
test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFQ_WERROR=ON \
	    "-DCMAKE_CXX_FLAGS=$(SAN_FLAGS)" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp:print_suppressions=0 \
	    ctest --output-on-failure -j $(JOBS)

# What CI runs: the tests, then the same tests under the sanitizers.
ci: test test-sanitize

# libFuzzer on the container reader (clang 14 from Debian; not part of make test or CI):
# FUZZ_SECONDS of coverage-guided mutation from the golden containers, corpus kept in
# $(FUZZ_BUILD)/corpus. bench/README.md "Fuzzing" has the last run's counts.
fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFQ_WERROR=ON \
	    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DFQ_WITH_FAISS=OFF \
	    -DFQ_LIBFUZZER=ON "-DCMAKE_CXX_FLAGS=$(FUZZ_FLAGS)" \
	    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fq-fuzz-container
	mkdir -p $(FUZZ_BUILD)/corpus && cp tests/golden/*.v2.fq.h5 $(FUZZ_BUILD)/corpus/
	cd $(FUZZ_BUILD) && ASAN_OPTIONS=detect_leaks=1 OMP_NUM_THREADS=1 ./tests/fq-fuzz-container \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./$(BUILD)/bench/fq-bench

codebooks: build
	./scripts/make-codebooks.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(MPI_BUILD)
