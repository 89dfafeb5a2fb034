-- find_unique batching (Prisma's dataloader): inside coroutines, lookups by
-- the same unique field of the same model made before the loop next polls
-- become one statement, and each caller gets its own row.
local tide = require "tide"
local helper = require "helper"

describe("find_unique batching", function()
  local db
  setup(function()
    db = tide.connect(helper.fresh_database("tide_batching_spec"),
      { schema = helper.example_schema("blog"), pool = { max = 2 } })
    db:push()
    for i = 1, 30 do db.User:create{ data = { email = ("u%d@x"):format(i), password_hash = "h" } } end
    db.Tag:create_many{ data = { { name = "lua" }, { name = "pg" } } }
  end)
  teardown(function() db:close() end)
  after_each(function() rawset(db, "_middleware", nil) end)

  -- statements sent by fn, once its shapes are prepared on both connections
  local function statements(fn)
    for _ = 1, 3 do fn() end
    local before = db:stats().statements
    local r = fn()
    return db:stats().statements - before, r
  end

  local function lookups(ids, field)
    return function()
      local got = {}
      tide.run(function()
        for i, id in ipairs(ids) do
          tide.spawn(function()
            local u = db.User:find_unique{ where = { [field or "id"] = id } }
            got[i] = u and u.email or false
          end)
        end
      end)
      return got
    end
  end

  it("merges lookups by primary key into one statement, each caller getting its row", function()
    local ids = {}
    for i = 1, 25 do ids[i] = i end
    ids[26] = 999 -- no such user
    local n, got = statements(lookups(ids))
    assert.are.equal(1, n)
    for i = 1, 25 do assert.are.equal(("u%d@x"):format(i), got[i]) end
    assert.is_false(got[26])
  end)

  it("merges lookups by another unique field", function()
    local n, got = statements(lookups({ "u3@x", "u7@x", "nobody@x" }, "email"))
    assert.are.equal(1, n)
    assert.are.same({ "u3@x", "u7@x", false }, got)
  end)

  it("keeps different models apart, and runs the same shape twice in one batch once", function()
    local n, r = statements(function()
      local r = {}
      tide.run(function()
        tide.spawn(function() r.a = db.User:find_unique{ where = { id = 4 } }.email end)
        tide.spawn(function() r.b = db.User:find_unique{ where = { id = 4 } }.email end)
        tide.spawn(function() r.tag = db.Tag:find_unique{ where = { name = "pg" } }.id end)
      end)
      return r
    end)
    assert.are.equal(2, n)
    assert.are.same({ a = "u4@x", b = "u4@x", tag = 2 }, r)
  end)

  it("leaves other shapes, transactions and plain code alone", function()
    local n = statements(function()
      tide.run(function()
        for i = 1, 3 do
          tide.spawn(function() db.User:find_unique{ where = { id = i }, select = { email = true } } end)
        end
      end)
    end)
    assert.are.equal(3, n)
    n = statements(function()
      tide.run(function()
        db:transaction(function(tx)
          for i = 1, 3 do tx.User:find_unique{ where = { id = i } } end
        end)
      end)
    end)
    assert.are.equal(5, n) -- begin, three lookups, commit
    n = statements(function()
      for i = 1, 3 do db.User:find_unique{ where = { id = i } } end
    end)
    assert.are.equal(3, n)
  end)

  it("lets middleware see every lookup, and still merges them", function()
    local seen = 0
    db:use(function(p, next)
      if p.operation == "find_unique" then seen = seen + 1 end
      return next(p)
    end)
    local n, got = statements(lookups({ 1, 2, 3, 4 }))
    assert.are.equal(1, n)
    assert.are.equal(16, seen) -- four per run, four runs
    assert.are.same({ "u1@x", "u2@x", "u3@x", "u4@x" }, got)
  end)

  it("gives each caller its own answer when one value fails the merged statement", function()
    local errors = {}
    tide.run(function()
      for i = 1, 3 do
        tide.spawn(function()
          -- 2^40 does not fit Tag.id (a serial): the merged statement fails
          local ok, e = pcall(db.Tag.find_unique, db.Tag, { where = { id = i == 2 and 1 << 40 or i } })
          errors[i] = not ok and e.code or "ok"
        end)
      end
    end)
    assert.are.same({ "ok", "database_error", "ok" }, errors)
  end)

  it("raises not found from find_unique_or_throw for the missing one only", function()
    local r = {}
    tide.run(function()
      for i, id in ipairs({ 5, 777 }) do
        tide.spawn(function()
          local ok, e = pcall(db.User.find_unique_or_throw, db.User, { where = { id = id } })
          r[i] = ok and e.email or e.code
        end)
      end
    end)
    assert.are.same({ "u5@x", "not_found" }, r)
  end)
end)
