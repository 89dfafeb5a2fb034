-- tide.luv: tide's queries inside a luv (libuv) program.
--
--   local uv = require "luv"
--   local tide = require "tide"
--   local glue = require("tide.luv").attach()       -- the default uv loop
--   tide.spawn(function() print(db:one("select 1 as v").v) end)
--   glue.run()                                      -- uv.run(), watching tide too
--
-- Before libuv waits (a prepare handle), the glue watches exactly the
-- sockets tide's loop wants, with a timer for its next deadline; when one is
-- ready, it calls tide.poll(0), which resumes the coroutines whose results
-- came in. While tide has nothing in flight the handles are stopped, so
-- uv.run() returns once everything else is done. glue:detach() removes it.
local uv = require "luv"
local tide = require "tide"

local M = {}

function M.attach()
  local handles = {} -- fd -> poll handle
  local timer = uv.new_timer()
  local prepare = uv.new_prepare()
  local detached = false

  local sync

  local function on_ready()
    tide.poll(0)
    sync()
  end

  -- Watches what tide wants now; stops watching what it no longer does.
  sync = function()
    if detached then return end
    local fds, timeout = tide.fds()
    local want = {}
    -- nothing in flight: the wake-up descriptor alone would keep uv.run()
    -- alive forever, so only watch it while work is pending
    if tide.pending_count() > 0 then
      for _, f in ipairs(fds) do
        want[f.fd] = (f.read and "r" or "") .. (f.write and "w" or "")
      end
    end
    for fd, h in pairs(handles) do
      if not want[fd] then
        h:stop()
        h:close()
        handles[fd] = nil
      end
    end
    for fd, events in pairs(want) do
      local h = handles[fd]
      if not h then
        h = uv.new_socket_poll(fd)
        handles[fd] = h
      end
      h:start(events, on_ready)
    end
    timer:stop()
    if timeout and tide.pending_count() > 0 then
      timer:start(math.ceil(timeout * 1000), 0, on_ready)
    end
  end

  -- before every wait: coroutines may have started queries since the last
  prepare:start(sync)
  prepare:unref() -- by itself it does not keep the loop running

  local glue = {}
  --- uv.run(mode), with tide's sockets watched from the start (uv.run alone
  --- returns at once when tide's work is the only thing in flight).
  function glue.run(mode)
    sync()
    return uv.run(mode)
  end
  glue.sync = function() sync() end

  function glue.detach()
    detached = true
    prepare:stop()
    prepare:close()
    timer:stop()
    timer:close()
    for fd, h in pairs(handles) do
      h:stop()
      h:close()
      handles[fd] = nil
    end
    -- let libuv finish closing them now: luv crashes if closes are still
    -- pending when the Lua state goes (call detach outside uv callbacks)
    uv.run("nowait")
  end
  return glue
end

return M
