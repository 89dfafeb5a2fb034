-- tide's demo on the blog schema: run it with scripts/demo.sh, or
--   tide run examples/blog/demo.lua      (DATABASE_URL set)
-- It works in a database of its own, tide_blog_demo, made afresh.
local tide = require "tide"
local here = (arg and arg[0] or "examples/blog/demo.lua"):match("^(.*)/[^/]*$") or "."
local schema = dofile(here .. "/schema.lua")

local url = assert(os.getenv "DATABASE_URL", "set DATABASE_URL")
do
  local admin = tide.connect(url, { pool = { max = 1 } })
  admin:exec("drop database if exists tide_blog_demo with (force)")
  admin:exec("create database tide_blog_demo")
  admin:close()
end
local db = tide.connect(tide.url_with_database(url, "tide_blog_demo"), { schema = schema })
print(("pushed %d statements: enums, tables, foreign keys, indexes"):format(db:push()))

-- Nested writes: a user, their profile, posts and tags, in one transaction.
local ann = db.User:create{
  data = {
    email = "ann@example.com", name = "Ann", password_hash = "x",
    profile = { create = { bio = "Writes about Lua" } },
    posts = { create = {
      { title = "Hello, tide", published = true, views = 120, tags = { create = { { name = "lua" }, { name = "orm" } } } },
      { title = "Draft", published = false },
    } },
  },
  include = { profile = true, posts = { include = { tags = true }, order_by = { id = "asc" } } },
}
print(("created %s (%s) with %d posts; first post tags: %s, %s"):format(ann.name, ann.profile.bio, #ann.posts,
  ann.posts[1].tags[1].name, ann.posts[1].tags[2].name))

local bob = db.User:create{ data = { email = "bob@example.com", name = "Bob", password_hash = "y", role = "admin" } }
db.Post:create_many{ data = {
  { title = "Bob's first", author_id = bob.id, published = true, views = 7 },
  { title = "Bob's second", author_id = bob.id, published = true, views = 30 },
} }
db.Comment:create{ data = { content = "Nice!", post = { connect = { id = ann.posts[1].id } }, author = { connect = { email = "bob@example.com" } } } }

-- Reads: filters, relation filters, include with per-parent limits.
local writers = db.User:find_many{
  where = { posts = { some = { published = true } } },
  order_by = { email = "asc" },
  include = { posts = { where = { published = true }, order_by = { views = "desc" }, take = 1 }, _count = { select = { posts = true } } },
}
for _, u in ipairs(writers) do
  print(("%-16s role %-6s %d posts, most read: %q (%d views)"):format(u.email, u.role, u._count.posts,
    u.posts[1].title, u.posts[1].views))
end
print("password_hash is never returned unless selected:", writers[1].password_hash == nil)

-- The fluent chain builds the same query description.
local titles = {}
for _, p in ipairs(db.Post:where{ title = { contains = "first", mode = "insensitive" } }:order_by("id"):all()) do
  titles[#titles + 1] = p.title
end
print("titles containing 'first': " .. table.concat(titles, ", "))

-- Aggregates and groups.
local stats = db.Post:aggregate{ _count = true, _sum = { views = true }, _avg = { views = true }, where = { published = true } }
print(("published: %d posts, %d views, %.1f on average"):format(stats._count, stats._sum.views, stats._avg.views))
for _, g in ipairs(db.Post:group_by{ by = { "author_id" }, _sum = { views = true }, order_by = { author_id = "asc" } }) do
  print(("  author %d: %d views"):format(g.author_id, g._sum.views))
end

-- Atomic updates inside a transaction; a failure rolls everything back.
db:transaction(function(tx)
  tx.Post:update{ where = { id = ann.posts[1].id }, data = { views = { increment = 1 } } }
end)
local ok, err = pcall(db.transaction, db, function(tx)
  tx.Post:update{ where = { id = ann.posts[1].id }, data = { views = { increment = 1000 } } }
  tx.User:create{ data = { email = "ann@example.com", password_hash = "dup" } } -- unique violation
end)
print(("rolled back: %s on %s; views still %d"):format(err.code, err.constraint,
  db.Post:find_unique{ where = { id = ann.posts[1].id } }.views))

-- Mistakes are caught before any SQL is sent, with the nearest valid name.
local _, e = pcall(db.User.find_many, db.User, { where = { emial = "ann@example.com" } })
print("refused: " .. e.message)

-- Every value is a parameter; the SQL of a shape is compiled once.
print("SQL: " .. db.Post:to_sql("find_many", { where = { title = { starts_with = "Bob" } }, take = 5 }))
db:close()
print("demo ok")
