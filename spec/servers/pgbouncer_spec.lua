-- tide behind PgBouncer 1.18 in transaction mode (pgbouncer = true).
-- Needs scripts/with-pg.sh with TIDE_PG_PGBOUNCER=1 (ctest runs it so): 3
-- server connections used round robin, so consecutive round trips of one
-- client connection land on different server connections.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local B = os.getenv "TIDE_TEST_PGBOUNCER_URL"
assert(B, "TIDE_TEST_PGBOUNCER_URL is not set: run under TIDE_PG_PGBOUNCER=1 scripts/with-pg.sh")

local function schema()
  local s = tide.schema()
  s:model "Owner" {
    t.bigserial "id" :primary(),
    t.text "name" :unique(),
    t.bytea "avatar" :nullable(),
    t.jsonb "meta" :nullable(),
    pets = tide.has_many "Pet",
  }
  s:model "Pet" {
    t.bigserial "id" :primary(),
    t.text "name",
    t.int "age" :default(1),
    t.bigint "owner_id" :references("Owner"),
    owner = tide.belongs_to "Owner",
  }
  return s
end

local function distinct(list)
  local seen, n = {}, 0
  for _, v in ipairs(list) do
    if not seen[v] then seen[v] = true; n = n + 1 end
  end
  return n
end

describe("behind PgBouncer in transaction mode", function()
  local db
  setup(function()
    db = tide.connect(B, { pgbouncer = true, schema = schema(), pool = { max = 6 } })
    db:exec("drop table if exists pets, owners")
    db:push()
    -- PgBouncer opens server connections on demand: three transactions open
    -- at once make it open all three, which it then uses round robin
    local txs = {}
    for i = 1, 3 do txs[i] = db:begin() end
    for i = 1, 3 do txs[i]:one("select 1") end
    for i = 1, 3 do txs[i]:commit() end
  end)
  teardown(function() db:close() end)

  it("needs pgbouncer = true: PgBouncer refuses tide's startup options", function()
    local e = helper.raises(tide.connect, B)
    assert.are.equal("connection_failure", e.code)
    assert.matches("unsupported startup parameter: options", e.message)
    e = helper.raises(tide.connect, B, { pgbouncer = true, statement_timeout = 5 })
    assert.are.equal("invalid_argument", e.code)
    assert.matches("ALTER ROLE", e.message)
  end)

  it("spreads one connection's round trips over server connections (the hazard is real)", function()
    local conn <close> = db:acquire()
    local pids = {}
    for i = 1, 9 do pids[i] = conn:one("select pg_backend_pid() as p, $1::int as i", i).p end
    assert.is_true(distinct(pids) >= 2)
    -- what named prepared statements would meet: prepared on one server
    -- connection, missing on the next
    conn:exec("prepare tide_spec_named as select 1")
    local missing = 0
    for _ = 1, 6 do
      if not pcall(conn.exec, conn, "execute tide_spec_named") then missing = missing + 1 end
    end
    assert.is_true(missing > 0)
  end)

  it("runs the model client", function()
    local ann = db.Owner:create{ data = { name = "Ann", avatar = "\0\1\\101\255", meta = { tags = { 1, 2 } } } }
    assert.are.equal("\0\1\\101\255", ann.avatar) -- bytea bound binary-safe
    assert.are.same({ tags = { 1, 2 } }, ann.meta)
    db.Pet:create_many{ data = { { name = "Rex", owner_id = ann.id }, { name = "Tom", age = 3, owner_id = ann.id } } }
    local bob = db.Owner:create{ data = { name = "Bob", pets = { create = { { name = "Kit" } } } } }
    local owners = db.Owner:find_many{ where = { name = { in_ = { "Ann", "Bob" } } },
      include = { pets = { order_by = { name = "asc" } } }, order_by = { name = "asc" } }
    assert.are.equal(2, #owners)
    assert.are.same({ "Rex", "Tom" }, { owners[1].pets[1].name, owners[1].pets[2].name })
    assert.are.equal("Kit", owners[2].pets[1].name)
    assert.are.equal(3, db.Pet:count())
    assert.are.equal(5, db.Pet:aggregate{ _sum = { age = true } }._sum.age)
    assert.are.equal(2, #db.Pet:group_by{ by = { "owner_id" }, _count = true })
    db.Pet:update_many{ where = { owner_id = bob.id }, data = { age = { increment = 1 } } }
    assert.are.equal(2, db.Pet:find_first{ where = { name = "Kit" } }.age)
    db.Owner:upsert{ where = { name = "Cy" }, create = { name = "Cy" }, update = {} }
    assert.is_table(db.Owner:find_unique{ where = { name = "Cy" } })
    assert.are.equal(1, db.Pet:delete_many{ where = { name = "Tom" } })
    local dup = helper.raises(db.Owner.create, db.Owner, { data = { name = "Ann" } })
    assert.are.equal("unique_violation", dup.code)
    -- the client-side checks learnt from the server's parameter types stay
    local bad = helper.raises(db.Pet.find_many, db.Pet, { where = { age = 1.5 } })
    assert.are.equal("invalid_argument", bad.code)
  end)

  it("runs transactions on one server connection", function()
    local before = db.Pet:count()
    local pids = db:transaction(function(tx)
      local own = tx.Owner:create{ data = { name = "Dee" } }
      tx.Pet:create{ data = { name = "Fin", owner_id = own.id } }
      local seen = {}
      for i = 1, 5 do seen[i] = tx:one("select pg_backend_pid() as p, $1::int as i", i).p end
      assert.are.equal(before + 1, tx.Pet:count())
      return seen
    end)
    assert.are.equal(1, distinct(pids))
    assert.are.equal(before + 1, db.Pet:count())
    local e = helper.raises(db.transaction, db, function(tx)
      tx.Pet:create{ data = { name = "Gone", owner_id = 1 } }
      tx:transaction(function(inner) inner.Pet:create{ data = { name = "Gone too", owner_id = 1 } } end)
      error("roll back")
    end)
    assert.matches("roll back", e)
    assert.are.equal(before + 1, db.Pet:count())
  end)

  it("runs many parameterized statements from a pool of several connections", function()
    local conns = {}
    for i = 1, 6 do conns[i] = db:acquire() end
    local pids = {}
    for round = 1, 20 do
      for i, c in ipairs(conns) do
        local k = (round * 7 + i) % 10
        -- ten statement texts, each new to each connection once
        local sql = ("select $1::int + %d as v, $2::text || '%d' as s, pg_backend_pid() as p"):format(k, k)
        local row = c:one(sql, round, "r")
        assert.are.equal(round + k, row.v)
        assert.are.equal("r" .. k, row.s)
        pids[#pids + 1] = row.p
      end
    end
    for _, c in ipairs(conns) do c:release() end
    assert.is_true(distinct(pids) >= 2 and distinct(pids) <= 3) -- PgBouncer's server connections
    local rows = db:query("select x from generate_series(1, $1::int) x where x = any($2)", 100, { 3, 50, 99 })
    assert.are.equal(3, #rows)
    assert.are.equal(6, db:stats().open)
  end)
end)
