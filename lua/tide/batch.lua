-- db:batch{ ... }: several statements in one round trip (libpq's pipeline
-- mode, core/pg/batch.c), their results in order.
--
-- A statement is SQL text, { "sql", value, ... [, n = count] [, mode = ...] }
-- or a builder query ({ query, mode = ... } to choose how its result comes
-- back). mode is "rows" (the default: what db:query / q:all() return),
-- "one" (db:one / q:first()) or "exec" (the count of rows affected).
--
-- Atomic by default: outside a transaction the statements run in one
-- implicit transaction and a failure raises its error (with `index`, the
-- statement's place) having written nothing. With { atomic = false } each
-- statement commits on its own and the call returns results, errors:
-- errors is nil, or { [i] = error } for those that failed. { timeout =
-- seconds } gives the batch a deadline (see db:timeout).
local core = require "tide.core"
local builder = require "tide.builder"
local util = require "tide.util"

local M = {}

local modes = { rows = true, one = true, exec = true }
local none = {}
local batch_options = { atomic = "boolean", timeout = "number" }

local function bad(level, fmt, ...)
  error(("bad argument #1 to 'batch' (" .. fmt .. ")"):format(...), level + 1)
end

-- One entry of the list as core.batch takes it, and its shaping function
-- (builder queries only). SQL text and raw tables go as they are.
local function item_of(x, i, level)
  if type(x) == "string" then return x end
  if builder.is_query(x) then return builder.batch_item(x, "rows", level + 1) end
  if type(x) ~= "table" then bad(level + 1, "statement %d: SQL text, a table or a query expected, got %s", i, type(x)) end
  local mode, head = x.mode, x[1]
  if mode ~= nil and not modes[mode] then
    bad(level + 1, "statement %d: mode is 'rows', 'one' or 'exec', got '%s'", i, tostring(mode))
  end
  if type(head) == "string" then return x end
  if builder.is_query(head) then return builder.batch_item(head, mode or "rows", level + 1) end
  bad(level + 1, "statement %d: its first element is the SQL text", i)
end

-- With reports on (tide/report.lua): the batch as a whole when slow, each
-- statement whose result has more rows than allowed.
local function check(cfg, list, t0, results)
  local report = require "tide.report"
  report.check(cfg, function() return ("batch of %d statements"):format(#list) end, t0, nil)
  if not cfg.rows then return end
  for i = 1, #list do -- results may have holes (no row, a failed statement)
    local r, x = results[i], list[i]
    local what = type(x) == "string" and x or type(x) == "table" and type(x[1]) == "string" and x[1]
      or ("batch statement %d"):format(i)
    if type(r) == "table" then report.check({ rows = cfg.rows, to = cfg.to }, what, core.now(), r) end
  end
end

--- Runs list on target (a db or a transaction's connection); cfg: the db's
--- report settings, if any.
function M.run(target, list, opts, level, cfg)
  if type(list) ~= "table" then bad(level, "a list of statements expected, got %s", type(list)) end
  opts = opts or none
  local why = util.option_problem(opts, batch_options)
  if why then error(("bad argument #2 to 'batch' (%s)"):format(why), level + 1) end
  local timeout = opts.timeout
  if timeout == nil and type(target) == "table" then timeout = rawget(target, "_timeout") end
  local n = #list
  if n == 0 then return {} end
  local items, shapes = list, nil -- copied only if an item is converted
  for i = 1, n do
    local x = list[i]
    local item, shape = item_of(x, i, level)
    if item ~= x then
      if items == list then items = table.move(list, 1, n, 1, {}) end
      items[i] = item
    end
    if shape then
      shapes = shapes or {}
      shapes[i] = shape
    end
  end
  local t0 = cfg and core.now()
  local results, errors = core.batch(target, items, opts.atomic == false, timeout)
  if cfg then check(cfg, list, t0, results) end
  if shapes then
    for i, f in pairs(shapes) do
      if errors == nil or errors[i] == nil then results[i] = f(results[i]) end
    end
  end
  return results, errors
end

return M
