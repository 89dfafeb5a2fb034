-- `tide dev`: a throwaway PostgreSQL cluster for the project, under .tide/.
--
--   tide dev         starts it (making it the first time) and prints its URL
--   tide dev stop    stops it
--   tide dev url     prints the URL of the running one
--
-- The cluster listens on a unix socket only (no port to collide with), its
-- URL is written to .tide/url, and the other commands use that URL when
-- DATABASE_URL is not set. It uses the PostgreSQL server installed on the
-- machine (Debian's postgresql package: /usr/lib/postgresql/N/bin), and, run
-- as root, runs it as the unprivileged postgres user (or nobody), since the
-- server refuses to run as root.
local M = {}

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local s = f:read("a") or ""
  f:close()
  return (s:gsub("%s+$", ""))
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

local function write(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

-- The project's .tide directory: the nearest one above the current
-- directory, or a new one here.
function M.dir(create)
  local cwd = capture("pwd")
  local d = cwd
  while d ~= "" do
    if exists(d .. "/.tide/data/PG_VERSION") or exists(d .. "/tide.config.lua") then return d .. "/.tide" end
    d = d:match("^(.*)/[^/]*$") or ""
  end
  return create and (cwd .. "/.tide") or nil
end

--- The URL of the project's dev database, when one was started.
function M.url()
  local dir = M.dir(false)
  return dir and read(dir .. "/url")
end

local function server_bin()
  local env = os.getenv "TIDE_PG_BIN"
  if env and exists(env .. "/initdb") then return env end
  local d = capture("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1")
  if d ~= "" and exists(d .. "/initdb") then return d end
  local b = capture("pg_config --bindir")
  if b ~= "" and exists(b .. "/initdb") then return b end
  return nil
end

-- As root, the server's own commands run as an unprivileged user.
local function as_server()
  if capture("id -u") ~= "0" then return "", nil end
  local user = os.getenv "TIDE_PG_USER"
  if not user or user == "" then
    user = os.execute("id postgres >/dev/null 2>&1") and "postgres" or "nobody"
  end
  return "runuser -u " .. user .. " -- ", user
end

local function fail(msg)
  io.stderr:write("tide dev: ", msg, "\n")
  return 1
end

function M.start()
  local dir = M.dir(true)
  local data, run = dir .. "/data", dir .. "/run"
  local bin = server_bin()
  if not bin then return fail("no PostgreSQL server found (install Debian's postgresql package)") end
  local prefix, user = as_server()
  os.execute("mkdir -p " .. quote(run))
  -- a socket path must fit in 107 bytes: a long project path gets /tmp's
  if #(run .. "/.s.PGSQL.5432") > 100 then
    run = capture("mktemp -d /tmp/tide-dev.XXXXXX")
    write(dir .. "/socket", run)
  end
  if user then os.execute(("chown %s %s %s"):format(user, quote(dir), quote(run))) end
  if not exists(data .. "/PG_VERSION") then
    local ok = os.execute(("%s%s -D %s -U tide -A trust -E UTF8 --locale=C.UTF-8 --no-sync >%s 2>&1"):format(
      prefix, quote(bin .. "/initdb"), quote(data), quote(dir .. "/initdb.log")))
    if not ok then
      local log = read(dir .. "/initdb.log") or ""
      return fail(("initdb failed%s: %s (see %s/initdb.log)"):format(user and (" as " .. user) or "",
        log:match("([^\n]*)$") or "", dir))
    end
    local conf = assert(io.open(data .. "/postgresql.conf", "a"))
    conf:write(("\nlisten_addresses = ''\nport = 5432\nunix_socket_directories = '%s'\nfsync = off\n"):format(run))
    conf:close()
  end
  local url = ("postgresql://tide@/postgres?host=%s&port=5432"):format(run)
  if os.execute(("%s%s -D %s status >/dev/null 2>&1"):format(prefix, quote(bin .. "/pg_ctl"), quote(data))) then
    print(url)
    return 0
  end
  local ok = os.execute(("%s%s -D %s -l %s -w -t 60 start >/dev/null 2>&1"):format(
    prefix, quote(bin .. "/pg_ctl"), quote(data), quote(data .. "/server.log")))
  if not ok then return fail("the server did not start: see " .. data .. "/server.log") end
  write(dir .. "/url", url .. "\n")
  print(url)
  return 0
end

function M.stop()
  local dir = M.dir(false)
  if not dir or not exists(dir .. "/data/PG_VERSION") then return fail("no dev database here (tide dev starts one)") end
  local bin = server_bin()
  if not bin then return fail("no PostgreSQL server found") end
  local prefix = as_server()
  os.execute(("%s%s -D %s -m fast -w stop >/dev/null 2>&1"):format(prefix, quote(bin .. "/pg_ctl"),
    quote(dir .. "/data")))
  os.remove(dir .. "/url")
  print("stopped")
  return 0
end

function M.main(args)
  local sub = args[1]
  if sub == nil or sub == "start" then return M.start() end
  if sub == "stop" then return M.stop() end
  if sub == "url" then
    local url = M.url()
    if not url then return fail("no dev database is running here (tide dev starts one)") end
    print(url)
    return 0
  end
  return fail(("unknown subcommand '%s' (start, stop, url)"):format(sub))
end

return M
