-- The SQL-like builder (Drizzle's shape):
--
--   local P, U = schema.Post, schema.User
--   db:select{ id = P.id, title = P.title, author = U.name }
--     :from(P):inner_join(U, P.author_id:eq(U.id))
--     :where(tide.and_(P.published:eq(true), P.title:ilike "%lua%"))
--     :order_by(tide.desc(P.id)):limit(20):all()
--
-- Every call here only builds a tree (its grammar is in core/include/tide/
-- sql.h): expressions are small tables whose metatable marks them as the
-- builder's own nodes, values sit in { k = "val", v = value } nodes, names
-- come from the schema. A terminal (all, first, one, exec, to_sql, prepare)
-- hands the tree to the C core once (core.builder_run), which checks every
-- name, compiles the statement or finds it by shape, binds the values and
-- runs it on the db's pool or the transaction's connection.
local core = require "tide.core"
local util = require "tide.util"

local M = {}

local NODE = core.builder_node_key -- "__tide_node": the C side reads it
local null = core.null

local Expr = { [NODE] = true, __name = "tide.expr" }
local Order = { [NODE] = true, __name = "tide.order" }
local Node = { [NODE] = true, __name = "tide.node" } -- structure with no methods
local Table = { __name = "tide.table" }             -- schema.User, tide.alias(...)
local Source = { __name = "tide.source" }           -- query:as "name", tide.cte "name"
local Placeholder = { [NODE] = true, __name = "tide.placeholder" }

local cursor = require "tide.cursor"

local colinfo = setmetatable({}, { __mode = "k" })  -- column node -> field definition
local tinfo = setmetatable({}, { __mode = "k" })    -- Table/Source -> { node, decl, name }

local function node(t) return setmetatable(t, Node) end
local function expr(t) return setmetatable(t, Expr) end

local function bad(level, fmt, ...)
  error(fmt:format(...), level + 1)
end

local Query -- the classes of statements, below
local function is_query(x) local mt = getmetatable(x); return mt and mt.__query end

-- Values -------------------------------------------------------------------------

local raw_meta
local function raw_mt() -- tide.raw's (tide/schema.lua requires this module)
  if not raw_meta then raw_meta = require("tide.schema").Raw end
  return raw_meta
end

local json_types = { json = true, jsonb = true }

local function describe(x)
  local mt = getmetatable(x)
  if mt == Table then return "a table (" .. tinfo[x].decl.name .. ")" end
  if mt == Source then return "a subquery source (" .. tinfo[x].name .. ")" end
  if type(x) == "table" and rawget(x, "_schema") and rawget(x, "_name") then
    return "the model client db." .. x._name .. " (the builder takes schema." .. x._name .. ")"
  end
  return "a " .. type(x)
end

-- x as an expression. near: a column it is compared with (its codec encodes
-- x; its type says whether a Lua table is a value there).
local function to_expr(x, near, what, level)
  level = (level or 1) + 1
  local mt = getmetatable(x)
  if mt == Expr or mt == Placeholder then return x end
  local tx = type(x)
  if tx == "string" or tx == "number" or tx == "boolean" or x == null then
    local f = near and colinfo[near]
    if f and f.codec and f.codec.encode and x ~= null then x = f.codec.encode(x) end
    return expr({ k = "val", v = x })
  end
  if mt and mt.__query then return expr({ k = "sub", q = x.t }) end
  if mt ~= nil and mt == raw_mt() then return expr({ k = "raw", t = x.sql }) end
  if tx == "table" and (mt == nil or mt == core.array_mt or mt == core.values_mt) then
    local f = near and colinfo[near]
    if f and (f.codec or json_types[f.type] or (f.array_dims or 0) > 0) then
      if f.codec and f.codec.encode then x = f.codec.encode(x) end
      if (f.array_dims or 0) > 0 and (f.type == "enum" or f.type == "custom") then
        -- the core sends it as text[], cast to the column's type
        return expr({ k = "val", v = x, m = f._model, f = f.name })
      end
      return expr({ k = "val", v = x })
    end
    if f then
      bad(level, "bad argument to '%s' (a table where a value of %s.%s (%s) is expected)", what, f._model, f.name,
        f.type)
    end
    bad(level, "bad argument to '%s' (a table where a value is expected: compare with a column of a json or " ..
      "array type, or use in_list for lists)", what)
  end
  if x == nil then bad(level, "bad argument to '%s' (a value or an expression expected, got nil; " ..
    "use tide.null for NULL)", what) end
  bad(level, "bad argument to '%s' (cannot use %s as a value)", what, describe(x))
end
M.to_expr = to_expr

-- Operators --------------------------------------------------------------------------

local function is_column(x) return colinfo[x] ~= nil end

local function compare(o)
  return function(a, b)
    local what = o
    if getmetatable(a) ~= Expr then a = to_expr(a, nil, what, 2) end
    local near = is_column(a) and a or nil
    if b == null and (o == "eq" or o == "ne") then
      return expr({ k = o == "eq" and "is_null" or "is_not_null", e = a })
    end
    b = to_expr(b, near, what, 2)
    if not near and is_column(b) and getmetatable(a) == Expr and a.k == "val" then
      local f = colinfo[b] -- a value on the left of a codec column
      if f.codec and f.codec.encode and a.v ~= null then a = expr({ k = "val", v = f.codec.encode(a.v) }) end
    end
    return expr({ k = "cmp", o = o, l = a, r = b })
  end
end

local ops = {}
for _, o in ipairs { "eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "not_like", "not_ilike", "contains",
  "contained", "overlaps" } do
  ops[o] = compare(o)
end
-- tide.contains is the array operator @>; arrays: contains, contained, overlaps

local function list_value(list, near, what)
  if getmetatable(list) == Placeholder then return list end
  if is_query(list) then return nil end
  if type(list) ~= "table" or getmetatable(list) ~= nil and getmetatable(list) ~= core.array_mt then
    bad(3, "bad argument #2 to '%s' (a list of values, a placeholder or a query expected, got %s)", what,
      describe(list))
  end
  local f = near and colinfo[near]
  local enc = f and f.codec and f.codec.encode
  local n = #list
  local out = setmetatable({}, core.array_mt) -- an empty list is [] (matches nothing)
  for i = 1, n do
    local v = list[i]
    if type(v) == "table" and v ~= null then
      bad(3, "bad argument #2 to '%s' (element %d is %s: a list of plain values expected)", what, i, describe(v))
    end
    out[i] = enc and v ~= null and enc(v) or v
  end
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      bad(3, "bad argument #2 to '%s' (a list expected: it has the key %s)", what, tostring(k))
    end
  end
  return expr({ k = "val", v = out })
end

local function in_op(k, what)
  return function(a, list)
    a = to_expr(a, nil, what, 2)
    if is_query(list) then return expr({ k = k, e = a, q = list.t }) end
    return expr({ k = k, e = a, r = list_value(list, is_column(a) and a, what) })
  end
end
ops.in_list = in_op("in", "in_list")
ops.not_in_list = in_op("not_in", "not_in_list")

function ops.is_null(a) return expr({ k = "is_null", e = to_expr(a, nil, "is_null", 2) }) end
function ops.is_not_null(a) return expr({ k = "is_not_null", e = to_expr(a, nil, "is_not_null", 2) }) end

local function between(k)
  return function(a, lo, hi)
    a = to_expr(a, nil, k, 2)
    local near = is_column(a) and a or nil
    return expr({ k = k, e = a, lo = to_expr(lo, near, k, 2), up = to_expr(hi, near, k, 2) })
  end
end
ops.between = between("between")
ops.not_between = between("not_between")

local function logic(k)
  return function(...)
    local n = select("#", ...)
    local parts, m = { ... }, 0 -- made at its size; nil parts squeezed out in place
    for i = 1, n do
      local p = parts[i]
      if p ~= nil then
        if getmetatable(p) ~= Expr then
          bad(2, "bad argument #%d to '%s_' (a condition expected, got %s)", i, k, describe(p))
        end
        m = m + 1
        parts[m] = p
      end
    end
    for i = m + 1, n do parts[i] = nil end
    if m == 0 then return nil end
    if m == 1 then return parts[1] end
    return expr({ k = k, x = node(parts) })
  end
end
ops.and_ = logic("and")
ops.or_ = logic("or")

function ops.not_(e)
  if getmetatable(e) ~= Expr then bad(2, "bad argument #1 to 'not_' (a condition expected, got %s)", describe(e)) end
  return expr({ k = "not", e = e })
end

local function exists(k)
  return function(q)
    if not is_query(q) then bad(2, "bad argument #1 to '%s' (a query expected, got %s)", k, describe(q)) end
    return expr({ k = k, q = q.t })
  end
end
ops.exists = exists("exists")
ops.not_exists = exists("not_exists")

local function aggregate(f)
  return function(e)
    if e == nil then
      if f ~= "count" then bad(2, "bad argument #1 to '%s' (a column or an expression expected)", f) end
      return expr({ k = "agg", f = f })
    end
    return expr({ k = "agg", f = f, e = to_expr(e, nil, f, 2) })
  end
end
for _, f in ipairs { "count", "count_distinct", "sum", "avg", "min", "max" } do ops[f] = aggregate(f) end

local nulls_names = { first = true, last = true }
local function order(k)
  return function(e, nulls)
    if nulls ~= nil and not nulls_names[nulls] then
      bad(2, "bad argument #2 to '%s' (nulls: 'first' or 'last', got %s)", k, tostring(nulls))
    end
    return setmetatable({ k = k, e = to_expr(e, nil, k, 2), nulls = nulls }, Order)
  end
end
ops.asc = order("asc")
ops.desc = order("desc")
Order.__index = {
  nulls_first = function(self) self.nulls = "first"; return self end,
  nulls_last = function(self) self.nulls = "last"; return self end,
}

--- tide.sql("lower(?) = ?", User.email, value): the text is the programmer's
--- own; each ? takes the next argument (a column, an expression, or a value,
--- which is bound); ?? is a literal ?.
function ops.sql(text, ...)
  if type(text) ~= "string" then bad(2, "bad argument #1 to 'sql' (the SQL text expected, got %s)", type(text)) end
  local parts, n, i, buf = {}, select("#", ...), 0, {}
  local pos = 1
  while true do
    local q = text:find("?", pos, true)
    if not q then break end
    if text:sub(q + 1, q + 1) == "?" then
      buf[#buf + 1] = text:sub(pos, q)
      pos = q + 2
    else
      buf[#buf + 1] = text:sub(pos, q - 1)
      i = i + 1
      if i > n then bad(2, "bad argument to 'sql' (%d ? marks but %d arguments)", i, n) end
      local s = table.concat(buf)
      if s ~= "" then parts[#parts + 1] = node({ t = s }) end
      buf = {}
      local a = select(i, ...)
      if getmetatable(a) == Table then bad(2, "bad argument #%d to 'sql' (%s: pass a column)", i + 1, describe(a)) end
      parts[#parts + 1] = node({ e = to_expr(a, nil, "sql", 2) })
      pos = q + 1
    end
  end
  if i ~= n then bad(2, "bad argument to 'sql' (%d ? marks but %d arguments)", i, n) end
  buf[#buf + 1] = text:sub(pos)
  local s = table.concat(buf)
  if s ~= "" then parts[#parts + 1] = node({ t = s }) end
  return expr({ k = "sql", p = node(parts) })
end

--- A named placeholder, bound when a prepared query runs: q:all{ id = 5 }.
function ops.placeholder(name)
  if type(name) ~= "string" or name == "" then
    bad(2, "bad argument #1 to 'placeholder' (a name expected, got %s)", type(name))
  end
  return setmetatable({ k = "ph", v = name }, Placeholder)
end

--- The value proposed for insertion, in on_conflict_do_update's set.
function ops.excluded(col)
  local f = colinfo[col]
  if not f then bad(2, "bad argument #1 to 'excluded' (a model's column expected, got %s)", describe(col)) end
  return expr({ k = "excluded", m = col.m, f = col.f })
end

-- Column methods: P.id:eq(1), P.title:ilike "%x%", P.views:sum(), P.id:desc()
local methods = {}
for _, o in ipairs { "eq", "ne", "gt", "gte", "lt", "lte", "like", "ilike", "not_like", "not_ilike", "contains",
  "contained", "overlaps", "in_list", "not_in_list", "is_null", "is_not_null", "between", "not_between",
  "count", "count_distinct", "sum", "avg", "min", "max", "asc", "desc", "and_", "or_" } do
  methods[o] = ops[o]
end
function methods.not_(e) return ops.not_(e) end
function methods.and_(...) return ops.and_(...) end
function methods.or_(...) return ops.or_(...) end
-- a table, not a function: P.id:eq is two table lookups, no call
Expr.__index = methods
Placeholder.__index = methods
setmetatable(methods, { __index = function(_, key)
  local names = {}
  for k in pairs(methods) do names[#names + 1] = k end
  table.sort(names)
  bad(2, "an expression has no method '%s'%s", tostring(key), util.did_you_mean(key, names))
end })
for k, v in pairs(ops) do M[k] = v end

-- Tables and sources ------------------------------------------------------------------

local function model_list(schema)
  local names = {}
  for n in pairs(schema.models) do names[#names + 1] = n end
  table.sort(names)
  return names
end

local function field_names(decl)
  local names = {}
  for _, f in ipairs(decl.fields) do names[#names + 1] = f.name end
  return names
end

Table.__index = function(self, key)
  local info = tinfo[self]
  bad(2, "unknown field '%s' on %s%s", tostring(key), info.decl.name, util.did_you_mean(key, field_names(info.decl)))
end
Table.__newindex = function() bad(2, "a table's columns are read-only") end
Table.__tostring = function(self)
  local i = tinfo[self]
  return ("tide.table(%s%s)"):format(i.decl.name, i.alias and (" as " .. i.alias) or "")
end

local function new_table(decl, alias)
  local t = {}
  for _, f in ipairs(decl.fields) do
    local c = expr({ k = "col", m = decl.name, f = f.name, a = alias })
    if not f._model then f._model = decl.name end
    colinfo[c] = f
    rawset(t, f.name, c)
  end
  tinfo[t] = { decl = decl, alias = alias, name = alias or decl.table or decl.name,
    node = node({ k = "table", m = decl.name, a = alias }) }
  return setmetatable(t, Table)
end

--- schema.User: the model's columns as typed references (cached per schema).
function M.table_ref(schema, key)
  local decl = schema.models[key]
  if not decl then
    if type(key) == "string" and key:match("^%u") then
      bad(3, "unknown model '%s'%s", key, util.did_you_mean(key, model_list(schema)))
    end
    return nil
  end
  local t = new_table(decl)
  rawset(schema, key, t)
  return t
end

--- tide.alias(User, "parent"): the same table under another name, for
--- self-joins.
function M.alias(tbl, name)
  local info = tinfo[tbl]
  if getmetatable(tbl) ~= Table then bad(2, "bad argument #1 to 'alias' (a table expected, got %s)", describe(tbl)) end
  if type(name) ~= "string" then bad(2, "bad argument #2 to 'alias' (a name expected, got %s)", type(name)) end
  return new_table(info.decl, name)
end

Source.__index = function(self, key)
  if type(key) ~= "string" then bad(2, "a column name expected, got %s", type(key)) end
  local info = tinfo[self]
  local c = expr({ k = "ref", a = info.name, n = key })
  rawset(self, key, c)
  return c
end

local function new_source(name, n, q)
  local s = setmetatable({}, Source)
  tinfo[s] = { name = name, node = n, query = q }
  return s
end

--- tide.cte "tree": a CTE (or any relation) by name; its columns by any
--- name: tree.id. For WITH RECURSIVE, where the query refers to itself.
function M.cte(name)
  if type(name) ~= "string" then bad(2, "bad argument #1 to 'cte' (a name expected, got %s)", type(name)) end
  return new_source(name, node({ k = "cte", n = name }))
end

local function source_node(x, what, level)
  local mt = getmetatable(x)
  if mt == Table or mt == Source then return tinfo[x].node, tinfo[x] end
  if mt and mt.__query then
    bad(level + 1, "bad argument #1 to '%s' (a subquery needs a name: query:as \"name\")", what)
  end
  bad(level + 1, "bad argument #1 to '%s' (a table, tide.alias, query:as(name) or tide.cte expected, got %s)", what,
    describe(x))
end

-- Select lists ----------------------------------------------------------------------

-- { alias = column | expression | value | schema.Table | { nested } } -> cols
local function flatten(cols, out, prefix, what, level)
  for k, v in pairs(cols) do
    if type(k) ~= "string" then bad(level + 1, "bad argument #1 to '%s' (output names are strings)", what) end
    local name = prefix and (prefix .. "." .. k) or k
    local mt = getmetatable(v)
    if mt == Table then
      local i = tinfo[v]
      out[name] = node({ k = "star", m = i.decl.name, a = i.alias })
    elseif mt == nil and type(v) == "table" then
      flatten(v, out, name, what, level + 1)
    elseif mt == Source then
      bad(level + 1, "bad argument #1 to '%s' (%s: name its columns)", what, describe(v))
    else
      out[name] = mt == Expr and v or to_expr(v, nil, what, level + 1)
    end
  end
  return out
end

-- Result rows: nesting ("a.b" keys) and codecs ------------------------------------------------

local function nest(rows)
  for i, row in ipairs(rows) do
    local out = {}
    for k, v in pairs(row) do
      local t, start = out, 1
      while true do
        local dot = k:find(".", start, true)
        if not dot then break end
        local part = k:sub(start, dot - 1)
        local sub = t[part]
        if not sub then sub = {}; t[part] = sub end
        t, start = sub, dot + 1
      end
      t[k:sub(start)] = v
    end
    rows[i] = out
  end
end

-- The codecs that decode a result's columns: { { path..., decode } }
local function decoders(t, schema, sources)
  local list = {}
  local function add_model(decl, prefix)
    for _, f in ipairs(decl.fields) do
      if f.codec and f.codec.decode and not f.omit then
        list[#list + 1] = { prefix and (prefix .. "." .. f.name) or f.name, f.codec.decode }
      end
    end
  end
  local function add_cols(cols)
    for alias, e in pairs(cols) do
      local f = colinfo[e]
      if f and f.codec and f.codec.decode then list[#list + 1] = { alias, f.codec.decode } end
      if getmetatable(e) == Node and e.k == "star" then add_model(schema.models[e.m], alias) end
    end
  end
  if t.k == "select" and t.cols then add_cols(t.cols)
  elseif t.ret then add_cols(t.ret)
  elseif t.ret_all then add_model(schema.models[t.m])
  elseif t.k == "select" and sources then
    local nested = #sources > 1
    for _, s in ipairs(sources) do
      if s.decl then add_model(s.decl, nested and s.name or nil) end
    end
  end
  for _, d in ipairs(list) do
    local path = {}
    for part in d[1]:gmatch("[^.]+") do path[#path + 1] = part end
    d.path = path
  end
  return list
end

local function decode(rows, list)
  for _, row in ipairs(rows) do
    for _, d in ipairs(list) do
      local t, path = row, d.path
      for i = 1, #path - 1 do
        t = t[path[i]]
        if t == nil then break end
      end
      local key = path[#path]
      if t ~= nil and t[key] ~= nil then t[key] = d[2](t[key]) end
    end
  end
end

-- Statements ---------------------------------------------------------------------------

local Select = { __query = true, __name = "tide.select" }
Select.__index = Select
local SetOp = { __query = true, __name = "tide.setop" }
SetOp.__index = SetOp
local Insert = { __query = true, __name = "tide.insert" }
Insert.__index = Insert
local Update = { __query = true, __name = "tide.update" }
Update.__index = Update
local Delete = { __query = true, __name = "tide.delete" }
Delete.__index = Delete
local Prepared = { __name = "tide.prepared" }
Prepared.__index = Prepared
Query = { Select, SetOp, Insert, Update, Delete }

-- the tree of a statement, with what Lua keeps beside it (not sent):
-- _schema (the Lua schema) and _sources (for select() of every field)
-- (the nil fields size the table for what the statement adds: no rehash)
local function new_query(class, root, t, schema)
  return setmetatable({ t = t, _root = root, _schema = schema, _sources = nil, _dec = nil }, class)
end

-- The root a statement starts from: a db, a transaction, or db:with(...)
local function target_of(root)
  return root.target, root.db
end

local empty_schema -- for a db without one: the cache lives on a schema
local function schema_of(db)
  local s = db.schema
  if s then return s, s.core end
  if not empty_schema then
    local schema = require "tide.schema"
    empty_schema = schema.new():finish()
  end
  return empty_schema, empty_schema.core
end

local function start(root, class, t)
  local q = new_query(class, root, t, (schema_of(root.db)))
  local w = rawget(root, "_with")
  if w then
    t.with = w
    if rawget(root, "_recursive") then t.recursive = true end
  end
  return q
end

-- Terminals, shared by every statement ------------------------------------------------

-- whether any field of the schema has a codec (once per schema)
local function has_codecs(schema)
  local h = rawget(schema, "_has_codecs")
  if h == nil then
    h = false
    for _, m in pairs(schema.models) do
      for _, f in ipairs(m.fields) do if f.codec then h = true end end
    end
    rawset(schema, "_has_codecs", h)
  end
  return h
end

-- The runtime guard: an update or delete with no where changes every row
-- of its table, which is nearly always a mistake; :all_rows() says it is not.
local function guard(q, level)
  local k = q.t.k
  if (k == "update" or k == "delete") and q.t.where == nil and not q._all_rows then
    local e = { code = "invalid_argument",
      message = ("%s of %s without where would change every row: add :where(...), or :all_rows() to mean it")
        :format(k, q.t.m) }
    error(setmetatable(e, core.error_mt), level + 1)
  end
end

local shape
-- Reads to replicas: tide/replicas.lua sets M.route(db, fn, ...), which runs
-- fn(handle, ...) on a replica's handle (or on the primary's when none is
-- up). A statement goes there when it only reads: a select or set
-- operation that locks no rows and has no writing CTE. (A select calling a
-- writing function is not seen: db:primary() is the way out, as for raw SQL.)
local function reads(t)
  if t.k == "setop" then return reads(t.l) and reads(t.r) end
  if t.k ~= "select" or t.lock then return false end
  for _, c in ipairs(t.with or {}) do
    if not reads(c.q) then return false end
  end
  return true
end

-- fn(target, ...), on a replica when target is a db with replicas and the
-- statement t only reads
local function routed(target, t, fn, ...)
  if type(target) == "table" and rawget(target, "_replicas") and reads(t) then return M.route(target, fn, ...) end
  return fn(target, ...)
end

local function run(q, mode)
  guard(q, 3)
  local target, db = target_of(q._root)
  local _, sc = schema_of(db)
  local cfg = rawget(db, "_report") -- slow queries and large results (tide/report.lua)
  local t0 = cfg and core.now()
  local timeout = q._timeout
  if timeout == nil and type(target) == "table" then timeout = rawget(target, "_timeout") end
  local r, nested = routed(target, q.t, core.builder_run, sc, q.t, mode, timeout)
  if cfg then
    require("tide.report").check(cfg, function() return (core.builder_compile(sc, q.t)) end, t0, r)
  end
  return shape(q, r, mode, nested)
end

-- What core.builder_run or a batch gave, as :all() / :first() / :exec() return it.
shape = function(q, r, mode, nested)
  if mode == "exec" then return r end
  if mode == "one" then
    if r == nil then return nil end
    r = { r }
  end
  if nested then nest(r) end
  if has_codecs(q._schema) then
    local list = q._dec
    if list == nil then
      list = decoders(q.t, q._schema, q._sources)
      q._dec = list
    end
    if #list > 0 then decode(r, list) end
  end
  if mode == "one" then return r[1] end
  return r
end

-- one(): the only row, or not_found / too_many_rows (level 2: one() tail-calls this, so its caller).
local function only_row(rows)
  if #rows ~= 1 then
    local e = { code = #rows == 0 and "not_found" or "too_many_rows",
      message = ("one: %d rows, one expected"):format(#rows) }
    error(setmetatable(e, core.error_mt), 2)
  end
  return rows[1]
end

local function terminals(class)
  --- Every row (a list of tables keyed by output name; NULLs absent).
  function class:all() return run(self, "rows") end
  --- The first row, or nil.
  function class:first() return run(self, "one") end
  --- The only row: raises not_found when there is none, too_many_rows when
  --- there are more.
  function class:one() return only_row(run(self, "rows")) end
  --- Runs the statement; the number of rows it affected (or returned).
  function class:exec() return run(self, "exec") end
  --- A deadline of this statement's own, in seconds: past it the server
  --- cancels it (query_canceled); the connection stays usable.
  function class:timeout(seconds)
    local ms, why = core.timeout_ms(seconds)
    if not ms then bad(2, "bad argument #1 to 'timeout' (%s)", why) end
    self._timeout = seconds
    return self
  end
  --- The SQL and its parameters (a list; a placeholder's is tide.placeholder
  --- "name"), without running anything.
  function class:to_sql()
    local _, sc = schema_of(self._root.db)
    local sql, values, phs = core.builder_compile(sc, self.t)
    for i, name in pairs(phs) do values[i] = ops.placeholder(name) end
    return sql, values
  end
  --- Compiles once: p:all{ name = value, ... } runs it with the values of
  --- its placeholders, as a prepared statement.
  function class:prepare()
    guard(self, 2)
    local _, sc = schema_of(self._root.db)
    local sql, values, phs, nested = core.builder_compile(sc, self.t)
    local n = 0
    for i in pairs(values) do if i > n then n = i end end
    for i in pairs(phs) do if i > n then n = i end end
    local dec = has_codecs(self._schema) and decoders(self.t, self._schema, self._sources) or {}
    return setmetatable({ sql = sql, values = values, phs = phs, n = n, nested = nested, dec = dec,
      root = self._root, t = self.t }, Prepared)
  end
  --- A named subquery: a source for from and joins (its columns: sq.name),
  --- and a CTE for db:with.
  function class:as(name)
    if type(name) ~= "string" then bad(2, "bad argument #1 to 'as' (a name expected, got %s)", type(name)) end
    return new_source(name, node({ k = "sub", q = self.t, a = name }), self)
  end
end

-- Select -------------------------------------------------------------------------------

local function new_select(root, cols, extra)
  local t = { k = "select", cols = nil, from = nil, joins = nil, where = nil, order = nil, limit = nil } -- sized
  if cols ~= nil then
    if type(cols) ~= "table" or getmetatable(cols) ~= nil then
      bad(3, "bad argument #1 to 'select' (a table of output names and columns expected, got %s)", describe(cols))
    end
    if next(cols) ~= nil then t.cols = node(flatten(cols, {}, nil, "select", 3)) end
  end
  if extra then for k, v in pairs(extra) do t[k] = v end end
  local q = start(root, Select, t)
  q._sources = {}
  return q
end

-- a query:as(name) source whose name the statement has in WITH is the CTE
local function in_with(self, n, info)
  local w = self.t.with
  if info and info.query and w then
    for _, c in ipairs(w) do
      if c.n == info.name then return node({ k = "cte", n = info.name }) end
    end
  end
  return n
end

function Select:from(src)
  local n, info = source_node(src, "from", 2)
  n = in_with(self, n, info)
  self.t.from = n
  table.insert(self._sources, 1, info)
  return self
end

local function add_join(self, j, src, on, lateral, what)
  local n, info = source_node(src, what, 3)
  n = in_with(self, n, info)
  if lateral and getmetatable(src) ~= Source then
    bad(3, "bad argument #1 to '%s' (a lateral join takes query:as \"name\")", what)
  end
  local jn = node({ j = j, s = n, lateral = lateral or nil })
  if j ~= "cross" then
    if getmetatable(on) ~= Expr then bad(3, "bad argument #2 to '%s' (a condition expected, got %s)", what, describe(on)) end
    jn.on = on
  elseif on ~= nil then
    bad(3, "bad argument #2 to '%s' (a cross join takes no condition)", what)
  end
  local js = self.t.joins
  if not js then js = node({}); self.t.joins = js end
  js[#js + 1] = jn
  self._sources[#self._sources + 1] = info
  return self
end

for _, j in ipairs { "inner", "left", "right", "full" } do
  Select[j .. "_join"] = function(self, src, on) return add_join(self, j, src, on, false, j .. "_join") end
end
function Select:cross_join(src) return add_join(self, "cross", src, nil, false, "cross_join") end
function Select:inner_join_lateral(src, on) return add_join(self, "inner", src, on, true, "inner_join_lateral") end
function Select:left_join_lateral(src, on) return add_join(self, "left", src, on, true, "left_join_lateral") end
function Select:cross_join_lateral(src) return add_join(self, "cross", src, nil, true, "cross_join_lateral") end

-- where(a):where(b) is where(and_(a, b)); where(nil) adds nothing
local function add_where(self, e, what)
  if e == nil then return self end
  if getmetatable(e) ~= Expr then bad(3, "bad argument #1 to '%s' (a condition expected, got %s)", what, describe(e)) end
  local w = self.t.where
  self.t.where = w and ops.and_(w, e) or e
  return self
end

function Select:where(e) return add_where(self, e, "where") end
function Select:having(e)
  if e == nil then return self end
  if getmetatable(e) ~= Expr then bad(2, "bad argument #1 to 'having' (a condition expected, got %s)", describe(e)) end
  self.t.having = self.t.having and ops.and_(self.t.having, e) or e
  return self
end

function Select:group_by(...)
  local g = self.t.group or node({})
  for i = 1, select("#", ...) do g[#g + 1] = to_expr(select(i, ...), nil, "group_by", 2) end
  self.t.group = g
  return self
end

-- order_by(P.id, tide.desc(P.created_at), "alias"): calls add up
local function add_order(self, ...)
  local o = self.t.order or node({})
  for i = 1, select("#", ...) do
    local x = select(i, ...)
    if getmetatable(x) == Order then o[#o + 1] = x
    elseif type(x) == "string" then o[#o + 1] = expr({ k = "name", n = x })
    else o[#o + 1] = to_expr(x, nil, "order_by", 3) end
  end
  self.t.order = o
  return self
end

local function paging(class)
  function class:order_by(...) return add_order(self, ...) end
  function class:limit(n)
    self.t.limit = to_expr(n, nil, "limit", 2)
    return self
  end
  function class:offset(n)
    self.t.offset = to_expr(n, nil, "offset", 2)
    return self
  end
end
paging(Select)
paging(SetOp)

local lock_options = { nowait = "boolean", skip_locked = "boolean", of = "table" }
local function locking(s, what)
  return function(self, opts)
    local l = node({ s = s })
    for k, v in pairs(opts or {}) do
      if lock_options[k] == nil then
        bad(2, "bad argument #1 to '%s' (unknown option '%s'%s)", what, tostring(k), util.did_you_mean(k, lock_options))
      end
    end
    opts = opts or {}
    if opts.nowait and opts.skip_locked then bad(2, "bad argument #1 to '%s' (nowait or skip_locked, not both)", what) end
    l.wait = opts.nowait and "nowait" or opts.skip_locked and "skip_locked" or nil
    if opts.of then
      local of = getmetatable(opts.of) == Table and { opts.of } or opts.of
      local names = node({})
      for i, x in ipairs(of) do
        if getmetatable(x) ~= Table then bad(2, "bad argument #1 to '%s' (of: tables, got %s)", what, describe(x)) end
        names[i] = tinfo[x].name
      end
      l.of = names
    end
    self.t.lock = l
    return self
  end
end
Select.for_update = locking("update", "for_update")
Select.for_no_key_update = locking("no_key_update", "for_no_key_update")
Select.for_share = locking("share", "for_share")
Select.for_key_share = locking("key_share", "for_key_share")

-- Set operations: q1:union(q2), and chains of them
local function set_ops(class)
  for _, o in ipairs { "union", "union_all", "intersect", "intersect_all", "except", "except_all" } do
    class[o] = function(self, other)
      if not is_query(other) then bad(2, "bad argument #1 to '%s' (a query expected, got %s)", o, describe(other)) end
      return new_query(SetOp, self._root, { k = "setop", o = o, l = self.t, r = other.t }, self._schema)
    end
  end
end
set_ops(Select)
set_ops(SetOp)
terminals(Select)
terminals(SetOp)

-- Insert, update, delete --------------------------------------------------------------------

local function table_info(tbl, what)
  if getmetatable(tbl) ~= Table then bad(3, "bad argument #1 to '%s' (a table expected, got %s)", what, describe(tbl)) end
  return tinfo[tbl]
end

-- a value for field name of decl, through its codec
local function field_value(tbl, name, v, what)
  local c = rawget(tbl, name)
  if v == null then return expr({ k = "val", v = null }) end
  return to_expr(v, c, what, 3)
end

local function returning(self, cols)
  if cols == nil then
    self.t.ret_all = true
  else
    self.t.ret = node(flatten(cols, {}, nil, "returning", 2))
  end
  return self
end

--- values{ field = value, ... } or values{ { ... }, { ... } }
function Insert:values(rows)
  if type(rows) ~= "table" then bad(2, "bad argument #1 to 'values' (a row or a list of rows expected)") end
  if rows[1] == nil then rows = { rows } end
  local names, seen = {}, {}
  for i, row in ipairs(rows) do
    if type(row) ~= "table" or getmetatable(row) ~= nil then
      bad(2, "bad argument #1 to 'values' (row %d is a %s, not a table of fields)", i, describe(row))
    end
    for k in pairs(row) do
      if type(k) ~= "string" then bad(2, "bad argument #1 to 'values' (row %d has a %s key)", i, type(k)) end
      if not seen[k] then seen[k] = true; names[#names + 1] = k end
    end
  end
  table.sort(names)
  local out = node({})
  for i, row in ipairs(rows) do
    local r = node({})
    for j, name in ipairs(names) do
      local v = row[name]
      r[j] = v == nil and node({ k = "default" }) or field_value(self._tbl, name, v, "values")
    end
    out[i] = r
  end
  self.t.cols, self.t.rows, self.t.sel = node(names), out, nil
  return self
end

--- insert ... select: the query's output names are the fields to fill.
function Insert:select(q)
  if not is_query(q) then bad(2, "bad argument #1 to 'select' (a query expected, got %s)", describe(q)) end
  local names = {}
  if q.t.cols then
    for k in pairs(q.t.cols) do names[#names + 1] = k end
    table.sort(names)
  end
  self.t.cols, self.t.sel, self.t.rows = node(names), q.t, nil
  return self
end

local function target_fields(x, what)
  local list = node({})
  if x == nil then return nil end
  local cols = (getmetatable(x) == Expr) and { x } or x
  for i, c in ipairs(cols) do
    if not is_column(c) then bad(3, "bad argument #1 to '%s' (target: columns, got %s)", what, describe(c)) end
    list[i] = c.f
  end
  return list
end

function Insert:on_conflict_do_nothing(opts)
  opts = opts or {}
  self.t.conflict = node({ act = "nothing", target = target_fields(opts.target, "on_conflict_do_nothing"),
    target_where = opts.target_where })
  return self
end

local function set_node(self, set, what)
  if type(set) ~= "table" or getmetatable(set) ~= nil then
    bad(3, "bad argument #1 to '%s' (a table of fields and values expected)", what)
  end
  local s = {}
  for k, v in pairs(set) do
    if type(k) ~= "string" then bad(3, "bad argument #1 to '%s' (field names are strings)", what) end
    s[k] = field_value(self._tbl, k, v, what)
  end
  if next(s) == nil then bad(3, "bad argument #1 to '%s' (nothing to set)", what) end
  return node(s)
end

function Insert:on_conflict_do_update(opts)
  if type(opts) ~= "table" or opts.target == nil or opts.set == nil then
    bad(2, "bad argument #1 to 'on_conflict_do_update' ({ target = column(s), set = { ... }, where = ... } expected)")
  end
  if opts.where ~= nil and getmetatable(opts.where) ~= Expr then
    bad(2, "bad argument #1 to 'on_conflict_do_update' (where: a condition)")
  end
  self.t.conflict = node({ act = "update", target = target_fields(opts.target, "on_conflict_do_update"),
    set = set_node(self, opts.set, "on_conflict_do_update"), where = opts.where, target_where = opts.target_where })
  return self
end

Insert.returning = returning
Update.returning = returning
Delete.returning = returning

function Update:set(set)
  self.t.set = set_node(self, set, "set")
  return self
end

function Update:from(src)
  local n, info = source_node(src, "from", 2)
  self.t.from = in_with(self, n, info)
  return self
end

function Update:where(e) return add_where(self, e, "where") end
function Delete:where(e) return add_where(self, e, "where") end
--- Allows an update or delete without where (every row of the table).
function Update:all_rows() self._all_rows = true; return self end
function Delete:all_rows() self._all_rows = true; return self end
terminals(Insert)
terminals(Update)
terminals(Delete)

-- Prepared queries ------------------------------------------------------------------------

local function bind(p, args, what)
  if args ~= nil and type(args) ~= "table" then
    bad(3, "bad argument #1 to '%s' (a table of placeholder values expected, got %s)", what, type(args))
  end
  local params = {}
  for i = 1, p.n do
    local name = p.phs[i]
    if name then
      local v = args and args[name]
      if v == nil then bad(3, "bad argument #1 to '%s' (no value for placeholder '%s')", what, name) end
      params[i] = v
    else
      params[i] = p.values[i]
    end
  end
  return params
end

local function run_prepared(p, mode, args, what)
  local params = bind(p, args, what)
  local root = p.root
  local target = root.target
  local r
  if type(target) == "table" then
    -- a db: its pool's C methods take the db table
    local pm = core.pool_methods
    if mode == "exec" then return (pm.exec(target, p.sql, table.unpack(params, 1, p.n))) end
    r = routed(target, p.t, mode == "one" and pm.one or pm.query, p.sql, table.unpack(params, 1, p.n))
  else
    if mode == "exec" then return (target:exec(p.sql, table.unpack(params, 1, p.n))) end
    r = (mode == "one" and target.one or target.query)(target, p.sql, table.unpack(params, 1, p.n))
  end
  if mode == "one" then
    if r == nil then return nil end
    r = { r }
  end
  if p.nested then nest(r) end
  if #p.dec > 0 then decode(r, p.dec) end
  if mode == "one" then return r[1] end
  return r
end

function Prepared:all(args) return run_prepared(self, "rows", args, "all") end
function Prepared:first(args) return run_prepared(self, "one", args, "first") end
function Prepared:exec(args) return run_prepared(self, "exec", args, "exec") end
function Prepared:one(args) return only_row(run_prepared(self, "rows", args, "one")) end
--- for row in p:iter{ name = value } do ... end: the rows read a batch at a
--- time through a server-side cursor (tide/cursor.lua), nested and decoded
--- as all() gives them.
function Prepared:iter(args)
  local k = self.t.k
  if k ~= "select" and k ~= "setop" then
    bad(2, "iter: only a select streams (a cursor runs a query); an %s gives its rows with returning() and all()", k)
  end
  local params = bind(self, args, "iter")
  local nested, dec = self.nested, self.dec
  local each
  if nested or #dec > 0 then
    each = function(rows)
      if nested then nest(rows) end
      if #dec > 0 then decode(rows, dec) end
    end
  end
  return routed(self.root.target, self.t, cursor.iter, self.sql, each, table.unpack(params, 1, self.n))
end

function Prepared:to_sql()
  local values = {}
  for i = 1, self.n do values[i] = self.phs[i] and ops.placeholder(self.phs[i]) or self.values[i] end
  return self.sql, values
end

--- for row in q:iter() do ... end: as p:iter() of the prepared query.
local function iter(self) return self:prepare():iter() end
for _, class in ipairs(Query) do class.iter = iter end

-- Roots: db:select(...), tx:select(...), db:with(...):select(...) ---------------------------

local Root = { __name = "tide.builder" }
Root.__index = Root

--- root: { target = db table or connection, db = the db }
function M.root(target, db)
  return setmetatable({ target = target, db = db }, Root)
end

function Root:select(cols) return new_select(self, cols) end
function Root:select_distinct(cols) return new_select(self, cols, { distinct = true }) end
function Root:select_distinct_on(on, cols)
  local list = node({})
  local items = (type(on) == "table" and getmetatable(on) == nil) and on or { on }
  for i, e in ipairs(items) do list[i] = to_expr(e, nil, "select_distinct_on", 2) end
  if #list == 0 then bad(2, "bad argument #1 to 'select_distinct_on' (columns expected)") end
  return new_select(self, cols, { on = list })
end

local function writer(class, k, what)
  return function(self, tbl)
    local info = table_info(tbl, what)
    local q = start(self, class, { k = k, m = info.decl.name })
    q._tbl = tbl
    return q
  end
end
Root.insert = writer(Insert, "insert", "insert")
Root.update = writer(Update, "update", "update")
Root.delete = writer(Delete, "delete", "delete")

local function add_with(self, recursive, name, q, what)
  local list = {}
  for i, c in ipairs(rawget(self, "_with") or {}) do list[i] = c end
  if getmetatable(name) == Source and q == nil then
    local info = tinfo[name]
    if not info.query then bad(3, "bad argument #1 to '%s' (a named query expected)", what) end
    name, q = info.name, info.query
  end
  if type(name) ~= "string" then bad(3, "bad argument #1 to '%s' (a name expected, got %s)", what, describe(name)) end
  if not is_query(q) then bad(3, "bad argument #2 to '%s' (a query expected, got %s)", what, describe(q)) end
  list[#list + 1] = node({ n = name, q = q.t })
  return setmetatable({ target = self.target, db = self.db, _with = node(list),
    _recursive = rawget(self, "_recursive") or recursive }, Root)
end

--- db:with("name", query) or db:with(query:as "name"); refer to it with
--- tide.cte "name" (or the query:as source itself).
function Root:with(name, q) return add_with(self, false, name, q, "with") end
function Root:with_recursive(name, q) return add_with(self, true, name, q, "with_recursive") end

--- Installs db:select ... on a class of handles: fn(self) -> target, db.
--- A handle's root is made once (statements only read it).
local roots = setmetatable({}, { __mode = "k" })
function M.install(class, resolve)
  for _, name in ipairs { "select", "select_distinct", "select_distinct_on", "insert", "update", "delete", "with",
    "with_recursive" } do
    local f = Root[name]
    class[name] = function(self, ...)
      local target, db = resolve(self)
      local root = roots[self]
      if not root or root.target ~= target or root.db ~= db then
        root = setmetatable({ target = target, db = db }, Root)
        roots[self] = root
      end
      return f(root, ...)
    end
  end
end

--- For db:batch (tide/batch.lua): the statement q as an item of core.batch
--- (its SQL, mode and values), and the function that shapes its result
--- as the terminal for mode would.
function M.batch_item(q, mode, level)
  guard(q, level + 1)
  local _, sc = schema_of(q._root.db)
  local sql, values, phs, nested = core.builder_compile(sc, q.t)
  if next(phs) then
    bad(level + 1, "a query with placeholders (tide.placeholder) cannot go in a batch")
  end
  local n = 0
  for i in pairs(values) do if i > n then n = i end end
  local item = { sql, mode = mode, n = n }
  for i = 1, n do item[i + 1] = values[i] end
  return item, function(r) return shape(q, r, mode, nested) end
end
M.is_query = is_query

--- Lua builder tests look here.
M._decoders = decoders

return M
