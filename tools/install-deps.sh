#!/usr/bin/env bash
# Installs the Debian 12 packages wsgate needs to build, run and test, if any is missing.
# Usage: tools/install-deps.sh   (root, or a user with sudo); WSGATE_DEPS=build for build-only packages
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libnghttp2-dev libssl-dev zlib1g-dev libyaml-cpp-dev prometheus-cpp-dev libgtest-dev
  clang libclang-rt-14-dev clang-format
  openssl python3 python3-websockets procps curl
  chromium prometheus python3-yaml
)
if [[ ${WSGATE_DEPS:-all} == build ]]; then
  # Only what building needs (the container image's build stage); GoogleTest stays
  # because the build configures the tests.
  packages=(build-essential cmake ninja-build pkg-config libboost1.81-dev libnghttp2-dev libssl-dev zlib1g-dev
            libyaml-cpp-dev prometheus-cpp-dev libgtest-dev)
else
  # Node.js and npm (the browser tests' playwright-core): Debian's packages, unless a
  # node/npm is already on the machine (e.g. NodeSource's nodejs, which bundles npm and
  # conflicts with Debian's npm).
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  # kubectl (the deploy checks render the Kustomize overlay): Debian's kubernetes-client
  # unless some kubectl is already installed.
  command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "wsgate: installing missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
