-- LuaLS annotation stubs from a schema (`tide generate types`): for every
-- model a row class (its fields with their Lua types, its relations), the
-- argument tables of the model client (where, data, find arguments), the
-- client on db.<Model> and tx.<Model> with typed methods, and its chain.
-- The output is a `---@meta` file: the language server reads it for types
-- and never runs it.
local M = {}

-- The Lua type a column decodes to (docs/guide/queries.md, "From PostgreSQL
-- to Lua"); nil: any.
local lua_types = {
  smallint = "integer", integer = "integer", bigint = "integer", smallserial = "integer", serial = "integer",
  bigserial = "integer", real = "number", double = "number", boolean = "boolean",
  numeric = "string", text = "string", varchar = "string", char = "string", bytea = "string", uuid = "string",
  date = "string", time = "string", timetz = "string", timestamp = "string", timestamptz = "string",
  interval = "string", inet = "string", cidr = "string", tsvector = "string", custom = "string",
}
local serials = { smallserial = true, serial = true, bigserial = true }

local function enum_alias(name) return "tide.enum." .. name end

-- A field's value type as a row holds it.
local function value_type(f)
  if f.codec then return "any" end -- what its decode returns
  local base
  if f.type == "enum" then
    base = enum_alias(f.type_name)
  elseif f.type == "custom" then
    base = "string" -- PostgreSQL's text form (an array of them: a list of those)
  elseif f.type == "json" or f.type == "jsonb" then
    base = "any"
  else
    base = lua_types[f.type] or "any"
  end
  for _ = 1, f.array_dims or 0 do base = base .. "[]" end
  return base
end

-- Whether create may leave the field out.
local function optional_on_create(f)
  return f.nullable or f.default_kind ~= nil or f.default_fn ~= nil or f.identity ~= nil or f.generated ~= nil
    or serials[f.type] or f.updated_at
end

local many = { has_many = true, many_to_many = true }

local function out()
  local lines = {}
  return lines, function(fmt, ...) lines[#lines + 1] = select("#", ...) > 0 and fmt:format(...) or fmt end
end

local function model_stubs(w, m)
  local n = m.name
  local row, where, data, upd = "tide.row." .. n, "tide.where." .. n, "tide.create." .. n, "tide.update." .. n
  local find, include = "tide.find." .. n, "tide.include." .. n
  local client, chain = "tide.client." .. n, "tide.chain." .. n
  local rels = {}
  for _, r in ipairs(m.relations) do if r.name then rels[#rels + 1] = r end end
  local function rel_row(r) return "tide.row." .. r.target .. (many[r.kind] and "[]" or "") end

  w("-- %s %s", m.kind == "view" and "View" or "Model", n)
  w("")
  w("---A row of %s (a field left out by select, omit or :omit() is absent; a relation only when included).", n)
  w("---@class %s", row)
  for _, f in ipairs(m.fields) do
    local absent = f.nullable or f.omit
    w("---@field %s %s%s", f.name, value_type(f), absent and "|nil" or "")
  end
  for _, r in ipairs(rels) do w("---@field %s %s|nil", r.name, rel_row(r)) end
  if #rels > 0 then w("---@field _count table<string, integer>|nil") end
  w("")
  w("---A where of %s: a field's value, or a table of operators (equals, not, in_, lt, contains, ...).", n)
  w("---@class %s", where)
  for _, f in ipairs(m.fields) do w("---@field %s? %s|table|tide.null", f.name, value_type(f)) end
  for _, r in ipairs(rels) do w("---@field %s? table", r.name) end
  w("---@field AND? %s|%s[]", where, where)
  w("---@field OR? %s[]", where)
  w("---@field NOT? %s|%s[]", where, where)
  w("")
  w("---The data of a new %s: fields without a default are required; relations take nested writes.", n)
  w("---@class %s", data)
  for _, f in ipairs(m.fields) do
    if optional_on_create(f) then w("---@field %s? %s|tide.null", f.name, value_type(f))
    else w("---@field %s %s", f.name, value_type(f)) end
  end
  for _, r in ipairs(rels) do w("---@field %s? table", r.name) end
  w("")
  w("---The changes to a %s: a value, or { set = }, { increment = } ...; relations take nested writes.", n)
  w("---@class %s", upd)
  for _, f in ipairs(m.fields) do w("---@field %s? %s|table|tide.null", f.name, value_type(f)) end
  for _, r in ipairs(rels) do w("---@field %s? table", r.name) end
  w("")
  w("---@class %s", include)
  for _, r in ipairs(rels) do w("---@field %s? boolean|tide.find.%s", r.name, r.target) end
  w("---@field _count? boolean|table")
  w("")
  w("---The arguments of find_many, find_first and find_many_iter (find_unique: where names one row).")
  w("---@class %s", find)
  w("---@field where? %s", where)
  w("---@field select? table<string, boolean|table>")
  w("---@field omit? table<string, boolean>")
  w("---@field include? %s", include)
  w("---@field order_by? table")
  w("---@field take? integer")
  w("---@field skip? integer")
  w("---@field cursor? %s", where)
  w("---@field distinct? string|string[]")
  w("---@field with_deleted? boolean")
  w("---@field relation_load_strategy? \"query\"|\"join\"")
  w("")
  local methods = {
    { "find_many", "args? " .. find, row .. "[]" },
    { "find_many_iter", "args? " .. find, "fun(): " .. row .. "|nil" },
    { "find_first", "args? " .. find, row .. "|nil" },
    { "find_first_or_throw", "args? " .. find, row },
    { "find_unique", "args " .. find, row .. "|nil" },
    { "find_unique_or_throw", "args " .. find, row },
    { "count", "args? { where?: " .. where .. ", take?: integer, skip?: integer, with_deleted?: boolean }", "integer" },
    { "aggregate", "args table", "table" },
    { "group_by", "args table", "table[]" },
    { "create", "args { data: " .. data .. ", select?: table, omit?: table, include?: " .. include .. " }", row },
    { "create_many", "args { data: " .. data .. "[], skip_duplicates?: boolean }", "integer" },
    { "create_many_and_return", "args { data: " .. data .. "[], skip_duplicates?: boolean, select?: table, omit?: table }",
      row .. "[]" },
    { "update", "args { where: " .. where .. ", data: " .. upd .. ", select?: table, omit?: table, include?: "
      .. include .. " }", row .. "|nil" },
    { "update_many", "args { where?: " .. where .. ", data: " .. upd .. " }", "integer" },
    { "update_many_and_return", "args { where?: " .. where .. ", data: " .. upd
      .. ", select?: table, omit?: table }", row .. "[]" },
    { "upsert", "args { where: " .. where .. ", create: " .. data .. ", update: " .. upd
      .. ", select?: table, omit?: table, include?: " .. include .. " }", row .. "|nil" },
    { "delete", "args { where: " .. where .. ", select?: table, omit?: table, include?: " .. include .. " }",
      row .. "|nil" },
    { "delete_many", "args? { where?: " .. where .. " }", "integer" },
  }
  w("do") -- a block per model: a chunk holds at most 200 locals
  w("---The model client: db.%s, tx.%s.", n, n)
  w("---@class %s", client)
  w("local %s = {}", n)
  for _, mt in ipairs(methods) do
    w("---@param %s", mt[2])
    w("---@return %s", mt[3])
    w("function %s:%s(%s) end", n, mt[1], mt[2]:match("^%w+"))
  end
  w("---@param operation string")
  w("---@param args? table")
  w("---@return string sql")
  w("---@return integer nparams")
  w("function %s:to_sql(operation, args) end", n)
  w("---@param w %s", where)
  w("---@return %s", chain)
  w("function %s:where(w) end", n)
  w("---@param field string|table")
  w("---@param dir? \"asc\"|\"desc\"")
  w("---@return %s", chain)
  w("function %s:order_by(field, dir) end", n)
  w("---@param ... string|table")
  w("---@return %s", chain)
  w("function %s:select(...) end", n)
  for _, step in ipairs { "limit", "offset" } do
    w("---@param n integer")
    w("---@return %s", chain)
    w("function %s:%s(n) end", n, step)
  end
  for _, step in ipairs { "include", "omit", "distinct" } do
    w("---@param ... string|table")
    w("---@return %s", chain)
    w("function %s:%s(...) end", n, step)
  end
  w("---@param w %s", where)
  w("---@return %s", chain)
  w("function %s:cursor(w) end", n)
  w("---@return %s", chain)
  w("function %s:with_deleted() end", n)
  w("end")
  w("")
  w("---The fluent chain of %s: steps return it, ends run it.", n)
  w("---@class %s", chain)
  w("---@field where fun(self: %s, w: %s): %s", chain, where, chain)
  w("---@field order_by fun(self: %s, field: string|table, dir?: \"asc\"|\"desc\"): %s", chain, chain)
  w("---@field select fun(self: %s, ...: string|table): %s", chain, chain)
  w("---@field limit fun(self: %s, n: integer): %s", chain, chain)
  w("---@field offset fun(self: %s, n: integer): %s", chain, chain)
  w("---@field include fun(self: %s, ...: string|table): %s", chain, chain)
  w("---@field omit fun(self: %s, ...: string|table): %s", chain, chain)
  w("---@field cursor fun(self: %s, w: %s): %s", chain, where, chain)
  w("---@field distinct fun(self: %s, ...: string|table): %s", chain, chain)
  w("---@field with_deleted fun(self: %s): %s", chain, chain)
  w("---@field all fun(self: %s): %s[]", chain, row)
  w("---@field first fun(self: %s): %s|nil", chain, row)
  w("---@field one fun(self: %s): %s|nil", chain, row)
  w("---@field count fun(self: %s): integer", chain)
  w("---@field exists fun(self: %s): boolean", chain)
  w("---@field iter fun(self: %s): fun(): %s|nil", chain, row)
  w("---@field update fun(self: %s, data: %s): integer", chain, upd)
  w("---@field delete fun(self: %s): integer", chain)
  w("")
end

--- The stubs of schema s (finished here), as the text of a Lua file.
--- source: where the schema came from, named in the header.
function M.generate(s, source)
  s:finish()
  local lines, w = out()
  w("---@meta")
  w("-- LuaLS types for the models of %s, generated by `tide generate types`:", source or "a tide schema")
  w("-- do not edit; generate again after changing the schema.")
  w("")
  w("---SQL NULL in where and data (tide.null).")
  w("---@class tide.null")
  w("")
  for _, e in ipairs(s.enum_list) do
    local vals = {}
    for i, v in ipairs(e.values) do vals[i] = ("%q"):format(v) end
    w("---@alias %s %s", enum_alias(e.name), table.concat(vals, "|"))
  end
  if #s.enum_list > 0 then w("") end
  for _, m in ipairs(s.model_list) do model_stubs(w, m) end
  w("---A db (tide.connect) or a transaction's tx: one model client per model.")
  for _, class in ipairs { "tide.db", "tide.tx" } do
    w("---@class %s", class)
    for _, m in ipairs(s.model_list) do w("---@field %s tide.client.%s", m.name, m.name) end
  end
  return table.concat(lines, "\n") .. "\n"
end

return M
