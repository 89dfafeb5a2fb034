-- db:batch: several statements in one round trip (pipeline mode), raw SQL
-- and builder queries, atomic by default, each on its own when asked,
-- inside transactions and coroutines.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local function make_schema()
  local s = tide.schema()
  s:model "Account" {
    table = "accounts",
    t.bigserial "id" :primary(),
    t.text "owner" :unique(),
    t.integer "balance" :default(0) :check("balance >= 0"),
    t.text "color" :nullable() :codec { encode = function(v) return v:upper() end,
      decode = function(v) return v:lower() end },
  }
  return s
end

describe("db:batch", function()
  local db, schema, A
  setup(function()
    schema = make_schema()
    db = tide.connect(helper.fresh_database("tide_batch"), { schema = schema, pool = { max = 2 } })
    db:push()
    A = schema.Account
  end)
  teardown(function() db:close() end)
  before_each(function()
    db:exec("truncate accounts restart identity")
    db:insert(A):values{ { owner = "ann", balance = 100, color = "red" }, { owner = "bob", balance = 50 } }:exec()
  end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  it("runs raw SQL and builder queries in one round trip, results in order", function()
    local before = db:stats().statements
    local list = {
      "select count(*)::int as n from accounts",
      { "update accounts set balance = balance - $1 where owner = $2", 30, "ann", mode = "exec" },
      { "select balance from accounts where owner = $1", "ann", mode = "one" },
      db:select{ owner = A.owner, color = A.color }:from(A):order_by(A.owner),
      { db:insert(A):values{ owner = "cy", color = "blue" }:returning(), mode = "one" },
    }
    local given = { table.unpack(list) }
    local r = db:batch(list)
    assert.are.same(given, list) -- the caller's list is left as it was
    assert.are.equal(5, #r)
    assert.are.equal(2, r[1][1].n)
    assert.are.equal(1, r[2])
    assert.are.equal(70, r[3].balance)
    -- the builder's codecs ran on its rows
    assert.are.same({ { owner = "ann", color = "red" }, { owner = "bob" } }, r[4])
    assert.are.equal("blue", r[5].color)
    assert.are.equal("BLUE", db:one("select color from accounts where owner = 'cy'").color)
    local sent = db:stats().statements - before
    -- the same batch again: every statement prepared already, one Execute each
    before = db:stats().statements
    db:batch{
      "select count(*)::int as n from accounts",
      { "update accounts set balance = balance - $1 where owner = $2", 0, "ann", mode = "exec" },
      { "select balance from accounts where owner = $1", "ann", mode = "one" },
    }
    assert.are.equal(3, db:stats().statements - before)
    assert.is_true(sent > 5)
  end)

  it("is atomic: a failure raises with its index and writes nothing", function()
    local e = helper.raises(db.batch, db, {
      { "update accounts set balance = balance + 10 where owner = $1", "bob", mode = "exec" },
      { "update accounts set balance = balance - 500 where owner = $1", "ann", mode = "exec" },
      { "insert into accounts(owner) values ($1)", "dan", mode = "exec" },
    })
    assert.are.equal("check_violation", e.code)
    assert.are.equal(2, e.index)
    assert.are.same({ { owner = "ann", balance = 100 }, { owner = "bob", balance = 50 } },
      db:query("select owner, balance from accounts order by owner"))
  end)

  it("runs each statement on its own with atomic = false", function()
    local r, errs = db:batch({
      { "update accounts set balance = balance + 10 where owner = $1", "bob", mode = "exec" },
      { "update accounts set balance = balance - 500 where owner = $1", "ann", mode = "exec" },
      db:insert(A):values{ owner = "dan" }:returning{ owner = A.owner },
    }, { atomic = false })
    assert.are.equal(1, r[1])
    assert.is_nil(r[2])
    assert.are.same({ { owner = "dan" } }, r[3])
    assert.are.equal("check_violation", errs[2].code)
    assert.is_nil(errs[1])
    assert.are.equal(60, db:one("select balance from accounts where owner = 'bob'").balance)
    assert.are.equal(3, db:one("select count(*)::int as n from accounts").n)
  end)

  it("refuses bad values and bad statements before anything runs", function()
    local e = helper.raises(db.batch, db, {
      { "insert into accounts(owner) values ($1)", "eve", mode = "exec" },
      { "update accounts set balance = $1 where owner = 'ann'", 3.5, mode = "exec" },
    })
    assert.are.equal("invalid_argument", e.code)
    assert.are.equal(2, e.index)
    assert.matches("statement 2: parameter $1", e.message, 1, true)
    e = helper.raises(db.batch, db, { "select 1", "selec 2" })
    assert.are.equal("42601", e.sqlstate)
    assert.are.equal(2, e.index)
    assert.are.equal(2, db:one("select count(*)::int as n from accounts").n)
    -- the programmer's own mistakes, named before any SQL is sent
    assert.matches("statement 2: SQL text, a table or a query expected, got number",
      helper.raises(db.batch, db, { "select 1", 42 }), 1, true)
    assert.matches("mode is 'rows', 'one' or 'exec', got 'many'",
      helper.raises(db.batch, db, { { "select 1", mode = "many" } }), 1, true)
    assert.matches("statement 1: n is the number of its values",
      helper.raises(db.batch, db, { { "select $1::int as x", 1, n = "one" } }), 1, true)
    assert.matches("unknown option 'atomc'", helper.raises(db.batch, db, { "select 1" }, { atomc = false }), 1, true)
    -- the runtime guard holds in a batch too
    local g = helper.raises(db.batch, db, { db:delete(A) })
    assert.are.equal("invalid_argument", g.code)
    assert.are.same({}, db:batch{})
  end)

  it("binds NULLs, lists and tables as values, never as SQL", function()
    local r = db:batch{
      { "select $1::text is null as isnull, $2::int[] as a, $3::jsonb ->> 'k' as k", nil, { 1, 2 }, { k = "v" }, n = 3,
        mode = "one" },
      { "select $1::text as s", "'); drop table accounts; --", mode = "one" },
    }
    assert.is_true(r[1].isnull)
    assert.are.same({ 1, 2 }, r[1].a)
    assert.are.equal("v", r[1].k)
    assert.are.equal("'); drop table accounts; --", r[2].s)
    assert.are.equal(2, db:one("select count(*)::int as n from accounts").n)
  end)

  it("runs inside a transaction, and rolls back with it", function()
    local ok, e = pcall(db.transaction, db, function(tx)
      local r = tx:batch{
        { "update accounts set balance = 0 where owner = $1", "ann", mode = "exec" },
        tx:select{ b = A.balance }:from(A):where(A.owner:eq("ann")),
      }
      assert.are.equal(0, r[2][1].b)
      -- a failing batch aborts the transaction
      tx:batch{ { "update accounts set balance = -1 where owner = $1", "bob", mode = "exec" } }
    end)
    assert.is_false(ok)
    assert.are.equal("check_violation", e.code)
    assert.are.same({ { owner = "ann", balance = 100 }, { owner = "bob", balance = 50 } },
      db:query("select owner, balance from accounts order by owner"))
  end)

  it("yields inside coroutines, many batches at once", function()
    local got = {}
    tide.run(function()
      for i = 1, 20 do
        tide.spawn(function()
          local r = db:batch{
            { "select $1::int * 2 as v", i, mode = "one" },
            { "select pg_sleep(0.01), $1::int as w", i, mode = "one" },
          }
          got[i] = r[1].v + r[2].w
        end)
      end
    end)
    for i = 1, 20 do assert.are.equal(3 * i, got[i]) end
    -- and failures arrive in the coroutine that sent them
    local seen
    tide.run(function()
      local ok, e = pcall(db.batch, db, { "select 1", "select 1/0" })
      seen = not ok and e
    end)
    assert.are.equal("database_error", seen.code)
    assert.are.equal(2, seen.index)
  end)

  it("a backend killed mid-batch: connection_failure, nothing of it committed, the pool replaces it", function()
    local admin = helper.connect({ pool = { max = 1 } })
    local t = tide.spawn(function()
      return db:batch{
        { "insert into accounts(owner) values ($1)", "zed", mode = "exec" },
        "select pg_sleep(5) -- batch victim",
        { "insert into accounts(owner) values ($1)", "zoe", mode = "exec" },
      }
    end)
    local t0 = tide.clock()
    repeat
      local r = admin:one("select pg_terminate_backend(pid) as k from pg_stat_activity " ..
        "where query like '%batch victim%' and pid <> pg_backend_pid()")
      tide.poll(0.01)
    until (r and r.k) or tide.clock() - t0 > 5
    local e = helper.raises(t.wait, t)
    assert.are.equal("connection_failure", e.code)
    admin:close()
    assert.are.equal(0, db:one("select count(*)::int as n from accounts where owner in ('zed', 'zoe')").n)
    assert.are.equal(2, db:one("select count(*)::int as n from accounts").n)
  end)

  it("sends thousands of statements in one go", function()
    local list = {}
    for i = 1, 5000 do list[i] = { "insert into accounts(owner, balance) values ($1, $2)", "o" .. i, i, mode = "exec" } end
    local r = db:batch(list)
    assert.are.equal(5000, #r)
    assert.are.equal(5002, db:one("select count(*)::int as n from accounts").n)
  end)
end)
