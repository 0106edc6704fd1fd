#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) and runs each for a bounded time.
# Usage: tools/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(fuzz_frame_parser fuzz_h1_head_parser fuzz_config fuzz_h2_server_session fuzz_permessage_deflate)
tools/build.sh fuzz --target "${targets[@]}"
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus-$t
  mkdir -p "$corpus"
  seeds=tests/fuzz/seeds/$t
  extra=()
  [[ -d $seeds ]] && extra+=("$seeds")
  echo "fuzz: $t for ${seconds}s"
  # A hard bound as well: a fuzzer stuck in its own error handling must not hang CI.
  timeout -s KILL $((seconds + 90)) build-fuzz/tests/fuzz/$t -max_total_time="$seconds" -rss_limit_mb=2048 \
    -print_final_stats=0 -artifact_prefix=build-fuzz/ "$corpus" "${extra[@]}" 2>build-fuzz/$t.log ||
    { tail -50 build-fuzz/$t.log; echo "fuzz: $t FAILED"; exit 1; }
  grep -E "^#[0-9]+.*DONE" build-fuzz/$t.log | tail -1 || true
done
echo "fuzz: all targets ran clean"
