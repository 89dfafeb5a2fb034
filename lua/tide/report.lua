-- Reports of slow queries and large results: tide.connect(url, { report =
-- { slow = seconds, rows = n, to = function(r) end } }). Nothing is refused;
-- an offender is reported (by default on stderr) and its result returned as
-- usual. Only a db that asks for reports pays for them: its raw-SQL methods
-- are wrapped, its model client gets a middleware, and transactions and the
-- builder look for the settings.
local core = require "tide.core"

local M = {}

local function default_to(r)
  io.stderr:write(("tide: %s: %s (%.3f s%s)\n"):format(r.reason == "slow" and "slow query" or "large result",
    r.what, r.seconds, r.rows and (", " .. r.rows .. " rows") or ""))
end

--- Checks the settings; returns them with defaults filled in.
function M.settings(cfg, level)
  if type(cfg) ~= "table" then error("bad option 'report' (a table expected)", level) end
  for k in pairs(cfg) do
    if k ~= "slow" and k ~= "rows" and k ~= "to" then
      error(("bad option 'report' (unknown key '%s': slow, rows or to)"):format(tostring(k)), level)
    end
  end
  if cfg.slow ~= nil and (type(cfg.slow) ~= "number" or cfg.slow < 0) then
    error("bad option 'report' (slow: seconds, a number >= 0)", level)
  end
  if cfg.rows ~= nil and (math.type(cfg.rows) ~= "integer" or cfg.rows < 0) then
    error("bad option 'report' (rows: a whole number >= 0)", level)
  end
  if cfg.to ~= nil and type(cfg.to) ~= "function" then error("bad option 'report' (to: a function)", level) end
  return { slow = cfg.slow, rows = cfg.rows, to = cfg.to or default_to }
end

--- After a query that started at t0 and returned result: reports what
--- breaks a limit. what: the SQL, or a name for it (a function: asked only
--- when there is something to report).
function M.check(cfg, what, t0, result)
  local seconds = core.now() - t0
  local rows = type(result) == "table" and getmetatable(result) == nil and result[1] ~= nil and #result or nil
  local reason
  if cfg.slow and seconds > cfg.slow then reason = "slow"
  elseif cfg.rows and rows and rows > cfg.rows then reason = "rows" end
  if reason then
    if type(what) == "function" then what = what() end
    cfg.to({ reason = reason, what = what, seconds = seconds, rows = rows })
  end
  return result
end

--- Runs fn(self, sql, ...) and checks what it returned (one value: query,
--- one; exec's second value, the command tag, is kept).
function M.run(cfg, fn, self, sql, ...)
  local t0 = core.now()
  local a, b = fn(self, sql, ...)
  M.check(cfg, sql, t0, a)
  return a, b
end

--- Turns reports on for db.
function M.setup(db, cfg)
  rawset(db, "_report", cfg)
  for _, name in ipairs({ "query", "one", "exec" }) do
    local orig = db[name] -- the pool's C method, or a replica router
    rawset(db, name, function(self, sql, ...) return M.run(cfg, orig, self, sql, ...) end)
  end
  db:use(function(p, next)
    local t0 = core.now()
    return M.check(cfg, function() return p.model .. ":" .. p.operation end, t0, next(p))
  end)
end

return M
