-- W2 list with join through tide's SQL-like builder, the query built anew
-- for every operation (as application code writes it).
--
--   tide run bench/w2_builder.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per operation: db:select{ id, title, created_at, author = User.name }
-- :from(Post):inner_join(User, ...):where(author and published)
-- :order_by(desc created_at):limit(20):all(), then every row read and checked
-- (w2lib.lua). The pool has one connection, as in the C programs.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w2 = require "w2lib"

local USERS = 10000

local url, iterations, runs = bench.args()
local schema = require "schema"
local db = tide.connect(url, { pool = { max = 1 }, schema = schema })
local P, U = schema.Post, schema.User
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for _ = 1, n do
    local author = key(USERS)
    local rows = db:select{ id = P.id, title = P.title, created_at = P.created_at, author = U.name }
      :from(P):inner_join(U, U.id:eq(P.author_id))
      :where(tide.and_(P.author_id:eq(author), P.published:eq(true)))
      :order_by(tide.desc(P.created_at)):limit(20):all()
    sum = sum + w2.check_rows(rows, author)
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
