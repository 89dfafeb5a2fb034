-- W1 point lookup through tide's model client.
--
--   tide run bench/w1_model.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per lookup: db.User:find_unique{ where = { id = id } } (bench/schema.lua),
-- then every field of the row read and the id checked, as bench/w1.lua does.
-- The pool has one connection, as in the C programs.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"

local USERS = 10000

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 }, schema = require "schema" })
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for _ = 1, n do
    local id = key(USERS)
    local row = db.User:find_unique { where = { id = id } }
    if not row or row.id ~= id then
      error(("w1_model.lua: user %d: unexpected result"):format(id))
    end
    local email, name, created_at = row.email, row.name, row.created_at
    if email == "" or name == "" or not created_at then
      error(("w1_model.lua: user %d: unexpected row"):format(id))
    end
    sum = sum + row.id + #email + #name
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
