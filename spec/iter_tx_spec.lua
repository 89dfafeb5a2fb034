-- Streaming inside transactions (tx:iter, nested cursors) and inside
-- tasks. (Apart from iter_spec.lua: one process running both trips
-- LeakSanitizer's scan of dynamic TLS in the GCC 12 runtime; see
-- docs/design.md, Testing.)
local tide = require "tide"
local helper = require "helper"

describe("iter in transactions and tasks", function()
  local db
  setup(function() db = helper.connect({ pool = { max = 2 } }) end)
  teardown(function() db:close() end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  it("streams inside a transaction, nested, and inside tasks", function()
    db:transaction(function(tx)
      local pairs_seen = 0
      for a in tx:iter("select g from generate_series(1, 3) g") do
        for b in tx:iter("select g from generate_series(1, $1::int) g", a.g) do
          pairs_seen = pairs_seen + 1
          assert.is_true(b.g <= a.g)
        end
      end
      assert.are.equal(6, pairs_seen)
    end)
    local total = 0
    tide.run(function()
      for i = 1, 3 do
        tide.spawn(function()
          for row in db:iter("select g from generate_series(1, 600) g") do
            local g = row.g
            total = total + g
          end
        end)
      end
    end)
    assert.are.equal(3 * 600 * 601 // 2, total)
  end)
end)
