-- W4 bulk insert through tide's model client.
--
--   tide run bench/w4_model.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- ITERATIONS is the number of rows (50,000), ops/s rows per second. The
-- rows are a Lua list of { n =, label =, at = } tables built before any
-- timing (bench/w4lib.lua), as the C programs build theirs. Timed: one
-- db.W4Row:create_many{ data = rows } (the model client groups the rows by
-- the fields they set, turns each field into a column list and sends one
-- INSERT ... SELECT * FROM unnest($1::integer[], ...)), and its count
-- checked. Before every run (untimed): TRUNCATE w4_rows RESTART IDENTITY.
-- The check is read back from the table after the last run.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w4 = require "w4lib"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 }, schema = require "schema" })
local rows = w4.rows(iterations)

bench.main_loop(iterations, runs, function(n)
  local count = db.W4Row:create_many { data = rows }
  if count ~= n then error(("w4_model.lua: %s rows inserted, not %d"):format(tostring(count), n)) end
end, function()
  db:exec(w4.SETUP)
end)
print("# check " .. db:one(w4.CHECK).check)
db:close()
