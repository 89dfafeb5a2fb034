-- Coroutines whose queries wait without blocking.
--
-- Inside a coroutine, every tide query hands its work to the lua_State's
-- loop (C, tide/loop.h) and yields tide.pending; when the result is in, the
-- loop calls the scheduler below from tide.poll (or from a C host's
-- tide_pool_poll), which resumes the coroutine. tide.spawn starts such a
-- coroutine as a task; tide.run runs a function and everything it spawns to
-- the end; a host with its own scheduler sets tide.on_ready and resumes
-- coroutines itself.
local core = require "tide.core"

local M = {}
M.hooks = M -- where on_ready and on_error are looked up (init.lua: the tide table)
local pending = core.pending
M.pending = pending

local tasks = {}   -- [co] = task: a running task is kept alive until it ends
local again = {}   -- tasks that yielded on their own: resumed by the next poll

local Task = {}
Task.__index = Task
Task.__name = "tide.task"

local function report(err, co)
  if M.hooks.on_error then return M.hooks.on_error(err, co) end
  io.stderr:write("tide: a task failed: ", tostring(err), "\n")
end

local wake

local function ended(task, r)
  tasks[task.co] = nil
  task.done = true
  task.ok = r[1]
  if r[1] then
    task.results = table.pack(table.unpack(r, 2, r.n))
  else
    task.error = r[2]
    if not task.joiners then report(r[2], task.co) end
  end
  for _, co in ipairs(task.joiners or {}) do wake(co) end
end

-- What a resume came back with (varargs: no table for the usual case, a
-- coroutine that yields tide.pending again).
local function resumed(co, ok, first, ...)
  if coroutine.status(co) == "dead" then
    local task = tasks[co]
    if task then ended(task, table.pack(ok, first, ...)) elseif not ok then report(first, co) end
  elseif first ~= pending and tasks[co] then
    again[#again + 1] = co -- a plain coroutine.yield(): its turn comes again
  end
end

-- Runs co until it waits on tide, yields on its own, or ends.
local function step(co, ...)
  return resumed(co, coroutine.resume(co, ...))
end

-- The loop's callback lands here: tide's tasks are resumed at once; other
-- coroutines go to the host's tide.on_ready when it has set one.
wake = function(co)
  local on_ready = M.hooks.on_ready
  if on_ready and not tasks[co] then return on_ready(co) end
  step(co)
end
core.set_scheduler(function(co) return wake(co) end)

--- Hands a coroutine waiting on tide back to its scheduler (for tide's own
--- modules that make coroutines wait on something else, e.g. a batch).
function M.wake(co) return wake(co) end

--- Starts fn(...) as a task: it runs at once until its first query waits.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error(("bad argument #1 to 'spawn' (function expected, got %s)"):format(type(fn)), 2)
  end
  local co = coroutine.create(fn)
  local task = setmetatable({ co = co, done = false }, Task)
  tasks[co] = task
  step(co, ...)
  return task
end

--- Runs what is due: results that came in, and tasks that yielded on their
--- own. Waits up to timeout seconds (nil: until something happens) when
--- nothing is. Returns how many coroutines were resumed.
function M.poll(timeout)
  local n = #again
  if n > 0 then
    local ready = again
    again = {}
    for i = 1, n do step(ready[i]) end
    timeout = 0
  end
  return n + core.poll(timeout)
end

--- Queries and cleanups in flight.
function M.pending_count()
  return core.pending_count()
end

--- Waits for the task to end and returns what its function returned, or
--- raises its error. Inside another coroutine it yields meanwhile; outside,
--- it polls.
function Task:wait()
  local me, main = coroutine.running()
  if not self.done then
    if not main and coroutine.isyieldable() then
      self.joiners = self.joiners or {}
      self.joiners[#self.joiners + 1] = me
      repeat coroutine.yield(pending) until self.done
    else
      self.joiners = self.joiners or {}
      while not self.done do
        if M.poll() == 0 and core.pending_count() == 0 and #again == 0 and not self.done then
          error("wait: the task is suspended on something tide does not drive", 2)
        end
      end
    end
  end
  if not self.ok then error(self.error, 0) end
  return table.unpack(self.results, 1, self.results.n)
end

function Task:__tostring()
  return ("tide.task(%s)"):format(self.done and (self.ok and "done" or "failed") or "running")
end

--- Runs fn(...) as a task and polls until it and every task it spawned
--- have ended; returns fn's results or raises its error.
function M.run(fn, ...)
  local task = M.spawn(fn, ...)
  task.joiners = task.joiners or {} -- its error is ours to raise, not to report
  -- to the end of the cleanups too (a rollback, a session reset)
  while next(tasks) or #again > 0 or core.pending_count() > 0 do
    if M.poll() == 0 and core.pending_count() == 0 and #again == 0 and next(tasks) then
      error("run: tasks are suspended on something tide does not drive", 2)
    end
  end
  return task:wait()
end

--- Whether queries inside coroutines yield (the default) or block.
function M.set_async(on)
  core.set_async(on)
end

--- The loop's sockets and its next deadline, for hosts with an event loop
--- of their own (see tide.luv): { { fd =, read =, write = }, ... }, seconds.
M.fds = core.fds

--- Waits seconds: yields inside a coroutine (the loop goes on), blocks
--- outside one.
M.sleep = core.sleep

--- Seconds on a monotonic clock, with sub-millisecond precision.
M.clock = core.now

return M
