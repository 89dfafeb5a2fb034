-- `tide console`: a REPL with tide loaded, `db` connected and, with
-- --schema FILE, the models attached (db.User ...). Each line is run as an
-- expression if it is one (its values printed), else as a statement; a line
-- that leaves a block open asks for more. Query results print as tables.
local tide = require "tide"

local M = {}

local function width(s) return utf8.len(s) or #s end

-- Rows (a list of tables with the same keys) as a text table.
local function format_rows(rows)
  local cols, seen = {}, {}
  for _, row in ipairs(rows) do
    for k in pairs(row) do
      if not seen[k] then seen[k] = true; cols[#cols + 1] = k end
    end
  end
  table.sort(cols, function(a, b)
    if a == "id" or b == "id" then return a == "id" end
    return tostring(a) < tostring(b)
  end)
  local cells, w = {}, {}
  for c, name in ipairs(cols) do w[c] = width(tostring(name)) end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, name in ipairs(cols) do
      local v = row[name]
      local s = v == nil and "" or type(v) == "table" and tide.json_encode(v) or tostring(v)
      if width(s) > 60 then s = s:sub(1, 57) .. "..." end
      cells[r][c] = s
      w[c] = math.max(w[c], width(s))
    end
  end
  local function line(values)
    local t = {}
    for c, v in ipairs(values) do t[c] = " " .. v .. (" "):rep(w[c] - width(v)) .. " " end
    return (table.concat(t, "|"):gsub("%s+$", ""))
  end
  local out = { line(cols) }
  local sep = {}
  for c = 1, #cols do sep[c] = ("-"):rep(w[c] + 2) end
  out[2] = table.concat(sep, "+")
  for r = 1, #rows do out[#out + 1] = line(cells[r]) end
  out[#out + 1] = ("(%d row%s)"):format(#rows, #rows == 1 and "" or "s")
  return table.concat(out, "\n")
end

local function is_rows(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return false end
  if #v == 0 then return next(v) == nil end
  for _, row in ipairs(v) do if type(row) ~= "table" then return false end end
  return true
end

function M.format(v)
  if is_rows(v) and #v > 0 then return format_rows(v) end
  if type(v) == "table" and not tide.is_error(v) and getmetatable(v) == nil then
    if next(v) == nil then return "{}" end
    return format_rows({ v })
  end
  return tostring(v)
end

function M.main(args)
  local url, schema_file = os.getenv "DATABASE_URL", nil
  local i = 1
  while args[i] do
    if args[i] == "--url" then url = args[i + 1]; i = i + 2
    elseif args[i] == "--schema" then schema_file = args[i + 1]; i = i + 2
    else io.stderr:write("tide console: unexpected argument '", args[i], "'\n"); return 2 end
  end
  if not url or url == "" then url = require("tide.dev").url() end
  if not url then
    io.stderr:write("tide console: no database: set DATABASE_URL, pass --url, or start one with tide dev\n")
    return 2
  end
  local opts = {}
  if schema_file then
    local chunk, err = loadfile(schema_file)
    if not chunk then io.stderr:write("tide console: ", err, "\n"); return 1 end
    opts.schema = chunk()
  end
  local ok, db = pcall(tide.connect, url, opts)
  if not ok then io.stderr:write("tide console: ", tostring(db), "\n"); return 1 end
  local env = setmetatable({ db = db, tide = tide }, { __index = _G })
  local tty = os.execute("test -t 0") == true
  if tty then print(("tide %s console on %s; db is connected, Ctrl-D leaves"):format(tide.version, db:describe())) end
  local buffer = nil
  while true do
    if tty then io.write(buffer and ".. " or "> ") io.flush() end
    local line = io.read("L")
    if not line then break end
    buffer = (buffer or "") .. line
    local chunk, err = load("return " .. buffer, "=console", "t", env)
    if not chunk then chunk, err = load(buffer, "=console", "t", env) end
    if not chunk and err:match("<eof>$") then
      -- an open block: read on
    else
      buffer = nil
      if not chunk then
        print(err)
      else
        local r = table.pack(xpcall(chunk, function(m) return tide.is_error(m) and tostring(m) or debug.traceback(tostring(m), 2) end))
        if not r[1] then
          print(r[2])
        else
          for k = 2, r.n do print(M.format(r[k])) end
        end
      end
    end
  end
  db:close()
  return 0
end

return M
