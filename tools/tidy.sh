#!/usr/bin/env bash
# Runs clang-tidy (the curated checks in .clang-tidy) over our sources, using the
# release build's compile database. Usage: tools/tidy.sh [files...]  (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build/compile_commands.json ]] || tools/build.sh release >/dev/null
if (($# == 0)); then
  mapfile -t files < <(git ls-files 'ws/*.cpp' 'h1/*.cpp' 'h2/*.cpp' 'gateway/*.cpp' 'tools/*.cpp')
else
  files=("$@")
fi
# The database comes from g++; clang does not know some of its warning flags.
out=$(clang-tidy -p build --quiet --extra-arg=-Wno-unknown-warning-option "${files[@]}" 2>/dev/null | grep -E "(warning|error):" || true)
if [[ -n $out ]]; then
  echo "$out"
  echo "tidy: $(wc -l <<<"$out") findings"
  exit 1
fi
echo "tidy: clean (${#files[@]} files)"
