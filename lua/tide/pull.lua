-- tide db pull: a live database written as a Lua schema in tide's DSL.
--
-- The database is read with the introspection query the diff uses (one
-- catalog, see core/sql/catalog_json.c), and each object is written back
-- as the DSL declares it: enums, sequences and functions, then one model
-- per table (named from the table, with `table =` saying the real name),
-- its columns with their types, defaults, identity and generated
-- expressions, keys, unique and check constraints, indexes, foreign keys
-- as belongs_to relations, row-level security and policies; views; then
-- triggers. Names the DDL would give anyway are left out, others are kept,
-- so that pushing the result to the same database finds nothing to change.
local core = require "tide.core"
local migrate = require "tide.migrate"

local M = {}

local function present(v)
  if v == nil or v == core.null or v == "" then return nil end
  return v
end

local function q(s) return ("%q"):format(s) end

local lua_keywords = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return then " ..
  "true until while"):gmatch("%a+") do lua_keywords[w] = true end

-- "order_items" -> "OrderItem"
local function model_name(table_name, taken)
  local singular = table_name:gsub("ies$", "y"):gsub("([^s])s$", "%1")
  local name = singular:gsub("^%l", string.upper):gsub("_(%w)", string.upper):gsub("[^%w]", "")
  if name == "" or name:match("^%d") then name = "T" .. name end
  local base, n = name, 1
  while taken[name] do n = n + 1; name = base .. n end
  taken[name] = true
  return name
end

local function lua_ident(s, taken)
  local name = s:gsub("[^%w_]", "_")
  if name:match("^%d") or lua_keywords[name] then name = "_" .. name end
  local base, n = name, 1
  while taken[name] do n = n + 1; name = base .. "_" .. n end
  taken[name] = true
  return name
end

local simple_types = {
  smallint = "smallint", integer = "integer", bigint = "bigint", real = "real", ["double precision"] = "double",
  numeric = "numeric", text = "text", boolean = "boolean", bytea = "bytea", uuid = "uuid", date = "date",
  interval = "interval", json = "json", jsonb = "jsonb", inet = "inet", cidr = "cidr", tsvector = "tsvector",
  ["timestamp with time zone"] = "timestamptz", ["timestamp without time zone"] = "timestamp",
  ["time with time zone"] = "timetz", ["time without time zone"] = "time",
}
local serials = { smallint = "smallserial", integer = "serial", bigint = "bigserial" }

-- The field constructor for a column: 't.text "name"', 'Role "role"', ...
local function constructor(col, enums)
  local ty, array = col.type, false
  if ty:sub(-2) == "[]" then ty, array = ty:sub(1, -3), true end
  local name = q(col.name)
  local out
  if col.serial and serials[ty] and not array then
    out = ("t.%s %s"):format(serials[ty], name)
  elseif enums[ty] then
    out = ("%s %s"):format(enums[ty], name)
  elseif simple_types[ty] then
    out = ("t.%s %s"):format(simple_types[ty], name)
  else
    local n = ty:match("^character varying%((%d+)%)$")
    local c = ty:match("^character%((%d+)%)$")
    local p, s = ty:match("^numeric%((%d+),(%d+)%)$")
    local tp, zone = ty:match("^timestamp%((%d)%) with(o?u?t?) time zone$")
    local tm, tzone = ty:match("^time%((%d)%) with(o?u?t?) time zone$")
    if n then out = ("t.varchar(%s) %s"):format(n, name)
    elseif c then out = ("t.char(%s) %s"):format(c, name)
    elseif p then out = ("t.numeric(%s, %s) %s"):format(p, s, name)
    elseif tp then out = ("t.%s(%s) %s"):format(zone == "" and "timestamptz" or "timestamp", tp, name)
    elseif tm then out = ("t.%s(%s) %s"):format(tzone == "" and "timetz" or "time", tm, name)
    else out = ("t.custom(%s) %s"):format(q(ty), name) end
  end
  return out .. (array and " :array()" or "")
end

-- A default as the DSL writes it.
local function default_of(expr, sequences)
  if expr == "now()" or expr == "CURRENT_TIMESTAMP" then return "tide.now" end
  if expr == "gen_random_uuid()" then return "tide.uuid" end
  if expr == "true" or expr == "false" then return expr end
  if expr:match("^%-?%d+$") or expr:match("^%-?%d+%.%d+$") then return expr end
  local num = expr:match("^%(?'?(%-?%d+%.?%d*)'?%)?::[%w ]+$")
  if num then return num end
  local seq = expr:match("^nextval%('([^']+)'::regclass%)$")
  if seq and sequences[seq] then return ("tide.nextval %s"):format(q(seq)) end
  local str = expr:match("^'([^']*)'::[%w_ .\"]+$")
  if str then return q(str) end
  return ("tide.raw %s"):format(q(expr))
end

local actions = { r = "restrict", c = "cascade", n = "set_null", d = "set_default" }

local function list(names)
  local out = {}
  for i, n in ipairs(names) do out[i] = q(n) end
  return table.concat(out, ", ")
end

--- The catalog of db's database as a Lua table.
function M.catalog(db)
  return core.json_decode(migrate.introspect(db))
end

--- The Lua source of a schema declaring what db's database holds.
function M.lua(db)
  local cat = M.catalog(db)
  local out = { "-- Written by tide db pull: the database's tables as tide's schema DSL.\n",
    'local tide = require "tide"\nlocal t = tide.types\n\nlocal schema = tide.schema()\n' }
  local function add(fmt, ...) out[#out + 1] = fmt:format(...) end
  local taken_idents = { tide = true, t = true, schema = true }
  local enums = {}
  if #(cat.enums or {}) > 0 then add("\n") end
  for _, e in ipairs(cat.enums or {}) do
    local key = present(e.schema) and (e.schema .. "." .. e.name) or e.name
    local var = lua_ident(e.name:gsub("^%l", string.upper):gsub("_(%w)", string.upper), taken_idents)
    enums[key] = var
    local opts = present(e.schema) and (", { schema = %s }"):format(q(e.schema)) or ""
    add("local %s = schema:enum(%s, { %s }%s)\n", var, q(e.name), list(e.values), opts)
  end
  local sequences = {}
  for _, s in ipairs(cat.sequences or {}) do
    sequences[present(s.schema) and (s.schema .. "." .. s.name) or s.name] = true
    local opts = { ("start = %d"):format(s.start), ("increment = %d"):format(s.increment),
      ("min = %d"):format(s.min), ("max = %d"):format(s.max), ("cache = %d"):format(s.cache) }
    if s.cycle then opts[#opts + 1] = "cycle = true" end
    if present(s.schema) then opts[#opts + 1] = ("schema = %s"):format(q(s.schema)) end
    add("schema:sequence(%s, { %s })\n", q(s.name), table.concat(opts, ", "))
  end
  local functions = {}
  for _, f in ipairs(cat.functions or {}) do
    local var = lua_ident(f.name, taken_idents)
    functions[(present(f.schema) or "") .. "." .. f.name] = var
    local opts = { ("name = %s"):format(q(f.name)) }
    if present(f.schema) then opts[#opts + 1] = ("schema = %s"):format(q(f.schema)) end
    if present(f.args) then opts[#opts + 1] = ("args = %s"):format(q(f.args)) end
    opts[#opts + 1] = ("returns = %s"):format(q(f.returns))
    opts[#opts + 1] = ("language = %s"):format(q(f.language))
    if f.volatility ~= "v" then
      opts[#opts + 1] = ("volatility = %s"):format(f.volatility == "s" and '"stable"' or '"immutable"')
    end
    opts[#opts + 1] = ("body = %s"):format(q(f.body))
    add("local %s = schema:func { %s }\n", var, table.concat(opts, ", "))
  end
  -- model names first: foreign keys name their targets
  local taken_models, names = {}, {}
  local function key_of(schema, name) return (present(schema) or "") .. "." .. name end
  for _, tb in ipairs(cat.tables) do names[key_of(tb.schema, tb.name)] = model_name(tb.name, taken_models) end
  local function pk_of(tb)
    for _, c in ipairs(tb.constraints) do if c.kind == "p" then return c end end
  end
  for _, tb in ipairs(cat.tables) do
    local view = tb.kind ~= "t"
    add('\nschema:%s %s {\n  table = %s,\n', view and "view" or "model", q(names[key_of(tb.schema, tb.name)]),
      q(tb.name))
    if present(tb.schema) then add("  schema = %s,\n", q(tb.schema)) end
    if view then
      add("  sql = %s,\n", q(tb.view_sql))
      if tb.kind == "m" then add("  materialized = true,\n") end
      if tb.kind == "m" and not tb.with_data then add("  with_data = false,\n") end
    end
    local pk = pk_of(tb)
    local single_pk = pk and #pk.columns == 1 and pk.name == tb.name .. "_pkey" and pk.columns[1]
    local unique_col = {} -- one-column unique constraints with the name the DDL gives: :unique()
    for _, c in ipairs(tb.constraints) do
      if c.kind == "u" and #c.columns == 1 and c.name == tb.name .. "_" .. c.columns[1] .. "_key"
        and not c.nulls_not_distinct then
        unique_col[c.columns[1]] = c
      end
    end
    for _, col in ipairs(tb.columns) do
      local f = { "  " .. constructor(col, enums) }
      if col.name == single_pk then f[#f + 1] = ":primary()" end
      if unique_col[col.name] then f[#f + 1] = ":unique()" end
      if not col.not_null and not view then f[#f + 1] = ":nullable()" end
      local d = present(col.default)
      if d and not col.serial then f[#f + 1] = (":default(%s)"):format(default_of(d, sequences)) end
      if present(col.identity) then f[#f + 1] = (":identity %s"):format(col.identity == "a" and '"always"' or '"by_default"') end
      if present(col.generated) then f[#f + 1] = (":generated %s"):format(q(col.generated)) end
      add("%s,\n", table.concat(f, " "))
    end
    local relation_names = {}
    for _, col in ipairs(tb.columns) do relation_names[col.name] = true end
    for _, c in ipairs(tb.constraints) do
      local default_name = tb.name .. "_" .. table.concat(c.columns, "_") .. "_" ..
        ({ p = "pkey", u = "key", c = "check", f = "fkey" })[c.kind]
      local name = c.name ~= default_name and (", name = %s"):format(q(c.name)) or ""
      if c.kind == "p" and not single_pk then
        add("  tide.primary_key { %s%s },\n", list(c.columns), c.name ~= tb.name .. "_pkey" and (", name = %s"):format(q(c.name)) or "")
      elseif c.kind == "u" and not unique_col[c.columns[1]] then
        add("  tide.unique { %s%s%s },\n", list(c.columns), name, c.nulls_not_distinct and ", nulls_not_distinct = true" or "")
      elseif c.kind == "c" then
        add("  tide.check(%s, %s),\n", q(c.name), q(c.expr))
      elseif c.kind == "f" then
        local target = names[key_of(c.ref_schema, c.ref_table)]
        local rel = #c.columns == 1 and c.columns[1]:match("^(.+)_id$") or c.ref_table
        rel = lua_ident(rel, relation_names)
        local opts = { ("fields = { %s }"):format(list(c.columns)), ("references = { %s }"):format(list(c.ref_columns)) }
        if actions[c.on_delete] then opts[#opts + 1] = ("on_delete = %q"):format(actions[c.on_delete]) end
        if actions[c.on_update] then opts[#opts + 1] = ("on_update = %q"):format(actions[c.on_update]) end
        if c.name ~= default_name then opts[#opts + 1] = ("constraint = %s"):format(q(c.name)) end
        add("  %s = tide.belongs_to(%s, { %s }),\n", rel, q(target or c.ref_table), table.concat(opts, ", "))
      end
    end
    for _, x in ipairs(tb.indexes) do
      local parts = {}
      for _, p in ipairs(x.parts) do
        local part = present(p.expr) and ("tide.raw %s"):format(q(p.expr)) or q(p.column)
        if p.desc or (p.nulls or 0) ~= 0 then
          local o = { part }
          if p.desc then o[#o + 1] = "desc = true" end
          if p.nulls == 1 then o[#o + 1] = 'nulls = "first"' elseif p.nulls == 2 then o[#o + 1] = 'nulls = "last"' end
          part = "{ " .. table.concat(o, ", ") .. " }"
        end
        parts[#parts + 1] = part
      end
      local cols = {}
      for i, p in ipairs(x.parts) do cols[i] = present(p.column) or "expr" end
      local opts = {}
      if x.name ~= tb.name .. "_" .. table.concat(cols, "_") .. (x.unique and "_key" or "_idx") then
        opts[1] = ("name = %s"):format(q(x.name))
      end
      if x.method ~= "btree" then opts[#opts + 1] = ("using = %s"):format(q(x.method)) end
      if present(x.where) then opts[#opts + 1] = ("where = %s"):format(q(x.where)) end
      if x.nulls_not_distinct then opts[#opts + 1] = "nulls_not_distinct = true" end
      if #opts > 0 then parts[#parts + 1] = table.concat(opts, ", ") end
      add("  tide.%s { %s },\n", x.unique and "unique" or "index", table.concat(parts, ", "))
    end
    if tb.rls and #tb.policies == 0 then add("  rls = true,\n") end
    if tb.force_rls then add("  force_rls = true,\n") end
    for _, p in ipairs(tb.policies) do
      local opts = {}
      if present(p.using) then opts[#opts + 1] = ("using = %s"):format(q(p.using)) end
      if present(p.check) then opts[#opts + 1] = ("check = %s"):format(q(p.check)) end
      if p.command ~= "ALL" then opts[#opts + 1] = ("command = %q"):format(p.command:lower()) end
      if not p.permissive then opts[#opts + 1] = "permissive = false" end
      if not (#p.roles == 1 and p.roles[1] == "public") then opts[#opts + 1] = ("roles = { %s }"):format(list(p.roles)) end
      add("  tide.policy(%s, { %s }),\n", q(p.name), table.concat(opts, ", "))
    end
    add("}\n")
  end
  local bits = core.trigger_events
  local trigger_events = { { bits.insert, "insert" }, { bits.update, "update" }, { bits.delete, "delete" },
    { bits.truncate, "truncate" } }
  for _, tb in ipairs(cat.tables) do
    for _, g in ipairs(tb.triggers or {}) do
      local events = {}
      for _, e in ipairs(trigger_events) do
        if g.type & e[1] ~= 0 then events[#events + 1] = q(e[2]) end
      end
      local timing = g.type & 64 ~= 0 and "instead_of" or g.type & 2 ~= 0 and "before" or "after"
      local fn = functions[(present(g.func_schema) or "") .. "." .. g.func_name] or q(g.func_name)
      add('\nschema:trigger { name = %s, on = %s, timing = %q, events = { %s }, for_each = %q, execute = %s%s }\n',
        q(g.name), q(names[key_of(tb.schema, tb.name)]), timing, table.concat(events, ", "),
        g.type & 1 ~= 0 and "row" or "statement", fn, present(g.when) and (", when = " .. q(g.when)) or "")
    end
  end
  add("\nreturn schema\n")
  return table.concat(out)
end

return M
