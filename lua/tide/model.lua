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

local function shallow(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- Field codecs (:codec{ encode =, decode = }): values written (data, and
-- plain values in where) are encoded; rows read back are decoded.
local row_ops = { find_many = true, find_first = true, find_unique = true, create = true, update = true,
  delete = true, upsert = true, create_many_and_return = true, update_many_and_return = true }

-- Operator forms hold operands to encode; any other value is encoded whole
-- (a codec's value may itself be a table).
local operand_ops = { equals = "one", ["not"] = "one", not_ = "one", lt = "one", lte = "one", gt = "one",
  gte = "one", set = "one", ["in"] = "list", in_ = "list", not_in = "list" }
local other_ops = { contains = true, starts_with = true, ends_with = true, mode = true, increment = true,
  decrement = true, multiply = true, divide = true, has = true, has_some = true, has_every = true,
  is_empty = true, search = true, path = true }

local function is_operator_form(v)
  if type(v) ~= "table" or getmetatable(v) ~= nil then return false end
  for k in pairs(v) do
    if operand_ops[k] or other_ops[k] then return true end
  end
  return false
end

local function encode_value(codec, v)
  if v == core.null then return v end
  if not is_operator_form(v) then return codec.encode(v) end
  local c = {}
  for k, x in pairs(v) do
    local kind = operand_ops[k]
    if kind == "one" and x ~= core.null then c[k] = codec.encode(x)
    elseif kind == "list" then
      local l = {}
      for i, y in ipairs(x) do l[i] = codec.encode(y) end
      c[k] = l
    else c[k] = x end
  end
  return c
end

local function encode_table(codecs, t)
  if type(t) ~= "table" then return t end
  local c
  for field, codec in pairs(codecs) do
    local v = t[field]
    if v ~= nil and codec.encode then
      c = c or shallow(t)
      c[field] = encode_value(codec, v)
    end
  end
  return c or t
end

local function encode_args(codecs, args)
  local a = {}
  for k, v in pairs(args) do a[k] = v end
  if a.data then a.data = encode_table(codecs, a.data) end
  if a.create then a.create = encode_table(codecs, a.create) end
  if a.update then a.update = encode_table(codecs, a.update) end
  if a.where then a.where = encode_table(codecs, a.where) end
  if a.columns then
    local cols = {}
    for k, v in pairs(a.columns) do
      local codec = codecs[k]
      if codec and codec.encode then
        local col = setmetatable({}, core.values_mt)
        for i, x in ipairs(v) do col[i] = codec.encode(x) end
        cols[k] = col
      else
        cols[k] = v
      end
    end
    a.columns = cols
  end
  return a
end

local function decode_rows(codecs, rows)
  for _, row in ipairs(rows) do
    for field, codec in pairs(codecs) do
      local v = row[field]
      if v ~= nil and codec.decode then row[field] = codec.decode(v) end
    end
  end
end

local function run(self, op, args)
  if args ~= nil and type(args) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(op, type(args)), 3)
  end
  -- (args.timeout, the statement's deadline, is taken by the core)
  local codecs = rawget(self, "_codecs")
  if not codecs then
    return core.model_query(self._target, self._schema.core, self._name, op, args)
  end
  if args then args = encode_args(codecs, args) end
  local r = core.model_query(self._target, self._schema.core, self._name, op, args)
  if row_ops[op] and r ~= nil then
    decode_rows(codecs, (op == "find_many" or op == "create_many_and_return" or op == "update_many_and_return")
      and r or { r })
  end
  return r
end

-- Middleware (db:use): fn(params, next) around every model operation.
-- params = { model =, operation =, args =, nested = } (nested: issued by
-- tide itself for an include or a nested write). next(params) runs the rest
-- of the chain and the operation; a middleware may change params.args
-- before, or the result after. How deep in tide's own operations we are is
-- counted per coroutine: coroutines interleave their queries (tide.spawn).
local depths = setmetatable({}, { __mode = "k" })

local function dispatch(self, op, args, impl)
  local db = rawget(self, "_db")
  local mws = db and rawget(db, "_middleware")
  if not mws then return impl(self, args) end
  local function step(i, p)
    if i > #mws then
      local co = coroutine.running()
      depths[co] = (depths[co] or 0) + 1
      local ok, r = pcall(impl, self, p.args)
      depths[co] = depths[co] > 1 and depths[co] - 1 or nil
      if not ok then error(r, 0) end
      return r
    end
    return mws[i](p, function(p2) return step(i + 1, p2 or p) end)
  end
  return step(1, { model = self._name, operation = op, args = args, nested = depths[coroutine.running()] ~= nil })
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

-- "_sum.views" -> r._sum.views
local function fold(row)
  local dotted = {}
  for k in pairs(row) do
    if k:find(".", 1, true) then dotted[#dotted + 1] = k end
  end
  for _, k in ipairs(dotted) do
    local agg, field = k:match("^(_%a+)%.(.+)$")
    row[agg] = row[agg] or {}
    row[agg][field] = row[k]
    row[k] = nil
  end
  return row
end

-- Relations: include (and relation entries in select) ------------------------
--
-- Strategy "query": the parents first, then one query per included relation
-- for all the parents at once (the core compiles it with _via, which returns
-- each row's parent key as __parent), stitched here. The number of
-- statements depends on the include tree, never on the number of rows.

-- The fields of the model's primary key: marked :primary(), or declared
-- with tide.primary_key { ... }.
local function pk_fields(self)
  local m = self._schema.models[self._name]
  if m._pk_fields then return m._pk_fields end
  local pk = {}
  for _, f in ipairs(m.fields) do if f.primary then pk[#pk + 1] = f.name end end
  if #pk == 0 then
    for _, ix in ipairs(m.indexes or {}) do
      if ix.kind == "primary" then
        for _, p in ipairs(ix.parts) do pk[#pk + 1] = p.field end
      end
    end
  end
  m._pk_fields = pk
  return pk
end

local function pk_where(self, row)
  local w = {}
  for _, f in ipairs(pk_fields(self)) do w[f] = row[f] end
  return w
end

-- The relation's description from the core (kind, target, keys,
-- target_keys), cached per model; nil for a name that is not a relation.
local function model_relation(schema, model_name, name)
  local decl = schema.models[model_name]
  local cache = decl._relation_info
  if not cache then cache = {}; decl._relation_info = cache end
  local info = cache[name]
  if info then return info end
  info = type(name) == "string" and schema.core:relation(model_name, name)
  if not info then return nil end
  -- the columns that carry each child row's parent key (see _via)
  local cols = {}
  for i = 1, #info.keys do cols[i] = #info.keys == 1 and "__parent" or "__parent_" .. i end
  info.parent_columns = cols
  cache[name] = info
  return info
end

local function relation_of(self, name) return model_relation(self._schema, self._name, name) end

local function relation_info(self, name, what)
  local info = relation_of(self, name)
  if info then return info end
  local names = {}
  for _, r in ipairs(self._schema.models[self._name].relations) do
    if r.name then names[#names + 1] = r.name end
  end
  error(setmetatable({ code = "invalid_argument",
    message = ("%s: unknown relation '%s' on %s%s"):format(what, tostring(name), self._name,
      util.did_you_mean(name, names)) }, core.error_mt), 4)
end

-- The table key of the value of fields in row: for one field the value
-- itself; for several, one string in which each part is tagged with its
-- type and length-prefixed, so that different keys never read alike (1 and
-- "1"; "ab" then "c" and "a" then "bc"). nil when a part is NULL: such a key
-- references nothing, as in SQL.
local function row_key(row, fields)
  if #fields == 1 then return row[fields[1]] end
  local parts = {}
  for i, f in ipairs(fields) do
    local v = row[f]
    if v == nil or v == core.null then return nil end
    local t = math.type(v)
    if t == "float" and math.tointeger(v) then v, t = math.tointeger(v), "integer" end
    local text = t == "float" and ("%.17g"):format(v) or tostring(v)
    parts[i] = (t or type(v)):sub(1, 1) .. #text .. ":" .. text
  end
  return table.concat(parts)
end

-- Takes the relations out of args: returns the parents' args, the includes
-- ({ name = true | child args }), and the key fields added only for stitching.
local function split(self, args)
  local inc, sel = args.include, args.select
  if inc == nil and sel == nil then return nil end -- a leaf: nothing to split
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
      if relation_of(self, k) then
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
    relnames[name] = info
    for _, key in ipairs(info.keys) do
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
  end
  return pargs, includes, relnames, added
end

-- The parents' distinct keys as _via wants them: one list of values for a
-- single-field key; for a composite key one list per field (part i of
-- every key in list i), each bound as one array. Keys with a NULL part are
-- left out. Returns the keys and how many there are.
local function parent_keys(rows, fields)
  local seen, n = {}, 0
  local single = #fields == 1
  local keys = {}
  if not single then
    for i = 1, #fields do keys[i] = setmetatable({}, core.values_mt) end
  end
  for _, row in ipairs(rows) do
    local k = row_key(row, fields)
    if k ~= nil and not seen[k] then
      seen[k] = true
      n = n + 1
      if single then keys[n] = k else for i, f in ipairs(fields) do keys[i][n] = row[f] end end
    end
  end
  return keys, n
end

-- The client of model name for the rows of self's includes (cached).
local function child_client(self, name)
  local children = rawget(self, "_children")
  if not children then children = {}; rawset(self, "_children", children) end
  local child = children[name]
  if not child then
    child = M.client(self._schema, name, self._target, rawget(self, "_db"))
    children[name] = child
  end
  return child
end

local function check_one(name, info, cargs)
  if info.kind ~= "has_many" and info.kind ~= "many_to_many" and (cargs.take or cargs.skip or cargs.order_by) then
    error(("include %s: take, skip and order_by apply to lists; %s is a %s"):format(name, name, info.kind), 5)
  end
end

local function load(self, rows, includes, infos, added, timeout)
  for name, spec in pairs(includes) do
    local info = infos[name]
    local keys, nkeys = parent_keys(rows, info.keys)
    local many = info.kind == "has_many" or info.kind == "many_to_many"
    local cargs = spec == true and {} or shallow(spec)
    check_one(name, info, cargs)
    if cargs.timeout == nil then cargs.timeout = timeout end
    local groups = {}
    if nkeys > 0 then
      cargs._via = { model = self._name, relation = name, keys = keys }
      local child = child_client(self, info.target)
      -- each row carries its parent's key (a middleware may filter or replace
      -- the list, so the key travels with the row, not beside the list)
      local pcols = info.parent_columns
      for _, cr in ipairs(child:find_many(cargs)) do
        local p = row_key(cr, pcols)
        for _, c in ipairs(pcols) do cr[c] = nil end
        if p ~= nil then
          local g = groups[p]
          if not g then g = {}; groups[p] = g end
          g[#g + 1] = cr
        end
      end
    end
    for _, row in ipairs(rows) do
      local k = row_key(row, info.keys)
      local g = k ~= nil and groups[k] or nil
      if many then row[name] = g or setmetatable({}, core.array_mt) else row[name] = g and g[1] or nil end
    end
  end
  for key in pairs(added) do
    for _, row in ipairs(rows) do row[key] = nil end
  end
end

-- include = { _count = ... } and select = { _count = ... } ask for relation
-- counts: the core takes them as the top-level option _count.
local function lift_count(args)
  local inc, sel = args.include, args.select
  local c
  if type(inc) == "table" and inc._count ~= nil then c = inc._count end
  if type(sel) == "table" and sel._count ~= nil then c = sel._count end
  if c == nil then return args end
  local a = shallow(args)
  if type(inc) == "table" and inc._count ~= nil then a.include = shallow(inc); a.include._count = nil end
  if type(sel) == "table" and sel._count ~= nil then a.select = shallow(sel); a.select._count = nil end
  if a.include and next(a.include) == nil then a.include = nil end
  if a.select and next(a.select) == nil then a.select = nil end
  a._count = c
  return a
end

-- Strategy "join": the whole include tree in one statement. The core
-- compiles include into a JSON column per relation (json_agg of
-- json_build_object per row, nested); rows come back with their relations
-- already in place, and only need reading as the query strategy would give
-- them (below). Chosen per call (relation_load_strategy = "join") or per
-- db (tide.connect's relation_load_strategy); finds only.

local strategies = { "query", "join" }
local join_ops = { find_many = true, find_first = true, find_unique = true }

local function strategy_of(self, args)
  local s = args.relation_load_strategy
  if s == nil then
    local db = rawget(self, "_db")
    return db and rawget(db, "_relation_load_strategy") or "query"
  end
  if s ~= "query" and s ~= "join" then
    error(setmetatable({ code = "invalid_argument", message = ("relation_load_strategy: 'query' or 'join', got '%s'%s")
      :format(tostring(s), util.did_you_mean(s, strategies)) }, core.error_mt), 4)
  end
  return s
end

-- A model's codecs that encode, per field (nil when none): an included
-- level's where values are encoded as its own query's would be.
local function encoders(schema, model_name)
  local decl = schema.models[model_name]
  if decl._encoders == nil then
    local e = false
    for _, f in ipairs(decl.fields) do
      if f.codec and f.codec.encode then e = e or {}; e[f.name] = f.codec end
    end
    decl._encoders = e
  end
  return decl._encoders or nil
end

-- The include tree as the core takes it, and the plan to read the rows back
-- ({ relation = { model =, many =, plan = } }). As in the query strategy,
-- _count in include or select is the level's own _count, and relations
-- named in select are included. At the top, a select left with no field
-- reads the primary key, dropped again (drop).
local function join_args(schema, model_name, args, top)
  local a = shallow(args)
  if top then a.relation_load_strategy = nil end
  local enc = not top and encoders(schema, model_name)
  if enc and type(a.where) == "table" then a.where = encode_table(enc, a.where) end
  local inc, sel = args.include, args.select
  -- _count in include or select is the level's own (select's wins)
  if type(inc) == "table" and inc._count ~= nil then a._count = inc._count end
  if type(sel) == "table" and sel._count ~= nil then a._count = sel._count end
  local include = inc
  if type(inc) == "table" then
    include = {}
    for k, v in pairs(inc) do if k ~= "_count" then include[k] = v end end
  end
  local drop
  if type(sel) == "table" then
    local fields, moved = {}, false
    for k, v in pairs(sel) do
      if k ~= "_count" and model_relation(schema, model_name, k) then
        moved = true
        if type(include) ~= "table" then include = {} end
        include[k] = v
      elseif k ~= "_count" then
        fields[k] = v
      end
    end
    if next(fields) ~= nil or moved then
      a.select = fields
      if moved and next(fields) == nil and top then
        -- a row of relations only: its key is read, and dropped again
        drop = pk_fields({ _schema = schema, _name = model_name })
        if #drop == 0 then drop = { schema.models[model_name].fields[1].name } end
        for _, f in ipairs(drop) do fields[f] = true end
      end
    else
      a.select = nil -- select = { _count = ... } alone: every field
    end
  end
  a.include = nil
  local plan
  if type(include) == "table" then
    local inc2 = {}
    for k, v in pairs(include) do
      local info = model_relation(schema, model_name, k)
      if info and v ~= false then
        local sub
        if type(v) == "table" then v, sub = join_args(schema, info.target, v, false) end
        plan = plan or {}
        plan[k] = { model = info.target, many = info.kind == "has_many" or info.kind == "many_to_many", plan = sub }
      end
      inc2[k] = v -- unknown names and bad values too: the core refuses them, naming the nearest
    end
    if next(inc2) ~= nil then a.include = inc2 end
  elseif include ~= nil then
    a.include = include
  end
  return a, plan, drop
end

-- What reading an included row needs beyond the JSON: the values whose JSON
-- form differs from how tide reads the column, and codecs. Per model, once.
local function from_hex(s)
  return (s:sub(3):gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end
local float_words = { NaN = 0 / 0, Infinity = math.huge, ["-Infinity"] = -math.huge }
-- a BC timestamp keeps its space in a column: "0044-03-15 10:00:00 BC"
local function bc(v) return type(v) == "string" and v:sub(-3) == " BC" and (v:gsub("T", " ", 1)) or v end
local readers = {
  real = function(v) return float_words[v] or v + 0.0 end,
  double = function(v) return float_words[v] or v + 0.0 end,
  bytea = function(v) return type(v) == "string" and v:sub(1, 2) == "\\x" and from_hex(v) or v end,
  -- "12:00:00+02", as the server writes a timetz, is "12:00:00+02:00" in a column
  timetz = function(v) return type(v) == "string" and v:match("[+-]%d%d$") and v .. ":00" or v end,
  timestamp = bc,
  timestamptz = bc,
}

-- an array's elements, at any depth; NULL elements stay tide.null
local function each_element(fn)
  local function walk(v)
    if type(v) ~= "table" or v == core.null then return v == core.null and v or fn(v) end
    for i = 1, #v do v[i] = walk(v[i]) end
    return v
  end
  return walk
end

local function row_readers(schema, model_name)
  local decl = schema.models[model_name]
  local r = decl._join_readers
  if r then return r end
  r = {}
  for _, f in ipairs(decl.fields) do
    local fn = readers[f.type]
    if fn and f.array_dims > 0 then fn = each_element(fn) end
    if fn then r[#r + 1] = { f.name, fn } end
    if f.codec and f.codec.decode then r[#r + 1] = { f.name, f.codec.decode } end
  end
  decl._join_readers = r
  return r
end

local function read_row(row, rd)
  for k, v in pairs(row) do
    if v == core.null then row[k] = nil end -- SQL NULL is absent, as in any row
  end
  for i = 1, #rd do
    local name, fn = rd[i][1], rd[i][2]
    local v = row[name]
    if v ~= nil then row[name] = fn(v) end
  end
end

local function read_joined(schema, plan, rows)
  for name, p in pairs(plan) do
    local rd = row_readers(schema, p.model)
    for _, row in ipairs(rows) do
      local v = row[name]
      if v == core.null then
        row[name] = nil
      elseif v ~= nil then
        local list = p.many and v or { v }
        for i = 1, #list do read_row(list[i], rd) end
        if p.plan then read_joined(schema, p.plan, list) end
      end
    end
  end
end

local function load_joined(self, op, args, one)
  local a, plan, drop = join_args(self._schema, self._name, args, true)
  local r = run(self, op, a)
  if r == nil then return nil end
  local rows = one and { r } or r
  if a._count ~= nil then for _, row in ipairs(rows) do fold(row) end end
  if plan then read_joined(self._schema, plan, rows) end
  if drop then
    for _, row in ipairs(rows) do for _, f in ipairs(drop) do row[f] = nil end end
  end
  return r
end

-- Strategy "query", pipelined: each child level is written against its
-- parent level's condition instead of its rows (_via = { parent = { where,
-- _via } }: the core matches the parent key with a subquery), so every
-- level goes to the server at once, in one round trip and one snapshot
-- (core.model_batch), and is stitched here as load() stitches. It needs a
-- parent level determined by its where alone: the subquery must return a
-- superset of the parents loaded, and may not return many more, so a level
-- with take, skip, cursor or distinct (or a find_first) under which
-- something is included, relations through a join table, with_deleted
-- anywhere and middleware (which may change each level's arguments as it
-- runs) leave the load to the level-by-level path.

local function determined(self, op, a)
  if op == "find_first" or a.take ~= nil or a.skip ~= nil or a.cursor ~= nil or a.distinct ~= nil then
    return false
  end
  if op == "find_unique" and type(a.where) == "table" then
    -- a unique selector over several fields is no field of its own
    local fields = self._schema.models[self._name].field_map
    for k in pairs(a.where) do
      if k ~= "AND" and k ~= "OR" and k ~= "NOT" and not fields[k] then return false end
    end
  end
  return true
end

-- One level of the plan: its statement appended to stmts (and, for a child
-- level, how its rows go under its parent's in links); nil when the
-- pipelined form does not apply.
local function plan_level(self, op, args, stmts, links, via)
  if args.with_deleted ~= nil then return nil end
  args = lift_count(args)
  local pargs, includes, infos, added = split(self, args)
  local a = pargs or args
  if via then a = shallow(a); a._via = via end -- (a timeout: the batch's, the top level's)
  local codecs = rawget(self, "_codecs")
  local sent = codecs and encode_args(codecs, a) or a
  stmts[#stmts + 1] = { self._name, op, sent }
  local level = { index = #stmts, codecs = codecs, counts = args._count ~= nil, added = added }
  if not includes then return level end
  if not determined(self, op, a) then return nil end
  local cond = { where = sent.where, _via = via }
  local children = {}
  for name, spec in pairs(includes) do
    local info = infos[name]
    if info.kind == "many_to_many" or #info.keys > 1 then return nil end
    local cargs = spec == true and {} or shallow(spec)
    if info.kind ~= "has_many" and (cargs.take or cargs.skip or cargs.order_by) then
      return nil -- refused by the level-by-level path, pointing at the caller
    end
    local sub = plan_level(child_client(self, info.target), "find_many", cargs, stmts, links,
      { model = self._name, relation = name, parent = cond })
    if not sub then return nil end
    links[sub.index] = { level.index, name = name, key = info.keys[1], many = info.kind == "has_many" }
    children[#children + 1] = sub
  end
  level.children = children
  return level
end

-- What the core does not: field codecs, _count folded, keys added only to
-- stitch taken out again; level by level (the rows are stitched already).
local function finish_level(level, rows, results)
  if level.codecs then decode_rows(level.codecs, rows) end
  if level.counts then for _, row in ipairs(rows) do fold(row) end end
  for _, sub in ipairs(level.children or {}) do finish_level(sub, results[sub.index], results) end
  for key in pairs(level.added or {}) do
    for _, row in ipairs(rows) do row[key] = nil end
  end
end

-- The result, and whether the pipelined form applied.
local function load_pipelined(self, op, args, one)
  local stmts, links = {}, {}
  local top = plan_level(self, op, args, stmts, links, nil)
  if not top or not top.children then return nil, false end -- one level: no batch to pipeline
  local results = core.model_batch(self._target, self._schema.core, stmts, links)
  local r = results[1]
  if r == nil then return nil, true end
  finish_level(top, one and { r } or r, results)
  return r, true
end

local function with_relations(self, op, args, one)
  if type(args) ~= "table" or (args.include == nil and args.select == nil and args._count == nil and
      args.relation_load_strategy == nil) then
    return run(self, op, args) -- nothing to stitch: straight to the core
  end
  if join_ops[op] and strategy_of(self, args) == "join" then return load_joined(self, op, args, one) end
  if args.relation_load_strategy == "query" and join_ops[op] then
    args = shallow(args)
    args.relation_load_strategy = nil
  end
  if join_ops[op] then
    local db = rawget(self, "_db")
    if not (db and rawget(db, "_middleware")) then
      local r, done = load_pipelined(self, op, args, one)
      if done then return r end
    end
  end
  args = lift_count(args)
  local counts = args._count ~= nil
  local pargs, includes, infos, added = split(self, args)
  local r = run(self, op, pargs or args)
  if r == nil then return nil end
  local rows = one and { r } or r
  if counts then for _, row in ipairs(rows) do fold(row) end end
  if pargs then load(self, rows, includes, infos, added, args.timeout) end
  return r
end

local impl = {}

-- Nested writes --------------------------------------------------------------
--
-- data may hold relations: { posts = { create = {...} }, author = { connect =
-- { id = 1 } } }. Everything runs in one transaction (the caller's, or a new
-- one), so a failure anywhere leaves nothing written.

local nested_ops = {
  belongs_to = { "create", "connect", "connect_or_create", "disconnect", "update", "upsert" },
  has_one = { "create", "connect", "connect_or_create", "disconnect", "delete", "update", "upsert" },
  has_many = { "create", "create_many", "connect", "connect_or_create", "disconnect", "set", "delete", "delete_many",
    "update", "update_many", "upsert" },
  many_to_many = { "create", "connect", "connect_or_create", "disconnect", "set" },
}

local function nested_error(fmt, ...)
  error(setmetatable({ code = "invalid_argument", message = fmt:format(...) }, core.error_mt), 0)
end

local function list(v)
  if type(v) == "table" and #v > 0 and type(v[1]) == "table" then return v end
  return { v }
end

-- Splits data into plain fields and relation writes.
local function split_data(self, data)
  local names = rawget(self, "_relations")
  local any = false
  for k in pairs(data) do
    if names[k] then any = true; break end
  end
  if not any then return data, nil end -- the usual case: plain fields only
  local plain, rels
  for k, v in pairs(data) do
    local info = type(k) == "string" and names[k] and relation_of(self, k)
    if info then
      if type(v) ~= "table" then nested_error("data %s.%s: expected a table of nested writes", self._name, k) end
      local ok = {}
      for _, o in ipairs(nested_ops[info.kind]) do ok[o] = true end
      for op in pairs(v) do
        if not ok[op] then
          nested_error("data %s.%s: unknown nested write '%s'%s", self._name, k, tostring(op),
            util.did_you_mean(op, nested_ops[info.kind]))
        end
      end
      rels = rels or {}
      rels[k] = { info = info, ops = v }
    else
      plain = plain or {}
      plain[k] = v
    end
  end
  return plain or {}, rels
end

local function in_transaction(self, fn)
  local t = self._target
  if type(t) == "table" then -- a db: a transaction of its own
    return t:transaction(function(tx)
      return fn(function(name) return tx[name] end, tx)
    end)
  end
  return fn(function(name) return M.client(self._schema, name, t, rawget(self, "_db")) end, nil)
end

-- { to[i] = row[from[i]] ... }: the fields to, given the values of the
-- fields from in row; nil when one of them is NULL (a key with a NULL part
-- names no row). One field or several (a composite key).
local function key_map(row, from, to)
  local w = {}
  for i, f in ipairs(from) do
    local v = row[f]
    if v == nil or v == core.null then return nil end
    w[to[i]] = v
  end
  return w
end

-- "(a, b)" for messages
local function names_of(fields) return "(" .. table.concat(fields, ", ") .. ")" end

-- belongs_to writes come first: they give the foreign key's value (every
-- field of it, for a composite key).
local function write_parents(client, self, plain, rels, current)
  for name, r in pairs(rels) do
    local info = r.info
    if info.kind == "belongs_to" then
      local target, ops, row = client(info.target), r.ops, nil
      if ops.update or ops.upsert then
        -- the related row is the one the current foreign key names
        local w = current and key_map(current, info.keys, info.target_keys)
        if ops.update then
          if not w then nested_error("data %s.%s: update needs an existing related row", self._name, name) end
          local u = ops.update
          target:update{ where = w, data = u.data or u }
        else
          local u = ops.upsert
          if w and target:find_unique{ where = w } then target:update{ where = w, data = u.update }
          else row = target:create{ data = u.create } end
        end
      end
      if ops.connect then row = target:find_unique_or_throw{ where = ops.connect }
      elseif ops.create then row = target:create{ data = ops.create }
      elseif ops.connect_or_create then
        local c = ops.connect_or_create
        row = target:find_unique{ where = c.where } or target:create{ data = c.create }
      end
      if ops.disconnect then
        for _, k in ipairs(info.keys) do plain[k] = core.null end
      elseif row then
        local fk = key_map(row, info.target_keys, info.keys)
        if not fk then
          nested_error("data %s.%s: the %s's key %s has a null part: nothing can refer to it", self._name, name,
            info.target, names_of(info.target_keys))
        end
        for k, v in pairs(fk) do plain[k] = v end
      end
      rels[name] = nil
    end
  end
end

-- Then the children, once the parent row (and its key) exists.
local function write_children(client, self, parent, rels, creating)
  for name, r in pairs(rels) do
    local info, ops = r.info, r.ops
    local target = client(info.target)
    -- this parent's key as the target's fields: { post_id = 7 }, or every
    -- field of a composite key; nil when a part of the key is NULL
    local key = key_map(parent, info.keys, info.target_keys)
    local function need_key()
      if not key then
        nested_error("data %s.%s: this %s's key %s has a null part: no row can be linked to it", self._name, name,
          self._name, names_of(info.keys))
      end
      return key
    end
    if info.kind == "many_to_many" then
      if info.through then nested_error("data %s.%s: nested writes through an explicit model: write the join model", self._name, name) end
      -- implicit: single-field keys on both sides
      local tk = info.target_keys[1]
      local function key_of(row) return row[tk] end
      local me = client(self._name)
      local from = need_key()[tk]
      local function link(to) core.model_query(me._target, me._schema.core, self._name, "link", { _relation = name, from = from, to = to }) end
      if ops.set then
        core.model_query(me._target, me._schema.core, self._name, "unlink", { _relation = name, from = from })
        for _, w in ipairs(list(ops.set)) do link(key_of(target:find_unique_or_throw{ where = w })) end
      end
      if ops.disconnect then
        for _, w in ipairs(list(ops.disconnect)) do
          local row = target:find_unique{ where = w }
          if row then core.model_query(me._target, me._schema.core, self._name, "unlink", { _relation = name, from = from, to = key_of(row) }) end
        end
      end
      for _, d in ipairs(ops.create and list(ops.create) or {}) do link(key_of(target:create{ data = d })) end
      for _, w in ipairs(ops.connect and list(ops.connect) or {}) do link(key_of(target:find_unique_or_throw{ where = w })) end
      for _, c in ipairs(ops.connect_or_create and list(ops.connect_or_create) or {}) do
        link(key_of(target:find_unique{ where = c.where } or target:create{ data = c.create }))
      end
    else -- has_one / has_many: the child holds the foreign key (target_keys)
      local function with_key(d)
        local c = {}
        for k, v in pairs(d) do c[k] = v end
        for k, v in pairs(need_key()) do c[k] = v end
        return c
      end
      local unlinked = {}
      for _, tk in ipairs(info.target_keys) do unlinked[tk] = core.null end
      -- this parent's children (none, when its key has a NULL part), and
      -- those of them that match w
      local mine_only = key or { OR = {} }
      local function mine(w) return w and { AND = { w, mine_only } } or mine_only end
      if ops.set then
        target:update_many{ where = mine(nil), data = unlinked }
        for _, w in ipairs(list(ops.set)) do target:update{ where = w, data = need_key() } end
      end
      if ops.disconnect then
        if info.kind == "has_one" then
          target:update_many{ where = mine(nil), data = unlinked }
        else
          for _, w in ipairs(list(ops.disconnect)) do target:update_many{ where = mine(w), data = unlinked } end
        end
      end
      if ops.delete then
        if info.kind == "has_one" then target:delete_many{ where = mine(nil) }
        else for _, w in ipairs(list(ops.delete)) do target:delete_many{ where = mine(w) } end end
      end
      if ops.delete_many then
        for _, w in ipairs(list(ops.delete_many)) do target:delete_many{ where = mine(w) } end
      end
      for _, d in ipairs(ops.create and list(ops.create) or {}) do target:create{ data = with_key(d) } end
      if ops.create_many then
        local rows = {}
        for i, d in ipairs(ops.create_many.data or {}) do rows[i] = with_key(d) end
        target:create_many{ data = rows, skip_duplicates = ops.create_many.skip_duplicates }
      end
      for _, w in ipairs(ops.connect and list(ops.connect) or {}) do
        target:update{ where = w, data = need_key() }
      end
      for _, c in ipairs(ops.connect_or_create and list(ops.connect_or_create) or {}) do
        if target:find_unique{ where = c.where } then target:update{ where = c.where, data = need_key() }
        else target:create{ data = with_key(c.create) } end
      end
      -- update, update_many and upsert touch only this parent's children
      if ops.update then
        if info.kind == "has_one" then
          local u = ops.update
          target:update_many{ where = mine(nil), data = u.data or u }
        else
          for _, u in ipairs(list(ops.update)) do
            if not u.where or not u.data then nested_error("data %s.%s: update takes { where =, data = }", self._name, name) end
            target:update_many{ where = mine(u.where), data = u.data }
          end
        end
      end
      for _, u in ipairs(ops.update_many and list(ops.update_many) or {}) do
        target:update_many{ where = mine(u.where), data = u.data }
      end
      for _, u in ipairs(ops.upsert and list(ops.upsert) or {}) do
        if not u.create or not u.update then nested_error("data %s.%s: upsert takes { where =, create =, update = }", self._name, name) end
        local w = info.kind == "has_one" and mine(nil) or mine(u.where)
        if target:count{ where = w } > 0 then target:update_many{ where = w, data = u.update }
        else target:create{ data = with_key(u.create) } end
      end
    end
  end
end

local function result_args(args, where)
  return { where = where, select = args.select, include = args.include, omit = args.omit }
end

local function nested_create(self, args)
  local plain, rels = split_data(self, args.data)
  if not rels then return nil end
  return in_transaction(self, function(client)
    write_parents(client, self, plain, rels)
    local me = client(self._name)
    local row = run(me, "create", { data = plain })
    for name, r in pairs(rels) do
      write_children(client, self, row, { [name] = r }, true)
    end
    if args.select or args.include or args.omit then
      return me:find_unique(result_args(args, pk_where(self, row)))
    end
    return row
  end)
end

local function nested_update(self, args)
  local plain, rels = split_data(self, args.data)
  if not rels then return nil end
  return in_transaction(self, function(client)
    local me = client(self._name)
    local current
    for _, r in pairs(rels) do
      if r.info.kind == "belongs_to" and (r.ops.update or r.ops.upsert) then
        current = run(me, "find_unique", { where = args.where })
        if not current then error(not_found(self._name, "update"), 0) end
        break
      end
    end
    write_parents(client, self, plain, rels, current)
    local row
    if next(plain) then row = run(me, "update", { where = args.where, data = plain })
    else row = run(me, "find_unique", { where = args.where }) end
    if not row then error(not_found(self._name, "update"), 0) end
    for name, r in pairs(rels) do
      write_children(client, self, row, { [name] = r }, false)
    end
    return me:find_unique(result_args(args, pk_where(self, row)))
  end)
end

function impl.find_many(self, args) return with_relations(self, "find_many", args, false) end
function impl.find_first(self, args) return with_relations(self, "find_first", args, true) end
-- Batching find_unique (Prisma's dataloader) ---------------------------------
--
-- Inside coroutines, lookups by the same single unique field of the same
-- model, made before the loop next polls, become one statement:
-- `where field IN (...)`, one round trip for a thousand coroutines. Only
-- the plainest shape is merged (a where of one integer or text field, nothing
-- else: no select, include, omit or codec), against a db (not inside a
-- transaction, whose one connection takes one statement at a time).

local async = require "tide.async"
local batch_types = { smallint = true, integer = true, bigint = true, smallserial = true, serial = true,
  bigserial = true, text = true, varchar = true }
local batches = {}   -- target -> model and field -> { client =, field =, values = {}, slots = {} }
local nbatches = 0

-- The field a where looks up by, when the call can join a batch.
local isyieldable = coroutine.isyieldable

local function batch_field(self, args)
  -- outside a coroutine (the common, blocking case) this is the only cost
  if not isyieldable() then return nil end
  if type(args) ~= "table" or type(self._target) ~= "table" or rawget(self, "_codecs") then return nil end
  local where = args.where
  if type(where) ~= "table" or next(args, next(args)) ~= nil then return nil end -- where alone
  local field, value = next(where)
  if field == nil or next(where, field) ~= nil then return nil end
  local vt = math.type(value) == "integer" and "integer" or type(value)
  if vt ~= "integer" and vt ~= "string" then return nil end
  local m = self._schema.models[self._name]
  local info = m._batch_fields
  if not info then
    info = {}
    local pk = pk_fields(self)
    for _, f in ipairs(m.fields) do
      local unique = f.unique or (#pk == 1 and pk[1] == f.name)
      if unique and batch_types[f.type] and not f.omit and (f.array_dims or 0) == 0 then
        info[f.name] = (f.type == "text" or f.type == "varchar") and "string" or "integer"
      end
    end
    m._batch_fields = info
  end
  if info[field] ~= vt or not core.will_yield() then return nil end
  return field, value
end

local function run_batch(b)
  local ok, rows = pcall(run, b.client, "find_many", { where = { [b.field] = { in_ = b.values } } })
  local by_value = {}
  if ok then for _, row in ipairs(rows) do by_value[row[b.field]] = row end end
  for i, slot in ipairs(b.slots) do
    if ok then
      slot.row = by_value[b.values[i]]
    elseif #b.values == 1 then
      slot.err = rows
    else
      -- one bad value fails the merged statement: each lookup alone, so
      -- every caller gets its own answer
      local one_ok, row = pcall(run, b.client, "find_unique", { where = { [b.field] = b.values[i] } })
      if one_ok then slot.row = row else slot.err = row end
    end
    slot.done = true
    async.wake(slot.co)
  end
end

-- Called by the loop before it next looks at anything.
core.set_flush(function()
  local list = batches
  batches, nbatches = {}, 0
  for _, per_target in pairs(list) do
    for _, b in pairs(per_target) do async.spawn(run_batch, b) end
  end
end)

local function batched(self, field, value)
  local key = self._name .. "\0" .. field
  local targets = batches[self._target]
  if not targets then
    targets = {}
    batches[self._target] = targets
  end
  local b = targets[key]
  if not b then
    b = { client = self, field = field, values = {}, slots = {} }
    targets[key] = b
    nbatches = nbatches + 1
    if nbatches == 1 then core.request_flush() end
  end
  local slot = { co = coroutine.running() }
  b.values[#b.values + 1] = value
  b.slots[#b.slots + 1] = slot
  repeat coroutine.yield(async.pending) until slot.done
  if slot.err then error(slot.err, 0) end
  return slot.row
end

function impl.find_unique(self, args)
  local field, value = batch_field(self, args)
  if field then return batched(self, field, value) end
  return with_relations(self, "find_unique", args, true)
end
function impl.count(self, args) return run(self, "count", args) end

function impl.aggregate(self, args)
  local r = run(self, "aggregate", args)
  return r and fold(r)
end

function impl.group_by(self, args)
  local rows = run(self, "group_by", args)
  for _, r in ipairs(rows) do fold(r) end
  return rows
end
function impl.create(self, args)
  args = with_defaults(self, args)
  if type(args) == "table" and type(args.data) == "table" then
    local r = nested_create(self, args)
    if r ~= nil then return r end
  end
  return with_relations(self, "create", args, true)
end
function impl.update(self, args)
  if type(args) == "table" and type(args.data) == "table" then
    local r = nested_update(self, args)
    if r ~= nil then return r end
  end
  return with_relations(self, "update", args, true)
end
function impl.update_many(self, args) return run(self, "update_many", args) end
function impl.update_many_and_return(self, args) return run(self, "update_many_and_return", args) end
function impl.delete(self, args) return with_relations(self, "delete", args, true) end
function impl.delete_many(self, args) return run(self, "delete_many", args) end

-- create_many: rows grouped by the fields they set (a field left out takes
-- its default, so rows that set different fields cannot share a statement),
-- each group sent as one column list per field.
local function create_many(self, op, args)
  if type(args) ~= "table" or type(args.data) ~= "table" then
    error(("bad argument #1 to '%s' (table with data = { rows... } expected)"):format(op), 3)
  end
  local groups, order = {}, {}
  local has_defaults = rawget(self, "_defaults") ~= nil
  -- rows usually set the same fields: each row goes into the previous row's
  -- group in one pass over its fields, undone when its fields differ
  local last, columns, nkeys, at
  for i, row in ipairs(args.data) do
    if type(row) ~= "table" then error(("%s: data[%d] is not a table"):format(op, i), 3) end
    if has_defaults then row = with_defaults(self, { data = row }).data end
    local n = -1
    if last then
      n = 0
      at = last.n + 1
      for k, v in pairs(row) do
        local col = columns[k]
        if not col then n = -1; break end
        col[at] = v
        n = n + 1
      end
      if n ~= nkeys then
        for _, k in ipairs(last.keys) do columns[k][at] = nil end
        n = -1
      end
    end
    if n < 0 then
      local keys = {}
      for k in pairs(row) do
        if type(k) ~= "string" then error(("%s: data[%d] has a %s key"):format(op, i, type(k)), 3) end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      local sig = table.concat(keys, ",")
      local g = groups[sig]
      if not g then
        g = { keys = keys, columns = {}, n = 0 }
        for _, k in ipairs(keys) do g.columns[k] = setmetatable({}, core.values_mt) end
        groups[sig] = g
        order[#order + 1] = g
      end
      last, columns, nkeys, at = g, g.columns, #g.keys, g.n + 1
      for k, v in pairs(row) do columns[k][at] = v end
    end
    last.n = at
  end
  -- the other options go to the core as given, which checks them (a
  -- misspelt skip_duplicates must not be dropped and the rows written)
  local opts = {}
  for k, v in pairs(args) do
    if k ~= "data" and k ~= "include" then opts[k] = v end
  end
  local total, rows = 0, {}
  for _, g in ipairs(order) do
    if #g.keys == 0 then
      error(("%s: a row sets no field (use create for a row of defaults)"):format(op), 3)
    end
    opts.columns = g.columns
    local r = run(self, op, opts)
    if op == "create_many" then total = total + r else for _, x in ipairs(r) do rows[#rows + 1] = x end end
  end
  if op == "create_many" then return total end
  return rows
end

function impl.create_many(self, args) return create_many(self, "create_many", args) end
function impl.create_many_and_return(self, args) return create_many(self, "create_many_and_return", args) end
function impl.upsert(self, args)
  local a = args
  if type(args) == "table" and type(args.create) == "table" then
    a = shallow(args)
    a.create = with_defaults(self, { data = args.create }).data
  end
  return with_relations(self, "upsert", a, true)
end

-- Streaming: find_many_iter{ ... } and the chain's :iter() --------------------
--
-- find_many's statement run inside a server-side cursor (tide/cursor.lua),
-- its rows read as find_many reads them, a batch at a time. An include is
-- loaded with the "join" strategy whatever the db's default: each FETCH
-- brings its rows with their relations, so a batch is one statement however
-- deep the include (the "query" strategy would need one more per relation
-- and batch, outside the cursor's snapshot).

local cursor = require "tide.cursor"

function impl.find_many_iter(self, args)
  if args == nil then args = {} end
  if type(args) ~= "table" then
    error(("bad argument #1 to 'find_many_iter' (table expected, got %s)"):format(type(args)), 3)
  end
  if args.relation_load_strategy == "query" then
    error(setmetatable({ code = "invalid_argument", message = "find_many_iter loads include with the 'join' " ..
      "strategy (one statement per batch of rows): relation_load_strategy = 'query' is not available here" },
      core.error_mt), 3)
  end
  local a, plan, drop = join_args(self._schema, self._name, args, true)
  local codecs = rawget(self, "_codecs")
  if codecs then a = encode_args(codecs, a) end
  local sql, n, values = core.model_sql(self._schema.core, self._name, "find_many", a)
  local counts = a._count ~= nil
  local each
  if codecs or counts or plan or drop then
    local schema = self._schema
    each = function(rows)
      if codecs then decode_rows(codecs, rows) end
      if counts then for _, row in ipairs(rows) do fold(row) end end
      if plan then read_joined(schema, plan, rows) end
      if drop then
        for _, row in ipairs(rows) do for _, f in ipairs(drop) do row[f] = nil end end
      end
    end
  end
  local _, _, _, it = cursor.iter(self._target, sql, each, table.unpack(values, 1, n))
  return it -- one value, callable: what a middleware's next() returns
end

-- Reads and single-row writes with nothing for Lua to do (no middleware,
-- codecs, client defaults, relations to stitch or nested writes) go straight
-- to the core: the common case, and the hot path of a point lookup.
local direct = { find_many = true, find_first = true, find_unique = true, count = true, update = true,
  delete = true, create = true }

local function plain_args(self, op, args)
  if args == nil then return true end
  if type(args) ~= "table" or args.include ~= nil or args.select ~= nil or args._count ~= nil or
      args.relation_load_strategy ~= nil then return false end
  local data = args.data
  if data ~= nil then
    if type(data) ~= "table" then return false end
    local names = rawget(self, "_relations")
    for k in pairs(data) do if names[k] then return false end end
    if op == "create" and rawget(self, "_defaults") then return false end
  end
  return true
end

for op, fn in pairs(impl) do
  if direct[op] then
    methods[op] = function(self, args)
      local db = rawget(self, "_db")
      if not (db and rawget(db, "_middleware")) and not rawget(self, "_codecs") and plain_args(self, op, args) then
        if op == "find_unique" then
          local field, value = batch_field(self, args)
          if field then return batched(self, field, value) end
        end
        return core.model_query(self._target, self._schema.core, self._name, op, args)
      end
      return dispatch(self, op, args, fn)
    end
  else
    methods[op] = function(self, args) return dispatch(self, op, args, fn) end
  end
end

--- for row in db.Post:find_many_iter{ where = ..., include = ... } do ... end:
--- find_many's rows, read a batch at a time (see above).
function methods:find_many_iter(args)
  local it = dispatch(self, "find_many_iter", args, impl.find_many_iter)
  return it, nil, nil, it
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
--- A find with include shows the one statement of the "join" strategy.
function methods:to_sql(op, args)
  args = args or {}
  if join_ops[op] and type(args) == "table" then args = (join_args(self._schema, self._name, args, true)) end
  local sql, n = core.model_sql(self._schema.core, self._name, op, args)
  return sql, n
end

-- The fluent chain builds the same argument table as the table form ----------

local Chain = {} -- the steps and ends; an unknown name is refused with the nearest
local chain_mt = { __index = Chain, __name = "tide.chain" }
setmetatable(Chain, { __index = function(_, key)
  local names = {}
  for k in pairs(Chain) do names[#names + 1] = k end
  table.sort(names)
  error(("a chain has no step '%s'%s"):format(tostring(key), util.did_you_mean(key, names)), 2)
end })

local function chain(model)
  return setmetatable({ _model = model, _args = {} }, chain_mt)
end

local function merge_where(a, w)
  if a.where then a.where = { AND = { a.where, w } } else a.where = w end
end

function Chain:where(w) merge_where(self._args, w); return self end

--- order_by("id", "desc") or order_by{ id = "desc" }; calls add up in order.
function Chain:order_by(field, dir)
  local item = type(field) == "table" and field or { [field] = dir or "asc" }
  local o = self._args.order_by or {}
  o[#o + 1] = item
  self._args.order_by = o
  return self
end

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

-- include("author", "tags") or include{ comments = { take = 5 } }; calls
-- add up (level: where a wrong argument is reported)
local function add_include(c, level, ...)
  local inc = {}
  for k, v in pairs(c._args.include or {}) do inc[k] = v end
  local s = ...
  if type(s) == "table" then
    for k, v in pairs(s) do inc[k] = v end
  else
    for i, name in ipairs({ ... }) do
      if type(name) ~= "string" then
        error(("bad argument #%d to 'include' (relation names or a table expected, got %s)"):format(i, type(name)),
          level)
      end
      inc[name] = true
    end
  end
  c._args.include = inc
  return c
end
function Chain:include(...) return (add_include(self, 3, ...)) end
function methods:include(...) return (add_include(chain(self), 3, ...)) end

--- omit("password_hash") or omit{ password_hash = true }
function Chain:omit(...)
  local o = ...
  if type(o) ~= "table" then
    o = {}
    for _, f in ipairs({ ... }) do o[f] = true end
  end
  self._args.omit = o
  return self
end

--- cursor{ id = 10 }: start at that row (with order_by and, usually, offset(1))
function Chain:cursor(w) self._args.cursor = w; return self end
--- distinct("author_id") or distinct{ "author_id", "published" }
function Chain:distinct(...)
  local d = ...
  self._args.distinct = type(d) == "table" and d or { ... }
  return self
end
--- with_deleted(): soft-deleted rows too
function Chain:with_deleted() self._args.with_deleted = true; return self end

-- each step on a model client starts a chain (include, above, too)
for _, step in ipairs { "where", "order_by", "select", "limit", "offset", "omit", "cursor", "distinct",
  "with_deleted" } do
  methods[step] = function(self, ...)
    local c = chain(self)
    return c[step](c, ...)
  end
end

function Chain:all() return self._model:find_many(self._args) end
function Chain:first()
  local a = {}
  for k, v in pairs(self._args) do if k ~= "take" then a[k] = v end end
  return self._model:find_first(a)
end
function Chain:one() return self._model:find_unique(self._args) end
function Chain:iter() return self._model:find_many_iter(self._args) end
function Chain:count()
  local a = self._args
  return self._model:count({ where = a.where, take = a.take, skip = a.skip, with_deleted = a.with_deleted })
end
function Chain:exists()
  local a = self._args
  return self._model:find_first({ where = a.where, select = self._model:_key_select(),
    with_deleted = a.with_deleted }) ~= nil
end
function Chain:update(data)
  return self._model:update_many({ where = self._args.where, data = data, with_deleted = self._args.with_deleted })
end
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
function M.client(schema, name, target, db)
  local decl = schema.models[name]
  local meta = decl._client_meta -- once per model: a transaction makes clients often
  if not meta then
    meta = {}
    for _, f in ipairs(decl.fields) do
      if f.default_fn then
        meta.defaults = meta.defaults or {}
        meta.defaults[f.name] = f.default_fn
      end
      if f.codec then
        meta.codecs = meta.codecs or {}
        meta.codecs[f.name] = f.codec
      end
    end
    meta.relations = {}
    for _, r in ipairs(decl.relations) do
      if r.name then meta.relations[r.name] = true end
    end
    decl._client_meta = meta
  end
  return setmetatable({ _schema = schema, _name = name, _target = target, _defaults = meta.defaults, _db = db,
    _codecs = meta.codecs, _relations = meta.relations }, Model)
end

local byte = string.byte

--- db.User / tx.User: the model client for a schema model, or an error that
--- names the nearest model.
function M.lookup(schema, owner, target, key, db)
  if not schema or type(key) ~= "string" then return nil end
  local b = byte(key, 1) -- "^%u" without a pattern match: a transaction looks its clients up anew
  if not b or b < 65 or b > 90 then return nil end
  if schema.models[key] then
    local c = M.client(schema, key, target, db)
    rawset(owner, key, c)
    return c
  end
  local names = {}
  for n in pairs(schema.models) do names[#names + 1] = n end
  table.sort(names)
  error(("unknown model '%s'%s"):format(key, util.did_you_mean(key, names)), 3)
end

return M
