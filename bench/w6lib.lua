-- W6 for the Lua tool programs: W1's lookups, in waves of 1,000 coroutines.
--
--   local w6 = require "w6lib"
--   w6.main(db, lookup)     -- lookup(id) returns the row (it may yield)
--
-- Per wave, tide.run(function() ... end) spawns one task per lookup
-- (tide.spawn): each runs lookup(id), whose query yields while it waits,
-- checks the row as bench/w1.lua does and adds id + #email + #name to the
-- run's sum. tide.run returns when every task of the wave has ended. A task
-- that fails is counted (tide.on_error) and fails the run, as does a wave
-- that did not complete every lookup.
local bench = require "bench"
local tide = require "tide"

local w6 = { USERS = 10000, WAVE = 1000, SQL = "select id, email, name, created_at from users where id = $1" }

function w6.main(name, lookup)
  local url, iterations, runs = bench.args()
  local db = tide.connect(url, { pool = { max = 8 }, schema = require "schema" })
  local failures, first_failure = 0, nil
  tide.on_error = function(e)
    failures = failures + 1
    first_failure = first_failure or e
  end
  local check = 0

  local function run(n)
    local key = bench.rng()
    local sum, done = 0, 0
    local left = n
    while left > 0 do
      local wave = math.min(w6.WAVE, left)
      tide.run(function()
        for _ = 1, wave do
          local id = key(w6.USERS)
          tide.spawn(function()
            local row = lookup(db, id) -- yields
            if not row or row.id ~= id then
              error(("%s: user %d: unexpected result"):format(name, id))
            end
            local email, name_, created_at = row.email, row.name, row.created_at
            if email == "" or name_ == "" or not created_at then
              error(("%s: user %d: unexpected row"):format(name, id))
            end
            -- the shared sums are read after the yield, not before
            local v = row.id + #email + #name_
            sum = sum + v
            done = done + 1
          end)
        end
      end)
      if failures > 0 then error(("%s: %d lookups failed; the first: %s"):format(name, failures, first_failure)) end
      left = left - wave
    end
    if done ~= n then error(("%s: %d of %d lookups done"):format(name, done, n)) end
    check = sum
  end

  bench.main_loop(iterations, runs, run)
  print("# check " .. check)
  db:close()
end

return w6
