-- W1 point lookup through tide's Lua API: db:query with a Lua integer.
--
--   tide run bench/w1.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per lookup: db:query(sql, id), then every field of the row read and the
-- id checked. The pool has one connection, as in the C programs.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"

local USERS = 10000
local SQL = "select id, email, name, created_at from users where id = $1"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 } })
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for _ = 1, n do
    local id = key(USERS)
    local rows = db:query(SQL, id)
    local row = rows[1]
    if #rows ~= 1 or row.id ~= id then
      error(("w1.lua: user %d: unexpected result (%d rows)"):format(id, #rows))
    end
    local email, name, created_at = row.email, row.name, row.created_at
    if email == "" or name == "" or not created_at then
      error(("w1.lua: user %d: unexpected row"):format(id))
    end
    sum = sum + row.id + #email + #name
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
