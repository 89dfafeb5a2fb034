-- W7 streaming, shared by its Lua tools: ITERATIONS rows of w7_rows read
-- through an iterator (the tool gives it), each row's fields summed as
-- bench/w7_libpq_single.c sums them.
--
--   tide run bench/w7*.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"

local M = {}

--- iter(db, n): the iterator's four values for rows with id <= n, in id order.
function M.main(iter)
  local url, iterations, runs = bench.args()
  local db = tide.connect(url, { pool = { max = 1 }, schema = require "schema" })
  local check = 0
  bench.main_loop(iterations, runs, function(n)
    local sum, rows = 0, 0
    for r in iter(db, n) do
      if not r.at then error("w7: a row without at") end
      sum = sum + r.id + r.n + #r.label
      rows = rows + 1
    end
    if rows ~= n then error(("w7: %d rows, %d expected"):format(rows, n)) end
    check = sum
  end)
  print("# check " .. check)
  bench.print_maxrss()
  db:close()
end

return M
