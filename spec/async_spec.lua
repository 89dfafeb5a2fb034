-- Queries inside coroutines yield instead of blocking: tasks share the pool
-- with their queries in flight at once; the same code blocks outside a
-- coroutine; hosts may resume coroutines themselves; abandoned coroutines
-- give their connections back.
local tide = require "tide"
local helper = require "helper"

local now = tide.clock

describe("coroutines", function()
  local db
  setup(function()
    db = tide.connect(helper.fresh_database("tide_async_spec"),
      { schema = helper.example_schema("blog"), pool = { max = 4, acquire_timeout = 5 } })
    db:push()
  end)
  teardown(function() db:close() end)
  before_each(function()
    db:exec("truncate users, profiles, posts, comments, categories, tags, posts_tags restart identity cascade")
  end)
  after_each(function()
    tide.on_ready, tide.on_error = nil, nil
    tide.set_async(true)
    while tide.pending_count() > 0 do tide.poll(1) end
    assert.are.equal(0, db:stats().in_use)
  end)

  it("runs the queries of several tasks at once over the pool", function()
    local got = {}
    local t0 = now()
    for i = 1, 4 do
      tide.spawn(function()
        got[i] = db:one("select $1::int as v from pg_sleep(0.3)", i).v
      end)
    end
    assert.are.equal(4, tide.pending_count()) -- all four in flight, none answered
    assert.are.same({}, got)
    while tide.pending_count() > 0 do tide.poll(1) end
    local took = now() - t0
    assert.are.same({ 1, 2, 3, 4 }, got)
    assert.is_true(took < 0.9, "took " .. took) -- one after another: 1.2 s
  end)

  it("queues more tasks than connections and answers each", function()
    local sum = 0
    tide.run(function()
      for i = 1, 40 do
        tide.spawn(function()
          local v = db:one("select $1::int * 2 as v", i).v -- (read sum after the wait, not before)
          sum = sum + v
        end)
      end
    end)
    assert.are.equal(40 * 41, sum)
    assert.is_true(db:stats().opened <= 4)
  end)

  it("runs the same code unchanged outside a coroutine, where it blocks", function()
    local function work()
      local u = db.User:create{ data = { email = "same@x", password_hash = "h" } }
      return db.User:find_unique{ where = { id = u.id } }.email
    end
    assert.are.equal("same@x", work())
    db:exec("truncate users cascade")
    assert.are.equal("same@x", tide.run(work))
  end)

  it("yields in the model client: includes, nested writes, counts", function()
    local author = tide.run(function()
      db.User:create{ data = { email = "ann@x", password_hash = "h",
        profile = { create = { bio = "hi" } },
        posts = { create = { { title = "a", published = true }, { title = "b" } } } } }
      return db.User:find_unique{ where = { email = "ann@x" },
        include = { profile = true, posts = { order_by = { title = "asc" } } } }
    end)
    assert.are.equal("hi", author.profile.bio)
    assert.are.same({ "a", "b" }, { author.posts[1].title, author.posts[2].title })
    local counts = {}
    tide.run(function()
      for i = 1, 3 do
        tide.spawn(function() counts[i] = db.Post:count{ where = { published = i ~= 2 } } end)
      end
    end)
    assert.are.same({ 1, 1, 1 }, counts)
  end)

  it("interleaves transactions, and a failed one leaves nothing behind", function()
    local order = {}
    local ok_task = tide.spawn(function()
      return db:transaction(function(tx)
        tx.User:create{ data = { email = "kept@x", password_hash = "h" } }
        order[#order + 1] = "kept: created"
        tx:exec("select pg_sleep(0.2)")
        return "committed"
      end)
    end)
    local bad_task = tide.spawn(function()
      db:transaction(function(tx)
        tx.User:create{ data = { email = "lost@x", password_hash = "h" } }
        order[#order + 1] = "lost: created"
        tx:exec("select pg_sleep(0.1)")
        tx.User:create{ data = { email = "kept@x", password_hash = "h" } } -- waits on the other's row, then fails
      end)
    end)
    assert.are.equal("committed", ok_task:wait())
    local e = helper.raises(bad_task.wait, bad_task)
    assert.are.equal("unique_violation", e.code)
    table.sort(order)
    assert.are.same({ "kept: created", "lost: created" }, order)
    assert.are.same({ "kept@x" }, (function()
      local r = {}
      for _, u in ipairs(db.User:find_many{ order_by = { email = "asc" } }) do r[#r + 1] = u.email end
      return r
    end)())
  end)

  it("lets a host resume its own coroutines, or take them through tide.on_ready", function()
    local co = coroutine.create(function() return db:one("select 7 as v").v end)
    local ok, yielded = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal(tide.pending, yielded)
    -- resumed early by the host: it waits on
    ok, yielded = coroutine.resume(co)
    assert.are.equal(tide.pending, yielded)
    while coroutine.status(co) ~= "dead" do tide.poll(1) end -- tide resumes it

    local ready = {}
    tide.on_ready = function(c) ready[#ready + 1] = c end
    local co2 = coroutine.create(function() return db:one("select 8 as v").v end)
    coroutine.resume(co2)
    while #ready == 0 do tide.poll(1) end
    assert.are.equal(co2, ready[1])
    assert.are.equal("suspended", coroutine.status(co2)) -- the host's to resume
    local ok2, v = coroutine.resume(co2)
    assert.are.same({ true, 8 }, { ok2, v })
  end)

  it("gives back the connection of a coroutine that is abandoned mid-transaction", function()
    local co = coroutine.create(function()
      db:transaction(function(tx)
        tx:exec("insert into categories (name, slug) values ('gone', 'gone')")
        tx:exec("select pg_sleep(0.2)")
        error("never reached")
      end)
    end)
    coroutine.resume(co)
    assert.are.equal(1, db:stats().in_use)
    co = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    local t0 = now()
    while (db:stats().in_use > 0 or tide.pending_count() > 0) and now() - t0 < 5 do tide.poll(0.1) end
    assert.are.equal(0, db:stats().in_use)
    assert.are.equal(0, db.Category:count())
  end)

  it("reports a task's error to task:wait, or else to tide.on_error", function()
    local t = tide.spawn(function() db:query("selec 1") end)
    local e = helper.raises(t.wait, t)
    assert.are.equal("database_error", e.code)
    assert.are.equal("42601", e.sqlstate)

    local seen
    tide.on_error = function(err) seen = err end
    tide.spawn(function() db:query("select 1/0") end)
    while not seen do tide.poll(1) end
    assert.are.equal("22012", seen.sqlstate)
  end)

  it("joins a task from another task", function()
    local r = tide.run(function()
      local a = tide.spawn(function() return db:one("select 20 as v from pg_sleep(0.05)").v end)
      local b = tide.spawn(function() return db:one("select 22 as v").v end)
      return a:wait() + b:wait()
    end)
    assert.are.equal(42, r)
  end)

  it("times out an acquire with pool_timeout when the pool stays busy", function()
    local small = tide.connect(helper.url(), { pool = { max = 1, acquire_timeout = 0.2 } })
    local holder = tide.spawn(function() small:query("select pg_sleep(0.6)") end)
    local waiter = tide.spawn(function() small:query("select 1") end)
    local e = helper.raises(waiter.wait, waiter)
    assert.are.equal("pool_timeout", e.code)
    assert.matches("pool of 1", e.message)
    holder:wait()
    small:close()
  end)

  it("keeps the middleware's nested flag per coroutine", function()
    db.User:create{ data = { email = "m@x", password_hash = "h", posts = { create = { { title = "p" } } } } }
    local seen = {}
    db:use(function(p, next)
      seen[#seen + 1] = p.operation .. (p.nested and " nested" or "")
      return next(p)
    end)
    tide.run(function()
      tide.spawn(function() db.User:find_many{ include = { posts = true } } end)
      tide.spawn(function() db.Tag:find_many{} end)
    end)
    rawset(db, "_middleware", nil)
    table.sort(seen)
    assert.are.same({ "find_many", "find_many", "find_many nested" }, seen)
  end)

  it("blocks inside coroutines when told to", function()
    tide.set_async(false)
    local co = coroutine.create(function() return db:one("select 3 as v").v end)
    assert.are.same({ true, 3 }, { coroutine.resume(co) })
  end)

  it("shows a host loop its sockets and deadline", function()
    local fds = tide.fds()
    assert.are.equal(1, #fds) -- the wake-up descriptor
    tide.spawn(function() db:query("select pg_sleep(0.1)") end)
    fds = tide.fds()
    assert.are.equal(2, #fds)
    assert.is_true(fds[2].read or fds[2].write)
    while tide.pending_count() > 0 do db:poll(1) end
  end)
end)
