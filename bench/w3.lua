-- W3 nested relations through tide's Lua query layer, with the baseline's
-- two statements (bench/w3_libpq.c): the user joined with their posts, then
-- the posts' 5 newest comments (LATERAL), stitched into nested Lua tables
-- here, as a Lua programmer using db:query would write it.
--
--   tide run bench/w3.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w3 = require "w3lib"

local SQL_POSTS = "select u.id, u.email, u.name, u.created_at, p.id as p_id, p.author_id, p.title, p.body, "
  .. "p.published, p.created_at as p_created_at from users u left join posts p on p.author_id = u.id "
  .. "where u.id = $1 order by p.id"
local SQL_COMMENTS = "select c.id, c.post_id, c.author_id, c.body from posts p cross join lateral "
  .. "(select id, post_id, author_id, body from comments where post_id = p.id order by id desc limit 5) c "
  .. "where p.author_id = $1 order by c.post_id, c.id desc"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 } })
local check = 0

local function nested(id)
  local rows = db:query(SQL_POSTS, id)
  local first = rows[1]
  if not first then error(("w3.lua: user %d: not found"):format(id)) end
  local user = { id = first.id, email = first.email, name = first.name, created_at = first.created_at }
  local posts, by_id = {}, {}
  if first.p_id then
    for i = 1, #rows do
      local r = rows[i]
      local p = { id = r.p_id, author_id = r.author_id, title = r.title, body = r.body, published = r.published,
        created_at = r.p_created_at, comments = {} }
      posts[i] = p
      by_id[p.id] = p
    end
  end
  user.posts = posts
  local comments = db:query(SQL_COMMENTS, id)
  for i = 1, #comments do
    local c = comments[i]
    local list = by_id[c.post_id].comments
    list[#list + 1] = c
  end
  return user
end

local function run(n)
  local key = bench.rng()
  local sum = 0
  for _ = 1, n do
    local id = key(w3.USERS)
    sum = sum + w3.sum("w3.lua", nested(id), id)
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
