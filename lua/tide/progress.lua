-- Progress of long work (deploying many migrations, seeding many rows).
--
--   local report = require("tide.progress").new()
--   report("User", 2000, 10000)   -- label, done, total
--
-- On a terminal one live line is rewritten in place and ended when done
-- reaches total; elsewhere (a pipe, a CI log) plain lines are written: the
-- first report of a label, then at most one a second, and the last.
local M = {}

--- True when standard output is a terminal.
function M.is_terminal()
  return os.execute("test -t 1") == true
end

--- A reporter writing to out (default io.stdout); live: rewrite one line
--- (default: whether standard output is a terminal); clock: seconds
--- (default os.time).
function M.new(out, live, clock)
  out = out or io.stdout
  if live == nil then live = M.is_terminal() end
  clock = clock or os.time
  local last_label, last_time
  return function(label, done, total)
    local line = ("%s: %d/%d"):format(label, done, total)
    if live then
      out:write("\r\27[K", line, done >= total and "\n" or "")
    else
      local now = clock()
      if label ~= last_label or done >= total or now ~= last_time then
        out:write(line, "\n")
        last_label, last_time = label, now
      end
    end
    out:flush()
  end
end

return M
