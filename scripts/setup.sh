#!/usr/bin/env bash
# Installs everything xlax needs from Debian's packages (Debian 12). Idempotent.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PACKAGES=(build-essential cmake ninja-build pkg-config
  libxtensor-dev libxsimd-dev xtl-dev nlohmann-json3-dev catch2
  libstb-dev zlib1g-dev libcli11-dev python3-numpy fonts-dejavu-core dataset-fashion-mnist)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
