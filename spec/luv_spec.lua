-- tide.luv: tide's queries in a libuv program. A uv timer ticking every
-- 10 ms keeps ticking while queries are in flight, and the queries' results
-- come back through the uv loop.
local uv = require "luv"
local tide = require "tide"
local helper = require "helper"

describe("tide.luv", function()
  it("runs tasks' queries inside uv.run while a timer keeps ticking", function()
    local db = helper.connect({ pool = { max = 4 } })
    local glue = require("tide.luv").attach()
    local got, ticks, worst, last = {}, 0, 0, tide.clock()
    local timer = uv.new_timer()
    timer:start(10, 10, function()
      ticks = ticks + 1
      local t = tide.clock()
      worst = math.max(worst, t - last)
      last = t
      if #got == 4 then timer:stop(); timer:close() end
    end)
    local t0 = tide.clock()
    for i = 1, 4 do
      tide.spawn(function()
        local v = db:one("select $1::int as v from pg_sleep(0.2)", i).v
        got[#got + 1] = v
      end)
    end
    glue.run()
    local took = tide.clock() - t0
    table.sort(got)
    assert.are.same({ 1, 2, 3, 4 }, got)
    assert.is_true(took < 0.6, "took " .. took) -- in parallel, not 0.8 s
    assert.is_true(ticks >= 15, "ticks " .. ticks)
    assert.is_true(worst < 0.05, "the timer stalled for " .. worst .. " s")
    glue.detach()
    db:close()
  end)

  it("lets uv.run return when tide has nothing in flight", function()
    local glue = require("tide.luv").attach()
    local t0 = tide.clock()
    glue.run()
    assert.is_true(tide.clock() - t0 < 0.1)
    glue.detach()
  end)
end)
