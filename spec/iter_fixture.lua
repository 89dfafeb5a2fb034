-- The schema and rows the streaming specs share (iter_builder_spec,
-- iter_model_spec): 1234 posts, so a stream crosses two batch boundaries.
local tide = require "tide"
local helper = require "helper"
local t = tide.types

local fixture = { posts = 1234 }

function fixture.schema()
  local s = tide.schema()
  s:model "User" {
    table = "users",
    t.bigserial "id" :primary(),
    t.text "name",
    t.text "secret" :nullable() :omit(),
    t.text "color" :nullable() :codec { encode = function(v) return v:upper() end,
      decode = function(v) return v:lower() end },
    posts = tide.has_many "Post",
  }
  s:model "Post" {
    table = "posts",
    t.bigserial "id" :primary(),
    t.integer "n",
    t.text "title",
    t.jsonb "meta" :nullable(),
    t.bigint "author_id" :references("User"),
    author = tide.belongs_to "User",
    comments = tide.has_many "Comment",
  }
  s:model "Comment" {
    table = "comments",
    t.bigserial "id" :primary(),
    t.text "body",
    t.bigint "post_id" :references("Post"),
    post = tide.belongs_to "Post",
  }
  return s
end

--- A fresh database named name with the rows; returns db and its schema.
function fixture.connect(name)
  local s = fixture.schema()
  local db = tide.connect(helper.fresh_database(name), { schema = s, pool = { max = 3 } })
  db:push()
  db:exec("insert into users (name, secret, color) values ('Ann', 's1', 'RED'), ('Bob', 's2', null)")
  db:exec([[insert into posts (n, title, meta, author_id)
    select g, 'post ' || g, case when g % 3 = 0 then jsonb_build_object('g', g) end, 1 + g % 2
    from generate_series(1, $1::int) g]], fixture.posts)
  db:exec([[insert into comments (body, post_id)
    select 'c' || g || '.' || k, g from generate_series(1, $1::int) g, generate_series(1, g % 3) k]], fixture.posts)
  return db, s
end

--- Every row of an iterator, in a list.
function fixture.collect(...)
  local list = {}
  for row in ... do list[#list + 1] = row end
  return list
end

--- How many more statements iterate(n) (a loop's iterator over the first n
--- posts) sends for every post than for 100, after a first run that
--- prepares what it needs: 2 when each batch of 500 rows is one FETCH.
function fixture.extra_statements(db, iterate)
  local function statements(n)
    local before = db:stats().statements
    local got = #fixture.collect(iterate(n))
    if got ~= n then error(("%d rows, %d expected"):format(got, n)) end
    return db:stats().statements - before
  end
  statements(1)
  return statements(fixture.posts) - statements(100)
end

return fixture
