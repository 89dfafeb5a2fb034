-- tide dev (a throwaway cluster under .tide/ that the other commands find)
-- and tide console (a REPL whose results print as tables).
local helper = require "helper"

local tide_cmd = helper.build_dir() .. "/tide"

local function sh(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("a")
  local ok = f:close()
  return ok, out
end

describe("tide dev and tide console", function()
  local proj
  setup(function()
    local _, d = sh("mktemp -d /tmp/tide-proj.XXXXXX")
    proj = d:gsub("%s+$", "")
    sh("chmod 755 '" .. proj .. "'") -- the server's user (as root: postgres) must reach it
    if not tide_cmd:match("^/") then tide_cmd = os.getenv("PWD") .. "/" .. tide_cmd end
  end)
  teardown(function()
    sh(("cd '%s' && env -u DATABASE_URL -u LD_PRELOAD '%s' dev stop"):format(proj, tide_cmd))
    sh("rm -rf '" .. proj .. "'")
  end)

  local function in_proj(args, input)
    -- (without the sanitizer runtimes the ASan pass preloads into lua5.4: the
    -- server the command starts must not inherit them)
    local cmd = ("cd '%s' && env -u DATABASE_URL -u LD_PRELOAD '%s' %s"):format(proj, tide_cmd, args)
    if input then cmd = ("printf '%%s' %s | (%s)"):format("'" .. input:gsub("'", "'\\''") .. "'", cmd) end
    return sh(cmd)
  end

  it("starts a dev database the other commands use, and stops it", function()
    local ok, out = in_proj("dev")
    assert.is_true(ok, out)
    local url = out:match("(postgresql://%S+)")
    assert.is_truthy(url, out)
    -- started again: the same one
    local ok2, out2 = in_proj("dev")
    assert.is_true(ok2)
    assert.are.equal(url, out2:match("(postgresql://%S+)"))
    local f = assert(io.open(proj .. "/script.lua", "w"))
    f:write('print("got " .. db:one("select 40 + 2 as n").n)\n')
    f:close()
    local ok3, out3 = in_proj("run script.lua")
    assert.is_true(ok3, out3)
    assert.matches("got 42", out3)
  end)

  it("runs a console whose query results print as tables", function()
    local ok, out = in_proj("console", table.concat({
      "db:query(\"select 1 as id, 'ann' as name union all select 2, 'bob'\")",
      "x = 0",
      "for i = 1, 3 do",
      "  x = x + i",
      "end",
      "x * 7",
      "db:one('select 1/0')",
      "",
    }, "\n"))
    assert.is_true(ok, out)
    assert.matches(" id | name", out, 1, true)
    assert.matches(" 2  | bob", out, 1, true)
    assert.matches("(2 rows)", out, 1, true)
    assert.matches("\n42\n", out, 1, true)
    assert.matches("division by zero", out, 1, true)
  end)

  -- As root the first test ran the server as postgres (the server refuses
  -- root); here the whole command runs as that unprivileged user, the way a
  -- developer runs it, through the non-root path.
  it("starts, serves a script and stops as an unprivileged user", function()
    local root = select(2, sh("id -u")):match("^%s*0%s*$") ~= nil
    local user = os.getenv "TIDE_PG_USER" or "postgres"
    local _, d = sh("mktemp -d /tmp/tide-user-proj.XXXXXX")
    local dir = d:gsub("%s+$", "")
    local as = ""
    if root then
      sh(("chown %s '%s'"):format(user, dir))
      as = ("runuser -u %s -- "):format(user)
    end
    local f = assert(io.open(dir .. "/script.lua", "w"))
    f:write('print("user got " .. db:one("select current_user::text as u, 6 * 7 as n").n)\n')
    f:close()
    local run = ("cd '%s' && %senv -u DATABASE_URL -u LD_PRELOAD '%s' "):format(dir, as, tide_cmd)
    local ok, out = sh(run .. "dev && " .. run .. "run script.lua && " .. run .. "dev stop")
    sh(run .. "dev stop")
    sh("rm -rf '" .. dir .. "'")
    assert.is_true(ok, out)
    assert.matches("postgresql://tide@", out, 1, true)
    assert.matches("user got 42", out, 1, true)
    assert.matches("stopped", out, 1, true)
  end)

  it("stops it", function()
    local ok, out = in_proj("dev stop")
    assert.is_true(ok, out)
    local ok2, out2 = in_proj("dev url")
    assert.is_falsy(ok2)
    assert.matches("no dev database", out2)
  end)
end)
