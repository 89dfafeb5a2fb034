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
  dev [stop|url]         start (or stop) a throwaway PostgreSQL for this
                         project under .tide/; prints its URL, which the
                         other commands use when DATABASE_URL is not set
  console [--schema SCHEMA.lua] [--url URL]
                         a Lua REPL with db connected (and the models)
  version                print tide's version
  help                   print this help

Scripts see `tide` (the module), `db` (when DATABASE_URL is set) and `arg`
(arg[0] is the script, arg[1..] its arguments), as the lua command gives them.
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

function cli.main(args)
  local cmd = args[1]
  if cmd == "run" then
    return run({ table.unpack(args, 2) })
  elseif cmd == "db" and args[2] == "push" then
    return db_push({ table.unpack(args, 3) })
  elseif cmd == "dev" then
    return require("tide.dev").main({ table.unpack(args, 2) })
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
    util.did_you_mean(cmd, { "run", "db", "dev", "console", "version", "help" })))
  io.stderr:write(usage)
  return 2
end

return cli
