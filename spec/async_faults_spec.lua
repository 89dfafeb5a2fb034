-- ../shared/RELIABILITY.md, for queries that yield: a backend killed
-- mid-query or mid-transaction (scenarios 2, 3), the server down and back
-- (4), the postmaster stopped (6), one backend stopped mid-query (7). The
-- host loop here is a Lua loop polling every 10 ms; its largest gap between
-- two polls says whether it kept its rate.
local tide = require "tide"
local helper = require "helper"

-- Polls every 10 ms until done() (or seconds pass); the largest gap in ms.
local function host_loop(done, seconds)
  local start, last, worst = tide.clock(), tide.clock(), 0
  while not done() and tide.clock() - start < seconds do
    tide.poll(0.01)
    local t = tide.clock()
    worst = math.max(worst, t - last)
    last = t
  end
  return worst * 1000
end

describe("faults under coroutines", function()
  local admin
  setup(function() admin = helper.connect({ pool = { max = 1 } }) end)
  teardown(function() admin:close() end)

  local function kill(pattern)
    local t0 = tide.clock()
    while tide.clock() - t0 < 5 do
      local r = admin:one("select pg_terminate_backend(pid) as k from pg_stat_activity where query like $1 and pid <> pg_backend_pid()", pattern)
      if r and r.k then return end
      tide.poll(0.01)
    end
    error("no backend running " .. pattern)
  end

  it("a backend killed mid-query: connection_failure, the pool replaces it", function()
    local db = helper.connect({ pool = { max = 2 } })
    local t = tide.spawn(function() return db:query("select pg_sleep(5) -- victim 1") end)
    kill("select pg_sleep(5) -- victim 1")
    local e = helper.raises(t.wait, t)
    assert.are.equal("connection_failure", e.code)
    assert.are.equal(0, db:stats().in_use)
    assert.are.equal(1, tide.run(function() return db:one("select 1 as v").v end))
    db:close()
  end)

  it("killed inside a transaction: nothing of it runs elsewhere, nothing is committed", function()
    local db = helper.connect({ pool = { max = 2 } })
    db:exec("create table if not exists fault_tx (v int)")
    db:exec("truncate fault_tx")
    local later
    local t = tide.spawn(function()
      db:transaction(function(tx)
        tx:exec("insert into fault_tx values (1)")
        pcall(tx.exec, tx, "select pg_sleep(5) -- victim 2")
        later = table.pack(pcall(tx.exec, tx, "insert into fault_tx values (2)"))
      end)
    end)
    kill("select pg_sleep(5) -- victim 2")
    local e = helper.raises(t.wait, t)
    assert.are.equal("connection_failure", e.code)
    assert.is_false(later[1])
    assert.are.equal("connection_failure", later[2].code)
    assert.are.equal(0, db:one("select count(*)::int as n from fault_tx").n)
    assert.are.equal(0, db:stats().in_use)
    db:close()
  end)

  it("the server down: fail fast, few connects, then recovery once it is back", function()
    local db = helper.connect({ pool = { min = 0, max = 4 }, connect_timeout = 2 })
    assert.is_true(helper.pg_ctl("stop -m fast"))
    finally(function() helper.pg_ctl("start") end)
    local failed, t0 = 0, tide.clock()
    tide.run(function()
      for _ = 1, 50 do
        tide.spawn(function()
          local ok, e = pcall(db.query, db, "select 1")
          if not ok and e.code == "connection_failure" then failed = failed + 1 end
        end)
      end
    end)
    assert.are.equal(50, failed)
    assert.is_true(tide.clock() - t0 < 1, "failing took " .. (tide.clock() - t0) .. " s")
    local attempts = db:stats().connect_failed
    -- the first wave is at most one per slot; then it backs off: not one per caller
    assert.is_true(attempts >= 1 and attempts <= 4, "attempts " .. attempts)

    assert.is_true(helper.pg_ctl("start"))
    local v, tries
    t0 = tide.clock()
    tide.run(function()
      tries = 0
      while not v and tide.clock() - t0 < 20 do
        tries = tries + 1
        local ok, r = pcall(db.one, db, "select 42 as v")
        if ok then v = r.v end
        if not v then coroutine.yield() end -- its turn comes again at the next poll
      end
    end)
    assert.are.equal(42, v)
    -- backing off: a handful of real attempts while down, not one per try
    assert.is_true(db:stats().connect_failed < 20, "attempts " .. db:stats().connect_failed .. " in " .. tries .. " tries")
    db:close()
  end)

  it("the postmaster stopped: new connects fail at connect_timeout, the open one works, the loop keeps its rate", function()
    local db = helper.connect({ pool = { min = 1, max = 2 }, connect_timeout = 0.5 })
    local pid = helper.postmaster_pid()
    assert.is_true(os.execute("kill -STOP " .. pid))
    finally(function() os.execute("kill -CONT " .. pid .. " 2>/dev/null") end)
    local results = {}
    local t0 = tide.clock()
    local slow = tide.spawn(function() return db:one("select 1 as v from pg_sleep(0.2)").v end) -- the open connection
    local fresh = tide.spawn(function() return db:one("select 2 as v").v end)                  -- needs a new one
    local gap = host_loop(function() return slow.done and fresh.done end, 5)
    local took = tide.clock() - t0
    assert.are.equal(1, slow:wait())
    local e = helper.raises(fresh.wait, fresh)
    assert.are.equal("connection_failure", e.code)
    assert.is_true(took >= 0.4 and took < 2, "took " .. took)
    assert.is_true(gap < 50, "the loop stalled for " .. gap .. " ms")
    os.execute("kill -CONT " .. pid)
    db:close()
  end)

  it("one backend stopped mid-query: the deadline fires, the loop keeps its rate", function()
    local db = helper.connect({ pool = { max = 2 }, query_timeout = 0.3 })
    local pid
    local t = tide.spawn(function()
      return db:transaction(function(tx)
        pid = tx:one("select pg_backend_pid() as p").p
        coroutine.yield() -- the main loop stops the backend now
        return tx:one("select 1 as v").v
      end)
    end)
    while not pid do tide.poll(0.01) end
    assert.is_true(os.execute("kill -STOP " .. pid))
    finally(function() os.execute("kill -CONT " .. pid .. " 2>/dev/null") end)
    local t0 = tide.clock()
    local gap = host_loop(function() return t.done end, 5)
    local took = tide.clock() - t0
    local e = helper.raises(t.wait, t)
    assert.are.equal("query_canceled", e.code)
    assert.is_true(took >= 0.25 and took < 1.5, "took " .. took)
    assert.is_true(gap < 50, "the loop stalled for " .. gap .. " ms")
    os.execute("kill -CONT " .. pid .. " 2>/dev/null")
    assert.are.equal(0, db:stats().in_use)
    assert.are.equal(3, tide.run(function() return db:one("select 3 as v").v end))
    db:close()
  end)
end)
