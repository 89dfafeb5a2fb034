-- tide.seed: deterministic synthetic data for a schema.
--
--   tide.seed(db, {
--     seed = 42,                                    -- same seed, same rows
--     User = { count = 20, with = { posts = 3 },    -- 3 posts per user
--              columns = { name = tide.seed.full_name() } },
--     Post = { columns = { published = tide.seed.weighted{ { true, 3 }, { false, 7 } } } },
--   })
--
-- Every field gets a value from a generator: the one named in `columns`, or
-- one chosen by the field's type and name (an `email` field gets emails, a
-- `title` a short sentence, an enum one of its values...). Fields the
-- database fills (serials, defaults, generated and updated_at columns) are
-- left to it unless `columns` names them. Unique fields (and unique
-- indexes of one field) get values that do not repeat. A belongs_to key is
-- set from the parent when rows are made through the parent's `with`, and
-- otherwise picked from the parent's existing rows. Rows go in with
-- create_many_and_return, a thousand at a time; after each thousand,
-- `progress` (a function(model, done, total), e.g. a tide.progress
-- reporter) is called, or tide.seed.progress when the plan has none (the
-- `tide db seed` command sets it).
local M = {}

-- The generator of random numbers: xorshift64*, so a seed gives the same
-- sequence on every machine.
local function rng(seed)
  local x = seed ~= 0 and seed or 0x9E3779B97F4A7C15
  local r = {}
  function r.next()
    x = x ~ (x >> 12)
    x = x ~ (x << 25)
    x = x ~ (x >> 27)
    return (x * 0x2545F4914F6CDD1D) >> 11 -- 53 bits
  end
  function r.float() return r.next() / 9007199254740992.0 end
  function r.int(lo, hi) return lo + r.next() % (hi - lo + 1) end
  function r.pick(list) return list[r.int(1, #list)] end
  return r
end

-- Generators: functions of (rng, i) -> value; i counts from 1 per model.
local function gen(fn) return setmetatable({ fn = fn }, { __name = "tide.seed.generator" }) end
local function is_gen(v) return type(v) == "table" and getmetatable(v) and v.fn ~= nil end

local first_names = { "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "John", "Ken",
  "Leslie", "Margaret", "Niklaus", "Radia", "Tony", "Bjarne", "Dennis", "Hedy", "Katherine", "Linus" }
local last_names = { "Lovelace", "Turing", "Liskov", "Shannon", "Knuth", "Dijkstra", "Allen", "Hopper", "Backus",
  "Thompson", "Lamport", "Hamilton", "Wirth", "Perlman", "Hoare", "Stroustrup", "Ritchie", "Lamarr", "Johnson",
  "Torvalds" }
local words = { "river", "stone", "light", "garden", "signal", "harbor", "meadow", "engine", "paper", "window",
  "orbit", "forest", "copper", "lantern", "valley", "circuit", "marble", "thunder", "canvas", "compass", "ember",
  "glacier", "island", "journal", "kernel", "ladder", "mirror", "needle", "oracle", "pepper", "quartz", "ribbon" }
local domains = { "example.com", "example.org", "example.net" }

function M.int(lo, hi) return gen(function(r) return r.int(lo or 0, hi or 1000) end) end
function M.float(lo, hi, digits)
  lo, hi = lo or 0, hi or 1000
  local scale = 10 ^ (digits or 2)
  return gen(function(r) return math.floor((lo + r.float() * (hi - lo)) * scale + 0.5) / scale end)
end
function M.bool(p) return gen(function(r) return r.float() < (p or 0.5) end) end
function M.choice(list) return gen(function(r) return r.pick(list) end) end
--- weighted{ { value, weight }, ... }
function M.weighted(pairs_)
  local total = 0
  for _, p in ipairs(pairs_) do total = total + p[2] end
  return gen(function(r)
    local x = r.float() * total
    for _, p in ipairs(pairs_) do
      x = x - p[2]
      if x < 0 then return p[1] end
    end
    return pairs_[#pairs_][1]
  end)
end
function M.first_name() return M.choice(first_names) end
function M.last_name() return M.choice(last_names) end
function M.full_name() return gen(function(r) return r.pick(first_names) .. " " .. r.pick(last_names) end) end
function M.email()
  return gen(function(r, i)
    return ("%s.%s%d@%s"):format(r.pick(first_names):lower(), r.pick(last_names):lower(), i, r.pick(domains))
  end)
end
function M.words(lo, hi)
  return gen(function(r)
    local t = {}
    for k = 1, r.int(lo or 1, hi or lo or 3) do t[k] = r.pick(words) end
    return table.concat(t, " ")
  end)
end
function M.sentence(lo, hi)
  local w = M.words(lo or 4, hi or 10)
  return gen(function(r)
    local s = w.fn(r)
    return s:sub(1, 1):upper() .. s:sub(2) .. "."
  end)
end
function M.paragraph(lo, hi)
  local s = M.sentence()
  return gen(function(r)
    local t = {}
    for k = 1, r.int(lo or 2, hi or 5) do t[k] = s.fn(r) end
    return table.concat(t, " ")
  end)
end
--- Dates between two years, as YYYY-MM-DD (date) or an ISO timestamp.
local function day(r, from, to)
  local y = r.int(from, to)
  local m = r.int(1, 12)
  local d = r.int(1, m == 2 and 28 or ((m == 4 or m == 6 or m == 9 or m == 11) and 30 or 31))
  return ("%04d-%02d-%02d"):format(y, m, d)
end
function M.date(from, to) return gen(function(r) return day(r, from or 2020, to or 2025) end) end
function M.timestamp(from, to)
  return gen(function(r)
    return ("%sT%02d:%02d:%02dZ"):format(day(r, from or 2020, to or 2025), r.int(0, 23), r.int(0, 59), r.int(0, 59))
  end)
end
function M.uuid()
  return gen(function(r)
    local h = {}
    for k = 1, 32 do h[k] = ("%x"):format(r.int(0, 15)) end
    h[13] = "4"
    h[17] = ("%x"):format(8 + r.int(0, 3))
    local s = table.concat(h)
    return ("%s-%s-%s-%s-%s"):format(s:sub(1, 8), s:sub(9, 12), s:sub(13, 16), s:sub(17, 20), s:sub(21, 32))
  end)
end
--- A fixed value.
function M.value(v) return gen(function() return v end) end

-- What a field gets when `columns` does not say.
local function default_for(f)
  local n = f.name:lower()
  if f.type == "enum" then return M.choice(f.enum) end
  if f.type == "text" or f.type == "varchar" or f.type == "char" then
    if n:find("email") then return M.email() end
    if n == "first_name" then return M.first_name() end
    if n == "last_name" then return M.last_name() end
    if n:find("name") then return M.full_name() end
    if n == "title" or n == "subject" then return M.sentence(3, 6) end
    if n == "slug" then return gen(function(r) return (M.words(2, 3).fn(r):gsub(" ", "-")) end) end
    if n:find("url") or n == "avatar" then
      return gen(function(r) return "https://" .. r.pick(domains) .. "/" .. r.pick(words) end)
    end
    if n == "body" or n == "content" or n == "bio" or n:find("description") then return M.paragraph() end
    if f.type == "char" then return gen(function(r) return r.pick(words):sub(1, f.length or 1) end) end
    local w = M.words(1, 3)
    if f.length then return gen(function(r) return w.fn(r):sub(1, f.length) end) end
    return w
  end
  if f.type == "smallint" then return M.int(0, 100) end
  if f.type == "integer" or f.type == "bigint" then return M.int(0, 10000) end
  if f.type == "real" or f.type == "double" then return M.float(0, 1000) end
  if f.type == "numeric" then return gen(function(r) return ("%.2f"):format(r.float() * 1000) end) end
  if f.type == "boolean" then return M.bool() end
  if f.type == "uuid" then return M.uuid() end
  if f.type == "date" then return M.date() end
  if f.type == "timestamp" or f.type == "timestamptz" then return M.timestamp() end
  if f.type == "time" or f.type == "timetz" then
    return gen(function(r) return ("%02d:%02d:00"):format(r.int(0, 23), r.int(0, 59)) end)
  end
  if f.type == "interval" then return gen(function(r) return ("P%dD"):format(r.int(1, 30)) end) end
  if f.type == "json" or f.type == "jsonb" then return gen(function(r, i) return { seed = i } end) end
  if f.type == "bytea" then
    return gen(function(r) local t = {} for k = 1, 8 do t[k] = string.char(r.int(0, 255)) end return table.concat(t) end)
  end
  if f.type == "inet" or f.type == "cidr" then
    return gen(function(r) return ("10.%d.%d.%d"):format(r.int(0, 255), r.int(0, 255), r.int(1, 254)) end)
  end
  return nil -- tsvector, custom types: left to the database
end

-- Values that must not repeat: a repeat gets a counter added.
local function uniquely(g)
  local seen = {}
  return gen(function(r, i)
    local v = g.fn(r, i)
    local k, n = v, 1
    while seen[k] do
      n = n + 1
      if type(v) == "string" then k = v .. "-" .. n
      elseif math.type(v) == "integer" then k = v + n
      else break end
    end
    seen[k] = true
    return k
  end)
end

local function unique_fields(m)
  local set = {}
  for _, f in ipairs(m.fields) do if f.unique or f.primary then set[f.name] = true end end
  for _, ix in ipairs(m.indexes or {}) do
    if (ix.kind == "unique" or ix.kind == "primary") and #ix.parts == 1 and ix.parts[1].field then
      set[ix.parts[1].field] = true
    end
  end
  return set
end

-- The belongs_to keys of model name: { key_field = { target =, target_key = } }.
local function parent_keys(schema, name)
  local m = schema.models[name]
  local keys = {}
  for _, r in ipairs(m.relations) do
    if r.kind == "belongs_to" and r.name then
      local info = schema.core:relation(name, r.name)
      if info and info.key and info.target_key then
        keys[info.key] = { target = info.target, target_key = info.target_key }
      end
    end
  end
  for _, f in ipairs(m.fields) do
    if f.references and not keys[f.name] then -- t.bigint "x_id" :references "X"
      local target, key = f.references.model, f.references.opts and f.references.opts.references
      if not key then
        for _, tf in ipairs(schema.models[target].fields) do if tf.primary then key = tf.name end end
      end
      keys[f.name] = { target = target, target_key = key or "id" }
    end
  end
  return keys
end

local known = { seed = true, progress = true }

--- tide.seed(db, plan): see the top of this file. Returns { Model = rows }.
function M.run(db, plan)
  local schema = db.schema
  if not schema then error("seed: the db has no schema (connect with { schema = ... })", 2) end
  if type(plan) ~= "table" then error("seed: a plan table expected", 2) end
  for name, spec in pairs(plan) do
    if not known[name] then
      if not schema.models[name] then
        local names = {}
        for n in pairs(schema.models) do names[#names + 1] = n end
        error(("seed: unknown model '%s'%s"):format(name, require("tide.util").did_you_mean(name, names)), 2)
      end
      if type(spec) ~= "table" then error(("seed: %s: a table expected"):format(name), 2) end
    end
  end
  local r = rng(plan.seed or 1)
  local progress = plan.progress or M.progress
  local made = {}
  local done = {}    -- models with a count of their own, made (or being made)
  local ensure
  local counters = {}
  local generators = {}

  local function generators_of(name)
    if generators[name] then return generators[name] end
    local m = schema.models[name]
    local spec = plan[name] or {}
    local columns = spec.columns or {}
    local uniq = unique_fields(m)
    local fks = parent_keys(schema, name)
    local list = {}
    for _, f in ipairs(m.fields) do
      local g = columns[f.name]
      if g ~= nil and not is_gen(g) then g = M.value(g) end
      local db_fills = f.default_kind or f.identity or f.generated or f.updated_at or f.type:find("serial")
      if g == nil and not db_fills and not fks[f.name] then g = default_for(f) end
      if g and uniq[f.name] then g = uniquely(g) end
      if g then list[#list + 1] = { field = f.name, gen = g } end
    end
    generators[name] = { list = list, fks = fks }
    return generators[name]
  end

  -- Makes count rows of name; fixed: key values set by a parent.
  local function make(name, count, fixed)
    local g = generators_of(name)
    local rows = {}
    for k = 1, count do
      counters[name] = (counters[name] or 0) + 1
      local i = counters[name]
      local row = {}
      for _, e in ipairs(g.list) do row[e.field] = e.gen.fn(r, i) end
      for key, parent in pairs(g.fks) do
        if fixed and fixed[key] ~= nil then
          row[key] = fixed[key]
        elseif row[key] == nil then
          ensure(parent.target) -- a parent the plan counts: made first
          local pool = made[parent.target]
          if not pool or #pool == 0 then
            local existing = db[parent.target]:find_many{ select = { [parent.target_key] = true }, take = 1000,
              order_by = { [parent.target_key] = "asc" } }
            pool = existing
            made[parent.target] = existing
          end
          if #pool > 0 then row[key] = pool[r.int(1, #pool)][parent.target_key] end
        end
      end
      rows[k] = row
    end
    local out = {}
    for from = 1, #rows, 1000 do
      local chunk = table.move(rows, from, math.min(from + 999, #rows), 1, {})
      for _, row in ipairs(db[name]:create_many_and_return{ data = chunk }) do out[#out + 1] = row end
      if progress then progress(name, #out, #rows) end
    end
    made[name] = made[name] or {}
    for _, row in ipairs(out) do table.insert(made[name], row) end
    -- children: with = { relation = count or { min, max } }
    local spec = plan[name] or {}
    for rel, n in pairs(spec.with or {}) do
      local info = schema.core:relation(name, rel)
      if not info or (info.kind ~= "has_many" and info.kind ~= "has_one") then
        error(("seed: %s.%s: with takes has_many or has_one relations"):format(name, rel), 0)
      end
      for _, parent in ipairs(out) do
        local k = type(n) == "table" and r.int(n[1], n[2]) or n
        if info.kind == "has_one" then k = math.min(k, 1) end
        if k > 0 then make(info.target, k, { [info.target_key] = parent[info.key] }) end
      end
    end
    return out
  end

  ensure = function(name)
    if done[name] or not (plan[name] and plan[name].count) then return end
    done[name] = true
    make(name, plan[name].count)
  end
  -- in declaration order; a model's parents the plan counts come first
  for _, m in ipairs(schema.model_list) do ensure(m.name) end
  return made
end

return setmetatable(M, { __call = function(_, db, plan) return M.run(db, plan) end })
