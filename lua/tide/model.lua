-- The model client: db.User:find_many{ where = ..., order_by = ..., take = ... }
-- and the fluent chain db.Post:where{...}:order_by("id", "desc"):limit(20):all().
--
-- Each call hands its argument table to the C core once (core.model_query),
-- which checks every name against the schema, compiles the query (or finds it
-- by shape), binds the values and runs it.
local core = require "tide.core"
local util = require "tide.util"

local M = {}

local Model = {}
Model.__name = "tide.model"

local methods = {}

local function not_found(model, op)
  local e = { code = "not_found", message = ("%s: no %s matched"):format(op, model) }
  return setmetatable(e, core.error_mt)
end

local function run(self, op, args)
  if args ~= nil and type(args) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(op, type(args)), 3)
  end
  return core.model_query(self._target, self._schema.core, self._name, op, args)
end

-- Client-side defaults (a function given to :default) fill missing data.
local function with_defaults(self, args)
  local fns = rawget(self, "_defaults")
  if not fns or type(args) ~= "table" or type(args.data) ~= "table" then return args end
  local data = args.data
  local copy
  for field, fn in pairs(fns) do
    if data[field] == nil then
      copy = copy or setmetatable({}, { __index = data })
      copy[field] = fn()
    end
  end
  if not copy then return args end
  local merged = {}
  for k, v in pairs(data) do merged[k] = v end
  for k, v in pairs(copy) do merged[k] = v end
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  a.data = merged
  return a
end

-- Relations: include (and relation entries in select) ------------------------
--
-- Strategy "query": the parents first, then one query per included relation
-- for all the parents at once (the core compiles it with _via, which returns
-- each row's parent key as __parent), stitched here. The number of
-- statements depends on the include tree, never on the number of rows.

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function relation_info(self, name, what)
  local info = self._schema.core:relation(self._name, name)
  if info then return info end
  local names = {}
  for _, r in ipairs(self._schema.models[self._name].relations) do
    if r.name then names[#names + 1] = r.name end
  end
  error(setmetatable({ code = "invalid_argument",
    message = ("%s: unknown relation '%s' on %s%s"):format(what, tostring(name), self._name,
      util.did_you_mean(name, names)) }, core.error_mt), 4)
end

-- Takes the relations out of args: returns the parents' args, the includes
-- ({ name = true | child args }), and the key fields added only for stitching.
local function split(self, args)
  local inc, sel = args.include, args.select
  local includes, relnames = {}, {}
  if type(inc) == "table" then
    for k, v in pairs(inc) do
      if v ~= false then includes[k] = v end
    end
  end
  local pargs = shallow(args)
  pargs.include = nil
  if type(sel) == "table" then
    local s2
    for k, v in pairs(sel) do
      if self._schema.core:relation(self._name, k) then
        s2 = s2 or shallow(sel)
        s2[k] = nil
        if v ~= false then includes[k] = v end
      end
    end
    if s2 then pargs.select = s2 end
  end
  if next(includes) == nil then return nil end
  local added = {}
  for name in pairs(includes) do
    local info = relation_info(self, name, "include")
    if not info.key then
      error(setmetatable({ code = "invalid_argument", message = ("include: %s.%s: composite keys are not supported yet")
        :format(self._name, name) }, core.error_mt), 4)
    end
    relnames[name] = info
    local key = info.key
    if pargs.select and not pargs.select[key] then
      pargs.select = shallow(pargs.select)
      pargs.select[key] = true
      added[key] = true
    elseif pargs.omit and pargs.omit[key] then
      pargs.omit = shallow(pargs.omit)
      pargs.omit[key] = nil
      added[key] = true
    end
  end
  return pargs, includes, relnames, added
end

local function load(self, rows, includes, infos, added)
  for name, spec in pairs(includes) do
    local info = infos[name]
    local keys, seen = {}, {}
    for _, row in ipairs(rows) do
      local k = row[info.key]
      if k ~= nil and not seen[k] then
        seen[k] = true
        keys[#keys + 1] = k
      end
    end
    local many = info.kind == "has_many" or info.kind == "many_to_many"
    local cargs = spec == true and {} or shallow(spec)
    if not many and (cargs.take or cargs.skip or cargs.order_by) then
      error(("include %s: take, skip and order_by apply to lists; %s is a %s"):format(name, name, info.kind), 4)
    end
    local groups = {}
    if #keys > 0 then
      cargs._via = { model = self._name, relation = name, keys = keys }
      local child = M.client(self._schema, info.target, self._target)
      for _, cr in ipairs(child:find_many(cargs)) do
        local p = cr.__parent
        cr.__parent = nil
        local g = groups[p]
        if not g then g = {}; groups[p] = g end
        g[#g + 1] = cr
      end
    end
    for _, row in ipairs(rows) do
      local g = groups[row[info.key]]
      if many then row[name] = g or setmetatable({}, core.array_mt) else row[name] = g and g[1] or nil end
    end
  end
  for key in pairs(added) do
    for _, row in ipairs(rows) do row[key] = nil end
  end
end

local function with_relations(self, op, args, one)
  if type(args) ~= "table" then return run(self, op, args) end
  local pargs, includes, infos, added = split(self, args)
  if not pargs then return run(self, op, args) end
  local r = run(self, op, pargs)
  if r == nil then return nil end
  load(self, one and { r } or r, includes, infos, added)
  return r
end

function methods:find_many(args) return with_relations(self, "find_many", args, false) end
function methods:find_first(args) return with_relations(self, "find_first", args, true) end
function methods:find_unique(args) return with_relations(self, "find_unique", args, true) end
function methods:count(args) return run(self, "count", args) end
function methods:create(args) return with_relations(self, "create", with_defaults(self, args), true) end
function methods:update(args) return with_relations(self, "update", args, true) end
function methods:update_many(args) return run(self, "update_many", args) end
function methods:delete(args) return with_relations(self, "delete", args, true) end
function methods:delete_many(args) return run(self, "delete_many", args) end

-- create_many: rows grouped by the fields they set (a field left out takes
-- its default, so rows that set different fields cannot share a statement),
-- each group sent as one column list per field.
local function create_many(self, op, args)
  if type(args) ~= "table" or type(args.data) ~= "table" then
    error(("bad argument #1 to '%s' (table with data = { rows... } expected)"):format(op), 3)
  end
  local groups, order = {}, {}
  for i, row in ipairs(args.data) do
    if type(row) ~= "table" then error(("%s: data[%d] is not a table"):format(op, i), 3) end
    row = with_defaults(self, { data = row }).data
    local keys = {}
    for k in pairs(row) do
      if type(k) ~= "string" then error(("%s: data[%d] has a %s key"):format(op, i, type(k)), 3) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    local sig = table.concat(keys, ",")
    local g = groups[sig]
    if not g then
      g = { keys = keys, columns = {} }
      for _, k in ipairs(keys) do g.columns[k] = setmetatable({}, core.array_mt) end
      groups[sig] = g
      order[#order + 1] = g
    end
    for _, k in ipairs(keys) do
      local col = g.columns[k]
      col[#col + 1] = row[k]
    end
  end
  local total, rows = 0, {}
  for _, g in ipairs(order) do
    if #g.keys == 0 then
      error(("%s: a row sets no field (use create for a row of defaults)"):format(op), 3)
    end
    local r = run(self, op, { columns = g.columns, skip_duplicates = args.skip_duplicates,
      select = args.select, omit = args.omit })
    if op == "create_many" then total = total + r else for _, x in ipairs(r) do rows[#rows + 1] = x end end
  end
  if op == "create_many" then return total end
  return rows
end

function methods:create_many(args) return create_many(self, "create_many", args) end
function methods:create_many_and_return(args) return create_many(self, "create_many_and_return", args) end
function methods:upsert(args)
  local a = args
  if type(args) == "table" and type(args.create) == "table" then
    a = shallow(args)
    a.create = with_defaults(self, { data = args.create }).data
  end
  return with_relations(self, "upsert", a, true)
end

function methods:find_unique_or_throw(args)
  local r = self:find_unique(args)
  if r == nil then error(not_found(self._name, "find_unique_or_throw"), 2) end
  return r
end

function methods:find_first_or_throw(args)
  local r = self:find_first(args)
  if r == nil then error(not_found(self._name, "find_first_or_throw"), 2) end
  return r
end

--- The SQL a call would run, and its number of parameters (runs nothing).
function methods:to_sql(op, args)
  return core.model_sql(self._schema.core, self._name, op, args or {})
end

-- The fluent chain builds the same argument table as the table form ----------

local Chain = {}
Chain.__index = Chain
Chain.__name = "tide.chain"

local function chain(model)
  return setmetatable({ _model = model, _args = {} }, Chain)
end

local function merge_where(a, w)
  if a.where then a.where = { AND = { a.where, w } } else a.where = w end
end

function methods:where(w) local c = chain(self); merge_where(c._args, w); return c end
function Chain:where(w) merge_where(self._args, w); return self end

--- order_by("id", "desc") or order_by{ id = "desc" }; calls add up in order.
function Chain:order_by(field, dir)
  local item = type(field) == "table" and field or { [field] = dir or "asc" }
  local o = self._args.order_by or {}
  o[#o + 1] = item
  self._args.order_by = o
  return self
end
function methods:order_by(...) return chain(self):order_by(...) end

function Chain:limit(n) self._args.take = n; return self end
function Chain:offset(n) self._args.skip = n; return self end

--- select("id", "title") or select{ id = true }
function Chain:select(...)
  local s = ...
  if type(s) ~= "table" then
    s = {}
    for _, f in ipairs({ ... }) do s[f] = true end
  end
  self._args.select = s
  return self
end
function methods:select(...) return chain(self):select(...) end
function methods:limit(n) return chain(self):limit(n) end

function Chain:all() return self._model:find_many(self._args) end
function Chain:first()
  local a = {}
  for k, v in pairs(self._args) do if k ~= "take" then a[k] = v end end
  return self._model:find_first(a)
end
function Chain:one() return self._model:find_unique(self._args) end
function Chain:count()
  return self._model:count({ where = self._args.where, take = self._args.take, skip = self._args.skip })
end
function Chain:exists()
  return self._model:find_first({ where = self._args.where, select = self._model:_key_select() }) ~= nil
end
function Chain:update(data) return self._model:update_many({ where = self._args.where, data = data }) end
function Chain:delete() return self._model:delete_many({ where = self._args.where }) end

function methods:_key_select()
  local m = self._schema.models[self._name]
  return { [m.fields[1].name] = true }
end

Model.__index = function(self, key)
  local m = methods[key]
  if m then return m end
  local names = {}
  for k in pairs(methods) do if k:sub(1, 1) ~= "_" then names[#names + 1] = k end end
  table.sort(names)
  error(("%s has no method '%s'%s"):format(rawget(self, "_name"), tostring(key), util.did_you_mean(key, names)), 2)
end

function Model:__tostring()
  return ("tide.model(%s)"):format(self._name)
end

--- The client of one model, running its queries on target (a db or a
--- transaction's connection).
function M.client(schema, name, target)
  local decl = schema.models[name]
  local defaults
  for _, f in ipairs(decl.fields) do
    if f.default_fn then
      defaults = defaults or {}
      defaults[f.name] = f.default_fn
    end
  end
  return setmetatable({ _schema = schema, _name = name, _target = target, _defaults = defaults }, Model)
end

--- db.User / tx.User: the model client for a schema model, or an error that
--- names the nearest model.
function M.lookup(schema, owner, target, key)
  if not schema or type(key) ~= "string" or not key:match("^%u") then return nil end
  if schema.models[key] then
    local c = M.client(schema, key, target)
    rawset(owner, key, c)
    return c
  end
  local names = {}
  for n in pairs(schema.models) do names[#names + 1] = n end
  table.sort(names)
  error(("unknown model '%s'%s"):format(key, util.did_you_mean(key, names)), 3)
end

return M
