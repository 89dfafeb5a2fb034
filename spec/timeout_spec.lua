-- Per-query timeouts: raw SQL (db:timeout), the model client (timeout =),
-- the builder (:timeout), batches ({ timeout = }); blocking and inside
-- coroutines. Past the deadline the statement is cancelled on the server:
-- it fails with query_canceled, and the connection stays open and usable.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function pid(db) return db:one("select pg_backend_pid() as p").p end

describe("timeouts", function()
  local db, s
  setup(function()
    s = tide.schema()
    s:model "Nap" { table = "naps", t.integer "id" :primary(), t.text "x" }
    db = tide.connect(helper.fresh_database("tide_timeout"), { schema = s, pool = { max = 1 } })
    -- a read that takes a second
    db:exec("create view naps as select 1 as id, pg_sleep(1)::text as x")
  end)
  teardown(function() db:close() end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  -- e is query_canceled, raised in about timeout seconds, and the
  -- connection (the pool's only one) is the same afterwards
  local function canceled(timeout, f)
    local before, opened = pid(db), db:stats().opened
    local t0 = tide.clock()
    local e = helper.raises(f)
    local took = tide.clock() - t0
    assert.are.equal("query_canceled", e.code, tostring(e))
    assert.are.equal("57014", e.sqlstate) -- the server's own answer to the cancel
    assert.is_true(took >= timeout * 0.9 and took < timeout + 0.7, "took " .. took)
    assert.are.equal(before, pid(db))
    assert.are.equal(opened, db:stats().opened)
    return e
  end

  it("cancels raw SQL on the server", function()
    local quick = db:timeout(0.2)
    canceled(0.2, function() return quick:query("select pg_sleep(5)") end)
    assert.are.equal(1, quick:one("select 1 as v").v) -- quick enough: no effect
    assert.matches("with timeout 0.2s", tostring(quick))
  end)

  it("cancels model client operations", function()
    canceled(0.2, function() return db.Nap:find_many{ timeout = 0.2 } end)
    canceled(0.3, function() return db.Nap:count{ timeout = 0.3 } end)
    assert.are.equal(1, #db.Nap:find_many{ timeout = 3 })
  end)

  it("cancels builder statements", function()
    local N = s.Nap
    canceled(0.2, function() return db:select{ x = N.x }:from(N):timeout(0.2):all() end)
    canceled(0.2, function() return db:timeout(0.2):select{ x = N.x }:from(N):all() end)
  end)

  it("cancels batches", function()
    local e = canceled(0.2, function() return db:batch({ "select 1", "select pg_sleep(5)" }, { timeout = 0.2 }) end)
    assert.are.equal(2, e.index)
    canceled(0.2, function() return db:timeout(0.2):batch{ "select pg_sleep(5)" } end)
  end)

  it("cancels inside coroutines without stopping the others", function()
    local ticks, err = 0, nil
    tide.run(function()
      tide.spawn(function()
        local ok, e = pcall(db.timeout(db, 0.3).query, db:timeout(0.3), "select pg_sleep(5)")
        err = not ok and e
      end)
      tide.spawn(function()
        while not err do ticks = ticks + 1; tide.sleep(0.01) end
      end)
    end)
    assert.are.equal("query_canceled", err.code)
    assert.are.equal("57014", err.sqlstate)
    assert.is_true(ticks > 10, "ticks " .. ticks)
    assert.are.equal(1, db:stats().opened) -- the connection was kept
    -- the model client, the builder and batches, in a coroutine
    tide.run(function()
      assert.are.equal("query_canceled", helper.raises(db.Nap.find_many, db.Nap, { timeout = 0.2 }).code)
      assert.are.equal("query_canceled",
        helper.raises(function() return db:batch({ "select pg_sleep(5)" }, { timeout = 0.2 }) end).code)
      assert.are.equal(1, db:one("select 1 as v").v)
    end)
    assert.are.equal(1, db:stats().opened)
  end)

  it("refuses timeouts that are not a positive number of seconds", function()
    assert.matches("timeout: a number of seconds", tostring(helper.raises(db.timeout, db, 0)))
    assert.matches("timeout: a number of seconds", tostring(helper.raises(db.timeout, db, "1")))
    assert.matches("timeout: a number of seconds",
      tostring(helper.raises(db.Nap.find_many, db.Nap, { timeout = -1 })))
    assert.matches("timeout: a number of seconds",
      tostring(helper.raises(function() return db:select():from(s.Nap):timeout("soon") end)))
    -- one rule everywhere: above 8388 s is refused by every way in
    for _, f in ipairs {
      function() return db:select():from(s.Nap):timeout(9000) end,
      function() return db:timeout(9000) end,
      function() return db.Nap:find_many{ timeout = 9000 } end,
      function() return db:transaction(function() end, { timeout = 9000 }) end,
      function() return db:batch({ "select 1" }, { timeout = 9000 }) end,
    } do
      assert.matches("at most 8388", tostring(helper.raises(f)))
    end
    assert.matches("option 'atomic' must be a boolean",
      tostring(helper.raises(db.batch, db, { "select 1" }, { atomic = "no" })))
    assert.matches("unknown option 'timout'",
      tostring(helper.raises(db.batch, db, { "select 1" }, { timout = 1 })))
    -- a stream is many statements (a FETCH at a time): no one deadline
    assert.matches("timeout: for statements that run once",
      tostring(helper.raises(db.Nap.find_many_iter, db.Nap, { timeout = 1 })))
  end)
end)
