-- Migrations: files from schema diffs, and applying them.
--
--   migrations/<timestamp>_<name>/up.sql        the steps, as SQL
--   migrations/<timestamp>_<name>/down.sql      their inverses, in reverse order
--   migrations/<timestamp>_<name>/snapshot.json what the schema creates after it
--
-- The next `dev` diffs the newest snapshot against the schema, so the files
-- alone say what the database should hold; the database is only touched to
-- apply them. Deploy applies pending migrations in name order, each in a
-- transaction of its own, under a session advisory lock, and records each in
-- _tide_migrations (name, checksum, started, finished, duration, outcome).
local core = require "tide.core"

local M = {}

M.HISTORY = "_tide_migrations"
-- The advisory lock's key: one per database, the same for every tide.
M.LOCK_KEY = 7245366813

local HISTORY_DDL = [[
create table if not exists _tide_migrations (
  name text primary key,
  checksum text not null,
  started_at timestamptz not null,
  finished_at timestamptz,
  duration_ms bigint,
  outcome text not null check (outcome in ('applied', 'failed', 'rolled_back')),
  error text
)]]

local function fail(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, { __tostring = function(e) return e.message end }), 0)
end
M.fail = fail

-- Files ---------------------------------------------------------------------------

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function mkdir(path)
  local ok = os.execute("mkdir -p " .. shell_quote(path))
  if not ok then fail("cannot create %s", path) end
end

--- The migrations in dir, oldest first: { name =, dir =, up =, down =, snapshot = } (texts read lazily).
function M.list(dir)
  local out = {}
  local p = io.popen("ls -1 " .. shell_quote(dir) .. " 2>/dev/null")
  for name in p:lines() do
    if name:match("^%d+_[%w_%-]+$") and read_file(dir .. "/" .. name .. "/up.sql") then
      out[#out + 1] = { name = name, dir = dir .. "/" .. name }
    end
  end
  p:close()
  table.sort(out, function(a, b) return a.name < b.name end)
  for _, m in ipairs(out) do
    m.up = read_file(m.dir .. "/up.sql")
    m.down = read_file(m.dir .. "/down.sql")
    m.snapshot = read_file(m.dir .. "/snapshot.json")
  end
  return out
end

-- SQL text ----------------------------------------------------------------------------

local function quote_ident(name)
  return '"' .. name:gsub('"', '""') .. '"'
end

local function flags(s)
  local t = {}
  if s.destructive then t[#t + 1] = "destructive" end
  if s.irreversible then t[#t + 1] = "irreversible" end
  if s.may_fail then t[#t + 1] = "may fail on existing rows" end
  return #t > 0 and (" [" .. table.concat(t, ", ") .. "]") or ""
end

--- up.sql and down.sql for a list of steps.
function M.render(steps, name)
  local up = { ("-- tide migration %s: %d step%s\n"):format(name, #steps, #steps == 1 and "" or "s") }
  for _, s in ipairs(steps) do
    up[#up + 1] = ("\n-- %s%s\n"):format(s.summary, flags(s))
    for _, sql in ipairs(s.up) do up[#up + 1] = sql .. ";\n" end
  end
  local down = { ("-- tide migration %s, undone: the inverse steps in reverse order\n"):format(name) }
  for i = #steps, 1, -1 do
    local s = steps[i]
    down[#down + 1] = ("\n-- undo: %s%s\n"):format(s.summary,
      s.irreversible and " [irreversible: the structure comes back, the data does not]" or "")
    for _, sql in ipairs(s.down) do down[#down + 1] = sql .. ";\n" end
  end
  return table.concat(up), table.concat(down)
end

-- The database --------------------------------------------------------------------------

--- The live database as catalog JSON (tide's history table left out).
function M.introspect(db)
  return db:one(core.introspect_sql()).json_build_object
end

--- Steps from `from` to `to` (each a schema, or catalog JSON; "{}" is empty).
function M.diff(from, to)
  if type(from) == "table" then from = from:finish().core end
  if type(to) == "table" then to = to:finish().core end
  return core.diff(from, to)
end

--- The destructive steps, each with the rows it touches:
--- { { step =, table =, rows = n or nil } }.
function M.destructive(db, steps)
  local out = {}
  for _, s in ipairs(steps) do
    if s.destructive then
      local rows
      if db and s.table then
        local qualified = (s.pg_schema and (quote_ident(s.pg_schema) .. ".") or "") .. quote_ident(s.table)
        local ok, r = pcall(db.one, db, "select count(*) as n from " .. qualified)
        if ok and r then rows = r.n end
      end
      out[#out + 1] = { step = s, table = s.table, rows = rows }
    end
  end
  return out
end

function M.describe_data_loss(list)
  local lines = {}
  for _, d in ipairs(list) do
    local where = d.rows and ("; %s holds %d row%s"):format(d.table, d.rows, d.rows == 1 and "" or "s") or ""
    lines[#lines + 1] = "  - " .. d.step.summary .. where
  end
  return table.concat(lines, "\n")
end

local function checksum(db, text)
  return db:one("select encode(sha256(convert_to($1::text, 'UTF8')), 'hex') as c", text).c
end
M.checksum = checksum

local function history(conn)
  conn:exec(HISTORY_DDL)
  local rows = conn:query("select name, checksum, outcome, started_at::text as started_at, finished_at::text as finished_at, " ..
    "duration_ms, error from _tide_migrations order by name")
  local by = {}
  for _, r in ipairs(rows) do by[r.name] = r end
  return rows, by
end

--- What the folder and the history say together:
--- { { name, state = "applied" | "pending" | "failed" | "rolled_back" | "modified" | "missing", row = } },
--- then M.drift's two results.
function M.status(db, dir)
  local conn = db:acquire()
  local ok, res = pcall(function()
    local rows, by = history(conn)
    local out = {}
    local files = M.list(dir)
    local seen = {}
    for _, m in ipairs(files) do
      seen[m.name] = true
      local r = by[m.name]
      local state = "pending"
      if r then
        state = r.outcome
        if r.outcome == "applied" and r.checksum ~= checksum(conn, m.up) then state = "modified" end
      end
      out[#out + 1] = { name = m.name, state = state, row = r, migration = m }
    end
    for _, r in ipairs(rows) do
      if not seen[r.name] and r.outcome == "applied" then
        out[#out + 1] = { name = r.name, state = "missing", row = r }
      end
    end
    table.sort(out, function(a, b) return a.name < b.name end)
    return { out, M.drift(conn, dir, by) }
  end)
  conn:release()
  if not ok then error(res, 0) end
  return res[1], res[2], res[3]
end

local function interval(seconds)
  return ("%dms"):format(math.floor(seconds * 1000 + 0.5))
end

-- Runs fn(conn) on a connection of its own that holds the advisory lock
-- (waited for up to opts.wait seconds, default 60). A session lock: a
-- migrator that dies releases it with its connection.
local function locked(db, opts, fn)
  local conn = db:acquire()
  local ok, res = pcall(function()
    conn:exec(("set lock_timeout = '%s'"):format(interval(opts.wait or 60)))
    conn:exec(("select pg_advisory_lock(%d)"):format(M.LOCK_KEY))
    conn:exec("reset lock_timeout")
    -- a migrator killed mid-statement: the server notices within a second
    -- (not when the statement ends), rolls back and frees the lock
    conn:exec("set client_connection_check_interval = 1000")
    return fn(conn)
  end)
  pcall(conn.exec, conn, ("select pg_advisory_unlock(%d)"):format(M.LOCK_KEY))
  conn:release()
  if not ok then error(res, 0) end
  return res
end

local function refuse_unresolved(by)
  for name, r in pairs(by) do
    if r.outcome == "failed" then
      fail("migration %s failed (%s) and is not resolved: fix the database, then run\n" ..
        "  tide migrate resolve --rolled-back %s   (it left nothing behind: deploy runs it again)\n" ..
        "  tide migrate resolve --applied %s       (you finished it by hand)", name, r.error or "?", name, name)
    end
  end
end

local function record(conn, name, sum, started, outcome, err)
  conn:exec("insert into _tide_migrations (name, checksum, started_at, finished_at, duration_ms, outcome, error) " ..
    "values ($1, $2, $3::timestamptz, clock_timestamp(), " ..
    "(extract(epoch from clock_timestamp() - $3::timestamptz) * 1000)::bigint, $4, $5) " ..
    "on conflict (name) do update set checksum = excluded.checksum, started_at = excluded.started_at, " ..
    "finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, outcome = excluded.outcome, " ..
    "error = excluded.error", name, sum, started, outcome, err or core.null)
end

-- Runs sql in a transaction of its own with lock_timeout set, recording
-- outcome in the same transaction. Returns true, or false and the error
-- (the transaction rolled back).
local function run_recorded(conn, opts, sql, name, sum, outcome)
  local started = conn:one("select clock_timestamp()::text as t").t
  local ok, err = pcall(function()
    conn:exec("begin")
    conn:exec(("set local lock_timeout = '%s'"):format(interval(opts.lock_timeout or 10)))
    conn:exec(sql)
    record(conn, name, sum, started, outcome)
    conn:exec("commit")
  end)
  if not ok then pcall(conn.exec, conn, "rollback") end
  return ok, err, started
end

--- What the live database holds beyond (or short of) what the applied
--- migrations made: the steps from the newest applied migration's snapshot
--- to the database, each as "add column notes.extra" (made outside
--- migrations). Returns the steps and the migration compared with, or
--- nil and why nothing could be compared.
function M.drift(conn, dir, by)
  if not by then by = select(2, history(conn)) end
  local last
  for _, m in ipairs(M.list(dir)) do
    if by[m.name] and by[m.name].outcome == "applied" then last = m end
  end
  if not last then return nil, "no migration is applied" end
  if not last.snapshot then return nil, ("%s has no snapshot.json"):format(last.name) end
  return M.diff(last.snapshot, M.introspect(conn)), last.name
end

function M.describe_drift(steps, against)
  local lines = { ("the database differs from what the migrations made (up to %s):"):format(against) }
  for _, s in ipairs(steps) do lines[#lines + 1] = "  - " .. s.summary end
  return table.concat(lines, "\n")
end

--- Applies the pending migrations of dir, in order, each in its own
--- transaction, under the advisory lock. opts: lock_timeout (seconds, for
--- each migration's statements; default 10), wait (seconds to wait for
--- another deploy's lock; default 60), log (function(line)), on_drift
--- (function(text), called with the drift found before applying anything;
--- it may raise to stop), progress (a tide.progress reporter). Returns the
--- names applied. Raises (and applies nothing more) on a failed migration,
--- an edited applied one, or a failure left unresolved.
function M.deploy(db, dir, opts)
  opts = opts or {}
  local log = opts.log or function() end
  return locked(db, opts, function(conn)
    local applied = {}
    local _, by = history(conn)
    refuse_unresolved(by)
    if opts.on_drift then
      local steps, against = M.drift(conn, dir, by)
      if steps and #steps > 0 then opts.on_drift(M.describe_drift(steps, against)) end
    end
    local pending = {}
    for _, m in ipairs(M.list(dir)) do
      local r = by[m.name]
      m.sum = checksum(conn, m.up)
      if r and r.outcome == "applied" then
        if r.checksum ~= m.sum then
          fail("migration %s was edited after it was applied (its up.sql no longer matches the checksum " ..
            "recorded when it ran): restore the file, or make a new migration for the change", m.name)
        end
      else
        pending[#pending + 1] = m
      end
    end
    for i, m in ipairs(pending) do
      log(("applying %s"):format(m.name))
      if opts.progress then opts.progress(("applying %s"):format(m.name), i - 1, #pending) end
      local t0 = os.clock()
      local ok, err, started = run_recorded(conn, opts, m.up, m.name, m.sum, "applied")
      if not ok then
        local msg = tostring(err)
        record(conn, m.name, m.sum, started, "failed", msg)
        fail("migration %s failed and was rolled back: %s\nDeploy stops here; after fixing it run " ..
          "tide migrate resolve --rolled-back %s", m.name, msg, m.name)
      end
      log(("applied %s (%.0f ms of client time)"):format(m.name, (os.clock() - t0) * 1000))
      applied[#applied + 1] = m.name
    end
    if opts.progress and #pending > 0 then opts.progress("applied", #pending, #pending) end
    return applied
  end)
end

-- The undo steps of a down.sql that bring back structure but not data.
local function irreversible(down)
  local out = {}
  for what in down:gmatch("%-%- undo: ([^\n]-) %[irreversible") do out[#out + 1] = what end
  return out
end

--- Runs the down.sql of the last opts.steps (default 1) applied
--- migrations, newest first, each in its own transaction under the
--- advisory lock, recording each as rolled_back (so deploy applies it
--- again). A migration whose down cannot bring back data (it undoes a
--- drop) is refused unless opts.force; so is one whose up.sql changed.
--- Returns the names rolled back.
function M.rollback(db, dir, opts)
  opts = opts or {}
  local log = opts.log or function() end
  local n = math.tointeger(tonumber(opts.steps or 1))
  if not n or n < 1 then fail("--steps must be a whole number of 1 or more, got %s", tostring(opts.steps)) end
  return locked(db, opts, function(conn)
    local rows, by = history(conn)
    refuse_unresolved(by)
    local files = {}
    for _, m in ipairs(M.list(dir)) do files[m.name] = m end
    local todo = {}
    for i = #rows, 1, -1 do
      if #todo < n and rows[i].outcome == "applied" then todo[#todo + 1] = rows[i] end
    end
    if #todo == 0 then fail("no applied migration to roll back") end
    for _, r in ipairs(todo) do
      local m = files[r.name]
      if not m or not m.down then fail("migration %s is applied but its down.sql is gone: cannot roll it back", r.name) end
      if r.checksum ~= checksum(conn, m.up) then
        fail("migration %s was edited after it was applied: its down.sql may not undo what ran; nothing was " ..
          "rolled back", r.name)
      end
      local lost = irreversible(m.down)
      if #lost > 0 and not opts.force then
        fail("rolling back %s brings back structure but not the data it dropped:\n  - %s\n" ..
          "Nothing was rolled back; run again with --force to go ahead", r.name, table.concat(lost, "\n  - "))
      end
    end
    local done = {}
    for _, r in ipairs(todo) do
      local m = files[r.name]
      log(("rolling back %s"):format(m.name))
      local ok, err = run_recorded(conn, opts, m.down, m.name, r.checksum, "rolled_back")
      if not ok then
        fail("rolling back %s failed and changed nothing: %s", m.name, tostring(err))
      end
      done[#done + 1] = m.name
    end
    return done
  end)
end

--- Drops every schema of the database (public is made again, as
--- PostgreSQL 15 makes it) with everything in it, tide's history
--- included, then deploys every migration. For development databases:
--- the command refuses any other unless forced.
function M.reset(db, dir, opts)
  opts = opts or {}
  locked(db, opts, function(conn)
    local names = conn:query([[
      select nspname::text as name from pg_namespace n
      where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg\_%'
        and not exists (select 1 from pg_depend d where d.classid = 'pg_namespace'::regclass
                        and d.objid = n.oid and d.deptype = 'e')
      order by 1]])
    conn:exec("begin")
    local ok, e = pcall(function()
      for _, r in ipairs(names) do conn:exec("drop schema " .. quote_ident(r.name) .. " cascade") end
      conn:exec("create schema public authorization pg_database_owner")
      conn:exec("grant usage on schema public to public")
      conn:exec("commit")
    end)
    if not ok then
      pcall(conn.exec, conn, "rollback")
      error(e, 0)
    end
  end)
  return M.deploy(db, dir, opts)
end

--- Marks a failed migration: as = "applied" (finished by hand) or
--- "rolled_back" (deploy will run it again).
function M.resolve(db, dir, name, as)
  local conn = db:acquire()
  local ok, e = pcall(function()
    local _, by = history(conn)
    local r = by[name]
    if not r then fail("migration %s has no history to resolve", name) end
    if r.outcome ~= "failed" then fail("migration %s is %s, not failed: nothing to resolve", name, r.outcome) end
    local sum = r.checksum
    for _, m in ipairs(M.list(dir)) do
      if m.name == name then sum = checksum(conn, m.up) end
    end
    conn:exec("update _tide_migrations set outcome = $2, checksum = $3 where name = $1", name, as, sum)
  end)
  conn:release()
  if not ok then error(e, 0) end
end

local function next_stamp(files, now)
  local stamp = now or os.date("!%Y%m%d%H%M%S")
  local last = files[#files] and files[#files].name:match("^(%d+)_")
  if last and #last == #stamp and stamp <= last then
    stamp = ("%014d"):format(math.tointeger(tonumber(last)) + 1)
  end
  return stamp
end

--- The development loop: applies pending migrations to db, diffs the newest
--- snapshot against the schema, writes a migration and (unless
--- opts.create_only) applies it. opts: name, create_only, accept_data_loss,
--- lock_timeout, log. Returns the new migration's folder, or nil when
--- there was nothing to change. Destructive steps without
--- accept_data_loss raise, naming the tables and their rows, and write
--- nothing.
function M.dev(db, schema, dir, opts)
  opts = opts or {}
  local log = opts.log or function() end
  if not opts.name or not opts.name:match("^[%w_%-]+$") then
    fail("a migration needs a name of letters, digits, '_' and '-' (--name NAME)")
  end
  mkdir(dir)
  M.deploy(db, dir, { lock_timeout = opts.lock_timeout, wait = opts.wait, log = opts.log,
    on_drift = function(text)
      fail("%s\nThe next migration would be made for a database that is not there. Undo those changes, or " ..
        "start again from the migrations with tide migrate reset (drops all data)", text)
    end })
  local files = M.list(dir)
  local from = files[#files] and files[#files].snapshot or "{}"
  local steps = M.diff(from, schema)
  if #steps == 0 then
    log("the schema and the migrations agree: nothing to do")
    return nil
  end
  local loss = M.destructive(db, steps)
  if #loss > 0 and not opts.accept_data_loss then
    fail("this migration would lose data:\n%s\nNothing was written; run again with --accept-data-loss to go ahead",
      M.describe_data_loss(loss))
  end
  local name = next_stamp(files, opts.now) .. "_" .. opts.name
  local up, down = M.render(steps, name)
  local path = dir .. "/" .. name
  mkdir(path)
  write_file(path .. "/up.sql", up)
  write_file(path .. "/down.sql", down)
  write_file(path .. "/snapshot.json", schema:snapshot())
  log(("wrote %s (%d step%s)"):format(path, #steps, #steps == 1 and "" or "s"))
  if not opts.create_only then M.deploy(db, dir, opts) end
  return path, steps
end

--- Brings the live database to the schema without migration files (db
--- push): the steps from the introspected database to the schema, in one
--- transaction. Destructive steps raise, naming the tables and their rows,
--- and change nothing, unless opts.accept_data_loss. Returns the steps.
function M.push(db, schema, opts)
  opts = opts or {}
  local steps = M.diff(M.introspect(db), schema)
  local loss = M.destructive(db, steps)
  if #loss > 0 and not opts.accept_data_loss then
    fail("this push would lose data:\n%s\nNothing was changed; run again with --accept-data-loss to go ahead",
      M.describe_data_loss(loss))
  end
  if #steps > 0 then
    db:transaction(function(tx)
      for _, s in ipairs(steps) do
        for _, sql in ipairs(s.up) do tx:exec(sql) end
      end
    end)
  end
  return steps
end

-- Configuration ----------------------------------------------------------------------------

--- tide.config.lua, from dir (default: the current directory) upward:
--- returns the config table with `root` (its folder), or nil.
function M.find_config(dir)
  dir = dir or os.getenv "PWD" or "."
  while true do
    local path = dir .. "/tide.config.lua"
    if read_file(path) then
      local chunk = assert(loadfile(path))
      local cfg = chunk()
      if type(cfg) ~= "table" then fail("%s must return a table", path) end
      cfg.root = dir
      cfg.path = path
      return cfg
    end
    local parent = dir:match("^(.*)/[^/]+$")
    if not parent or parent == dir then return nil end
    dir = parent == "" and "/" or parent
    if dir == "/" and not read_file("/tide.config.lua") then return nil end
  end
end

return M
