-- The `tide` command: run, migrate, db, dev, console, version, help.
local tide = require "tide"

local cli = {}

local usage = [[
usage: tide <command> [arguments]

commands:
  run SCRIPT [ARGS...]   run a Lua script with tide loaded; when DATABASE_URL
                         is set, the global `db` is connected to it
  migrate dev --name N [--create-only] [--accept-data-loss]
                         diff the newest migration's snapshot against the
                         schema, write migrations/<timestamp>_N/ (up.sql,
                         down.sql, snapshot.json) and apply it
  migrate deploy         apply pending migrations, each in a transaction,
                         under an advisory lock, recorded in _tide_migrations
  migrate status         list applied, pending, failed and edited migrations,
                         and changes made to the database outside them
  migrate resolve --applied N | --rolled-back N
                         settle a failed migration so deploy can go on
  migrate rollback [--steps N] [--force]
                         run the down.sql of the last N applied migrations
  migrate reset [--force] [--skip-seed]
                         drop everything in the development database, apply
                         every migration, run the seed script
  migrate diff [--from-db] [--exit-code]
                         print the SQL from the migrations (or the live
                         database) to the schema; --exit-code: 2 if any
  db push [SCHEMA.lua] [--accept-data-loss]
                         bring the database to the schema, without files
  db pull [--out FILE]   write the database's tables as a Lua schema
  db seed                run the seed script of tide.config.lua
  db execute --file F | --stdin
                         run the SQL of a file (or of standard input)
  dev [stop|url]         start (or stop) a throwaway PostgreSQL for this
                         project under .tide/; prints its URL, which the
                         other commands use when DATABASE_URL is not set
  generate types [--schema SCHEMA.lua] [--out FILE]
                         write LuaLS annotations for the schema's models
                         (row classes, db.<Model> with typed methods) to
                         FILE (default tide_types.lua)
  console [--schema SCHEMA.lua] [--url URL]
                         a Lua REPL with db connected (and the models)
  version                print tide's version
  help                   print this help

Scripts see `tide` (the module), `db` (when DATABASE_URL is set) and `arg`
(arg[0] is the script, arg[1..] its arguments), as the lua command gives them.

migrate and db read tide.config.lua, found from the current directory upward:
  return { url = os.getenv "DATABASE_URL", schema = "schema.lua",
           migrations = "migrations", seed = "seed.lua", lock_timeout = 10,
           dev_url = nil }   -- a database reset may drop, besides tide dev's
Every migrate and db command takes --url URL, --schema FILE, --dir FOLDER.
]]

local function run(args)
  local script = args[1]
  if not script then
    io.stderr:write("tide run: which script? usage: tide run SCRIPT [ARGS...]\n")
    return 2
  end
  local chunk, err = loadfile(script)
  if not chunk then
    io.stderr:write("tide run: ", err, "\n")
    return 1
  end
  local script_arg = { [0] = script }
  for i = 2, #args do script_arg[i - 1] = args[i] end
  _G.arg = script_arg
  _G.tide = tide
  local url = os.getenv "DATABASE_URL"
  if not url or url == "" then url = require("tide.dev").url() end
  local db
  local ok, e = xpcall(function(...)
    if url and url ~= "" then
      db = tide.connect(url)
      _G.db = db
    end
    return chunk(...)
  end, function(m)
    if tide.is_error(m) then m = tostring(m) end
    return debug.traceback(tostring(m), 2)
  end, table.unpack(script_arg, 1, #args - 1))
  if db then db:close() end
  if not ok then
    io.stderr:write(e, "\n")
    return 1
  end
  return 0
end

-- tide migrate and tide db ------------------------------------------------------

local flags = { ["--url"] = "url", ["--name"] = "name", ["--schema"] = "schema", ["--dir"] = "dir",
  ["--applied"] = "applied", ["--rolled-back"] = "rolled_back", ["--lock-timeout"] = "lock_timeout",
  ["--steps"] = "steps", ["--file"] = "file", ["--out"] = "out",
  ["--create-only"] = true, ["--accept-data-loss"] = true, ["--force"] = true, ["--exit-code"] = true,
  ["--from-db"] = true, ["--stdin"] = true, ["--skip-seed"] = true }

-- A mistake in the command line: exit status 2.
local function usage_error(fmt, ...)
  error(setmetatable({ message = fmt:format(...), usage = true }, { __tostring = function(e) return e.message end }), 0)
end

local function absolute(p, base)
  if not p then return nil end
  return p:sub(1, 1) == "/" and p or (base .. "/" .. p)
end

-- The options of args (one positional argument allowed: a schema file for
-- db push), with tide.config.lua's settings filled in.
local function options(args)
  local o = {}
  local i = 1
  while args[i] do
    local a = args[i]
    local key = flags[a]
    if key == true then
      o[a:sub(3):gsub("%-", "_")] = true
      i = i + 1
    elseif key then
      if not args[i + 1] then usage_error("%s needs a value", a) end
      o[key] = args[i + 1]
      i = i + 2
    elseif a:sub(1, 1) ~= "-" and not o.positional then
      o.positional = a
      i = i + 1
    else
      local util = require "tide.util"
      usage_error("unknown option '%s'%s", a, util.did_you_mean(a, flags))
    end
  end
  local cfg = require("tide.migrate").find_config() or {}
  local cwd = os.getenv "PWD" or "."
  local root = cfg.root or cwd
  o.config, o.cwd = cfg, cwd
  o.dev_url = require("tide.dev").url()
  o.url = o.url or cfg.url or os.getenv "DATABASE_URL"
  if not o.url or o.url == "" then o.url = o.dev_url end
  o.dir = absolute(o.dir, cwd) or absolute(cfg.migrations or "migrations", root)
  o.schema_path = absolute(o.schema or o.positional, cwd) or absolute(cfg.schema, root)
  o.seed_path = absolute(cfg.seed, root)
  o.lock_timeout = tonumber(o.lock_timeout) or cfg.lock_timeout
  return o
end

local function need_url(o)
  if not o.url or o.url == "" then
    usage_error("no database: set url in tide.config.lua, DATABASE_URL, pass --url, or start one with tide dev")
  end
  return o.url
end

local function load_schema(path)
  if not path then usage_error("no schema: set schema in tide.config.lua or pass --schema FILE") end
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  local schema = chunk()
  if type(schema) ~= "table" or type(schema.finish) ~= "function" then
    error(("%s must return a schema (tide.schema()), got %s"):format(path, type(schema)), 0)
  end
  return schema
end

local function plural(n, word)
  return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

local function warn(text) io.stderr:write("warning: ", text, "\n") end

local function print_steps(steps)
  local m = require "tide.migrate"
  local up = m.render(steps, "diff")
  io.write((up:gsub("^[^\n]*\n", "")))
end

-- Runs the config's seed script with `db` connected (with the schema's
-- models when there is a schema) and seeding's progress shown.
local function run_seed(o)
  if not o.seed_path then usage_error("no seed script: set seed in tide.config.lua") end
  local db = tide.connect(need_url(o), { schema = o.schema_path and load_schema(o.schema_path) })
  local seed = require "tide.seed"
  local ok, e = pcall(function()
    local chunk, err = loadfile(o.seed_path, "t", setmetatable({ db = db, tide = tide }, { __index = _G }))
    if not chunk then error(err, 0) end
    seed.progress = require("tide.progress").new()
    chunk()
  end)
  seed.progress = nil
  db:close()
  if not ok then error(e, 0) end
  print("seeded (" .. o.seed_path .. ")")
end

local commands = { migrate = {}, db = {} }
local M, D = commands.migrate, commands.db

function M.dev(o, m, db)
  m.dev(db, load_schema(o.schema_path), o.dir, { name = o.name, create_only = o.create_only,
    accept_data_loss = o.accept_data_loss, lock_timeout = o.lock_timeout, log = print })
end

local function deploy_options(o)
  local live = require("tide.progress").is_terminal()
  return { lock_timeout = o.lock_timeout, on_drift = warn, log = not live and print or nil,
    progress = live and require("tide.progress").new(nil, true) or nil }
end

function M.deploy(o, m, db)
  local applied = m.deploy(db, o.dir, deploy_options(o))
  print(#applied == 0 and "no pending migrations" or ("applied " .. plural(#applied, "migration")))
end

function M.status(o, m, db)
  local list, drift, against = m.status(db, o.dir)
  local code = 0
  for _, s in ipairs(list) do
    local r = s.row
    print(("%-12s %s%s"):format(s.state, s.name, r and r.finished_at and ("  " .. r.finished_at) or ""))
    if s.state ~= "applied" then code = 1 end
  end
  if #list == 0 then print("no migrations") end
  if drift and #drift > 0 then
    print(m.describe_drift(drift, against))
    code = 1
  end
  return code
end

function M.resolve(o, m, db)
  if not o.applied == not o.rolled_back then usage_error("resolve: --applied NAME or --rolled-back NAME") end
  m.resolve(db, o.dir, o.applied or o.rolled_back, o.applied and "applied" or "rolled_back")
  print(("%s marked %s"):format(o.applied or o.rolled_back, o.applied and "applied" or "rolled back"))
end

function M.rollback(o, m, db)
  local done = m.rollback(db, o.dir, { steps = o.steps, force = o.force, lock_timeout = o.lock_timeout,
    log = print })
  print("rolled back " .. plural(#done, "migration"))
end

function M.reset(o, m, db)
  local dev = o.url == o.dev_url or (o.config.dev_url and o.url == o.config.dev_url)
  if not dev and not o.force then
    error("reset drops every table and its data: it runs only against the development database (the one " ..
      "tide dev started, or dev_url in tide.config.lua); this is " .. db:describe() ..
      ". Nothing was dropped; pass --force if you mean it", 0)
  end
  local applied = m.reset(db, o.dir, deploy_options(o))
  print("reset: applied " .. plural(#applied, "migration"))
  if o.seed_path and not o.skip_seed then run_seed(o) end
end

-- The SQL from the migrations (their newest snapshot), or the live
-- database with --from-db, to the schema.
function M.diff(o, m)
  local schema = load_schema(o.schema_path)
  local steps
  if o.from_db then
    local db = tide.connect(need_url(o), { pool = { max = 1 } })
    local ok, e = pcall(function() steps = m.diff(m.introspect(db), schema) end)
    db:close()
    if not ok then error(e, 0) end
  else
    local files = m.list(o.dir)
    steps = m.diff(files[#files] and files[#files].snapshot or "{}", schema)
  end
  if #steps == 0 then
    print("-- no difference")
    return 0
  end
  print_steps(steps)
  return o.exit_code and 2 or 0
end

function D.push(o, m, db)
  local steps = m.push(db, load_schema(o.schema_path), { accept_data_loss = o.accept_data_loss })
  if #steps == 0 then
    print("the database already matches the schema")
  else
    for _, s in ipairs(steps) do print("  " .. s.summary) end
    print(("pushed %s to %s"):format(plural(#steps, "change"), db:describe()))
  end
end

function D.pull(o, m, db)
  local text = require("tide.pull").lua(db)
  if o.out then
    local f = assert(io.open(absolute(o.out, o.cwd), "w"))
    f:write(text)
    f:close()
    print("wrote " .. o.out)
  else
    io.write(text)
  end
end

D.seed = run_seed

function D.execute(o, m, db)
  local sql
  if o.file and o.stdin then usage_error("execute: --file F or --stdin, not both") end
  if o.file then
    local f, err = io.open(absolute(o.file, o.cwd), "rb")
    if not f then error(err, 0) end
    sql = f:read("a")
    f:close()
  elseif o.stdin then
    sql = io.read("a")
  else
    usage_error("execute: which SQL? --file F or --stdin")
  end
  db:exec(sql)
  print("executed")
end

local function dispatch(group, args)
  local sub = args[1]
  local cmd = commands[group][sub]
  if type(cmd) ~= "function" then
    local util = require "tide.util"
    local names = {}
    for k in pairs(commands[group]) do names[#names + 1] = k end
    table.sort(names)
    io.stderr:write(("tide %s: unknown command '%s'%s (%s)\n"):format(group, tostring(sub),
      util.did_you_mean(sub or "", names), table.concat(names, ", ")))
    return 2
  end
  local code
  local ok, e = pcall(function()
    local o = options({ table.unpack(args, 2) })
    if o.positional and cmd ~= D.push then -- only db push takes a file without a flag
      usage_error("unexpected argument '%s' (options are written --name value)", o.positional)
    end
    local m = require "tide.migrate"
    if cmd == M.diff or cmd == D.seed then -- they connect themselves, or not at all
      code = cmd(o, m)
      return
    end
    local db = tide.connect(need_url(o), { pool = { max = 2 } })
    local okc, ec = pcall(function() code = cmd(o, m, db) end)
    db:close()
    if not okc then error(ec, 0) end
  end)
  if not ok then
    io.stderr:write("tide ", group, " ", sub, ": ", tostring(e), "\n")
    return type(e) == "table" and e.usage and 2 or 1
  end
  return code or 0
end

-- tide generate types -----------------------------------------------------------

local function generate(args)
  if args[1] ~= "types" then
    local util = require "tide.util"
    io.stderr:write(("tide generate: unknown target '%s'%s; usage: tide generate types [--schema FILE] [--out FILE]\n")
      :format(tostring(args[1]), util.did_you_mean(args[1] or "", { "types" })))
    return 2
  end
  local ok, e = pcall(function()
    local o = {}
    local i = 2
    while args[i] do
      local flag = ({ ["--schema"] = "schema", ["--out"] = "out" })[args[i]]
      if not flag then
        local util = require "tide.util"
        error(("unknown option '%s'%s"):format(args[i], util.did_you_mean(args[i], { "--schema", "--out" })), 0)
      end
      if not args[i + 1] then error(("%s needs a value"):format(args[i]), 0) end
      o[flag] = args[i + 1]
      i = i + 2
    end
    local cfg = require("tide.migrate").find_config()
    local path = o.schema or (cfg and cfg.schema and (cfg.schema:sub(1, 1) == "/" and cfg.schema
      or cfg.root .. "/" .. cfg.schema))
    local schema = load_schema(path)
    local text = require("tide.stubs").generate(schema, (path:match("[^/]+$")))
    local out = o.out or "tide_types.lua"
    local f = assert(io.open(out, "w"))
    f:write(text)
    f:close()
    print(("wrote the types of %d models to %s"):format(#schema.model_list, out))
  end)
  if not ok then
    io.stderr:write("tide generate types: ", tostring(e), "\n")
    return 1
  end
  return 0
end

function cli.main(args)
  local cmd = args[1]
  if cmd == "run" then
    return run({ table.unpack(args, 2) })
  elseif cmd == "migrate" or cmd == "db" then
    return dispatch(cmd, { table.unpack(args, 2) })
  elseif cmd == "dev" then
    return require("tide.dev").main({ table.unpack(args, 2) })
  elseif cmd == "generate" then
    return generate({ table.unpack(args, 2) })
  elseif cmd == "console" then
    return require("tide.console").main({ table.unpack(args, 2) })
  elseif cmd == "version" or cmd == "--version" or cmd == "-v" then
    print("tide " .. tide.version)
    return 0
  elseif cmd == nil or cmd == "help" or cmd == "--help" or cmd == "-h" then
    io.write(usage)
    return cmd == nil and 2 or 0
  end
  local util = require "tide.util"
  io.stderr:write(("tide: unknown command '%s'%s\n\n"):format(cmd,
    util.did_you_mean(cmd, { "run", "db", "migrate", "generate", "dev", "console", "version", "help" })))
  io.stderr:write(usage)
  return 2
end

return cli
