-- The `tide` command: tide run script.lua [args...], tide version, tide help.
local tide = require "tide"

local cli = {}

local usage = [[
usage: tide <command> [arguments]

commands:
  run SCRIPT [ARGS...]   run a Lua script with tide loaded; when DATABASE_URL
                         is set, the global `db` is connected to it
  db push SCHEMA.lua [--url URL]
                         create the schema (a Lua file returning tide.schema())
                         on an empty database: DATABASE_URL, or --url
  migrate dev --name N [--create-only] [--accept-data-loss]
                         diff the newest migration's snapshot against the
                         schema, write migrations/<timestamp>_N/ (up.sql,
                         down.sql, snapshot.json) and apply it
  migrate deploy         apply pending migrations, each in a transaction,
                         under an advisory lock, recorded in _tide_migrations
  migrate status         list applied, pending, failed and edited migrations
  migrate resolve --applied N | --rolled-back N
                         settle a failed migration so deploy can go on
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

migrate reads tide.config.lua, found from the current directory upward:
  return { url = os.getenv "DATABASE_URL", schema = "schema.lua",
           migrations = "migrations", lock_timeout = 10 }
Every migrate command takes --url URL, --schema FILE and --dir FOLDER too.
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

local function db_push(args)
  local file, url = nil, os.getenv "DATABASE_URL"
  if not url or url == "" then url = require("tide.dev").url() end
  local i = 1
  while args[i] do
    if args[i] == "--url" then url = args[i + 1]; i = i + 2
    elseif not file then file = args[i]; i = i + 1
    else io.stderr:write("tide db push: unexpected argument '", args[i], "'\n"); return 2 end
  end
  if not file then
    io.stderr:write("tide db push: which schema? usage: tide db push SCHEMA.lua [--url URL]\n")
    return 2
  end
  if not url or url == "" then
    io.stderr:write("tide db push: no database: set DATABASE_URL or pass --url\n")
    return 2
  end
  local ok, e = pcall(function()
    local chunk = assert(loadfile(file))
    local schema = chunk()
    if type(schema) ~= "table" or type(schema.finish) ~= "function" then
      error(("%s must return a schema (tide.schema()), got %s"):format(file, type(schema)), 0)
    end
    local db = tide.connect(url, { schema = schema, pool = { max = 1 } })
    local n = db:push()
    print(("pushed %d statements to %s"):format(n, db:describe()))
    db:close()
  end)
  if not ok then
    io.stderr:write("tide db push: ", tostring(e), "\n")
    return 1
  end
  return 0
end

-- tide migrate ---------------------------------------------------------------

local migrate_flags = { ["--url"] = "url", ["--name"] = "name", ["--schema"] = "schema", ["--dir"] = "dir",
  ["--applied"] = "applied", ["--rolled-back"] = "rolled_back", ["--lock-timeout"] = "lock_timeout",
  ["--create-only"] = true, ["--accept-data-loss"] = true }

local function migrate_options(cmd, args)
  local o = {}
  local i = 1
  while args[i] do
    local a = args[i]
    local key = migrate_flags[a]
    if key == true then
      o[a:sub(3):gsub("%-", "_")] = true
      i = i + 1
    elseif key then
      if not args[i + 1] then error(("%s needs a value"):format(a), 0) end
      o[key] = args[i + 1]
      i = i + 2
    else
      local util = require "tide.util"
      local names = {}
      for k in pairs(migrate_flags) do names[#names + 1] = k end
      error(("unknown option '%s'%s"):format(a, util.did_you_mean(a, names)), 0)
    end
  end
  local m = require "tide.migrate"
  local cfg = m.find_config() or { root = os.getenv "PWD" or "." }
  local function path(p)
    if not p then return nil end
    return p:sub(1, 1) == "/" and p or (cfg.root .. "/" .. p)
  end
  o.url = o.url or cfg.url or os.getenv "DATABASE_URL"
  if not o.url or o.url == "" then o.url = require("tide.dev").url() end
  o.dir = o.dir and (o.dir:sub(1, 1) == "/" and o.dir or ((os.getenv "PWD" or ".") .. "/" .. o.dir))
    or path(cfg.migrations or "migrations")
  o.schema_path = o.schema and (o.schema:sub(1, 1) == "/" and o.schema or ((os.getenv "PWD" or ".") .. "/" .. o.schema))
    or path(cfg.schema)
  o.lock_timeout = tonumber(o.lock_timeout) or cfg.lock_timeout
  if not o.url or o.url == "" then
    error("no database: set url in tide.config.lua, DATABASE_URL, pass --url, or start one with tide dev", 0)
  end
  return o, m
end

local function load_schema(path)
  if not path then error("no schema: set schema in tide.config.lua or pass --schema FILE", 0) end
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  local schema = chunk()
  if type(schema) ~= "table" or type(schema.finish) ~= "function" then
    error(("%s must return a schema (tide.schema()), got %s"):format(path, type(schema)), 0)
  end
  return schema
end

local function migrate(args)
  local sub = args[1]
  local rest = { table.unpack(args, 2) }
  local known = { dev = true, deploy = true, status = true, resolve = true }
  if not known[sub] then
    local util = require "tide.util"
    io.stderr:write(("tide migrate: unknown command '%s'%s\n"):format(tostring(sub),
      util.did_you_mean(sub or "", { "dev", "deploy", "status", "resolve" })))
    return 2
  end
  local code = 0
  local ok, e = pcall(function()
    local o, m = migrate_options(sub, rest)
    local log = function(line) print(line) end
    local db = tide.connect(o.url, { pool = { max = 2 } })
    local okc, ec = pcall(function()
      if sub == "dev" then
        local schema = load_schema(o.schema_path)
        m.dev(db, schema, o.dir, { name = o.name, create_only = o.create_only,
          accept_data_loss = o.accept_data_loss, lock_timeout = o.lock_timeout, log = log })
      elseif sub == "deploy" then
        local applied = m.deploy(db, o.dir, { lock_timeout = o.lock_timeout, log = log })
        print(#applied == 0 and "no pending migrations" or ("applied %d migration%s"):format(#applied,
          #applied == 1 and "" or "s"))
      elseif sub == "status" then
        local list = m.status(db, o.dir)
        local pending = 0
        for _, s in ipairs(list) do
          local r = s.row
          local when = r and r.finished_at and ("  " .. r.finished_at) or ""
          print(("%-12s %s%s"):format(s.state, s.name, when))
          if s.state ~= "applied" then pending = pending + 1 end
        end
        if #list == 0 then print("no migrations") end
        if pending > 0 then code = 1 end
      elseif sub == "resolve" then
        if not o.applied == not o.rolled_back then error("resolve: --applied NAME or --rolled-back NAME", 0) end
        m.resolve(db, o.dir, o.applied or o.rolled_back, o.applied and "applied" or "rolled_back")
        print(("%s marked %s"):format(o.applied or o.rolled_back, o.applied and "applied" or "rolled back"))
      end
    end)
    db:close()
    if not okc then error(ec, 0) end
  end)
  if not ok then
    io.stderr:write("tide migrate ", sub, ": ", tostring(e), "\n")
    return 1
  end
  return code
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
  elseif cmd == "migrate" then
    return migrate({ table.unpack(args, 2) })
  elseif cmd == "db" and args[2] == "push" then
    return db_push({ table.unpack(args, 3) })
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
