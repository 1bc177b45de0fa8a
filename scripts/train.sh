#!/usr/bin/env bash
# Sets up, builds and trains the default JSON model (Fashion-MNIST CNN).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
./build/examples/cli/xlax train examples/fashion_mnist_cnn.json "$@"
