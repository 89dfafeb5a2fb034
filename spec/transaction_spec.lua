-- Transactions: commit, rollback with the original error, COMMIT answered
-- with ROLLBACK, savepoints, <close>, and abandoned transactions.
-- ../shared/RELIABILITY.md transaction scenarios 1, 2, 6 and 7.
local tide = require "tide"
local helper = require "helper"

describe("transactions", function()
  local db, other
  setup(function()
    db = helper.connect { pool = { max = 2 } }
    other = helper.connect { pool = { max = 1 } } -- a second session, to see what was committed
    db:exec("drop table if exists acct; create table acct (id int primary key, n int not null check (n >= 0))")
  end)
  teardown(function()
    db:exec("drop table if exists acct")
    db:close()
    other:close()
  end)
  before_each(function() db:exec("delete from acct") end)

  local function count() return other:one("select count(*) as n from acct").n end

  it("commits when the function returns, and returns its values", function()
    local a, b = db:transaction(function(tx)
      tx:exec("insert into acct values (1, 10)")
      tx:exec("insert into acct values ($1, $2)", 2, 20)
      assert.are.equal(2, tx:one("select count(*) as n from acct").n)
      assert.are.equal(0, count()) -- not visible outside yet
      return "done", 42
    end)
    assert.are.equal("done", a)
    assert.are.equal(42, b)
    assert.are.equal(2, count())
    assert.are.equal(0, db:stats().in_use)
  end)

  it("rolls back and re-raises the original error value, whatever it is", function()
    local values = { "a string", { code = "mine" }, 42 }
    for _, v in ipairs(values) do
      local ok, e = pcall(db.transaction, db, function(tx)
        tx:exec("insert into acct values (1, 1)")
        error(v, 0)
      end)
      assert.is_false(ok)
      assert.are.equal(v, e) -- the very same value, tables included
      assert.are.equal(0, count())
    end
    -- a runtime error keeps its message
    local ok, e = pcall(db.transaction, db, function(tx)
      tx:exec("insert into acct values (1, 1)")
      local x = nil
      return x.field
    end)
    assert.is_false(ok)
    assert.matches("attempt to index a nil value", e)
    assert.are.equal(0, count())
    assert.are.equal(0, db:stats().in_use)
  end)

  it("rolls back when a __close handler inside the function raises", function()
    local ok, e = pcall(db.transaction, db, function(tx)
      tx:exec("insert into acct values (1, 1)")
      local guard <close> = setmetatable({}, { __close = function() error("from __close", 0) end })
    end)
    assert.is_false(ok)
    assert.are.equal("from __close", e)
    assert.are.equal(0, count())
  end)

  it("raises a database error with its fields and rolls back", function()
    local ok, e = pcall(db.transaction, db, function(tx)
      tx:exec("insert into acct values (1, 1)")
      tx:exec("insert into acct values (1, 2)")
    end)
    assert.is_false(ok)
    assert.is_true(tide.is_error(e))
    assert.are.equal("unique_violation", e.code)
    assert.are.equal("23505", e.sqlstate)
    assert.are.equal("acct_pkey", e.constraint)
    assert.are.equal(0, count())
  end)

  it("reports transaction_rolled_back when a swallowed error made COMMIT roll back", function()
    local ok, e = pcall(db.transaction, db, function(tx)
      tx:exec("insert into acct values (1, 1)")
      pcall(tx.exec, tx, "insert into acct values (2, -5)") -- check violation, swallowed
    end)
    assert.is_false(ok)
    assert.are.equal("transaction_rolled_back", e.code)
    assert.are.equal(0, count())
    assert.are.equal(0, db:stats().in_use)
  end)

  it("nests with savepoints: an inner failure rolls back only the inner part", function()
    db:transaction(function(tx)
      tx:exec("insert into acct values (1, 1)")
      local ok, e = pcall(tx.transaction, tx, function(inner)
        inner:exec("insert into acct values (2, 2)")
        error("inner fails", 0)
      end)
      assert.is_false(ok)
      assert.are.equal("inner fails", e)
      local r = tx:transaction(function(inner)
        inner:exec("insert into acct values (3, 3)")
        return inner:transaction(function(deeper)
          deeper:exec("insert into acct values (4, 4)")
          return "deep"
        end)
      end)
      assert.are.equal("deep", r)
    end)
    local ids = {}
    for _, row in ipairs(other:query("select id from acct order by id")) do ids[#ids + 1] = row.id end
    assert.are.same({ 1, 3, 4 }, ids)
  end)

  it("an inner failure that escapes rolls back the whole transaction", function()
    local ok = pcall(db.transaction, db, function(tx)
      tx:exec("insert into acct values (1, 1)")
      tx:transaction(function(inner) inner:exec("insert into acct values (1, 1)") end)
    end)
    assert.is_false(ok)
    assert.are.equal(0, count())
  end)

  it("refuses a transaction object after it ended", function()
    local saved
    db:transaction(function(tx) saved = tx end)
    local e = helper.raises(function() return saved:one("select 1") end)
    assert.matches("already ended", e)
  end)

  it("takes isolation, read only and deferrable", function()
    db:transaction(function(tx)
      assert.are.equal("serializable", tx:one("show transaction_isolation").transaction_isolation)
      assert.are.equal("on", tx:one("show transaction_read_only").transaction_read_only)
      assert.are.equal("on", tx:one("show transaction_deferrable").transaction_deferrable)
    end, { isolation = "serializable", read_only = true, deferrable = true })
    db:transaction(function(tx)
      assert.are.equal("repeatable read", tx:one("show transaction_isolation").transaction_isolation)
    end, { isolation = "repeatable read" })
    local e = helper.raises(function() db:transaction(function() end, { isolation = "serialisable" }) end)
    assert.matches("unknown isolation level 'serialisable'; did you mean 'serializable'%?", e)
    e = helper.raises(function() db:transaction(function() end, { read_onyl = true }) end)
    assert.matches("unknown option 'read_onyl'; did you mean 'read_only'%?", e)
    e = helper.raises(function() db:transaction("not a function") end)
    assert.matches("bad argument #1 to 'transaction' %(function expected, got string%)", e)
  end)

  it("begin() with <close> rolls back unless committed", function()
    do
      local tx <close> = db:begin()
      tx:exec("insert into acct values (1, 1)")
    end
    assert.are.equal(0, count())
    do
      local tx <close> = db:begin()
      tx:exec("insert into acct values (2, 2)")
      tx:commit()
    end
    assert.are.equal(1, count())
    -- left by an error
    pcall(function()
      local tx <close> = db:begin()
      tx:exec("insert into acct values (3, 3)")
      error("boom")
    end)
    -- left by break
    for _ = 1, 2 do
      local tx <close> = db:begin()
      tx:exec("insert into acct values (4, 4)")
      break
    end
    assert.are.equal(1, count())
    local tx = db:begin()
    tx:exec("insert into acct values (5, 5)")
    tx:rollback()
    assert.are.equal(1, count())
    assert.are.equal(0, db:stats().in_use)
  end)

  it("an abandoned transaction is rolled back and its connection returned when collected", function()
    -- queries that block inside the coroutine (async_spec has the yielding kind)
    tide.set_async(false)
    finally(function() tide.set_async(true) end)
    local co = coroutine.create(function()
      local tx = db:begin()
      tx:exec("insert into acct values (9, 9)")
      coroutine.yield()
      tx:commit() -- never reached
    end)
    coroutine.resume(co)
    assert.are.equal(1, db:stats().in_use)
    co = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(0, db:stats().in_use)
    assert.are.equal(0, count())
    -- and the pool still works
    assert.are.equal(1, db:one("select 1 as x").x)
  end)

  describe("with a timeout", function()
    local function code_of(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      assert.is_true(tide.is_error(e), tostring(e))
      return e.code, e
    end

    it("commits what finishes in time, and refuses a bad timeout", function()
      db:transaction(function(tx) tx:exec("insert into acct values (1, 1)") end, { timeout = 5 })
      assert.are.equal(1, count())
      assert.matches("timeout: a number of seconds", select(2, pcall(db.transaction, db, function() end, { timeout = 0 })))
      assert.matches("option 'timeout' must be a number",
        select(2, pcall(db.transaction, db, function() end, { timeout = "1" })))
    end)

    it("cancels a statement that runs past it on the server, and rolls everything back", function()
      local t0 = tide.clock()
      local code, e = code_of(db.transaction, db, function(tx)
        tx:exec("insert into acct values (1, 1)")
        tx:exec("select pg_sleep(5)")
      end, { timeout = 0.3 })
      assert.are.equal("transaction_timeout", code)
      assert.matches("300 ms", e.message)
      assert.matches("cancel", e.detail) -- the statement's own error: query_canceled
      assert.is_true(tide.clock() - t0 < 2, "the statement was not cancelled in time")
      assert.are.equal(0, count())
      assert.are.equal(0, db:stats().in_use)
      -- the connection went back usable
      assert.are.equal(1, db:one("select 1 as x").x)
    end)

    it("runs nothing after it has passed, and refuses COMMIT", function()
      -- Lua work past the deadline, then a statement: refused before it is sent
      local code = code_of(db.transaction, db, function(tx)
        tx:exec("insert into acct values (1, 1)")
        tide.sleep(0.25)
        tx:exec("insert into acct values (2, 2)")
      end, { timeout = 0.2 })
      assert.are.equal("transaction_timeout", code)
      -- even if the function swallows that, COMMIT is refused
      local seen
      code = code_of(db.transaction, db, function(tx)
        tx:exec("insert into acct values (1, 1)")
        tide.sleep(0.25)
        local ok, e = pcall(tx.query, tx, "select 1")
        seen = not ok and e.code
      end, { timeout = 0.2 })
      assert.are.equal("transaction_timeout", seen)
      assert.are.equal("transaction_timeout", code)
      assert.are.equal(0, count())
      -- a batch on the transaction's connection is held to it too
      code = code_of(db.transaction, db, function(tx)
        tx:batch{ "select pg_sleep(5)" }
      end, { timeout = 0.2 })
      assert.are.equal("transaction_timeout", code)
    end)

    it("begin(): a statement the deadline cancels says transaction_timeout, in every form", function()
      local forms = {
        raw = function(tx) tx:exec("select pg_sleep(5)") end,
        batch = function(tx) tx:batch{ "select pg_sleep(5)" } end,
        builder = function(tx) tx:select{ x = tide.sql "pg_sleep(5)" }:all() end,
      }
      for name, form in pairs(forms) do
        -- room for BEGIN and the insert on a slow (sanitized) build: the
        -- statement must be sent, then cancelled, to have a detail
        local tx = db:begin{ timeout = 0.6 }
        tx:exec("insert into acct values (1, 1)")
        local t0 = tide.clock()
        local code, e = code_of(form, tx)
        assert.are.equal("transaction_timeout", code, name)
        assert.matches("cancel", e.detail or "(no detail: " .. e.message .. ")", nil, nil, name)
        assert.is_true(tide.clock() - t0 < 2, name .. ": not cancelled in time")
        assert.are.equal("transaction_timeout", (code_of(tx.commit, tx)))
        assert.are.equal(0, count())
        assert.are.equal(0, db:stats().in_use)
      end
      -- a statement's own shorter timeout is its own: query_canceled
      local tx = db:begin{ timeout = 5 }
      assert.are.equal("query_canceled",
        (code_of(function() return tx:select{ x = tide.sql "pg_sleep(3)" }:timeout(0.1):all() end)))
      tx:rollback()
    end)

    it("begin(): each statement gets the time left, commit after it is refused", function()
      local tx = db:begin{ timeout = 0.2 }
      tx:exec("insert into acct values (1, 1)")
      tide.sleep(0.25)
      local code = code_of(tx.commit, tx)
      assert.are.equal("transaction_timeout", code)
      assert.are.equal(0, count())
      assert.are.equal(0, db:stats().in_use)
      -- in time: committed
      tx = db:begin{ timeout = 5 }
      tx:exec("insert into acct values (2, 2)")
      tx:commit()
      assert.are.equal(1, count())
    end)
  end)
end)
