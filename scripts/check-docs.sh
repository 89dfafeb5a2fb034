#!/bin/sh
# Checks one documentation page's examples in a database of its own:
#   scripts/check-docs.sh TIDE_COMMAND PAGE.md     (needs TIDE_TEST_URL)
set -eu
tide=$1
page=$2
root=$(cd "$(dirname "$0")/.." && pwd)
db="tide_doc_$(basename "$page" .md | tr -c 'a-z0-9\n' '_')"
psql -q "$TIDE_TEST_URL" -c "drop database if exists $db with (force)" -c "create database $db"
url=$(printf '%s' "$TIDE_TEST_URL" | sed "s|/[^/?]*\(?.*\)\{0,1\}$|/$db\1|")
cd "$root"
DATABASE_URL=$url "$tide" run scripts/check-doc-examples.lua "$page"
