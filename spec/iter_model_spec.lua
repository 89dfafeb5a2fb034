-- Streaming through the model client (find_many_iter{...}, the chain's
-- :iter()): the rows find_many gives, include and all, a batch at a time.
local tide = require "tide"
local helper = require "helper"
local fixture = require "iter_fixture"
local collect = fixture.collect

describe("model client iter", function()
  local db
  setup(function() db = fixture.connect("tide_iter_model") end)
  teardown(function() db:close() end)
  after_each(function() assert.are.equal(0, db:stats().in_use) end)

  it("gives the rows find_many gives, across batches: codecs, omit, include, _count, select", function()
    local users = collect(db.User:find_many_iter())
    assert.are.same(db.User:find_many(), users)
    assert.are.equal("red", users[1].color)
    assert.is_nil(users[1].secret)
    for _, args in ipairs {
      { order_by = { id = "asc" } },
      { where = { n = { gt = 100 } }, include = { author = true, comments = { order_by = { id = "desc" } } },
        order_by = { id = "asc" } },
      { select = { title = true, author = { select = { color = true } } }, order_by = { id = "desc" } },
      { select = { comments = true }, where = { n = { lte = 700 } }, order_by = { id = "asc" } }, -- key dropped
      { include = { _count = { select = { comments = true } } }, order_by = { id = "asc" }, skip = 10, take = 600 },
    } do
      local rows = collect(db.Post:find_many_iter(args))
      assert.are.same(db.Post:find_many(args), rows)
      assert.is_true(#rows >= 600)
    end
    local q = db.Post:where{ title = { contains = "1" } }:where{ n = { lt = 1000 } }:order_by("n", "desc")
    assert.are.same(q:all(), collect(q:iter()))
  end)

  it("sends one FETCH per batch, whatever the include", function()
    assert.are.equal(2, fixture.extra_statements(db, function(n)
      return db.Post:find_many_iter{ where = { n = { lte = n } },
        include = { author = true, comments = { include = { post = true } } } }
    end))
  end)

  it("refuses the query strategy and bad arguments, naming them", function()
    local e = helper.raises(function()
      local it = db.Post:find_many_iter{ include = { author = true }, relation_load_strategy = "query" }
      return it
    end)
    assert.are.equal("invalid_argument", e.code)
    assert.matches("find_many_iter loads include with the 'join' strategy", e.message)
    assert.matches("bad argument #1 to 'find_many_iter' %(table expected, got number%)",
      helper.raises(db.Post.find_many_iter, db.Post, 5))
    assert.matches("unknown field 'titel' on Post; did you mean 'title'",
      tostring(helper.raises(db.Post.find_many_iter, db.Post, { where = { titel = "x" } })))
  end)

  it("passes through middleware as find_many_iter, whose args it may change", function()
    local mdb = tide.connect(tide.url_with_database(helper.url(), "tide_iter_model"), { schema = fixture.schema() })
    local seen = {}
    mdb:use(function(params, next)
      seen[#seen + 1] = params.model .. "." .. params.operation
      local a = {}
      for k, v in pairs(params.args or {}) do a[k] = v end
      a.where = { author_id = 1 } -- a tenant's scope
      params.args = a
      return next(params)
    end)
    local rows = collect(mdb.Post:find_many_iter{ where = { n = { lte = 10 } } })
    assert.are.same({ "Post.find_many_iter" }, seen)
    assert.are.equal(617, #rows) -- the middleware's where replaced the caller's
    for _, r in ipairs(rows) do assert.are.equal(1, r.author_id) end
    mdb:close()
  end)

  it("streams inside a transaction and inside tasks", function()
    local ok = pcall(db.transaction, db, function(tx)
      tx.User:create{ data = { name = "Cy", color = "blue" } }
      local names = {}
      for u in tx.User:find_many_iter{ order_by = { id = "asc" }, include = { posts = { take = 1 } } } do
        names[#names + 1] = u.name .. ":" .. u.color .. ":" .. #u.posts
        for p in tx.Post:where{ author_id = u.id }:iter() do assert.are.equal(u.id, p.author_id) end
      end
      assert.are.same({ "Ann:red:1", "Bob:nil:1", "Cy:blue:0" }, names)
      error("roll it back")
    end)
    assert.is_false(ok)
    assert.are.equal(2, db.User:count())
    local total = 0
    tide.run(function()
      for _ = 1, 3 do
        tide.spawn(function()
          for row in db.Post:find_many_iter{ select = { n = true } } do total = total + row.n end
        end)
      end
    end)
    assert.are.equal(3 * fixture.posts * (fixture.posts + 1) // 2, total)
  end)
end)
