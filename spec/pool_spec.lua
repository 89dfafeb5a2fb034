-- The pool from Lua: connections come back by release, <close> and GC;
-- session state does not leak; close.
local helper = require "helper"
local tide = require "tide"

describe("pool", function()
  it("returns connections released by hand, by <close> and by the collector", function()
    local db = helper.connect { pool = { max = 2 } }
    local c = db:acquire()
    assert.are.equal(1, db:stats().in_use)
    c:release()
    c:release() -- twice does nothing
    assert.are.equal(0, db:stats().in_use)
    do
      local c2 <close> = db:acquire()
      c2:exec("select 1")
      assert.are.equal(1, db:stats().in_use)
    end
    assert.are.equal(0, db:stats().in_use)
    for _ = 1, 10 do -- dropped on the floor, 10 times, from a pool of 2
      db:acquire():exec("select 1")
      collectgarbage()
    end
    assert.are.equal(0, db:stats().in_use)
    assert.is_true(db:stats().open <= 2)
    db:close()
  end)

  it("does not let a connection's session state reach the next user", function()
    local db = helper.connect { pool = { max = 1 } }
    local c = db:acquire()
    local pid = c:backend_pid()
    c:exec("set application_name = 'leaked'")
    c:exec("create temp table t_leak (x int)")
    c:release()
    local c2 = db:acquire()
    assert.are.equal(pid, c2:backend_pid())
    assert.are_not.equal("leaked", c2:one("show application_name").application_name)
    assert.is_nil(c2:one("select 1 as x from pg_class where relname = 't_leak'"))
    c2:release()
    db:close()
  end)

  it("always resets a connection taken with db:acquire(), even after changes it cannot see", function()
    local db = helper.connect { pool = { max = 1 } }
    db:exec([[create or replace function sneaky() returns text language sql
      as $$ select set_config('application_name', 'sneaky', false) $$]])
    local c = db:acquire()
    local pid = c:backend_pid()
    c:exec("select sneaky()") -- no SET in sight: only the function knows
    assert.are.equal("sneaky", c:one("show application_name").application_name)
    c:release()
    local c2 = db:acquire()
    assert.are.equal(pid, c2:backend_pid())
    assert.are_not.equal("sneaky", c2:one("show application_name").application_name)
    c2:release()
    db:exec("drop function sneaky()")
    db:close()
  end)

  it("refuses use after close, and describes itself without secrets", function()
    local db = helper.connect()
    assert.matches("^tide%.db%(postgresql://", tostring(db))
    db:close()
    local e = helper.raises(function() db:query("select 1") end)
    assert.matches("closed", e)
    assert.matches("closed", tostring(db))
  end)

  it("survives connections killed behind its back", function()
    -- a database of its own, whose connections only this test makes: the
    -- specs running at the same time keep theirs
    local url = helper.fresh_database("tide_pool_spec_killed")
    local db = tide.connect(url, { pool = { max = 2, min = 2 } })
    local admin = tide.connect(url, { pool = { max = 1 } })
    local victims = "from pg_stat_activity where application_name = 'tide' and pid <> pg_backend_pid() " ..
      "and backend_type = 'client backend' and datname = current_database()"
    admin:exec("select pg_terminate_backend(pid) " .. victims)
    -- pg_terminate_backend only signals: wait until they are gone
    for _ = 1, 200 do
      if admin:one("select count(*) as n " .. victims).n == 0 then break end
      admin:exec("select pg_sleep(0.01)")
    end
    for _ = 1, 5 do assert.are.equal(1, db:one("select 1 as x").x) end
    assert.is_true(db:stats().opened >= 3) -- replacements were opened
    db:close()
    admin:close()
  end)
end)
