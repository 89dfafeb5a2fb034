-- tide.seed: the same seed gives the same rows; counts, children per
-- parent, unique values, enums and generators hold.
local tide = require "tide"
local helper = require "helper"

describe("tide.seed", function()
  local function seeded(dbname, plan)
    local db = tide.connect(helper.fresh_database(dbname), { schema = helper.example_schema("blog"), pool = { max = 2 } })
    db:push()
    local made = tide.seed(db, plan)
    return db, made
  end

  local plan = {
    seed = 42,
    Category = { count = 3 },
    User = { count = 6, with = { posts = { 1, 3 }, profile = 1 },
             columns = { role = tide.seed.weighted{ { "admin", 1 }, { "user", 9 } } } },
    Post = { with = { comments = 2 }, columns = { views = tide.seed.int(10, 20) } },
    Tag = { count = 60 },
  }

  it("makes the same rows from the same seed", function()
    local a = seeded("tide_seed_a", plan)
    local b = seeded("tide_seed_b", plan)
    local function dump(db)
      local out = {}
      for _, u in ipairs(db.User:find_many{ order_by = { id = "asc" }, include = { posts = { order_by = { id = "asc" } } } }) do
        out[#out + 1] = u.email .. "|" .. u.name .. "|" .. u.role
        for _, p in ipairs(u.posts) do out[#out + 1] = p.title .. "|" .. p.views .. "|" .. tostring(p.category_id) end
      end
      return table.concat(out, "\n")
    end
    assert.are.equal(dump(a), dump(b))
    local c = seeded("tide_seed_c", { seed = 43, User = plan.User, Post = plan.Post, Category = plan.Category })
    assert.are_not.equal(dump(a), dump(c))
    a:close(); b:close(); c:close()
  end)

  it("keeps counts, children per parent, unique values and enums", function()
    local db, made = seeded("tide_seed_d", plan)
    assert.are.equal(6, db.User:count())
    assert.are.equal(6, db.Profile:count())
    for _, u in ipairs(db.User:find_many{ include = { _count = { select = { posts = true } } } }) do
      assert.is_true(u._count.posts >= 1 and u._count.posts <= 3)
    end
    assert.are.equal(db.Post:count() * 2, db.Comment:count())
    assert.are.equal(#made.Post, db.Post:count())
    -- 60 tags from a vocabulary of fewer words: unique anyway
    assert.are.equal(60, db:one("select count(distinct name) as n from tags").n)
    assert.are.equal(6, db:one("select count(distinct email) as n from users").n)
    for _, u in ipairs(db.User:find_many{}) do assert.is_true(u.role == "admin" or u.role == "user") end
    for _, p in ipairs(db.Post:find_many{}) do assert.is_true(p.views >= 10 and p.views <= 20) end
    -- belongs_to keys not set through a parent come from the parent's rows
    assert.are.equal(0, db:one("select count(*)::int as n from comments c where not exists (select 1 from users u where u.id = c.author_id)").n)
    assert.is_true(db:one("select count(*)::int as n from posts where category_id is not null").n > 0)
    db:close()
  end)

  it("refuses an unknown model with the nearest name", function()
    local db = tide.connect(helper.url(), { schema = helper.example_schema("blog") })
    local e = helper.raises(tide.seed, db, { Usr = { count = 1 } })
    assert.matches("unknown model 'Usr'.*User", e)
    db:close()
  end)
end)
