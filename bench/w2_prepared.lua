-- W2 list with join through a prepared builder query: the query is built and
-- compiled once with a named placeholder for the author, then run with each
-- author's id.
--
--   tide run bench/w2_prepared.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
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
local q = db:select{ id = P.id, title = P.title, created_at = P.created_at, author = U.name }
  :from(P):inner_join(U, U.id:eq(P.author_id))
  :where(tide.and_(P.author_id:eq(tide.placeholder "author"), P.published:eq(true)))
  :order_by(tide.desc(P.created_at)):limit(20):prepare()
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  local args = {}
  for _ = 1, n do
    local author = key(USERS)
    args.author = author
    sum = sum + w2.check_rows(q:all(args), author)
  end
  check = sum
end

bench.main_loop(iterations, runs, run)
print("# check " .. check)
db:close()
