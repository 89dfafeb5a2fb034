-- W5 transaction in one round trip through tide's Lua API: db:batch.
--
--   tide run bench/w5_batch.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per transaction: one atomic db:batch of the UPDATE (one row affected,
-- checked) and the INSERT ... RETURNING id (checked), the statements of
-- w5.lua. An atomic batch is one implicit transaction: no BEGIN or COMMIT,
-- one round trip. Before every run (untimed): the posts a run inserted are
-- deleted (bench/w5lib.lua).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w5 = require "w5lib"

local SQL_UPDATE = "update users set name = $2 where id = $1"
local SQL_INSERT = "insert into posts (author_id, title, body, created_at) values ($1, $2, $3, $4) returning id"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 } })
local BODY, CREATED_AT = w5.BODY, w5.CREATED_AT
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for i = 1, n do
    local id = key(w5.USERS)
    local r = db:batch{
      { SQL_UPDATE, id, "w5 name " .. i, mode = "exec" },
      { SQL_INSERT, id, "w5 post " .. i, BODY, CREATED_AT, mode = "one" },
    }
    if r[1] ~= 1 or not r[2] or not r[2].id then
      error(("w5_batch.lua: transaction %d (user %d) did not do its work"):format(i, id))
    end
    sum = sum + id + 1
  end
  check = sum
end

bench.main_loop(iterations, runs, run, function() db:exec(w5.SETUP) end)
print("# check " .. check)
db:close()
