#!/usr/bin/env bash
# Sets up, builds and trains the default JSON model (Fashion-MNIST CNN).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
# With no options, rerunning continues (or re-tests) the run in examples/runs/ instead of
# refusing its checkpoint folder; pass --overwrite to start over.
if [ $# -eq 0 ]; then set -- --auto-resume; fi
./build/examples/cli/xlax train examples/fashion_mnist_cnn.json "$@"
