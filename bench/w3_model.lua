-- W3 nested relations through tide's model client.
--
--   tide run bench/w3_model.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per call: db.User:find_unique with include = { posts = { include =
-- { comments = { order_by = { id = "desc" }, take = 5 } } } }, then the
-- nested result checked and summed as w3.h does (bench/w3lib.lua). The
-- model client runs one statement per relation level, all three in one
-- round trip (each written against its parent level's condition): the
-- user, the posts of the user, the 5 newest comments of each of those
-- posts (a LATERAL join per post). w3_model_join.lua runs it with the
-- "join" strategy: one statement, the relations as JSON columns.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w3 = require "w3lib"

local url, iterations, runs = bench.args()
-- w3_model_join.lua runs this file with the "join" strategy
local strategy = rawget(_G, "W3_RELATION_LOAD_STRATEGY") or "query"
local db = tide.connect(url, { pool = { max = 1 }, schema = require "schema", relation_load_strategy = strategy })
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for _ = 1, n do
    local id = key(w3.USERS)
    local user = db.User:find_unique {
      where = { id = id },
      include = { posts = { include = { comments = { order_by = { id = "desc" }, take = 5 } } } },
    }
    sum = sum + w3.sum("w3_model.lua", user, id)
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
