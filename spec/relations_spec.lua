-- Relations load with a fixed number of statements whatever the number of
-- rows (never N+1), counted by the pool; includes, relation filters and
-- counts agree with what the data says.
local tide = require "tide"
local helper = require "helper"

describe("relations", function()
  local db
  setup(function()
    db = tide.connect(helper.fresh_database("tide_relations_spec"), { schema = helper.example_schema("blog"), pool = { max = 1 } })
    db:push()
  end)
  teardown(function() db:close() end)

  local function seed(users)
    db:exec("truncate users, profiles, posts, comments, categories, tags, posts_tags restart identity cascade")
    for u = 1, users do
      db.User:create{ data = { email = ("u%d@x"):format(u), password_hash = "h",
        profile = { create = { bio = "bio" .. u } },
        posts = { create = { { title = ("u%d a"):format(u), published = true }, { title = ("u%d b"):format(u) } } } } }
    end
    db.Tag:create_many{ data = { { name = "lua" }, { name = "pg" } } }
    db:exec("insert into posts_tags (post_id, tag_id) select id, 1 + id % 2 from posts")
    db:exec("insert into comments (content, post_id, author_id) select 'c' || g, p.id, p.author_id from posts p, generate_series(1, 3) g")
  end

  -- statements sent by one call, once its shapes are prepared
  local function statements(fn)
    fn()
    local before = db:stats().statements
    fn()
    return db:stats().statements - before
  end

  local function load()
    return db.User:find_many{ include = {
      profile = true,
      posts = { include = { comments = { order_by = { id = "desc" }, take = 2 }, tags = true } },
    } }
  end

  it("issues one statement per relation level, for 3 users or 60", function()
    seed(3)
    local small = statements(load)
    seed(60)
    local large = statements(load)
    assert.are.equal(5, small) -- users, profiles, posts, comments, tags
    assert.are.equal(small, large)
    local users = load()
    assert.are.equal(60, #users)
    for _, u in ipairs(users) do
      assert.are.equal(2, #u.posts)
      assert.are.equal("bio" .. u.email:match("%d+"), u.profile.bio)
      for _, p in ipairs(u.posts) do
        assert.are.equal(2, #p.comments)            -- take per parent
        assert.is_true(p.comments[1].id > p.comments[2].id)
        assert.are.equal(1, #p.tags)
      end
    end
  end)

  it("filters by relations and counts them in the database", function()
    seed(4)
    db.Post:update_many{ where = { title = { ends_with = "b" } }, data = { published = true } }
    db.Post:update{ where = { id = 1 }, data = { published = false } }
    assert.are.equal(3, db.User:count{ where = { posts = { every = { published = true } } } })
    assert.are.equal(1, db.User:count{ where = { posts = { some = { published = false } } } })
    assert.are.equal(0, db.User:count{ where = { posts = { none = {} } } })
    -- a user with no posts is the one none = {} finds (and every = ... too: vacuously)
    local lone = db.User:create{ data = { email = "lone@x", password_hash = "h" } }
    assert.are.same({ lone.id }, (function()
      local ids = {}
      for _, u in ipairs(db.User:find_many{ where = { posts = { none = {} } } }) do ids[#ids + 1] = u.id end
      return ids
    end)())
    assert.are.equal(4, db.User:count{ where = { posts = { every = { published = true } } } })
    assert.are.equal(1, db.User:count{ where = { posts = { none = { published = true } } } })
    db.User:delete{ where = { id = lone.id } }
    assert.are.equal(2, db.Post:count{ where = { author = { is = { email = "u1@x" } } } })
    assert.are.equal(4, db.Post:count{ where = { tags = { some = { name = "lua" } } } })
    local u = db.User:find_first{ where = { email = "u2@x" }, include = { _count = { select = { posts = true, comments = true } } } }
    assert.are.equal(2, u._count.posts)
    assert.are.equal(6, u._count.comments)
    local top = db.Post:find_many{ order_by = { { comments = { _count = "desc" } }, { id = "asc" } }, take = 1 }
    assert.are.equal(1, top[1].id)
  end)

  it("refuses unknown relations and filters with the nearest name", function()
    local e = helper.raises(function() return db.User:find_many{ include = { pots = true } } end)
    assert.matches("unknown relation 'pots' on User; did you mean 'posts'%?", e.message)
    e = helper.raises(function() return db.User:count{ where = { posts = { any = {} } } } end)
    assert.matches("unknown relation filter 'any'", e.message)
    e = helper.raises(function() return db.Post:count{ where = { author = { some = {} } } } end)
    assert.matches("where Post.author: unknown relation filter 'some'", e.message)
  end)

  it("writes nested relations atomically", function()
    seed(1)
    local before = db.Post:count()
    local e = helper.raises(function()
      return db.User:create{ data = { email = "n@x", password_hash = "h",
        posts = { create = { { title = "ok" }, { title = "bad", category = { connect = { slug = "missing" } } } } } } }
    end)
    assert.are.equal("not_found", e.code)
    assert.are.equal(before, db.Post:count())
    assert.are.equal(0, db.User:count{ where = { email = "n@x" } })
    local u = db.User:create{ data = { email = "m@x", password_hash = "h",
      posts = { create = { title = "tagged", tags = { connect = { name = "lua" }, create = { name = "new" } } } } },
      include = { posts = { include = { tags = { order_by = { name = "asc" } } } } } }
    assert.are.equal(2, #u.posts[1].tags)
    assert.are.equal("lua", u.posts[1].tags[1].name)
    local p = db.Post:update{ where = { id = u.posts[1].id }, data = { tags = { set = { { name = "pg" } } } }, include = { tags = true } }
    assert.are.equal(1, #p.tags)
    assert.are.equal("pg", p.tags[1].name)
  end)

  it("updates and upserts nested rows of this parent only", function()
    seed(2)
    local u = db.User:update{ where = { email = "u1@x" }, data = {
      profile = { update = { bio = "changed" } },
      posts = {
        update = { where = { title = "u1 a" }, data = { views = 9 } },
        upsert = { where = { title = "u1 c" }, create = { title = "u1 c" }, update = { views = 1 } },
      },
    }, include = { profile = true, posts = { order_by = { id = "asc" } } } }
    assert.are.equal("changed", u.profile.bio)
    assert.are.equal(3, #u.posts)
    assert.are.equal(9, u.posts[1].views)
    assert.are.equal("u1 c", u.posts[3].title)
    -- u2's posts are untouched even by a where that would match them
    db.User:update{ where = { email = "u1@x" }, data = { posts = { update_many = { where = {}, data = { views = 7 } } } } }
    assert.are.equal(0, db.Post:count{ where = { author = { is = { email = "u2@x" } }, views = 7 } })
    local p = db.Post:update{ where = { id = 1 }, data = { author = { update = { name = "Renamed" } } }, include = { author = true } }
    assert.are.equal("Renamed", p.author.name)
  end)

  it("names the model and fields of a unique violation", function()
    seed(1)
    local e = helper.raises(function() return db.User:create{ data = { email = "u1@x", password_hash = "h" } } end)
    assert.are.equal("unique_violation", e.code)
    assert.are.equal("User", e.model)
    assert.are.same({ "email" }, e.fields)
    assert.are.equal("users_email_key", e.constraint)
  end)

  it("orders groups by an aggregate", function()
    seed(3)
    db.Comment:create{ data = { content = "extra", post_id = 2, author_id = 1 } }
    local groups = db.Comment:group_by{ by = "post_id", _count = true,
      order_by = { { _count = "desc" }, { post_id = "asc" } }, take = 2 }
    assert.are.equal(2, groups[1].post_id)
    assert.are.equal(4, groups[1]._count)
    assert.are.equal(1, groups[2].post_id)
    local by_max = db.Post:group_by{ by = "author_id", _max = { id = true }, order_by = { _max = { id = "desc" } } }
    assert.are.equal(3, by_max[1].author_id)
    local e = helper.raises(function() return db.Post:group_by{ by = "author_id", order_by = { _summ = { id = "asc" } } } end)
    assert.matches("unknown aggregate '_summ'; did you mean '_sum'%?", e.message)
  end)
end)
