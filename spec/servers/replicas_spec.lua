-- Read replicas against a real streaming replica, and multi-host URLs.
-- Needs scripts/with-pg.sh with TIDE_PG_REPLICA=1 (ctest runs it so).
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local P = helper.url()
local R = os.getenv "TIDE_TEST_REPLICA_URL"
assert(R, "TIDE_TEST_REPLICA_URL is not set: run under TIDE_PG_REPLICA=1 scripts/with-pg.sh")

local function schema()
  local s = tide.schema()
  s:model "Author" {
    t.bigserial "id" :primary(),
    t.text "name",
    books = tide.has_many "Book",
  }
  s:model "Book" {
    t.bigserial "id" :primary(),
    t.text "title",
    t.int "pages" :default(100),
    t.bigint "author_id" :references("Author"),
    author = tide.belongs_to "Author",
  }
  return s
end

local function pg_ctl(args)
  assert(helper.pg_ctl(args, os.getenv "TIDE_PG_REPLICA_DATA"), "pg_ctl " .. args)
end

-- Sleeping in the server, not in a child process: fewer forks for the
-- sanitizers' leak checker to trip over at exit.
local sleeper
local function sleep(seconds)
  sleeper = sleeper or tide.connect(P, { pool = { max = 1 } })
  sleeper:exec("select pg_sleep($1)", seconds)
end

-- Waits until the replica has replayed everything the primary has written.
local function sync(db)
  local lsn = db:primary():one("select pg_current_wal_insert_lsn()::text as l").l
  for _ = 1, 1000 do
    if db:replicas()[1]:one("select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok", lsn).ok then return end
    sleep(0.01)
  end
  error("the replica did not catch up")
end

local function statements(handle) return handle:stats().statements end

local function port_of(url) return tonumber(url:match(":(%d+)/")) end

describe("read replicas", function()
  local db
  setup(function()
    db = tide.connect{ primary = P, replicas = { R }, schema = schema(), pool = { max = 3 } }
    db:exec("drop table if exists books, authors")
    db:push()
    sync(db)
  end)
  teardown(function() db:close() end)

  it("sends model client reads to the replica and writes to the primary", function()
    local rep, prim = db:replicas()[1], db:primary()
    assert.are.equal(1, #db:replicas())
    local r0, p0 = statements(rep), statements(prim)
    local ann = db.Author:create{ data = { name = "Ann" } }
    db.Book:create_many{ data = { { title = "A", author_id = ann.id }, { title = "B", author_id = ann.id } } }
    db.Book:update_many{ where = { title = "B" }, data = { pages = 200 } }
    assert.are.equal(r0, statements(rep)) -- no write reached the replica
    assert.is_true(statements(prim) >= p0 + 3)
    sync(db)
    p0 = statements(prim)
    assert.are.equal(2, #db.Book:find_many{ where = { author_id = ann.id } })
    assert.are.equal("Ann", db.Author:find_unique{ where = { id = ann.id } }.name)
    assert.are.equal("A", db.Book:find_first{ order_by = { title = "asc" } }.title)
    assert.are.equal(2, db.Book:count())
    assert.are.equal(300, db.Book:aggregate{ _sum = { pages = true } }._sum.pages)
    assert.are.equal(1, #db.Book:group_by{ by = { "author_id" }, _count = true })
    local with_books = db.Author:find_unique_or_throw{ where = { id = ann.id }, include = { books = true } }
    assert.are.equal(2, #with_books.books) -- the include ran on the replica too
    assert.are.equal(2, #db.Book:where{ author_id = ann.id }:order_by("title"):all())
    assert.are.equal(p0, statements(prim)) -- no read reached the primary
    assert.is_true(statements(rep) >= r0 + 9)
  end)

  it("reads on a real standby: the data came by replication", function()
    local port = port_of(R)
    local row = db:one("select pg_is_in_recovery() as standby, inet_server_port() as port")
    assert.is_true(row.standby)
    assert.are.equal(port, row.port)
    assert.are.equal("on", db:one("show transaction_read_only").transaction_read_only)
    assert.is_true(db:query(" -- a comment first\n /* and another */ (select pg_is_in_recovery() as s)")[1].s)
    assert.is_true(db:query("values (pg_is_in_recovery())")[1].column1)
  end)

  it("sends raw statements that are not plain reads to the primary", function()
    assert.is_false(db:query("with x as (select pg_is_in_recovery() as s) select s from x")[1].s)
    local n, tag = db:exec("select pg_is_in_recovery()")
    assert.are.equal(1, n)
    assert.are.equal("SELECT 1", tag)
    local id = db:one("insert into authors (name) values ('Raw') returning id").id
    assert.is_number(id)
    assert.is_false(db:one("explain select 1") == nil)
  end)

  it("reads its own writes inside a transaction, all on the primary", function()
    local r0 = statements(db:replicas()[1])
    db:transaction(function(tx)
      local bob = tx.Author:create{ data = { name = "Bob" } }
      assert.are.equal("Bob", tx.Author:find_unique{ where = { id = bob.id } }.name)
      assert.are.equal(1, tx.Author:count{ where = { name = "Bob" } })
      assert.is_false(tx:one("select pg_is_in_recovery() as s").s)
    end)
    local tx <close> = db:begin()
    tx.Author:create{ data = { name = "Cy" } }
    assert.are.equal(1, tx.Author:count{ where = { name = "Cy" } })
    tx:commit()
    assert.are.equal(r0, statements(db:replicas()[1]))
  end)

  it("sends everything under db:primary() to the primary", function()
    local r0 = statements(db:replicas()[1])
    local dee = db.Author:create{ data = { name = "Dee" } }
    -- no sync: only the primary is sure to have it yet
    assert.are.equal("Dee", db:primary().Author:find_unique{ where = { id = dee.id } }.name)
    assert.are.equal(1, #db:primary().Author:find_many{ where = { id = dee.id } })
    assert.is_false(db:primary():one("select pg_is_in_recovery() as s").s)
    assert.is_false(db:primary():query("select pg_is_in_recovery() as s")[1].s)
    assert.are.equal(db:primary(), db:primary():primary())
    assert.are.equal(r0, statements(db:replicas()[1]))
    db:primary():close() -- does nothing: the db owns its pools
    db:replicas()[1]:close()
    assert.are.equal(1, db:one("select 1 as x").x)
    assert.are.equal(1, db:primary():one("select 1 as x").x)
  end)

  it("sends builder reads to the replica; locks, writes, transactions and db:primary() to the primary", function()
    local rep, prim = db:replicas()[1], db:primary()
    local A, B = db.schema.Author, db.schema.Book
    local eve = db:insert(A):values{ name = "Eve" }:returning():one() -- a write: the primary
    db:insert(B):values{ title = "E1", author_id = eve.id }:exec()
    sync(db)
    local standby = tide.sql("pg_is_in_recovery()")
    local function where_run(q) return q:one().s end
    local r0, p0 = statements(rep), statements(prim)
    -- reads: a select, a set operation, a read-only CTE, a prepared select, iter
    assert.is_true(where_run(db:select{ s = standby }))
    assert.are.equal("Eve", db:select{ name = A.name }:from(A):where(A.id:eq(eve.id)):one().name)
    assert.is_true(where_run(db:select{ s = standby }:union(db:select{ s = standby })))
    local named = db:select{ id = A.id }:from(A):as "named"
    assert.is_true(where_run(db:with(named):select{ s = standby }))
    local p = db:select{ s = standby, id = A.id }:from(A):where(A.id:eq(tide.placeholder "id")):prepare()
    assert.is_true(p:one{ id = eve.id }.s)
    local seen = {}
    for row in db:select{ s = standby, title = B.title }:from(B):where(B.author_id:eq(eve.id)):iter() do
      seen[#seen + 1] = row
    end
    assert.are.same({ { s = true, title = "E1" } }, seen)
    for row in db.Book:where{ author_id = eve.id }:iter() do assert.are.equal("E1", row.title) end
    for row in db:iter("select pg_is_in_recovery() as s") do assert.is_true(row.s) end
    assert.are.equal(p0, statements(prim)) -- not one of them reached the primary
    assert.is_true(statements(rep) > r0)
    -- to the primary: a lock, a writing CTE, a transaction's, db:primary()'s
    r0 = statements(rep)
    assert.is_false(db:select{ s = standby, id = A.id }:from(A):where(A.id:eq(eve.id)):for_update():one().s)
    local renamed = db:update(A):set{ name = "Eve B." }:where(A.id:eq(eve.id)):returning{ id = A.id }:as "renamed"
    assert.is_false(where_run(db:with(renamed):select{ s = standby }))
    db:transaction(function(tx)
      assert.is_false(tx:select{ s = standby }:one().s)
      for row in tx:select{ s = standby }:iter() do assert.is_false(row.s) end
    end)
    assert.is_false(where_run(db:primary():select{ s = standby }))
    for row in db:primary():select{ s = standby }:iter() do assert.is_false(row.s) end
    assert.are.equal(r0, statements(rep))
  end)

  it("a db:timeout view routes its reads as the db does, with its deadline on the replica", function()
    local view = db:timeout(0.3)
    assert.is_true(view:one("select pg_is_in_recovery() as s").s)
    assert.is_true(view:query("select pg_is_in_recovery() as s")[1].s)
    local e = helper.raises(view.one, view, "select pg_sleep(3) as s")
    assert.are.equal("query_canceled", e.code)
    local standby = tide.sql("pg_is_in_recovery()")
    assert.is_true(view:select{ s = standby }:one().s)
    assert.are.equal("query_canceled", helper.raises(function()
      return view:select{ s = tide.sql("pg_sleep(3) is null") }:one()
    end).code)
  end)

  it("runs middleware once on routed reads", function()
    local mdb = tide.connect{ primary = P, replicas = { R }, schema = schema() }
    local seen = {}
    mdb:use(function(params, next)
      seen[#seen + 1] = params.model .. "." .. params.operation
      return next(params)
    end)
    mdb.Author:count()
    mdb.Author:find_many{ take = 1 }
    mdb:primary().Author:count()
    assert.are.same({ "Author.count", "Author.find_many", "Author.count" }, seen)
    mdb:close()
  end)

  it("round-robins across replicas, or asks replica_chooser", function()
    local rr = tide.connect{ primary = P, replicas = { R, R }, schema = schema() }
    local a, b = rr:replicas()[1], rr:replicas()[2]
    rr.Author:count() -- each replica prepares the statement once
    rr.Author:count()
    local a0, b0 = statements(a), statements(b)
    for _ = 1, 4 do rr.Author:count() end
    assert.are.equal(a0 + 2, statements(a))
    assert.are.equal(b0 + 2, statements(b))
    rr:close()

    local given
    local chosen = tide.connect{ primary = P, replicas = { R, R }, schema = schema(),
      replica_chooser = function(list)
        given = list
        return list[2]
      end }
    local x, y = chosen:replicas()[1], chosen:replicas()[2]
    local x0, y0 = statements(x), statements(y)
    chosen.Author:count()
    chosen:query("select 1")
    assert.are.equal(2, #given)
    assert.are.equal(x, given[1])
    assert.are.equal(x0, statements(x))
    assert.is_true(statements(y) >= y0 + 2)
    chosen:close()

    local to_primary = tide.connect{ primary = P, replicas = { R }, replica_chooser = function() return nil end }
    assert.is_false(to_primary:one("select pg_is_in_recovery() as s").s)
    to_primary:close()
    local by_index = tide.connect{ primary = P, replicas = { R }, replica_chooser = function() return 1 end }
    assert.is_true(by_index:one("select pg_is_in_recovery() as s").s)
    by_index:close()
    local wrong = tide.connect{ primary = P, replicas = { R }, replica_chooser = function() return "x" end }
    local e = helper.raises(wrong.one, wrong, "select 1")
    assert.matches("replica_chooser must return", e)
    wrong:close()
  end)

  it("names the caller's line in errors raised inside a routed read", function()
    local ok, e = pcall(function()
      local r = db.Book:find_many{ include = { author = { take = 1 } } }
      return r
    end)
    assert.is_false(ok)
    assert.matches("replicas_spec%.lua:%d+: include author", e)
    ok, e = pcall(function()
      local r = db.Book:count(7)
      return r
    end)
    assert.matches("replicas_spec%.lua:%d+: bad argument #1 to 'count'", e)
  end)

  it("checks its options", function()
    assert.matches("give the URL as url or as primary",
      helper.raises(tide.connect, P, { primary = P }))
    assert.matches("replica_chooser and replica_retry need replicas",
      helper.raises(tide.connect, { primary = P, replica_retry = 1 }))
    assert.matches("replicas%[1%] must be a string", helper.raises(tide.connect, { primary = P, replicas = { 5 } }))
    assert.matches("unknown option 'replica'", helper.raises(tide.connect, { primary = P, replica = { R } }))
    local e = helper.raises(tide.connect, { primary = P, replicas = { "postgresql://x@/db?nonsense=1" } })
    assert.are.equal("invalid_argument", e.code)
    local plain = tide.connect(P)
    assert.are.equal(plain, plain:primary())
    assert.are.same({}, plain:replicas())
    assert.matches("1 replica%)$", tostring(tide.connect{ primary = P, replicas = { R } }))
    plain:close()
  end)

  it("reads from the primary while a replica is down, and from the replica again later", function()
    -- a replica that is down when connecting: connect works, reads go to the primary
    local dead = tide.connect{ primary = P, replicas = { "postgresql://tide@127.0.0.1:1/postgres" } }
    assert.is_false(dead:one("select pg_is_in_recovery() as s").s)
    assert.are.equal(0, dead:replicas()[1]:stats().open)
    dead:close()

    local rdb = tide.connect{ primary = P, replicas = { R }, replica_retry = 1, schema = schema() }
    assert.is_true(rdb:one("select pg_is_in_recovery() as s").s)
    pg_ctl("-m fast -w stop")
    local ok, err = pcall(function()
      for _ = 1, 3 do
        assert.is_false(rdb:one("select pg_is_in_recovery() as s").s)
        assert.is_number(rdb.Author:count())
      end
    end)
    pg_ctl("-w -t 60 start")
    assert(ok, err)
    -- the replica is tried again once replica_retry has passed
    local back = false
    for _ = 1, 300 do
      local s = rdb:one("select pg_is_in_recovery() as s").s
      if s then back = true; break end
      sleep(0.05)
    end
    assert.is_true(back)
    rdb:close()
  end)
end)

describe("multi-host URLs", function()
  local pport, rport = port_of(P), port_of(R)

  it("connect to the second host when the first is down", function()
    local db = tide.connect(("postgresql://tide@127.0.0.1:1,127.0.0.1:%d/postgres"):format(pport))
    assert.are.equal(pport, db:one("select inet_server_port() as p").p)
    assert.are.equal(("postgresql://tide@127.0.0.1:1,127.0.0.1:%d/postgres"):format(pport), db:describe())
    db:close()
  end)

  it("pass target_session_attrs through to libpq", function()
    local rw = tide.connect(("postgresql://tide@127.0.0.1:%d,127.0.0.1:%d/postgres?target_session_attrs=read-write")
      :format(rport, pport))
    local row = rw:one("select inet_server_port() as p, pg_is_in_recovery() as s")
    assert.are.equal(pport, row.p) -- the replica, listed first, was skipped
    assert.is_false(row.s)
    rw:close()
    local standby = tide.connect(("postgresql://tide@127.0.0.1:%d,127.0.0.1:%d/postgres?target_session_attrs=standby")
      :format(pport, rport))
    assert.are.equal(rport, standby:one("select inet_server_port() as p").p)
    standby:close()
    local e = helper.raises(tide.connect,
      ("postgresql://tide:s3cretpw@127.0.0.1:%d/postgres?target_session_attrs=read-write"):format(rport))
    assert.are.equal("connection_failure", e.code)
    assert.is_nil(tostring(e):find("s3cretpw", 1, true))
  end)
end)
