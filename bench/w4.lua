-- W4 bulk insert through tide's Lua query layer: the same unnest INSERT the
-- model client sends, written by hand.
--
--   tide run bench/w4.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- The rows are the same Lua list as bench/w4_model.lua's, built before any
-- timing. Timed: the three column lists built from the rows, then
-- db:exec("insert ... select * from unnest($1::int[], $2::text[],
-- $3::timestamptz[])", ns, labels, ats) (Lua lists bind as JSON, which tide
-- turns into array literals for array parameters), its count checked.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w4 = require "w4lib"

local SQL = "insert into w4_rows (n, label, at) select * from unnest($1::int[], $2::text[], $3::timestamptz[])"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 } })
local rows = w4.rows(iterations)

bench.main_loop(iterations, runs, function(n)
  local ns, labels, ats = {}, {}, {}
  for i = 1, #rows do
    local r = rows[i]
    ns[i], labels[i], ats[i] = r.n, r.label, r.at
  end
  local count = db:exec(SQL, ns, labels, ats)
  if count ~= n then error(("w4.lua: %s rows inserted, not %d"):format(tostring(count), n)) end
end, function()
  db:exec(w4.SETUP)
end)
print("# check " .. db:one(w4.CHECK).check)
db:close()
