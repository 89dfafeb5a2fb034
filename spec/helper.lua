-- Shared by the specs: the test database and a few conveniences.
local tide = require "tide"

local helper = {}

function helper.url()
  local u = os.getenv "TIDE_TEST_URL" or os.getenv "DATABASE_URL"
  assert(u, "TIDE_TEST_URL is not set: run the specs under scripts/with-pg.sh (ctest does)")
  return u
end

function helper.connect(opts)
  return tide.connect(helper.url(), opts)
end

-- Calls f and returns the error it raised (failing when it does not raise).
function helper.raises(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error, got none")
  return e
end

-- Calls f and returns the tide error it raised, checking its code and that
-- its message contains text (plain; nil: any message).
function helper.refused(code, text, f, ...)
  local e = helper.raises(f, ...)
  assert(tide.is_error(e), "not a tide error: " .. tostring(e))
  assert(code == e.code, ("code %s, expected %s: %s"):format(tostring(e.code), tostring(code), tostring(e)))
  if text then
    assert(e.message:find(text, 1, true), ("%q does not contain %q"):format(e.message, text))
  end
  return e
end

-- The names of a row's fields, sorted.
function helper.keys(row)
  local out = {}
  for k in pairs(row) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The values of one field, in the order of the rows (nil as "nil").
function helper.column(rows, field)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r[field] == nil and "nil" or r[field] end
  return out
end

--- A new, empty database named name (dropped first if it exists); returns
--- its URL. For specs that create tables of their own.
function helper.fresh_database(name)
  assert(name:match("^[%w_]+$"), "a plain database name")
  local admin = tide.connect(helper.url(), { pool = { max = 1 } })
  admin:exec(("drop database if exists %s with (force)"):format(name))
  admin:exec(("create database %s"):format(name))
  admin:close()
  return tide.url_with_database(helper.url(), name)
end

--- Loads an example's schema (examples/<name>/schema.lua) afresh.
function helper.example_schema(name)
  return dofile((os.getenv "TIDE_SOURCE_DIR" or ".") .. "/examples/" .. name .. "/schema.lua")
end

--- Runs pg_ctl on the test cluster (as the server's user), e.g.
--- helper.pg_ctl "restart -m fast"; data: another cluster's directory (a
--- replica's). True when it succeeded.
function helper.pg_ctl(args, data)
  data = data or os.getenv "TIDE_PG_DATA"
  assert(data, "TIDE_PG_DATA is not set: run under scripts/with-pg.sh")
  -- without the sanitizer runtimes the ASan pass preloads into lua5.4: the
  -- server must not inherit them
  local cmd = ("env -u LD_PRELOAD -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS %s '%s/pg_ctl' -D '%s' "
    .. "-l '%s/server.log' -w -t 60 %s >/dev/null 2>&1"):format(os.getenv "TIDE_PG_RUN_AS" or "",
    os.getenv "TIDE_PG_BIN", data, data, args)
  return os.execute(cmd) == true
end

--- The postmaster's process id.
function helper.postmaster_pid()
  local f = assert(io.open(os.getenv "TIDE_PG_DATA" .. "/postmaster.pid"))
  local pid = tonumber(f:read("l"))
  f:close()
  return pid
end

--- Runs a shell command; returns its output (standard error too) and its
--- exit status.
function helper.sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), code
end

function helper.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- A new empty directory; returns its path.
function helper.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end

function helper.build_dir()
  return os.getenv "TIDE_BUILD_DIR" or "build"
end

return helper
