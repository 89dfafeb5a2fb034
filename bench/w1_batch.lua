-- W1 point lookups, pipelined, through tide's Lua API: db:batch.
--
--   tide run bench/w1_batch.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- The lookups of w1.lua (same query, key sequence and checks) sent
-- BENCH_GROUP at a time (environment, default 10) with db:batch: each group
-- is one round trip. ops are lookups.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"

local USERS = 10000
local SQL = "select id, email, name, created_at from users where id = $1"
local GROUP = tonumber(os.getenv "BENCH_GROUP") or 10

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 } })
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  local list, ids = {}, {}
  local done = 0
  while done < n do
    local g = math.min(GROUP, n - done)
    for k = 1, g do
      local id = key(USERS)
      ids[k] = id
      list[k] = { SQL, id, mode = "one" }
    end
    for k = g + 1, #list do list[k] = nil end
    local r = db:batch(list)
    for k = 1, g do
      local row, id = r[k], ids[k]
      if not row or row.id ~= id or row.email == "" or row.name == "" or not row.created_at then
        error(("w1_batch.lua: user %d: unexpected result"):format(id))
      end
      sum = sum + row.id + #row.email + #row.name
    end
    done = done + g
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
