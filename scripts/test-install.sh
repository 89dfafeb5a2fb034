#!/usr/bin/env bash
# Installs a build into a temporary prefix, then builds and runs the embedding
# example against it twice: with pkg-config (tide-lua) and with the CMake
# package (tide::tide_lua).
#   scripts/test-install.sh BUILD_DIR      (needs TIDE_TEST_URL)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
prefix=$(mktemp -d "${TMPDIR:-/tmp}/tide-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name tide.pc | head -n 1)")
libdir=$(dirname "$pcdir")

# 1. pkg-config
PKG_CONFIG_PATH="$pcdir" cc -o "$prefix/host_pc" "$root/examples/embed/host.c" \
  $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs tide-lua) -lm -ldl
LD_LIBRARY_PATH="$libdir" "$prefix/host_pc" "$TIDE_TEST_URL" "$root/examples/embed/script.lua"

# 2. the CMake package
mkdir -p "$prefix/proj"
cat > "$prefix/proj/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(uses_tide C)
find_package(tide 0.1 REQUIRED)
add_executable(host "$root/examples/embed/host.c")
target_link_libraries(host PRIVATE tide::tide_lua m \${CMAKE_DL_LIBS})
CM
cmake -S "$prefix/proj" -B "$prefix/proj/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/proj/build" >/dev/null
"$prefix/proj/build/host" "$TIDE_TEST_URL" "$root/examples/embed/script.lua"
echo "install ok"
