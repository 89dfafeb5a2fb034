#!/usr/bin/env bash
# tide's demo, from a fresh clone: installs what is missing, builds, starts a
# throwaway PostgreSQL cluster, runs examples/blog/demo.lua (the blog schema
# through the model client) with the tide command,
# and stops the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec scripts/with-pg.sh build/tide run examples/blog/demo.lua
