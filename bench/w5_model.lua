-- W5 transaction through tide's model client.
--
--   tide run bench/w5_model.lua URL ITERATIONS RUNS     (protocol: see bench.lua)
--
-- Per transaction: db:transaction(function(tx) tx.User:update{ where =
-- { id = id }, data = { name = ... } }; tx.Post:create{ data = { author_id
-- = id, title = ..., body = ..., created_at = ... } } end): BEGIN, the
-- UPDATE ... RETURNING the user, the INSERT ... RETURNING the post, COMMIT;
-- the returned rows are checked. Before every run (untimed): the posts a
-- run inserted are deleted (bench/w5lib.lua).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local bench = require "bench"
local tide = require "tide"
local w5 = require "w5lib"

local url, iterations, runs = bench.args()
local db = tide.connect(url, { pool = { max = 1 }, schema = require "schema" })
local BODY, CREATED_AT = w5.BODY, w5.CREATED_AT
local check = 0

local function run(n)
  local key = bench.rng()
  local sum = 0
  for i = 1, n do
    local id = key(w5.USERS)
    local user, post = db:transaction(function(tx)
      local u = tx.User:update { where = { id = id }, data = { name = "w5 name " .. i } }
      local p = tx.Post:create { data = { author_id = id, title = "w5 post " .. i, body = BODY, created_at = CREATED_AT } }
      return u, p
    end)
    if not user or user.id ~= id or user.name ~= "w5 name " .. i or not post or not post.id or post.author_id ~= id then
      error(("w5_model.lua: transaction %d (user %d) did not do its work"):format(i, id))
    end
    sum = sum + user.id + 1
  end
  check = sum
end

bench.main_loop(iterations, runs, run, function() db:exec(w5.SETUP) end)
print("# check " .. check)
db:close()
