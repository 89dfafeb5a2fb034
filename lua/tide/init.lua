-- tide: a PostgreSQL ORM with a C core.
--
--   local tide = require "tide"
--   local db = tide.connect(os.getenv "DATABASE_URL")
--   local rows = db:query("select id, email from users where id = $1", 42)
--
-- This module holds the Lua face of the foundation: connecting, raw queries,
-- transactions and errors. The pool, statements and decoding live in C
-- (tide.core); this file only shapes how they feel from Lua.
local core = require "tide.core"
local util = require "tide.util"

local tide = {
  version = core.version,
  null = core.null,
}

local error_mt = core.error_mt

-- Errors -------------------------------------------------------------------

--- Makes a structured error like the ones the core raises.
function tide.error(code, message, fields)
  local e = { code = code, message = message }
  for k, v in pairs(fields or {}) do e[k] = v end
  return setmetatable(e, error_mt)
end

--- True when e is one of tide's structured errors.
function tide.is_error(e)
  return getmetatable(e) == error_mt
end

-- Values -------------------------------------------------------------------

--- url with its database replaced by name (a postgresql:// URL).
function tide.url_with_database(url, name)
  local base, query = url:match("^(postgres[%w]*://[^/?]*)/?[^?]*(%??.*)$")
  if not base then error("url_with_database: a postgresql:// URL expected", 2) end
  return base .. "/" .. name .. query
end

--- A column of the same row, to compare two fields:
--- where = { stock = { lt = tide.field "reorder" } }.
function tide.field(name)
  if type(name) ~= "string" then error("bad argument #1 to 'field' (string expected)", 2) end
  return { _field = name }
end

--- Marks t as a JSON array, so that an empty table encodes as [] (not {}).
function tide.array(t)
  return setmetatable(t or {}, core.array_mt)
end

-- Coroutines (see tide/async.lua) ------------------------------------------

local async = require "tide.async"
async.hooks = tide -- tide.on_ready, tide.on_error
tide.pending = async.pending
tide.spawn, tide.run, tide.poll = async.spawn, async.run, async.poll
tide.pending_count, tide.set_async, tide.fds = async.pending_count, async.set_async, async.fds
tide.clock, tide.sleep = async.clock, async.sleep

--- tide.seed(db, plan): deterministic synthetic rows (see tide/seed.lua).
tide.seed = require "tide.seed"

tide.json_encode = core.json_encode
tide.json_decode = core.json_decode

-- The schema DSL (see tide/schema.lua) --------------------------------------------

local schema = require "tide.schema"
tide.types = schema.types
tide.schema = schema.new
tide.now, tide.uuid, tide.raw = schema.now, schema.uuid, schema.raw
tide.belongs_to, tide.has_one, tide.has_many, tide.many_to_many =
  schema.belongs_to, schema.has_one, schema.has_many, schema.many_to_many
tide.index, tide.unique, tide.primary_key, tide.check = schema.index, schema.unique, schema.primary_key, schema.check
tide.nextval, tide.policy = schema.nextval, schema.policy

-- The SQL-like builder (see tide/builder.lua) ------------------------------------

local builder = require "tide.builder"
for _, name in ipairs { "eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "not_like", "not_ilike",
  "contains", "contained", "overlaps", "in_list", "not_in_list", "is_null", "is_not_null", "between",
  "not_between", "and_", "or_", "not_", "exists", "not_exists", "count", "count_distinct", "sum", "avg", "min",
  "max", "asc", "desc", "sql", "placeholder", "excluded", "alias", "cte" } do
  tide[name] = builder[name]
end

-- Options ------------------------------------------------------------------

local function ms(seconds)
  return seconds and math.floor(seconds * 1000 + 0.5) or nil
end

local function whole(fname, name, v)
  if v == nil then return nil end
  local i = math.tointeger(v)
  if not i or i < 0 then
    error(("bad argument #2 to '%s' (option '%s' must be a whole number, got %s)"):format(fname, name, v), 3)
  end
  return i
end

local connect_options = {
  url = "string", pool = "table", schema = "table", connect_timeout = "number", statement_timeout = "number",
  query_timeout = "number", report = "table",
  statement_cache = "number", application_name = "string", relation_load_strategy = "string",
  pgbouncer = "boolean", primary = "string", replicas = "table", replica_chooser = "function",
  replica_retry = "number",
}
local pool_options = {
  min = "number", max = "number", acquire_timeout = "number", idle_timeout = "number",
  max_lifetime = "number", ping_idle = "number",
}

local function check_options(fname, argn, opts, allowed)
  local why = util.option_problem(opts, allowed)
  if why then error(("bad argument #%d to '%s' (%s)"):format(argn, fname, why), 3) end
end

-- Transactions ---------------------------------------------------------------

local isolation_levels = {
  serializable = "SERIALIZABLE",
  repeatable_read = "REPEATABLE READ",
  read_committed = "READ COMMITTED",
  read_uncommitted = "READ UNCOMMITTED",
}
local tx_options = { isolation = "string", read_only = "boolean", deferrable = "boolean", retry = "number",
  context = "table", timeout = "number" }

local function begin_sql(fname, argn, opts)
  if opts == nil then return "BEGIN" end
  if type(opts) ~= "table" then
    error(("bad argument #%d to '%s' (table expected, got %s)"):format(argn, fname, type(opts)), 3)
  end
  check_options(fname, argn, opts, tx_options)
  local sql = "BEGIN"
  if opts.isolation then
    local level = isolation_levels[opts.isolation:lower():gsub("[ %-]", "_")]
    if not level then
      error(("bad argument #%d to '%s' (unknown isolation level '%s'%s)")
        :format(argn, fname, opts.isolation, util.did_you_mean(opts.isolation, isolation_levels)), 3)
    end
    sql = sql .. " ISOLATION LEVEL " .. level
  end
  if opts.read_only ~= nil then sql = sql .. (opts.read_only and " READ ONLY" or " READ WRITE") end
  if opts.deferrable ~= nil then sql = sql .. (opts.deferrable and " DEFERRABLE" or " NOT DEFERRABLE") end
  return sql
end

-- A transaction's timeout (seconds), counted from BEGIN: each statement in
-- it runs with the time left as its deadline (past it the server cancels
-- the statement), none starts once it has passed (core.set_deadline: the
-- connection checks), and COMMIT is refused after it. Either way the
-- transaction rolls back and raises transaction_timeout.
local function timeout_ms(fname, argn, opts)
  local t = opts and opts.timeout
  if t == nil then return nil end
  local ms, why = core.timeout_ms(t)
  if not ms then error(("bad argument #%d to '%s' (%s)"):format(argn, fname, why), 3) end
  return ms
end

-- Starts conn's clock: the deadline, in core.now()'s seconds.
local function start_clock(conn, ms)
  if not ms then return nil end
  core.set_deadline(conn, ms)
  return core.now() + ms / 1000
end

local function timed_out(ms)
  return tide.error("transaction_timeout",
    ("the transaction ran past its timeout (%d ms): it was rolled back"):format(ms))
end

local model = require "tide.model"

local Tx = {}
Tx.__name = "tide.tx"
-- tx.User: the model client on the transaction's connection
Tx.__index = function(self, key)
  local m = Tx[key]
  if m ~= nil then return m end
  local db = rawget(self, "_db")
  return model.lookup(db.schema, self, rawget(self, "_conn"), key, db)
end

local function new_tx(db, conn, depth, owned)
  return setmetatable({ _db = db, _conn = conn, _depth = depth, _owned = owned, _done = false }, Tx)
end

local function live(tx)
  if tx._done then error("the transaction has already ended", 3) end
  return tx._conn
end

-- Session variables for this transaction only (set_config(..., true)),
-- for row-level security policies that read current_setting(name).
local function set_context(conn, fname, context)
  for name, value in pairs(context) do
    if type(name) ~= "string" then
      error(("bad argument to '%s' (context names are strings, got %s)"):format(fname, type(name)), 4)
    end
    local t = type(value)
    if t ~= "string" and t ~= "number" and t ~= "boolean" then
      error(("bad argument to '%s' (context '%s': a string, number or boolean, got %s)"):format(fname, name, t), 4)
    end
    conn:exec("select set_config($1, $2, true)", name, tostring(value))
  end
end

--- Sets session variables until the transaction ends:
--- tx:set_context{ ["app.tenant"] = 42 }.
function Tx:set_context(context)
  if type(context) ~= "table" then
    error(("bad argument #1 to 'set_context' (table expected, got %s)"):format(type(context)), 2)
  end
  set_context(live(self), "set_context", context)
end

-- Streaming: a server-side cursor read a batch at a time (tide/cursor.lua) ------

local cursor = require "tide.cursor"

local function check_sql(sql)
  if type(sql) ~= "string" then
    error(("bad argument #1 to 'iter' (string expected, got %s)"):format(type(sql)), 3)
  end
end

--- for row in tx:iter(sql, ...) do ... end, on the transaction's connection.
function Tx:iter(sql, ...)
  check_sql(sql)
  return cursor.iter(live(self), sql, nil, ...)
end

-- (with reports on, each statement is timed and counted: tide/report.lua)
local report = require "tide.report"
local function tx_run(self, name, sql, ...)
  local conn = live(self)
  local cfg = rawget(self._db, "_report")
  if cfg then return report.run(cfg, conn[name], conn, sql, ...) end
  return conn[name](conn, sql, ...)
end
function Tx:query(sql, ...) return tx_run(self, "query", sql, ...) end
function Tx:one(sql, ...) return tx_run(self, "one", sql, ...) end
function Tx:exec(sql, ...) return tx_run(self, "exec", sql, ...) end
Tx.query_raw, Tx.exec_raw = Tx.query, Tx.exec
local batch = require "tide.batch"
--- tx:batch{ ... }: several statements in one round trip, inside the
--- transaction (see tide/batch.lua).
function Tx:batch(list, opts) return batch.run(live(self), list, opts, 2, rawget(self._db, "_report")) end
-- tx:select() ...: builder statements on the transaction's connection
builder.install(Tx, function(self)
  if self._done then error("the transaction has already ended", 4) end
  return self._conn, self._db
end)

-- COMMIT, telling failure apart from success: the server answers COMMIT of a
-- failed transaction with ROLLBACK and no error.
local function commit(conn)
  core.set_deadline(conn, nil) -- COMMIT is sent whatever the clock says
  if conn:is_broken() then
    -- lost before COMMIT was sent: the server rolled it back
    error(tide.error("connection_failure",
      "the connection was lost during the transaction: it was rolled back"), 0)
  end
  local ok, n, tag = pcall(conn.exec, conn, "COMMIT")
  if not ok then
    local e = n
    if tide.is_error(e) and e.code == "connection_failure" then
      error(tide.error("commit_unknown",
        "the connection was lost during COMMIT: the transaction may or may not have been committed",
        { detail = e.message }), 0)
    end
    error(e, 0)
  end
  if tag == "ROLLBACK" then
    error(tide.error("transaction_rolled_back",
      "the transaction was rolled back: an earlier statement in it failed, so COMMIT answered ROLLBACK"), 0)
  end
end

local function finish_failed(conn, savepoint)
  if savepoint then
    pcall(conn.exec, conn, "ROLLBACK TO SAVEPOINT " .. savepoint)
    pcall(conn.exec, conn, "RELEASE SAVEPOINT " .. savepoint)
  else
    core.set_deadline(conn, nil)
    pcall(conn.exec, conn, "ROLLBACK")
  end
end

--- A nested transaction: a savepoint that an error rolls back to.
function Tx:transaction(fn)
  local conn = live(self)
  if type(fn) ~= "function" then
    error(("bad argument #1 to 'transaction' (function expected, got %s)"):format(type(fn)), 2)
  end
  local name = "tide_sp_" .. (self._depth + 1)
  conn:exec("SAVEPOINT " .. name)
  local inner = new_tx(self._db, conn, self._depth + 1, false)
  local r = table.pack(pcall(fn, inner))
  inner._done = true
  if not r[1] then
    finish_failed(conn, name)
    error(r[2], 0)
  end
  conn:exec("RELEASE SAVEPOINT " .. name)
  return table.unpack(r, 2, r.n)
end

--- For a transaction from db:begin(): commit and give the connection back.
function Tx:commit()
  local conn = live(self)
  if not self._owned then error("commit: this transaction commits when its function returns", 2) end
  self._done = true
  local deadline = rawget(self, "_deadline")
  if deadline and core.now() >= deadline then
    finish_failed(conn)
    conn:release()
    error(timed_out(self._timeout_ms), 2)
  end
  local ok, e = pcall(commit, conn)
  conn:release()
  if not ok then error(e, 0) end
end

function Tx:rollback()
  local conn = live(self)
  if not self._owned then error("rollback: raise an error to roll this transaction back", 2) end
  self._done = true
  finish_failed(conn)
  conn:release()
end

-- Leaving a `local tx <close> = db:begin()` block without commit rolls back.
function Tx:__close()
  if self._owned and not self._done then
    self._done = true
    finish_failed(self._conn)
    self._conn:release()
  end
end

function Tx:__tostring()
  return ("tide.tx(%s%s)"):format(self._db:describe(), self._done and ", ended" or "")
end

-- The database handle --------------------------------------------------------

local DB = {}
DB.__index = DB
DB.__name = "tide.db"

-- The pool's C methods take the db table as self (they find self._pool):
--   db:query(sql, ...)  rows as an array of tables keyed by column name
--                       (NULL columns absent)
--   db:one(sql, ...)    the first row, or nil
--   db:exec(sql, ...)   the number of rows affected, and the command tag
local pool_methods = core.pool_methods
DB.query, DB.one, DB.exec = pool_methods.query, pool_methods.one, pool_methods.exec
DB.stats, DB.describe = pool_methods.stats, pool_methods.describe
-- db:query_raw / db:exec_raw: the same, under the names Drizzle's and
-- Prisma's users look for
DB.query_raw, DB.exec_raw = DB.query, DB.exec
-- db:select{...}:from(...) ...: the SQL-like builder (tide/builder.lua)
builder.install(DB, function(self) return self, self end)
--- db:timeout(seconds): a view of db whose raw queries (query, one, exec),
--- batches and builder statements have that deadline: past it the
--- statement is cancelled on the server and fails with query_canceled, and
--- the connection stays usable.
function DB:timeout(seconds)
  local view = setmetatable({ _timeout = seconds }, { __index = self,
    __tostring = function() return ("%s with timeout %gs"):format(tostring(self), seconds) end })
  -- what the db's code reads with rawget: its replicas, reports, middleware
  for _, k in ipairs { "_replicas", "_report", "_middleware" } do view[k] = rawget(self, k) end
  core.set_timeout(view, seconds)
  return view
end

--- db:batch{ ... }: several statements in one round trip, atomic unless
--- { atomic = false } (see tide/batch.lua).
function DB:batch(list, opts) return batch.run(self, list, opts, 2, self._report) end

--- Runs fn(tx) in a transaction: commits when fn returns, rolls back and
--- re-raises fn's error when it raises. Returns what fn returns.
-- One attempt: BEGIN, the context, fn(tx), COMMIT; raises what failed.
local function attempt(db, fn, sql, context, ms)
  local conn = db._pool:acquire()
  local deadline = start_clock(conn, ms)
  local ok, e = pcall(conn.exec, conn, sql)
  if ok and context then ok, e = pcall(set_context, conn, "transaction", context) end
  if not ok then
    finish_failed(conn)
    conn:release()
    error(e, 0)
  end
  local tx = new_tx(db, conn, 0, false)
  local r = table.pack(pcall(fn, tx))
  tx._done = true
  if not r[1] then
    finish_failed(conn)
    conn:release()
    error(r[2], 0) -- a statement the deadline cancelled says transaction_timeout (the C side)
  end
  if deadline and core.now() >= deadline then
    finish_failed(conn)
    conn:release()
    error(timed_out(ms), 0)
  end
  local cok, cerr = pcall(commit, conn)
  conn:release()
  if not cok then error(cerr, 0) end
  return r
end

-- What a retry may run again: the whole transaction lost a race.
local retryable = { serialization_failure = true, deadlock_detected = true }

--- Runs fn(tx) in a transaction: commits when fn returns, rolls back and
--- re-raises fn's error when it raises. Returns what fn returns. Options:
--- isolation, read_only, deferrable; retry = n (run the whole of fn again,
--- up to n times, after a serialization failure or deadlock, with jittered
--- backoff); context = { name = value } (set_config for this transaction);
--- timeout = seconds (from BEGIN to COMMIT; past it the transaction is
--- rolled back and raises transaction_timeout).
function DB:transaction(fn, opts)
  if type(fn) ~= "function" then
    error(("bad argument #1 to 'transaction' (function expected, got %s)"):format(type(fn)), 2)
  end
  local sql = begin_sql("transaction", 2, opts)
  local ms = timeout_ms("transaction", 2, opts)
  local retries = opts and opts.retry or 0
  if math.type(retries) ~= "integer" or retries < 0 then
    error("bad argument #2 to 'transaction' (retry must be a whole number >= 0)", 2)
  end
  local context = opts and opts.context
  for n = 0, retries do
    local ok, r = pcall(attempt, self, fn, sql, context, ms)
    if ok then return table.unpack(r, 2, r.n) end
    if n == retries or not (tide.is_error(r) and retryable[r.code]) then error(r, 0) end
    -- 10 ms doubling to 1 s, each between half and all of it: the racers
    -- that collided should not collide again
    local delay = math.min(0.01 * 2 ^ n, 1)
    tide.sleep(delay * (0.5 + math.random() / 2))
  end
end

--- An explicit transaction: `local tx <close> = db:begin()`, then
--- tx:commit(). Leaving the block without committing rolls back.
function DB:begin(opts)
  local sql = begin_sql("begin", 1, opts)
  if opts and opts.retry then
    error("bad argument #1 to 'begin' (retry needs the whole transaction as a function: db:transaction(fn, { retry = n }))", 2)
  end
  local ms = timeout_ms("begin", 1, opts)
  local conn = self._pool:acquire()
  local deadline = start_clock(conn, ms)
  local ok, e = pcall(conn.exec, conn, sql)
  if ok and opts and opts.context then ok, e = pcall(set_context, conn, "begin", opts.context) end
  if not ok then
    finish_failed(conn)
    conn:release()
    error(e, 0)
  end
  local tx = new_tx(self, conn, 0, true)
  tx._deadline, tx._timeout_ms = deadline, ms
  return tx
end

--- A connection of one's own, for session work (LISTEN, temp tables, SET).
--- Give it back with conn:release() (or <close>); its session state is reset.
function DB:acquire() return self._pool:acquire(true) end


--- Creates the schema's enums, tables, foreign keys and indexes on an empty
--- database, in one transaction (changing an existing schema is what
--- migrations are for). The schema is the one given to tide.connect, or s.
function DB:push(s)
  s = s or self.schema
  if not s then error("push: no schema (pass one, or connect with { schema = ... })", 2) end
  local statements = s:ddl()
  self:transaction(function(tx)
    for _, sql in ipairs(statements) do tx:exec(sql) end
  end)
  return #statements
end

--- Refreshes a materialized view of the schema: db:refresh("Report",
--- { concurrently = true }).
function DB:refresh(name, opts)
  local s = self.schema
  if not s then error("refresh: no schema (connect with { schema = ... })", 2) end
  self:exec(s:refresh_sql(name, opts and opts.concurrently))
end

--- Adds a middleware around every model operation: fn(params, next), where
--- params = { model, operation, args, nested } and next(params) runs the
--- operation (and the middlewares added after fn). Returns db.
function DB:use(fn)
  if type(fn) ~= "function" then
    error(("bad argument #1 to 'use' (function expected, got %s)"):format(type(fn)), 2)
  end
  local list = rawget(self, "_middleware") or {}
  list[#list + 1] = fn
  rawset(self, "_middleware", list)
  return self
end

-- LISTEN/NOTIFY -----------------------------------------------------------------
--
-- One connection of the db's own listens for every channel; notifications are
-- handed to the handlers whenever the program polls (tide.poll, tide.run, a
-- task's wait) or a C host polls the loop.

local function listener(db)
  local l = rawget(db, "_listen")
  if l then return l end
  l = { conn = db._pool:acquire(true), channels = {}, quoted = {} }
  l.reader = core.listen(l.conn, function(channel, payload, pid)
    if channel == nil then -- the connection was lost: listen again to resume
      rawset(db, "_listen", nil)
      pcall(l.conn.release, l.conn)
      local lost = tide.error("connection_failure", "the connection listening for notifications was lost")
      for _, handlers in pairs(l.channels) do
        for _, h in ipairs(handlers) do if h.on_lost then h.on_lost(lost) end end
      end
      return
    end
    for _, h in ipairs(l.channels[channel] or {}) do h.fn(payload, channel, pid) end
  end)
  rawset(db, "_listen", l)
  return l
end

--- Calls fn(payload, channel, pid) for every notification on channel.
--- Returns a subscription: sub:unlisten() stops it. options: on_lost =
--- fn(err), called if the listening connection is lost.
function DB:listen(channel, fn, options)
  if type(channel) ~= "string" then
    error(("bad argument #1 to 'listen' (string expected, got %s)"):format(type(channel)), 2)
  end
  if type(fn) ~= "function" then
    error(("bad argument #2 to 'listen' (function expected, got %s)"):format(type(fn)), 2)
  end
  local l = listener(self)
  if not l.channels[channel] then
    -- an identifier, quoted by the server: LISTEN takes no parameters
    local q = l.conn:one("select quote_ident($1) as q", channel).q
    l.conn:exec("LISTEN " .. q)
    l.channels[channel], l.quoted[channel] = {}, q
  end
  local entry = { fn = fn, on_lost = options and options.on_lost }
  table.insert(l.channels[channel], entry)
  local db = self
  return {
    unlisten = function()
      local handlers = l.channels[channel]
      if not handlers then return end
      for i, h in ipairs(handlers) do if h == entry then table.remove(handlers, i) break end end
      if #handlers > 0 then return end
      l.channels[channel] = nil
      if rawget(db, "_listen") ~= l then return end
      if next(l.channels) then
        l.conn:exec("UNLISTEN " .. l.quoted[channel])
      else -- the last one: the connection goes back (its session reset)
        rawset(db, "_listen", nil)
        l.reader:close()
        l.conn:release()
      end
    end,
  }
end

--- Sends a notification: pg_notify(channel, payload), both bound.
function DB:notify(channel, payload)
  self:exec("select pg_notify($1, $2)", channel, payload or "")
end

--- for row in db:iter(sql, ...) do ... end: the rows of a query read a
--- batch at a time through a server-side cursor, so a large result is
--- never held whole. The cursor lives in a transaction on a connection of
--- its own, given back when the loop ends, breaks or raises.
function DB:iter(sql, ...)
  check_sql(sql)
  return cursor.iter(self, sql, nil, ...)
end

--- tide.poll, for a program that holds only its db.
function DB:poll(timeout) return async.poll(timeout) end

--- The primary's handle. Without replicas that is db itself; with them, a
--- handle whose reads go to the primary too (see tide/replicas.lua).
function DB:primary() return self end

--- The replicas' handles (none without replicas).
function DB:replicas() return {} end

function DB:close()
  local l = rawget(self, "_listen")
  if l then
    rawset(self, "_listen", nil)
    l.reader:close()
    pcall(l.conn.release, l.conn)
  end
  self._pool:close()
end
DB.__close = DB.close

function DB:__tostring()
  local ok, d = pcall(self._pool.describe, self._pool)
  return ("tide.db(%s)"):format(ok and d or "closed")
end

--- Wraps a pool (from tide.core, or a C host's via tide_lua_push_db).
function tide.wrap(pool)
  return setmetatable({ _pool = pool }, DB)
end

local replicas = require "tide.replicas"
local Routed, View

--- Connects: tide.connect(url [, options]) or tide.connect{ url = ..., ... }.
--- Times are in seconds. Options: pool = { min, max, acquire_timeout,
--- idle_timeout, max_lifetime, ping_idle }, connect_timeout,
--- statement_timeout (the server's), query_timeout (tide's own deadline: a
--- query with no answer by then fails with query_canceled; see
--- docs/guide/async.md), statement_cache, application_name, pgbouncer;
--- relation_load_strategy ("query", the default, or "join": how the model
--- client loads include); primary (the url's other name), replicas =
--- { url, ... }, replica_chooser, replica_retry (see tide/replicas.lua).
function tide.connect(url, opts)
  if type(url) == "table" and opts == nil then
    opts, url = url, url.url
  end
  opts = opts or {}
  if type(opts) ~= "table" then
    error(("bad argument #2 to 'connect' (table expected, got %s)"):format(type(opts)), 2)
  end
  if opts.primary ~= nil then
    if url ~= nil then error("bad argument #1 to 'connect' (give the URL as url or as primary, not both)", 2) end
    url = opts.primary
  end
  if type(url) ~= "string" then
    error(("bad argument #1 to 'connect' (string expected, got %s)"):format(type(url)), 2)
  end
  check_options("connect", 2, opts, connect_options)
  local strategy = opts.relation_load_strategy
  if strategy ~= nil and strategy ~= "query" and strategy ~= "join" then
    error(("bad argument #2 to 'connect' (relation_load_strategy is 'query' or 'join', got '%s'%s)")
      :format(strategy, util.did_you_mean(strategy, { "query", "join" })), 2)
  end
  local p = opts.pool or {}
  check_options("connect", 2, p, pool_options)
  local core_opts = {
    min_size = whole("connect", "min", p.min),
    max_size = whole("connect", "max", p.max),
    acquire_timeout_ms = ms(p.acquire_timeout),
    idle_timeout_ms = ms(p.idle_timeout),
    max_lifetime_ms = ms(p.max_lifetime),
    ping_idle_ms = ms(p.ping_idle),
    connect_timeout_ms = ms(opts.connect_timeout),
    statement_timeout_ms = ms(opts.statement_timeout),
    query_timeout_ms = ms(opts.query_timeout),
    stmt_cache_size = whole("connect", "statement_cache", opts.statement_cache),
    application_name = opts.application_name,
    no_prepare = opts.pgbouncer,
  }
  local db = tide.wrap(core.connect(url, core_opts))
  db._relation_load_strategy = strategy
  if opts.replicas and #opts.replicas > 0 then
    if not Routed then Routed, View = replicas.classes(DB, tide.attach) end
    local ok, e = pcall(replicas.setup, db, opts.replicas, core_opts, opts.replica_chooser, opts.replica_retry,
      { Routed = Routed, View = View })
    if not ok then
      db:close()
      error(e, tide.is_error(e) and 0 or 2)
    end
  elseif opts.replica_chooser or opts.replica_retry then
    db:close()
    error("bad argument #2 to 'connect' (replica_chooser and replica_retry need replicas)", 2)
  end
  if opts.schema then tide.attach(db, opts.schema) end
  if opts.report then report.setup(db, report.settings(opts.report, 2)) end
  return db
end

--- Gives db the model clients of schema: db.User, db.Post, ...
function tide.attach(db, s)
  s:finish()
  db.schema = s
  -- a method table of this db's own: its class's methods (DB's, or those of
  -- a db with replicas) and one client per model, so both stay plain table
  -- lookups; only an unknown model name reaches the function, which names
  -- the nearest one
  local class = rawget(db, "_class") or DB
  local client = class._client or model.client
  local own = {}
  for k, v in pairs(class) do own[k] = v end
  for name in pairs(s.models) do own[name] = client(s, name, db, db) end
  setmetatable(own, { __index = function(_, key) return model.lookup(s, own, db, key, db) end })
  local mt = {}
  for k, v in pairs(class) do if k:sub(1, 2) == "__" then mt[k] = v end end
  mt.__index = own
  setmetatable(db, mt)
  if class._attached then class._attached(db, s) end
  return db
end

return tide
