-- The bench driver: loads the data set, runs every tool program of every
-- workload one after another, and prints the table. bench/run.sh starts it
-- (under taskset, inside scripts/with-pg.sh); it needs DATABASE_URL and:
--
--   BENCH_BIN    the directory of the built tool programs (and benchclock.so)
--   BENCH_TIDE   the built `tide` command
--   BENCH_OUT    where results.txt and raw.txt go (default bench/out)
--   BENCH_RUNS   measured runs per tool (default 3; one warm-up run before)
--   BENCH_ONLY   run only these workloads, e.g. "W1" or "W1,W3"
--   BENCH_SCALE  multiply every iteration count (e.g. 0.1 for a quick try)
--   BENCH_SKIP_LOAD=1  use the data set already in the database
--
-- Adding a workload: append to `workloads` below. Each tool is a command
-- following the protocol of bench/bench.h (URL ITERATIONS RUNS, one line
-- "ops_per_sec cpu_us_per_op" per measured run, '#' lines are comments; a
-- "# check N" line is compared across the tools of a workload). The first
-- tool of a workload is its baseline. `reset` (SQL, or a list of SQL strings
-- run as separate transactions; optional) runs before each tool, to undo
-- what the previous one changed; `setup` (SQL, optional) runs once before
-- the workload's first tool; after its last, `reset` runs once more, then
-- `cleanup` (SQL, optional). `also_ratio_to` (a tool's name, optional) adds a
-- comment line under the table with every tool's ratio to that tool too.
-- `rss_against` (a row count, optional): each tool also runs once with that
-- many iterations, and a comment line under the table compares the peak
-- resident set ("# maxrss_kb N", printed by the tool) of the two sizes.
--
-- After the workloads, the tick-jitter run (id TICK for BENCH_ONLY): the
-- examples/game-server host (BENCH_BIN/game_server, built by run.sh) for
-- BENCH_TICK_SECONDS (default 10, scaled by BENCH_SCALE) in each of its modes,
-- each against a fresh database, and a small table of how late its ticks were.

local env = function(k, d)
  local v = os.getenv(k)
  if v == nil or v == "" then return d end
  return v
end

local url = assert(os.getenv("DATABASE_URL"), "driver.lua: DATABASE_URL is not set (run it under scripts/with-pg.sh)")
local bin = env("BENCH_BIN", "build-bench/bench")
local tide_cmd = env("BENCH_TIDE", "build-bench/tide")
local out_dir = env("BENCH_OUT", "bench/out")
local runs = math.tointeger(tonumber(env("BENCH_RUNS", "3"))) or 3
local scale = tonumber(env("BENCH_SCALE", "1")) or 1
local only = env("BENCH_ONLY", nil)

local function C(name) return { bin .. "/" .. name } end
local function LUA(script) return { tide_cmd, "run", "bench/" .. script } end
-- a tool program with BENCH_GROUP set (the pipelined forms: statements per round trip)
local function GROUP(n, cmd) return { "env", "BENCH_GROUP=" .. n, table.unpack(cmd) } end

local workloads = {
  {
    id = "W1",
    what = "point lookup of a random user by primary key",
    iterations = 20000,
    tools = {
      { name = "libpq (C)", cmd = C "w1_libpq" },
      { name = "libpq, binary results", cmd = C "w1_libpq_binary" },
      { name = "tide C API", cmd = C "w1_tide" },
      { name = "tide Lua query", cmd = LUA "w1.lua" },
      { name = "tide model client", cmd = LUA "w1_model.lua" },
      -- pipelined: 100 lookups per round trip (ratio to one at a time: target 1.5)
      { name = "libpq pipeline, 100/trip", cmd = GROUP(100, C "w1_libpq_pipeline") },
      { name = "tide C batch, 100/trip", cmd = GROUP(100, C "w1_tide_batch") },
      { name = "tide Lua db:batch, 100/trip", cmd = GROUP(100, LUA "w1_batch.lua") },
    },
  },
  {
    id = "B10",
    what = "W1's lookups, 10 statements per round trip (db:batch) against 10 sequential round trips; ops are lookups",
    iterations = 20000,
    tools = {
      { name = "libpq, one at a time (C)", cmd = C "w1_libpq" },
      { name = "libpq pipeline, 10/trip", cmd = GROUP(10, C "w1_libpq_pipeline") },
      { name = "tide C batch, 10/trip", cmd = GROUP(10, C "w1_tide_batch") },
      { name = "tide Lua db:batch, 10/trip", cmd = GROUP(10, LUA "w1_batch.lua") },
    },
  },
  {
    id = "W2",
    what = "the 20 newest published posts of a random author, each with the author's name",
    iterations = 5000,
    tools = {
      { name = "libpq (C)", cmd = C "w2_libpq" },
      { name = "tide builder", cmd = LUA "w2_builder.lua" },
      { name = "tide builder, prepared", cmd = LUA "w2_prepared.lua" },
    },
  },
  {
    id = "W3",
    what = "a random user with all their posts, each with its 5 newest comments, as a nested result",
    iterations = 2000,
    tools = {
      { name = "libpq (C), 2 statements", cmd = C "w3_libpq" },
      { name = "libpq, 1 statement", cmd = C "w3_libpq_one" },
      { name = "tide Lua query", cmd = LUA "w3.lua" },
      { name = "tide model client", cmd = LUA "w3_model.lua" },
      { name = "tide model client, join", cmd = LUA "w3_model_join.lua" },
    },
  },
  {
    id = "W4",
    what = "bulk insert of 50,000 (int, text, timestamptz) rows into an empty table; ops are rows",
    iterations = 50000,
    setup = "create table if not exists w4_rows (id serial primary key, n int not null, label text not null, "
      .. "at timestamptz not null)",
    reset = "truncate w4_rows restart identity",
    cleanup = "drop table if exists w4_rows",
    tools = {
      { name = "libpq COPY (C)", cmd = C "w4_libpq_copy" },
      { name = "tide C API, unnest", cmd = C "w4_tide" },
      { name = "tide Lua query, unnest", cmd = LUA "w4.lua" },
      { name = "tide model client", cmd = LUA "w4_model.lua" },
    },
  },
  {
    id = "W5",
    what = "transaction: begin; update a user's name; insert a post; commit",
    iterations = 5000,
    -- the posts W5 inserted go, the users' names come back (dataset.sql's
    -- formula), and the dead rows the previous tool left are vacuumed away
    reset = { "delete from posts where title like 'w5 %'; "
      .. "update users set name = (array['Ada','Alan','Barbara','Claude','Donald','Edsger','Frances','Grace',"
      .. "'John','Ken','Leslie','Margaret','Niklaus','Radia','Tony','Barbara'])[1 + (id * 7) % 16] || ' ' || "
      .. "(array['Lovelace','Turing','Liskov','Shannon','Knuth','Dijkstra','Allen','Hopper','Backus','Thompson',"
      .. "'Lamport','Hamilton','Wirth','Perlman','Hoare','Stroustrup'])[1 + (id * 11) % 16] || ' ' || id "
      .. "where name like 'w5 name %'", "vacuum analyze users, posts" },
    tools = {
      { name = "libpq (C)", cmd = C "w5_libpq" },
      { name = "tide C API", cmd = C "w5_tide" },
      { name = "tide Lua query", cmd = LUA "w5.lua" },
      { name = "tide model client", cmd = LUA "w5_model.lua" },
      -- the whole transaction in one round trip: an atomic batch (target 1.5)
      { name = "tide C batch, 1 trip", cmd = C "w5_tide_batch" },
      { name = "tide Lua db:batch, 1 trip", cmd = LUA "w5_batch.lua" },
    },
  },
  {
    id = "W6",
    what = "1,000 coroutines each doing a point lookup (W1's query and key sequence) over a pool of 8 connections",
    iterations = 20000, -- lookups per run: 20 waves of 1,000 in flight
    -- the table's ratio is to the pipelining baseline; a second line under the
    -- table gives each tool's ratio to the same work done one at a time
    also_ratio_to = "libpq sequential (C)",
    tools = {
      { name = "libpq pipeline (C)", cmd = C "w6_libpq_pipeline" },
      { name = "libpq pipeline, 8 conns", cmd = C "w6_libpq_pipeline8" },
      { name = "libpq sequential (C)", cmd = C "w1_libpq" },
      { name = "tide C API, tide_loop", cmd = C "w6_tide_loop" },
      { name = "tide model, sequential", cmd = LUA "w1_model.lua" },
      { name = "tide model, coroutines", cmd = LUA "w6_model.lua" },
      { name = "tide Lua, coroutines", cmd = LUA "w6.lua" },
    },
  },
  {
    id = "W7",
    what = "streaming 1,000,000 rows of (bigint, int, text, timestamptz) through an iterator; ops are rows",
    iterations = 1000000,
    rss_against = 10000,
    setup = { "create table if not exists w7_rows (id bigint primary key, n int not null, label text not null, "
      .. "at timestamptz not null); insert into w7_rows select g, g % 1000, 'row ' || g, "
      .. "timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' from generate_series(1, 1000000) g "
      .. "on conflict do nothing", "vacuum analyze w7_rows" },
    cleanup = "drop table if exists w7_rows",
    tools = {
      { name = "libpq single-row (C)", cmd = C "w7_libpq_single" },
      { name = "tide Lua db:iter", cmd = LUA "w7.lua" },
      { name = "tide builder q:iter", cmd = LUA "w7_builder.lua" },
      { name = "tide model find_many_iter", cmd = LUA "w7_model.lua" },
    },
  },
}

-- Helpers --------------------------------------------------------------------

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function shell(argv)
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = quote(a) end
  return table.concat(parts, " ")
end

local function capture(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

local function log(...)
  io.stderr:write("bench: ", string.format(...), "\n")
  io.stderr:flush()
end

local function median(t)
  local s = { table.unpack(t) }
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

local function now()
  local ok, clock = pcall(require, "benchclock")
  if ok then return clock.now() end
  return os.time()
end

os.execute("mkdir -p " .. quote(out_dir))
local raw = assert(io.open(out_dir .. "/raw.txt", "w"))

-- The setting ------------------------------------------------------------------

local header = {}
local function note(fmt, ...)
  local line = string.format(fmt, ...)
  header[#header + 1] = line
  print(line)
end

local psql = { "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url }
local function psql_value(sql)
  return capture(shell(psql) .. " -At -c " .. quote(sql))
end

note("# tide bench %s, git %s", os.date("!%Y-%m-%dT%H:%M:%SZ"),
  capture("git rev-parse --short HEAD") .. (capture("git status --porcelain -- core lua cli") ~= "" and "+dirty" or ""))
note("# server: PostgreSQL %s; %s", psql_value("show server_version"), capture("uname -srm"))
do
  local pid = ""
  local data = os.getenv("TIDE_PG_DATA")
  if data then
    local f = io.open(data .. "/postmaster.pid")
    if f then pid = f:read("l") or ""; f:close() end
  end
  local server_cpus = pid ~= "" and capture("taskset -cp " .. pid):match(":%s*(%S+)$") or "?"
  local client_cpus = capture("taskset -cp $PPID"):match(":%s*(%S+)$") or "?"
  note("# cpus: client %s, postmaster %s (of %s online); %d measured runs per tool after one warm-up",
    client_cpus, server_cpus, capture("nproc --all"), runs)
end

if scale ~= 1 then
  note("# BENCH_SCALE=%g: iteration counts scaled; not comparable with full runs", scale)
end
if only then note("# BENCH_ONLY=%s", only) end

-- The data set ---------------------------------------------------------------------

if env("BENCH_SKIP_LOAD", "0") ~= "1" then
  log("loading the data set (bench/dataset.sql)")
  local t0 = now()
  local f = io.popen(shell(psql) .. " -At -f bench/dataset.sql")
  local counts = f:read("a")
  local ok = f:close()
  if not ok then
    log("loading the data set failed")
    os.exit(1)
  end
  local t1 = now()
  note("# data set loaded in %.1f s: %s", t1 - t0, (counts:gsub("%s+$", ""):gsub("\n", " / ")))
end

-- The runs ---------------------------------------------------------------------

local rows = {}
local failed = false
local also = {} -- workload id -> { tool = name, ops = its ops/s } (also_ratio_to)

-- sql: a string, or a list of strings run one after another (each its own
-- transaction, so VACUUM can be one of them)
local function run_sql(w, what, sql)
  if not sql then return true end
  local cmd = shell(psql)
  for _, one in ipairs(type(sql) == "table" and sql or { sql }) do cmd = cmd .. " -c " .. quote(one) end
  if not os.execute(cmd .. " >/dev/null") then
    log("%s: the %s SQL failed", w.id, what)
    failed = true
    return false
  end
  return true
end

local function run_tool(w, tool, iterations, nruns)
  nruns = nruns or runs
  if not run_sql(w, tool.name .. " reset", w.reset) then return nil end
  local argv = { table.unpack(tool.cmd) }
  argv[#argv + 1] = url
  argv[#argv + 1] = tostring(iterations)
  argv[#argv + 1] = tostring(nruns)
  log("%s %s: %s", w.id, tool.name, shell(argv))
  local f = io.popen(shell(argv))
  local ops, cpu, check, rss = {}, {}, nil, nil
  for line in f:lines() do
    raw:write(w.id, "\t", tool.name, "\t", line, "\n")
    local c = line:match("^#%s*check%s+(%S+)")
    local kb = line:match("^#%s*maxrss_kb%s+(%d+)")
    if c then
      check = c
    elseif kb then
      rss = tonumber(kb)
    elseif not line:match("^#") then
      local o, u = line:match("^%s*(%S+)%s+(%S+)%s*$")
      if o and tonumber(o) and tonumber(u) then
        ops[#ops + 1], cpu[#cpu + 1] = tonumber(o), tonumber(u)
        log("  run %d: %.0f ops/s, %.2f cpu us/op", #ops, ops[#ops], cpu[#cpu])
      else
        log("  ignored output line: %s", line)
      end
    end
  end
  raw:flush()
  local ok, _, code = f:close()
  if not ok or #ops ~= nruns then
    log("%s %s FAILED (exit %s, %d of %d runs)", w.id, tool.name, tostring(code), #ops, nruns)
    failed = true
    return nil
  end
  return { ops = ops, cpu = cpu, check = check, rss = rss }
end

local function wanted(id)
  if not only then return true end
  for x in only:gmatch("[^,%s]+") do
    if x:upper() == id:upper() then return true end
  end
  return false
end

for _, w in ipairs(workloads) do
  if wanted(w.id) then
    local iterations = math.max(1, math.floor(w.iterations * scale + 0.5))
    local base, base_check
    run_sql(w, "setup", w.setup)
    for i, tool in ipairs(w.tools) do
      local r = run_tool(w, tool, iterations)
      local row = { workload = w.id, tool = tool.name, iterations = iterations }
      if r then
        row.ops = median(r.ops)
        local lo, hi = math.min(table.unpack(r.ops)), math.max(table.unpack(r.ops))
        row.spread = (hi - lo) / row.ops * 100
        row.cpu = median(r.cpu)
        if row.spread > 5 then row.note = "NOISY: spread over 5%, rerun" end
        if i == 1 then
          base, base_check = row.ops, r.check
        elseif base_check and r.check and r.check ~= base_check then
          log("%s %s: check %s differs from the baseline's %s: not the same work", w.id, tool.name, r.check,
            base_check)
          failed = true
          row.note = "CHECK MISMATCH: not the same work"
        end
        row.ratio = base and row.ops / base or nil
      end
      if r and w.rss_against then
        row.small = math.min(w.rss_against, iterations)
        local small = run_tool(w, tool, row.small, 1)
        row.rss, row.rss_small = r.rss, small and small.rss
        if small then log("  peak RSS %s KB, against %s KB at %d rows", r.rss, small.rss, row.small) end
      end
      rows[#rows + 1] = row
      if w.also_ratio_to == tool.name and row.ops then also[w.id] = { tool = tool.name, ops = row.ops } end
    end
    -- leave the data as the workload found it
    run_sql(w, "reset", w.reset)
    run_sql(w, "cleanup", w.cleanup)
  end
end

-- The table ----------------------------------------------------------------------

local lines = {}
local fmt = "%-9s %-24s %10s %8s %10s %6s"
lines[#lines + 1] = fmt:format("workload", "tool", "ops/s", "spread", "cpu_us/op", "ratio")
for _, r in ipairs(rows) do
  if r.ops then
    lines[#lines + 1] = fmt:format(r.workload, r.tool, ("%.0f"):format(r.ops), ("%.1f%%"):format(r.spread),
      ("%.2f"):format(r.cpu), r.ratio and ("%.2f"):format(r.ratio) or "-") .. (r.note and ("  " .. r.note) or "")
  else
    lines[#lines + 1] = fmt:format(r.workload, r.tool, "FAILED", "-", "-", "-")
  end
end
for _, w in ipairs(workloads) do
  local parts, sizes = {}, nil
  for _, r in ipairs(rows) do
    if r.workload == w.id and r.rss and r.rss_small then
      parts[#parts + 1] = ("%s %d -> %d (%.2f)"):format(r.tool, r.rss_small, r.rss, r.rss / r.rss_small)
      sizes = ("%d rows -> %d rows"):format(r.small, r.iterations)
    end
  end
  if sizes then lines[#lines + 1] = ("# %s peak RSS in KB, %s: %s"):format(w.id, sizes, table.concat(parts, "; ")) end
  local a = also[w.id]
  if a then
    local parts = {}
    for _, r in ipairs(rows) do
      if r.workload == w.id and r.ops then parts[#parts + 1] = ("%s %.2f"):format(r.tool, r.ops / a.ops) end
    end
    lines[#lines + 1] = ("# %s ratio to %s: %s"):format(w.id, a.tool, table.concat(parts, "; "))
  end
end

print("")
for _, l in ipairs(lines) do print(l) end
print("")
print("# ops/s: median of the measured runs; spread: (max - min) / median of ops/s;")
print("# cpu_us/op: median client CPU (user + system) per operation; ratio: ops/s / the baseline's (first row).")

-- Tick jitter ----------------------------------------------------------------------
-- examples/game-server: a 20 Hz C host whose Lua script loads and saves 16
-- players through the model client in coroutines (pool of 8). It prints how
-- late its ticks started; "slow" makes every save take 200 ms on the server.

local function url_with_database(name)
  local base, query = url:match("^(postgres[%w]*://[^/?]*)/?[^?]*(%??.*)$")
  assert(base, "driver.lua: DATABASE_URL is not a postgresql:// URL")
  return base .. "/" .. name .. query
end

if wanted("TICK") then
  local seconds = math.max(1, math.floor((tonumber(env("BENCH_TICK_SECONDS", "10")) or 10) * scale + 0.5))
  local tick = { id = "TICK" }
  local tfmt = "%-9s %-24s %10s %10s %10s  %s"
  local first = #lines + 1
  lines[#lines + 1] = ""
  lines[#lines + 1] = ("# tick jitter: examples/game-server, 20 Hz, 16 players, pool of 8, %d s per mode, "
    .. "each against a fresh database; how late the ticks started (ms)"):format(seconds)
  lines[#lines + 1] = tfmt:format("tick", "mode", "p50_ms", "p99_ms", "max_ms", "what the script did")
  for _, mode in ipairs { { name = "normal" }, { name = "slow", arg = "slow", what = "slow (200 ms saves)" } } do
    local dbname = "bench_tick_" .. mode.name
    local line
    if run_sql(tick, mode.name .. " setup", { "set client_min_messages = warning",
      "drop database if exists " .. dbname, "create database " .. dbname }) then
      local argv = { bin .. "/game_server", url_with_database(dbname), "examples/game-server/game.lua",
        tostring(seconds), mode.arg }
      log("TICK %s: %s", mode.name, shell(argv))
      local f = io.popen(shell(argv))
      local p50, p99, max, script
      for l in f:lines() do
        raw:write("TICK\t", mode.name, "\t", l, "\n")
        local a, b, c = l:match("^ticks %d+ late_p50_ms (%S+) late_p99_ms (%S+) late_max_ms (%S+)")
        if a then p50, p99, max = a, b, c end
        if l:match("^loads ") then script = l end
      end
      raw:flush()
      local ok, _, code = f:close()
      if ok and p50 then
        log("  late p50 %s ms, p99 %s ms, max %s ms; %s", p50, p99, max, script or "?")
        line = tfmt:format("TICK", mode.what or mode.name, p50, p99, max, script or "?")
      else
        log("TICK %s FAILED (exit %s)", mode.name, tostring(code))
        failed = true
      end
      run_sql(tick, mode.name .. " cleanup", "drop database if exists " .. dbname)
    end
    line = line or tfmt:format("TICK", mode.what or mode.name, "FAILED", "-", "-", "-")
    lines[#lines + 1] = line
  end
  for i = first, #lines do print(lines[i]) end
end

local f = assert(io.open(out_dir .. "/results.txt", "w"))
for _, l in ipairs(header) do f:write(l, "\n") end
for _, l in ipairs(lines) do f:write(l, "\n") end
f:close()
raw:close()
log("table written to %s/results.txt (every run in %s/raw.txt)", out_dir, out_dir)
os.exit(failed and 1 or 0)
