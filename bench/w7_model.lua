-- W7 streaming through the model client: find_many_iter. See w7lib.lua.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
require("w7lib").main(function(db, n)
  return db.W7Row:find_many_iter{ where = { id = { lte = n } }, order_by = { id = "asc" } }
end)
