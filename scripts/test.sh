#!/usr/bin/env bash
# The whole test suite, from a fresh clone:
#   scripts/test.sh            installs what is missing, builds, runs ctest
#                              against a throwaway PostgreSQL cluster, then
#                              runs the suite again built with ASan+UBSan
#   scripts/test.sh --fast     skips the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=1
for a in "$@"; do
  case "$a" in
    --fast) sanitize=0 ;;
    *) echo "usage: $0 [--fast]" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
  local dir=$1; shift
  echo "== build ($dir: $*)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "== test ($dir)"
  scripts/with-pg.sh ctest --test-dir "$dir" --output-on-failure -j1 --no-tests=error
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "$sanitize" -eq 1 ]; then
  # The busted specs load the module into an uninstrumented lua5.4, so the
  # sanitizer runtime is preloaded for them (see tests/CMakeLists.txt).
  run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DTIDE_SANITIZE=ON
fi
