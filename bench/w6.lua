-- W6 through tide's Lua API: 1,000 coroutines at a time, each one W1 lookup
-- with db:one, over a pool of 8 connections.
--
--   tide run bench/w6.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per lookup, in a task of its own (bench/w6lib.lua): db:one(W1's SQL, id),
-- which yields while it waits.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local w6 = require "w6lib"

w6.main("w6.lua", function(db, id)
  return db:one(w6.SQL, id)
end)
