#!/usr/bin/env bash
# Sets up, builds and runs every test: the plain build, an AddressSanitizer +
# UndefinedBehaviorSanitizer build (fails on any report), and two tiny consumer projects
# (add_subdirectory and find_package after cmake --install).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --no-tests=error

# Sanitizers: -O1 keeps the instrumented build fast; recover=none makes UBSan fatal.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXLAX_BUILD_EXAMPLES=OFF \
  -DCMAKE_CXX_FLAGS="-O1 $SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN"
cmake --build build-asan -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --no-tests=error -L fast

# Consumers: the CMake target xlax::xlax through add_subdirectory and through find_package.
rm -rf build-consumer build-install build-consumer-installed
cmake -S tests/consumer -B build-consumer -G Ninja -DXLAX_CONSUME=subdirectory -DXLAX_SOURCE_DIR="$PWD"
cmake --build build-consumer -j"$(nproc)"
./build-consumer/consumer
cmake --install build --prefix "$PWD/build-install"
cmake -S tests/consumer -B build-consumer-installed -G Ninja -DXLAX_CONSUME=package \
  -DCMAKE_PREFIX_PATH="$PWD/build-install"
cmake --build build-consumer-installed -j"$(nproc)"
./build-consumer-installed/consumer
echo "all tests passed (plain, sanitized, consumers)"
