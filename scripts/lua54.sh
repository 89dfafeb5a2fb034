#!/bin/sh
# lua5.4 with tide's sources and a build's module on the paths:
#   scripts/lua54.sh BUILD_DIR script.lua [args...]
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1; shift
LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$build/lua/?.so;;" exec lua5.4 "$@"
