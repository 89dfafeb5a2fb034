-- The schema DSL: models, fields, enums, indexes and relations.
--
--   local t = tide.types
--   local schema = tide.schema()
--   local Role = schema:enum("role", { "user", "admin" })
--   schema:model "User" {
--     t.bigserial "id" :primary(),
--     t.text "email" :unique(),
--     Role "role" :default "user",
--     t.timestamps(),
--     posts = tide.has_many "Post",
--   }
--
-- Fields go in the array part of a model's table, so their order is kept;
-- relations and options go under names. Declaring only collects: the whole
-- description crosses into the C core once (schema:finish()), which checks it
-- as a whole and reports every problem.
--
-- Views, sequences and row-level security:
--
--   local order_no = schema:sequence("order_number", { start = 1000 })
--   schema:model "Order" {
--     t.bigint "number" :default(order_no),        -- or tide.nextval "order_number"
--     rls = true, force_rls = true,                 -- (a policy implies rls)
--     tide.policy("tenant_isolation", { using = "org_id = current_setting('app.org')::bigint" }),
--   }
--   schema:view "ActiveUser" {
--     sql = "select id, email from users where active",
--     materialized = false,                         -- true: a materialized view
--     t.bigint "id" :primary(), t.text "email",
--   }
--   db:exec(schema:refresh_sql("ActiveUser", true)) -- REFRESH MATERIALIZED VIEW CONCURRENTLY
--
-- Functions and triggers:
--
--   local touch = schema:func { name = "touch", returns = "trigger", language = "plpgsql",
--     body = "begin new.updated_at := now(); return new; end" }
--   schema:trigger { name = "orders_touch", on = "Order", timing = "before", events = { "update" },
--     execute = touch }
local core = require "tide.core"
local util = require "tide.util"

local M = {}

local function fail(level, fmt, ...)
  error(fmt:format(...), level + 1)
end

-- Field builders ---------------------------------------------------------------

local Field = {}
Field.__name = "tide.field"

local field_methods = {}

local function new_field(def)
  return setmetatable({ def = def }, Field)
end

Field.__index = function(_, key)
  local m = field_methods[key]
  if m then return m end
  fail(2, "unknown field option '%s'%s", tostring(key), util.did_you_mean(key, field_methods))
end

function field_methods:primary() self.def.primary = true; return self end
function field_methods:unique() self.def.unique = true; return self end
function field_methods:nullable() self.def.nullable = true; return self end
function field_methods:column(name) self.def.column = name; return self end
function field_methods:omit() self.def.omit = true; return self end
function field_methods:updated_at() self.def.updated_at = true; return self end
function field_methods:generated(expr) self.def.generated = expr; return self end
function field_methods:check(expr) self.def.check = expr; return self end
function field_methods:index() self.def.index = true; return self end
function field_methods:array(dims) self.def.array_dims = dims or 1; return self end
--- The column was called `old` before: migrations rename it instead of
--- dropping it and adding a new one (a rename is never guessed).
function field_methods:renamed_from(old)
  if type(old) ~= "string" then fail(2, "renamed_from: the old column name expected") end
  self.def.renamed_from = old
  return self
end
function field_methods:codec(c)
  if type(c) ~= "table" or (c.encode and type(c.encode) ~= "function") or (c.decode and type(c.decode) ~= "function") then
    fail(2, "codec: expected { encode = function, decode = function }")
  end
  self.def.codec = c
  return self
end
function field_methods:identity(kind)
  kind = kind or "by_default"
  if kind ~= "always" and kind ~= "by_default" then
    fail(2, "identity: 'always' or 'by_default', got '%s'", tostring(kind))
  end
  self.def.identity = kind
  return self
end

--- A default: a literal (string, number, boolean), M.now, M.uuid, M.raw "sql
--- expression", M.nextval "sequence" (a sequence of the schema), or a
--- function run by the client before each insert.
function field_methods:default(v)
  local d = self.def
  if v == M.now then d.default_kind = "now"
  elseif v == M.uuid then d.default_kind = "uuid"
  elseif getmetatable(v) == M.Raw then d.default_kind, d.default_value = "sql", v.sql
  elseif getmetatable(v) == M.Nextval then d.default_kind, d.default_value = "nextval", v.sequence
  elseif type(v) == "function" then d.default_kind, d.default_fn = "client", v
  elseif type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
    d.default_kind = "literal"
    d.default_value = type(v) == "number" and (math.type(v) == "integer" and ("%d"):format(v) or ("%.17g"):format(v))
      or tostring(v)
  else
    fail(2, "default: a literal, tide.now, tide.uuid, tide.raw(sql), tide.nextval(sequence) or a function, got %s",
      type(v))
  end
  return self
end

--- A foreign key to another model (the relation, if any, is declared apart):
--- t.bigint "author_id" :references("User", { on_delete = "cascade" }).
function field_methods:references(model, opts)
  if type(model) ~= "string" then fail(2, "references: a model name expected") end
  self.def.references = { model = model, opts = opts or {} }
  return self
end

M.now = setmetatable({}, { __name = "tide.now", __tostring = function() return "tide.now" end })
M.uuid = setmetatable({}, { __name = "tide.uuid", __tostring = function() return "tide.uuid" end })
M.Raw = { __name = "tide.raw" }
function M.raw(sql)
  if type(sql) ~= "string" then fail(2, "raw: the SQL text expected") end
  return setmetatable({ sql = sql }, M.Raw)
end

--- The next value of a sequence declared with schema:sequence, as a default:
--- t.bigint "number" :default(tide.nextval "order_number"). The name is
--- checked when the schema is finished.
M.Nextval = { __name = "tide.nextval" }
function M.nextval(name)
  if type(name) ~= "string" then fail(2, "nextval: a sequence name expected, got %s", type(name)) end
  return setmetatable({ sequence = name }, M.Nextval)
end

-- tide.types: t.text "name", t.varchar(80) "name", t.numeric(10, 2) "price"
local type_names = {
  "smallint", "integer", "bigint", "smallserial", "serial", "bigserial", "real", "double",
  "numeric", "text", "varchar", "char", "boolean", "bytea", "uuid", "date", "time", "timetz",
  "timestamp", "timestamptz", "interval", "json", "jsonb", "inet", "cidr", "tsvector",
}
local aliases = { int = "integer", bool = "boolean", float = "double", double_precision = "double" }

local function type_builder(tname)
  local function named(args)
    return function(name)
      if type(name) ~= "string" then fail(2, "t.%s: a field name expected, got %s", tname, type(name)) end
      local def = { name = name, type = tname, array_dims = 0 }
      if tname == "varchar" or tname == "char" then def.length = args[1]
      elseif tname == "numeric" then def.precision, def.scale = args[1], args[2]
      elseif tname == "timestamp" or tname == "timestamptz" or tname == "time" or tname == "timetz" then
        def.precision = args[1]
      end
      return new_field(def)
    end
  end
  local plain = named({})
  -- t.text "x" (a name) or t.varchar(80) "x" (arguments first)
  return function(a, ...)
    if type(a) == "string" then return plain(a) end
    return named({ a, ... })
  end
end

M.types = setmetatable({}, {
  __index = function(_, key)
    fail(2, "unknown type '%s'%s", tostring(key), util.did_you_mean(key, type_names))
  end,
})
for _, n in ipairs(type_names) do rawset(M.types, n, type_builder(n)) end
for a, n in pairs(aliases) do rawset(M.types, a, M.types[n]) end

--- A column of a type tide has no name for: t.custom("citext") "email".
function M.types.custom(sql_type)
  if type(sql_type) ~= "string" then fail(2, "t.custom: the SQL type expected") end
  return function(name)
    return new_field({ name = name, type = "custom", type_name = sql_type, array_dims = 0 })
  end
end

--- created_at and updated_at, both timestamptz defaulting to now(); the
--- client sets updated_at on every update.
function M.types.timestamps()
  return {
    new_field({ name = "created_at", type = "timestamptz", array_dims = 0, default_kind = "now" }),
    new_field({ name = "updated_at", type = "timestamptz", array_dims = 0, default_kind = "now", updated_at = true }),
  }
end

-- Relations and indexes ------------------------------------------------------------

local Relation = { __name = "tide.relation" }
local Index = { __name = "tide.index" }
local Check = { __name = "tide.check" }

local relation_options = {
  fields = "table", references = "table", inverse = "string", through = "string",
  join_table = "string", on_delete = "string", on_update = "string", constraint = "string",
}

local function relation(kind)
  return function(target, opts)
    if type(target) ~= "string" then fail(2, "%s: a model name expected, got %s", kind, type(target)) end
    opts = opts or {}
    for k, v in pairs(opts) do
      local want = relation_options[k]
      if not want then fail(2, "%s: unknown option '%s'%s", kind, tostring(k), util.did_you_mean(k, relation_options)) end
      if type(v) ~= want then fail(2, "%s: option '%s' must be a %s", kind, k, want) end
    end
    return setmetatable({ kind = kind, target = target, opts = opts }, Relation)
  end
end

M.belongs_to = relation("belongs_to")
M.has_one = relation("has_one")
M.has_many = relation("has_many")
M.many_to_many = relation("many_to_many")

local index_options = { name = "string", using = "string", where = "string", nulls_not_distinct = "boolean" }

--- tide.index { "author_id", "published" }, or with parts:
--- tide.index { { "created_at", desc = true, nulls = "last" }, tide.raw "lower(email)", using = "gin", where = "..." }
local function index(kind)
  return function(spec)
    if type(spec) ~= "table" then fail(2, "index: a list of fields expected") end
    local parts = {}
    for i, p in ipairs(spec) do
      if type(p) == "string" then parts[i] = { field = p }
      elseif getmetatable(p) == M.Raw then parts[i] = { expression = p.sql }
      elseif type(p) == "table" and type(p[1]) == "string" then
        parts[i] = { field = p[1], desc = p.desc, nulls = p.nulls }
      else fail(2, "index: part %d is not a field name, { name, desc = , nulls = } or tide.raw(expr)", i) end
    end
    for k, v in pairs(spec) do
      if type(k) == "string" then
        local want = index_options[k]
        if not want then fail(2, "index: unknown option '%s'%s", k, util.did_you_mean(k, index_options)) end
        if type(v) ~= want then fail(2, "index: option '%s' must be a %s", k, want) end
      end
    end
    return setmetatable({ kind = kind, parts = parts, name = spec.name, using = spec.using,
      where = spec.where, nulls_not_distinct = spec.nulls_not_distinct }, Index)
  end
end

M.index = index("plain")
M.unique = index("unique")
M.primary_key = index("primary")

local Policy = { __name = "tide.policy" }
local policy_options = { using = "string", check = "string", command = "string", roles = "table",
  permissive = "boolean" }

--- A row-level security policy, in a model's list:
--- tide.policy("tenant_isolation", { using = "org_id = current_setting('app.org')::bigint",
---   check = "...", command = "all" | "select" | "insert" | "update" | "delete",
---   roles = { "app_user" }, permissive = true }).
--- Expressions are SQL text; roles default to PUBLIC; the command is checked
--- when the schema is finished.
function M.policy(name, opts)
  if type(name) ~= "string" then fail(2, "policy: a name expected, got %s", type(name)) end
  opts = opts or {}
  if type(opts) ~= "table" then fail(2, "policy %s: a table of options expected", name) end
  local p = { name = name }
  for k, v in pairs(opts) do
    local want = policy_options[k]
    if k == "roles" and type(v) == "string" then v = { v } end
    if not want then fail(2, "policy %s: unknown option '%s'%s", name, tostring(k), util.did_you_mean(k, policy_options)) end
    if type(v) ~= want then fail(2, "policy %s: option '%s' must be a %s", name, k, k == "roles" and "list of role names" or want) end
    p[k] = v
  end
  return setmetatable(p, Policy)
end

--- tide.check("positive_price", "price > 0") (the name is optional)
function M.check(name, expr)
  if expr == nil then name, expr = nil, name end
  if type(expr) ~= "string" then fail(2, "check: an SQL expression expected") end
  return setmetatable({ name = name, expression = expr }, Check)
end

-- The schema -------------------------------------------------------------------------

local Schema = {}
Schema.__name = "tide.schema"
-- schema.User: the model's columns as typed references for the SQL-like
-- builder (tide/builder.lua), made on first use
Schema.__index = function(self, key)
  local m = Schema[key]
  if m ~= nil then return m end
  return require("tide.builder").table_ref(self, key)
end

local model_options = { table = "string", schema = "string", soft_delete = "string", rls = "boolean",
  force_rls = "boolean", renamed_from = "string" }
-- a view's: table names the view
local view_options = { table = "string", schema = "string", soft_delete = "string", sql = "string",
  materialized = "boolean", with_data = "boolean", renamed_from = "string" }

function M.new()
  return setmetatable({ models = {}, model_list = {}, enums = {}, enum_list = {}, sequences = {},
    sequence_list = {}, function_list = {}, trigger_list = {} }, Schema)
end

local sequence_options = { start = "integer", increment = "integer", min = "integer", max = "integer",
  cache = "integer", cycle = "boolean", schema = "string" }

--- Declares a sequence, created before the tables; returns its nextval
--- default: t.bigint "number" :default(schema:sequence("order_number", { start = 1000 })).
--- Options: start, increment, min, max, cache (integers), cycle, schema (a pg schema).
function Schema:sequence(name, opts)
  if self.core then fail(2, "sequence: the schema is finished") end
  if type(name) ~= "string" then fail(2, "sequence: a name expected, got %s", type(name)) end
  opts = opts or {}
  if type(opts) ~= "table" then fail(2, "sequence %s: a table of options expected", name) end
  local q = { name = name }
  for k, v in pairs(opts) do
    local want = sequence_options[k]
    if not want then fail(2, "sequence %s: unknown option '%s'%s", name, tostring(k), util.did_you_mean(k, sequence_options)) end
    if want == "integer" then
      v = math.tointeger(v)
      if not v then fail(2, "sequence %s: option '%s' must be an integer", name, k) end
    elseif type(v) ~= want then
      fail(2, "sequence %s: option '%s' must be a %s", name, k, want)
    end
    q[k == "schema" and "pg_schema" or k] = v
  end
  self.sequences[name] = q
  self.sequence_list[#self.sequence_list + 1] = q
  return M.nextval(name)
end

--- Declares an enum; returns a field constructor: Role "role".
function Schema:enum(name, values, opts)
  if self.core then fail(2, "enum: the schema is finished") end
  if type(name) ~= "string" or type(values) ~= "table" then
    fail(2, "enum: a name and a list of values expected")
  end
  opts = opts or {}
  for k, v in pairs(opts) do
    local want = ({ schema = "string", renamed_from = "string", renamed_values = "table" })[k]
    if not want then fail(2, "enum %s: unknown option '%s'", name, tostring(k)) end
    if type(v) ~= want then fail(2, "enum %s: option '%s' must be a %s", name, k, want) end
  end
  -- renamed_values = { new = "old" }: flattened, sorted for a stable order
  local value_renames = {}
  if opts.renamed_values then
    local news = {}
    for k in pairs(opts.renamed_values) do news[#news + 1] = k end
    table.sort(news)
    for _, k in ipairs(news) do
      value_renames[#value_renames + 1] = k
      value_renames[#value_renames + 1] = opts.renamed_values[k]
    end
  end
  local e = { name = name, values = values, pg_schema = opts.schema, renamed_from = opts.renamed_from,
    value_renames = value_renames }
  self.enums[name] = e
  self.enum_list[#self.enum_list + 1] = e
  local ctor = function(field_name)
    return new_field({ name = field_name, type = "enum", type_name = name, array_dims = 0, enum = values })
  end
  return setmetatable({ name = name, values = values }, { __call = function(_, n) return ctor(n) end })
end

-- Raises (at the caller's caller) for an option of spec not in known, or
-- of the wrong type (known[k] = true: any type).
local function check_options(what, spec, known)
  local why = util.option_problem(spec, known)
  if why then fail(3, "%s: %s", what, why) end
end

M.Function = { __name = "tide.function" }
local function_options = { name = "string", args = "string", returns = "string", language = "string",
  body = "string", volatility = "string", schema = "string" }

--- Declares a function, created before the tables; returns it, for a
--- trigger's execute:
---   local touch = schema:func { name = "touch", returns = "trigger", language = "plpgsql",
---     body = "begin new.updated_at := now(); return new; end" }
--- Options: name, args ("a integer, b text"), returns, language, body (SQL
--- text, written as given), volatility ("volatile", "stable", "immutable"),
--- schema (a pg schema).
function Schema:func(spec)
  if self.core then fail(2, "func: the schema is finished") end
  if type(spec) ~= "table" then fail(2, "func: a table { name =, returns =, language =, body = } expected") end
  check_options("func", spec, function_options)
  for _, k in ipairs { "name", "returns", "language", "body" } do
    if not spec[k] then fail(2, "func %s: '%s' is missing", tostring(spec.name), k) end
  end
  local f = setmetatable({ name = spec.name, args = spec.args, returns = spec.returns, language = spec.language,
    body = spec.body, volatility = spec.volatility, pg_schema = spec.schema }, M.Function)
  self.function_list[#self.function_list + 1] = f
  return f
end

local trigger_options = { name = "string", on = true, timing = "string", events = "table", for_each = "string",
  execute = true, when = "string" }
local trigger_events = core.trigger_events -- name -> the core's bit

--- Declares a trigger on a model's table:
---   schema:trigger { name = "notes_touch", on = "Note" (or the model), timing = "before",
---     events = { "update" }, for_each = "row", execute = touch (or its name), when = "sql" }
--- timing: "before", "after" or "instead_of" (views); for_each: "row" (the
--- default) or "statement".
function Schema:trigger(spec)
  if self.core then fail(2, "trigger: the schema is finished") end
  if type(spec) ~= "table" then fail(2, "trigger: a table { name =, on =, timing =, events =, execute = } expected") end
  check_options("trigger", spec, trigger_options)
  local name = spec.name or fail(2, "trigger: a name is missing")
  local on = type(spec.on) == "table" and spec.on.name or spec.on
  if type(on) ~= "string" then fail(2, "trigger %s: on = a model (or its name) expected", name) end
  local fn = getmetatable(spec.execute) == M.Function and spec.execute.name or spec.execute
  if type(fn) ~= "string" then fail(2, "trigger %s: execute = a function of schema:func (or its name) expected", name) end
  local events = 0
  for _, e in ipairs(spec.events or {}) do
    local bit = trigger_events[e]
    if not bit then fail(2, "trigger %s: unknown event '%s'%s", name, tostring(e), util.did_you_mean(e, trigger_events)) end
    events = events | bit
  end
  local for_each = spec.for_each or "row"
  if for_each ~= "row" and for_each ~= "statement" then
    fail(2, "trigger %s: for_each is 'row' or 'statement', got '%s'", name, for_each)
  end
  self.trigger_list[#self.trigger_list + 1] = { name = name, model = on, timing = spec.timing, events = events,
    for_each_row = for_each == "row", ["function"] = fn, when = spec.when }
end

local function declare(self, what, name, options)
  if type(name) ~= "string" then fail(2, "%s: a name expected, got %s", what, type(name)) end
  return function(spec)
    if self.core then fail(2, "%s: the schema is finished", what) end
    if type(spec) ~= "table" then fail(2, "%s %s: a table of fields expected", what, name) end
    if self.models[name] then fail(2, "model '%s' is declared twice", name) end
    local m = { name = name, kind = "table", fields = {}, field_map = {}, relations = {}, indexes = {}, checks = {},
      policies = {} }
    local bare = {} -- fields with :references(), merged into a belongs_to below
    local function add_field(f)
      m.fields[#m.fields + 1] = f.def
      m.field_map[f.def.name] = f.def
      if f.def.references then bare[#bare + 1] = f.def end
      if f.def.index then
        m.indexes[#m.indexes + 1] = { kind = "plain", parts = { { field = f.def.name } } }
      end
    end
    for i, v in ipairs(spec) do
      local mt = getmetatable(v)
      if mt == Field then add_field(v)
      elseif mt == Index then m.indexes[#m.indexes + 1] = v
      elseif mt == Check then m.checks[#m.checks + 1] = v
      elseif mt == Policy then m.policies[#m.policies + 1] = v
      elseif type(v) == "table" and getmetatable(v[1]) == Field then
        for _, f in ipairs(v) do add_field(f) end
      else
        fail(2, "%s %s: entry %d is not a field, index, check or policy (got %s)", what, name, i, type(v))
      end
    end
    -- named entries in sorted order: the DDL (foreign keys) must not depend
    -- on pairs()
    local names = {}
    for k in pairs(spec) do if type(k) == "string" then names[#names + 1] = k end end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = spec[k]
      if type(k) == "string" then
        if getmetatable(v) == Relation then
          m.relations[#m.relations + 1] = { name = k, kind = v.kind, target = v.target, opts = v.opts }
        elseif options[k] then
          if type(v) ~= options[k] then fail(2, "%s %s: option '%s' must be a %s", what, name, k, options[k]) end
          m[k == "schema" and "pg_schema" or k] = v
        else
          fail(2, "%s %s: '%s' is not a relation or an option%s", what, name, k, util.did_you_mean(k, options))
        end
      end
    end
    -- A field's :references() names the same foreign key as a belongs_to on
    -- that field (explicit fields, or the default <relation>_id): its options
    -- fill what the relation left unset. Otherwise it is a bare foreign key.
    for _, f in ipairs(bare) do
      local ref, owner = f.references, nil
      for _, r in ipairs(m.relations) do
        local key = r.opts.fields and #r.opts.fields == 1 and r.opts.fields[1] or (r.name .. "_id")
        if r.kind == "belongs_to" and r.target == ref.model and key == f.name then owner = r end
      end
      if owner then
        local merged = {}
        for k, v in pairs(ref.opts) do merged[k] = v end
        for k, v in pairs(owner.opts) do merged[k] = v end
        owner.opts = merged
      else
        local opts = { fields = { f.name } }
        for k, v in pairs(ref.opts) do opts[k] = v end
        m.relations[#m.relations + 1] = { kind = "belongs_to", target = ref.model, opts = opts }
      end
    end
    if what == "view" then
      m.kind = m.materialized and "materialized_view" or "view"
      m.materialized = nil
    end
    self.models[name] = m
    self.model_list[#self.model_list + 1] = m
    return m
  end
end

--- Declares a model: schema:model "User" { fields..., relation = ..., table = "users" }.
--- Options: table, schema (a pg schema), soft_delete, rls, force_rls.
function Schema:model(name)
  return declare(self, "model", name, model_options)
end

--- Declares a view, a read-only model: schema:view "ActiveUser" { sql = "select ...",
--- materialized = false, with_data = true, fields... }. Its fields describe
--- the columns the query yields; a primary key is optional (find_unique
--- needs one; on a materialized view it becomes a unique index, which
--- refreshing concurrently needs). It may hold belongs_to relations (no
--- foreign key is created) and, given a primary key, be the target of a
--- has_one/has_many, for reads. Writes through the model client raise.
function Schema:view(name)
  return declare(self, "view", name, view_options)
end

--- REFRESH MATERIALIZED VIEW [CONCURRENTLY] for a materialized view model,
--- as SQL text to run (db:exec). Raises for an unknown name (naming the
--- nearest), a table or plain view, or concurrently without a unique key.
function Schema:refresh_sql(name, concurrently)
  if type(name) ~= "string" then fail(2, "refresh_sql: a view name expected, got %s", type(name)) end
  return self:finish().core:refresh_sql(name, concurrently and true or false)
end

-- The description handed to the core: plain tables and strings only.
local function describe(self)
  local d = { enums = {}, models = {}, sequences = {}, functions = self.function_list }
  for _, e in ipairs(self.enum_list) do
    d.enums[#d.enums + 1] = { name = e.name, values = e.values, pg_schema = e.pg_schema,
      renamed_from = e.renamed_from, value_renames = e.value_renames }
  end
  for i, q in ipairs(self.sequence_list) do
    d.sequences[i] = { name = q.name, pg_schema = q.pg_schema, start = q.start, increment = q.increment,
      min = q.min, max = q.max, cache = q.cache, cycle = q.cycle }
  end
  for _, m in ipairs(self.model_list) do
    local md = { name = m.name, table = m.table, pg_schema = m.pg_schema, soft_delete = m.soft_delete,
      kind = m.kind, sql = m.sql, with_data = m.with_data, rls = m.rls, force_rls = m.force_rls,
      renamed_from = m.renamed_from,
      fields = {}, relations = {}, indexes = {}, checks = {}, policies = {}, triggers = {} }
    for i, f in ipairs(m.fields) do
      md.fields[i] = {
        name = f.name, column = f.column, type = f.type, type_name = f.type_name, length = f.length,
        precision = f.precision, scale = f.scale, array_dims = f.array_dims, nullable = f.nullable,
        primary = f.primary, unique = f.unique, identity = f.identity, default_kind = f.default_kind,
        default_value = f.default_value, updated_at = f.updated_at, generated = f.generated,
        check = f.check, omit = f.omit, renamed_from = f.renamed_from,
      }
    end
    for i, r in ipairs(m.relations) do
      local o = r.opts
      md.relations[i] = { name = r.name, kind = r.kind, target = r.target, fields = o.fields,
        references = o.references, inverse = o.inverse, through = o.through, join_table = o.join_table,
        on_delete = o.on_delete, on_update = o.on_update, constraint = o.constraint }
    end
    for i, ix in ipairs(m.indexes) do
      md.indexes[i] = { kind = ix.kind, name = ix.name, parts = ix.parts, using = ix.using, where = ix.where,
        nulls_not_distinct = ix.nulls_not_distinct }
    end
    for i, c in ipairs(m.checks) do md.checks[i] = { name = c.name, expression = c.expression } end
    for i, p in ipairs(m.policies) do
      md.policies[i] = { name = p.name, command = p.command, using = p.using, check = p.check, roles = p.roles,
        permissive = p.permissive }
    end
    md.field_map = nil
    d.models[#d.models + 1] = md
  end
  for _, tr in ipairs(self.trigger_list) do
    local owner
    for _, md in ipairs(d.models) do if md.name == tr.model then owner = md end end
    if not owner then
      error(("trigger %s: on unknown model '%s'%s"):format(tr.name, tr.model,
        util.did_you_mean(tr.model, self.models)), 3)
    end
    owner.triggers[#owner.triggers + 1] = tr
  end
  return d
end

--- Hands the schema to the core, which checks it as a whole. Raises with
--- every problem found. Idempotent.
function Schema:finish()
  if not self.core then
    self.core = core.schema_build(describe(self))
  end
  return self
end

--- The catalog JSON of what the schema creates: a migration's snapshot.
function Schema:snapshot()
  return self:finish().core:snapshot()
end

--- The statements that create the schema on an empty database.
function Schema:ddl()
  return self:finish().core:ddl()
end

function Schema:__tostring()
  return ("tide.schema(%d models)"):format(#self.model_list)
end

return M
