#!/usr/bin/env bash
# The one command: builds tide (Release) and the bench tool programs, starts a
# throwaway PostgreSQL with scripts/with-pg.sh, pinned with the clients to one
# CPU, loads the data set and runs every workload. See bench/README.md.
#
#   bash bench/run.sh            from the repository root (or anywhere)
#
# Environment: BENCH_CPU (the CPU to pin to, default 0), BENCH_BUILD_DIR
# (default build-bench), and BENCH_RUNS / BENCH_ONLY / BENCH_SCALE /
# BENCH_OUT / BENCH_SKIP_LOAD, passed to bench/driver.lua.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
build=${BENCH_BUILD_DIR:-build-bench}
cpu=${BENCH_CPU:-0}
bin="$root/$build/bench"

if [ -x scripts/install-deps.sh ]; then
  scripts/install-deps.sh
fi

for tool in cmake cc pkg-config psql lua5.4 taskset; do
  command -v "$tool" >/dev/null || { echo "bench: '$tool' not found" >&2; exit 1; }
done

# ---- build ------------------------------------------------------------------
echo "bench: building tide (Release) in $build" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTIDE_BUILD_TESTS=OFF >/dev/null
# tide_lua (libtide_lua.a: the Lua binding with tide's Lua modules embedded)
# is what a C host links, as the game-server example below does.
cmake --build "$build" -j2 --target tide_static tide_lua tide_cli >/dev/null

mkdir -p "$bin"
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11"
pq_cflags=$(pkg-config --cflags libpq)
pq_libs=$(pkg-config --libs libpq)
lua_cflags=$(pkg-config --cflags lua5.4)
# The C tool programs: bench/w*_*.c, each a standalone program.
for src in bench/w*_*.c; do
  name=$(basename "$src" .c)
  # shellcheck disable=SC2086
  cc $CFLAGS -Ibench -Icore/include $pq_cflags -o "$bin/$name" "$src" \
    "$build/libtide.a" $pq_libs -lpthread
done
# The tick-jitter host: examples/game-server (CMake builds it only with the
# tests), linked as its CMakeLists.txt links it: tide_lua, tide, Lua, libpq.
# shellcheck disable=SC2086
cc $CFLAGS -Icore/include -Ilua/include $lua_cflags $pq_cflags -o "$bin/game_server" \
  examples/game-server/server.c "$build/libtide_lua.a" "$build/libtide.a" \
  $(pkg-config --libs lua5.4) $pq_libs -lpthread -lm -ldl
# The wall clock for the Lua tool programs.
# shellcheck disable=SC2086
cc $CFLAGS -shared -fPIC $lua_cflags -o "$bin/benchclock.so" bench/clock.c

# ---- run --------------------------------------------------------------------
export BENCH_BIN="$bin" BENCH_TIDE="$root/$build/tide"
export LUA_CPATH="$bin/?.so;;" LUA_CPATH_5_4="$bin/?.so;;"
# The server inherits the pinning from with-pg.sh (postmaster and backends),
# and so do the driver and every tool program it starts.
echo "bench: running on CPU $cpu (client and server)" >&2
exec taskset -c "$cpu" scripts/with-pg.sh lua5.4 bench/driver.lua
