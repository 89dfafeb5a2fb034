-- Read replicas: tide.connect{ primary = url, replicas = { url, ... } }.
--
-- Every server has a pool of its own (the same options for each). The db
-- handle is the primary's (db._pool), so everything not listed here (exec,
-- transactions, begin, acquire, stats, push) goes to the primary untouched;
-- this module only adds the routing of reads:
--   * model client reads (find_*, count, aggregate, group_by, find_many_iter)
--     go to a replica; writes stay on the primary;
--   * raw db:query / db:one / db:iter go to a replica when the statement
--     starts with SELECT, VALUES, TABLE or SHOW, else to the primary (see
--     is_read);
--   * builder statements that only read (tide/builder.lua) go to a replica;
--   * db:primary() is a handle whose every call goes to the primary.
-- A replica whose read fails with connection_failure is skipped for
-- replica_retry seconds, and the read is run again on the primary (a replica
-- is read-only, so the failed read changed nothing).
local core = require "tide.core"
local model = require "tide.model"

local M = {}

local reads = { find_many = true, find_first = true, find_unique = true, find_first_or_throw = true,
  find_unique_or_throw = true, count = true, aggregate = true, group_by = true, find_many_iter = true }

local read_words = { select = true, values = true, table = true, show = true }

--- The rule for raw SQL: a statement goes to a replica when its first word
--- (after blanks, comments and opening parentheses) is SELECT, VALUES,
--- TABLE or SHOW. WITH (which may hold INSERT/UPDATE/DELETE), EXPLAIN (which
--- may ANALYZE a write), CALL, DO and the rest go to the primary.
function M.is_read(sql)
  local i = 1
  while true do
    local s, e = sql:find("^[%s(]+", i)
    if s then i = e + 1 end
    if sql:find("^%-%-", i) then
      local nl = sql:find("\n", i, true)
      if not nl then return false end
      i = nl + 1
    elseif sql:find("^/%*", i) then
      local close = sql:find("*/", i + 2, true) -- (comments nest in SQL; a nested one sends it to the primary)
      if not close then return false end
      i = close + 2
    elseif not s then
      break
    end
  end
  local word = sql:match("^%a+", i)
  return word ~= nil and read_words[word:lower()] == true
end

-- Time for replica_retry: whole seconds are precise enough to skip a server.
local now = os.time

local function is_down_error(e)
  return getmetatable(e) == core.error_mt and e.code == "connection_failure"
end

local function available(r)
  local t = r.down_until
  if t == nil then return true end
  if now() >= t then
    r.down_until = nil -- tried again; marked down again if it still fails
    return true
  end
  return false
end

-- The replica for the next read, or nil for the primary.
local function pick(st)
  local list = st.list
  if st.chooser then
    local handles, entries = {}, {}
    for _, r in ipairs(list) do
      if available(r) then
        handles[#handles + 1] = r.handle
        entries[#entries + 1] = r
      end
    end
    if #handles == 0 then return nil end
    local choice = st.chooser(handles)
    if choice == nil then return nil end
    if math.type(choice) == "integer" and entries[choice] then return entries[choice] end
    for k, h in ipairs(handles) do
      if h == choice then return entries[k] end
    end
    error("replica_chooser must return one of the replicas it was given, an index into that list, or nil " ..
      "(for the primary)", 0)
  end
  local n = #list
  for _ = 1, n do
    local k = st.next % n + 1
    st.next = k
    local r = list[k]
    if available(r) then return r end
  end
  return nil
end

-- Runs fn(target, ...) on a replica, or on the primary when none is up or
-- the replica fails with connection_failure. Callers tail-call it, so that
-- level 2 here is their caller's line.
local function on_replica(st, fn, ...)
  local r = pick(st)
  if not r then return fn(st.primary, ...) end
  local res = table.pack(pcall(fn, r.handle, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  if is_down_error(res[2]) then
    r.down_until = now() + st.retry
    return fn(st.primary, ...)
  end
  -- a string error whose level landed on this module's frame (the pcall
  -- stands between the model client and its caller): the caller's line
  local moved = type(res[2]) == "string" and res[2]:match("^[^\n]-tide[/.]replicas%.lua:%d+: (.*)$")
  if moved then error(moved, 2) end
  error(res[2], 0)
end

-- The builder's reads (see reads() in tide/builder.lua).
require("tide.builder").route = function(db, fn, ...)
  return on_replica(rawget(db, "_replicas"), fn, ...)
end

-- Model clients of a db with replicas: the usual client (writes on the
-- primary), with its reads sent on to the same model's client of a replica.
local routed_reads = {}
for op in pairs(reads) do
  local function run(target, name, args)
    local c = target[name]
    return c[op](c, args)
  end
  routed_reads[op] = function(self, args)
    if args ~= nil and type(args) ~= "table" then
      error(("bad argument #1 to '%s' (table expected, got %s)"):format(op, type(args)), 2)
    end
    return on_replica(rawget(self._db, "_replicas"), run, self._name, args)
  end
end

local RoutedModel = {}

function M.client(schema, name, target, db)
  local c = model.client(schema, name, target, db)
  local base = getmetatable(c)
  if not RoutedModel.__index then
    RoutedModel.__index = function(self, key)
      return routed_reads[key] or base.__index(self, key)
    end
    RoutedModel.__tostring = base.__tostring
    RoutedModel.__name = base.__name
  end
  return setmetatable(c, RoutedModel)
end

--- Adds replicas to db (a primary's handle): one pool per URL, made with
--- core_opts. A replica that cannot be reached now gets a pool that opens
--- nothing yet, and is skipped for retry seconds. classes = { Routed, View }.
function M.setup(db, urls, core_opts, chooser, retry, classes)
  local st = { list = {}, next = 0, chooser = chooser, retry = retry or 5 }
  local function close_all()
    for _, r in ipairs(st.list) do r.pool:close() end
  end
  for i, url in ipairs(urls) do
    if type(url) ~= "string" then
      close_all()
      error(("bad argument #1 to 'connect' (replicas[%d] must be a string, got %s)"):format(i, type(url)), 3)
    end
    local ok, pool = pcall(core.connect, url, core_opts)
    local down
    if not ok and is_down_error(pool) then
      local lazy = {}
      for k, v in pairs(core_opts) do lazy[k] = v end
      lazy.min_size = 0
      ok, pool = pcall(core.connect, url, lazy)
      down = now() + st.retry
    end
    if not ok then
      close_all()
      error(pool, 0)
    end
    st.list[i] = { pool = pool, down_until = down,
      handle = setmetatable({ _pool = pool, _root = db, _class = classes.View,
        _relation_load_strategy = rawget(db, "_relation_load_strategy") }, classes.View) }
  end
  st.primary = setmetatable({ _pool = db._pool, _root = db, _class = classes.View,
    _relation_load_strategy = rawget(db, "_relation_load_strategy") }, classes.View)
  rawset(db, "_replicas", st)
  rawset(db, "_class", classes.Routed)
  return setmetatable(db, classes.Routed)
end

--- The classes for a db with replicas (Routed) and for the handles of its
--- servers (View), made from DB's methods.
function M.classes(DB, attach)
  local pool_methods = core.pool_methods
  local query, one = pool_methods.query, pool_methods.one

  local Routed = {}
  for k, v in pairs(DB) do Routed[k] = v end
  Routed.__index = Routed
  Routed._client = M.client

  local function raw(method)
    return function(target, sql, ...) return method(target, sql, ...) end
  end
  local raw_query, raw_one = raw(query), raw(one)

  -- a db:timeout(s) view keeps its deadline on the replica too
  local function timed(self, method)
    local t = rawget(self, "_timeout")
    if not t then return method end
    return function(handle, sql, ...) return method(handle:timeout(t), sql, ...) end
  end

  function Routed:query(sql, ...)
    if type(sql) == "string" and M.is_read(sql) then
      return on_replica(rawget(self, "_replicas"), timed(self, raw_query), sql, ...)
    end
    return query(self, sql, ...)
  end

  function Routed:one(sql, ...)
    if type(sql) == "string" and M.is_read(sql) then
      return on_replica(rawget(self, "_replicas"), timed(self, raw_one), sql, ...)
    end
    return one(self, sql, ...)
  end

  function Routed:iter(sql, ...)
    if type(sql) == "string" and M.is_read(sql) then
      return on_replica(rawget(self, "_replicas"), DB.iter, sql, ...)
    end
    return DB.iter(self, sql, ...)
  end

  function Routed:primary() return rawget(self, "_replicas").primary end

  function Routed:replicas()
    local t = {}
    for i, r in ipairs(rawget(self, "_replicas").list) do t[i] = r.handle end
    return t
  end

  function Routed:use(fn)
    DB.use(self, fn)
    local st = rawget(self, "_replicas")
    local list = rawget(self, "_middleware")
    rawset(st.primary, "_middleware", list)
    for _, r in ipairs(st.list) do rawset(r.handle, "_middleware", list) end
    return self
  end

  function Routed:close()
    local st = rawget(self, "_replicas")
    for _, r in ipairs(st.list) do r.pool:close() end
    DB.close(self)
  end
  Routed.__close = Routed.close

  function Routed:__tostring()
    local st = rawget(self, "_replicas")
    local ok, d = pcall(self._pool.describe, self._pool)
    return ("tide.db(%s, %d replica%s)"):format(ok and d or "closed", #st.list, #st.list == 1 and "" or "s")
  end

  -- A schema attached to the db reaches its servers' handles too.
  function Routed._attached(db, s)
    local st = rawget(db, "_replicas")
    attach(st.primary, s)
    for _, r in ipairs(st.list) do attach(r.handle, s) end
  end

  -- One server's handle: the usual db methods on that server's pool. It
  -- belongs to the db: closing it does nothing, middleware is the db's.
  local View = {}
  for k, v in pairs(DB) do View[k] = v end
  View.__index = View
  function View.close() end
  View.__close = View.close
  function View:use(fn)
    rawget(self, "_root"):use(fn)
    return self
  end
  function View:primary() return rawget(self, "_root"):primary() end
  function View:replicas() return rawget(self, "_root"):replicas() end

  return Routed, View
end

return M
