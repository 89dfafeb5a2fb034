-- Runs a documentation page's lua blocks, in order, as one script, and checks
-- every printed line against the page's "--> expected" comments ("…" matches
-- anything). Used by scripts/check-docs.sh, which ctest runs per page:
--   tide run scripts/check-doc-examples.lua docs/guide/queries.md
local path = arg[1]
local lines = {}
for l in io.lines(path) do lines[#lines + 1] = l end
local out, inblock, last, prevcode = {}, false, nil, nil
local function esc(s) return (s:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")) end
-- A block whose first line is "-- name.lua" is a script of its own (as the
-- guide runs it with `tide run name.lua`): it sees the command's `db` and
-- an empty `arg`, not the page's locals, and may end with a return (a
-- config file returns its table).
local infile = false
for i, l in ipairs(lines) do
  if not inblock then
    out[i] = ""
    if l:match("^```lua%s*$") then
      inblock = true
      local file = (lines[i + 1] or ""):match("^%-%- ([%w_%-%.]+%.lua)%s*$")
      if file then
        infile = true
        out[i] = ("do local db, arg = __command_db, { [0] = %q } (function()"):format(file)
      end
    end
  elseif l:match("^```%s*$") then
    out[i] = (infile and "end)() end " or "") .. "__flush(" .. i .. ")"; inblock = false; last = nil; prevcode = nil
    infile = false
  else
    local only = l:match("^%s*%-%->%s?(.*)$")
    local code, exp = l:match("^(.-%S)%s*%-%->%s?(.*)$")
    if only and last then
      out[last] = out[last]:gsub('%)$', "") .. ", " .. ("%q"):format(only):gsub("\n", "n") .. ")"
      out[i] = ""
    elseif only and prevcode then
      out[prevcode] = out[prevcode] .. " ; __check(" .. prevcode .. ", " .. ("%q"):format(only):gsub("\n", "n") .. ")"
      last = prevcode
      out[i] = ""
    elseif code and not only then
      out[i] = code .. " ; __check(" .. i .. ", " .. ("%q"):format(exp):gsub("\n", "n") .. ")"
      last = i
    else
      out[i] = l; last = nil
      if l:match("%S") and not l:match("^%s*%-%-") then prevcode = i end
    end
  end
end
local buf = {}
local env = setmetatable({ __command_db = rawget(_G, "db") }, { __index = _G })
env.print = function(...)
  local t = table.pack(...)
  for k = 1, t.n do t[k] = tostring(t[k]) end
  local s = table.concat(t, "\t", 1, t.n)
  for line in (s .. "\n"):gmatch("(.-)\n") do buf[#buf + 1] = line end
end
local fails, checks = 0, 0
env.__flush = function(line)
  if #buf > 0 then io.stderr:write(("-- unchecked output of the block ending at line %d:\n%s\n"):format(line, table.concat(buf, "\n"))) end
  buf = {}
end
local function norm(s) return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")) end
env.__check = function(line, ...)
  checks = checks + 1
  local want = { ... }
  local got = buf
  buf = {}
  local ok = #got == #want
  for k = 1, math.max(#got, #want) do
    local g, w = norm(got[k] or "<none>"), norm(want[k] or "<none>")
    local pat = "^" .. esc(w):gsub("…", ".-") .. "$"
    if not g:match(pat) then ok = false end
  end
  if not ok then
    fails = fails + 1
    io.stderr:write(("%s:%d: expected\n  %s\ngot\n  %s\n"):format(path, line, table.concat(want, "\n  "), table.concat(got, "\n  ")))
  end
end
local src = table.concat(out, "\n")

local chunk = assert(load(src, "@" .. path, "t", env))
chunk()
if #buf > 0 then io.stderr:write("unchecked output at end:\n  " .. table.concat(buf, "\n  ") .. "\n") end
print(("%d checks, %d failed"):format(checks, fails))
if fails > 0 then os.exit(1) end
