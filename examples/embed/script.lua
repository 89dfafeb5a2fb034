-- Runs inside examples/embed/host.c: `db` is the host's pool.
local tide = require "tide"
db:exec("INSERT INTO embed_visits (who) VALUES ($1)", "lua-script")
local row = db:one("SELECT count(*) AS n FROM embed_visits")
print(("lua: sees %d visits through %s"):format(row.n, tostring(db)))
assert(tide.version)
