-- W6 through tide's model client: 1,000 coroutines at a time, each one
-- W1 lookup, over a pool of 8 connections.
--
--   tide run bench/w6_model.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per lookup, in a task of its own (bench/w6lib.lua):
-- db.User:find_unique{ where = { id = id } }, which yields while it waits.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local w6 = require "w6lib"

w6.main("w6_model.lua", function(db, id)
  return db.User:find_unique { where = { id = id } }
end)
