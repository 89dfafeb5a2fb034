-- Small helpers shared by tide's Lua modules.
local util = {}

-- Optimal string alignment distance (Damerau-Levenshtein with adjacent
-- transpositions), case-insensitive: "emial" is one step from "email".
function util.distance(a, b)
  a, b = a:lower(), b:lower()
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local d = {}
  for i = 0, la do d[i] = { [0] = i } end
  for j = 0, lb do d[0][j] = j end
  for i = 1, la do
    local ai = a:byte(i)
    for j = 1, lb do
      local cost = ai == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and ai == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[la][lb]
end

--- The candidate nearest to name (a list of names, or a table whose string
--- keys are the names), or nil when none is close enough to be a typo.
function util.nearest(name, candidates)
  name = tostring(name)
  local names = {}
  if #candidates > 0 then
    names = candidates
  else
    for k in pairs(candidates) do
      if type(k) == "string" then names[#names + 1] = k end
    end
    table.sort(names)
  end
  local best, best_d
  for _, c in ipairs(names) do
    local d = util.distance(name, c)
    if not best_d or d < best_d then best, best_d = c, d end
  end
  if best and best_d <= math.max(2, #name // 3) then return best end
  return nil
end

--- "; did you mean 'email'?" or "" when nothing is near.
function util.did_you_mean(name, candidates)
  local n = util.nearest(name, candidates)
  return n and ("; did you mean '%s'?"):format(n) or ""
end

--- What is wrong with the options table opts, as text, or nil: allowed
--- maps each option to its Lua type (or true: any type); an unknown option
--- names the nearest.
function util.option_problem(opts, allowed)
  for k, v in pairs(opts) do
    local want = allowed[k]
    if not want then return ("unknown option '%s'%s"):format(tostring(k), util.did_you_mean(k, allowed)) end
    if want ~= true and type(v) ~= want then
      return ("option '%s' must be a %s, got %s"):format(k, want, type(v))
    end
  end
end

return util
