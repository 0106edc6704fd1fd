#!/usr/bin/env bash
# Configures and builds wsgate. Usage: tools/build.sh [release|asan|fuzz] [extra cmake --build args]
#   release -> build/         (RelWithDebInfo, tests included)
#   asan    -> build-asan/    (AddressSanitizer + UndefinedBehaviorSanitizer)
#   fuzz    -> build-fuzz/    (clang + libFuzzer targets only)
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-release}
shift || true
jobs=${WSGATE_JOBS:-2}

case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DWSGATE_SANITIZE=ON) ;;
  fuzz) dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac

if [[ ! -f "$dir/build.ninja" ]]; then
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
fi
cmake --build "$dir" -j "$jobs" "$@"
