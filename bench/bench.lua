-- Shared helpers for the Lua tool programs; the protocol is the one in
-- bench/bench.h:
--
--   tide run bench/wN.lua URL ITERATIONS RUNS
--
-- one warm-up run, then RUNS measured runs, each printing
-- "ops_per_sec cpu_us_per_op"; comment lines start with '#'.
local bench = {}

-- A monotonic wall clock: bench's own C module (built by run.sh next to the
-- C tool programs; found through LUA_CPATH), else LuaSocket's.
local ok, clock = pcall(require, "benchclock")
if ok then
  bench.now = clock.now
else
  local sok, socket = pcall(require, "socket")
  if not sok then
    error("bench.lua: no wall clock: build benchclock.so (bench/run.sh does) or install LuaSocket")
  end
  bench.now = socket.gettime
end

-- The random key sequence of bench.h: a 64-bit LCG with a fixed seed, on
-- Lua's wrapping 64-bit integers (>> is a logical shift, as on uint64_t).
bench.SEED = 20240601

function bench.rng()
  local x = bench.SEED
  return function(n)
    x = x * 6364136223846793005 + 1442695040888963407
    return (x >> 33) % n + 1
  end
end

function bench.args()
  local url, n, runs = arg[1], math.tointeger(tonumber(arg[2] or "")), math.tointeger(tonumber(arg[3] or ""))
  if not url or not n or not runs or n <= 0 or runs <= 0 then
    io.stderr:write("usage: ", arg[0] or "script.lua", " URL ITERATIONS RUNS\n")
    os.exit(2)
  end
  return url, n, runs
end

-- fn(iterations) does one run; warm up once, then print a line per measured
-- run. setup(iterations), when given, runs before every run outside the
-- timing (to put back data that a run changed).
function bench.main_loop(iterations, runs, fn, setup)
  for r = 0, runs do -- r == 0: the warm-up
    if setup then setup(iterations) end
    collectgarbage("collect") -- each run starts from the same heap state
    local w0, c0 = bench.now(), os.clock()
    fn(iterations)
    local w1, c1 = bench.now(), os.clock()
    if r > 0 then
      io.stdout:write(("%.1f %.3f\n"):format(iterations / (w1 - w0), (c1 - c0) * 1e6 / iterations))
      io.stdout:flush()
    end
  end
end

-- "# maxrss_kb N": the process's peak resident set so far (benchclock's).
function bench.print_maxrss()
  if ok then print("# maxrss_kb " .. clock.maxrss()) end
end

return bench
