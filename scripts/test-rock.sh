#!/usr/bin/env bash
# Builds and installs the rock into a temporary tree with `luarocks make`,
# then loads tide from a plain lua5.4 using only that tree, and queries.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(mktemp -d "${TMPDIR:-/tmp}/tide-rock.XXXXXX")
work=$(mktemp -d "${TMPDIR:-/tmp}/tide-rock-src.XXXXXX")
trap 'rm -rf "$tree" "$work"' EXIT
# build from a copy so the checkout gets no build.luarocks/ directory
cp -r CMakeLists.txt cmake core lua cli rockspec "$work"/
cd "$work"
luarocks --lua-version 5.4 make --tree "$tree" rockspec/tide-scm-1.rockspec >"$tree/make.log" 2>&1 || {
  cat "$tree/make.log" >&2; exit 1; }
eval "$(luarocks --lua-version 5.4 path --tree "$tree")"
cd /
TREE="$tree" lua5.4 -e '
  local tide = require "tide"
  assert(package.searchpath("tide.core", package.cpath):find(os.getenv("TREE"), 1, true), "core from the tree")
  local db = tide.connect(os.getenv "TIDE_TEST_URL")
  assert(db:one("select 40 + $1::int as x", 2).x == 42)
  db:close()
  print("rock ok: tide " .. tide.version)
'
