-- W7 streaming through raw SQL: db:iter (a server-side cursor, 500 rows a
-- FETCH). See w7lib.lua.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
require("w7lib").main(function(db, n)
  return db:iter("select id, n, label, at from w7_rows where id <= $1 order by id", n)
end)
