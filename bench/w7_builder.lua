-- W7 streaming through the builder: q:iter(), the statement built anew for
-- every run. See w7lib.lua.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local R = require("schema").W7Row
require("w7lib").main(function(db, n)
  return db:select{ id = R.id, n = R.n, label = R.label, at = R.at }:from(R):where(R.id:lte(n)):order_by(R.id):iter()
end)
