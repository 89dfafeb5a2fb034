-- The tide command: run, version, help.
local helper = require "helper"

local function tide_cmd(args, env)
  local bin = helper.build_dir() .. "/tide"
  local p = io.popen((env or "") .. " " .. bin .. " " .. args .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), code
end

describe("the tide command", function()
  local dir = os.tmpname()
  setup(function() os.remove(dir); os.execute("mkdir -p " .. dir) end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function script(name, body)
    local path = dir .. "/" .. name
    local f = assert(io.open(path, "w"))
    f:write(body)
    f:close()
    return path
  end

  it("prints its version", function()
    local out, code = tide_cmd("version")
    assert.are.equal(0, code)
    assert.matches("^tide %d+%.%d+%.%d+", out)
  end)

  it("prints help, and suggests the nearest command for a typo", function()
    local out, code = tide_cmd("help")
    assert.are.equal(0, code)
    assert.matches("run SCRIPT", out)
    out, code = tide_cmd("rnu x.lua")
    assert.are.equal(2, code)
    assert.matches("unknown command 'rnu'; did you mean 'run'%?", out)
  end)

  it("runs a script with tide built in, its arguments and a connected db", function()
    local path = script("ok.lua", [[
      local t = require "tide"
      assert(t == tide)
      print("args", arg[0] ~= nil, arg[1], arg[2], select("#", ...))
      print("answer", db:one("select $1::int * 2 as x", tonumber(arg[1])).x)
    ]])
    local out, code = tide_cmd("run " .. path .. " 21 two", "DATABASE_URL='" .. helper.url() .. "' LUA_PATH=/nonexistent/?.lua")
    assert.are.equal(0, code, out)
    assert.matches("args\ttrue\t21\ttwo\t2", out)
    assert.matches("answer\t42", out)
  end)

  it("exits non-zero with a traceback when the script fails", function()
    local path = script("bad.lua", "db:query('select * from nowhere_at_all')\n")
    local out, code = tide_cmd("run " .. path, "DATABASE_URL='" .. helper.url() .. "'")
    assert.are.equal(1, code)
    assert.matches("tide: database_error: relation \"nowhere_at_all\" does not exist", out)
    assert.matches("stack traceback", out)
  end)

  it("reports a failed connection with a traceback and the script's name", function()
    local path = script("never.lua", "print('not reached')\n")
    local out, code = tide_cmd("run " .. path, "DATABASE_URL='postgresql://tide@127.0.0.1:1/x?connect_timeout=2'")
    assert.are.equal(1, code)
    assert.matches("^tide: connection_failure: ", out)
    assert.matches("stack traceback", out)
    assert.is_nil(out:find("not reached", 1, true))
    assert.is_nil(out:find("tide/tide", 1, true)) -- chunk names like tide/cli.lua
  end)

  it("pushes a schema file with db push", function()
    local url = helper.fresh_database("tide_cli_spec")
    local path = script("schema.lua", [[
      local tide = require "tide"
      local s = tide.schema()
      s:model "Note" { tide.types.serial "id" :primary(), tide.types.text "body" }
      return s
    ]])
    local out, code = tide_cmd("db push " .. path .. " --url '" .. url .. "'")
    assert.are.equal(0, code, out)
    assert.matches("create table notes", out, 1, true)
    assert.matches("pushed 1 change to postgresql://", out)
    out, code = tide_cmd("db push " .. path .. " --url '" .. url .. "'")
    assert.are.equal(0, code, out) -- the table exists: nothing to change
    assert.matches("the database already matches the schema", out, 1, true)
    out, code = tide_cmd("db push", "env -u DATABASE_URL")
    assert.are.equal(2, code)
    assert.matches("no database", out, 1, true)
  end)

  it("runs without a database when DATABASE_URL is unset", function()
    local path = script("nodb.lua", "print(db == nil, tide.version)\n")
    local out, code = tide_cmd("run " .. path, "env -u DATABASE_URL")
    assert.are.equal(0, code, out)
    assert.matches("true\t%d", out)
  end)

  it("writes LuaLS stubs with generate types, from --schema or tide.config.lua", function()
    local out_file = dir .. "/types.lua"
    local source = (os.getenv "TIDE_SOURCE_DIR" or ".") .. "/examples/blog/schema.lua"
    local out, code = tide_cmd("generate types --schema " .. source .. " --out " .. out_file)
    assert.are.equal(0, code, out)
    assert.matches("wrote the types of 6 models to .*types%.lua", out)
    local f = assert(io.open(out_file))
    local written = f:read("a")
    f:close()
    assert.are.equal(require("tide.stubs").generate(dofile(source), "schema.lua"), written)
    -- the schema named by tide.config.lua, the default file name
    script("tide.config.lua", ("return { schema = %q }"):format(source))
    out, code = tide_cmd("generate types", "cd " .. dir .. " && ")
    assert.are.equal(0, code, out)
    assert.is_truthy(io.open(dir .. "/tide_types.lua")):close()
    out, code = tide_cmd("generate typse")
    assert.are.equal(2, code)
    assert.matches("unknown target 'typse'; did you mean 'types'%?", out)
    out, code = tide_cmd("generate types --scheme x.lua")
    assert.are.equal(1, code)
    assert.matches("unknown option '%-%-scheme'; did you mean '%-%-schema'%?", out)
  end)
end)
