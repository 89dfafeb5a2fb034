-- Streaming builder selects (q:iter(), p:iter{...}): the rows all() gives,
-- a batch at a time, with the connection given back however the loop ends.
local tide = require "tide"
local helper = require "helper"
local fixture = require "iter_fixture"
local collect = fixture.collect

describe("builder iter", function()
  local db, U, P
  setup(function()
    local s
    db, s = fixture.connect("tide_iter_builder")
    U, P = s.User, s.Post
  end)
  teardown(function() db:close() end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  it("gives the rows all() gives, across batches: nested tables, codecs, set operations", function()
    local joined = db:select():from(P):inner_join(U, P.author_id:eq(U.id)):order_by(P.id)
    local rows = collect(joined:iter())
    assert.are.equal(fixture.posts, #rows)
    assert.are.same(joined:all(), rows)
    assert.are.equal("red", rows[2].users.color) -- decoded by the codec (Ann's post)
    assert.are.equal(3, rows[3].posts.meta.g)
    local named = db:select{ id = P.id, who = { name = U.name, color = U.color } }
      :from(P):left_join(U, P.author_id:eq(U.id)):where(P.n:gt(600)):order_by(tide.desc(P.id))
    assert.are.same(named:all(), collect(named:iter()))
    local union = db:select{ n = P.n }:from(P):where(P.n:lte(10))
      :union_all(db:select{ n = P.n }:from(P):where(P.n:gt(1000))):order_by("n")
    local u = collect(union:iter())
    assert.are.equal(10 + fixture.posts - 1000, #u)
    assert.are.same(union:all(), u)
  end)

  it("sends one FETCH per batch of rows", function()
    local p = db:select{ id = P.id, author = U.name }:from(P):inner_join(U, P.author_id:eq(U.id))
      :where(P.n:lte(tide.placeholder "upto")):prepare()
    -- 3 fetches of 500 against 1
    assert.are.equal(2, fixture.extra_statements(db, function(n) return p:iter{ upto = n } end))
  end)

  it("gives the connection back on break, on error, and on a failure mid-stream", function()
    for row in db:select{ n = P.n }:from(P):order_by(P.n):iter() do
      if row.n == 3 then break end
    end
    local ok, e = pcall(function()
      for row in db:select{ n = P.n }:from(P):iter() do
        if row.n == 700 then error("stop here") end
      end
    end)
    assert.is_false(ok)
    assert.matches("stop here", e)
    local seen = 0
    local e2 = helper.raises(function()
      -- (no order_by: the rows are computed as they are fetched)
      for _ in db:select{ x = tide.sql("1 / (700 - ?)", P.n) }:from(P):iter() do seen = seen + 1 end
    end)
    assert.are.equal("22012", e2.sqlstate) -- division by zero, in the second batch
    assert.are.equal(500, seen)
  end)

  it("binds placeholders of prepared queries, and refuses what cannot stream", function()
    local p = db:select{ n = P.n }:from(P):where(P.n:between(tide.placeholder "lo", tide.placeholder "hi"))
      :order_by(P.n):prepare()
    assert.are.same({ { n = 5 }, { n = 6 } }, collect(p:iter{ lo = 5, hi = 6 }))
    assert.matches("no value for placeholder 'hi'", helper.raises(p.iter, p, { lo = 5 }))
    assert.matches("no value for placeholder 'id'",
      helper.raises(function() return db:select():from(P):where(P.id:eq(tide.placeholder "id")):iter() end))
    local e = helper.raises(function()
      local it = db:insert(U):values{ name = "Cy" }:returning():iter()
      return it
    end)
    assert.matches("iter_builder_spec.lua:%d+: iter: only a select streams", e)
    assert.matches("returning%(%) and all%(%)", e)
  end)

  it("streams inside a transaction, nested, and inside tasks", function()
    db:transaction(function(tx)
      tx:insert(U):values{ name = "Uncommitted" }:exec()
      local names = {}
      for u in tx:select{ id = U.id, name = U.name }:from(U):order_by(U.id):iter() do
        local n = 0
        for _ in tx:select{ id = P.id }:from(P):where(P.author_id:eq(u.id)):iter() do n = n + 1 end
        names[#names + 1] = u.name .. ":" .. n
      end
      assert.are.same({ "Ann:617", "Bob:617", "Uncommitted:0" }, names)
    end)
    local total = 0
    tide.run(function()
      for _ = 1, 3 do
        tide.spawn(function()
          for row in db:select{ n = P.n }:from(P):iter() do total = total + row.n end
        end)
      end
    end)
    assert.are.equal(3 * fixture.posts * (fixture.posts + 1) // 2, total)
  end)
end)
