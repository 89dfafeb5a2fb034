-- Streaming: the rows of a query read through a server-side cursor, a batch
-- at a time, for every front end: db:iter / tx:iter (raw SQL), q:iter() of
-- the builder, find_many_iter and :iter() of the model client. A front end
-- compiles its statement to SQL and values, and says how to turn a fetched
-- batch into its rows (each); everything else is here, once.
local M = {}

M.batch = 500

-- conn -> { [k] = true }: the cursor names (tide_iter_k) open on it, so that
-- cursors on one connection (nested loops, two iterators read by turns) never
-- share a name, and the names, hence the DECLARE texts and their prepared
-- statements, are reused.
local open = setmetatable({}, { __mode = "k" })

-- The rows of cursor name, fetched M.batch at a time; each(rows), when
-- given, turns a batch into the front end's rows in place.
local function rows_of(conn, name, each)
  local rows, i = {}, 0
  local fetch = ("fetch %d from %s"):format(M.batch, name)
  local finished = false
  return function()
    if i >= #rows then
      if finished then return nil end
      rows, i = conn:query(fetch), 0
      finished = #rows < M.batch
      if #rows == 0 then return nil end
      if each then each(rows) end
    end
    i = i + 1
    return rows[i]
  end
end

-- A to-be-closed value: the generic for closes it when the loop ends,
-- breaks or raises; the collector, if the iterator was never looped over.
-- Calling it reads the next row, so it can stand for the iterator too (a
-- middleware's result).
local function closer(fn, next_row)
  local done = false
  local function close(_, err)
    if done then return end
    done = true
    fn(err)
  end
  return setmetatable({}, { __close = close, __gc = function() close(nil, "collected") end,
    __call = function() return next_row() end, __name = "tide.iter" })
end

-- DECLAREs a cursor for sql on conn (in a transaction); its name and the
-- function that frees the name.
local function declare(conn, sql, ...)
  local used = open[conn]
  if not used then used = {}; open[conn] = used end
  local k = 1
  while used[k] do k = k + 1 end
  used[k] = true
  local name = "tide_iter_" .. k
  local ok, e = pcall(conn.exec, conn, "declare " .. name .. " no scroll cursor for " .. sql, ...)
  if not ok then
    used[k] = nil
    error(e, 0)
  end
  return name, function() used[k] = nil end
end

--- for row in M.iter(target, sql, each, ...): target is a db-like handle
--- (the cursor then lives in a transaction of its own on a connection of
--- its own from target._pool, committed and given back when the loop ends
--- or breaks, rolled back when it raises) or a connection already in a
--- transaction (the cursor is closed when the loop ends; the transaction
--- goes on). Returns the generic for's four values.
function M.iter(target, sql, each, ...)
  if type(target) ~= "table" then
    local conn = target
    local name, free = declare(conn, sql, ...)
    local next_row = rows_of(conn, name, each)
    return next_row, nil, nil, closer(function(err)
      -- collected: no statement from a finalizer; the name stays taken and
      -- the cursor closes with the transaction
      if err == "collected" then return end
      free()
      pcall(conn.exec, conn, "close " .. name)
    end, next_row)
  end
  local conn = target._pool:acquire()
  local ok, name, free = pcall(conn.exec, conn, "begin")
  if ok then ok, name, free = pcall(declare, conn, sql, ...) end
  if not ok then
    pcall(conn.exec, conn, "rollback")
    conn:release()
    error(name, 0)
  end
  local next_row = rows_of(conn, name, each)
  return next_row, nil, nil, closer(function(err)
    free() -- the transaction's end closes the cursor
    -- collected: not yieldable here, the pool rolls the transaction back
    if err ~= "collected" then pcall(conn.exec, conn, err and "rollback" or "commit") end
    conn:release()
  end, next_row)
end

return M
