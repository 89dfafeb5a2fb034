-- Streaming with db:iter / tx:iter: a server-side cursor read a batch at a
-- time; the connection goes back when the loop ends, breaks or raises.
local tide = require "tide"
local helper = require "helper"

describe("iter", function()
  local db
  setup(function() db = helper.connect({ pool = { max = 2 } }) end)
  teardown(function() db:close() end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  it("reads every row, with parameters, a batch at a time", function()
    local n, sum = 0, 0
    local before = db:stats().statements
    for row in db:iter("select g from generate_series(1, $1::int) g", 1234) do
      n = n + 1
      sum = sum + row.g
    end
    assert.are.equal(1234, n)
    assert.are.equal(1234 * 1235 // 2, sum)
    -- begin, declare (prepared: parse, describe, execute), 3 fetches of 500, commit
    assert.is_true(db:stats().statements - before <= 9)
  end)

  it("gives the connection back on break and on error", function()
    for row in db:iter("select g from generate_series(1, 10000) g") do
      if row.g == 3 then break end
    end
    local ok, e = pcall(function()
      for row in db:iter("select g from generate_series(1, 10000) g") do
        if row.g == 700 then error("stop here") end
      end
    end)
    assert.is_false(ok)
    assert.matches("stop here", e)
    -- a query that fails on the server mid-stream
    local e2 = helper.raises(function()
      for _ in db:iter("select 1 / (600 - g) from generate_series(1, 1000) g") do end
    end)
    assert.are.equal("database_error", e2.code)
  end)

  it("holds only a batch at a time", function()
    collectgarbage()
    local base = collectgarbage("count")
    local peak = 0
    for row in db:iter("select g, repeat('x', 200) as pad from generate_series(1, 20000) g") do
      if row.g % 1000 == 0 then peak = math.max(peak, collectgarbage("count") - base) end
    end
    assert.is_true(peak < 2000, "peak " .. peak .. " KB") -- 20,000 rows whole would be several MB
  end)
end)
